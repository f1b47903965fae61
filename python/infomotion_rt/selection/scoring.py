"""EF regression metrics: MAE, R^2, hard, soft and class-balanced 5-class accuracy, confusion matrix.

Pure numpy, runtime side (``select --self-check`` scores with it; moved here from evaluate/metrics.py,
which re-exports every name, so the runtime never imports evaluate/). The paper regresses EF and maps
predictions to the clinical classes; hard accuracy compares classes, soft accuracy counts a prediction inside the true class widened by ``tolerance``
EF points on each side (``EFClasses.soft_correct``; 2 points by default, ours). Balanced accuracy is
the mean recall over the classes present in the true EF (scikit-learn's ``balanced_accuracy_score``
definition), so on an EchoNet-like TEST split (about two thirds Normal) always predicting Normal scores
1/5, not 2/3 (ours, beside the paper's accuracy).
"""

from __future__ import annotations

import numpy as np

from infomotion_rt.data.classes import DEFAULT_CLASSES, EFClasses


def _pair(true_ef, pred_ef) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(true_ef, dtype=np.float64).ravel()
    p = np.asarray(pred_ef, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"{t.size} true EF values but {p.size} predictions")
    if t.size == 0:
        raise ValueError("no predictions to score")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ValueError("EF values and predictions must be finite")
    return t, p


def mae(true_ef, pred_ef) -> float:
    t, p = _pair(true_ef, pred_ef)
    return float(np.abs(t - p).mean())


def rmse(true_ef, pred_ef) -> float:
    t, p = _pair(true_ef, pred_ef)
    return float(np.sqrt(((t - p) ** 2).mean()))


def r2(true_ef, pred_ef) -> float:
    """Coefficient of determination; NaN when the true EF has no variance (undefined)."""
    t, p = _pair(true_ef, pred_ef)
    ss_tot = ((t - t.mean()) ** 2).sum()
    if ss_tot == 0:
        return float("nan")
    return float(1.0 - ((t - p) ** 2).sum() / ss_tot)


def hard_accuracy(true_ef, pred_ef, classes: EFClasses = DEFAULT_CLASSES) -> float:
    t, p = _pair(true_ef, pred_ef)
    return float(classes.hard_correct(t, p).mean())


def soft_accuracy(true_ef, pred_ef, tolerance: float = 2.0, classes: EFClasses = DEFAULT_CLASSES) -> float:
    t, p = _pair(true_ef, pred_ef)
    return float(classes.soft_correct(t, p, tolerance).mean())


def balanced_accuracy(true_ef, pred_ef, classes: EFClasses = DEFAULT_CLASSES) -> float:
    """Mean per-class recall over the classes that occur in ``true_ef`` (fraction in [0, 1])."""
    return _balanced(confusion(true_ef, pred_ef, classes))


def _balanced(conf: np.ndarray) -> float:
    present = conf.sum(axis=1) > 0
    return float((np.diag(conf)[present] / conf.sum(axis=1)[present]).mean())


def confusion(true_ef, pred_ef, classes: EFClasses = DEFAULT_CLASSES) -> np.ndarray:
    """(n_classes, n_classes) counts; rows = true class, columns = predicted class."""
    t, p = _pair(true_ef, pred_ef)
    m = np.zeros((classes.n, classes.n), dtype=np.int64)
    np.add.at(m, (classes.index(t), classes.index(p)), 1)
    return m


def score(true_ef, pred_ef, tolerance: float = 2.0, classes: EFClasses = DEFAULT_CLASSES) -> dict:
    """Every metric of one run as plain JSON-able values (accuracies as fractions in [0, 1])."""
    t, p = _pair(true_ef, pred_ef)
    conf = confusion(t, p, classes)
    return {"n": int(t.size), "mae": mae(t, p), "rmse": rmse(t, p), "r2": r2(t, p),
            "acc": hard_accuracy(t, p, classes), "soft_acc": soft_accuracy(t, p, tolerance, classes),
            "bal_acc": _balanced(conf), "tolerance": float(tolerance), "confusion": conf.tolist(),
            "classes": list(classes.names)}


SUMMARY_KEYS = ("acc", "soft_acc", "bal_acc", "mae", "rmse", "r2")


def summarize_runs(runs: list[dict], keys=SUMMARY_KEYS) -> dict:
    """Mean and sample std (ddof=1; 0 for one run) of each metric over runs; NaNs are skipped."""
    out = {}
    for k in keys:
        v = np.array([r.get(k, np.nan) for r in runs], dtype=np.float64)  # older results lack bal_acc
        v = v[np.isfinite(v)]
        out[k] = {"mean": float(v.mean()) if v.size else float("nan"),
                  "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size)}
    return out
