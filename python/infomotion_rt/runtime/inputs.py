"""Frames the motion encoder sees, per video: the model input builder, owned by the runtime.

Extraction (``features``, a Ray worker) and training (``motion.triplets``) both build their inputs here,
so the two cannot drift apart. Torch-free.

Normalisation (the model's input contract, ``contract.NORMALISATION``): grayscale uint8 frames are resized
to ``size`` x ``size`` (OpenCV area interpolation when shrinking, bilinear when enlarging) and divided by
255 -> float32 in [0, 1].

Phases: ED/ES come from the tracings (``VideoRecord.ed/es``) or, for untraced videos, from
``detect_ed_es`` on the whole decoded video; ``frame_pairs`` gives both (start, middle, end) triples.
Extraction orients the pairs by phase so that every video's vector means the same thing:
pair 1 = ED -> ES (contraction), pair 2 = ES-phase -> ED-phase (filling). ``frame_pairs`` returns pair 2
in time order, which already is ES -> ED when ED precedes ES, and ED -> ES otherwise (then it is reversed).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from infomotion_rt.errors import DataError

DEFAULT_SIZE = 112


def to_model_input(frames: np.ndarray, size: int = DEFAULT_SIZE) -> np.ndarray:
    """(T, H, W) uint8 -> (T, size, size) float32 in [0, 1]. DataError for anything not 3-D."""
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise DataError(f"frames must be (T, H, W) grayscale, got shape {frames.shape}")
    if frames.shape[1:] != (size, size):
        interp = cv2.INTER_AREA if max(frames.shape[1:]) > size else cv2.INTER_LINEAR
        frames = np.stack([cv2.resize(f, (size, size), interpolation=interp) for f in frames])
    return frames.astype(np.float32) * np.float32(1.0 / 255.0)


@dataclass(frozen=True)
class VideoPairs:
    """One video's phases: ``pairs`` as ``frame_pairs`` gives them, ``frames`` index -> (H, W) uint8
    for every index in ``FramePairs.indices``."""

    name: str
    ed: int
    es: int
    pairs: tuple[tuple[int, int, int], tuple[int, int, int]]
    frames: dict[int, np.ndarray]
    n_frames: int | None = None     # frames the video holds: the probe's (traced) or the decoded count
    n_counted: bool = False         # n_frames was counted by decoding, not read from the container header

    def endpoints(self) -> tuple[int, int, int, int]:
        """Frame indices (pair-1 start, end, pair-2 start, end), oriented by phase (module docstring)."""
        (a, _, b), (c, _, d) = self.pairs
        return (a, b, c, d) if self.ed < self.es else (a, b, d, c)


def load_video_pairs(record, endpoints_only: bool = False, pair1_only: bool = False) -> VideoPairs:
    """Decode what a video's frame pairs need. Traced videos decode only those frames (with ``pair1_only``,
    only pair 1's two endpoints, ED and ES); untraced ones are decoded whole for ``detect_ed_es``. Raises
    VideoError/DataError naming the video."""
    from infomotion_rt.data.phases import detect_ed_es, frame_pairs, record_fps
    from infomotion_rt.data.video import probe, read_frames

    path = record.path
    if record.ed is not None and record.es is not None:
        ed, es = int(record.ed), int(record.es)
        info = getattr(record, "probed", None) or probe(path)
        all_frames = None
        n, counted = info.n_frames, info.counted
    else:
        all_frames = read_frames(path)
        ed, es = detect_ed_es(all_frames, fps=record_fps(record))  # fps bounds the heart-rate search
        n, counted = len(all_frames), True
    try:
        fp = frame_pairs(ed, es, n)
    except DataError as exc:
        raise DataError(f"{record.name}: {exc}") from exc
    vp = VideoPairs(record.name, ed, es, fp.pairs, {}, n, counted)
    if pair1_only:
        wanted = sorted(set(vp.endpoints()[:2]))
    else:
        wanted = sorted(set(vp.endpoints())) if endpoints_only else list(fp.indices)
    decoded = all_frames[wanted] if all_frames is not None else read_frames(path, wanted)
    vp.frames.update(zip(wanted, decoded))
    return vp


def endpoint_input(record, size: int = DEFAULT_SIZE) -> np.ndarray:
    """The extraction input of one video: (4, size, size) float32 in [0, 1], frames ordered as
    ``VideoPairs.endpoints``. Raises VideoError/DataError naming the video."""
    return endpoint_pairs_input(record, size)[1]


def endpoint_pairs_input(record, size: int = DEFAULT_SIZE, pair1_only: bool = False) -> tuple[VideoPairs, np.ndarray]:
    """``endpoint_input`` and the ``VideoPairs`` it came from (extraction reads ``n_frames`` off it).

    ``pair1_only``: for a model that reads pair 1 only (``contract.PAIR1_ONLY_VECTORS``, e.g. the ed-es-flow
    vector): only ED and ES are decoded, and pair 2's slots (input frames 2-3) repeat them, so the input keeps
    its (4, size, size) shape and the model's output is the same as with the true pair 2."""
    vp = load_video_pairs(record, endpoints_only=True, pair1_only=pair1_only)
    idx = vp.endpoints()
    if pair1_only:
        idx = (idx[0], idx[1], idx[0], idx[1])
    return vp, to_model_input(np.stack([vp.frames[i] for i in idx]), size)
