"""DICOM as devices write it (issue 17, item 2), each file built with pydicom here: another modality, native
YBR_FULL_422, two files with one SOPInstanceUID, no frame rate or per-frame times only, a 2-frame loop.
Each bad file is one line naming it; the rest of the folder loads."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pydicom
import pytest
from click.testing import CliRunner
from pydicom.pixels import convert_color_space
from pydicom.sequence import Sequence
from pydicom.uid import EnhancedMRImageStorage, MRImageStorage, SecondaryCaptureImageStorage

from dicom_fixtures import canvas, phantom_loop, write_dicom
from infomotion_rt.cli import cli
from infomotion_rt.data import dicom
from infomotion_rt.data.cycle_detect import DEFAULT_FPS
from infomotion_rt.data.dicom import ALLOW_MODALITY_ENV, allow_modalities, find_dicom, read_dicom
from infomotion_rt.data.dicom_timing import frame_rate
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.data.phases import MIN_DETECT_FRAMES, record_fps
from infomotion_rt.data.video import probe
from infomotion_rt.errors import ConfigError, DataError, VideoError

FRAMES = 16


@pytest.fixture(autouse=True)
def _ultrasound_only(monkeypatch):
    """Every test starts with no modality allowed but US, and the CLI's setting does not leak out."""
    monkeypatch.setenv(ALLOW_MODALITY_ENV, "")


def _loop(i: int = 0, frames: int = FRAMES):
    return phantom_loop(i, frames)


def _edit(path, **tags):
    """Rewrite ``path`` with header ``tags`` set (value None deletes the tag)."""
    ds = pydicom.dcmread(path)
    for keyword, value in tags.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(path)
    return path


def _mr(path):
    """An MR multi-frame file as a scanner writes it (pydicom-data's emri_small: 16-bit grey, Modality MR)."""
    loop, fps = _loop(1)
    write_dicom(path, canvas(loop), fps)
    ds = pydicom.dcmread(path)
    ds.PixelData = (ds.pixel_array.astype(np.uint16) * 16).tobytes()
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds["PixelData"].VR = "OW"
    ds.Modality, ds.SOPClassUID = "MR", MRImageStorage
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.save_as(path)
    return path


def _ybr422(path, frames: int = 24):
    """(path, the RGB frames stored): a colour loop stored uncompressed as YBR_FULL_422. Colours are
    constant over each horizontal pixel pair, so the 4:2:2 chroma subsampling loses nothing."""
    loop, fps = _loop(2, frames)
    grey = canvas(loop, "DOE JANE")[:, :, ::2]
    rgb = np.stack([grey, (grey * 0.6).astype(np.uint8), 255 - grey], axis=-1)
    rgb[:, 150:190, 10:40] = (200, 30, 40)                         # a red box outside the sector
    rgb = np.repeat(rgb, 2, axis=2)
    write_dicom(path, rgb, fps)
    ds = pydicom.dcmread(path)
    ds.set_pixel_data(convert_color_space(rgb, "RGB", "YBR_FULL"), "YBR_FULL_422", 8)
    ds.save_as(path)
    return path, rgb


def _per_frame_times(path, step_ms: float, keyword: str = "FrameReferenceDateTime"):
    """An enhanced multi-frame file: no FrameTime or CineRate, each frame's time in the Frame Content
    Sequence of its PerFrameFunctionalGroupsSequence item."""
    loop, fps = _loop(3)
    write_dicom(path, canvas(loop), fps)
    ds = pydicom.dcmread(path)
    for keyword_gone in ("FrameTime", "FrameIncrementPointer", "CineRate"):
        delattr(ds, keyword_gone)
    items = []
    for i in range(FRAMES):
        content = pydicom.Dataset()
        if keyword == "FrameAcquisitionDuration":
            content.FrameAcquisitionDuration = step_ms
        else:
            ms = int(round(i * step_ms * 1000))  # microseconds since the first frame
            setattr(content, keyword, f"20240101120000.{0:06d}" if i == 0 else
                    f"2024010112{(ms // 60_000_000) % 60:02d}{(ms // 1_000_000) % 60:02d}.{ms % 1_000_000:06d}")
        group = pydicom.Dataset()
        group.FrameContentSequence = Sequence([content])
        items.append(group)
    ds.PerFrameFunctionalGroupsSequence = Sequence(items)
    ds.save_as(path)
    return path


# ------------------------------------------------------------------------------------------ modality

def test_another_modality_is_refused_with_one_line_unless_allowed(tmp_path):
    mr = _mr(tmp_path / "emri_small.dcm")
    for read in (probe, read_dicom):
        with pytest.raises(VideoError, match=r"emri_small\.dcm: Modality MR \(MR Image Storage\), not ultrasound "
                                             r"\(US\); not read as echo \('infomotion-rt --allow-modality MR "
                                             r"COMMAND \.\.\.' reads it: the option goes before the command\)") as err:
            read(mr)
        assert "\n" not in str(err.value)
    allow_modalities(["mr"])
    assert read_dicom(mr).shape == (FRAMES, 112, 112) and probe(mr).n_frames == FRAMES
    allow_modalities([])
    with pytest.raises(VideoError, match="Modality MR"):
        read_dicom(mr)
    with pytest.raises(ConfigError, match="not a DICOM Modality code"):
        allow_modalities(["M R!"])


def test_a_missing_modality_is_decided_by_the_sop_class(tmp_path):
    loop, fps = _loop(0)
    us = _edit(write_dicom(tmp_path / "us.dcm", canvas(loop), fps), Modality=None)
    assert read_dicom(us).shape == (FRAMES, 112, 112)              # Ultrasound Multi-frame Image Storage
    capture = write_dicom(tmp_path / "capture.dcm", canvas(loop), fps)
    ds = pydicom.dcmread(capture)
    del ds.Modality
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.save_as(capture)
    with pytest.raises(VideoError, match=r"capture\.dcm: no Modality and SOP class Secondary Capture Image "
                                         r"Storage is not an ultrasound one"):
        probe(capture)
    allow_modalities(["ANY"])
    assert probe(capture).n_frames == FRAMES
    enhanced_mr = _edit(write_dicom(tmp_path / "emr.dcm", canvas(loop), fps), Modality="MR",
                        SOPClassUID=EnhancedMRImageStorage)
    assert probe(enhanced_mr).n_frames == FRAMES                   # ANY reads every modality


# ------------------------------------------------------------------------------------- YBR_FULL_422

def test_native_ybr_full_422_reads_all_24_frames_in_the_right_colours(tmp_path):
    path, rgb = _ybr422(tmp_path / "ybr.dcm", frames=24)
    ds = pydicom.dcmread(path)
    assert (ds.PhotometricInterpretation, int(ds.NumberOfFrames)) == ("YBR_FULL_422", 24)
    assert len(ds.PixelData) == rgb[..., 0].size * 2                # 2 bytes a pixel: Y Y Cb Cr per pair
    decoded = np.stack(list(dicom._pixel_frames(ds, list(range(24)))))
    assert decoded.shape == rgb.shape and np.abs(decoded.astype(int) - rgb.astype(int)).max() <= 2
    assert tuple(decoded[23, 170, 20]) == pytest.approx((200, 30, 40), abs=2)  # red stays red, last frame too
    grey = dicom._decode(ds, path, list(range(24)))                # BT.601 grey of the right colours
    bt601 = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in rgb])
    assert np.abs(np.stack([grey[i] for i in range(24)]).astype(int) - bt601).max() <= 2
    frames = read_dicom(path)                                       # extract's read: every frame, none dropped
    assert frames.shape == (24, 112, 112) and frames.dtype == np.uint8
    # the RGB file the frames came from reads the same (a sector edge pixel may fall the other way)
    reference = read_dicom(write_dicom(tmp_path / "rgb.dcm", rgb, 50.0))
    assert np.abs(frames.astype(int) - reference.astype(int)).mean() < 0.1
    assert probe(path).n_frames == 24                               # info decodes the last frame as well


# --------------------------------------------------------------------------------------- duplicates

def test_two_files_with_one_sop_instance_uid_are_named_not_resolved(tmp_path):
    root = tmp_path / "site"
    loop, fps = _loop(0)
    first = write_dicom(root / "a" / "loop.dcm", canvas(loop), fps)
    shutil.copy(first, (root / "b").mkdir(parents=True) or root / "b" / "copy.dcm")
    other = write_dicom(root / "c" / "other.dcm", canvas(_loop(1)[0]), fps)
    uid = str(pydicom.dcmread(first).SOPInstanceUID)
    (root / "labels.csv").write_text(f"FileName,EF\n{uid},55\nother,40\nb/copy,60\n")
    with pytest.raises(DataError, match=rf"'{uid}' matches 2 files \(a/loop\.dcm, b/copy\.dcm\): the same "
                                        r"SOPInstanceUID twice"):
        find_dicom(root, uid)
    ds = load_dataset(root, progress=False)
    assert sorted(r.name for r in ds.records) == ["b/copy", "other"]  # by path or a unique name: found
    assert ds.dropped == (uid,)
    [line] = ds.problems.lines()
    assert line.startswith(f"{uid}: labels.csv line 2 ({uid}): ") and "a/loop.dcm, b/copy.dcm" in line
    assert line.endswith("record dropped")
    assert find_dicom(root, "other") == other.resolve()


def test_one_file_name_in_two_folders_is_ambiguous_by_name_and_found_by_path(tmp_path):
    loop, fps = _loop(0)
    write_dicom(tmp_path / "study1" / "IMG0001.dcm", canvas(loop), fps)
    write_dicom(tmp_path / "study2" / "IMG0001.dcm", canvas(loop), fps)
    with pytest.raises(DataError, match=r"'IMG0001' matches 2 files \(study1/IMG0001\.dcm, study2/IMG0001\.dcm\): "
                                        r"the same file name twice"):
        find_dicom(tmp_path, "IMG0001")
    assert find_dicom(tmp_path, "study2/IMG0001") == (tmp_path / "study2" / "IMG0001.dcm").resolve()


# --------------------------------------------------------------------------------------- frame rate

def test_no_frame_rate_is_a_problem_line_and_detection_assumes_the_default(tmp_path):
    root = tmp_path / "site"
    loop, fps = _loop(0)
    none = _edit(write_dicom(root / "none.dcm", canvas(loop), fps), FrameTime=None, FrameIncrementPointer=None,
                 CineRate=None)
    zero = _edit(write_dicom(root / "zero.dcm", canvas(loop), fps), FrameTime="0", CineRate=None)
    write_dicom(root / "timed.dcm", canvas(loop), fps)
    (root / "labels.csv").write_text("FileName,EF\nnone,50\nzero,50\ntimed,50\n")
    assert probe(none).fps == 0.0 and probe(zero).fps == 0.0
    ds = load_dataset(root, check_videos=True, progress=False)
    assert len(ds.records) == 3 and not ds.dropped                  # kept: extraction runs at the default
    assert DEFAULT_FPS == 50.0
    expected = ("frame rate unknown (none in the labels or the file); ED/ES detection assumes 50 fps, "
                "EchoNet-Dynamic's usual rate")
    assert ds.problems.lines() == [f"none: {expected}", f"zero: {expected}"]
    unprobed = {r.name: r for r in load_dataset(root, progress=False).records}
    assert record_fps(unprobed["none"]) is None                     # detect_ed_es then uses DEFAULT_FPS
    assert record_fps(unprobed["timed"]) == pytest.approx(fps, rel=1e-3)  # extraction reads the file's rate


def test_an_unknown_rate_is_exported_at_the_default_in_both_the_avi_and_its_filelist(tmp_path):
    from infomotion_rt.share.dataset import export_dataset

    root = tmp_path / "site"
    loop, fps = _loop(0)
    _edit(write_dicom(root / "none.dcm", canvas(loop), fps), FrameTime=None, FrameIncrementPointer=None, CineRate=None)
    (root / "labels.csv").write_text("FileName,EF\nnone,50\n")
    ex = export_dataset(["none"], root, tmp_path / "out", progress=False)
    assert any("frame rate unknown; exported at 50 fps" in line for line in ex.problems.lines())
    row = (tmp_path / "out" / "FileList.csv").read_text().splitlines()[1].split(",")
    assert float(row[6]) == DEFAULT_FPS
    video = next((tmp_path / "out" / "Videos").glob("*.avi"))
    assert probe(video).fps == pytest.approx(DEFAULT_FPS)


@pytest.mark.parametrize("keyword, rate", [("FrameReferenceDateTime", 40.0), ("FrameAcquisitionDateTime", 40.0),
                                           ("FrameAcquisitionDuration", 40.0)])
def test_per_frame_functional_group_times_give_the_rate(tmp_path, keyword, rate):
    path = _per_frame_times(tmp_path / "enhanced.dcm", 25.0, keyword)
    assert frame_rate(pydicom.dcmread(path, stop_before_pixels=True)) == (rate, keyword)
    assert probe(path).fps == rate


def test_frame_reference_times_beat_a_slowed_cine_rate_and_a_late_frame():
    ds = pydicom.Dataset()
    ds.CineRate = 15                                                # playback rate: loses
    stamps = [0, 20, 40, 60, 95, 115, 135]                          # ms; one late frame (35 ms)
    ds.PerFrameFunctionalGroupsSequence = Sequence([])
    for ms in stamps:
        content, group = pydicom.Dataset(), pydicom.Dataset()
        content.FrameReferenceDateTime = f"20240101120000.{ms * 1000:06d}"
        group.FrameContentSequence = Sequence([content])
        ds.PerFrameFunctionalGroupsSequence.append(group)
    assert frame_rate(ds) == (50.0, "FrameReferenceDateTime")      # the median step, 20 ms
    ds.FrameTime = "25"
    assert frame_rate(ds) == (40.0, "FrameTime")                    # the cine module's own tag comes first
    ds.FrameTime = "0"                                              # FrameTime 0 counts as absent
    assert frame_rate(ds) == (50.0, "FrameReferenceDateTime")


# ------------------------------------------------------------------------------------ short clips

def test_a_clip_too_short_for_extraction_is_dropped_by_info_in_extractions_words(tmp_path):
    from infomotion_rt.extract.pipeline import decode_for_encoder

    root = tmp_path / "site"
    loop, fps = _loop(0)
    write_dicom(root / "OBXXXX1A_2frame.dcm", canvas(loop[:2]), fps)
    write_dicom(root / "three.dcm", canvas(loop[:MIN_DETECT_FRAMES]), fps)
    (root / "labels.csv").write_text("FileName,EF\nOBXXXX1A_2frame,50\nthree,60\n")
    checked = load_dataset(root, check_videos=True, progress=False)
    assert [r.name for r in checked.records] == ["three"] and checked.dropped == ("OBXXXX1A_2frame",)
    reason = "2 frames: too short, ED/ES detection needs at least 3"
    assert checked.problems.lines() == [f"OBXXXX1A_2frame: {reason}; record dropped"]
    # extraction (unprobed records, as extract loads them) fails that clip with the same words, reads the other
    records = {r.name: r for r in load_dataset(root, progress=False).records}
    item, err, _ = decode_for_encoder(records["OBXXXX1A_2frame"], 112)
    assert item is None and err == reason
    item, err, _ = decode_for_encoder(records["three"], 112)
    assert err is None and item.shape == (4, 112, 112)


# ---------------------------------------------------------------------------------- the whole folder

def test_info_on_a_field_folder_lists_each_bad_file_once_and_reads_the_rest(tmp_path):
    root = tmp_path / "site"
    loop, fps = _loop(0)
    good = write_dicom(root / "good.dcm", canvas(loop), fps)
    _mr(root / "mr.dcm")
    _ybr422(root / "ybr.dcm")
    shutil.copy(good, root / "good_copy.dcm")
    write_dicom(root / "short.dcm", canvas(loop[:2]), fps)
    _edit(write_dicom(root / "untimed.dcm", canvas(loop), fps), FrameTime=None, CineRate=None)
    uid = pydicom.dcmread(good).SOPInstanceUID
    (root / "labels.csv").write_text(f"FileName,EF\n{uid},55\nmr,40\nybr,60\nshort,35\nuntimed,25\n")
    runner = CliRunner()
    r = runner.invoke(cli, ["info", str(root)])
    assert r.exit_code == 0, r.output
    assert "dicom layout, 2 videos" in r.output                      # ybr and untimed
    problems = [line.strip() for line in r.output.splitlines() if line.startswith("  ")]
    assert len(problems) == 4, problems
    for needle in (f"{uid}: labels.csv line 2 ({uid}): '{uid}' matches 2 files (good.dcm, good_copy.dcm)",
                   "mr: ", "Modality MR", "short: 2 frames: too short", "untimed: frame rate unknown"):
        assert needle in "\n".join(problems)
    r = runner.invoke(cli, ["--allow-modality", "MR", "info", str(root)])
    assert r.exit_code == 0 and "dicom layout, 3 videos" in r.output and "Modality MR" not in r.output, r.output
