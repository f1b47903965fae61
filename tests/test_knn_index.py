"""kNN that scales: approximate index above a threshold with its recall estimated, exact on demand,
PCA before the index, and the Infomap trial rule. Small planted sets, thresholds lowered by config."""

import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.errors import ConfigError
from infomotion_rt.selection import graph, knn_index
from infomotion_rt.selection.knn_index import KnnConfig, knn_search


def planted(n_clusters=30, per=60, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim)) * 3
    labels = rng.integers(0, n_clusters, n_clusters * per)
    return (centres[labels] + rng.normal(size=(len(labels), dim))).astype(np.float32), labels


def test_recall_at_k_counts_shared_neighbours():
    exact = np.array([[1, 2, 3], [0, 2, 3]])
    assert knn_index.recall_at_k(exact, exact) == 1.0
    approx = np.array([[3, 2, 9], [-1, -1, -1]])
    assert knn_index.recall_at_k(approx, exact) == pytest.approx((2 / 3 + 0) / 2)


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_index_above_threshold_with_recall_estimate(kind):
    x, _ = planted()
    n = len(x)
    res = knn_search(x, 10, KnnConfig(ann=kind, ann_threshold=1000, recall_queries=300), seed=1)
    info = res.info
    assert info["index"] == kind and info["recall_queries"] == 300 and info["k"] == 10
    assert ("nprobe" in info["params"]) if kind == "ivf" else ("efSearch" in info["params"])
    # The estimate is a fraction, and on well-separated clusters the tuned search reaches the target.
    assert info["target_recall"] <= info["recall"] <= 1.0
    assert info["tuning"] and info["tuning"][-1][1] >= info["target_recall"]
    assert res.idx.shape == (n, 10) and res.idx.dtype == np.int64 and res.dist.dtype == np.float64
    assert not (res.idx == np.arange(n)[:, None]).any()  # self removed
    found = res.idx >= 0
    assert found.mean() > 0.99 and np.isfinite(res.dist[found]).all() and (res.dist[found] >= 0).all()
    # The estimate matches the recall measured over every row against exact search (sampling error).
    exact, _ = graph.knn(x, 10)
    full = knn_index.recall_at_k(res.idx, exact)
    assert abs(full - info["recall"]) < 0.05, (full, info["recall"])
    assert "recall@10=" in knn_index.describe(info)


def test_exact_below_threshold_and_when_forced():
    x, _ = planted(n_clusters=10, per=40)
    below = knn_search(x, 5, KnnConfig(ann_threshold=len(x) + 1))
    forced = knn_search(x, 5, KnnConfig(index="exact", ann_threshold=2))
    ref_idx, ref_dist = graph.knn(x, 5)
    for r in (below, forced):
        assert r.info["index"] == "exact" and r.info["recall"] == 1.0
        np.testing.assert_allclose(r.dist, ref_dist, rtol=1e-5, atol=1e-5)
    assert knn_index.describe(forced.info).endswith("recall=1 (exact)")


def test_pca_reduces_before_the_index():
    x, labels = planted(n_clusters=10, per=50, dim=64)
    res = knn_search(x, 8, KnnConfig(index="exact", pca=8))
    assert res.info["pca"] == 8 and res.info["dim"] == 64
    # Distances are those of the reduced space, and the planted clusters still hold the neighbours.
    reduced = knn_index.pca_reduce(x, 8)
    assert reduced.shape == (len(x), 8) and reduced.dtype == np.float32
    i, j = 0, res.idx[0, 0]
    assert res.dist[0, 0] == pytest.approx(np.linalg.norm(reduced[i] - reduced[j]), rel=1e-4)
    assert (labels[res.idx] == labels[:, None]).mean() > 0.95
    with pytest.raises(ConfigError, match="--knn-pca 64"):
        knn_search(x, 8, KnnConfig(pca=64))


def test_infomap_trials_scale_down_with_class_size():
    assert graph.infomap_trials(10_030, 5) == 5
    assert graph.infomap_trials(20_000, 5) == 5
    assert graph.infomap_trials(50_000, 5) == 2
    assert graph.infomap_trials(630_000, 5) == 1
    assert graph.infomap_trials(300, 4, full_up_to=100) == 1
    x, _ = planted(n_clusters=8, per=50)
    cg = graph.class_graph(x, graph.GraphConfig(trials=4, trials_full_up_to=200,
                                                knn=KnnConfig(ann_threshold=100, recall_queries=100)), seed=2)
    assert cg.trials == 2 and cg.knn_info["index"] == "ivf"
    assert "Infomap trials=2" in cg.describe() and "kNN ivf(nlist=" in cg.describe()


def test_config_errors():
    for bad in (dict(index="lsh"), dict(ann="pq"), dict(ann_threshold=1), dict(target_recall=0),
                dict(recall_queries=0), dict(pca=0), dict(threads=0)):
        with pytest.raises(ConfigError):
            KnnConfig(**bad)


def test_select_cli_exact_knn_flag_and_threshold(tmp_path):
    from infomotion_rt.cli import cli
    from infomotion_rt.extract.featureset import make_feature_set
    from infomotion_rt.extract.featureset import make_meta
    from infomotion_rt.extract.files import write_features

    x, _ = planted(n_clusters=10, per=40, dim=16)
    ef = np.full(len(x), 60.0)  # one class (Normal)
    path = write_features(tmp_path / "f.npz", make_feature_set([f"v{i}" for i in range(len(x))], x, ef,
                                                               ["TRAIN"] * len(x), make_meta("test")))
    base = ["select", "--features", str(path), "--vpc", "3", "--ann-threshold", "100", "--threads", "1"]
    approx = CliRunner().invoke(cli, base + ["--out", str(tmp_path / "a.csv")])
    assert approx.exit_code == 0, approx.output
    assert "kNN ivf(nlist=" in approx.output and "recall@10=" in approx.output
    exact = CliRunner().invoke(cli, base + ["--exact-knn", "--knn-pca", "4", "--out", str(tmp_path / "e.csv")])
    assert exact.exit_code == 0, exact.output
    assert "kNN exact on PCA-4 recall=1 (exact)" in exact.output


def test_knn_pca_skips_a_class_with_too_few_vectors():
    # PCA needs more vectors than output dimensions: FAISS used to end in a RuntimeError traceback
    x, _ = planted(n_clusters=2, per=3, dim=16)
    res = knn_search(x, 3, KnnConfig(pca=8))
    assert res.info["pca"] is None and res.info["pca_skipped"] == 8 and res.idx.shape == (6, 3)
    assert "without PCA (6 vectors, too few for --knn-pca 8)" in knn_index.describe(res.info)
    with pytest.raises(ConfigError, match="more than 8 vectors, got 6"):
        knn_index.pca_reduce(x, 8)


def test_select_knn_pca_names_the_metric_dimension_and_small_classes(tmp_path):
    from infomotion_rt.cli import cli
    from infomotion_rt.extract.featureset import make_feature_set, make_meta
    from infomotion_rt.extract.files import write_features

    x = np.random.default_rng(0).normal(size=(60, 40)).astype(np.float32)
    ef = np.r_[np.full(6, 25.0), np.linspace(55, 70, 54)]   # Severe: 6 videos, fewer than 8 dimensions
    path = write_features(tmp_path / "f.npz", make_feature_set([f"v{i}" for i in range(60)], x, ef,
                                                               ["TRAIN"] * 60, make_meta("test")))
    base = ["select", "--features", str(path), "--vpc", "3", "--metric", "pca", "--metric-dims", "16"]
    ok = CliRunner().invoke(cli, base + ["--knn-pca", "8", "--out", str(tmp_path / "a.csv")])
    assert ok.exit_code == 0, ok.output
    assert "note: class Severe: 6 videos, too few for --knn-pca 8" in ok.output
    assert "kNN exact without PCA (6 vectors" in ok.output and "kNN exact on PCA-8" in ok.output
    bad = CliRunner().invoke(cli, base + ["--knn-pca", "32", "--out", str(tmp_path / "b.csv")])
    assert isinstance(bad.exception, ConfigError)   # main() prints it as one line
    assert str(bad.exception) == ("--knn-pca 32 must be between 1 and the metric's output dimension 16 (exclusive; "
                                  "metric pca-16, the features file holds 40 values)")
