"""Phantom echo generator: layout per the data contract, labels consistent with the tracings and the motion,
determinism, the synthetic style's quirks, atomic output and the CLI."""

import csv
import re

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.data.classes import DEFAULT_CLASSES
from infomotion_rt.data.phases import disk_volume
from infomotion_rt.errors import ConfigError
from infomotion_rt.phantom.generate import FILELIST_COLUMNS, TRACING_COLUMNS, generate
from infomotion_rt.phantom.params import video_params
from infomotion_rt.phantom.render import render_video
from infomotion_rt.phantom.truth import load_truth

N, SEED, FRAMES = 8, 3, 24


def read_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def decode(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return np.array(frames), fps


def traced(path):
    """{name: {frame: (21, 4) array}} from VolumeTracings.csv, in file order."""
    header, rows = read_csv(path)
    out = {}
    for r in rows:
        out.setdefault(r[0], {}).setdefault(int(r[5]), []).append([float(x) for x in r[1:5]])
    return {k: {f: np.array(v) for f, v in d.items()} for k, d in out.items()}


@pytest.fixture(scope="module")
def dyn(tmp_path_factory):
    out = tmp_path_factory.mktemp("ph") / "dyn"
    summary = generate(out, N, seed=SEED, frames=FRAMES, preview=True, progress=False)
    return out, summary


def test_layout_and_columns(dyn):
    out, summary = dyn
    header, rows = read_csv(out / "FileList.csv")
    assert header == FILELIST_COLUMNS
    assert len(rows) == N and summary.n_videos == N
    assert all(re.fullmatch(r"0X[0-9A-F]{16}", r[0]) for r in rows)
    assert len({r[0] for r in rows}) == N
    assert {r[8] for r in rows} <= {"TRAIN", "VAL", "TEST"}
    theader, trows = read_csv(out / "VolumeTracings.csv")
    assert theader == TRACING_COLUMNS
    tr = traced(out / "VolumeTracings.csv")
    assert sorted(tr) == sorted(f"{r[0]}.avi" for r in rows)
    for r in rows:
        frames = tr[f"{r[0]}.avi"]
        assert len(frames) == 2 and all(t.shape == (21, 4) for t in frames.values())
        assert all(0 <= f < int(r[7]) for f in frames)
    assert (out / "preview.png").is_file() and summary.preview == out / "preview.png"
    img = cv2.imread(str(out / "preview.png"))
    assert img is not None and img.shape[0] > 224 and img.shape[1] > 8 * 224


def test_videos_true_to_filelist(dyn):
    out, _ = dyn
    _, rows = read_csv(out / "FileList.csv")
    for r in rows[:3]:
        frames, fps = decode(out / "Videos" / f"{r[0]}.avi")
        assert frames.shape == (int(r[7]), int(r[4]), int(r[5]), 3) == (FRAMES, 112, 112, 3)
        assert fps == pytest.approx(float(r[6]))
        assert np.abs(frames[..., 0].astype(int) - frames[..., 2]).max() <= 1  # grey stored as 3 channels
        sector = frames[..., 0].mean(axis=0)
        assert sector[0:3, 0:20].max() < 10 and sector[60, 56] > 0  # black corners, image in the fan


def test_ef_matches_traced_volumes(dyn):
    out, _ = dyn
    _, rows = read_csv(out / "FileList.csv")
    tr = traced(out / "VolumeTracings.csv")
    truth = {v["name"]: v for v in load_truth(out)["videos"]}
    for r in rows:
        vols = {f: disk_volume(t) for f, t in tr[f"{r[0]}.avi"].items()}
        ed, es = max(vols, key=vols.get), min(vols, key=vols.get)
        assert vols[ed] > vols[es]
        ef_traced = 100 * (vols[ed] - vols[es]) / vols[ed]
        assert abs(float(r[1]) - ef_traced) < 3.5
        t = truth[r[0]]
        assert (t["ed"], t["es"]) == (ed, es)
        assert ef_traced == pytest.approx(t["ef_true"], abs=0.01)
        ml = t["pixel_spacing_cm"] ** 3
        assert float(r[3]) == pytest.approx(vols[ed] * ml, rel=1e-3)
        assert float(r[2]) == pytest.approx(vols[es] * ml, rel=1e-3)
        assert 20 < float(r[3]) < 400  # mL, plausible for an adult LV


def test_rendered_frame_rows_outside_sector_are_black():
    for i in range(3):
        video = render_video(video_params(5, i, frames=10))
        assert video[:, [0, 111]].max() == 0  # the stacked-map upsampling relies on this
        assert video[:, 40:80, 40:80].mean() > 10


def test_row_order_varies_and_cycle_is_physiological():
    ps = [video_params(0, i) for i in range(60)]
    assert 0 < sum(p.es_rows_first for p in ps) < 60  # some videos list ES before ED
    for p in ps:
        assert 0 <= p.ed < p.es < p.n_frames
        assert 0.27 < p.n_systole / p.period < 0.43  # systole ~1/3 of the cycle
        assert 50 <= p.hr_bpm <= 120 and 64 <= p.n_frames <= 160
    assert 0.03 < np.mean([p.poor for p in ps]) < 0.25
    assert np.mean([p.fps_file == 50 for p in ps]) > 0.6 and len({p.fps_file for p in ps}) > 2


def test_ef_distribution_and_classes():
    efs = np.array([video_params(7, i).ef_true for i in range(1000)])
    assert 50 < efs.mean() < 62 and 8 < efs.std() < 16
    counts = np.bincount(DEFAULT_CLASSES.index(efs), minlength=5)
    assert counts.argmax() == 3 and counts.min() > 30  # Normal most common, every class present
    for seed in range(3):  # low-discrepancy class sequence: a small prefix already has all classes
        assert len({int(DEFAULT_CLASSES.index(video_params(seed, i).ef_true)) for i in range(25)}) == 5
        splits = [video_params(seed, i).split for i in range(100)]
        assert 70 <= splits.count("TRAIN") <= 80 and splits.count("TEST") >= 9


def _cavity_change(p):
    """Relative change ED->ES of the dark area inside the traced ED cavity, from the pixels alone."""
    from infomotion_rt.phantom.render import Geometry, tracing

    video = render_video(p)
    t = tracing(Geometry(p), p.ed)[1:]
    poly = np.concatenate([t[:, :2], t[::-1, 2:]]).astype(np.float32)
    mask = np.zeros((112, 112), np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)

    def dark(frame):
        return (cv2.GaussianBlur(frame, (5, 5), 0)[mask > 0] < 45).mean()

    return 1 - dark(video[p.es]) / dark(video[p.ed])


def test_motion_shows_the_ef_class():
    ps = [video_params(11, i, frames=40) for i in range(40)]
    low = [p for p in ps if p.ef_true < 35 and not p.poor][:2]
    high = [p for p in ps if p.ef_true > 65 and not p.poor][:2]
    assert low and high
    assert max(_cavity_change(p) for p in low) + 0.1 < min(_cavity_change(p) for p in high)


def test_deterministic_and_prefix_stable(dyn, tmp_path):
    out, _ = dyn
    again = tmp_path / "again"
    generate(again, 5, seed=SEED, frames=FRAMES, progress=False)
    for name in ("FileList.csv", "VolumeTracings.csv"):
        a = (out / name).read_text().splitlines()
        b = (again / name).read_text().splitlines()
        assert b == a[: len(b)]  # same seed: same rows, and a larger N extends a smaller one
    _, rows = read_csv(again / "FileList.csv")
    for r in rows[:2]:
        assert np.array_equal(decode(out / "Videos" / f"{r[0]}.avi")[0], decode(again / "Videos" / f"{r[0]}.avi")[0])
    other = video_params(SEED + 1, 0, frames=FRAMES)
    assert other.name != rows[0][0]


def test_synthetic_style(dyn, tmp_path):
    out = tmp_path / "syn"
    generate(out, 3, seed=1, style="synthetic", progress=False)
    assert not (out / "VolumeTracings.csv").exists()
    header, rows = read_csv(out / "FileList.csv")
    assert header == FILELIST_COLUMNS
    assert [r[0] for r in rows] == ["sample_000000", "sample_000001", "sample_000002"]
    for r in rows:
        assert re.fullmatch(r"\d+", r[1]) and 10 <= int(r[1]) <= 90
        assert float(r[2]) == 0 and float(r[3]) == 0 and r[6] == "32" and r[7] == "192"
    frames, fps = decode(out / "Videos" / "sample_000000.avi")
    assert len(frames) == 192 and fps == pytest.approx(30)
    # generated-video look: smoother texture than the dynamic style
    dyn_frames, _ = decode(dyn[0] / "Videos" / f"{read_csv(dyn[0] / 'FileList.csv')[1][0][0]}.avi")

    def roughness(v):
        g = v[..., 0].astype(np.float32)
        lap = np.abs(np.stack([cv2.Laplacian(f, cv2.CV_32F) for f in g]))
        return lap[:, 30:90, 30:90].mean() / (g[:, 30:90, 30:90].mean() + 1)

    assert roughness(frames[:10]) < 0.6 * roughness(dyn_frames[:10])
    truth = load_truth(out)["videos"]
    assert all(abs(v["ef_true"] - v["ef_label"]) < 6 for v in truth)
    labels = [video_params(4, i, "synthetic").ef_label for i in range(30)]
    assert len({int(DEFAULT_CLASSES.index(e)) for e in labels}) == 5 and min(labels) >= 10


def test_refuses_non_empty_and_overwrites(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        generate(out, 2, frames=12, progress=False)
    assert (out / "keep.txt").exists()
    generate(out, 2, frames=12, overwrite=True, progress=False)
    assert not (out / "keep.txt").exists() and (out / "FileList.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    empty = tmp_path / "empty"
    empty.mkdir()
    generate(empty, 1, frames=12, progress=False)
    assert (empty / "FileList.csv").exists()
    with pytest.raises(ConfigError):
        generate(tmp_path / "x", 1, frames=4, progress=False)


def test_cli_phantom(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["phantom", str(tmp_path / "c"), "--n", "2", "--seed", "5", "--frames", "12"])
    assert res.exit_code == 0, res.output
    assert "wrote 2 dynamic phantom videos" in res.output
    res = runner.invoke(cli, ["phantom", str(tmp_path / "c"), "--n", "2", "--frames", "12"])
    assert res.exit_code != 0 and "not empty" in str(res.exception)


def test_workers_give_the_same_dataset(tmp_path):
    generate(tmp_path / "a", 4, seed=2, frames=12, progress=False)
    generate(tmp_path / "b", 4, seed=2, frames=12, workers=2, progress=False)
    for name in ("FileList.csv", "VolumeTracings.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_cli_phantom_knobs_reach_the_truth_file_and_the_videos(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["phantom", str(tmp_path / "clean"), "--n", "2", "--frames", "12", "--clean"])
    assert res.exit_code == 0, res.output
    truth = load_truth(tmp_path / "clean")
    assert set(truth["nuisance"].values()) == {0.0} and set(truth["archive"].values()) == {0.0}
    assert all(not v["nuisance_kinds"] for v in truth["videos"])

    # every clip very short, nothing else: the kind is recorded and the AVIs really are 28-40 frames
    res = runner.invoke(cli, ["phantom", str(tmp_path / "short"), "--n", "3", "--seed", "4", "--no-archive",
                              "--archive", "very_short=1", "--nuisance", "drift=0.5"])
    assert res.exit_code == 0, res.output
    truth = load_truth(tmp_path / "short")
    assert truth["archive"]["very_short"] == 1.0 and truth["archive"]["foreshortened"] == 0.0
    assert truth["nuisance"]["drift"] == 0.5 and truth["nuisance"]["gain_steps"] == 1.0
    for v in truth["videos"]:
        assert v["nuisance_kinds"] == ["very short"]
        cap = cv2.VideoCapture(str(tmp_path / "short" / "Videos" / f"{v['name']}.avi"))
        assert 28 <= int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) <= 40
        cap.release()


@pytest.mark.parametrize("args, message", [
    (["--archive", "blurry=0.1"], "NAME one of foreshortened"),
    (["--archive", "zoom_outlier=1.5"], "within 0..1"),
    (["--nuisance", "drift=lots"], "not a number"),
    (["--nuisance", "drift=-1"], "within 0..10"),
    (["--nuisance", "drift=inf"], "must be finite"),
    (["--nuisance", "drift=1e9"], "within 0..10"),
    (["--archive", "very_short=0.5"], "drop --frames"),
    (["--style", "synthetic", "--archive", "off_axis=0.1"], "dynamic only"),
])
def test_cli_phantom_bad_knob_is_one_clear_error(tmp_path, args, message):
    res = CliRunner().invoke(cli, ["phantom", str(tmp_path / "x"), "--n", "1", "--frames", "12", *args])
    assert res.exit_code != 0
    assert message in res.output + str(res.exception)
    assert not (tmp_path / "x").exists()


def test_cli_phantom_says_which_ef_its_class_counts_use(tmp_path):
    # every label off by 15-30 points: the true-EF classes and the FileList's (what info counts) differ
    res = CliRunner().invoke(cli, ["phantom", str(tmp_path / "p"), "--n", "6", "--seed", "1", "--frames", "12",
                                   "--no-archive", "--archive", "wrong_label=1"])
    assert res.exit_code == 0, res.output
    truth = load_truth(tmp_path / "p")
    with open(tmp_path / "p" / "FileList.csv", newline="") as fh:
        labelled = [DEFAULT_CLASSES.name(float(r["EF"])) for r in csv.DictReader(fh)]

    def counts(classes):
        return ", ".join(f"{k} {classes.count(k)}" for k in DEFAULT_CLASSES.names)

    true_line = counts([v["ef_class"] for v in truth["videos"]])
    assert true_line != counts(labelled)
    assert f"EF classes (true EF, before label noise): {true_line}\n" in res.output
    assert f"EF classes (FileList.csv's EF, as info and select count them): {counts(labelled)}\n" in res.output
