"""Training triplets (I0, It, I1) per video: torch-free.

Frames, phases and normalisation come from ``runtime.inputs`` (the runtime owns the model's input
contract; training uses the same builder as extraction). ``to_model_input``, ``VideoPairs``,
``load_video_pairs``, ``endpoint_input`` and ``DEFAULT_SIZE`` are re-exported from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from infomotion_rt import console
from infomotion_rt.errors import DataError, ProblemLog
from infomotion_rt.runtime.inputs import DEFAULT_SIZE, VideoPairs, endpoint_input, load_video_pairs, to_model_input  # noqa: F401


def _resize_u8(frames: np.ndarray, size: int) -> np.ndarray:
    return np.round(to_model_input(frames, size) * 255.0).astype(np.uint8)


@dataclass
class TripletSet:
    """(I0, It, I1) triplets as uint8 (N, 3, size, size), decoded once and kept in memory."""

    frames: np.ndarray
    names: list[str] = field(default_factory=list)     # video of each triplet
    problems: ProblemLog = field(default_factory=ProblemLog)

    def __len__(self) -> int:
        return len(self.frames)


def build_triplets(records, size: int = DEFAULT_SIZE, progress: bool = True, desc: str = "triplets") -> TripletSet:
    """Both frame pairs of every record as triplets; videos that fail are recorded and skipped."""
    out, names, problems = [], [], ProblemLog()
    for rec in console.bar(records, desc=desc, unit="video", progress=progress, inner=True):
        try:
            vp = load_video_pairs(rec)
        except DataError as exc:    # VideoError is a DataError
            problems.add(rec.name, str(exc))
            continue
        for pair in vp.pairs:
            out.append(_resize_u8(np.stack([vp.frames[i] for i in pair]), size))
            names.append(rec.name)
    frames = np.stack(out) if out else np.zeros((0, 3, size, size), np.uint8)
    return TripletSet(frames, names, problems)
