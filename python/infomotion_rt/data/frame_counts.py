"""Videos that decode fewer frames than they claim: a note for batch reports, not a failure.

A truncated or badly muxed AVI keeps the frame count of its header, and FileList's NumberOfFrames may
have been written from another copy of the file. Extraction works from the frames that decode (the
phases and frame pairs are placed inside them), so such a video is kept, and the user is told that its
vector comes from a shorter clip than the labels describe.

How the decodable count is found: extraction passes the count it already has (``VideoPairs.n_frames``),
so the check costs at most opening the container to read the count its header claims. Traced videos are
probed (``video.probe``): for intra-only codecs (MJPG, EchoNet's) the last frame the header claims is
decoded, and the frames are counted when it does not decode; for other codecs (MPEG-4, H.264) the header
is trusted, as a full count would cost a full decode (a frame the pairs need that does not decode still
fails that video). Untraced videos are decoded whole for ED/ES detection, so their count is exact.
DICOM files are probed by ``data/dicom.py``, which reports a NumberOfFrames that lies itself, so only
FileList's count is compared for them.
"""

from __future__ import annotations

import cv2
import numpy as np

from infomotion_rt.data.formats import DICOM_SUFFIXES
from infomotion_rt.data.video import probe


def header_frame_count(path) -> int:
    """The frame count an OpenCV-readable video's container claims (0 when it claims none or cannot open)."""
    cap = cv2.VideoCapture(str(path))
    try:
        value = cap.get(cv2.CAP_PROP_FRAME_COUNT) if cap.isOpened() else 0.0
    finally:
        cap.release()
    return int(value) if np.isfinite(value) and value > 0 else 0


def frame_count_note(record, decoded: int | None = None, counted: bool = True) -> str | None:
    """A one-line note when ``record``'s video decodes fewer frames than its header or FileList says.

    ``record`` is a ``VideoRecord`` whose ``n_frames`` still holds the FileList value (a dataset loaded
    without ``check_videos``; after probing it holds the video's count and the load noted the difference).
    ``decoded`` is the frame count the caller already established (``VideoPairs.n_frames``) and
    ``counted`` whether it came from decoding rather than the header; the header is opened (no decoding)
    only then. Without ``decoded`` the video is probed here (decodes its first and last claimed frame).
    Returns None when nothing claims more frames than decode. Raises VideoError when a probe fails.
    """
    if decoded is None:
        info = probe(record.path)
        decoded, counted = info.n_frames, info.counted
    claims = []
    if counted and record.path.suffix.lower() not in DICOM_SUFFIXES:  # a header count equals decoded otherwise
        header = header_frame_count(record.path)
        if header > decoded:
            claims.append(f"its header says {header}")
    listed = record.n_frames if getattr(record, "probed", None) is None else None
    if listed is not None and listed > decoded:
        claims.append(f"FileList says {listed}")
    if not claims:
        return None
    return (f"decodes {decoded} frames but {' and '.join(claims)}; features taken from the {decoded} "
            f"that decode (note, not a failure)")
