"""Clip sampling for the EF regressor: ``frames`` frames every ``period`` frames, resized to ``size``.

Training takes one clip per video per epoch at a random start (seeded); testing averages the
predictions of ``test_clips`` clips with evenly spaced starts (deterministic). A video shorter than
``frames * period`` wraps around to its start (ours: the heart cycle is periodic, and EchoNet's zero
padding would teach the model blank frames). Only the needed frames are decoded
(``data.video.read_frames``); whole videos are kept decoded in memory, resized, while a budget lasts
(small sets are decoded once; large ones fall back to decoding each clip's frames).
Pure numpy + OpenCV: no torch here.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..data.video import probe, read_frames
from ..errors import ConfigError


@dataclass(frozen=True)
class ClipConfig:
    frames: int = 32          # frames per clip (paper / EchoNet: 32)
    period: int = 2           # take every period-th frame (EchoNet: 2)
    size: int = 112           # frames are resized to size x size
    test_clips: int = 1       # clips averaged per test video (evenly spaced starts)
    cache_mb: int = 512       # memory for decoded videos; beyond it clips are decoded on demand

    def __post_init__(self) -> None:
        if self.frames < 1 or self.period < 1 or self.size < 8 or self.test_clips < 1:
            raise ConfigError(f"clip settings must be frames>=1, period>=1, size>=8, test_clips>=1; got "
                              f"{self.frames}, {self.period}, {self.size}, {self.test_clips}")

    @property
    def span(self) -> int:
        return (self.frames - 1) * self.period + 1


def clip_indices(n_frames: int, start: int, cfg: ClipConfig) -> np.ndarray:
    """Frame indices of one clip, wrapping around the video's end."""
    if n_frames < 1:
        raise ValueError("video has no frames")
    return (start + cfg.period * np.arange(cfg.frames)) % n_frames


def clip_starts(n_frames: int, cfg: ClipConfig) -> list[int]:
    """Evenly spaced clip starts covering the video (start 0 alone for one clip)."""
    last = max(n_frames - cfg.span, 0)
    if cfg.test_clips == 1 or last == 0:  # a short video has one distinct (wrapped) clip
        return [0]
    return [int(round(v)) for v in np.linspace(0, last, cfg.test_clips)]


def _resize(frames: np.ndarray, size: int) -> np.ndarray:
    if frames.shape[1:] == (size, size):
        return frames
    interp = cv2.INTER_AREA if frames.shape[1] > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (size, size), interpolation=interp) for f in frames])


class ClipSource:
    """Decodes (and caches) clips of records; every clip is a (frames, size, size) uint8 array."""

    def __init__(self, cfg: ClipConfig) -> None:
        self.cfg = cfg
        self._videos: dict[str, np.ndarray] = {}   # path -> all frames, resized
        self._lengths: dict[str, int] = {}
        self._test: dict[str, np.ndarray] = {}     # path -> (test_clips, frames, S, S)
        self._bytes = 0

    def _budget_left(self, nbytes: int) -> bool:
        return self._bytes + nbytes <= self.cfg.cache_mb * (1 << 20)

    def n_frames(self, rec) -> int:
        key = str(rec.path)
        if key not in self._lengths:
            if key in self._videos:
                self._lengths[key] = len(self._videos[key])
            else:
                self._lengths[key] = probe(rec.path).n_frames
        return self._lengths[key]

    def _frames(self, rec, indices: np.ndarray) -> np.ndarray:
        key = str(rec.path)
        if key in self._videos:
            return self._videos[key][indices]
        n = self._lengths.get(key) or rec.n_frames or 0
        nbytes = n * self.cfg.size * self.cfg.size
        if n and self._budget_left(nbytes):
            video = _resize(read_frames(rec.path), self.cfg.size)
            self._videos[key] = video
            self._lengths[key] = len(video)
            self._bytes += video.nbytes
            return video[indices % len(video)]
        unique, inverse = np.unique(indices, return_inverse=True)
        return _resize(read_frames(rec.path, unique.tolist()), self.cfg.size)[inverse]

    def train_clip(self, rec, rng: np.random.Generator) -> np.ndarray:
        n = self.n_frames(rec)
        start = int(rng.integers(max(n - self.cfg.span, 0) + 1))
        return self._frames(rec, clip_indices(n, start, self.cfg))

    def test_clips(self, rec) -> np.ndarray:
        """(test_clips, frames, S, S) uint8; cached, since test clips never change."""
        key = str(rec.path)
        if key not in self._test:
            n = self.n_frames(rec)
            starts = clip_starts(n, self.cfg)
            clips = np.stack([self._frames(rec, clip_indices(n, s, self.cfg)) for s in starts])
            if self._budget_left(clips.nbytes):
                self._test[key] = clips
                self._bytes += clips.nbytes
            return clips
        return self._test[key]
