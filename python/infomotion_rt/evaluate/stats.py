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

import numpy as np

from infomotion_rt.data.classes import DEFAULT_CLASSES, EFClasses
from infomotion_rt.selection.scoring import score

# the paired difference lives on the runtime side (select --self-check uses it too); re-exported here
from infomotion_rt.selection.readout import DIFF_KEYS, INTERVAL, differences_vs, paired_difference, t_quantile  # noqa: E402,F401


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
