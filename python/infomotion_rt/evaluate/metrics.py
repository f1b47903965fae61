"""EF regression metrics: re-exported from ``infomotion_rt.scoring`` (the runtime side, so that
``select --self-check`` scores exactly like ``evaluate`` without importing evaluate/)."""

from ..scoring import (DEFAULT_CLASSES, SUMMARY_KEYS, EFClasses, _balanced, _pair,  # noqa: F401
                       balanced_accuracy, confusion, hard_accuracy, mae, r2, rmse, score, soft_accuracy,
                       summarize_runs)
