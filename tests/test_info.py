"""`infomotion-rt info`: summary, problems one line each, exit codes, JSON."""

import json
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from echo_fixtures import make_dynamic, write_video
from infomotion_rt.cli import cli


def _broken_dataset(root):
    make_dynamic(root, n=6)
    (root / "Videos" / "0X0001.avi").write_bytes(b"garbage" * 50)          # undecodable
    write_video(root / "Videos" / "0X0004.avi", np.zeros((0, 16, 16), np.uint8))  # zero frames
    text = (root / "FileList.csv").read_text().replace("0X0002,51.0", "0X0002,70.0")  # EF vs tracings
    text = text.replace("0X0003,51.0,100.0,200.0,16,16", "0X0003,51.0,100.0,200.0,112,112")  # size
    (root / "FileList.csv").write_text(text)
    lines = (root / "VolumeTracings.csv").read_text().splitlines(keepends=True)
    (root / "VolumeTracings.csv").write_text("".join(l for l in lines if not l.startswith("0X0005.avi")))
    return root


def test_info_counts_ranges_and_problems(tmp_path):
    root = _broken_dataset(tmp_path / "d")
    result = CliRunner().invoke(cli, ["info", str(root)])
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert any(l.startswith(f"{root}: dynamic layout, 4 videos (3 traced, 2 dropped)") for l in out)
    assert any(l.split()[:1] == ["TRAIN"] and l.split()[-1] == "2" for l in out)
    assert any(l.split()[0] == "all" and l.split()[4:] == ["3", "1", "4"] for l in out)  # Normal 3, Hyper 1
    assert "frames 12-12; FPS 30-30, in the videos 30-30" in out
    assert "EF from the tracings vs FileList over 3 traced videos: mean |diff| 6.33, max 19.00 EF points" in out
    problems = [l for l in out if l.startswith("  ")]
    assert len(problems) == 5 and "6 problems:" not in out and "5 problems:" in out
    joined = "\n".join(problems)
    for needle in ("0X0001: ", "0X0004: ", "0X0002: FileList EF 70.0 disagrees", "0X0003: FileList frame size 112x112",
                   "0X0005: no tracings in VolumeTracings.csv; record kept without tracings"):
        assert needle in joined


def test_info_json_and_quick(tmp_path):
    root = _broken_dataset(tmp_path / "d")
    result = CliRunner().invoke(cli, ["info", str(root), "--json", "--quick"])
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["videos"] == 6 and not summary["videos_checked"]   # --quick: no decoding
    assert summary["counts"]["VAL"]["Normal"] == 2 and summary["frames"] == [12, 12]
    assert len(summary["problems"]) == 2  # EF disagreement and missing tracings need no decoding
    # FileList EF vs the tracings' EF: 0X0002 was relabelled 51 -> 70, the four other traced videos agree
    assert summary["ef_vs_tracings"] == {"videos": 5, "mean_abs": 3.8, "max_abs": 19.0}


def test_info_unreadable_dataset_exits_1_with_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    out = subprocess.run([sys.executable, "-m", "infomotion_rt.cli", "info", str(tmp_path / "empty")],
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "no FileList.csv" in out.stderr and out.stdout == ""
