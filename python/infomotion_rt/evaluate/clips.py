"""Clip sampling for the EF regressor: ``frames`` frames every ``period`` frames, resized to ``size``.

With ``cycle`` (the cpu setting) a clip is instead ``frames`` frames spread evenly over ``cycle_cover``
cardiac cycles from its start, so every clip holds an ED and an ES whatever the heart rate and frame
rate. The cycle length in frames comes from the traced ED and ES (``cycle_length``: systole taken as
1/3 of the cycle, as ``data.phases.frame_pairs`` does) or, for untraced videos, from ED/ES detected in
the frames (``data.phases.detect_ed_es``). With ``augment`` training clips get a random affine
transform (scale, rotation, shift), a grey-level gain and a cycle-length jitter (ours).

Training takes one clip per video per step at a random start (seeded); testing averages the
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

from infomotion_rt.data.phases import cycle_length, detect_ed_es, record_fps  # noqa: F401  (cycle_length: re-exported)
from infomotion_rt.data.video import probe, read_frames
from infomotion_rt.errors import ConfigError, VideoError


@dataclass(frozen=True)
class ClipConfig:
    frames: int = 32          # frames per clip (paper / EchoNet: 32)
    period: int = 2           # take every period-th frame (EchoNet: 2)
    size: int = 112           # frames are resized to size x size
    test_clips: int = 1       # clips averaged per test video (evenly spaced starts)
    cache_mb: int = 512       # memory for decoded videos; beyond it clips are decoded on demand
    cycle: bool = False       # spread the frames over cycle_cover cardiac cycles instead of every period-th
    cycle_cover: float = 1.2  # cycles per clip: > 1, so a cycle estimated short still holds ED and ES
    augment: bool = False     # random affine + gain + cycle jitter on training clips

    def __post_init__(self) -> None:
        if self.frames < 1 or self.period < 1 or self.size < 8 or self.test_clips < 1 or self.cycle_cover <= 0:
            raise ConfigError(f"clip settings must be frames>=1, period>=1, size>=8, test_clips>=1, cycle_cover>0; "
                              f"got {self.frames}, {self.period}, {self.size}, {self.test_clips}, {self.cycle_cover}")

    @property
    def span(self) -> int:
        return (self.frames - 1) * self.period + 1


def cycle_indices(n_frames: int, start: int, length: float, frames: int) -> np.ndarray:
    """``frames`` indices spread evenly over ``length`` frames from ``start``, wrapping round the end."""
    return (start + np.floor(np.arange(frames) * (length / frames))).astype(np.int64) % n_frames


def augment_clip(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random affine transform (scale 0.9-1.1, rotation ±10°, shift ±6%) and grey gain 0.8-1.2
    applied to every frame of a (T, S, S) uint8 clip (ours: small probe-position and gain changes)."""
    size = clip.shape[-1]
    m = cv2.getRotationMatrix2D((size / 2, size / 2), float(rng.uniform(-10, 10)), float(rng.uniform(0.9, 1.1)))
    m[:, 2] += rng.uniform(-0.06, 0.06, 2) * size
    gain = float(rng.uniform(0.8, 1.2))
    out = np.stack([cv2.warpAffine(f, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=0) for f in clip])
    return np.clip(out.astype(np.float32) * gain, 0, 255).astype(np.uint8)


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
        self._cycles: dict[str, float] = {}        # path -> cardiac cycle in frames
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

    def cycle(self, rec) -> float:
        """The video's cardiac cycle in frames: from its traced ED/ES, else from ED/ES detected in it."""
        key = str(rec.path)
        if key not in self._cycles:
            n = self.n_frames(rec)
            if rec.ed is not None and rec.es is not None and rec.ed != rec.es:
                ed, es = rec.ed, rec.es
            else:
                try:
                    # the heart-rate search band is in beats per second: the detector needs the frame rate
                    ed, es = detect_ed_es(self._frames(rec, np.arange(n)), fps=record_fps(rec))
                except VideoError as exc:
                    raise VideoError(f"{rec.path}: no cardiac cycle for clip sampling ({exc})") from exc
            self._cycles[key] = min(cycle_length(ed, es), float(n)) if ed != es else float(n)
        return self._cycles[key]

    def _clip_span(self, rec) -> float:
        return self.cycle(rec) * self.cfg.cycle_cover if self.cfg.cycle else float(self.cfg.span)

    def _indices(self, rec, n: int, start: int, length: float) -> np.ndarray:
        if self.cfg.cycle:
            return cycle_indices(n, start, length, self.cfg.frames)
        return clip_indices(n, start, self.cfg)

    def train_clip(self, rec, rng: np.random.Generator) -> np.ndarray:
        n = self.n_frames(rec)
        length = self._clip_span(rec)
        if self.cfg.cycle and self.cfg.augment:
            length *= float(rng.uniform(0.9, 1.1))  # heart-rate jitter
        start = int(rng.integers(max(n - int(np.ceil(length)), 0) + 1))
        clip = self._frames(rec, self._indices(rec, n, start, length))
        return augment_clip(clip, rng) if self.cfg.augment else clip

    def test_clips(self, rec) -> np.ndarray:
        """(test_clips, frames, S, S) uint8; cached, since test clips never change."""
        key = str(rec.path)
        if key not in self._test:
            n = self.n_frames(rec)
            length = self._clip_span(rec)
            if self.cfg.cycle:
                last = max(n - int(np.ceil(length)), 0)
                starts = [0] if self.cfg.test_clips == 1 or last == 0 else \
                    [int(round(v)) for v in np.linspace(0, last, self.cfg.test_clips)]
            else:
                starts = clip_starts(n, self.cfg)
            clips = np.stack([self._frames(rec, self._indices(rec, n, s, length)) for s in starts])
            if self._budget_left(clips.nbytes):
                self._test[key] = clips
                self._bytes += clips.nbytes
            return clips
        return self._test[key]
