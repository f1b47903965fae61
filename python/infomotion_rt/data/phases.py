"""Cardiac phases: LV volume by the method of disks, ED/ES frames, and the frame pairs a video gives."""

from __future__ import annotations

import numpy as np

N_TRACING_ROWS = 21  # row 0: LV long axis; rows 1..20: disc chords (EchoNet VolumeTracings layout)


def disk_volume(tracing: np.ndarray) -> float:
    """LV volume (pixel units cubed) of one traced frame by the single-plane method of disks.

    ``tracing`` is the (21, 4) array of X1, Y1, X2, Y2 rows as VolumeTracings.csv stores them.
    Row 0 is the long axis of length L; rows 1..20 are the disc chords of diameters d_i, each disc
    of height L/20: V = pi/4 * sum(d_i^2) * L/20 (Simpson's rule, monoplane).
    """
    t = np.asarray(tracing, dtype=np.float64)
    if t.shape != (N_TRACING_ROWS, 4):
        raise ValueError(f"a traced frame needs {N_TRACING_ROWS} rows of X1,Y1,X2,Y2, got shape {t.shape}")
    lengths = np.hypot(t[:, 2] - t[:, 0], t[:, 3] - t[:, 1])
    long_axis, diameters = lengths[0], lengths[1:]
    return float(np.pi / 4.0 * np.sum(diameters**2) * long_axis / (N_TRACING_ROWS - 1))
