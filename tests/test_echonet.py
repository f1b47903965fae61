"""echonet.py: the three layouts, every quirk its docstring lists, every bad input (batch: recorded; strict: raised)."""

import csv
import math

import numpy as np
import pytest

from echo_fixtures import HEADER, make_dynamic, ramp_frames, tracing_rows, write_csv, write_video
from infomotion_rt.data.loader import load_dataset, load_record
from infomotion_rt.data.records import hash_split
from infomotion_rt.errors import DataError, VideoError


def _rows(path):
    with path.open(newline="") as fh:
        return list(csv.reader(fh))


def _edit(path, fn):
    """Rewrite a CSV through fn(header, rows) -> (header, rows)."""
    header, *rows = _rows(path)
    header, rows = fn(header, rows)
    write_csv(path, header, rows)


def _set(path, name, column, value):
    def fn(header, rows):
        for row in rows:
            if row[header.index("FileName")] == name:
                row[header.index(column)] = value
        return header, rows
    _edit(path, fn)


def _problems(ds, name):
    return [m for s, m in ds.problems if s == name]


@pytest.fixture
def dyn(tmp_path):
    return make_dynamic(tmp_path / "dyn")


# ------------------------------------------------------------------------------------------ layouts

def test_dynamic_layout(dyn):
    ds = load_dataset(dyn)
    assert ds.layout == "dynamic" and len(ds) == 4 and not ds.problems and not ds.checked
    r = ds.records[1]
    assert r.name == "0X0001" and r.path == dyn / "Videos" / "0X0001.avi"
    assert (r.ed, r.es) == (2, 6)  # ES rows come first in the CSV: ED decided by volume
    assert r.tracings[2].shape == (21, 4)
    assert r.traced_ef == pytest.approx(51.0) and r.ef == 51.0
    assert (r.esv, r.edv, r.fps, r.n_frames, r.height, r.width) == (100.0, 200.0, 30.0, 12, 16, 16)
    assert [x.name for x in ds.split("TRAIN")] == ["0X0000", "0X0003"]
    assert [x.name for x in ds.split("val")] == ["0X0001"]


def test_synthetic_layout_and_fps_quirk(tmp_path):
    root = tmp_path / "syn"
    rows = []
    for i in range(3):
        write_video(root / "Videos" / f"sample_{i:06d}.avi", ramp_frames(10), fps=30.0)
        rows.append([f"sample_{i:06d}", 20 + 30 * i, 0, 0, 16, 16, 32, 10, "TRAIN"])
    write_csv(root / "FileList.csv", HEADER, rows)
    ds = load_dataset(root, check_videos=True, progress=False)
    assert ds.layout == "synthetic" and len(ds) == 3
    r = ds.records[0]
    assert r.tracings is None and r.ed is None and r.es is None
    assert math.isnan(r.esv) and math.isnan(r.edv)       # 0 means unknown
    assert r.fps == 32.0 and r.probed.fps == pytest.approx(30.0)
    lines = ds.problems.lines()
    assert len(lines) == 1 and "FPS column says 32 but the video plays at 30 in 3 videos" in lines[0]


def test_plain_layout_without_split_is_deterministic(tmp_path):
    root = tmp_path / "plain"
    names = [f"clip{i}" for i in range(12)]
    for i, n in enumerate(names):
        write_video(root / (f"{n}.mp4" if i % 2 else f"{n}.avi"), ramp_frames(6), fourcc="mp4v" if i % 2 else "MJPG")
    write_csv(root / "labels.csv", ["FileName", "EF"], [[n if i % 3 else f"{n}.avi", 40 + i] for i, n in enumerate(names)])
    ds = load_dataset(root)
    assert ds.layout == "plain" and len(ds) == 12 and not ds.problems
    assert [r.split for r in ds.records] == [hash_split(n) for n in names]
    assert set(hash_split(f"x{i}") for i in range(200)) == {"TRAIN", "VAL", "TEST"}
    assert ds.records[1].path.suffix == ".mp4" and ds.records[0].path.suffix == ".avi"
    assert math.isnan(ds.records[0].fps) and ds.records[0].n_frames is None
    checked = load_dataset(root, check_videos=True, progress=False)
    assert checked.records[0].n_frames == 6 and checked.records[0].fps == pytest.approx(30.0)


def test_plain_layout_explicit_csv_with_split_and_videos_folder(tmp_path):
    root = tmp_path / "plain"
    write_video(root / "Videos" / "a.avi", ramp_frames(5))
    write_video(root / "Videos" / "b.avi", ramp_frames(5))
    labels = write_csv(tmp_path / "elsewhere.csv", ["FileName", "EF", "Split"], [["a", 30, "test"], ["b.avi", 70, "VAL"]])
    ds = load_dataset(root, labels_csv=labels)
    assert [(r.name, r.split, r.ef) for r in ds.records] == [("a", "TEST", 30.0), ("b", "VAL", 70.0)]


# ------------------------------------------------------------------------------------------- quirks

def test_unnamed_index_column_and_bom(dyn):
    header, *rows = _rows(dyn / "FileList.csv")
    text = ",".join([""] + header) + "\n" + "".join(",".join([str(i)] + r) + "\n" for i, r in enumerate(rows))
    (dyn / "FileList.csv").write_text("\ufeff" + text, encoding="utf-8")
    ds = load_dataset(dyn)
    assert len(ds) == 4 and not ds.problems and ds.records[0].ef == 51.0


def test_weight_column_is_read_and_optional(dyn):
    """A distilled export's FileList carries Weight (selection weights): read when there, 1.0 when absent or
    blank, a bad value is a note and reads as 1."""
    assert all(r.weight == 1.0 for r in load_dataset(dyn).records)  # the nine columns only
    _edit(dyn / "FileList.csv", lambda h, rows: (h + ["Weight"], [r + [w] for r, w in zip(rows, ["3.2", "0.4", "", "-1"])]))
    ds = load_dataset(dyn)
    assert [r.weight for r in ds.records] == [3.2, 0.4, 1.0, 1.0] and len(ds) == 4
    assert ds.problems.lines() == [line for line in ds.problems.lines() if "0X0003" in line]
    assert "Weight '-1' is not a positive number; read as 1" in _problems(ds, "0X0003")[0]


def test_filelist_names_with_suffix_still_match_tracings(dyn):
    _set(dyn / "FileList.csv", "0X0002", "FileName", "0X0002.avi")
    ds = load_dataset(dyn)
    assert ds.records[2].name == "0X0002" and ds.records[2].ed == 3 and not ds.problems


def test_claimed_frame_size_and_count_trust_the_video(dyn):
    _set(dyn / "FileList.csv", "0X0001", "FrameHeight", "112")
    _set(dyn / "FileList.csv", "0X0001", "FrameWidth", "112")
    _set(dyn / "FileList.csv", "0X0002", "NumberOfFrames", "40")
    cheap = load_dataset(dyn)
    assert cheap.records[1].height == 112 and not cheap.problems   # not checked: FileList as is
    ds = load_dataset(dyn, check_videos=True, progress=False)
    assert (ds.records[1].height, ds.records[1].width) == (16, 16)
    assert "FileList frame size 112x112 but the video is 16x16; using the video's" in _problems(ds, "0X0001")[0]
    assert ds.records[2].n_frames == 12 and "NumberOfFrames 40 but the video has 12" in _problems(ds, "0X0002")[0]


def test_ef_disagreeing_with_tracings_is_noted(dyn):
    _set(dyn / "FileList.csv", "0X0003", "EF", "60")   # tracings give 51
    _set(dyn / "FileList.csv", "0X0002", "EF", "55")   # within 5 points: fine
    ds = load_dataset(dyn)
    assert len(ds) == 4 and ds.records[3].ef == 60.0
    assert ds.problems.lines() == ["0X0003: FileList EF 60.0 disagrees with the tracings' EF 51.0 by more than 5 "
                                   "points; FileList EF kept"]


# --------------------------------------------------------------------------------------- bad input

def test_missing_filelist_or_columns(tmp_path, dyn):
    with pytest.raises(DataError, match="no FileList.csv"):
        load_dataset(tmp_path / "dyn" / "Videos")
    with pytest.raises(DataError, match="not found"):
        load_dataset(tmp_path / "absent")
    _edit(dyn / "FileList.csv", lambda h, rows: (h[:-1], [r[:-1] for r in rows]))
    with pytest.raises(DataError, match=r"FileList.csv: missing column\(s\) Split"):
        load_dataset(dyn)


def test_missing_tracing_columns(dyn):
    _edit(dyn / "VolumeTracings.csv", lambda h, rows: (h[:5], [r[:5] for r in rows]))
    with pytest.raises(DataError, match=r"VolumeTracings.csv: missing column\(s\) Frame"):
        load_dataset(dyn)


def test_missing_video_is_dropped_or_raised(dyn):
    (dyn / "Videos" / "0X0001.avi").unlink()
    ds = load_dataset(dyn)
    assert [r.name for r in ds.records] == ["0X0000", "0X0002", "0X0003"] and ds.dropped == ("0X0001",)
    assert _problems(ds, "0X0001") == [f"FileList.csv line 3 (0X0001): video not found in {dyn / 'Videos'} or {dyn}; "
                                       "record dropped"]
    with pytest.raises(VideoError, match=r"line 3 \(0X0001\): video not found"):
        load_dataset(dyn, strict=True)
    with pytest.raises(VideoError, match="0X0001"):
        load_record(dyn, "0X0001")


def test_undecodable_and_zero_frame_videos_only_caught_when_checked(dyn):
    (dyn / "Videos" / "0X0000.avi").write_bytes(b"not a video at all" * 20)
    write_video(dyn / "Videos" / "0X0003.avi", np.zeros((0, 16, 16), np.uint8))
    assert len(load_dataset(dyn)) == 4   # cheap path: existence only
    ds = load_dataset(dyn, check_videos=True, progress=False)
    assert [r.name for r in ds.records] == ["0X0001", "0X0002"]
    assert "0X0000.avi" in _problems(ds, "0X0000")[0] and _problems(ds, "0X0000")[0].endswith("record dropped")
    assert "0X0003.avi" in _problems(ds, "0X0003")[0]
    with pytest.raises(VideoError, match="0X0000.avi"):
        load_record(dyn, "0X0000")


@pytest.mark.parametrize("value", ["nan", "", "-3", "abc", "140"])
def test_bad_ef_drops_the_record(dyn, value):
    _set(dyn / "FileList.csv", "0X0002", "EF", value)
    ds = load_dataset(dyn)
    assert [r.name for r in ds.records] == ["0X0000", "0X0001", "0X0003"]
    assert "line 4 (0X0002): EF" in _problems(ds, "0X0002")[0]
    with pytest.raises(DataError, match=r"FileList.csv line 4 \(0X0002\): EF .* is not a number in \[0, 100\]"):
        load_dataset(dyn, strict=True)


def test_duplicate_names_keep_the_first(dyn):
    _edit(dyn / "FileList.csv", lambda h, rows: (h, rows + [rows[1][:1] + ["20"] + rows[1][2:]]))
    ds = load_dataset(dyn)
    assert len(ds) == 4 and ds.records[1].ef == 51.0
    assert _problems(ds, "0X0001") == ["FileList.csv line 6: duplicate FileName '0X0001'; record dropped"]
    with pytest.raises(DataError, match="duplicate FileName '0X0001'"):
        load_dataset(dyn, strict=True)


def test_traced_frame_beyond_video_length(dyn):
    _edit(dyn / "VolumeTracings.csv",
          lambda h, rows: (h, [r[:5] + (["30"] if r[0] == "0X0002.avi" and r[5] == "6" else [r[5]]) for r in rows]))
    ds = load_dataset(dyn)   # FileList's NumberOfFrames (12) is enough to see it
    r = ds.records[2]
    assert r.tracings is None and r.ed is None and len(ds) == 4
    assert _problems(ds, "0X0002") == ["traced frame 30 is beyond the video's 12 frames; record kept without "
                                       "tracings (ED/ES must be detected)"]
    with pytest.raises(DataError, match="0X0002: traced frame 30 is beyond"):
        load_record(dyn, "0X0002.avi")


def test_traced_frame_without_21_rows(dyn):
    def drop_one_row(h, rows):
        first = next(i for i, r in enumerate(rows) if r[0] == "0X0001.avi")
        return h, rows[:first + 3] + rows[first + 4:]
    _edit(dyn / "VolumeTracings.csv", drop_one_row)
    ds = load_dataset(dyn)
    assert ds.records[1].tracings is None and ds.records[0].ed == 1
    assert _problems(ds, "0X0001")[0].startswith("traced frame 6 has 20 rows, not 21; record kept without tracings")
    with pytest.raises(DataError, match="20 rows"):
        load_dataset(dyn, strict=True)


def test_missing_and_orphan_tracings(dyn):
    _edit(dyn / "VolumeTracings.csv", lambda h, rows: (
        h, [r for r in rows if r[0] != "0X0000.avi"] + tracing_rows("ghost.avi", 1, 40, 20) + tracing_rows("ghost.avi", 2, 40, 10)))
    ds = load_dataset(dyn)
    assert ds.records[0].tracings is None
    assert _problems(ds, "0X0000")[0].startswith("no tracings in VolumeTracings.csv")
    assert _problems(ds, "ghost") == ["has tracings in VolumeTracings.csv but no FileList row; ignored"]


def test_unknown_split_is_kept_and_noted(dyn):
    _set(dyn / "FileList.csv", "0X0000", "Split", "HOLDOUT")
    ds = load_dataset(dyn)
    assert ds.records[0].split == "HOLDOUT" and "not one of TRAIN/VAL/TEST" in _problems(ds, "0X0000")[0]


def test_load_record_strict_success(dyn):
    r = load_record(dyn, "0X0003")
    assert r.name == "0X0003" and r.probed.n_frames == 12 and (r.ed, r.es) == (1, 6)
    with pytest.raises(DataError, match="no video named 'nope'"):
        load_record(dyn, "nope")


def test_every_problem_is_one_line(dyn):
    (dyn / "Videos" / "0X0001.avi").unlink()
    _set(dyn / "FileList.csv", "0X0002", "EF", "nan")
    _set(dyn / "FileList.csv", "0X0003", "FrameWidth", "99")
    ds = load_dataset(dyn, check_videos=True, progress=False)
    assert len(ds.problems) == 3 and all("\n" not in line for line in ds.problems.lines())


# ------------------------------------------------------------------------------- phantom read-back

from infomotion_rt.phantom import generate as phantom  # noqa: E402  (the generator's own tests live elsewhere)
from infomotion_rt.phantom.truth import load_truth  # noqa: E402
from infomotion_rt.phantom.archive import ArchiveConfig  # noqa: E402


@pytest.fixture(scope="module")
def dynamic_phantom(tmp_path_factory):
    out = tmp_path_factory.mktemp("ph") / "dyn"
    # no archive label errors here: the reader's "FileList EF disagrees" note is tested in test_readback
    phantom.generate(out, 12, seed=5, progress=False, archive=ArchiveConfig.off())
    return out, {v["name"]: v for v in load_truth(out)["videos"]}


def _phase_error(found, true, period):
    d = (found - true) % period
    return min(d, period - d)


def test_phantom_read_back_ed_es_and_ef(dynamic_phantom):
    root, truth = dynamic_phantom
    ds = load_dataset(root, check_videos=True, progress=False)
    assert ds.layout == "dynamic" and len(ds) == 12 and not ds.problems, ds.problems.lines()
    for r in ds.records:
        t = truth[r.name]
        assert (r.ed, r.es) == (t["ed"], t["es"])     # by volume, whatever the row order
        assert r.traced_ef == pytest.approx(t["ef_true"], abs=0.5)
        assert abs(r.ef - r.traced_ef) <= 5.0 and r.ef == pytest.approx(t["ef_label"], abs=1e-3)
        assert (r.n_frames, r.split, r.height, r.width) == (t["n_frames"], t["split"], 112, 112)
        assert r.fps == t["fps_column"] == pytest.approx(r.probed.fps)


def test_phantom_detected_ed_es_near_traced_phase(dynamic_phantom):
    from infomotion_rt.data.phases import detect_ed_es
    from infomotion_rt.data.video import read_frames

    root, truth = dynamic_phantom
    errors = []
    for r in load_dataset(root).records:
        ed, es = detect_ed_es(read_frames(r.path))
        period = truth[r.name]["period"]
        errors += [_phase_error(ed, r.ed, period), _phase_error(es, r.es, period)]
    assert np.median(errors) <= 1.0 and np.mean(errors) <= 3.0


def test_synthetic_phantom_read_back(tmp_path):
    root = tmp_path / "syn"
    phantom.generate(root, 3, seed=2, style="synthetic", progress=False)
    ds = load_dataset(root, check_videos=True, progress=False)
    assert ds.layout == "synthetic" and len(ds) == 3
    assert all(r.tracings is None and r.n_frames == 192 and r.fps == 32.0 for r in ds.records)
    assert len(ds.problems) == 1 and "FPS column says 32 but the video plays at 30" in ds.problems.lines()[0]


def test_non_numeric_tracing_coordinates_untrace_the_video(dyn):
    _edit(dyn / "VolumeTracings.csv",
          lambda h, rows: (h, [[r[0], "x" if r[0] == "0X0003.avi" else r[1]] + r[2:] for r in rows]))
    ds = load_dataset(dyn)
    assert ds.records[3].tracings is None and ds.records[2].tracings is not None
    assert "non-numeric coordinates" in _problems(ds, "0X0003")[0]


def test_bad_frame_index_untraces_only_that_video(dyn):
    _edit(dyn / "VolumeTracings.csv", lambda h, rows: (h, rows[:5] + [rows[5][:5] + ["-2"]] + rows[6:]))
    ds = load_dataset(dyn)
    assert ds.records[0].tracings is None and all(r.tracings is not None for r in ds.records[1:])
    assert _problems(ds, "0X0000")[0].startswith("VolumeTracings.csv line 7: Frame '-2' is not a frame index")
    with pytest.raises(DataError, match=r"0X0000: VolumeTracings.csv line 7: Frame '-2'"):
        load_record(dyn, "0X0000")
