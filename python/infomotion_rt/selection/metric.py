"""The selection metric: the feature transform applied to the candidate vectors before the per-class kNN.

The graph (and every feature-based method: k-means, k-center, herding) measures Euclidean distances between
motion vectors. With the shipped encoder, Euclidean neighbours -- of the raw, standardised, PCA or whitened
vectors alike -- share EF no better than predicting the mean, while a linear read-out of the same vectors
predicts EF well (BENCHMARKS.md, "EF probe" and "Selection metric"); hence the default ``pls`` with 16
dimensions, the one transform that made neighbours share EF. A ``MetricConfig`` names the transform:

* ``raw``: the vectors as extracted (the paper's metric; the ``--paper-literal`` variant's default).
* ``standard``: each dimension z-scored (mean 0, sd 1) over the candidates.
* ``pca``: standardised, then the top ``dims`` principal components (variance kept, not whitened).
* ``pca-whiten``: standardised, the top ``dims`` principal components, each scaled to unit variance.
* ``pls``: standardised, then ``dims`` partial-least-squares (PLS1) components fitted on the candidates'
  EF labels. Supervised, and legitimate at selection time: the selection already needs every candidate's
  EF (it picks per EF class), and uses no label of any TEST video.

``parts`` keeps a part of the vector first (the encoder's layout, ``runtime.contract.FEATURE_LAYOUT``:
pair x direction x scale x channel): ``all``, ``scale8`` / ``scale16`` (one scale of the motion maps),
``pair1`` / ``pair2`` (one frame pair), ``forward`` (start->end direction only).

Every transform is fitted on all the candidate vectors being selected from (one fit, all classes), so
that one class's distances are on the same footing as another's; it is deterministic (no random state,
except a seeded sample of the PCA training rows above 1000 x D candidates; eigenvector signs fixed).
PCA is FAISS's ``PCAMatrix`` (already a runtime dependency, for the kNN); standardisation and PLS are
numpy (runtime side: no torch, no scikit-learn).

How this differs from ``select --knn-pca D`` (``knn_index.pca_reduce``): that is a per-class FAISS PCA
without standardisation or whitening, there to make kNN cheaper on very large classes; it is applied
after this transform, inside each class's kNN search. This module decides *what* distance means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infomotion_rt.errors import ConfigError, DataError

METRICS = ("raw", "standard", "pca", "pca-whiten", "pls")
PARTS = ("all", "scale8", "scale16", "pair1", "pair2", "forward")
# Chosen from benchmarks/study_selection_metric.py on a development phantom (seed 3; BENCHMARKS.md,
# "Selection metric"). Ours: the paper is silent on preprocessing.
DEFAULT_METRIC, DEFAULT_DIMS, DEFAULT_PARTS = "pls", None, "all"
_EPS = 1e-8


@dataclass(frozen=True)
class MetricConfig:
    """Which transform (``METRICS``), how many output dimensions of pca/pca-whiten/pls (``dims``; None:
    16, or one less than the kept dimensions when there are not more than 16), and which part of the
    vector (``PARTS``). Raises ConfigError for an unknown name, part, or dims < 1."""

    name: str = DEFAULT_METRIC
    dims: int | None = DEFAULT_DIMS
    parts: str = DEFAULT_PARTS

    def __post_init__(self) -> None:
        if self.name not in METRICS:
            raise ConfigError(f"unknown --metric {self.name!r}; choose from {', '.join(METRICS)}")
        if self.parts not in PARTS:
            raise ConfigError(f"unknown --metric-parts {self.parts!r}; choose from {', '.join(PARTS)}")
        if self.dims is not None and self.dims < 1:
            raise ConfigError(f"--metric-dims must be >= 1, got {self.dims}")

    def describe(self) -> str:
        """'standard', 'pca-whiten-16', 'pls-8 on scale16' ..."""
        s = self.name + (f"-{self.dims or 16}" if self.name in ("pca", "pca-whiten", "pls") else "")
        return s + ("" if self.parts == "all" else f" on {self.parts}")


RAW = MetricConfig("raw")


def part_columns(d: int, parts: str) -> np.ndarray:
    """Column indices of ``parts`` in a D-dim motion vector laid out pair(2) x direction(2) x scale(2) x
    channel(D/8) (runtime.contract.FEATURE_LAYOUT). Raises ConfigError when D is not a multiple of 8."""
    if parts == "all":
        return np.arange(d)
    if d % 8:
        raise ConfigError(f"--metric-parts {parts} needs the encoder's layout (D a multiple of 8), got D={d}")
    c = d // 8
    block = np.arange(8).reshape(2, 2, 2)          # [pair, direction, scale] -> block number
    keep = {"scale8": block[:, :, 0], "scale16": block[:, :, 1], "pair1": block[0], "pair2": block[1],
            "forward": block[:, 0]}[parts].ravel()
    return np.concatenate([np.arange(b * c, (b + 1) * c) for b in sorted(keep)])


def _pls_rotation(s_xx: np.ndarray, s_xy: np.ndarray, m: int) -> np.ndarray:
    """PLS1 (NIPALS in covariance form: only z^T z and z^T (y - mean y) of the standardised vectors are
    needed) -> the rotation R (d, m) with scores T = z @ R (Wold's PLS; R = W (P^T W)^-1). Stops early
    when y is explained. Matches scikit-learn's PLSRegression(scale=False).transform up to sign."""
    w_all, p_all = [], []
    for _ in range(m):
        norm = np.linalg.norm(s_xy)
        if norm < _EPS:
            break
        w = s_xy / norm
        tt = float(w @ s_xx @ w)
        if tt < _EPS:
            break
        p = s_xx @ w / tt
        w_all.append(w); p_all.append(p)
        s_xy = s_xy - p * float(w @ s_xy)        # deflate: X_{k+1} = X_k - t p^T
        s_xx = s_xx - tt * np.outer(p, p)
    if not w_all:
        raise DataError("--metric pls: the EF labels do not vary (or the vectors are constant); nothing to fit")
    w, p = np.stack(w_all, 1), np.stack(p_all, 1)
    return w @ np.linalg.inv(p.T @ w)


_CHUNK = 65_536   # rows per float64 block: the fit and apply never hold a float64 copy of all vectors


@dataclass(frozen=True)
class FittedMetric:
    """A transform fitted on candidate vectors: ``apply(x)`` maps (n, D) -> (n, d') float32."""

    cfg: MetricConfig
    cols: np.ndarray
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    proj: np.ndarray | None = None   # (d_kept, d') or None
    note: str = ""                   # why the fit fell back to something simpler, for the select output

    def describe(self) -> str:
        """The config's name with the dimensions actually fitted (PLS may stop early), and any fallback."""
        s = self.cfg.name + (f"-{self.proj.shape[1]}" if self.proj is not None else "")
        s += "" if self.cfg.parts == "all" else f" on {self.cfg.parts}"
        return s + (f" ({self.note})" if self.note else "")

    def _block(self, x: np.ndarray) -> np.ndarray:
        z = x[:, self.cols].astype(np.float64)
        return z if self.mean is None else (z - self.mean) / self.scale

    def apply(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or (len(self.cols) and x.shape[1] <= self.cols.max()):
            raise DataError(f"metric {self.cfg.describe()}: vectors of shape {x.shape} do not match the fit")
        out = np.empty((len(x), len(self.cols) if self.proj is None else self.proj.shape[1]), np.float32)
        for s in range(0, len(x), _CHUNK):
            z = self._block(x[s:s + _CHUNK])
            out[s:s + _CHUNK] = z if self.proj is None else z @ self.proj
        return out


def _pca_projection(std: FittedMetric, x: np.ndarray, m: int, whiten: bool) -> np.ndarray:
    """(d_kept, m) float64 projection of the standardised vectors onto their top ``m`` principal components,
    fitted by FAISS's ``PCAMatrix`` (``eigen_power=-0.5`` whitens). FAISS trains on at most
    ``max_points_per_d`` x d rows; above that a seeded sample (numpy, seed 0) is drawn here, so FAISS's own
    sampling never runs and the float32 training copy stays bounded. The standardisation has centred the
    vectors, so FAISS's bias (minus the projected training mean, ~0) is dropped: a constant shift leaves
    every distance unchanged. Each component's largest entry is made positive (deterministic signs)."""
    from infomotion_rt.selection.knn_index import faiss

    n, d = len(x), len(std.cols)
    pca = faiss().PCAMatrix(d, m, -0.5 if whiten else 0.0)
    cap = pca.max_points_per_d * d
    rows = np.arange(n) if n <= cap else np.sort(np.random.default_rng(0).choice(n, cap, replace=False))
    z = np.empty((len(rows), d), np.float32)
    for s in range(0, len(rows), _CHUNK):
        z[s:s + _CHUNK] = std._block(x[rows[s:s + _CHUNK]])
    # FAISS's eigenvalues are those of the unnormalised scatter z^T z: a whitened component has variance
    # 1/n; epsilon (1e-6 in variance units) keeps a null direction finite, and sqrt(n) below makes it 1.
    pca.epsilon = 1e-6 * len(rows)
    pca.train(z)
    a = faiss().vector_to_array(pca.A).reshape(m, d).astype(np.float64).T
    if whiten:
        a *= np.sqrt(len(rows))
    sign = np.sign(a[np.abs(a).argmax(0), np.arange(m)])
    return a * np.where(sign == 0, 1.0, sign)


def fit_metric(x: np.ndarray, cfg: MetricConfig, ef: np.ndarray | None = None) -> FittedMetric:
    """Fit ``cfg`` on candidate vectors ``x`` (n, D) float (and their EF (n,) in EF points, for ``pls``).

    Raises ConfigError when ``dims`` is not below the kept dimensions or pls has no EF, DataError when pls
    cannot be fitted. The fit is deterministic; memory beyond ``x`` is O(D^2 + chunk x D), plus for
    pca/pca-whiten a float32 copy of the standardised training rows (at most 1000 x D rows: FAISS's cap)."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise DataError(f"metric: vectors must be (n, D), got shape {x.shape}")
    cols = part_columns(x.shape[1], cfg.parts)
    if cfg.name == "raw":
        return FittedMetric(cfg, cols)
    n = len(x)
    mean = sum(x[s:s + _CHUNK][:, cols].astype(np.float64).sum(0) for s in range(0, n, _CHUNK)) / max(n, 1)
    var = sum(((x[s:s + _CHUNK][:, cols] - mean) ** 2).sum(0) for s in range(0, n, _CHUNK)) / max(n, 1)
    sd = np.sqrt(var)
    scale = np.where(sd > _EPS, sd, 1.0)       # a constant dimension becomes 0, not NaN
    std = FittedMetric(cfg, cols, mean, scale)
    if cfg.name == "standard":
        return std
    m = cfg.dims or min(16, len(cols) - 1)
    if m < 1:                                  # a 1-dim vector: nothing to reduce
        return std
    if m >= len(cols):
        raise ConfigError(f"--metric-dims {m} must be below the {len(cols)} dimensions kept ({cfg.parts})")
    if cfg.name == "pls" and (ef is None or len(ef) != n or not np.isfinite(ef).all()):
        raise ConfigError("--metric pls needs every candidate's EF")
    if cfg.name == "pls" and np.ptp(ef) == 0:  # one EF value: no direction to fit; plain standardisation
        return FittedMetric(cfg, cols, mean, scale, note="pls: every EF equal, vectors only standardised")
    if cfg.name != "pls":
        return FittedMetric(cfg, cols, mean, scale, _pca_projection(std, x, m, cfg.name == "pca-whiten"))
    y = np.asarray(ef, np.float64) - float(np.mean(ef))
    s_xx, s_xy = np.zeros((len(cols), len(cols))), np.zeros(len(cols))
    for s in range(0, n, _CHUNK):
        z = std._block(x[s:s + _CHUNK])
        s_xx += z.T @ z
        s_xy += z.T @ y[s:s + _CHUNK]
    return FittedMetric(cfg, cols, mean, scale, _pls_rotation(s_xx, s_xy, m))


def transform(x: np.ndarray, cfg: MetricConfig, ef: np.ndarray | None = None) -> np.ndarray:
    """Fit ``cfg`` on ``x`` (n, D) and apply it: (n, d') float32 (d' = D for raw/standard on all parts)."""
    if cfg.name == "raw" and cfg.parts == "all":
        return np.ascontiguousarray(x, dtype=np.float32)   # the paper's metric: the vectors untouched
    return fit_metric(x, cfg, ef).apply(np.asarray(x))


def metric_config(name: str | None, dims: int | None = None, parts: str = "all",
                  paper_literal: bool = False) -> MetricConfig | None:
    """The CLI's --metric/--metric-dims/--metric-parts: None (the variant's default) when nothing was asked;
    a name left out with dims or parts given means the default transform (raw with --paper-literal)."""
    if name is None and dims is None and parts == "all":
        return None
    base = RAW if paper_literal else MetricConfig()
    return MetricConfig(name or base.name, dims, parts)
