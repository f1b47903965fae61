"""The ridge read-out and its paired statistics, runtime side (issue 16, items 2, 3 and 6; definitions ours).

Pure numpy and scikit-learn (scipy for the t quantile, which scikit-learn installs anyway); no torch and
nothing of evaluate/, so ``select --self-check`` can use it. ``evaluate/probe.py`` (``evaluate --instrument
probe``), ``evaluate/probe_benchmark.py`` and ``evaluate/stats.py`` import these names from here, so every
caller scores, draws and tests the same way.

* The probe (``PROBE_DEFINITION``): ``RidgeCV(alphas=ALPHAS)`` on features standardised with a pool's
  mean and std, fitted on picks with their selection ``Weight``; ``probe_score``: ``scoring.score`` plus r.
* The pool draw (``POOL_DRAW``): the same random share of a pool for every method of a seed.
* The paired difference (``paired_difference``): mean, std and 95 % paired t interval of per-seed
  differences (rationale in evaluate/stats.py).

scikit-learn is optional for the runtime: it comes with the ``[train]``, ``[test]`` and ``[peers]`` extras
(``SKLEARN_HINT``); ``ridge_probe`` raises one DependencyError naming them when it is missing.
"""

from __future__ import annotations

import math

import numpy as np

from infomotion_rt.errors import ConfigError, require
from infomotion_rt.selection.scoring import score

ALPHAS = np.logspace(-3, 5, 33)
PROBE_DEFINITION = ("RidgeCV(alphas=np.logspace(-3, 5, 33)) on features standardised with the TRAIN pool's "
                    "mean and std (ddof 0; constant features / 1), fitted on the picks with sample_weight = "
                    "selection Weight (or unweighted), predicting TEST [issue 16.2, ours]")
POOL_DRAW = ("sorted pool names, numpy.random.default_rng([seed, 16003]).choice(n, round(share * n), "
             "replace=False), returned in name order; share 1.0: every name [issue 16.3, ours]")
SKLEARN_HINT = ("install scikit-learn (pip install scikit-learn), or an extra that includes it: "
                "'infomotion-rt[peers]', [train] or [test]")
DIFF_KEYS = ("acc", "soft_acc", "bal_acc", "mae", "r2")
INTERVAL = "95% paired t interval"


def pearson_r(true_ef, pred_ef) -> float:
    """Pearson correlation of (N,) truth and predictions; NaN when either is constant (undefined)."""
    t = np.asarray(true_ef, dtype=np.float64).ravel()
    p = np.asarray(pred_ef, dtype=np.float64).ravel()
    if t.size < 2 or t.std() == 0 or p.std() == 0:
        return float("nan")
    return float(np.corrcoef(t, p)[0, 1])


def standardiser(pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) over the rows of the (N, D) pool, float64; std 0 (a constant feature) becomes 1."""
    pool = np.asarray(pool, dtype=np.float64)
    mean, std = pool.mean(axis=0), pool.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def ridge_probe(pool: np.ndarray, x_fit: np.ndarray, y_fit: np.ndarray, x_test: np.ndarray,
                weights: np.ndarray | None = None, what: str = "the probe") -> tuple[np.ndarray, float]:
    """The probe (``PROBE_DEFINITION``): standardise with ``pool`` (N, D), fit on ``x_fit`` (M, D) and EF
    ``y_fit`` (M,) (EF points) with ``weights`` (M,) positive or None, predict ``x_test`` (K, D).
    Returns ((K,) float64 predicted EF, the chosen alpha). ValueError for fewer than 2 fitting videos;
    DependencyError (naming ``what`` and ``SKLEARN_HINT``) without scikit-learn."""
    require("sklearn", what=what, hint=SKLEARN_HINT)
    from sklearn.linear_model import RidgeCV

    if len(x_fit) < 2:
        raise ValueError(f"the probe needs at least 2 fitting videos, got {len(x_fit)}")
    mean, std = standardiser(pool)
    z = lambda x: (np.asarray(x, dtype=np.float64) - mean) / std  # noqa: E731
    model = RidgeCV(alphas=ALPHAS).fit(z(x_fit), np.asarray(y_fit, dtype=np.float64),
                                       sample_weight=None if weights is None else np.asarray(weights, np.float64))
    return model.predict(z(x_test)), float(model.alpha_)


def probe_score(true_ef, pred_ef, tolerance: float) -> dict:
    """``scoring.score`` plus Pearson ``r``."""
    return {**score(true_ef, pred_ef, tolerance), "r": pearson_r(true_ef, pred_ef)}


def pool_draw(seed: int, share: float, names) -> list[str]:
    """The videos of ``names`` (str, any order; duplicates count once) drawn for ``seed`` at ``share`` in
    (0, 1] (``POOL_DRAW``): a function of (seed, share, set of names) only, so every method of a seed sees
    the same draw. Returns sorted names, at least 1 of a non-empty pool. ConfigError for share outside (0, 1]."""
    if not (0.0 < float(share) <= 1.0):
        raise ConfigError(f"--pool-share must be in (0, 1], got {share}")
    pool = sorted(set(map(str, names)))
    if share == 1.0 or not pool:
        return pool
    k = max(1, int(round(float(share) * len(pool))))
    idx = np.random.default_rng([int(seed), 16003]).choice(len(pool), size=k, replace=False)
    return [pool[i] for i in sorted(idx)]


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile (scipy.stats.t.ppf)."""
    from scipy.stats import t

    return float(t.ppf(p, df))


def paired_difference(runs, reference_runs, key: str) -> dict:
    """Mean, sample std and 95% paired-t interval of ``run[key] - reference[key]`` over the seeds both
    have. Runs are dicts with ``seed`` and ``key``; non-finite values (e.g. an undefined R²) drop
    their pair. With one pair, or when every pair differs by exactly the same amount (a zero-width t
    interval would claim certainty from no variance; flagged ``equal``), the interval is undefined (NaN
    bounds)."""
    ref = {r["seed"]: r.get(key, math.nan) for r in reference_runs}  # results from before bal_acc lack it
    d = np.array([r.get(key, math.nan) - ref[r["seed"]] for r in runs if r["seed"] in ref], dtype=np.float64)
    d = d[np.isfinite(d)]
    n = int(d.size)
    if n == 0:
        return {"mean": math.nan, "std": math.nan, "n": 0, "ci_low": math.nan, "ci_high": math.nan}
    mean = float(d.mean())
    if n == 1:
        return {"mean": mean, "std": 0.0, "n": 1, "ci_low": math.nan, "ci_high": math.nan}
    std = float(d.std(ddof=1))
    if std <= 1e-9 * max(1.0, abs(mean)):  # every run differs by the same amount (quantised accuracy), up
        # to float rounding of k/n - j/n: no variance to test
        return {"mean": mean, "std": 0.0, "n": n, "ci_low": math.nan, "ci_high": math.nan, "equal": True}
    half = t_quantile(0.975, n - 1) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "n": n, "ci_low": mean - half, "ci_high": mean + half}


def summarise_runs(runs, keys) -> dict:
    """{key: {"mean", "std" (sample, ddof 1; 0.0 for one value), "n"}} over the runs' finite values of every
    key in ``keys``; runs are dicts (a missing key counts as NaN); mean NaN when no value is finite."""
    out = {}
    for k in keys:
        v = np.array([r.get(k, math.nan) for r in runs], dtype=np.float64)
        v = v[np.isfinite(v)]
        out[k] = {"mean": float(v.mean()) if v.size else math.nan,
                  "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size)}
    return out


def differences_vs(cell_runs, reference_runs, keys=DIFF_KEYS) -> dict:
    """``paired_difference`` for every metric in ``keys``."""
    return {k: paired_difference(cell_runs, reference_runs, k) for k in keys}
