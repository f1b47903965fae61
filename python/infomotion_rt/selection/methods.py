"""Selection of VPC videos per EF class, every method behind one registry.

A method maps one class's vectors (n, D) to a ``Pick``: the chosen rows, their community and
centrality. ``select_features`` runs a method over every class of a FeatureSet, gives every pick its
class-prior weight (``class_prior_weights``, the same for every method) and reports each defined edge
case (short class, NaN vectors, identical vectors, collapse) in one line.
"""

from __future__ import annotations

import csv
import importlib.abc
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from infomotion_rt.atomic import atomic_write_csv
from infomotion_rt.console import plural
from infomotion_rt.data.classes import DEFAULT_CLASSES, EFClasses
from infomotion_rt.data.records import strip_suffix
from infomotion_rt.errors import ConfigError, DataError, require
from infomotion_rt.extract.featureset import FeatureSet
from infomotion_rt.selection import graph
from infomotion_rt.selection.metric import RAW as RAW_METRIC, MetricConfig, fit_metric

SELECTION_COLUMNS = ("FileName", "EF", "class", "community", "centrality", "method", "seed", "Weight")
WEIGHT_COLUMN = "Weight"  # selection.csv and the exported FileList.csv (a sample weight, never body weight)


@dataclass(frozen=True)
class SelectConfig:
    vpc: int = 10
    method: str = "infomotion"
    seed: int = 0
    split: str | None = "TRAIN"   # None: all videos
    graph: graph.GraphConfig = field(default_factory=graph.GraphConfig)
    # Feature transform before the per-class methods (metric.py); None: metric.RAW for --paper-literal,
    # else the study's default (BENCHMARKS.md, "Selection metric").
    metric: MetricConfig | None = None
    # How infomotion chooses inside each community (CHOICES); None: "centrality" for --paper-literal,
    # else DEFAULT_CHOICE (BENCHMARKS.md, "InfoMotion's choice inside communities").
    choice: str | None = None

    def resolved_choice(self) -> str:
        if self.choice is not None:
            return self.choice
        return "centrality" if self.graph.paper_literal else DEFAULT_CHOICE

    def resolved_metric(self) -> MetricConfig:
        if self.metric is not None:
            return self.metric
        return RAW_METRIC if self.graph.paper_literal else MetricConfig()

    def __post_init__(self) -> None:
        if self.vpc < 1:
            raise ConfigError(f"vpc (videos per class) must be >= 1, got {self.vpc}")   # the API's and --vpc's name
        if self.method not in METHODS:
            raise ConfigError(f"unknown method {self.method!r}; choose from {', '.join(METHODS)}")
        if self.choice is not None and self.choice not in CHOICES:
            raise ConfigError(f"unknown choice {self.choice!r} (--choice); choose from {', '.join(CHOICES)}")


@dataclass
class Pick:
    """One class's selection (positions into the class's rows) and what the method learnt."""

    indices: np.ndarray
    community: np.ndarray
    centrality: np.ndarray
    n_communities: int = 0
    codelength: float = float("nan")
    class_graph: graph.ClassGraph | None = None
    timings: dict = field(default_factory=dict)


# --- methods --------------------------------------------------------------------------------

# InfoMotion's choice inside communities. Both visit the communities round robin, largest first
# (graph.select_spread, the paper's spread), and differ in which member a community gives next:
#   centrality: the highest modular centrality (the paper's rule; --paper-literal keeps it);
#   medoid: the member nearest the community's mean vector (ours, issue 16.5): the paper's picks sit near
#     the class centre (issue 16 measured 0.73 of the class's mean distance to its centroid; high-degree
#     kNN nodes tend to), the medoid represents its own community.
CHOICES = ("medoid", "centrality")
DEFAULT_CHOICE = "medoid"   # measured on development seed 21 (BENCHMARKS.md, "InfoMotion's choice inside communities")


def community_closeness(x: np.ndarray, communities: np.ndarray) -> np.ndarray:
    """1 / (1 + d_i), d_i the Euclidean distance of row i of ``x`` (n, D) to the mean of its community
    (``communities`` (n,) int64, dense labels 0..C-1); (n,) float64 in (0, 1], higher = nearer. O(n D)."""
    x = np.asarray(x, dtype=np.float64)
    comm = np.asarray(communities, dtype=np.int64)
    sizes = np.bincount(comm).astype(np.float64)
    sums = np.zeros((len(sizes), x.shape[1]))
    np.add.at(sums, comm, x)
    means = sums / np.maximum(sizes, 1.0)[:, None]
    return 1.0 / (1.0 + np.sqrt(((x - means[comm]) ** 2).sum(1)))


def _graph_pick(x, vpc, cfg: SelectConfig, centrality: str, choice: str = "centrality") -> Pick:
    cg = graph.class_graph(x, replace(cfg.graph, centrality=centrality), cfg.seed)
    score = cg.centrality if choice == "centrality" else community_closeness(x, cg.partition.communities)
    idx = graph.select_spread(cg.partition.communities, score, vpc)
    return Pick(idx, cg.partition.communities[idx], score[idx], cg.partition.n_communities,
                cg.partition.codelength, cg, dict(cg.timings))


def pick_infomotion(x, vpc, cfg, rng):
    """kNN graph + Infomap; from each community in turn (largest first) its medoid-nearest member
    (``--choice medoid``, the default; centrality column: ``community_closeness``) or its highest
    modular centrality (``--choice centrality``, the paper's rule; degree by default)."""
    c = cfg.graph.centrality
    return _graph_pick(x, vpc, cfg, "degree" if c == "flow" else c, cfg.resolved_choice())


def pick_infodist(x, vpc, cfg, rng):
    """The same graph and Infomap, ranked by Infomap's own node flow (as InfoDist did)."""
    return _graph_pick(x, vpc, cfg, "flow")


def pick_random(x, vpc, cfg, rng):
    idx = np.sort(rng.choice(len(x), size=min(vpc, len(x)), replace=False)).astype(np.int64)
    return Pick(idx, np.full(len(idx), -1), np.full(len(idx), np.nan))


def _sq_dists(x, c):
    return np.maximum((x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :], 0.0)


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 100, redo: int = 5):
    """k-means by FAISS (``faiss.Kmeans``: Lloyd iterations from random initial centroids, ``redo`` restarts,
    the lowest-inertia one kept; classes above 256·k vectors are subsampled to 256·k for training, FAISS's
    default). x (n, d), n >= k -> (centroids (k, d) float64, labels (n,) int64 of the nearest centroid).
    Deterministic for a given ``rng`` state: its next integer is FAISS's seed."""
    faiss = graph._faiss()
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    km = faiss.Kmeans(x32.shape[1], int(k), niter=int(iters), nredo=int(redo), seed=int(rng.integers(2**31 - 1)),
                      min_points_per_centroid=1, verbose=False)   # small classes are normal here: no warning
    km.train(x32)
    _, labels = km.index.search(x32, 1)
    return km.centroids.astype(np.float64), labels[:, 0].astype(np.int64)


def pick_kmeans(x, vpc, cfg, rng):
    """k = VPC clusters; from each (largest first) the unused member nearest its centroid."""
    x = x.astype(np.float64)
    m = min(vpc, len(x))
    centres, labels = kmeans(x, m, rng)
    d = np.sqrt(_sq_dists(x, centres))
    sizes = np.bincount(labels, minlength=m)
    used, idx, comm, cen = set(), [], [], []
    for j in sorted(range(m), key=lambda j: (-sizes[j], j)):
        order = np.argsort(d[:, j] + np.where(labels == j, 0.0, np.inf), kind="stable")
        order = np.concatenate([order, np.argsort(d[:, j], kind="stable")])  # empty cluster: nearest anyone
        i = next(int(i) for i in order if int(i) not in used)
        used.add(i)
        idx.append(i); comm.append(j); cen.append(1.0 / (1.0 + d[i, j]))
    return Pick(np.array(idx, np.int64), np.array(comm), np.array(cen), m)


def pick_kcenter(x, vpc, cfg, rng):
    """Greedy k-center: start at the point nearest the mean, then always the farthest point."""
    x = x.astype(np.float64)
    m = min(vpc, len(x))
    first = int(_sq_dists(x, x.mean(0, keepdims=True))[:, 0].argmin())
    idx, cen = [first], [0.0]
    mind = np.sqrt(_sq_dists(x, x[[first]])[:, 0])
    mind[first] = -1.0
    for _ in range(1, m):
        i = int(mind.argmax())  # ties: lowest index
        idx.append(i); cen.append(float(mind[i]))
        mind = np.minimum(mind, np.sqrt(_sq_dists(x, x[[i]])[:, 0]))
        mind[idx] = -1.0
    return Pick(np.array(idx, np.int64), np.full(m, -1), np.array(cen))


def pick_herding(x, vpc, cfg, rng):
    """Herding: each pick keeps the mean of the picked set closest to the class mean."""
    x = x.astype(np.float64)
    m = min(vpc, len(x))
    mu = x.mean(0)
    total = np.zeros_like(mu)
    free = np.ones(len(x), bool)
    idx, cen = [], []
    for t in range(1, m + 1):
        gap = (((total[None, :] + x) / t - mu) ** 2).sum(1)
        gap[~free] = np.inf
        i = int(gap.argmin())
        idx.append(i); cen.append(float(np.sqrt(gap[i])))
        free[i] = False
        total += x[i]
    return Pick(np.array(idx, np.int64), np.full(m, -1), np.array(cen))


# --- low-budget peers (scikit-activeml) --------------------------------------------------------
# TypiClust, ProbCover and MaxHerding, the low-budget selection methods the field compares with, from
# scikit-activeml's pool query strategies (the [peers] extra), run per EF class on the same metric-
# transformed vectors as every other method, with every video unlabelled (nothing is covered yet).

PEERS_EXTRA_HINT = "install the [peers] extra (pip install 'infomotion-rt[peers]'; [train] and [test] include it)"
# ProbCover and MaxHerding hold dense n x n float64 matrices (MaxHerding three at once: 2.4 GB at
# 10,000); TypiClust's per-cluster kNN is quadratic too. Above this a peer refuses in one line rather
# than swap; the default method (infomotion) has no such limit.
PEER_MAX_CLASS = 10_000
PEER_RADIUS_K = 10   # the radius / bandwidth: per class, the median distance to the 10th neighbour
TYPICLUST_K = 20     # typicality neighbours: Hacohen et al. 2022 use 20 (scikit-activeml's default is 5)


class _HideTorch(importlib.abc.MetaPathFinder):
    """Makes torch and skorch look absent while skactiveml is imported: it loads them, inside
    try/except ImportError, only for its deep-learning wrappers, which the peers never use, and the
    selection runtime never imports torch (docs/architecture.md, installs)."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "skorch"):
            raise ImportError(f"No module named {name!r} (hidden while skactiveml is imported)")
        return None


def _skactiveml_pool(method: str):
    """``skactiveml.pool``, or one DependencyError naming the [peers] extra."""
    hide = _HideTorch()
    sys.meta_path.insert(0, hide)
    try:
        return require("skactiveml.pool", what=f"select --method {method}", hint=PEERS_EXTRA_HINT)
    finally:
        sys.meta_path.remove(hide)


def check_peer_size(method: str, n: int, cname: str | None = None) -> None:
    """ConfigError (one line naming the limit) when a class of ``n`` videos is above ``PEER_MAX_CLASS``."""
    if n > PEER_MAX_CLASS:
        where = f"class {cname} has" if cname else "a class of"
        raise ConfigError(f"--method {method}: {where} {n:,} videos, above the {PEER_MAX_CLASS:,} per class the "
                          "scikit-activeml peers handle (dense n x n matrices); use --method infomotion, kmeans, "
                          "kcenter, herding or random")


def knn_radius(x: np.ndarray, k: int = PEER_RADIUS_K) -> float:
    """Per-class scale of the peers: the median Euclidean distance (metric units) of each vector to its
    ``k``-th nearest other vector (exact FAISS search; k capped at n - 1). x (n, d), n >= 2 -> float > 0.
    Ours: ProbCover's own radius search (the largest delta whose balls stay 0.95 pure w.r.t. k-means
    pseudo-labels) collapsed to single-point balls on these features. Where duplicates make the median
    0, the smallest positive k-th-neighbour distance; 1.0 when every vector is identical."""
    faiss = graph._faiss()
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    k = max(1, min(int(k), len(x32) - 1))
    index = faiss.IndexFlatL2(x32.shape[1])
    index.add(x32)
    d2, _ = index.search(x32, k + 1)   # the vector itself (or a duplicate) is among them: column k is the k-th other
    d = np.sqrt(np.maximum(d2[:, k].astype(np.float64), 0.0))
    r = float(np.median(d))
    if r > 0:
        return r
    return float(d[d > 0].min()) if (d > 0).any() else 1.0


def _peer_pick(x, vpc, rng, name: str, make) -> Pick:
    """Runs one scikit-activeml strategy, built by ``make(pool, x, seed)``, on a class's vectors, all
    unlabelled; the pick's centrality is the strategy's utility when it was chosen."""
    x = np.asarray(x, dtype=np.float64)
    n, m = len(x), min(vpc, len(x))
    check_peer_size(name, n)
    if m == n:   # the whole class is picked: nothing to choose (and k-means cannot make n + 1 clusters)
        return Pick(np.arange(n, dtype=np.int64), np.full(n, -1), np.full(n, np.nan))
    pool = _skactiveml_pool(name)
    seed = int(rng.integers(2**31 - 1))
    with warnings.catch_warnings():
        # duplicate vectors (fewer distinct points than clusters) are reported by select_features already
        warnings.simplefilter("ignore", category=UserWarning)
        idx, util = make(pool, x, seed).query(x, np.full(n, np.nan), batch_size=m, return_utilities=True)
    idx = np.asarray(idx, dtype=np.int64)
    cen = util[np.arange(m), idx]
    if len(np.unique(idx)) < m:
        # TypiClust re-picks a point once k-means leaves fewer non-empty clusters than picks (identical
        # vectors): keep the first picks, fill with unused rows in index order.
        keep = np.sort(np.unique(idx, return_index=True)[1])
        idx, cen = idx[keep], cen[keep]
        rest = np.setdiff1d(np.arange(n), idx)[: m - len(idx)]
        idx, cen = np.concatenate([idx, rest]), np.concatenate([cen, np.full(len(rest), np.nan)])
    return Pick(idx, np.full(m, -1), cen.astype(np.float64))


def pick_typiclust(x, vpc, cfg, rng):
    """TypiClust (Hacohen et al. 2022; ``skactiveml.pool.TypiClust``): k-means with k = VPC clusters
    (scikit-learn KMeans, the library's default, seeded), from each cluster, largest first, the most typical
    member (1 / mean distance to its ``TYPICLUST_K`` = 20 nearest members in the cluster). Centrality: typicality."""
    return _peer_pick(x, vpc, rng, "typiclust",
                      lambda pool, x, seed: pool.TypiClust(random_state=seed, k=TYPICLUST_K))


def pick_probcover(x, vpc, cfg, rng):
    """ProbCover (Yehuda et al. 2022; ``skactiveml.pool.ProbCover``): greedy max coverage of balls of radius
    delta = ``knn_radius`` (per class, the median distance to the 10th neighbour; ours, given as the only
    ``deltas`` so the library's purity search is skipped); once everything is covered, ties (0 gain) are
    broken at random by the seed. Centrality: the number of newly covered videos."""
    return _peer_pick(x, vpc, rng, "probcover",
                      lambda pool, x, seed: pool.ProbCover(deltas=[knn_radius(x)], random_state=seed))


def pick_maxherding(x, vpc, cfg, rng):
    """MaxHerding (Bae et al. 2025; ``skactiveml.pool.MaxHerding``): greedy kernel coverage, each pick
    maximising the mean gain max(k(x, .) - max over picks k(pick, .), 0), with a Gaussian kernel of
    bandwidth sigma = ``knn_radius`` (gamma = 1 / (2 sigma^2)) on the vectors as they are (ours; the library
    default normalises to unit length and uses gamma = 1 / D, which discards the metric's scale and is
    nearly flat). Centrality: the gain."""
    def make(pool, x, seed):
        gamma = 1.0 / (2.0 * knn_radius(x) ** 2)
        return pool.MaxHerding(normalize_samples=False, metric="rbf", metric_dict={"gamma": gamma}, random_state=seed)
    return _peer_pick(x, vpc, rng, "maxherding", make)


PEER_METHODS = ("typiclust", "probcover", "maxherding")


METHODS = {
    "infomotion": pick_infomotion,
    "infodist": pick_infodist,
    "random": pick_random,
    "kmeans": pick_kmeans,
    "kcenter": pick_kcenter,
    "herding": pick_herding,
    "typiclust": pick_typiclust,
    "probcover": pick_probcover,
    "maxherding": pick_maxherding,
}


# --- weights ---------------------------------------------------------------------------------

def class_prior_weights(pool_counts, pick_counts) -> np.ndarray:
    """Per-class weight of every pick (ours; docs/method.md).

    ``pool_counts`` (C,) and ``pick_counts`` (C,) are the videos per EF class among the candidates the
    selection ran on (N_c, e.g. the TRAIN split with NaN vectors and missing EF left out) and among the
    picks (k_c = min(VPC, N_c)); returns (C,) float64 with w_c = (N_c / N) / (k_c / K), N and K the
    totals: a class's share of the pool over its share of the picks (a weighted coreset; the inverse
    of the class's sampling rate k_c / N_c, scaled). Picking VPC per class over-represents the rare
    classes; weighted, the picks have the pool's class mix. The weights average exactly 1 over the picks
    (sum_c k_c w_c / K = sum_c N_c / N = 1), so no separate normalisation is needed. A class without
    picks gets 0. Raises ValueError on mismatched shapes, negative counts or k_c > N_c.
    """
    n = np.asarray(pool_counts, dtype=np.float64)
    k = np.asarray(pick_counts, dtype=np.float64)
    if n.shape != k.shape or n.ndim != 1 or (n < 0).any() or (k < 0).any() or (k > n).any():
        raise ValueError(f"class counts must be two equal-length lists with 0 <= picks <= pool; got {n}, {k}")
    if k.sum() == 0:
        return np.zeros_like(n)
    return np.divide(n / n.sum(), k / k.sum(), out=np.zeros_like(n), where=k > 0)


# --- labels and the whole-dataset run ---------------------------------------------------------

def attach_labels(fs: FeatureSet, labels_csv) -> tuple[FeatureSet, list[str]]:
    """Override EF (and Split, if the file has it) by FileName from an EchoNet FileList.csv."""
    path = Path(labels_csv)
    if not path.is_file():
        raise DataError(f"{path}: labels file not found")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        if "FileName" not in cols or "EF" not in cols:
            raise DataError(f"{path}: needs FileName and EF columns, has {', '.join(cols) or 'none'}")
        table = {}
        for row in reader:
            name = strip_suffix(row["FileName"])
            try:
                ef = float(row["EF"])
            except (TypeError, ValueError):
                ef = float("nan")
            table[name] = (ef, (row.get("Split") or "").strip().upper() if "Split" in cols else None)
    ef, split, missing = fs.ef.copy(), fs.split.copy().astype(object), []
    for i, name in enumerate(fs.names.tolist()):
        if name not in table:
            missing.append(name)
            continue
        ef[i] = table[name][0]
        if table[name][1] is not None:
            split[i] = table[name][1]
    lines = []
    if missing:
        old = dict(zip(fs.names.tolist(), fs.ef.tolist()))
        kept = sum(np.isfinite(old[n]) for n in missing)
        lines.append(f"{path.name}: {len(missing)} of {len(fs)} videos not listed ({kept} keep the EF of the "
                     f"features file, {len(missing) - kept} without EF are dropped): {', '.join(missing[:5])}"
                     + (" ..." if len(missing) > 5 else ""))
    return FeatureSet(fs.names, fs.features, ef, split.astype(str), fs.meta), lines


@dataclass
class Selection:
    rows: list[dict]
    summary: list[str]        # one line per class
    notes: list[str]          # one line per defined edge case met
    picks: dict               # class name -> (Pick, FeatureSet of that class)
    knn: dict = field(default_factory=dict)  # class name -> knn_index info (index, params, recall)
    metric: str = "raw"       # the feature transform the methods saw (metric.MetricConfig.describe)

    @property
    def names(self) -> list[str]:
        """The picked video names, in selection order."""
        return [r["FileName"] for r in self.rows]

    @property
    def knn_recall(self) -> float | None:
        """The lowest estimated kNN recall over the classes (1.0 where search was exact); None
        for methods without a graph."""
        return min((i["recall"] for i in self.knn.values()), default=None)


def vector_kind(meta: dict) -> str:
    """What a features file's vectors are: the representation for non-encoder files (e.g. "flow-v1"), else
    the encoder's ``vector`` ("mean" for files written before the key existed: runtime.contract.VECTOR_DEFAULT)."""
    from infomotion_rt.runtime.contract import VECTOR_DEFAULT

    rep = (meta or {}).get("representation") or "encoder"
    return rep if rep != "encoder" else (meta or {}).get("vector") or VECTOR_DEFAULT


def check_metric_parts(meta: dict, parts: str) -> None:
    """``--metric-parts`` other than ``all`` names blocks of the paper's global-mean layout
    (runtime.contract.FEATURE_LAYOUT); ConfigError in one line for vectors of another kind."""
    kind = vector_kind(meta)
    if parts != "all" and kind != "mean":
        raise ConfigError(f"--metric-parts {parts} names parts of the global-mean motion vector; these features "
                          f"are {kind} vectors: use --metric-parts all")


def _short(names) -> str:
    names = list(names)
    return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")


def select_features(fs: FeatureSet, cfg: SelectConfig, classes: EFClasses = DEFAULT_CLASSES) -> Selection:
    """Run ``cfg.method`` on each EF class of ``fs``; rows in class order then pick order."""
    notes = []
    if cfg.split is not None:
        mask = np.char.upper(fs.split.astype(str)) == cfg.split.upper()
        if not mask.any():
            found = sorted(set(fs.split.tolist()))
            raise DataError(f"no video has split {cfg.split!r} (splits present: {found}); for every video use "
                            "--split all (split=None in Python)")
        if not mask.all():  # a copy of every vector only when something is left out
            fs = fs.subset(mask)
    bad = ~np.isfinite(fs.features).all(axis=1)
    if bad.any():
        notes.append(f"{plural(int(bad.sum()), 'video')} with NaN/inf feature vectors dropped: {_short(fs.names[bad])}")
        fs = fs.subset(~bad)
    noef = ~np.isfinite(fs.ef)
    if noef.any():
        notes.append(f"{plural(int(noef.sum()), 'video')} without EF dropped: {_short(fs.names[noef])}")
        fs = fs.subset(~noef)
    mcfg = cfg.resolved_metric()
    raw_d = fs.features.shape[1]
    check_metric_parts(fs.meta, mcfg.parts)
    metric_used = mcfg.describe()
    if len(fs) > 1 and mcfg != RAW_METRIC:  # one fit on every candidate, before the classes are split
        fitted = fit_metric(fs.features, mcfg, fs.ef)
        fs, metric_used = FeatureSet(fs.names, fitted.apply(fs.features), fs.ef, fs.split, fs.meta), fitted.describe()
    d = fs.features.shape[1]
    knn_pca = cfg.graph.knn.pca
    if knn_pca is not None and not knn_pca < d:  # --knn-pca reduces the metric's output, not the file's vectors
        raise ConfigError(f"--knn-pca {knn_pca} must be between 1 and the metric's output dimension {d} "
                          f"(exclusive; metric {metric_used}, the features file holds {raw_d} values)")
    method = METHODS[cfg.method]
    cls = classes.index(fs.ef) if len(fs) else np.empty(0, np.int64)
    rows, summary, picks, knn = [], [], {}, {}
    # every method gets the same class-prior weights: they depend only on the class counts (pool = fs now)
    pool_counts = np.bincount(cls, minlength=len(classes.names))
    weights = class_prior_weights(pool_counts, np.minimum(pool_counts, cfg.vpc))
    if cfg.method in PEER_METHODS:   # refuse before the first class runs, naming the class
        for c, cname in enumerate(classes.names):
            check_peer_size(cfg.method, int(pool_counts[c]), cname)
    for c, cname in enumerate(classes.names):
        sub = fs.subset(cls == c)
        n = len(sub)
        if n == 0:
            notes.append(f"class {cname}: no videos, nothing selected")
            summary.append(f"{cname}: n=0, selected=0")
            continue
        if n < cfg.vpc:
            notes.append(f"class {cname}: only {plural(n, 'video')} < VPC {cfg.vpc}, {'it is' if n == 1 else f'all {n}'} selected")
        if n > 1 and np.all(sub.features == sub.features[0]):
            notes.append(f"class {cname}: all {n} vectors identical, the choice among them is by index only")
        pick = method(sub.features, cfg.vpc, cfg, np.random.default_rng([cfg.seed, c]))
        if len(pick.indices) != min(cfg.vpc, n):  # a method bug must never pass as a short selection
            raise RuntimeError(f"method {cfg.method} picked {len(pick.indices)} of {min(cfg.vpc, n)} in {cname}")
        if pick.class_graph is not None:
            if n > 1 and pick.n_communities == 1:
                order = ("centrality" if cfg.method == "infodist" or cfg.resolved_choice() == "centrality"
                         else "nearness to the class mean")
                notes.append(f"class {cname}: Infomap found one community for {n} videos (graph collapsed); "
                             f"selection falls back to {order} order")
            elif pick.n_communities < min(cfg.vpc, n):
                notes.append(f"class {cname}: {plural(pick.n_communities, 'community', 'communities')} < VPC {cfg.vpc}, "
                             "several picks per community")
        picks[cname] = (pick, sub)
        line = f"{cname}: n={n}"
        if pick.class_graph is not None:
            line += f", communities={pick.n_communities}, codelength={pick.codelength:.4f} bits"
            line += f", {pick.class_graph.describe()}"
            knn[cname] = pick.class_graph.knn_info
            if pick.class_graph.knn_info.get("pca_skipped"):
                notes.append(f"class {cname}: {plural(n, 'video')}, too few for --knn-pca {knn_pca} (PCA needs more "
                             f"vectors than dimensions); its kNN ran on the {d}-D vectors unreduced")
        w = round(float(weights[c]), 6)
        summary.append(line + f", selected={len(pick.indices)}, weight={w:.3g}")
        for i, comm, cen in zip(pick.indices, pick.community, pick.centrality):
            rows.append({"FileName": str(sub.names[i]), "EF": float(sub.ef[i]), "class": cname,
                         "community": int(comm), "centrality": float(cen),
                         "method": cfg.method, "seed": cfg.seed, WEIGHT_COLUMN: w})
    return Selection(rows, summary, notes, picks, knn, metric_used)


# --- outputs --------------------------------------------------------------------------------

OUTPUT_SUFFIXES = {"--out": (".csv",), "--plot": (".png",), "--report": (".html", ".htm")}


def check_outputs(overwrite: bool = False, export_dir=None, **files) -> None:
    """Before any work: every output file (option name without dashes -> path or None; ``out``, ``plot``,
    ``report``) has its expected suffix and, unless ``overwrite``, does not exist; ``export_dir`` is
    absent or empty unless ``overwrite``. ConfigError naming the option and the file otherwise."""
    from infomotion_rt.atomic import check_folder_target

    for opt, path in files.items():
        if path is None:
            continue
        path, flag = Path(path), f"--{opt}"
        allowed = OUTPUT_SUFFIXES.get(flag, ())
        if allowed and path.suffix.lower() not in allowed:
            got = path.suffix or "a name without suffix"
            raise ConfigError(f"{path}: {flag} writes a {' or '.join(allowed)} file, not {got}")
        if path.is_dir():
            raise ConfigError(f"{path}: {flag} names a folder; give a file name")
        if path.exists() and not overwrite:
            raise ConfigError(f"{path}: exists; pass --overwrite to replace it ({flag})")
    if export_dir is not None:
        check_folder_target(export_dir, overwrite, hint="; pass --overwrite to replace it (--export-dataset)")


def check_features_in_data(fs: FeatureSet, data_dir, features_path) -> None:
    """Before any work: every video of the features file is in ``data_dir`` (labels read, no decoding), so
    an export or report from another dataset fails here, not after the selection. DataError naming both."""
    from infomotion_rt.data.loader import load_dataset

    ds = load_dataset(data_dir, progress=False)
    known = {r.name for r in ds.records}
    missing = [n for n in fs.names.tolist() if n not in known]
    if missing:
        why = "none of its videos is" if len(missing) == len(fs) else f"{len(missing)} of its {len(fs)} videos are not"
        raise DataError(f"{features_path}: {why} in {data_dir} ({_short(missing)}); the features come from "
                        "another dataset, or those videos were dropped there (see `infomotion-rt info`)")

def write_selection(path, rows: list[dict]) -> Path:
    """selection.csv (``SELECTION_COLUMNS``; Weight: ``class_prior_weights``); an unknown centrality
    (random) is written as an empty cell."""
    out = [[r[c] if not (c == "centrality" and np.isnan(r[c])) else "" for c in SELECTION_COLUMNS] for r in rows]
    return atomic_write_csv(path, SELECTION_COLUMNS, out)


def plot_selection(sel: Selection, cfg: SelectConfig, path) -> Path:
    """The per-class graph figure; non-graph methods are drawn on the infomotion graph."""
    panels = []
    for cname, (pick, sub) in sel.picks.items():
        cg = pick.class_graph or graph.class_graph(sub.features, cfg.graph, cfg.seed)
        panels.append((f"{cname} ({cfg.method})", sub.features, cg.edges, cg.partition.communities,
                       np.asarray(pick.indices)))
    from infomotion_rt.selection.plot import plot_class_graphs

    return plot_class_graphs(panels, path, seed=cfg.seed)
