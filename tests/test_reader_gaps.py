"""Small reader gaps: a video that decodes fewer frames than it claims is noted by extract (not a
failure); a FileList with a header and no rows is an error that says so."""

import subprocess
import sys

from click.testing import CliRunner

from echo_fixtures import HEADER, ellipse_frames, make_dynamic, tracing_rows, write_csv, write_video
from infomotion_rt.cli import cli
from infomotion_rt.data.frame_counts import frame_count_note, header_frame_count
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.data.video import probe
from infomotion_rt.extract.files import read_features
from infomotion_rt.extract.pipeline import extract_features


def _short_dataset(root):
    """4 traced 40-frame 64x64 videos (ED 3, ES 9): 0X0000 cut short on disk (the header still claims
    40), 0X0001 listed with 60 frames in FileList."""
    filelist, tracings = [], []
    for i in range(4):
        name = f"0X{i:04d}"
        write_video(root / "Videos" / f"{name}.avi", ellipse_frames(40, 64, seed=i))
        filelist.append([name, 51.0, 100.0, 200.0, 64, 64, 30, 60 if i == 1 else 40, ["TRAIN", "VAL", "TEST"][i % 3]])
        tracings += tracing_rows(f"{name}.avi", 9, 40.0, 14.0) + tracing_rows(f"{name}.avi", 3, 40.0, 20.0)
    write_csv(root / "FileList.csv", HEADER, filelist)
    write_csv(root / "VolumeTracings.csv", ["FileName", "X1", "Y1", "X2", "Y2", "Frame"], tracings)
    cut = root / "Videos" / "0X0000.avi"
    cut.write_bytes(cut.read_bytes()[: int(cut.stat().st_size * 0.6)])
    return root


def test_frame_count_note(tmp_path):
    root = _short_dataset(tmp_path / "d")
    records = {r.name: r for r in load_dataset(root).records}
    cut = root / "Videos" / "0X0000.avi"
    decoded = probe(cut).n_frames
    assert 10 < decoded < 40 and header_frame_count(cut) == 40   # the header still claims 40
    assert frame_count_note(records["0X0000"]) == (
        f"decodes {decoded} frames but its header says 40 and FileList says 40; features taken from the {decoded} that decode "
        f"(note, not a failure)")
    assert frame_count_note(records["0X0001"]).startswith("decodes 40 frames but FileList says 60;")
    assert frame_count_note(records["0X0002"]) is None
    probed = load_dataset(root, check_videos=True, progress=False).records[1]
    assert frame_count_note(probed) is None    # after probing, the load itself noted the FileList count


def test_extract_notes_short_videos_and_keeps_them(tmp_path):
    root = _short_dataset(tmp_path / "d")
    res = extract_features(root, None, tmp_path / "f.npz", progress=False)
    assert sorted(read_features(tmp_path / "f.npz").names.tolist()) == ["0X0000", "0X0001", "0X0002", "0X0003"]
    lines = res.problems.lines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("0X0000: decodes ") and "its header says 40" in lines[0]
    assert lines[1].startswith("0X0001: decodes 40 frames but FileList says 60")
    result = CliRunner().invoke(cli, ["extract", str(root), "--out", str(tmp_path / "g.npz")])
    assert result.exit_code == 0, result.output
    assert "wrote 4 vectors" in result.stdout and "FileList says 60" in result.stdout


def _info(path):
    return subprocess.run([sys.executable, "-m", "infomotion_rt.cli", "info", str(path)],
                          capture_output=True, text=True)


def test_info_on_a_header_only_list_says_it_is_empty(tmp_path):
    dyn = make_dynamic(tmp_path / "dyn", n=2)
    (dyn / "FileList.csv").write_text((dyn / "FileList.csv").read_text().splitlines()[0] + "\n")
    ped = write_csv(tmp_path / "ped" / "A4C" / "FileList.csv",
                    ["FileName", "EF", "Sex", "Age", "Weight", "Height", "Split"], []).parent.parent
    plain = tmp_path / "plain"
    write_csv(plain / "labels.csv", ["FileName", "EF"], [])
    for root, listing in ((dyn, dyn / "FileList.csv"), (ped, ped / "A4C" / "FileList.csv"),
                          (plain, plain / "labels.csv")):
        out = _info(root)
        assert out.returncode == 1 and out.stdout == ""
        assert out.stderr.strip().splitlines()[-1] == f"error: {listing}: the list is empty (a header and no rows)"
