"""Per-class kNN search that scales: exact FAISS while a class is small, an approximate FAISS index
above a size threshold, and the recall of every approximate search estimated against exact search.

Why IVF-Flat by default (ours, measured in BENCHMARKS.md, "select at scale"): on planted-cluster data
(256-D, ~100 vectors per cluster) IVF-Flat reached recall@10 >= 0.99 at nprobe 1-2 with a training
cost of seconds, while HNSW (M 16-32, efConstruction 40) needed efSearch 64 for 0.98 and took 2-4x
longer to build. HNSW stays selectable (``ann="hnsw"``). The search parameter (IVF nprobe, HNSW
efSearch) is not fixed: it is raised along a ladder until a tuning sample of queries reaches
``target_recall``; the recall printed is then measured on a second, independent sample.

Memory: the vectors (plus the index's own copy for approximate search; exact search runs on the
caller's array without a copy), the (n, k) neighbour lists and sample-sized ground truth -- never an
n x n matrix.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from infomotion_rt import console
from infomotion_rt.errors import ConfigError, DependencyError

try:  # imported before infomap anywhere in the package (see graph.py's note on SWIG)
    import faiss as _faiss_module
except ImportError:
    _faiss_module = None

INDEXES = ("auto", "exact", "ivf", "hnsw")
ANN_KINDS = ("ivf", "hnsw")
CHUNK = 16384          # queries per search call: bounds the temporary result arrays
TUNE_QUERIES = 500     # queries that choose nprobe / efSearch (a separate sample from the reported one)


@dataclass(frozen=True)
class KnnConfig:
    """How one class's kNN lists are searched (defaults are ours; see the module docstring).

    ``index``: ``auto`` = exact below ``ann_threshold`` vectors, ``ann`` at or above it; ``exact``
    forces exact search at any size (``select --exact-knn``); ``ivf`` / ``hnsw`` force that index.
    ``pca``: reduce to this many dimensions with FAISS's PCAMatrix before searching (the graph's
    distances are then the reduced-space distances); a class of at most ``pca`` vectors is searched
    unreduced (PCA needs more vectors than output dimensions; exact search of so few is cheap), and its
    info says so (``pca_skipped``). ``threads``: FAISS's OpenMP threads (None:
    every core this process may use).
    """

    index: str = "auto"
    ann: str = "ivf"
    ann_threshold: int = 20_000
    target_recall: float = 0.95
    recall_queries: int = 1000
    pca: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.index not in INDEXES:
            raise ConfigError(f"kNN index must be one of {INDEXES}, got {self.index!r}")
        if self.ann not in ANN_KINDS:
            raise ConfigError(f"approximate index must be one of {ANN_KINDS}, got {self.ann!r}")
        if self.ann_threshold < 2:
            raise ConfigError(f"--ann-threshold must be >= 2, got {self.ann_threshold}")
        if not 0.0 < self.target_recall <= 1.0:
            raise ConfigError(f"target recall must be in (0, 1], got {self.target_recall}")
        if self.recall_queries < 1:
            raise ConfigError(f"recall queries must be >= 1, got {self.recall_queries}")
        if self.pca is not None and self.pca < 1:
            raise ConfigError(f"--knn-pca must be >= 1, got {self.pca}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {self.threads}")


@dataclass
class KnnResult:
    """idx int64 (n, k'), dist float64 (n, k') Euclidean, self excluded, -1 / inf where an approximate
    index found fewer than k' neighbours; ``info`` says how they were found and how well."""

    idx: np.ndarray
    dist: np.ndarray
    info: dict = field(default_factory=dict)


def faiss():
    if _faiss_module is None:
        raise DependencyError("faiss is not installed; pip install faiss-cpu")
    return _faiss_module


def faiss_has_gpu() -> bool:
    f = faiss()
    return hasattr(f, "StandardGpuResources") and getattr(f, "get_num_gpus", lambda: 0)() > 0


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def set_threads(threads: int | None) -> int:
    """Set FAISS's OpenMP thread count (None: the cores this process may use); returns it."""
    t = threads or available_cores()
    faiss().omp_set_num_threads(int(t))
    return int(t)


def _drop_self(rows: np.ndarray, idx: np.ndarray, sq: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove each query's own row from its k'+1 results: by index, not position (duplicates need
    not come first); where it is absent, the farthest entry goes instead. Squared distances from
    |x|^2+|y|^2-2xy can dip below 0: clamped before the square root; FAISS's missing results (-1)
    get distance inf."""
    self_mask = idx == rows[:, None]
    self_mask[~self_mask.any(axis=1), -1] = True
    keep = ~self_mask
    m = len(rows)
    out_idx = idx[keep].reshape(m, kk).astype(np.int64)
    d = np.sqrt(np.maximum(sq[keep].reshape(m, kk).astype(np.float64), 0.0))
    d[out_idx < 0] = np.inf
    return out_idx, d


def recall_at_k(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean over rows of |approx_i ∩ exact_i| / |exact_i| (int64 (m, k) lists, -1 = none)."""
    if exact.size == 0:
        return 1.0
    hit = ((approx[:, :, None] == exact[:, None, :]) & (exact[:, None, :] >= 0)).any(1)
    valid = (exact >= 0).sum(1)
    return float(np.mean(hit.sum(1) / np.maximum(valid, 1)))


def _chunks(n: int, desc: str):
    return console.bar(range(0, n, CHUNK), desc=desc, unit="chunk", progress=n > 4 * CHUNK, inner=True)


def check_pca_dim(dim: int, d: int, what: str = "the vectors' dimension") -> None:
    """ConfigError in one line unless 1 <= dim < d; ``what`` names d (``select``: the metric's output)."""
    if not 1 <= dim < d:
        raise ConfigError(f"--knn-pca {dim} must be between 1 and {what} {d} (exclusive)")


def pca_reduce(x: np.ndarray, dim: int, seed: int = 0, train_max: int = 200_000) -> np.ndarray:
    """(n, d) float32 -> (n, dim) float32 through faiss.PCAMatrix trained on at most ``train_max``
    seeded random rows. Raises ConfigError unless 1 <= dim < d and n > dim (PCA needs more vectors than
    output dimensions)."""
    n, d = x.shape
    check_pca_dim(dim, d)
    if n <= dim:
        raise ConfigError(f"--knn-pca {dim}: PCA needs more than {dim} vectors, got {n}")
    pca = faiss().PCAMatrix(d, dim)
    rows = np.sort(np.random.default_rng(seed).choice(n, min(n, train_max), replace=False))
    pca.train(np.ascontiguousarray(x[rows]))
    out = np.empty((n, dim), np.float32)
    for s in range(0, n, CHUNK):
        out[s:s + CHUNK] = pca.apply(np.ascontiguousarray(x[s:s + CHUNK]))
    return out


def exact_knn(x: np.ndarray, k: int, use_gpu: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean kNN within ``x`` (n, d) float32: idx int64 (n, k'), dist float64 (n, k'),
    k' = min(k, n-1), self excluded. CPU: faiss.knn on the caller's array (no index copy)."""
    f = faiss()
    n = len(x)
    kk = min(k, n - 1)
    idx = np.empty((n, max(kk, 0)), np.int64)
    dist = np.empty((n, max(kk, 0)), np.float64)
    if kk < 1:
        return idx, dist
    index = None
    if use_gpu:  # unverified: no GPU on our machines
        index = f.index_cpu_to_gpu(f.StandardGpuResources(), 0, f.IndexFlatL2(x.shape[1]))
        index.add(x)
    for s in _chunks(n, "exact kNN"):
        q = x[s:s + CHUNK]
        sq, i = index.search(q, kk + 1) if index is not None else f.knn(q, x, kk + 1)
        idx[s:s + len(q)], dist[s:s + len(q)] = _drop_self(np.arange(s, s + len(q)), i, sq, kk)
    return idx, dist


LIST_SIZE_MAX = 400    # vectors per IVF list at most (ours, measured: see _ivf_nlist)


def _ivf_nlist(n: int) -> int:
    # ~sqrt(n) lists, but lists of at most ~400 vectors (ours, measured on planted clusters,
    # 256-D): at 100k, sqrt(n) lists reached recall 0.99 at nprobe 1, while 3 sqrt(n) needed
    # nprobe 2 for the same scan length and 9x the k-means training (40 points per list, cost
    # ~ nlist^2); at 650k, sqrt(n) lists (806 vectors each) gave 0.921 at nprobe 1 and needed
    # nprobe 2 (0.966), while 1,612 lists (403 each) gave 0.983 at nprobe 1 -- a quarter of the scan.
    nlist = max(round(math.sqrt(n)), math.ceil(n / LIST_SIZE_MAX))
    return int(min(max(nlist, 1), max(n // 40, 1)))


def _list_order(index) -> np.ndarray:
    """Row ids in inverted-list order: queries searched in this order scan the same lists one
    after another, which stay in cache (3.7x faster at nprobe 1 on 100k x 256, memory-bound here)."""
    f = faiss()
    inv = f.extract_index_ivf(index).invlists
    parts = [f.rev_swig_ptr(inv.get_ids(l), inv.list_size(l)).copy() for l in range(inv.nlist)
             if inv.list_size(l) > 0]
    return np.concatenate(parts).astype(np.int64)


def _build(x: np.ndarray, kind: str, rng: np.random.Generator, use_gpu: bool):
    f = faiss()
    n, d = x.shape
    if kind == "hnsw":
        index = f.IndexHNSWFlat(d, 32)
        index.hnsw.efConstruction = 40
        for s in _chunks(n, "HNSW build"):
            index.add(np.ascontiguousarray(x[s:s + CHUNK]))
        return index, {"M": 32, "efConstruction": 40}, [16, 32, 64, 128, 256, 512, 1024]
    nlist = _ivf_nlist(n)
    index = f.IndexIVFFlat(f.IndexFlatL2(d), d, nlist)
    index.cp.niter = 10
    index.cp.seed = int(rng.integers(2**31 - 1))
    train = np.sort(rng.choice(n, min(n, 40 * nlist), replace=False))
    index.train(np.ascontiguousarray(x[train]))
    for s in _chunks(n, "IVF add"):
        index.add(np.ascontiguousarray(x[s:s + CHUNK]))
    if use_gpu:  # unverified: no GPU on our machines
        index = f.index_cpu_to_gpu(f.StandardGpuResources(), 0, index)
    ladder = [p for p in (1, 2, 4, 8, 16, 32, 64, 128, 256) if p < nlist] + [nlist]
    return index, {"nlist": nlist}, ladder


def _set_search_param(index, kind: str, value: int) -> None:
    if kind == "hnsw":
        index.hnsw.efSearch = int(value)
    elif hasattr(index, "nprobe"):
        index.nprobe = int(value)
    else:  # a GPU index
        faiss().GpuParameterSpace().set_index_parameter(index, "nprobe", int(value))


def knn_search(x: np.ndarray, k: int, cfg: KnnConfig = KnnConfig(), use_gpu: bool | None = None,
               seed: int = 0) -> KnnResult:
    """kNN lists within one class's vectors ``x`` (n, d), exact or approximate per ``cfg``.

    Approximate searches report ``info["recall"]``: recall@k' of the returned lists against exact
    search on ``cfg.recall_queries`` seeded random queries (exact search is recall 1 by definition).
    Raises DependencyError when a GPU is requested and faiss has none.
    """
    t0 = time.perf_counter()
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = len(x)
    if use_gpu is None:
        use_gpu = faiss_has_gpu()
    elif use_gpu and not faiss_has_gpu():
        raise DependencyError("GPU kNN requested but the installed faiss has no GPU support or sees no GPU")
    threads = set_threads(cfg.threads)
    rng = np.random.default_rng([seed, n])
    info = {"n": n, "dim": int(x.shape[1]) if x.ndim == 2 else 0, "pca": None, "threads": threads,
            "device": "gpu" if use_gpu else "cpu"}
    if cfg.pca is not None and n > 0:
        check_pca_dim(cfg.pca, x.shape[1])
        if n > cfg.pca:
            x = pca_reduce(x, cfg.pca, seed)
            info["pca"] = cfg.pca
        else:  # too few vectors for the PCA; searched unreduced (exact search of so few is cheap)
            info["pca_skipped"] = cfg.pca
    kk = min(k, n - 1)
    kind = cfg.index if cfg.index != "auto" else ("exact" if n < cfg.ann_threshold else cfg.ann)
    if kk < 1 or kind == "exact" or kk + 1 >= n:
        idx, dist = exact_knn(x, k, use_gpu)
        info.update(index="exact", params={}, k=max(kk, 0), recall=1.0, recall_queries=0, seconds=time.perf_counter() - t0)
        return KnnResult(idx, dist, info)
    if kind == "hnsw" and use_gpu:
        use_gpu = False
        info["device"] = "cpu (FAISS has no GPU HNSW)"
    index, params, ladder = _build(x, kind, rng, use_gpu)
    # Ground truth for two independent samples: one tunes the search parameter, one is reported.
    tune = np.sort(rng.choice(n, min(TUNE_QUERIES, n), replace=False))
    report = np.sort(rng.choice(n, min(cfg.recall_queries, n), replace=False))
    both = np.union1d(tune, report)
    sq, i = faiss().knn(x[both], x, kk + 1)
    truth, _ = _drop_self(both, i, sq, kk)
    pos = {int(r): j for j, r in enumerate(both)}
    param_name = "efSearch" if kind == "hnsw" else "nprobe"
    tried = []
    for value in ladder:
        _set_search_param(index, kind, value)
        sq, i = index.search(x[tune], kk + 1)
        got, _ = _drop_self(tune, i, sq, kk)
        r = recall_at_k(got, truth[[pos[int(t)] for t in tune]])
        tried.append((value, round(r, 4)))
        if r >= cfg.target_recall:
            break
    params[param_name] = value
    idx = np.empty((n, kk), np.int64)
    dist = np.empty((n, kk), np.float64)
    order = _list_order(index) if kind == "ivf" and not use_gpu else np.arange(n)
    for s in _chunks(n, f"{kind} kNN"):
        rows = order[s:s + CHUNK]
        sq, i = index.search(np.ascontiguousarray(x[rows]), kk + 1)
        idx[rows], dist[rows] = _drop_self(rows, i, sq, kk)
    del index, order
    recall = recall_at_k(idx[report], truth[[pos[int(r)] for r in report]])
    info.update(index=kind, params=params, k=kk, recall=recall, recall_queries=len(report),
                tuning=tried, target_recall=cfg.target_recall, seconds=time.perf_counter() - t0)
    return KnnResult(idx, dist, info)


def describe(info: dict) -> str:
    """One line: index, parameters, recall (e.g. 'kNN ivf(nlist=1588, nprobe=2) recall@10=0.991 on 1000 queries')."""
    params = ", ".join(f"{k}={v}" for k, v in info.get("params", {}).items())
    head = f"kNN {info.get('index', '?')}" + (f"({params})" if params else "")
    if info.get("pca"):
        head += f" on PCA-{info['pca']}"
    elif info.get("pca_skipped"):
        head += f" without PCA ({info['n']} vectors, too few for --knn-pca {info['pca_skipped']})"
    if info.get("index") == "exact":
        return head + " recall=1 (exact)"
    return head + f" recall@{info['k']}={info['recall']:.3f} on {info['recall_queries']} queries"
