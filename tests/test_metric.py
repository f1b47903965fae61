"""The selection metric (metric.py): transforms, the feature layout's parts, and the select hooks."""

import csv

import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.errors import ConfigError
from infomotion_rt.extract.featureset import make_feature_set, make_meta
from infomotion_rt.extract.files import write_features
from infomotion_rt.selection import methods as sel, metric
from infomotion_rt.selection.graph import GraphConfig


def motion_like(n=120, d=32, seed=0):
    """Vectors with a few loud EF-free dimensions and a quiet EF-linear one; EF spans all classes."""
    rng = np.random.default_rng(seed)
    ef = rng.uniform(15, 85, n)
    x = rng.normal(size=(n, d)) * np.linspace(0.2, 6.0, d)
    x[:, 0] = (ef - 50) / 30 + 0.05 * rng.normal(size=n)
    return x.astype(np.float32), ef


ALL = [metric.MetricConfig(name, dims) for name, dims in
       (("raw", None), ("standard", None), ("pca", 4), ("pca-whiten", 4), ("pls", 3))]


@pytest.mark.parametrize("cfg", ALL, ids=lambda c: c.describe())
def test_transform_is_deterministic_float32_of_the_right_shape(cfg):
    x, ef = motion_like()
    a, b = metric.transform(x, cfg, ef), metric.transform(x.copy(), cfg, ef.copy())
    assert a.dtype == np.float32 and a.flags.c_contiguous
    assert a.shape == (len(x), cfg.dims if cfg.dims else x.shape[1])
    assert np.array_equal(a, b)


def test_standard_and_whitening_give_unit_variance():
    x, ef = motion_like()
    z = metric.transform(x, metric.MetricConfig("standard"))
    assert np.allclose(z.mean(0), 0, atol=1e-5) and np.allclose(z.std(0), 1, atol=1e-4)
    w = metric.transform(x, metric.MetricConfig("pca-whiten", 5))
    assert np.allclose(np.cov(w.T, ddof=0), np.eye(5), atol=1e-3)   # decorrelated, unit variance (as z)
    p = metric.transform(x, metric.MetricConfig("pca", 5))
    assert np.all(np.diff(p.var(0)) <= 1e-6)                          # components in variance order


def test_pls_finds_the_quiet_ef_direction_that_pca_misses():
    x, ef = motion_like()
    pls = metric.transform(x, metric.MetricConfig("pls", 1), ef)[:, 0]
    pca = metric.transform(x, metric.MetricConfig("pca", 1))[:, 0]
    assert abs(np.corrcoef(pls, ef)[0, 1]) > 0.9 > abs(np.corrcoef(pca, ef)[0, 1])


def test_a_constant_dimension_stays_finite():
    x, ef = motion_like()
    x[:, 3] = 7.0
    for cfg in ALL:
        assert np.isfinite(metric.transform(x, cfg, ef)).all()


def test_parts_follow_the_encoder_layout():
    # D=16: 8 blocks of 2 channels, block = (pair*2 + direction)*2 + scale
    assert metric.part_columns(16, "scale8").tolist() == [0, 1, 4, 5, 8, 9, 12, 13]
    assert metric.part_columns(16, "scale16").tolist() == [2, 3, 6, 7, 10, 11, 14, 15]
    assert metric.part_columns(16, "pair2").tolist() == list(range(8, 16))
    assert metric.part_columns(16, "forward").tolist() == [0, 1, 2, 3, 8, 9, 10, 11]
    with pytest.raises(ConfigError, match="multiple of 8"):
        metric.part_columns(12, "pair1")


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="unknown --metric"):
        metric.MetricConfig("cosine")
    with pytest.raises(ConfigError, match="metric-dims"):
        metric.MetricConfig("pca", 0)
    x, ef = motion_like(d=8)
    with pytest.raises(ConfigError, match="below the 8"):
        metric.transform(x, metric.MetricConfig("pca", 8))
    with pytest.raises(ConfigError, match="needs every candidate's EF"):
        metric.transform(x, metric.MetricConfig("pls", 2))


def feature_set(n=150, seed=1):
    x, ef = motion_like(n, seed=seed)
    return make_feature_set([f"v{i:03d}" for i in range(n)], x, ef, ["TRAIN"] * n, make_meta("test"))


def test_paper_literal_keeps_the_raw_vectors():
    fs = feature_set()
    cfg = sel.SelectConfig(vpc=3, graph=GraphConfig(paper_literal=True))
    assert cfg.resolved_metric() == metric.RAW
    a = sel.select_features(fs, cfg)
    b = sel.select_features(fs, sel.SelectConfig(vpc=3, graph=GraphConfig(paper_literal=True), metric=metric.RAW))
    assert repr(a.rows) == repr(b.rows) and a.metric == "raw"
    for _, (pick, sub) in a.picks.items():   # the methods saw the file's vectors, untouched
        assert np.array_equal(sub.features, fs.features[np.isin(fs.names, sub.names)])


def test_the_metric_reaches_the_methods():
    fs = feature_set()
    res = sel.select_features(fs, sel.SelectConfig(vpc=3, method="kmeans", metric=metric.MetricConfig("pca", 4)))
    assert res.metric == "pca-4"
    assert all(sub.features.shape[1] == 4 for _, (pick, sub) in res.picks.items())


@pytest.mark.parametrize("args", [["--metric", "pca-whiten", "--metric-dims", "4"], ["--metric-parts", "pair1"],
                                  ["--paper-literal"]])
def test_cli_select_metric(tmp_path, args):
    feats = write_features(tmp_path / "f.npz", feature_set())
    out = tmp_path / "sel.csv"
    r = CliRunner().invoke(cli, ["select", "--features", str(feats), "--vpc", "2", "--out", str(out), *args])
    assert r.exit_code == 0, r.output
    assert "metric: " in r.output
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 10
    if args == ["--paper-literal"]:
        assert "metric: raw" in r.output


def test_default_is_pls_and_adapts_to_small_vectors():
    fs = feature_set()
    res = sel.select_features(fs, sel.SelectConfig(vpc=3))
    assert sel.SelectConfig().resolved_metric().name == "pls" and res.metric == "pls-16"
    small = make_feature_set(fs.names, fs.features[:, :6], fs.ef, fs.split, fs.meta)
    assert sel.select_features(small, sel.SelectConfig(vpc=3)).metric == "pls-5"


def test_pls_with_one_ef_value_falls_back_to_standardisation():
    x, _ = motion_like()
    fit = metric.fit_metric(x, metric.MetricConfig("pls", 4), np.full(len(x), 55.0))
    assert "every EF equal" in fit.describe()
    assert np.allclose(fit.apply(x), metric.transform(x, metric.MetricConfig("standard")), atol=1e-5)


def test_chunked_fit_matches_one_block(monkeypatch):
    x, ef = motion_like(n=300)
    whole = metric.transform(x, metric.MetricConfig("pls", 4), ef)
    monkeypatch.setattr(metric, "_CHUNK", 64)
    assert np.allclose(metric.transform(x, metric.MetricConfig("pls", 4), ef), whole, atol=1e-4)
