"""Video decoding with OpenCV: AVI and MP4 in, uint8 grayscale ``(T, H, W)`` arrays out.

Conventions
-----------
* Frames are 0-based. ``read_frames(path, indices)`` returns them in the order asked, duplicates kept.
* Colour frames are converted to grayscale with OpenCV's BT.601 weights; EchoNet AVIs store three
  identical channels, for which this returns the channel unchanged.
* Frame counts. The container's count (``CAP_PROP_FRAME_COUNT``) comes from the header and can be
  wrong (zero, estimated from duration, or larger than what decodes). ``probe`` therefore checks it:
  a count <= 0 is replaced by counting frames sequentially; for intra-only codecs (MJPG & co.,
  where seeking is exact and cheap) the last claimed frame is decoded, and if it does not decode the
  frames are counted sequentially. ``probe(path, exact=True)`` always counts sequentially.
  ``read_frames`` never trusts the header: asking for a frame past what decodes raises VideoError.
* Reading only what is needed. Intra-only codecs are read by seeking to each requested frame (every
  frame is a key frame, so the seek is frame-exact). Other codecs (MPEG-4, H.264 in MP4) are read
  sequentially from the start, skipping unwanted frames with ``grab()`` (no colour conversion) and
  stopping right after the last requested frame, since seeking there can land on the wrong frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

from infomotion_rt.data.formats import DICOM_SUFFIXES, INTRA_ONLY_FOURCCS, VIDEO_SUFFIXES, VideoInfo  # noqa: F401
from infomotion_rt.errors import VideoError

class _Capture:
    """A cv2.VideoCapture that is released on exit and names its file in every error."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: video file not found")
        self.cap = cv2.VideoCapture(str(self.path))
        if not self.cap.isOpened():
            self.cap.release()
            raise VideoError(f"{self.path}: cannot be opened as a video (undecodable or unsupported container)")

    def __enter__(self) -> "_Capture":
        return self

    def __exit__(self, *_exc) -> None:
        self.cap.release()

    def codec(self) -> str:
        code = int(self.cap.get(cv2.CAP_PROP_FOURCC))
        text = code.to_bytes(4, "little").decode("latin-1") if code > 0 else ""
        return text if text.isprintable() else ""

    def header_count(self) -> int:
        value = self.cap.get(cv2.CAP_PROP_FRAME_COUNT)
        return int(value) if np.isfinite(value) and value > 0 else 0

    def seek(self, index: int) -> None:
        self.cap.set(cv2.CAP_PROP_POS_FRAMES, float(index))

    def read_gray(self) -> np.ndarray | None:
        ok, frame = self.cap.read()
        return _to_gray(frame) if ok and frame is not None else None

    def count_sequentially(self) -> int:
        self.seek(0)
        n = 0
        while self.cap.grab():
            n += 1
        return n


def _to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 1:
        return frame[:, :, 0]
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def probe(path: str | Path, exact: bool = False) -> VideoInfo:
    """Frame count, frame rate and frame size of a video; decodes its first frame to prove it decodes.

    Raises VideoError when the file is missing, cannot be decoded, or holds no frame.
    DICOM files go to ``dicom.probe_dicom`` (frame size is then the preprocessed 112 x 112).
    """
    if _is_dicom(path):
        from infomotion_rt.data.dicom import probe_dicom

        return probe_dicom(path, exact)
    with _Capture(path) as cap:
        first = cap.read_gray()
        if first is None:
            raise VideoError(f"{cap.path}: no decodable frame (empty or corrupt video)")
        codec = cap.codec()
        fps = float(cap.cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n, counted = cap.header_count(), False
        if exact or n <= 0 or (codec in INTRA_ONLY_FOURCCS and not _last_frame_decodes(cap, n)):
            n, counted = cap.count_sequentially(), True
        if n <= 0:
            raise VideoError(f"{cap.path}: zero frames")
        return VideoInfo(n_frames=n, fps=fps if np.isfinite(fps) else 0.0, height=int(first.shape[0]),
                         width=int(first.shape[1]), codec=codec, counted=counted)


def _is_dicom(path: str | Path) -> bool:
    """A DICOM file by suffix or, for a name without a video suffix, by its DICM marker."""
    if Path(path).suffix.lower() in VIDEO_SUFFIXES:
        return False
    from infomotion_rt.data.dicom import is_dicom  # function-level: pydicom takes ~1.7 s to import; only a non-video file pays it

    return is_dicom(path)


def _last_frame_decodes(cap: _Capture, n: int) -> bool:
    cap.seek(n - 1)
    return cap.read_gray() is not None


def read_frames(path: str | Path, indices: Iterable[int] | None = None) -> np.ndarray:
    """Decode frames ``indices`` (0-based; ``None`` = all) of a video as a ``(T, H, W)`` uint8 array.

    Only the requested frames are decoded where the codec allows seeking; otherwise decoding stops
    right after the last requested frame. Raises VideoError naming the file when it is missing,
    undecodable, holds zero frames, or a requested index is negative or past the last decodable frame.
    DICOM files go to ``dicom.read_dicom`` (cropped to the sector, masked, 112 x 112).
    """
    if _is_dicom(path):
        from infomotion_rt.data.dicom import read_dicom

        return read_dicom(path, indices)
    with _Capture(path) as cap:
        if indices is None:
            return _read_all(cap)
        wanted = [int(i) for i in indices]
        if not wanted:
            raise VideoError(f"{cap.path}: no frame indices requested")
        if min(wanted) < 0:
            raise VideoError(f"{cap.path}: frame index {min(wanted)} is negative")
        unique = sorted(set(wanted))
        if cap.codec() in INTRA_ONLY_FOURCCS:
            frames = _read_by_seeking(cap, unique)
        else:
            frames = _read_sequentially(cap, unique)
        return np.stack([frames[i] for i in wanted])


def _read_all(cap: _Capture) -> np.ndarray:
    frames = []
    while (frame := cap.read_gray()) is not None:
        frames.append(frame)
    if not frames:
        raise VideoError(f"{cap.path}: zero decodable frames")
    return np.stack(frames)


def _read_by_seeking(cap: _Capture, unique: Sequence[int]) -> dict[int, np.ndarray]:
    frames: dict[int, np.ndarray] = {}
    position = 0  # index of the frame the next read() returns
    for index in unique:
        if index != position:  # consecutive frames need no seek
            cap.seek(index)
        frame = cap.read_gray()
        if frame is None:
            raise _out_of_range(cap, index)
        frames[index] = frame
        position = index + 1
    return frames


def _read_sequentially(cap: _Capture, unique: Sequence[int]) -> dict[int, np.ndarray]:
    frames: dict[int, np.ndarray] = {}
    targets = set(unique)
    for index in range(unique[-1] + 1):
        if not cap.cap.grab():
            raise _out_of_range(cap, min(targets - frames.keys()))
        if index in targets:
            ok, frame = cap.cap.retrieve()
            if not ok or frame is None:
                raise VideoError(f"{cap.path}: frame {index} cannot be decoded")
            frames[index] = _to_gray(frame)
    return frames


def _out_of_range(cap: _Capture, index: int) -> VideoError:
    claimed = cap.header_count()
    detail = f"the header claims {claimed} frames" if claimed else "the header gives no frame count"
    return VideoError(f"{cap.path}: frame {index} is out of range (not decodable; {detail})")


def write_avi(path: Path, frames: np.ndarray, fps: float) -> None:
    """(T, H, W) uint8 grayscale -> MJPG AVI with 3 identical channels (EchoNet's format); VideoError when
    OpenCV cannot open the writer. Writes ``path`` directly: callers write into a temporary folder."""
    h, w = frames.shape[1:]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), float(fps), (w, h), True)
    if not writer.isOpened():
        raise VideoError(f"{path}: OpenCV cannot open an MJPG writer")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    finally:
        writer.release()


def find_video(directory: Path, name: str, suffixes: Sequence[str] = VIDEO_SUFFIXES) -> Path | None:
    """The video ``name`` (with or without a suffix) in ``directory``; None when absent.

    A name that already carries a video suffix is looked up as is first; otherwise each suffix is
    tried in order, lower and upper case.
    """
    if Path(name).suffix.lower() in suffixes:
        if (directory / name).is_file():
            return directory / name
        name = Path(name).stem
    for suffix in suffixes:
        for candidate in (directory / f"{name}{suffix}", directory / f"{name}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None
