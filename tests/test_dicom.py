"""DICOM input (data/dicom.py) and the de-identified export (export_dataset.py), on DICOM files built
with pydicom from phantom videos: five transfer syntaxes, colour, ultrasound regions, a DICOMDIR, and
broken files (single frame, no pixel data, a NumberOfFrames that lies, an unsupported compression)."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pydicom
import pytest
from click.testing import CliRunner

from dicom_fixtures import SECRET, SYNTAXES, canvas, phantom_loop, write_dicom
from infomotion_rt.cli import cli
from infomotion_rt.data.dicom import find_dicom, read_dicom
from infomotion_rt.data.dicom_timing import frame_rate
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.data.video import probe, read_frames
from infomotion_rt.errors import ConfigError, VideoError
from infomotion_rt.share.dataset import ECHONET_COLUMNS, export_dataset, pseudonym

FRAMES = 16
GOOD = {"echo_native": ("native", 25.0), "echo_rle": ("rle", 35.0), "echo_jpeg": ("jpeg", 45.0),
        "echo_j2k": ("j2k", 55.0), "echo_jpegls": ("jpegls", 60.0), "echo_rgb": ("native", 75.0),
        "echo_ybr": ("jpeg", 65.0)}
COLOUR = ("echo_rgb", "echo_ybr")  # RGB native with ultrasound regions; YBR_FULL_422 JPEG
BROKEN = ("one_frame", "no_pixels", "lying_count", "mpeg2")


def _loop(i: int):
    return phantom_loop(i, FRAMES)


@pytest.fixture(scope="module")
def dicom_dir(tmp_path_factory):
    """A DICOM dataset folder: seven good loops (text burned in a corner, a patient name in the header),
    four broken files, and labels.csv naming them by file name (one by SOPInstanceUID, one by path)."""
    pytest.importorskip("jpeg_ls", reason="pyjpegls (test extra) encodes the JPEG-LS file")
    root = tmp_path_factory.mktemp("dicom") / "clinic"
    rows = []
    for i, (name, (syntax, ef)) in enumerate(GOOD.items()):
        loop, fps = _loop(i)
        colour = name in COLOUR
        path = write_dicom(root / "studies" / f"{name}.dcm", canvas(loop, "DOE JANE 01.02.1970", colour), fps,
                           syntax, regions=colour)
        label = {"echo_rle": pydicom.dcmread(path).SOPInstanceUID, "echo_j2k": f"studies/{name}"}.get(name, f"{name}.dcm")
        rows.append([label, ef, "TRAIN"])
    loop, fps = _loop(9)
    write_dicom(root / "one_frame.dcm", canvas(loop[:1]), fps)
    broken = write_dicom(root / "no_pixels.dcm", canvas(loop), fps)
    ds = pydicom.dcmread(broken)
    del ds.PixelData
    ds.save_as(broken)
    write_dicom(root / "lying_count.dcm", canvas(loop), fps, "rle", number_of_frames=FRAMES + 8)
    mpeg = write_dicom(root / "mpeg2.dcm", canvas(loop), fps, "jpeg")
    ds = pydicom.dcmread(mpeg)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.MPEG2MPML
    ds.save_as(mpeg)
    rows += [[f"{name}.dcm", 50.0, "TRAIN"] for name in BROKEN]
    with open(root / "labels.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["FileName", "EF", "Split"], *rows])
    return root


@pytest.mark.parametrize("name", list(GOOD))
def test_every_transfer_syntax_reads_back_as_the_phantom(dicom_dir, name, tmp_path):
    i = list(GOOD).index(name)
    loop, fps = _loop(i)
    path = dicom_dir / "studies" / f"{name}.dcm"
    info = probe(path)
    assert (info.n_frames, info.height, info.width) == (FRAMES, 112, 112) and info.codec.startswith("DICOM")
    assert info.fps == pytest.approx(fps, rel=1e-3)                # FrameTime wins over CineRate 15
    frames = read_frames(path)
    assert frames.shape == (FRAMES, 112, 112) and frames.dtype == np.uint8
    # the same loop, grey, native, no text, no patient name: lossless syntaxes give the same frames
    regions = name in COLOUR
    reference = read_dicom(write_dicom(tmp_path / "ref.dcm", canvas(loop), fps, "native", "ANON", regions=regions))
    if GOOD[name][0] == "jpeg":  # lossy: the fan's edge may move by a pixel, so compare blurred frames
        blur = lambda v: np.stack([cv2.GaussianBlur(f, (0, 0), 2.0) for f in v]).astype(float).ravel()  # noqa: E731
        assert np.corrcoef(blur(frames), blur(reference))[0, 1] > 0.95
    else:
        assert np.abs(frames.astype(int) - reference.astype(int)).max() <= 1
    if name == "echo_rgb":  # lossless, cropped to the ultrasound region, which is where the 112 x 112 loop sits: the loop comes back
        assert np.abs(frames.astype(int) - loop.astype(int)).mean() < 0.5
    np.testing.assert_array_equal(read_frames(path, [5, 2, 5]), frames[[5, 2, 5]])  # same mask whatever is read


def test_jpeg_fast_path_matches_pydicom(dicom_dir):
    """OpenCV's JPEG luma (the fast path) against pydicom + pylibjpeg-libjpeg + BT.601 grey."""
    from pydicom.pixels import iter_pixels

    from infomotion_rt.data.dicom import _grey, _jpeg_luma

    for name in ("echo_jpeg", "echo_ybr"):
        path = dicom_dir / "studies" / f"{name}.dcm"
        ds = pydicom.dcmread(path)
        fast = _jpeg_luma(ds, path, [0, 7])
        slow = [_grey(f, ds) for f in iter_pixels(ds, indices=[0, 7])]
        assert np.abs(fast[7].astype(int) - slow[1].astype(int)).mean() < 1.0


def test_broken_files_are_one_line_each_and_the_rest_loads(dicom_dir):
    ds = load_dataset(dicom_dir, check_videos=True, progress=False)
    labels = {"echo_rle": str(pydicom.dcmread(dicom_dir / "studies" / "echo_rle.dcm").SOPInstanceUID),
              "echo_j2k": "studies/echo_j2k"}  # by SOPInstanceUID, by path relative to the folder
    assert ds.layout == "dicom" and sorted(r.name for r in ds.records) == sorted(labels.get(n, n) for n in GOOD)
    assert sorted(ds.dropped) == sorted(BROKEN)
    lines = {line.split(":")[0]: line for line in ds.problems.lines()}
    assert "single-frame" in lines["one_frame"] and "one_frame.dcm" in lines["one_frame"]
    assert "no pixel data" in lines["no_pixels"]
    assert f"NumberOfFrames says {FRAMES + 8} but the pixel data holds {FRAMES}" in lines["lying_count"]
    assert "unsupported compression MPEG2" in lines["mpeg2"]
    assert all("\n" not in line for line in lines.values())
    with pytest.raises(VideoError, match="lying_count.dcm"):
        read_frames(dicom_dir / "lying_count.dcm", [0])


def test_truncated_and_fake_files_are_one_line(dicom_dir, tmp_path):
    data = (dicom_dir / "studies" / "echo_native.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) // 2])
    (tmp_path / "fake.dcm").write_bytes(b"not a dicom file at all")
    for name in ("cut.dcm", "fake.dcm"):
        with pytest.raises(VideoError, match=name) as err:
            read_frames(tmp_path / name)
        assert "\n" not in str(err.value)


def test_burned_text_and_header_do_not_reach_the_pixels(tmp_path):
    """The same loop with and without corner text and patient name gives identical frames."""
    loop, fps = _loop(0)
    with_text = write_dicom(tmp_path / "a.dcm", canvas(loop, "DOE JANE 01.02.1970"), fps)
    plain = write_dicom(tmp_path / "b.dcm", canvas(loop), fps, patient="ANON")
    np.testing.assert_array_equal(read_dicom(with_text), read_dicom(plain))


def test_frame_rate_follows_the_frame_increment_pointer():
    ds = pydicom.Dataset()
    ds.FrameTime, ds.CineRate = "20", 15
    assert frame_rate(ds) == (50.0, "FrameTime")
    ds.FrameTimeVector = [0, 25, 25, 25]
    ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTimeVector")
    assert frame_rate(ds) == (40.0, "FrameTimeVector")
    only_cine = pydicom.Dataset()
    only_cine.CineRate = 30
    assert frame_rate(only_cine) == (30.0, "CineRate") and frame_rate(pydicom.Dataset()) == (0.0, "")


def test_dicomdir_and_sop_instance_uids(tmp_path):
    from pydicom.fileset import FileSet

    fileset, uids = FileSet(), []
    for i in range(2):
        loop, fps = _loop(i)
        ds = pydicom.dcmread(write_dicom(tmp_path / "src" / f"{i}.dcm", canvas(loop), fps, "rle"))
        ds.PatientID, ds.StudyDate, ds.StudyTime, ds.StudyID = "P1", "20240101", "1200", "1"
        ds.AccessionNumber, ds.SeriesNumber, ds.InstanceNumber = "A1", 1, i + 1
        fileset.add(ds)
        uids.append(ds.SOPInstanceUID)
    root = tmp_path / "media"
    fileset.write(root)
    (root / "labels.csv").write_text("FileName,EF\n" + "".join(f"{u},{40 + 20 * i}\n" for i, u in enumerate(uids)))
    ds = load_dataset(root, check_videos=True, progress=False)
    assert ds.layout == "dicom" and [r.name for r in ds.records] == uids and not ds.problems
    assert find_dicom(root, uids[0]).parent != root                 # found through the DICOMDIR's file IDs


def _scan(folder, needles: list[bytes]) -> list[str]:
    """Files under ``folder`` whose bytes contain one of ``needles``."""
    return [f"{p.name}:{n!r}" for p in folder.rglob("*") if p.is_file() for n in needles if n in p.read_bytes()]


def test_cli_info_extract_select_and_deidentified_export(dicom_dir, tmp_path):
    """info, extract (shipped ONNX encoder), select --export-dataset on the DICOM folder; the export is
    de-identified by default and reads back with the data layer."""
    runner = CliRunner()
    r = runner.invoke(cli, ["info", str(dicom_dir)])
    assert r.exit_code == 0 and "dicom layout, 7 videos" in r.output and "mpeg2" in r.output, r.output
    feats = tmp_path / "f.npz"
    r = runner.invoke(cli, ["extract", str(dicom_dir), "--out", str(feats), "--batch-size", "4"])
    assert r.exit_code == 0 and "extracted 7 videos" in r.output, r.output
    assert str(dicom_dir) not in feats.read_bytes().decode("latin-1")  # no source path in the shared file
    out = tmp_path / "share" / "distilled"
    r = runner.invoke(cli, ["select", "--features", str(feats), "--vpc", "1", "--split", "all", "--out",
                            str(tmp_path / "sel.csv"), "--export-dataset", str(out), "--data", str(dicom_dir)])
    assert r.exit_code == 0, r.output
    assert "de-identified" in r.output and str(out.parent / "distilled.deid-key") in r.output
    back = load_dataset(out, check_videos=True, progress=False)
    assert back.layout == "synthetic" and len(back.records) == 5 and not back.dropped  # one per EF class
    with open(out / "FileList.csv", newline="") as fh:
        assert tuple(next(csv.reader(fh))) == (*ECHONET_COLUMNS, "Weight")  # the selection's sample weight
    key = (out.parent / "distilled.deid-key").read_bytes().strip()
    mapping = list(csv.DictReader(open(out.parent / "distilled.deid-map.csv")))
    assert sorted(m["FileName"] for m in mapping) == sorted(r.name for r in back.records)
    assert all(m["FileName"] == pseudonym(key, m["SourceName"]) for m in mapping)
    assert {(out.parent / f).stat().st_mode & 0o777 for f in ("distilled.deid-key", "distilled.deid-map.csv")} == {0o600}
    secrets = [SECRET.encode(), b"DOE", b"ID-4711", b"echo_", b"clinic", b"studies", b"1.2.826"]
    assert _scan(out, secrets) == [] and not list(out.rglob("*.dcm"))
    for rec in back.records:
        frames = read_frames(rec.path)
        assert frames.shape[1:] == (112, 112) and frames[:, :10, :10].max() <= 2  # top corners outside the fan


def test_export_key_rules(dicom_dir, tmp_path):
    with pytest.raises(ConfigError, match="always exported de-identified"):
        export_dataset(["echo_native"], dicom_dir, tmp_path / "x", deidentify=False)
    with pytest.raises(ConfigError, match="must not be inside the export"):
        export_dataset(["echo_native"], dicom_dir, tmp_path / "x", key_file=tmp_path / "x" / "key")
    key = tmp_path / "site.key"
    key.write_text("too short")
    with pytest.raises(ConfigError, match="at least 16"):
        export_dataset(["echo_native"], dicom_dir, tmp_path / "x", key_file=key)
    key.write_text("a site-wide secret of enough length")
    first = export_dataset(["echo_native", "one_frame"], dicom_dir, tmp_path / "a", key_file=key)
    second = export_dataset(["echo_native"], dicom_dir, tmp_path / "b", key_file=key)
    assert not first.key_generated and first.n_videos == 1 and second.n_videos == 1
    assert [p.name for p in (tmp_path / "a" / "Videos").iterdir()] == [p.name for p in (tmp_path / "b" / "Videos").iterdir()]
    assert [line.split(":")[0] for line in first.problems.lines()] == ["one_frame"]  # one line, the rest goes on


def test_avi_source_deidentified_keeps_tracings_and_blacks_the_corner(tmp_path):
    from infomotion_rt.phantom.generate import generate

    src = tmp_path / "ph"
    generate(src, 3, seed=1, frames=FRAMES, progress=False)
    names = [r.name for r in load_dataset(src, progress=False).records]
    first = sorted((src / "Videos").iterdir())[0]
    frames = read_frames(first)
    frames[:, :12, :30] = 255                                   # burned-in text outside the sector
    from infomotion_rt.data.video import write_avi

    write_avi(first, frames, 50.0)
    res = export_dataset(names, src, tmp_path / "out", deidentify=True)
    assert res.deidentified and res.key_generated and res.key_file.parent == tmp_path and res.n_videos == 3
    back = load_dataset(tmp_path / "out", check_videos=True, progress=False)
    assert back.layout == "dynamic" and all(r.tracings is not None for r in back.records)
    assert not set(names) & {r.name for r in back.records} and _scan(tmp_path / "out", [n.encode() for n in names]) == []
    for rec in back.records:
        assert read_frames(rec.path)[:, :12, :30].max() <= 2


def test_a_still_loop_has_no_sector_and_is_not_exported(tmp_path):
    loop, fps = _loop(2)
    still = np.repeat(loop[:1], FRAMES, axis=0)                   # nothing changes: no sector to find
    root = tmp_path / "src"
    write_dicom(root / "still.dcm", canvas(still, "DOE JANE"), fps)
    write_dicom(root / "moving.dcm", canvas(loop, "DOE JANE"), fps, "rle")
    (root / "labels.csv").write_text("FileName,EF\nstill,50\nmoving,60\n")
    assert read_dicom(root / "still.dcm").shape == (FRAMES, 112, 112)  # reading keeps the whole frame
    res = export_dataset(["still", "moving"], root, tmp_path / "out")
    assert res.deidentified and res.n_videos == 1
    assert res.problems.lines() == ["still: no ultrasound sector found (nothing changes over time); not exported"]
