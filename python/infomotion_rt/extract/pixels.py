"""The independent representation of a video for read-out probes (issue 16, item 2; definition ours).

No selection method sees it: it is built from the decoded frames, not from the motion encoder, so a
probe on it tells whether a selection picked informative videos or only videos its own features like.

Definition (``PIXELS_DEFINITION``; fixed: results are compared across selections, so it must not change):
per video, three grey images -- the ED frame, the ES frame and the per-pixel standard deviation over the
frames of one cardiac cycle starting at ED -- each area-resized to 16 x 16 and divided by 255, flattened
and concatenated in that order: (768,) float32.

* ED/ES: the tracings' (``VideoRecord.ed/es``) when the record has both, else ``data.phases.detect_ed_es``
  on the whole decoded video with ``data.phases.record_fps`` (as extraction's ``runtime.inputs``).
* One cycle: ``data.phases.cycle_length(ED, ES)`` frames (systole 1/3 of the cycle, as ``frame_pairs``
  and the CNN's clips), rounded, at least 2 and at most the video; from ED on, wrapping round the video's
  end (the cycle is periodic, as the CNN's clips). ED == ES (a detector fallback): the whole video.
* Standard deviation: population (ddof 0), computed on the full-resolution grey levels, then resized.
* Resizing: ``runtime.inputs.to_model_input`` (OpenCV area interpolation when shrinking, bilinear when
  enlarging; / 255).

Cache: computed once per dataset for every video (every split) on first use and stored beside the
motion features, ``F.npz`` -> ``F.pixels.npz`` (``pixels_path``), a features file of the same format
(``extract.files.write_features``) keyed by the same video names; later calls read it and compute only
videos it lacks. Numpy + OpenCV only, no torch: a workstation imports it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from infomotion_rt.data.phases import cycle_length, detect_ed_es, record_fps
from infomotion_rt.data.video import read_frames
from infomotion_rt.errors import DataError, InfoMotionError
from infomotion_rt.extract.featureset import dataset_fingerprint, make_feature_set, make_meta
from infomotion_rt.extract.files import read_features, write_features
from infomotion_rt.runtime.inputs import to_model_input

SIZE = 16
DIM = 3 * SIZE * SIZE
PIXELS_DEFINITION = ("pixels-v1: ED frame, ES frame, per-pixel std (ddof 0) over one cardiac cycle from ED; "
                     "each area-resized to 16x16 grey / 255; concatenated (768 float32) [issue 16.2, ours]")
PRODUCER = "infomotion-rt pixels"


def pixels_path(features_path) -> Path:
    """Where the representation of the videos of features file ``features_path`` is cached:
    ``F.npz`` -> ``F.pixels.npz``; a folder of shards ``F/`` -> ``F.pixels.npz`` beside it."""
    p = Path(features_path)
    stem = p.with_suffix("") if p.suffix.lower() == ".npz" else p
    return stem.parent / f"{stem.name}.pixels.npz"


def traced_ed_es(record) -> tuple[int, int] | None:
    """The tracings' (ED, ES) frame indices when ``record`` has both, else None (the detector's turn)."""
    if record.ed is not None and record.es is not None:
        return int(record.ed), int(record.es)
    return None


def record_ed_es(record, frames: np.ndarray) -> tuple[int, int]:
    """(ED, ES) frame indices of one video as this representation (and ``flow``) takes them: the tracings'
    when the record has both, else ``data.phases.detect_ed_es`` on ``frames`` -- the whole decoded video,
    (T, H, W) uint8 -- with ``data.phases.record_fps``. DataError naming the video file when either index
    falls outside ``frames``."""
    n = len(frames)
    traced = traced_ed_es(record)
    # fps bounds the detector's heart-rate search
    ed, es = traced if traced is not None else detect_ed_es(frames, fps=record_fps(record))
    if not (0 <= ed < n and 0 <= es < n):
        raise DataError(f"{record.path}: ED {ed} / ES {es} outside a video of {n} frames")
    return ed, es


def video_pixels(record) -> np.ndarray:
    """The representation of one video (module docstring): (768,) float32, values in [0, 1] (grey / 255;
    the std image in grey levels / 255). Deterministic. Raises VideoError/DataError naming the video when
    it cannot be decoded or its ED/ES fall outside it."""
    frames = read_frames(record.path)  # whole video: the cycle (and, untraced, the detector) needs it
    n = len(frames)
    ed, es = record_ed_es(record, frames)
    length = n if ed == es else min(max(int(round(cycle_length(ed, es))), 2), n)
    cycle = frames[(ed + np.arange(length)) % n].astype(np.float32)
    images = np.stack([frames[ed].astype(np.float32), frames[es].astype(np.float32), cycle.std(axis=0)])
    return to_model_input(images, SIZE).reshape(DIM)


def load_or_build(records, features_path, *, log=None):
    """The representation of every record, from the cache beside ``features_path`` (``pixels_path``),
    computing (and adding to the cache) the records it lacks.

    Returns ``(FeatureSet, info)``: the set holds every cached video (names as the records', EF and
    split from the records when computed); ``info`` is ``{"path", "computed", "reused", "failed": {name:
    error}, "seconds", "ms_per_video"}``. A video that cannot be decoded is left out and listed in the
    file's meta (``failed``), so it is not retried on every call. DataError naming the file when the
    cache is not a features file or holds another definition (delete it to rebuild)."""
    path = pixels_path(features_path)
    have, failed = None, {}
    if path.exists():
        have = read_features(path)
        if have.meta.get("definition") != PIXELS_DEFINITION or have.features.shape[1] != DIM:
            raise DataError(f"{path}: holds another representation ({have.meta.get('definition')!r}, "
                            f"{have.features.shape[1]} values); delete it to rebuild")
        failed = dict(have.meta.get("failed") or {})
    known = set(have.names.tolist()) if have is not None else set()
    todo = [r for r in records if r.name not in known and r.name not in failed]
    t0 = time.perf_counter()
    vectors, done = [], []
    for i, rec in enumerate(todo):
        try:
            vectors.append(video_pixels(rec))
            done.append(rec)
        except InfoMotionError as exc:
            failed[rec.name] = str(exc)
        except Exception as exc:  # a decoder crash must not stop the probe; the video is reported
            failed[rec.name] = f"{type(exc).__name__}: {exc}"
        if log and (i + 1) % 500 == 0:
            log(f"pixels: {i + 1}/{len(todo)} videos")
    seconds = time.perf_counter() - t0
    if todo:
        names = [r.name for r in done]
        feats = [np.asarray(vectors, dtype=np.float32).reshape(len(done), DIM)]
        ef, split = [np.array([r.ef for r in done], dtype=np.float64)], [np.array([r.split for r in done], dtype=str)]
        if have is not None:
            names, feats = have.names.tolist() + names, [have.features] + feats
            ef, split = [have.ef] + ef, [have.split] + split
        meta = make_meta(PRODUCER, definition=PIXELS_DEFINITION, failed=failed,
                         dataset_fingerprint=dataset_fingerprint(records))
        have = make_feature_set(names, np.concatenate(feats), np.concatenate(ef), np.concatenate(split), meta)
        write_features(path, have)
    info = {"path": str(path), "computed": len(done), "reused": len(known), "failed": failed,
            "seconds": seconds, "ms_per_video": 1000 * seconds / len(todo) if todo else None}
    return have, info
