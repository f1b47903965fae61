"""The optical-flow baseline as a representation a user may choose (issue 19, item 2; definition ours,
the flow itself Farneback 2003 via OpenCV's ``calcOpticalFlowFarneback``).

``infomotion-rt extract DATA_DIR --representation flow --out F.npz`` writes one such vector per video in
the ordinary features-file format, so ``select``, ``evaluate`` and ``benchmark`` read it unchanged; no model
file is involved. It is also the reference the shipped encoder's vector is measured against
(``benchmarks/bench_flow_vs_encoder.py``, BENCHMARKS.md).

Definition (``FLOW_DEFINITION``; pinned as issue 19 measured it -- results are compared across runs, so it
must not change; a changed definition gets a new name):

* Frames: the grey ED and ES frames of the video at its decoded resolution (H, W) uint8, ED/ES exactly as
  the probe representation takes them (``pixels.record_ed_es``): the tracings' when the record has both
  (then only those two frames are decoded), else ``data.phases.detect_ed_es`` on the whole decoded video
  with ``data.phases.record_fps``.
* Flow: ``cv2.calcOpticalFlowFarneback(ED, ES, None, 0.5, 3, 15, 3, 5, 1.2, 0)`` -> (H, W, 2) float32,
  the displacement of each ED pixel towards ES: ED(y, x) ~ ES(y + dy, x + dx).
* Pooling: dx, dy and the per-pixel magnitude sqrt(dx^2 + dy^2), each area-resized to 8 x 8
  (``cv2.resize``, ``INTER_AREA``: cell means), plus abs(ED - ES) in float grey levels / 255, area-resized
  to 8 x 8 the same way.
* Vector: dx, dy, magnitude, absdiff, each 8 x 8 flattened row-major (row = image row), concatenated in that
  order -> (256,) float32.
* Units: dx, dy and magnitude in pixels of the decoded frame (a 112 x 112 EchoNet video: pixels of 112);
  absdiff in [0, 1] (grey levels / 255).

Numpy + OpenCV only, no torch, no sklearn: a workstation imports it.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np

from infomotion_rt.data.video import read_frames
from infomotion_rt.errors import DataError, InfoMotionError
from infomotion_rt.extract.featureset import make_meta
from infomotion_rt.extract.pixels import record_ed_es, traced_ed_es

GRID = 8
DIM = 4 * GRID * GRID
REPRESENTATION = "flow-v1"
FARNEBACK = (0.5, 3, 15, 3, 5, 1.2, 0)   # pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags
FLOW_DEFINITION = (
    "flow-v1: grey ED and ES frames at the decoded resolution (ED/ES: tracings' when both, else "
    "data.phases.detect_ed_es with record_fps); cv2.calcOpticalFlowFarneback(ED, ES, None, 0.5, 3, 15, 3, 5, "
    "1.2, 0); dx, dy, magnitude (pixels) and abs(ED - ES) (grey / 255) each area-pooled to 8x8 "
    "(cv2.resize INTER_AREA), row-major; concatenated dx, dy, mag, absdiff (256 float32) "
    "[issue 19.2, ours; Farneback 2003 via OpenCV]")
# What a features file of this representation records as its "model hash" (one per store, resume checks it).
DEFINITION_HASH = hashlib.sha256(FLOW_DEFINITION.encode("utf-8")).hexdigest()
PRODUCER = "infomotion-rt extract"


def _pool(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (GRID, GRID), interpolation=cv2.INTER_AREA).reshape(GRID * GRID)


def flow_vector(ed: np.ndarray, es: np.ndarray) -> np.ndarray:
    """The representation (module docstring) of one ED/ES pair of grey frames, each (H, W) uint8 of the
    same shape: (256,) float32 = dx, dy, magnitude (pixels), absdiff (grey / 255), 8 x 8 cells each.
    Deterministic. ED == ES gives absdiff 0 and a flow within a few hundredths of a pixel of 0 (Farneback's
    own residue; not special-cased: the definition is the OpenCV call as measured). DataError for frames that
    are not two equal-shaped 2-D uint8 images."""
    ed, es = np.asarray(ed), np.asarray(es)
    if ed.ndim != 2 or ed.shape != es.shape or ed.dtype != np.uint8 or es.dtype != np.uint8:
        raise DataError(f"flow needs two grey (H, W) uint8 frames of one shape, got {ed.dtype} {ed.shape} "
                        f"and {es.dtype} {es.shape}")
    flow = cv2.calcOpticalFlowFarneback(ed, es, None, *FARNEBACK)
    dx, dy = np.ascontiguousarray(flow[..., 0]), np.ascontiguousarray(flow[..., 1])
    mag = np.sqrt(dx * dx + dy * dy)
    diff = np.abs(ed.astype(np.float32) - es.astype(np.float32)) * np.float32(1.0 / 255.0)
    return np.concatenate([_pool(dx), _pool(dy), _pool(mag), _pool(diff)]).astype(np.float32)


def ed_es_frames(record) -> np.ndarray:
    """The grey ED and ES frames of one video, (2, H, W) uint8 at the decoded resolution (ED/ES as the
    module docstring). Traced videos decode only those two frames. Raises VideoError/DataError naming the
    video file when it cannot be decoded or its ED/ES fall outside it."""
    traced = traced_ed_es(record)
    if traced is not None:
        if min(traced) < 0:
            raise DataError(f"{record.path}: ED {traced[0]} / ES {traced[1]} outside the video")
        return read_frames(record.path, list(traced))   # VideoError naming the file past its last frame
    frames = read_frames(record.path)
    ed, es = record_ed_es(record, frames)
    return frames[[ed, es]]


def video_flow(record) -> np.ndarray:
    """The representation of one video: ``flow_vector`` of its ``ed_es_frames``; (256,) float32. Raises
    VideoError/DataError naming the video file."""
    frames = ed_es_frames(record)
    try:
        return flow_vector(frames[0], frames[1])
    except DataError as exc:
        raise DataError(f"{record.path}: {exc}") from exc


class FlowExtractor:
    """Stands in for the encoder in ``extract.pipeline.extract_features``' loop: the reader thread decodes a video's
    ED/ES frames (``decode``), the main thread computes the flow vectors of a batch (``__call__``), so decoding
    overlaps the flow as it overlaps inference. Batches are lists (``stack``): videos may differ in size.

    ``threads`` > 0 sets OpenCV's thread count for the process (``cv2.setNumThreads``); 0 leaves it."""

    name = "flow"
    representation = REPRESENTATION
    feature_dim = DIM
    image_size = None
    model_hash = DEFINITION_HASH
    stack = staticmethod(list)

    def __init__(self, threads: int = 0) -> None:
        if threads > 0:
            cv2.setNumThreads(threads)
        self.runtime = f"OpenCV {cv2.__version__} calcOpticalFlowFarneback, CPU ({cv2.getNumThreads()} threads)"
        self.config = {"representation": REPRESENTATION, "grid": GRID, "farneback": list(FARNEBACK)}

    @staticmethod
    def decode(rec):
        """(frames (2, H, W) uint8 or None, error or None, None); never raises (as
        ``extract.pipeline.decode_for_encoder``)."""
        try:
            frames = ed_es_frames(rec)
            if frames.ndim != 3 or frames.shape[0] != 2 or frames.dtype != np.uint8:
                raise DataError(f"{rec.path}: decoded ED/ES frames of shape {frames.shape} {frames.dtype}")
            return frames, None, None
        except InfoMotionError as exc:
            return None, str(exc), None
        except Exception as exc:  # a decoder crash must not kill the whole run; it is reported
            return None, f"{rec.path}: {type(exc).__name__}: {exc}", None

    def __call__(self, batch) -> np.ndarray:
        """A list of (2, H, W) uint8 frame pairs -> (B, 256) float32."""
        return np.stack([flow_vector(f[0], f[1]) for f in batch]).reshape(len(batch), DIM)


def flow_meta(dataset, data_dir, split: str | None, fingerprint: str, extractor: FlowExtractor,
              keep_paths: bool = False) -> dict:
    """The meta block of a flow features file: the representation and its definition instead of a model
    (``model`` None, ``engine`` empty, ``model_hash`` the definition's SHA-256), plus what ``--resume``
    checks (split, dataset fingerprint)."""
    from pathlib import Path

    where = {"dataset": str(Path(data_dir).resolve())} if keep_paths else {}
    return make_meta(PRODUCER, engine="", model_hash=DEFINITION_HASH, model=None, representation=REPRESENTATION,
                     definition=FLOW_DEFINITION, backend="opencv", runtime=extractor.runtime,
                     config=extractor.config, feature_dim=DIM,
                     units="dx, dy, magnitude: pixels of the decoded frame; absdiff: grey levels / 255",
                     layout=dataset.layout, split=split or "ALL", dataset_fingerprint=fingerprint, **where)
