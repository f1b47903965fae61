"""EchoNet-Pediatric layout: view folders, folds to splits, outline tracings, markers, info and extract.

The folder is built in the release's schema from a phantom: FileList ``FileName,EF,Sex,Age,Weight,Height,
Split`` (names with .avi, Split a fold 0-9), VolumeTracings ``FileName,X,Y,Frame`` with the LV outline
points (the phantom's disc-chord endpoints walked round the cavity, the way EchoNet draws its masks).
"""

import csv
import json
import math
import shutil
from collections import defaultdict

import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.data.pediatric import (DEFAULT_FOLDS, OutlineRecord, area_length_volume, configure,
                                          load_pediatric, parse_folds, shoelace_area)
from infomotion_rt.errors import ConfigError, DataError
from infomotion_rt.extract.files import read_features
from infomotion_rt.phantom.generate import generate
from infomotion_rt.phantom.truth import load_truth

FOLDS = [0, 3, 7, 8, 9, 9]   # video i's fold: TRAIN, TRAIN, TRAIN, VAL, TEST, TEST by default
MARKED = 1                   # video 1's systolic outline is replaced by a "No Systolic" marker row


@pytest.fixture(autouse=True)
def _clean_options():
    """--folds/--view hold for the process that reads the data; each test starts from the defaults."""
    configure(DEFAULT_FOLDS, "A4C")
    yield
    configure(DEFAULT_FOLDS, "A4C")


def _outline(chords):
    """Disc-chord rows (after the long axis) -> outline points: one side down, the other side back up."""
    return [(r["X1"], r["Y1"]) for r in chords] + [(r["X2"], r["Y2"]) for r in reversed(chords)]


def _write_view(src, view_dir, names, marked=None):
    (view_dir / "Videos").mkdir(parents=True)
    listed = {r["FileName"]: r for r in csv.DictReader(open(src / "FileList.csv"))}
    with open(view_dir / "FileList.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["FileName", "EF", "Sex", "Age", "Weight", "Height", "Split"])
        for i, name in enumerate(names):
            w.writerow([f"{name}.avi", listed[name]["EF"], "MF"[i % 2], 2 + i, 12.5 + i, 90 + i, FOLDS[i]])
            shutil.copy(src / "Videos" / f"{name}.avi", view_dir / "Videos")
    frames = defaultdict(list)
    for r in csv.DictReader(open(src / "VolumeTracings.csv")):
        frames[(r["FileName"], int(r["Frame"]))].append(r)
    with open(view_dir / "VolumeTracings.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["FileName", "X", "Y", "Frame"])
        for (video, frame), rows in frames.items():
            if video.removesuffix(".avi") not in names:
                continue
            if marked and video.removesuffix(".avi") == marked[0] and frame == marked[1]:
                w.writerow([video, "", "", "No Systolic"])
                continue
            w.writerows([video, x, y, frame] for x, y in _outline(rows[1:]))


@pytest.fixture(scope="module")
def pediatric(tmp_path_factory):
    """(root with A4C/ (6 videos) and PSAX/ (2 videos), phantom truth by name)."""
    base = tmp_path_factory.mktemp("ped")
    generate(base / "src", 6, seed=3, frames=40, progress=False)
    truth = {v["name"]: v for v in load_truth(base / "src")["videos"]}
    names = list(truth)
    marked = (names[MARKED], truth[names[MARKED]]["es"])
    _write_view(base / "src", base / "root" / "A4C", names, marked)
    _write_view(base / "src", base / "root" / "PSAX", names[:2])
    return base / "root", truth


def test_root_reads_a4c_with_folds_mapped_and_ed_the_larger_outline(pediatric):
    root, truth = pediatric
    ds = load_dataset(root)
    assert ds.layout == "pediatric" and ds.root == root / "A4C" and len(ds) == 6
    assert all(isinstance(r, OutlineRecord) and r.view == "A4C" for r in ds.records)
    assert [r.fold for r in ds.records] == FOLDS
    assert [r.split for r in ds.records] == ["TRAIN", "TRAIN", "TRAIN", "VAL", "TEST", "TEST"]
    assert all(math.isnan(r.fps) and r.n_frames is None for r in ds.records)  # FileList has neither
    traced = [r for r in ds.records if r.tracings is not None]
    assert len(traced) == 5
    for r in traced:
        assert (r.ed, r.es) == (truth[r.name]["ed"], truth[r.name]["es"])
        assert shoelace_area(r.tracings[r.ed]) > shoelace_area(r.tracings[r.es])
        assert abs(r.traced_ef - r.ef) < 6.0   # area-length EF from the outlines vs the FileList EF


def test_probing_takes_frame_rate_and_count_from_the_videos(pediatric):
    root, truth = pediatric
    ds = load_dataset(root, check_videos=True, progress=False)
    for r in ds.records:
        assert r.n_frames == truth[r.name]["n_frames"] == 40 and r.fps == pytest.approx(truth[r.name]["fps_file"])
    assert not ds.problems.lines()[1:]   # the marker note only


def test_a_marker_row_leaves_the_video_untraced_with_a_note(pediatric):
    root, truth = pediatric
    ds = load_dataset(root)
    name = list(truth)[MARKED]
    record = next(r for r in ds.records if r.name == name)
    assert record.tracings is None and record.ed is None and record.es is None
    assert ds.problems.lines() == [f"{name}: VolumeTracings.csv marks it 'No Systolic'; record kept without "
                                   f"tracings (ED/ES detected from the video)"]
    assert load_dataset(root, strict=True).records[MARKED].tracings is None   # a property, not an error


def test_folds_flag_and_unmapped_folds(pediatric):
    root, _ = pediatric
    ds = load_pediatric(root / "A4C", folds="TRAIN:0-3+9,TEST:8")
    assert [r.split for r in ds.records] == ["TRAIN", "TRAIN", "FOLD7", "TEST", "TRAIN", "TRAIN"]
    assert any("FOLD7 (1 videos); kept outside TRAIN/VAL/TEST" in line for line in ds.problems.lines())
    result = CliRunner().invoke(cli, ["info", str(root), "--quick", "--json", "--folds", "VAL:0-7,TRAIN:8-9"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)["counts"]
    assert sum(counts["VAL"].values()) == 3 and sum(counts["TRAIN"].values()) == 3
    configure(DEFAULT_FOLDS)
    moved = CliRunner().invoke(cli, ["--folds", "VAL:0-7,TRAIN:8-9", "info", str(root), "--quick", "--json"])
    assert moved.exit_code == 0, moved.output     # the pre-0.2 place still works, with one line naming the new one
    assert "note: --folds before the command (or INFOMOTION_FOLDS) has moved" in moved.stderr
    assert json.loads(moved.stdout)["counts"] == counts


@pytest.mark.parametrize("spec", ["TRAIN:0-7,VAL:7", "FOO:1", "TRAIN:3-11", "TRAIN:", "TRAIN:a"])
def test_bad_fold_specs_are_config_errors(spec):
    with pytest.raises(ConfigError, match="--folds"):
        parse_folds(spec)


def test_view_choice(pediatric, tmp_path, monkeypatch):
    root, _ = pediatric
    result = CliRunner().invoke(cli, ["info", str(root), "--quick", "--view", "psax"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{root / 'PSAX'}: pediatric layout, 2 videos (2 traced, 0 dropped)")
    configure(view="A4C")                  # --view holds for the process; back to the default
    psax = load_dataset(root / "PSAX")     # a view folder given directly is read as is
    assert {r.view for r in psax.records} == {"PSAX"} and all(r.traced_ef is None for r in psax.records)
    only_psax = tmp_path / "only_psax"
    shutil.copytree(root / "PSAX", only_psax / "PSAX")
    with pytest.raises(DataError, match="no A4C/ view folder .* pass --view PSAX"):
        load_dataset(only_psax)


def test_info_on_the_pediatric_root(pediatric):
    root, truth = pediatric
    result = CliRunner().invoke(cli, ["info", str(root)])
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0] == f"{root / 'A4C'}: pediatric layout, 6 videos (5 traced, 0 dropped)"
    assert "frames 40-40" in result.stdout and "EF from the tracings vs FileList over 5 traced videos" in result.stdout
    assert "1 problem:" in out and any("No Systolic" in line for line in out)


def test_extract_with_the_shipped_encoder(pediatric, tmp_path):
    root, truth = pediatric
    out = tmp_path / "f.npz"
    result = CliRunner().invoke(cli, ["extract", str(root), "--out", str(out), "--batch-size", "3", "--threads", "1"])
    assert result.exit_code == 0, result.output
    fs = read_features(out)
    assert sorted(fs.names.tolist()) == sorted(truth) and np.isfinite(fs.features).all()
    assert fs.meta["layout"] == "pediatric"
    split = dict(zip(fs.names.tolist(), fs.split.tolist()))
    assert [split[n] for n in truth] == ["TRAIN", "TRAIN", "TRAIN", "VAL", "TEST", "TEST"]


def test_outline_geometry():
    angles = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    circle = np.stack([10 + 5 * np.cos(angles), 20 + 5 * np.sin(angles)], axis=1)
    assert shoelace_area([[0, 0], [4, 0], [4, 3], [0, 3]]) == pytest.approx(12.0)
    # area-length on a circle of radius r is exactly the sphere's volume: 8 (pi r^2)^2 / (3 pi 2r) = 4/3 pi r^3
    assert area_length_volume(circle) == pytest.approx(4 / 3 * np.pi * 125, rel=1e-3)


def test_malformed_outlines_leave_the_video_untraced(pediatric, tmp_path):
    root, truth = pediatric
    names = list(truth)
    view = shutil.copytree(root / "A4C", tmp_path / "A4C")
    rows = list(csv.reader(open(view / "VolumeTracings.csv")))
    two_points = [r for r in rows if r[0] == f"{names[2]}.avi" and r[3] == str(truth[names[2]]["ed"])][2:]
    rows = [r for r in rows if r not in two_points]                                # ED outline of video 2: 2 points
    rows = [[*r[:3], "late"] if r[0] == f"{names[3]}.avi" else r for r in rows]    # video 3: Frame not a frame
    with open(view / "VolumeTracings.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    ds = load_dataset(view)
    by_name = {r.name: r for r in ds.records}
    assert by_name[names[2]].tracings is None and by_name[names[3]].tracings is None and len(ds) == 6
    lines = "\n".join(ds.problems.lines())
    assert f"{names[2]}: traced frame {truth[names[2]]['ed']} has 2 outline points" in lines
    assert f"{names[3]}: VolumeTracings.csv line " in lines and "Frame 'late' is not a frame index" in lines
    with pytest.raises(DataError, match="outline point"):
        load_dataset(view, strict=True)
