"""Phantom loops as ultrasound multi-frame DICOM files (pydicom), for tests, benchmarks and trials of
the DICOM input without patient data.

``write_dicom`` embeds a (T, 112, 112) phantom loop in a larger frame (as a workstation screen
capture does), optionally burns static text into a corner and a name into the header, and stores
it in one of several transfer syntaxes: native (explicit VR little endian), RLE Lossless (pydicom's
own encoder), JPEG baseline (frames coded by OpenCV, encapsulated by pydicom), JPEG 2000 Lossless
(pylibjpeg-openjpeg's encoder) and JPEG-LS Lossless (pyjpegls' encoder, in the test extra).
``canvas`` takes ``scale`` for a workstation-sized frame (4: a 448 x 448 loop in an 800 x 1040 frame).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import compress
from pydicom.sequence import Sequence
from pydicom.uid import (JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless, ExplicitVRLittleEndian,
                         RLELossless, UltrasoundMultiFrameImageStorage, generate_uid)

SYNTAXES = {"native": ExplicitVRLittleEndian, "rle": RLELossless, "jpeg": JPEGBaseline8Bit,
            "j2k": JPEG2000Lossless, "jpegls": JPEGLSLossless}
CANVAS = (200, 260)    # rows, columns of the stored frame at scale 1
OFFSET = (40, 90)      # where the 112 x 112 phantom sits in it at scale 1
SECRET = "DOE^JANE"


def canvas(loop: np.ndarray, text: str | None = None, colour: bool = False, scale: int = 1) -> np.ndarray:
    """The loop (resized ``scale`` times) placed in a black CANVAS * scale frame, static white ``text``
    burned into its top-left corner (outside the sector); (T, H, W) grey or (T, H, W, 3) RGB."""
    t = len(loop)
    if scale != 1:
        loop = np.stack([cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) for f in loop])
    out = np.zeros((t, CANVAS[0] * scale, CANVAS[1] * scale), np.uint8)
    y, x = OFFSET[0] * scale, OFFSET[1] * scale
    out[:, y:y + loop.shape[1], x:x + loop.shape[2]] = loop
    if text:
        for frame in out:
            cv2.putText(frame, text, (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 2)
    return np.repeat(out[..., None], 3, axis=3) if colour else out


def write_dicom(path: Path, frames: np.ndarray, fps: float, syntax: str = "native", patient: str = SECRET,
                regions: bool = False, number_of_frames: int | None = None, scale: int = 1) -> Path:
    """A multi-frame ultrasound DICOM of (T, H, W) grey or (T, H, W, 3) RGB uint8 ``frames`` (a ``canvas``
    of that ``scale``): FrameTime from ``fps``, a slower CineRate, the patient name ``patient``, and with
    ``regions`` a SequenceOfUltrasoundRegions item around the loop."""
    colour = frames.ndim == 4
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientName, ds.PatientID = "US", patient, "ID-4711"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.FrameTime = f"{1000.0 / fps:.3f}"
    ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
    ds.CineRate = 15  # a slowed playback rate: must lose against FrameTime
    ds.NumberOfFrames = len(frames)
    ds.Rows, ds.Columns = frames.shape[1:3]
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = "RGB" if colour else "MONOCHROME2"
    if colour:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if regions:
        item = pydicom.Dataset()
        item.RegionSpatialFormat, item.RegionDataType = 1, 1
        y, x, side = OFFSET[0] * scale, OFFSET[1] * scale, 112 * scale
        item.RegionLocationMinX0, item.RegionLocationMinY0 = x, y
        item.RegionLocationMaxX1, item.RegionLocationMaxY1 = x + side - 1, y + side - 1
        ds.SequenceOfUltrasoundRegions = Sequence([item])
    ds.PixelData = np.ascontiguousarray(frames).tobytes()
    tsuid = SYNTAXES[syntax]
    if syntax == "jpeg":
        coded = [cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR) if colour else f,
                              [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes() for f in frames]
        ds.PixelData = encapsulate(coded)
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = tsuid
        if colour:
            ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
    elif syntax != "native":
        ds = compress(ds, tsuid, generate_instance_uid=False)
    if number_of_frames is not None:
        ds.NumberOfFrames = number_of_frames
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path
