"""Frame rate of a DICOM cine loop from its header (``dicom.py`` reads the pixels).

The tags, in this order (the first that gives a positive rate wins):

1. the attribute FrameIncrementPointer names (the standard's own statement of which one times the
   frames), when it is FrameTime or FrameTimeVector;
2. FrameTime (0018,1063): ms between frames;
3. FrameTimeVector (0018,1065): ms since the previous frame; its first entry is 0 and is skipped;
   the mean of the rest;
4. enhanced multi-frame objects (Enhanced US Volume and others with a Multi-frame Functional Groups
   module): the Frame Content Sequence (0020,9111) of each PerFrameFunctionalGroupsSequence item.
   The median step between consecutive FrameReferenceDateTime (0018,9151) values, "the point in time
   that is most representative of when data was acquired for this frame" (PS3.3 C.7.6.16.2.2.2); else
   between FrameAcquisitionDateTime (0018,9074) values (when each frame's acquisition started); else
   the mean FrameAcquisitionDuration (0018,9220), ms of acquisition per frame, which equals the frame
   interval only for back-to-back acquisition and so comes last;
5. CineRate, then RecommendedDisplayFrameRate (frames/s).

Acquisition timing wins over CineRate because CineRate is the intended *playback* rate, which may be
slowed down for review; motion per frame depends on the acquisition. FrameTime 0 counts as absent. No
tag: 0.0 (unknown); callers then assume ``phases.DEFAULT_FPS`` and ``info`` says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pydicom
from pydicom.valuerep import DT

FRAME_TIME, FRAME_TIME_VECTOR = 0x00181063, 0x00181065


def _from_time(ds: pydicom.Dataset) -> float:
    t = float(ds.get("FrameTime", 0) or 0)
    return 1000.0 / t if t > 0 else 0.0


def _from_vector(ds: pydicom.Dataset) -> float:
    v = [float(x) for x in (ds.get("FrameTimeVector") or [])][1:]
    v = [x for x in v if x > 0]
    return 1000.0 / float(np.mean(v)) if v else 0.0


def _frame_contents(ds: pydicom.Dataset) -> list[pydicom.Dataset]:
    """The Frame Content item of every per-frame functional group that has one, in frame order."""
    out = []
    for item in ds.get("PerFrameFunctionalGroupsSequence") or []:
        content = item.get("FrameContentSequence") or []
        if len(content):
            out.append(content[0])
    return out


def _from_datetimes(keyword: str) -> Callable[[pydicom.Dataset], float]:
    def rate(ds: pydicom.Dataset) -> float:
        times = []
        for content in _frame_contents(ds):
            value = content.get(keyword)
            if value in (None, ""):
                return 0.0  # a gap: the steps would straddle it
            times.append(DT(str(value)).timestamp())
        steps = np.diff(times)
        steps = steps[steps > 0]
        return 1.0 / float(np.median(steps)) if len(steps) else 0.0  # median: one late frame does not move it
    return rate


def _from_durations(ds: pydicom.Dataset) -> float:
    ms = [float(c.get("FrameAcquisitionDuration") or 0) for c in _frame_contents(ds)]
    ms = [m for m in ms if m > 0]
    return 1000.0 / float(np.mean(ms)) if ms else 0.0


def _plain(keyword: str) -> Callable[[pydicom.Dataset], float]:
    def rate(ds: pydicom.Dataset) -> float:
        value = ds.get(keyword)
        return float(value) if value not in (None, "") and float(value) > 0 else 0.0
    return rate


def frame_rate(ds: pydicom.Dataset) -> tuple[float, str]:
    """(frames per second rounded to 0.01, the tag it came from) by the order in the module docstring;
    (0.0, "") if no tag gives a positive rate. A malformed value is skipped, never raised."""
    pointer = ds.get("FrameIncrementPointer")
    pointers = [int(p) for p in (pointer if isinstance(pointer, (list, tuple, pydicom.multival.MultiValue))
                                 else [pointer] if pointer is not None else [])]
    candidates: list[tuple[str, Callable[[pydicom.Dataset], float]]] = []
    if FRAME_TIME in pointers:
        candidates.append(("FrameTime", _from_time))
    if FRAME_TIME_VECTOR in pointers:
        candidates.append(("FrameTimeVector", _from_vector))
    candidates += [("FrameTime", _from_time), ("FrameTimeVector", _from_vector),
                   ("FrameReferenceDateTime", _from_datetimes("FrameReferenceDateTime")),
                   ("FrameAcquisitionDateTime", _from_datetimes("FrameAcquisitionDateTime")),
                   ("FrameAcquisitionDuration", _from_durations),
                   ("CineRate", _plain("CineRate")),
                   ("RecommendedDisplayFrameRate", _plain("RecommendedDisplayFrameRate"))]
    for tag, rate in candidates:
        try:
            fps = round(rate(ds), 2)  # FrameTime is stored as text ("33.333"): 30.0003 fps is 30.0
        except (TypeError, ValueError, AttributeError, OverflowError):  # a malformed value: try the next tag
            continue
        if np.isfinite(fps) and fps > 0:
            return fps, tag
    return 0.0, ""


def header_frame_rate(path: str | Path) -> float:
    """The file's frame rate (frames/s) from its header alone (no pixel data read); 0.0 when no tag gives
    one or the header cannot be read (reading the file later names the problem)."""
    try:
        return frame_rate(pydicom.dcmread(path, stop_before_pixels=True))[0]
    except Exception:  # noqa: BLE001 - any parser failure means "unknown" here; read_dicom reports it
        return 0.0
