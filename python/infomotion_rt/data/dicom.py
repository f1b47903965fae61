"""Ultrasound multi-frame DICOM (cine loops) in, uint8 grey ``(T, 112, 112)`` frames out.

A folder of DICOM files (any depth, with or without a DICOMDIR) plus a labels CSV
``FileName,EF[,Split]`` is the ``"dicom"`` layout of ``data.loader.load_dataset``; FileName is the file's
name (with or without ``.dcm``) or its SOPInstanceUID. ``video.probe`` / ``video.read_frames`` hand
DICOM files to ``probe_dicom`` / ``read_dicom`` here, so every stage reads them like AVIs.

Pixel data: pydicom 3 with the handlers it documents: native (uncompressed) and RLE Lossless by
pydicom itself (pylibjpeg-rle when installed, faster), JPEG baseline/extended/lossless and JPEG-LS by
pylibjpeg-libjpeg, JPEG 2000 by pylibjpeg-openjpeg. Another transfer syntax (e.g. MPEG-2/H.264
video, HTJ2K) is a VideoError naming the file and the syntax.

Frames, as EchoNet-Dynamic's own DICOM-to-AVI preprocessing did (crop the image, mask outside the
fan, resize to 112 x 112): colour (RGB; YBR_* converted to RGB by pydicom) to grey with BT.601
weights; MONOCHROME1 inverted; more than 8 bits scaled to 0-255; crop to the largest 2-D region of
SequenceOfUltrasoundRegions, or else to the bounding box of the sector (``sector.sector_mask``:
where the image changes over time); pixels outside the sector set to 0; padded to a square (ours:
keeps the fan's geometry) and resized. The sector is found from the same 16 evenly spaced frames
whatever frames are asked for, so a frame reads the same in every call.

Frame rate: ``dicom_timing.frame_rate`` (FrameIncrementPointer's attribute, FrameTime, FrameTimeVector,
the per-frame functional groups' Frame Content times, then CineRate and RecommendedDisplayFrameRate).
No tag: fps 0 (unknown), as for a video container without a rate; ``info`` lists it and ED/ES
detection assumes ``phases.DEFAULT_FPS`` (50).

Modality: only ultrasound (Modality US) is read as echo. A file without a Modality is read when its SOP
class is an ultrasound one (the SOP class says what the missing tag would have). Anything else is
refused unless allowed: ``allow_modalities(["MR"])`` (the CLI's ``--allow-modality MR``; ``ANY`` reads
every file, one without Modality too), kept in ``INFOMOTION_ALLOW_MODALITY`` so worker processes
inherit it.

Names: a label that matches two files (one file name in two folders, one SOPInstanceUID in two files)
is a DataError naming both: which one the label means cannot be told.

Refused files (VideoError, one line naming the file): not DICOM, another modality (above), no pixel
data, a single frame, an unsupported transfer syntax, a NumberOfFrames larger than the frames the pixel
data holds, a frame that does not decode (``probe_dicom`` decodes the first and the last frame).
"""

from __future__ import annotations

import functools
import io
import math
import os
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np
import pydicom
from pydicom.encaps import get_frame, parse_basic_offsets, parse_fragments
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, get_decoder, iter_pixels, pixel_array
from pydicom.uid import (EnhancedUSVolumeStorage, JPEGBaseline8Bit, UltrasoundImageStorage,
                         UltrasoundMultiFrameImageStorage)

from infomotion_rt.console import plural
from infomotion_rt.data.dicom_timing import frame_rate  # the reader's rate, public here too
from infomotion_rt.data.formats import DICOM_SUFFIXES, VIDEO_SUFFIXES, VideoInfo
from infomotion_rt.data.sector import bounding_box, sample_indices, sector_mask, square_resize
from infomotion_rt.errors import ConfigError, DataError, VideoError

OUTPUT_SIZE = 112  # EchoNet-Dynamic's frame size (its preprocessing resized to 112 x 112)
MASK_SIDE = 256  # the sector is found on frames subsampled to about this many pixels a side (speed)
_PREAMBLE = 128
ULTRASOUND = "US"
ANY_MODALITY = "ANY"
ALLOW_MODALITY_ENV = "INFOMOTION_ALLOW_MODALITY"
# Ultrasound SOP classes, current and retired (1.2.840.10008.5.1.4.1.1.3 and .6): they decide for a file
# without Modality
ULTRASOUND_SOP_CLASSES = frozenset({UltrasoundMultiFrameImageStorage, UltrasoundImageStorage, EnhancedUSVolumeStorage,
                                    "1.2.840.10008.5.1.4.1.1.3", "1.2.840.10008.5.1.4.1.1.6"})


def is_dicom(path: str | Path) -> bool:
    """True for a DICOM suffix, or a file of another (or no) suffix that holds the DICM marker."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    if path.suffix.lower() in VIDEO_SUFFIXES or path.name == "DICOMDIR" or not path.is_file():
        return False
    try:
        with path.open("rb") as fh:
            fh.seek(_PREAMBLE)
            return fh.read(4) == b"DICM"
    except OSError:
        return False


def _read(path: Path) -> pydicom.Dataset:
    if not path.is_file():
        raise VideoError(f"{path}: DICOM file not found")
    try:
        return pydicom.dcmread(path)
    except Exception as exc:  # a corrupt file can fail in many ways inside the parser; each is one line
        raise VideoError(f"{path}: not a readable DICOM file ({type(exc).__name__}: {exc})") from exc


# ------------------------------------------------------------------------------------- checks

def _frames_present(ds: pydicom.Dataset) -> int | None:
    """Frames the pixel data holds; None when it cannot be told without decoding."""
    data = ds.PixelData
    if not ds.file_meta.TransferSyntaxUID.is_encapsulated:
        samples = int(ds.get("SamplesPerPixel", 1))
        bytes_per = math.ceil(int(ds.BitsAllocated) / 8)
        per_pixel = 2 if ds.get("PhotometricInterpretation") == "YBR_FULL_422" else samples * bytes_per
        return len(data) // (int(ds.Rows) * int(ds.Columns) * per_pixel)
    if "ExtendedOffsetTable" in ds:
        return len(ds.ExtendedOffsetTable) // 8
    buf = io.BytesIO(data)
    offsets = parse_basic_offsets(buf)
    if offsets:
        return len(offsets)
    n_fragments, _ = parse_fragments(buf)
    return n_fragments if n_fragments > 0 else None  # > frames is legal (several fragments per frame)


def allow_modalities(codes: Iterable[str]) -> None:
    """Read DICOM files of these Modality codes (e.g. ``["MR"]``; ``["ANY"]``: every file, one without a
    Modality too) besides ultrasound, for every later read in this process and the worker processes it
    starts (stored in ``INFOMOTION_ALLOW_MODALITY``). An empty list goes back to ultrasound only.
    Raises ConfigError on a code that is not 1-16 letters, digits or underscores (a DICOM CS value)."""
    cleaned = sorted({c.strip().upper() for code in codes for c in code.replace(",", " ").split()})
    bad = [c for c in cleaned if not (c.replace("_", "").isalnum() and len(c) <= 16)]
    if bad:
        raise ConfigError(f"--allow-modality {bad[0]!r}: not a DICOM Modality code (e.g. MR, CT, XA, or ANY)")
    os.environ[ALLOW_MODALITY_ENV] = ",".join(cleaned)


def allowed_modalities() -> frozenset[str]:
    """The Modality codes read besides US (``allow_modalities``); may hold ``ANY``."""
    text = os.environ.get(ALLOW_MODALITY_ENV, "")
    return frozenset(c.strip().upper() for c in text.replace(",", " ").split())


def check_modality(ds: pydicom.Dataset, path: Path) -> None:
    """VideoError naming the file and its modality unless it is ultrasound or allowed (module docstring)."""
    modality = str(ds.get("Modality", "") or "").strip().upper()
    allowed = allowed_modalities()
    if modality == ULTRASOUND or ANY_MODALITY in allowed or (modality and modality in allowed):
        return
    sop = pydicom.uid.UID(str(ds.get("SOPClassUID", "") or ds.file_meta.get("MediaStorageSOPClassUID", "") or ""))
    if not modality:
        if sop in ULTRASOUND_SOP_CLASSES:
            return
        raise VideoError(f"{path}: no Modality and SOP class {sop.name or 'none'} is not an ultrasound one; "
                         f"not read as echo ('infomotion-rt --allow-modality {ANY_MODALITY} COMMAND ...' reads it)")
    raise VideoError(f"{path}: Modality {modality} ({sop.name or 'no SOP class'}), not ultrasound (US); not read "
                     f"as echo ('infomotion-rt --allow-modality {modality} COMMAND ...' reads it: the option goes before "
                     "the command)")


def checked_frame_count(ds: pydicom.Dataset, path: Path) -> int:
    """NumberOfFrames once the file is known to hold a decodable cine loop of an allowed modality;
    VideoError otherwise."""
    check_modality(ds, path)
    if "PixelData" not in ds:
        raise VideoError(f"{path}: no pixel data (PixelData element missing)")
    try:
        n = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        raise VideoError(f"{path}: NumberOfFrames {ds.get('NumberOfFrames')!r} is not a number") from None
    if n < 2:
        raise VideoError(f"{path}: a single-frame image (NumberOfFrames {n}); a cine loop is needed")
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if syntax is None:
        raise VideoError(f"{path}: no TransferSyntaxUID in the file meta")
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        decoder = None
    if decoder is None or not decoder.is_available:
        raise VideoError(f"{path}: unsupported compression {syntax.name} ({syntax}); no installed pixel-data "
                         "handler decodes it")
    try:
        present = _frames_present(ds)
    except (ValueError, KeyError, AttributeError) as exc:
        raise VideoError(f"{path}: malformed pixel data ({exc})") from exc
    if present is not None and present < n:  # every frame needs at least one fragment / its bytes
        raise VideoError(f"{path}: NumberOfFrames says {n} but the pixel data holds {plural(present, 'frame')}")
    return n


def ultrasound_region(ds: pydicom.Dataset) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1), end-exclusive, of the largest 2-D (RegionSpatialFormat 1) ultrasound region."""
    best, best_area = None, 0
    for item in ds.get("SequenceOfUltrasoundRegions") or []:
        if int(item.get("RegionSpatialFormat", 0) or 0) != 1:
            continue
        try:
            x0, y0 = int(item.RegionLocationMinX0), int(item.RegionLocationMinY0)
            x1, y1 = int(item.RegionLocationMaxX1), int(item.RegionLocationMaxY1)
        except (AttributeError, TypeError, ValueError):
            continue
        y0, x0 = max(y0, 0), max(x0, 0)
        y1, x1 = min(y1 + 1, int(ds.Rows)), min(x1 + 1, int(ds.Columns))
        if y1 - y0 >= 8 and x1 - x0 >= 8 and (y1 - y0) * (x1 - x0) > best_area:
            best, best_area = (y0, y1, x0, x1), (y1 - y0) * (x1 - x0)
    return best


# ------------------------------------------------------------------------------------- decode

def _grey(frame: np.ndarray, ds: pydicom.Dataset) -> np.ndarray:
    """One decoded frame (H, W) or (H, W, 3), any integer dtype -> (H, W) uint8."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric == "PALETTE COLOR":
        frame = apply_color_lut(frame, ds)
    if frame.ndim == 3:
        if frame.dtype != np.uint8:
            frame = (frame.astype(np.float32) / max(float(frame.max()), 1.0) * 255.0).astype(np.uint8)
        frame = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    elif frame.dtype != np.uint8:
        bits = int(ds.get("BitsStored", 16) or 16)
        low = -(2 ** (bits - 1)) if int(ds.get("PixelRepresentation", 0) or 0) else 0
        frame = ((frame.astype(np.float32) - low) * (255.0 / (2**bits - 1))).clip(0, 255).astype(np.uint8)
    if photometric == "MONOCHROME1":
        frame = 255 - frame
    return frame


def _jpeg_luma(ds: pydicom.Dataset, path: Path, wanted: list[int]) -> dict[int, np.ndarray] | None:
    """JPEG baseline, grey or YBR: OpenCV's libjpeg-turbo decodes the luma directly; the whole read
    takes 3.6x less CPU than through pylibjpeg-libjpeg + RGB + grey on 800 x 1040 frames
    (BENCHMARKS.md). None where it does not apply (RGB-coded JPEG, whose colour transform libjpeg
    would have to guess)."""
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if ds.file_meta.TransferSyntaxUID != JPEGBaseline8Bit or not (
            photometric.startswith("MONOCHROME") or photometric.startswith("YBR")):
        return None
    n = int(ds.NumberOfFrames)
    out = {}
    for index in wanted:
        try:
            data = get_frame(ds.PixelData, index, number_of_frames=n)
        except (ValueError, KeyError) as exc:
            raise VideoError(f"{path}: frame {index} cannot be read from the pixel data ({exc})") from exc
        frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        if frame is None:
            raise VideoError(f"{path}: frame {index} does not decode (corrupt JPEG data)")
        out[index] = 255 - frame if photometric == "MONOCHROME1" else frame
    return out


def _pixel_frames(ds: pydicom.Dataset, wanted: list[int]) -> Iterable[np.ndarray]:
    """Frames ``wanted`` as pydicom decodes them: (H, W) grey or (H, W, 3) RGB (YBR_* converted), the
    stored integer dtype; lazily, one frame at a time."""
    if ds.get("PhotometricInterpretation") == "YBR_FULL_422" and not ds.file_meta.TransferSyntaxUID.is_encapsulated:
        # pydicom 3.0.2's iter_pixels sizes native YBR_FULL_422 frames at 3 bytes a pixel, not 2, and fails
        # after 2/3 of the frames; pixel_array(ds, index=i) sizes them right and converts to RGB
        return (pixel_array(ds, index=i) for i in wanted)
    return iter_pixels(ds, indices=wanted)


def _decode(ds: pydicom.Dataset, path: Path, wanted: list[int]) -> dict[int, np.ndarray]:
    """Frames ``wanted`` (sorted, unique) as (H, W) uint8 grey."""
    fast = _jpeg_luma(ds, path, wanted)
    if fast is not None:
        return fast
    out: dict[int, np.ndarray] = {}
    frames = _pixel_frames(ds, wanted)
    try:
        for index, frame in zip(wanted, frames):
            out[index] = _grey(frame, ds)
    except Exception as exc:  # a handler's own error types vary; each becomes one line naming the file
        missing = next((i for i in wanted if i not in out), wanted[-1])
        raise VideoError(f"{path}: frame {missing} does not decode ({type(exc).__name__}: {exc})") from exc
    return out


def probe_dicom(path: str | Path, exact: bool = False) -> VideoInfo:
    """Frame count, rate (frames/s, 0.0 when no tag gives one) and (output) frame size of a DICOM cine
    loop; decodes its first and last frame.
    ``exact`` is accepted for ``video.probe``'s signature: the count is always checked against the
    pixel data. Raises VideoError as listed in the module docstring."""
    path = Path(path)
    ds = _read(path)
    n = checked_frame_count(ds, path)
    _decode(ds, path, [0, n - 1])  # the last frame too: a layout or file that fails part-way shows here
    fps, _ = frame_rate(ds)
    return VideoInfo(n_frames=n, fps=fps, height=OUTPUT_SIZE, width=OUTPUT_SIZE,
                     codec=f"DICOM {ds.file_meta.TransferSyntaxUID.name}", counted=False)


def read_dicom(path: str | Path, indices: Iterable[int] | None = None, size: int = OUTPUT_SIZE,
               require_sector: bool = False) -> np.ndarray:
    """Frames ``indices`` (0-based, in the order asked; None = all) of a DICOM cine loop, preprocessed
    as in the module docstring: (T, size, size) uint8, 0 outside the sector. Without a detectable
    sector the whole crop is kept, unless ``require_sector`` (de-identified export), which raises.
    Raises VideoError naming the file (refused files, an index out of range)."""
    path = Path(path)
    ds = _read(path)
    n = checked_frame_count(ds, path)
    wanted = list(range(n)) if indices is None else [int(i) for i in indices]
    if not wanted:
        raise VideoError(f"{path}: no frame indices requested")
    bad = [i for i in wanted if not 0 <= i < n]
    if bad:
        raise VideoError(f"{path}: frame {bad[0]} is out of range (NumberOfFrames {n})")
    sample = sample_indices(n)
    frames = _decode(ds, path, sorted(set(wanted) | set(sample)))
    region = ultrasound_region(ds)
    stack = np.stack([frames[i] for i in sample])
    if region is not None:
        y0, y1, x0, x1 = region
        stack = stack[:, y0:y1, x0:x1]
    mask = sector_mask(stack, step=max(1, max(stack.shape[1:]) // MASK_SIDE))
    if mask is None:
        if require_sector:
            raise VideoError(f"{path}: no ultrasound sector found (nothing changes over time); not exported")
        mask = np.ones(stack.shape[1:], bool)
    if region is None:
        region = bounding_box(mask)
        y0, y1, x0, x1 = region
        mask = mask[y0:y1, x0:x1]
    y0, y1, x0, x1 = region
    crop = np.stack([frames[i][y0:y1, x0:x1] for i in wanted])
    out, _ = square_resize(crop, mask, size)
    return out


# -------------------------------------------------------------------------------------- folders

def _dicomdir_files(root: Path) -> list[tuple[Path, str]]:
    """(file, SOPInstanceUID or "") of every image record a DICOMDIR references."""
    try:
        ds = pydicom.dcmread(root / "DICOMDIR")
    except (InvalidDicomError, OSError, ValueError) as exc:
        raise VideoError(f"{root / 'DICOMDIR'}: not a readable DICOMDIR ({exc})") from exc
    out = []
    for record in ds.get("DirectoryRecordSequence") or []:
        parts = record.get("ReferencedFileID")
        if not parts:
            continue
        parts = [parts] if isinstance(parts, str) else list(parts)
        out.append((root.joinpath(*parts), str(record.get("ReferencedSOPInstanceUIDInFile", ""))))
    return out


def _files(root: Path) -> list[tuple[Path, str]]:
    """(file, SOPInstanceUID if known without reading the file, else "") of every DICOM file."""
    if (root / "DICOMDIR").is_file():
        return _dicomdir_files(root)
    return [(p, "") for p in sorted(root.rglob("*"))
            if not any(part.startswith(".") for part in p.relative_to(root).parts) and is_dicom(p)]


@functools.lru_cache(maxsize=8)
def _name_index(root: str, _stamp: int) -> dict[str, tuple[Path, ...]]:
    """File name and path relative to ``root``, each with and without its DICOM suffix (and DICOMDIR
    UIDs) -> every file it names (several: the same file name in two folders)."""
    index: dict[str, list[Path]] = {}
    for path, uid in _files(Path(root)):
        relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else ""
        for name in (path.name, relative):
            for key in (name, name[: -len(path.suffix)] if path.suffix.lower() in DICOM_SUFFIXES else "", uid):
                if key and path not in index.setdefault(key, []):
                    index[key].append(path)
    return {key: tuple(paths) for key, paths in index.items()}


@functools.lru_cache(maxsize=8)
def _uid_index(root: str, _stamp: int) -> dict[str, tuple[Path, ...]]:
    """SOPInstanceUID -> every file holding it, read from each file's header (only built when a name is
    not a file name)."""
    index: dict[str, list[Path]] = {}
    for path in sorted({p for paths in _name_index(root, _stamp).values() for p in paths}):
        try:
            uid = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"]).get("SOPInstanceUID")
        except (InvalidDicomError, OSError, ValueError, EOFError):
            continue  # found by name only; reading it later gives the one-line error
        if uid:
            index.setdefault(str(uid), []).append(path)
    return {key: tuple(paths) for key, paths in index.items()}


def find_dicom(root: str | Path, name: str) -> Path | None:
    """The DICOM file under ``root`` whose file name or path relative to ``root`` (with or without
    suffix) or SOPInstanceUID is ``name``; None when absent. The folder is indexed once (cached until its
    modification time changes); headers are read for their UIDs only when some name is not a file name.
    Raises DataError naming every match when ``name`` matches several files (a file name in two folders,
    a SOPInstanceUID in two files): which one is meant cannot be told."""
    root = Path(root).resolve()
    stamp, name = root.stat().st_mtime_ns, name.strip()
    for index in (_name_index, _uid_index):
        paths = index(str(root), stamp).get(name)
        if paths and len(paths) > 1:
            what = "SOPInstanceUID" if index is _uid_index or set(name) <= set("0123456789.") else "file name"
            shown = ", ".join(p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p) for p in paths)
            raise DataError(f"{name!r} matches {len(paths)} files ({shown}): the same {what} twice; which one "
                            f"is meant cannot be told (label it by its path in the folder, or remove the copy)")
        if paths:
            return paths[0]
    return None


def is_dicom_folder(root: str | Path, look_at: int = 50) -> bool:
    """True when ``root`` has a DICOMDIR or one of its first ``look_at`` files (any depth) is DICOM."""
    root = Path(root)
    if (root / "DICOMDIR").is_file():
        return True
    for i, path in enumerate(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() != ".csv"):
        if i >= look_at:
            break
        if is_dicom(path):
            return True
    return False
