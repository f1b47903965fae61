"""The read-out instrument (issue 16.2): the ridge probe, the pixel representation and its cache, and
``evaluate --instrument probe`` end to end on a tiny phantom (no torch needed)."""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("sklearn")

from infomotion_rt.extract import pixels  # noqa: E402
from infomotion_rt.cli import cli  # noqa: E402
from infomotion_rt.data.loader import load_dataset  # noqa: E402
from infomotion_rt.phantom.generate import generate  # noqa: E402
from infomotion_rt.errors import ConfigError, InfoMotionError  # noqa: E402
from infomotion_rt.selection.readout import pearson_r, ridge_probe, standardiser  # noqa: E402
from infomotion_rt.extract.featureset import make_feature_set  # noqa: E402
from infomotion_rt.extract.featureset import make_meta
from infomotion_rt.extract.files import write_features


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("probe") / "p", 24, seed=5, frames=32, progress=False).out_dir


def _r2(y, p):
    return 1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def test_probe_recovers_a_linear_ef():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)) * [1, 5, 0.1, 2, 1, 3] + 7  # scales differ: the pool standardises them
    ef = 55 + x @ np.array([2.0, -0.5, 10.0, 1.0, 0.0, 0.3])
    pred, alpha = ridge_probe(x[:200], x[:40], ef[:40], x[200:])
    assert _r2(ef[200:], pred) > 0.999 and alpha <= 1.0
    again, _ = ridge_probe(x[:200], x[:40], ef[:40], x[200:])
    assert np.array_equal(pred, again)                                        # deterministic
    same, _ = ridge_probe(x[:200], x[:40], ef[:40], x[200:], weights=np.ones(40))
    np.testing.assert_allclose(same, pred, rtol=1e-9)                         # weights 1: the unweighted fit


def test_weights_pull_the_fit_towards_the_heavy_videos():
    # Two groups on opposite lines of one feature: the fit follows the group that weighs more.
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(40, 1))
    group_a = np.arange(40) < 20
    ef = np.where(group_a, 50 + 10 * x[:, 0], 50 - 10 * x[:, 0])
    test = np.linspace(-1, 1, 11)[:, None]
    flat, _ = ridge_probe(x, x, ef, test)
    heavy_a, _ = ridge_probe(x, x, ef, test, weights=np.where(group_a, 20.0, 1.0))
    line_a = 50 + 10 * test[:, 0]
    assert np.abs(heavy_a - line_a).mean() < 0.5 * np.abs(flat - line_a).mean()


def test_standardiser_and_pearson_edge_cases():
    mean, std = standardiser(np.array([[1.0, 2.0], [1.0, 4.0]]))
    assert mean.tolist() == [1.0, 3.0] and std.tolist() == [1.0, 1.0]        # constant column: / 1, not / 0
    assert np.isnan(pearson_r([1, 2, 3], [5, 5, 5])) and pearson_r([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)


def test_pixels_shape_determinism_and_cache(phantom, tmp_path, monkeypatch):
    records = load_dataset(phantom, progress=False).records
    feats = tmp_path / "features.npz"
    assert pixels.pixels_path(feats) == tmp_path / "features.pixels.npz"
    assert pixels.pixels_path(tmp_path / "store") == tmp_path / "store.pixels.npz"
    v = pixels.video_pixels(records[0])
    assert v.shape == (768,) and v.dtype == np.float32 and 0 <= v.min() and v.max() <= 1
    assert np.array_equal(v, pixels.video_pixels(records[0]))
    fs, info = pixels.load_or_build(records, feats)
    assert fs.features.shape == (len(records), 768) and fs.features.dtype == np.float32
    assert info["computed"] == len(records) and info["reused"] == 0 and not info["failed"]
    assert (tmp_path / "features.pixels.npz").is_file() and fs.meta["definition"] == pixels.PIXELS_DEFINITION
    assert sorted(fs.names.tolist()) == sorted(r.name for r in records)        # every split, same names
    assert np.array_equal(fs.features[fs.names.tolist().index(records[0].name)], v)

    def no_decoding(rec):
        raise AssertionError("the cache was not reused")

    monkeypatch.setattr(pixels, "video_pixels", no_decoding)
    again, info = pixels.load_or_build(records, feats)                         # second call reads the file
    assert info["computed"] == 0 and info["reused"] == len(records)
    assert np.array_equal(again.features, fs.features)


def test_pixels_of_untraced_videos_use_the_detector(tmp_path):
    data = generate(tmp_path / "s", 3, seed=2, frames=40, style="synthetic", progress=False).out_dir
    rec = load_dataset(data, progress=False).records[0]
    assert rec.ed is None
    v = pixels.video_pixels(rec)
    assert v.shape == (768,) and np.isfinite(v).all() and v[512:].max() > 0  # the cycle moves


def test_cache_of_another_definition_is_refused(phantom, tmp_path):
    records = load_dataset(phantom, progress=False).records
    bad = make_feature_set([r.name for r in records], np.zeros((len(records), 768)),
                           meta=make_meta(pixels.PRODUCER, definition="something else"))
    write_features(tmp_path / "f.pixels.npz", bad)
    with pytest.raises(InfoMotionError, match="f.pixels.npz: holds another representation"):
        pixels.load_or_build(records, tmp_path / "f.npz")


def _inputs(phantom, tmp_path):
    ds = load_dataset(phantom, progress=False)
    rng = np.random.default_rng(3)
    feats = tmp_path / "motion.npz"
    write_features(feats, make_feature_set([r.name for r in ds.records], rng.normal(size=(len(ds.records), 16)),
                                           [r.ef for r in ds.records], [r.split for r in ds.records],
                                           make_meta("test")))
    picks = ds.split("TRAIN")[:6]
    sel = tmp_path / "selection.csv"
    with open(sel, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["FileName", "EF", "Weight"])
        w.writerows([[r.name, r.ef, 0.5 + i % 2] for i, r in enumerate(picks)])
    return feats, sel


def test_evaluate_instrument_probe_end_to_end(phantom, tmp_path):
    feats, sel = _inputs(phantom, tmp_path)
    out = tmp_path / "ev"
    res = CliRunner().invoke(cli, ["evaluate", str(phantom), "--selection", str(sel), "--instrument", "probe",
                                   "--features", str(feats), "--out", str(out), "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "motion: selection (6 videos)" in res.output and "pixels: whole TRAIN pool" in res.output
    result = json.loads((out / "evaluation.json").read_text())
    assert result["instrument"] == "probe" and result["weights"] == "class-prior" and result["n_train"] == 6
    for rep, dim in (("motion", 16), ("pixels", 768)):
        row = result["representations"][rep]
        assert row["dim"] == dim
        for which in ("selection", "whole_pool"):
            assert {"mae", "r2", "r", "acc", "bal_acc", "alpha"} <= set(row[which])
            assert row[which]["n"] == result["n_test"]
    assert set(result["references"]) == {"mean_ef", "majority_class"}
    assert (tmp_path / "motion.pixels.npz").is_file() and "| Mean EF" in (out / "evaluation.md").read_text()
    again = ["evaluate", str(phantom), "--selection", str(sel), "--instrument", "probe", "--features", str(feats),
             "--out", str(out), "--no-weights"]
    res = CliRunner().invoke(cli, again)      # the first run's results are there: not replaced silently
    assert res.exit_code != 0 and "evaluation.json: exists; pass --overwrite" in str(res.exception)
    res = CliRunner().invoke(cli, again + ["--overwrite"])
    assert res.exit_code == 0, res.output
    unweighted = json.loads((out / "evaluation.json").read_text())
    assert unweighted["weights"].startswith("off") and unweighted["pixels"]["computed"] == 0
    assert unweighted["representations"]["pixels"]["whole_pool"] == result["representations"]["pixels"]["whole_pool"]


def test_instrument_errors(phantom, tmp_path):
    feats, sel = _inputs(phantom, tmp_path)
    res = CliRunner().invoke(cli, ["evaluate", str(phantom), "--selection", str(sel), "--instrument", "svm"])
    assert res.exit_code == 2 and "Invalid value for '--instrument'" in res.output
    res = CliRunner().invoke(cli, ["evaluate", str(phantom), "--selection", str(sel), "--instrument", "probe"])
    assert isinstance(res.exception, ConfigError) and "needs --features" in str(res.exception)
    res = CliRunner().invoke(cli, ["evaluate", str(phantom), "--selection", str(sel), "--features", str(feats)])
    assert isinstance(res.exception, ConfigError) and "--instrument probe only" in str(res.exception)
