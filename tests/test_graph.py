"""FAISS kNN, Infomap partition and the per-class graph pipeline."""

import numpy as np
import pytest

from infomotion_rt.errors import ConfigError
from infomotion_rt.selection import graph

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def brute_knn(x, k):
    d = np.sqrt(np.maximum(((x[:, None, :].astype(np.float64) - x[None]) ** 2).sum(-1), 0))
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(d, order, 1), d


def test_faiss_knn_equals_brute_force():
    x = np.random.default_rng(0).normal(size=(300, 24)).astype(np.float32)
    idx, dist = graph.knn(x, 8)
    bidx, bdist, _ = brute_knn(x, 8)
    assert idx.dtype == np.int64 and dist.dtype == np.float64 and idx.shape == (300, 8)
    np.testing.assert_allclose(dist, bdist, rtol=1e-4, atol=1e-4)
    assert (idx == bidx).mean() > 0.99  # only float near-ties may swap order
    assert not (idx == np.arange(300)[:, None]).any()


def test_knn_with_duplicates_drops_self_by_index():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(20, 5)).astype(np.float32)
    x = np.concatenate([base, base[:5], base[:5]])  # rows 0-4 appear three times
    idx, dist = graph.knn(x, 3)
    assert not (idx == np.arange(len(x))[:, None]).any()
    for i in range(5):
        twins = {i, 20 + i, 25 + i} - {i}
        assert twins <= set(idx[i].tolist())
        assert dist[i, 0] == 0.0 and dist[i, 1] == 0.0  # clamped, never negative / NaN
    assert (dist >= 0).all()
    # More identical copies than k+1: self may be pushed out; still never listed.
    same = np.ones((12, 3), np.float32)
    idx, dist = graph.knn(same, 4)
    assert not (idx == np.arange(12)[:, None]).any() and (dist == 0).all()


def test_knn_small_classes():
    idx, dist = graph.knn(np.zeros((1, 4), np.float32), 10)
    assert idx.shape == (1, 0)
    idx, dist = graph.knn(np.eye(3, dtype=np.float32), 10)
    assert idx.shape == (3, 2)


def planted(n_clusters=8, per=40, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim)) * 10
    labels = np.repeat(np.arange(n_clusters), per)
    return (centres[labels] + rng.normal(size=(len(labels), dim))).astype(np.float32), labels


@pytest.mark.parametrize("mode,weighting", [("union", "gaussian"), ("mutual", "gaussian"), ("union", "inverse")])
def test_planted_clusters_are_recovered(mode, weighting):
    x, labels = planted()
    cg = graph.class_graph(x, graph.GraphConfig(k=10, mode=mode, weighting=weighting), seed=3)
    ari = sklearn_metrics.adjusted_rand_score(labels, cg.partition.communities)
    assert ari > 0.9, ari
    assert cg.partition.codelength > 0
    assert set(cg.timings) == {"knn", "graph", "infomap", "centrality"}


def test_infomap_is_deterministic_for_a_seed():
    x, _ = planted(n_clusters=5, per=30)
    a = graph.class_graph(x, graph.GraphConfig(), seed=11)
    b = graph.class_graph(x, graph.GraphConfig(), seed=11)
    assert np.array_equal(a.partition.communities, b.partition.communities)
    assert np.array_equal(a.centrality, b.centrality) and np.array_equal(a.edges, b.edges)


def test_paper_literal_is_complete_graph_with_distance_weights():
    x, _ = planted(n_clusters=3, per=10)
    cg = graph.class_graph(x, graph.GraphConfig(paper_literal=True), seed=1)
    assert len(cg.edges) == 30 * 29 // 2
    _, _, d = brute_knn(x, 1)
    u, v = cg.edges[:, 0].astype(int), cg.edges[:, 1].astype(int)
    np.testing.assert_allclose(cg.edges[:, 2], d[u, v], rtol=1e-4)
    # Far pairs weigh most, so the walker cannot stay inside a cluster: one community.
    assert cg.partition.n_communities == 1


def test_single_node_and_edgeless_graphs():
    cg = graph.class_graph(np.zeros((1, 3), np.float32), graph.GraphConfig(), seed=0)
    assert cg.partition.n_communities == 1 and len(cg.edges) == 0 and len(cg.centrality) == 1
    part = graph.run_infomap(3, np.empty((0, 3)), seed=0, trials=2)
    assert part.n_communities == 3


def test_config_errors():
    with pytest.raises(ConfigError):
        graph.GraphConfig(k=0)
    with pytest.raises(ConfigError):
        graph.GraphConfig(mode="both")


def test_infomap_imported_before_faiss_does_not_crash():
    """Both are SWIG modules; infomap first used to segfault on reading results (see graph.py)."""
    import subprocess
    import sys

    code = ("import infomap, faiss, numpy as np\n"
            "from infomotion_rt.selection import graph\n"
            "x = np.random.default_rng(0).normal(size=(120, 6)).astype(np.float32)\n"
            "print(graph.class_graph(x, graph.GraphConfig(), seed=1).partition.n_communities)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-500:]
    x = np.random.default_rng(0).normal(size=(120, 6)).astype(np.float32)
    assert int(p.stdout) == graph.class_graph(x, graph.GraphConfig(), seed=1).partition.n_communities
