"""Phantom videos as DICOM files for the tests (the writer is ``infomotion_rt.phantom.dicom``)."""

from __future__ import annotations

import numpy as np

from infomotion_rt.phantom.dicom import CANVAS, OFFSET, SECRET, SYNTAXES, canvas, write_dicom  # noqa: F401


def phantom_loop(index: int, frames: int = 24, seed: int = 3) -> tuple[np.ndarray, float]:
    """(T, 112, 112) uint8 frames of phantom video ``index`` and its frame rate."""
    from infomotion_rt.phantom.params import video_params
    from infomotion_rt.phantom.render import render_video

    p = video_params(seed, index, "dynamic", frames)
    return render_video(p), float(p.fps_file)
