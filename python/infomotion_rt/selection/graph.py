"""Boundary to the compiled graph core. The only module that imports ``_core``.

Per class: FAISS kNN (exact while the class is small, approximate with measured recall above a
threshold; knn_index.py) -> C++ kNN graph (E,3) -> Infomap communities -> C++ modular centrality. Every array handed to ``_core`` is converted here to the exact dtype it checks.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace

import numpy as np

from infomotion_rt.errors import ConfigError, DependencyError, require
from infomotion_rt.selection.knn_index import KnnConfig, describe as describe_knn, exact_knn, faiss_has_gpu, knn_search

# faiss and infomap are both SWIG modules sharing one SWIG type table: when infomap is imported
# first, iterating its result vectors dispatches to faiss's iterator class and segfaults. Import
# faiss first here; if infomap was loaded before faiss, read Infomap's result from a .clu file.
try:
    import faiss as _faiss_module
except ImportError:
    _faiss_module = None

try:
    from infomotion_rt import _core
except ImportError as exc:  # a source checkout that was never built
    _core = None
    _IMPORT_ERROR = exc
else:
    _IMPORT_ERROR = None

MODES = ("union", "mutual")
WEIGHTINGS = ("gaussian", "inverse", "distance")
CENTRALITIES = ("degree", "pagerank", "flow")


def _swig_clash() -> bool:
    mods = list(sys.modules)  # insertion order = import order
    return "infomap" in mods and "faiss" in mods and mods.index("infomap") < mods.index("faiss")


def core():
    """The compiled core, or a clear error telling how to build it."""
    if _core is None:
        raise DependencyError(
            f"the native core infomotion_rt._core is not built ({_IMPORT_ERROR}); "
            "install the package with 'pip install .' so scikit-build-core compiles it"
        )
    return _core


def core_build_info() -> dict:
    """Version and compiler of the compiled core."""
    return dict(core().build_info())


@dataclass(frozen=True)
class GraphConfig:
    """How one class's graph is built and partitioned (defaults are ours, see docs/method.md).

    ``paper_literal`` replaces the kNN graph by the complete graph with Euclidean distances as
    weights, as the paper describes (O(n^2) memory; for comparison only).
    """

    k: int = 10
    mode: str = "union"
    weighting: str = "gaussian"
    scale_k: int = 7          # self-tuning sigma_i = distance to the min(scale_k, k)-th neighbour
    trials: int = 5
    centrality: str = "degree"  # modular centrality over 'degree' or 'pagerank'; 'flow' = Infomap's
    paper_literal: bool = False
    use_gpu: bool | None = None  # None: GPU when the installed faiss has one
    knn: KnnConfig = field(default_factory=KnnConfig)  # exact / approximate search, PCA, threads
    trials_full_up_to: int = 20_000  # Infomap trials scale down above this class size (infomap_trials)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k (neighbours per video) must be >= 1, got {self.k}")   # the API's and --k's name
        if self.mode not in MODES:
            raise ConfigError(f"graph mode must be one of {MODES}, got {self.mode!r}")
        if self.weighting not in WEIGHTINGS:
            raise ConfigError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        if self.centrality not in CENTRALITIES:
            raise ConfigError(f"centrality must be one of {CENTRALITIES}, got {self.centrality!r}")
        if self.trials < 1 or self.scale_k < 1:
            raise ConfigError("trials and scale_k must be >= 1")
        if self.trials_full_up_to < 1:
            raise ConfigError(f"trials_full_up_to must be >= 1, got {self.trials_full_up_to}")


def infomap_trials(n: int, trials: int, full_up_to: int = 20_000) -> int:
    """Infomap trials for a class of ``n`` nodes (ours): all ``trials`` up to ``full_up_to`` nodes,
    then trials x full_up_to / n rounded down, at least 1 -- the work of the repeated trials stays
    about that of ``trials`` runs on ``full_up_to`` nodes (e.g. 5 trials: 5 up to 20k, 2 at 50k,
    1 from 100k on). Each trial is a full Infomap run, roughly linear in the edges."""
    if n <= full_up_to:
        return trials
    return max(1, (trials * full_up_to) // n)


def _faiss():
    if _faiss_module is None:
        raise DependencyError("faiss is not installed; pip install faiss-cpu")
    return _faiss_module


def knn(x: np.ndarray, k: int, use_gpu: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean kNN within ``x`` (n, d): (indices int64 (n, k'), distances float64 (n, k')).

    k' = min(k, n - 1). FAISS returns squared distances computed as |x|^2 + |y|^2 - 2xy, which can
    dip below zero: they are clamped at 0 before the square root. The point itself is removed by
    index, not by position, since with duplicates it need not come first; when k'+1 duplicates
    push it out of the list, the farthest entry goes instead (knn_index._drop_self).
    """
    _faiss()
    if use_gpu is None:
        use_gpu = faiss_has_gpu()
    elif use_gpu and not faiss_has_gpu():
        raise DependencyError("GPU kNN requested but the installed faiss has no GPU support or sees no GPU")
    return exact_knn(np.ascontiguousarray(x, dtype=np.float32), k, use_gpu)


def build_graph(idx: np.ndarray, dist: np.ndarray, cfg: GraphConfig) -> np.ndarray:
    """Undirected weighted edges (E, 3) float64 [u, v, w], u < v, from kNN lists."""
    weighting = "distance" if cfg.paper_literal else cfg.weighting
    mode = "union" if cfg.paper_literal else cfg.mode
    return core().knn_graph(np.asarray(idx), np.asarray(dist), mode, weighting, min(cfg.scale_k, max(idx.shape[1], 1)))


@dataclass(frozen=True)
class Partition:
    communities: np.ndarray  # int64 (n,), dense labels 0..C-1 in Infomap's module order
    flow: np.ndarray         # float64 (n,), Infomap's stationary node flow
    codelength: float
    n_communities: int


def run_infomap(n: int, edges: np.ndarray, seed: int, trials: int) -> Partition:
    """Two-level undirected Infomap, fixed seed, edges fed as one (E, 3) array."""
    if n == 0:
        return Partition(np.empty(0, np.int64), np.empty(0), 0.0, 0)
    if len(edges) == 0:  # no links: every node is its own module, flow uniform
        return Partition(np.arange(n, dtype=np.int64), np.full(n, 1.0 / n), 0.0, n)
    infomap = require("infomap", what="community detection", hint="pip install infomap")
    net = infomap.Network()
    net.add_nodes(range(n))
    net.add_links(np.ascontiguousarray(edges, dtype=np.float64))
    # Infomap wants a seed >= 1: ours (any int) maps to seed mod (2^31 - 1) + 1.
    res = infomap.run(net, two_level=True, directed=False, seed=int(seed) % (2**31 - 1) + 1, num_trials=trials)
    module = np.empty(n, np.int64)
    flow = np.zeros(n)
    if _swig_clash():  # see the import note at the top; the .clu file rounds flow to 6 digits
        with tempfile.TemporaryDirectory() as tmp:
            res.write_clu(os.path.join(tmp, "p.clu"))
            clu = np.loadtxt(os.path.join(tmp, "p.clu"), comments="#", ndmin=2)
        node_ids = clu[:, 0].astype(np.int64)
        module[node_ids], flow[node_ids] = clu[:, 1].astype(np.int64), clu[:, 2]
    else:
        for node in res.nodes():
            module[node.node_id] = node.module_id
            flow[node.node_id] = node.flow
    _, communities = np.unique(module, return_inverse=True)
    communities = communities.astype(np.int64)
    return Partition(communities, flow, float(res.codelength), int(communities.max()) + 1)


def modular_centrality(n: int, edges: np.ndarray, communities: np.ndarray) -> dict:
    """Local/global parts, alpha and combined modular centrality (see csrc/centrality.cpp)."""
    return dict(core().modular_centrality(int(n), np.asarray(edges, dtype=np.float64),
                                          np.asarray(communities, dtype=np.int64)))


def select_spread(communities: np.ndarray, scores: np.ndarray, vpc: int) -> np.ndarray:
    """min(vpc, n) node indices: round-robin over communities by size, best score first."""
    return core().select_spread(np.asarray(communities, dtype=np.int64),
                                np.asarray(scores, dtype=np.float64), int(vpc))


@dataclass
class ClassGraph:
    """Everything one class's graph run produced, with per-step wall times in seconds."""

    edges: np.ndarray
    partition: Partition
    centrality: np.ndarray
    timings: dict = field(default_factory=dict)
    knn_info: dict = field(default_factory=dict)  # knn_index.knn_search's info: index, params, recall
    trials: int = 0                               # Infomap trials actually run (infomap_trials)

    def describe(self) -> str:
        """'kNN ivf(nlist=..., nprobe=...) recall@10=0.991 on 1000 queries, Infomap trials=1'."""
        return f"{describe_knn(self.knn_info)}, Infomap trials={self.trials}"


def class_graph(x: np.ndarray, cfg: GraphConfig, seed: int) -> ClassGraph:
    """kNN (or complete) graph, Infomap and centrality for one class's vectors."""
    n = len(x)
    t = {}
    t0 = time.perf_counter()
    k = n - 1 if cfg.paper_literal else cfg.k
    knn_cfg = replace(cfg.knn, index="exact") if cfg.paper_literal else cfg.knn
    found = knn_search(x, k, knn_cfg, cfg.use_gpu, seed)
    idx, dist, info = found.idx, found.dist, found.info
    del found
    t["knn"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    edges = build_graph(idx, dist, cfg) if n > 1 else np.empty((0, 3))
    del idx, dist
    t["graph"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    trials = infomap_trials(n, cfg.trials, cfg.trials_full_up_to)
    part = run_infomap(n, edges, seed, trials)
    t["infomap"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if cfg.centrality == "flow":
        score = part.flow
    else:
        score = modular_centrality(n, edges, part.communities)[cfg.centrality]
    t["centrality"] = time.perf_counter() - t0
    return ClassGraph(edges, part, np.asarray(score, dtype=np.float64), t, info, trials)
