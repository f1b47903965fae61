"""Statistics of a benchmark a reader can trust: paired differences against Random, reference rows.

* Paired difference (issue 9): run r of every method uses the same seed (selection, weights, clip
  sampling) and the same step budget, so the per-run differences d_r = method_r - Random_r remove the
  run-to-run noise both share. Reported: mean and sample std of d, and a 95% **paired t** interval,
  mean ± t(0.975, n-1) * std / sqrt(n) (Student; scipy.stats.t). Why t and not a bootstrap: with
  the default 5 runs a percentile bootstrap has only 5 values to resample and its interval is too
  narrow (it cannot reach beyond the observed range); the t interval is exact under normal
  differences and widens correctly with few runs (t(0.975, 4) = 2.776).
* Reference rows (floors): constant predictors scored on TEST exactly like a model. ``Mean EF`` always
  predicts the mean EF of the training pool (the videos selected from: TRAIN, or the synthetic set);
  ``Majority class`` always predicts the pool's most frequent EF class, as the mean EF of the pool's
  videos in that class (so MAE and R² are defined). Both are deterministic: one "run", std 0.
"""

from __future__ import annotations

import math

import numpy as np

from ..data.classes import DEFAULT_CLASSES, EFClasses
from .metrics import score

DIFF_KEYS = ("acc", "soft_acc", "bal_acc", "mae", "r2")
INTERVAL = "95% paired t interval"


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


def differences_vs(cell_runs, reference_runs, keys=DIFF_KEYS) -> dict:
    """``paired_difference`` for every metric in ``keys``."""
    return {k: paired_difference(cell_runs, reference_runs, k) for k in keys}


def class_counts(ef, classes: EFClasses = DEFAULT_CLASSES) -> dict[str, int]:
    """Videos per EF class, in class order (every class listed, zeros included)."""
    idx = classes.index(np.asarray(ef, dtype=np.float64))
    counts = np.bincount(np.atleast_1d(idx), minlength=classes.n)
    return {name: int(c) for name, c in zip(classes.names, counts)}


def reference_rows(pool_ef, test_ef, tolerance: float = 2.0, classes: EFClasses = DEFAULT_CLASSES) -> dict:
    """Scores of the two constant predictors (module docstring) on ``test_ef``; each entry holds the
    constant it predicts (``value``, EF points) and ``score``'s metrics."""
    pool = np.asarray(pool_ef, dtype=np.float64)
    test = np.asarray(test_ef, dtype=np.float64)
    idx = classes.index(pool)
    majority = int(np.bincount(idx, minlength=classes.n).argmax())
    out = {}
    for name, value, what in (
            ("mean_ef", float(pool.mean()), "mean EF of the training pool"),
            ("majority_class", float(pool[idx == majority].mean()),
             f"majority class of the training pool ({classes.names[majority]}), as its mean EF")):
        s = score(test, np.full_like(test, value), tolerance, classes)
        out[name] = {"value": value, "what": what, **s}
    return out
