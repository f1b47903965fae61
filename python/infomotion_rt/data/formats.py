"""What the readers share about files: the suffixes each decoder takes, the codecs that seek exactly, and
``VideoInfo`` (what a probe finds). A leaf module: both decoders (``video`` for AVI/MP4, ``dicom``) import it."""

from __future__ import annotations

from dataclasses import dataclass

VIDEO_SUFFIXES = (".avi", ".mp4", ".mov", ".mkv", ".m4v")
DICOM_SUFFIXES = (".dcm", ".dicom")  # DICOM cine loops are read by data/dicom.py (pydicom), not OpenCV
# Codecs whose every frame is a key frame: seeking is exact and costs one frame decode.
INTRA_ONLY_FOURCCS = frozenset({"MJPG", "mjpg", "MJPA", "AVDJ", "jpeg", "JPEG", "FFV1", "HFYU", "png ",
                                "MPNG", "raw ", "I420", "IYUV", "Y800", "GREY"})


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds. ``n_frames`` is checked as described in the module docstring."""

    n_frames: int
    fps: float
    height: int
    width: int
    codec: str = ""          # FourCC as text, e.g. "MJPG"; "" when the container does not say
    counted: bool = False    # True when n_frames was counted by decoding rather than read from the header

    @property
    def seekable(self) -> bool:
        return self.codec in INTRA_ONLY_FOURCCS
