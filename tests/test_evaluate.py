"""EF regressor end to end on a tiny phantom (tiny setting: 8 frames of 32x32, narrow net, 1-2 epochs)."""

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import main as _main  # noqa: F401  (the entry point imports cleanly)
from infomotion_rt.cli import cli
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.errors import DataError
from infomotion_rt.evaluate.clips import ClipConfig, clip_indices, clip_starts
from infomotion_rt.phantom.generate import generate

TINY = ["--setting", "tiny", "--steps", "3", "--whole-steps", "4", "--runs", "2", "--threads", "1"]


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("ev") / "p", 20, seed=3, frames=32, progress=False).out_dir


def _selection(path, names):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["FileName", "EF"])
        w.writerows([[n, 50] for n in names])
    return path


def _run(args):
    from infomotion_rt.errors import InfoMotionError

    res = CliRunner().invoke(cli, args, catch_exceptions=True)
    return res, (res.exception if isinstance(res.exception, InfoMotionError) else None)


def test_clip_indices_wrap_and_test_starts():
    cfg = ClipConfig(frames=4, period=3, size=32, test_clips=3)
    np.testing.assert_array_equal(clip_indices(20, 2, cfg), [2, 5, 8, 11])
    np.testing.assert_array_equal(clip_indices(8, 2, cfg), [2, 5, 0, 3])  # wraps round a short video
    assert clip_starts(20, cfg) == [0, 5, 10]  # span 10, last start 10
    assert clip_starts(8, cfg) == [0]


def test_import_cli_does_not_import_torch():
    code = "import sys, infomotion_rt.cli; print('torch' in sys.modules or 'torchvision' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_evaluate_selection_end_to_end(phantom, tmp_path):
    pytest.importorskip("torchvision")
    ds = load_dataset(phantom, progress=False)
    train = [r.name for r in ds.split("TRAIN")][:8]
    sel = _selection(tmp_path / "sel.csv", train)
    res, err = _run(["evaluate", str(phantom), "--selection", str(sel), "--out", str(tmp_path / "out"),
                     "--save-model", str(tmp_path / "ef.pt"), *TINY])
    assert res.exit_code == 0, res.output + repr(res.exception)
    out = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    n_test = len(ds.split("TEST"))
    assert out["n_train"] == 8 and out["n_test"] == n_test and len(out["runs"]) == 2
    assert f"note: only {n_test} TEST videos" in res.output and "one run" not in res.output  # 2 runs: no note
    assert [r["seed"] for r in out["runs"]] == [0, 1]
    for r in out["runs"]:
        assert 0 <= r["acc"] <= r["soft_acc"] <= 1  # soft is never below hard
        assert np.sum(r["confusion"]) == n_test
    md = (tmp_path / "out" / "evaluation.md").read_text()
    assert "small (2+1)D CNN (r2plus1d_18, width 8" in md and "soft accuracy" in md and "balanced accuracy" in md
    # A selection file from before weights (no Weight column) trains unweighted, and says so.
    assert out["weights"] == "none in the file (every weight 1)" and not any(r["weighted"] for r in out["runs"])
    assert "selection weights: none in the file" in md
    # The cautions and the augmentation switch are in the files, not only on the console.
    assert out["augment"] is False and "augmentation off" in md
    assert any(n.startswith(f"only {n_test} TEST videos") for n in out["notes"]) and "Note: only" in md

    # The checkpoint loads with weights_only and predicts the same EF as a fresh load; relabel writes it out.
    res, err = _run(["relabel", str(phantom), "--model", str(tmp_path / "ef.pt"), "--out", str(tmp_path / "rel.csv"),
                     "--embed-out", str(tmp_path / "app.npz")])
    assert res.exit_code == 0, res.output + repr(res.exception)
    relabelled = load_dataset(phantom, tmp_path / "rel.csv", progress=False)
    assert len(relabelled) == len(ds)
    from infomotion_rt.evaluate.clips import ClipSource
    from infomotion_rt.evaluate.regressor import load_checkpoint
    from infomotion_rt.evaluate.training import predict

    model, setting, norm, _ = load_checkpoint(tmp_path / "ef.pt")
    pred, feats = predict(model, ds.records, ClipSource(setting.clips), norm, features=True, progress=False)
    got = {r.name: r.ef for r in relabelled.records}
    np.testing.assert_allclose([got[r.name] for r in ds.records], np.clip(pred, 0, 100), atol=1e-3)
    from infomotion_rt.extract.files import read_features

    fs = read_features(tmp_path / "app.npz")
    assert fs.features.shape == (len(ds), feats.shape[1]) and "penultimate" in fs.meta["embedding"]
    assert fs.meta["engine"] == "ef.pt" and "dataset" not in fs.meta  # shared file: no paths


def test_evaluate_whole_with_other_architecture(phantom, tmp_path):
    pytest.importorskip("torchvision")
    res, _ = _run(["evaluate", str(phantom), "--whole", "--model", "mc3_18", "--out", str(tmp_path), *TINY[:-4],
                   "--runs", "1", "--threads", "1"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "note: one run: ±0 is not a spread" in res.output
    out = json.loads((tmp_path / "evaluation.json").read_text())
    assert out["whole"] and out["n_train"] == len(load_dataset(phantom, progress=False).split("TRAIN"))
    assert "mc3_18" in out["setting"]


def test_bad_input_is_one_line(phantom, tmp_path):
    pytest.importorskip("torchvision")
    empty = tmp_path / "empty.csv"
    empty.write_text("FileName,EF\n")
    _, err = _run(["evaluate", str(phantom), "--selection", str(empty), *TINY])
    assert err is not None and "empty selection" in str(err)
    _, err = _run(["evaluate", str(phantom), "--selection", str(_selection(tmp_path / "x.csv", ["nope1", "nope2"])), *TINY])
    assert err is not None and "2 of 2 selected videos are not in" in str(err) and "nope1" in str(err)
    # No TEST split: rewrite every TEST row as VAL.
    copy = tmp_path / "notest"
    shutil.copytree(phantom, copy)
    fl = copy / "FileList.csv"
    fl.write_text(fl.read_text().replace(",TEST", ",VAL"))
    _, err = _run(["evaluate", str(copy), "--whole", *TINY])
    assert err is not None and "no TEST split" in str(err)
    res, _ = _run(["evaluate", str(phantom), *TINY])
    assert res.exit_code != 0 and "either --selection" in str(res.exception)
    for e in (err,):
        assert "\n" not in str(e)
    _, err = _run(["relabel", str(phantom), "--model", str(tmp_path / "missing.pt")])
    assert err is not None and "checkpoint not found" in str(err)


def test_step_budget_is_equal_across_set_sizes(phantom):
    """Sets of 2 and 9 videos get the same number of optimisation steps (not epochs)."""
    pytest.importorskip("torchvision")
    from infomotion_rt.evaluate.clips import ClipSource
    from infomotion_rt.evaluate.regressor import get_setting
    from infomotion_rt.evaluate.training import TrainConfig, batch_plan, train_regressor

    rng = np.random.default_rng(0)
    plan = batch_plan(3, 7, 2, rng)  # 14 draws from 3 videos: reshuffled passes, each video 4-5 times
    assert plan.shape == (7, 2) and sorted(np.bincount(plan.ravel()).tolist()) == [4, 5, 5]
    recs = load_dataset(phantom, progress=False).split("TRAIN")
    setting = get_setting("tiny")
    src = ClipSource(setting.clips)
    cfg = TrainConfig(steps=5, batch_size=4, threads=1)
    steps = [train_regressor(recs[:n], setting, cfg, 0, src, progress=False)[2]["steps"] for n in (2, 9)]
    assert steps == [5, 5]


def test_early_stopping_keeps_the_best_val_checkpoint(phantom):
    pytest.importorskip("torchvision")
    from infomotion_rt.evaluate.clips import ClipSource
    from infomotion_rt.evaluate.regressor import get_setting
    from infomotion_rt.evaluate.training import TrainConfig, train_regressor, val_loss

    ds = load_dataset(phantom, progress=False)
    train, val = ds.split("TRAIN"), ds.split("TRAIN")[:3]  # any videos will do for the mechanism
    setting = get_setting("tiny")
    src = ClipSource(setting.clips)
    cfg = TrainConfig(steps=12, batch_size=4, eval_every=2, patience=2, threads=1, lr=5e-3)
    model, norm, hist = train_regressor(train, setting, cfg, 0, src, progress=False, val_records=val)
    vals = dict((s, v) for s, v in hist["val"])
    assert hist["best_step"] == min(vals, key=vals.get) and hist["best_val_loss"] == min(vals.values())
    assert val_loss(model, val, src, norm, "cpu") == pytest.approx(hist["best_val_loss"], rel=1e-5)
    assert hist["stopped_early"] == (hist["steps"] < 12)


def test_weighted_mse_fits_the_weighted_mean():
    """A constant fitted with weighted_mse lands on the weighted mean of the targets, not their mean."""
    torch = pytest.importorskip("torch")
    from infomotion_rt.evaluate.training import weighted_mse

    y = torch.tensor([20.0, 30.0, 60.0, 60.0])
    w = torch.tensor([0.4, 0.4, 1.6, 1.6])       # mean 1, as a selection's weights
    for weight, want in ((w, 53.0), (None, 42.5)):  # (0.4·20 + 0.4·30 + 1.6·60 + 1.6·60) / 4
        b = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([b], lr=0.2)
        for _ in range(200):
            opt.zero_grad()
            weighted_mse(b.expand(4), y, weight).backward()
            opt.step()
        assert b.item() == pytest.approx(want, abs=1e-3)
    assert float(weighted_mse(y, y + 2, torch.ones(4))) == float(weighted_mse(y, y + 2)) == 4.0


def test_training_uses_the_weights(phantom, monkeypatch):
    """train_regressor hands each batch's weights to the loss and centres EF on the weighted mean;
    weights=None (--no-weights) is the plain MSE, and all-1 weights train exactly like it."""
    pytest.importorskip("torchvision")
    from infomotion_rt.evaluate import training
    from infomotion_rt.evaluate.clips import ClipSource
    from infomotion_rt.evaluate.regressor import get_setting

    recs = load_dataset(phantom, progress=False).split("TRAIN")[:4]
    setting = get_setting("tiny")
    src = ClipSource(setting.clips)
    cfg = training.TrainConfig(steps=3, batch_size=2, threads=1)
    seen, plain = [], training.weighted_mse
    monkeypatch.setattr(training, "weighted_mse", lambda p, t, w=None: seen.append(w) or plain(p, t, w))
    w = np.array([3.0, 0.5, 0.25, 0.25])
    _, norm, hist = training.train_regressor(recs, setting, cfg, 0, src, progress=False, weights=w)
    plan = training.batch_plan(4, 3, 2, np.random.default_rng(0))
    assert hist["weighted"] and [s.tolist() for s in seen] == [w[i].tolist() for i in plan]
    assert norm["ef_mean"] == pytest.approx(np.average([r.ef for r in recs], weights=w))
    seen.clear()
    _, norm0, h0 = training.train_regressor(recs, setting, cfg, 0, src, progress=False)
    assert seen == [None, None, None] and not h0["weighted"]
    assert norm0["ef_mean"] == pytest.approx(np.mean([r.ef for r in recs]))
    _, _, h1 = training.train_regressor(recs, setting, cfg, 0, src, progress=False, weights=np.ones(4))
    assert h1["loss_curve"] == h0["loss_curve"]
    with pytest.raises(DataError, match="positive finite weights"):
        training.train_regressor(recs, setting, cfg, 0, src, progress=False, weights=[1.0, 0.0, 1.0, 1.0])


def test_evaluate_trains_with_the_selection_weights(phantom, tmp_path):
    """evaluate reads selection.csv's Weight (on by default), --no-weights turns it off; both recorded."""
    pytest.importorskip("torchvision")
    from infomotion_rt.evaluate.protocol import read_selection_weights

    names = [r.name for r in load_dataset(phantom, progress=False).split("TRAIN")][:4]
    sel = tmp_path / "sel.csv"
    sel.write_text("FileName,EF,Weight\n" + "".join(f"{n},50,{w}\n" for n, w in zip(names, (2.5, 0.5, 0.5, 0.5))))
    one = [*TINY[:-4], "--runs", "1", "--threads", "1"]
    for flag, want in (([], "class-prior"), (["--no-weights"], "off (--no-weights)")):
        res, _ = _run(["evaluate", str(phantom), "--selection", str(sel), "--out", str(tmp_path / want[:3]), *one, *flag])
        assert res.exit_code == 0, res.output + repr(res.exception)
        out = json.loads((tmp_path / want[:3] / "evaluation.json").read_text())
        assert out["weights"] == want and out["runs"][0]["weighted"] == (not flag) and f"weights: {want}" in res.output
    np.testing.assert_array_equal(read_selection_weights(sel, names[::-1]), [0.5, 0.5, 0.5, 2.5])
    sel.write_text(f"FileName,Weight\n{names[0]},1\n{names[1]},n/a\n")
    with pytest.raises(DataError, match=r"sel.csv line 3: Weight 'n/a' of .* is not a positive number"):
        read_selection_weights(sel, names[:2])


def test_loss_trend_rule():
    from infomotion_rt.evaluate.training import loss_trend

    # 20 steps: windows of 2; last (1, 1) vs previous (2, 2) -> 50% lower: still falling.
    t = loss_trend([5.0] * 16 + [2.0, 2.0, 1.0, 1.0])
    assert (t["last"], t["previous"], t["still_falling"]) == (1.0, 2.0, True)
    # 3% lower is a plateau under the 5% rule.
    assert not loss_trend([1.0] * 18 + [0.97, 0.97])["still_falling"]
    assert not loss_trend([1.0, 0.5])["still_falling"]  # too few steps to judge


def test_cycle_clips_span_a_cardiac_cycle(phantom, monkeypatch):
    from infomotion_rt.evaluate.clips import ClipSource, augment_clip, cycle_indices
    from infomotion_rt.data.phases import cycle_length

    assert cycle_length(10, 20) == 30.0 and cycle_length(20, 10) == 15.0  # systole = 1/3 of the cycle
    np.testing.assert_array_equal(cycle_indices(100, 90, 20.0, 4), [90, 95, 0, 5])  # wraps
    cfg = ClipConfig(frames=8, size=32, cycle=True, cycle_cover=1.2, augment=True, test_clips=2)
    src = ClipSource(cfg)
    rec = next(r for r in load_dataset(phantom, progress=False).records if r.ed is not None)
    cycle = src.cycle(rec)
    assert cycle == min(cycle_length(rec.ed, rec.es), src.n_frames(rec))  # never more than the video
    clip = src.train_clip(rec, np.random.default_rng(0))
    assert clip.shape == (8, 32, 32) and clip.dtype == np.uint8
    test = src.test_clips(rec)
    assert test.shape == (1, 8, 32, 32)  # 32 frames hold less than 1.2 cycles: one (wrapped) test clip
    # Untraced video: the cycle comes from ED/ES detected in the frames.
    from dataclasses import replace

    untraced = replace(rec, ed=None, es=None, path=rec.path)
    assert ClipSource(cfg).cycle(untraced) > 0
    # the detector searches heart rates in beats per second: it must get the video's frame rate
    import infomotion_rt.evaluate.clips as clips_mod

    seen, real_detect = [], clips_mod.detect_ed_es
    monkeypatch.setattr(clips_mod, "detect_ed_es", lambda frames, fps=None: seen.append(fps) or real_detect(frames, fps=fps))
    ClipSource(cfg).cycle(replace(untraced, fps=37.0))
    assert seen == [37.0]
    same = augment_clip(np.full((3, 16, 16), 100, np.uint8), np.random.default_rng(1))
    assert same.shape == (3, 16, 16) and same.dtype == np.uint8


def test_threads_caps_torch_blas_opencv_and_faiss():
    """--threads reaches every pool that decodes, detects, selects or predicts, not only torch's (a
    subprocess: the caps hold for the rest of a process)."""
    import subprocess
    import sys

    pytest.importorskip("torch")
    pytest.importorskip("threadpoolctl")
    code = ("import numpy, cv2, faiss, torch, threadpoolctl\n"
            "from infomotion_rt.evaluate.training import limit_threads\n"
            "def pools():\n"
            "    blas = [p['num_threads'] for p in threadpoolctl.threadpool_info()]\n"
            "    return [torch.get_num_threads(), cv2.getNumThreads(), faiss.omp_get_max_threads(), max(blas or [1])]\n"
            "print(*pools())\n"
            "limit_threads(1)\n"
            "print(*pools())\n")
    before, after = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   check=True).stdout.splitlines()
    if before.split() == ["1"] * 4:
        pytest.skip("every pool already runs one thread here (one core or *_NUM_THREADS=1): nothing to cap")
    assert after.split() == ["1"] * 4


def test_augment_override_reaches_the_training_clips_only(phantom):
    """--augment turns the setting's training-clip augmentation on; test clips stay plain."""
    from infomotion_rt.evaluate.clips import ClipSource
    from infomotion_rt.evaluate.regressor import get_setting

    plain, aug = get_setting("cpu-small"), get_setting("cpu-small", augment=True)
    assert not plain.clips.augment and aug.clips.augment and "augmented" in aug.label()
    assert get_setting("cpu-small", augment=False) == plain
    rec = next(r for r in load_dataset(phantom, progress=False).records if r.ed is not None)
    a = ClipSource(aug.clips).train_clip(rec, np.random.default_rng(3))
    b = ClipSource(plain.clips).train_clip(rec, np.random.default_rng(3))
    assert a.shape == b.shape and not np.array_equal(a, b)
    np.testing.assert_array_equal(ClipSource(aug.clips).test_clips(rec), ClipSource(plain.clips).test_clips(rec))


def test_channels_last_training_layout_gives_the_same_predictions_and_plain_checkpoints(tmp_path):
    """CPU training runs in channels_last_3d (speed only): the same weights predict the same EF as in the
    default layout, and a checkpoint saved from it holds contiguous tensors (loads anywhere)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    from infomotion_rt.evaluate.regressor import build_model, get_setting, load_checkpoint, save_checkpoint
    from infomotion_rt.evaluate.training import _memory_format, _to_tensor

    setting = get_setting("cpu-small")
    torch.manual_seed(0)
    model = build_model(setting.model).eval()
    clips = np.random.default_rng(0).integers(0, 256, (3, 8, 32, 32), dtype=np.uint8)
    norm = {"pixel_mean": 0.3, "pixel_std": 0.2}
    with torch.inference_mode():
        plain = model(_to_tensor(torch, clips, norm, "cpu").contiguous())
        fmt = _memory_format(torch, "cpu")
        assert fmt == torch.channels_last_3d
        x = _to_tensor(torch, clips, norm, "cpu")
        assert x.is_contiguous(memory_format=fmt)
        cl = model.to(memory_format=fmt)(x)
    np.testing.assert_allclose(cl.numpy(), plain.numpy(), rtol=1e-4, atol=1e-5)
    path = save_checkpoint(tmp_path / "ef.pt", model, setting, {**norm, "ef_mean": 55.0, "ef_std": 10.0})
    state = torch.load(path, weights_only=True)["state_dict"]
    assert all(t.is_contiguous() for t in state.values())
    loaded, *_ = load_checkpoint(path)
    with torch.inference_mode():
        np.testing.assert_allclose(loaded(_to_tensor(torch, clips, norm, "cpu")).numpy(), plain.numpy(), rtol=1e-4, atol=1e-5)
