"""The compiled core against plain-Python references, and its boundary checks."""

import numpy as np
import pytest

from infomotion_rt.selection.graph import core

nx = pytest.importorskip("networkx")


def ref_knn_graph(idx, dist, mode, scale_k):
    """Straight transcription of the documented rule (Gaussian weights)."""
    n, k = idx.shape
    seen, sigma, pos = {}, np.zeros(n), []
    for i in range(n):
        valid = [(int(j), float(d)) for j, d in zip(idx[i], dist[i]) if j >= 0 and j != i]
        pos += [d for _, d in valid if d > 0]
        sigma[i] = valid[min(scale_k, len(valid)) - 1][1] if valid else 0.0
        for j, d in valid:
            key = (min(i, j), max(i, j))
            sides, dmin = seen.get(key, (set(), np.inf))
            seen[key] = (sides | {i < j}, min(dmin, d))
    eps = 1e-3 * np.mean(pos) if pos else 1.0
    sigma = np.maximum(sigma, eps)
    out = []
    for (u, v), (sides, d) in sorted(seen.items()):
        if mode == "union" or len(sides) == 2:
            out.append((u, v, max(np.exp(-d * d / (sigma[u] * sigma[v])), 1e-12)))
    return np.array(out).reshape(-1, 3)


def ref_modular(n, edges, comm):
    local, glob = nx.Graph(), nx.Graph()
    local.add_nodes_from(range(n))
    glob.add_nodes_from(range(n))
    w_in, w_out = {}, {}
    for u, v, w in edges:
        u, v = int(u), int(v)
        if comm[u] == comm[v]:
            local.add_edge(u, v, weight=w)
            w_in[comm[u]] = w_in.get(comm[u], 0) + w
        else:
            glob.add_edge(u, v, weight=w)
            w_out[comm[u]] = w_out.get(comm[u], 0) + w
            w_out[comm[v]] = w_out.get(comm[v], 0) + w
    alpha = np.array([1.0 if w_in.get(c, 0) + w_out.get(c, 0) == 0 else
                      w_in.get(c, 0) / (w_in.get(c, 0) + w_out.get(c, 0)) for c in comm])
    ld = np.array([local.degree(i, weight="weight") for i in range(n)], float)
    gd = np.array([glob.degree(i, weight="weight") for i in range(n)], float)
    pr = lambda g: np.array([v for _, v in sorted(nx.pagerank(g, alpha=0.85, tol=1e-14, max_iter=100000).items())])
    lp, gp = pr(local), pr(glob)
    norm = lambda a: a / a.max() if a.max() > 0 else a
    mc = lambda a, b: alpha * norm(a) + (1 - alpha) * norm(b)
    return dict(alpha=alpha, local_degree=ld, global_degree=gd, local_pagerank=lp, global_pagerank=gp,
                degree=mc(ld, gd), pagerank=mc(lp, gp))


def random_graph(rng, n=40, n_comm=4, p=0.15):
    comm = rng.integers(0, n_comm, n).astype(np.int64)
    comm[-1] = n_comm  # an isolated node in its own community
    edges = [(u, v, rng.uniform(0.1, 2.0)) for u in range(n - 1) for v in range(u + 1, n - 1)
             if rng.random() < (p * 3 if comm[u] == comm[v] else p / 3)]
    return n, np.array(edges, float), comm


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_modular_centrality_equals_networkx_reference(seed):
    n, edges, comm = random_graph(np.random.default_rng(seed))
    got = core().modular_centrality(n, edges, comm)
    want = ref_modular(n, edges, comm)
    for key, value in want.items():
        np.testing.assert_allclose(got[key], value, atol=1e-9, err_msg=key)


def test_modular_centrality_community_without_inter_links_is_purely_local():
    edges = np.array([[0, 1, 1.0], [1, 2, 1.0], [3, 4, 2.0], [4, 5, 1.0], [2, 3, 0.5]])
    comm = np.array([0, 0, 0, 1, 1, 1, 2], np.int64)
    got = core().modular_centrality(7, edges[:4], comm)  # no link between communities
    np.testing.assert_allclose(got["alpha"], 1.0)
    np.testing.assert_allclose(got["degree"], got["local_degree"] / got["local_degree"].max())
    got = core().modular_centrality(7, edges, comm)
    np.testing.assert_allclose(got["alpha"][:3], 2.0 / 2.5)


@pytest.mark.parametrize("mode", ["union", "mutual"])
def test_knn_graph_equals_reference(mode):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 4))
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    idx = np.argsort(d, axis=1, kind="stable")[:, :6]  # includes self at column 0
    dist = np.take_along_axis(d, idx, 1)
    got = core().knn_graph(idx.astype(np.int64), dist, mode, "gaussian", 3)
    want = ref_knn_graph(idx, dist, mode, 3)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert (got[:, 0] < got[:, 1]).all()  # one edge per pair, no self-loops
    assert len(np.unique(got[:, :2], axis=0)) == len(got)


def test_knn_graph_weightings_and_missing_neighbours():
    idx = np.array([[1, -1], [0, 2], [1, 0]], np.int64)
    dist = np.array([[2.0, 0.0], [2.0, 1.0], [1.0, 3.0]])
    inv = core().knn_graph(idx, dist, "union", "inverse", 1)
    eps = 1e-3 * np.mean([2, 2, 1, 1, 3])
    np.testing.assert_allclose(inv, [[0, 1, 1 / (2 + eps)], [0, 2, 1 / (3 + eps)], [1, 2, 1 / (1 + eps)]])
    lit = core().knn_graph(idx, dist, "mutual", "distance", 1)
    np.testing.assert_allclose(lit, [[0, 1, 2.0], [1, 2, 1.0]])


def test_duplicates_get_full_weight():
    idx = np.array([[1], [0]], np.int64)
    got = core().knn_graph(idx, np.zeros((2, 1)), "union", "gaussian", 1)
    np.testing.assert_allclose(got, [[0, 1, 1.0]])


def test_select_spread_round_robin():
    comm = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 3], np.int64)
    score = np.array([0.1, 0.9, 0.5, 0.3, 0.2, 0.8, 0.8, 0.7, 0.1, 0.0])
    got = core().select_spread(comm, score, 6).tolist()
    # largest first (0: 4 nodes, 1: 3, 2: 2, 3: 1); best first; tie 5/6 broken by index.
    assert got == [1, 5, 7, 9, 2, 6]
    assert core().select_spread(comm, score, 50).tolist()[:4] == [1, 5, 7, 9]
    assert len(core().select_spread(comm, score, 50)) == 10
    assert core().select_spread(comm, score, 0).tolist() == []


@pytest.mark.parametrize("call, message", [
    (lambda c: c.knn_graph(np.zeros((2, 1), np.int32), np.zeros((2, 1))), "dtype"),
    (lambda c: c.knn_graph(np.zeros((2, 1), np.int64), np.zeros((2, 2))), "same shape"),
    (lambda c: c.knn_graph(np.zeros(2, np.int64), np.zeros(2)), "2-D"),
    (lambda c: c.knn_graph(np.array([[5], [0]]), np.ones((2, 1))), "out of range"),
    (lambda c: c.knn_graph(np.array([[1], [0]]), np.array([[np.nan], [1.0]])), "NaN"),
    (lambda c: c.knn_graph(np.array([[1], [0]]), np.array([[-1.0], [1.0]])), "negative"),
    (lambda c: c.knn_graph(np.array([[1], [0]]), np.ones((2, 1)), "both"), "mode"),
    (lambda c: c.knn_graph([[1], [0]], np.ones((2, 1))), "numpy array"),
    (lambda c: c.modular_centrality(2, np.array([[0, 1, -1.0]]), np.zeros(2, np.int64)), "negative weight"),
    (lambda c: c.modular_centrality(2, np.array([[0, 1, np.nan]]), np.zeros(2, np.int64)), "NaN"),
    (lambda c: c.modular_centrality(2, np.array([[0, 7, 1.0]]), np.zeros(2, np.int64)), "out of range"),
    (lambda c: c.modular_centrality(2, np.array([[0, 0, 1.0]]), np.zeros(2, np.int64)), "self-loop"),
    (lambda c: c.modular_centrality(2, np.array([[0.0, 1.0]]), np.zeros(2, np.int64)), "(E, 3)"),
    (lambda c: c.modular_centrality(3, np.array([[0, 1, 1.0]]), np.zeros(2, np.int64)), "length"),
    (lambda c: c.modular_centrality(2, np.array([[0, 1, 1.0]], np.float32), np.zeros(2, np.int64)), "dtype"),
    (lambda c: c.select_spread(np.zeros(2, np.int64), np.array([np.nan, 1.0]), 1), "NaN"),
    (lambda c: c.select_spread(np.zeros(2, np.int64), np.ones(3), 1), "same length"),
    (lambda c: c.select_spread(np.zeros(2, np.int64), np.ones(2), -1), "vpc"),
])
def test_boundary_errors_are_value_errors(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(core())
