"""EF classes and the soft accuracy metric.

Bins (ours, configurable): Severe <30, Moderate 30-40, Mild 40-50, Normal 50-70, Hyperdynamic >=70.
Soft metric (ours): a prediction is correct when it falls inside the true class widened by
``tolerance`` EF points on each side (default 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EFClasses:
    """Class ``i`` covers EF in [edges[i-1], edges[i]) with -inf/+inf at the ends."""

    edges: tuple[float, ...] = (30.0, 40.0, 50.0, 70.0)
    names: tuple[str, ...] = ("Severe", "Moderate", "Mild", "Normal", "Hyperdynamic")

    def __post_init__(self) -> None:
        if len(self.names) != len(self.edges) + 1:
            raise ValueError(f"{len(self.edges)} EF edges need {len(self.edges) + 1} class names, got {len(self.names)}")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:])):
            raise ValueError(f"EF class edges must increase strictly, got {self.edges}")

    @property
    def n(self) -> int:
        return len(self.names)

    def index(self, ef) -> np.ndarray:
        """Class index of each EF value (array in, int array out; scalar in, 0-d array out)."""
        ef = np.asarray(ef, dtype=np.float64)
        if np.isnan(ef).any():
            raise ValueError("EF is NaN: cannot assign a class")
        return np.searchsorted(np.asarray(self.edges), ef, side="right")

    def name(self, ef: float) -> str:
        return self.names[int(self.index(ef))]

    def bounds(self, k: int) -> tuple[float, float]:
        lo = -np.inf if k == 0 else self.edges[k - 1]
        hi = np.inf if k == self.n - 1 else self.edges[k]
        return lo, hi

    def hard_correct(self, true_ef, pred_ef) -> np.ndarray:
        return self.index(true_ef) == self.index(pred_ef)

    def soft_correct(self, true_ef, pred_ef, tolerance: float = 2.0) -> np.ndarray:
        """Prediction within the true class's interval widened by ``tolerance`` on both sides.

        The widened interval is closed at the lower end and open at the upper end, like the classes.
        """
        if tolerance < 0:
            raise ValueError(f"tolerance must be >= 0, got {tolerance}")
        true_ef = np.asarray(true_ef, dtype=np.float64)
        pred_ef = np.asarray(pred_ef, dtype=np.float64)
        k = self.index(true_ef)
        lo = np.concatenate([[-np.inf], self.edges])[k] - tolerance
        hi = np.concatenate([self.edges, [np.inf]])[k] + tolerance
        return (pred_ef >= lo) & (pred_ef < hi)


DEFAULT_CLASSES = EFClasses()
