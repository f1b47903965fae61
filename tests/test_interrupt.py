"""Nothing lost, nothing crashes (issue 17): Ctrl-C / SIGTERM / kill -9 during extract and select, resume
checks (dataset, split, model), --overwrite, output names, unreadable features files, select's --data check.

The subprocess tests run the real console entry point on a small phantom made bigger by copying its videos
under new names (generation is the slow part); they interrupt after the first progress output and, where the
run finished before the signal landed, retry once with more videos, so no test depends on timing."""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.extract.featureset import make_feature_set, make_meta
from infomotion_rt.extract.files import read_features, write_features

CLI = [sys.executable, "-c", "from infomotion_rt.cli import main; main()"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def phantom(shared_phantom):
    """conftest.py's shared 10-video phantom (read only)."""
    return shared_phantom


def copies(src: Path, dst: Path, times: int, rename=lambda name, k: f"{name}_c{k}", split=None) -> Path:
    """``src`` (EchoNet-Dynamic layout) with every video copied ``times`` times under new names; ``split``
    replaces every Split value."""
    (dst / "Videos").mkdir(parents=True)
    with open(src / "FileList.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(src / "VolumeTracings.csv", newline="") as fh:
        tracings = list(csv.DictReader(fh))
    out_rows, out_tr = [], []
    for k in range(times):
        for r in rows:
            name = rename(r["FileName"], k)
            shutil.copyfile(src / "Videos" / f"{r['FileName']}.avi", dst / "Videos" / f"{name}.avi")
            out_rows.append({**r, "FileName": name, **({"Split": split} if split else {})})
        out_tr += [{**t, "FileName": f"{rename(t['FileName'][:-4], k)}.avi"} for t in tracings]
    for path, table in ((dst / "FileList.csv", out_rows), (dst / "VolumeTracings.csv", out_tr)):
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(table[0]))
            w.writeheader()
            w.writerows(table)
    return dst


def run(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, env=ENV, **kw)


def start_and_wait_for_progress(args, at_least: int) -> tuple[subprocess.Popen, str]:
    """Start the CLI and read its stderr until the extract bar shows ``at_least`` videos done (or it ends)."""
    p = subprocess.Popen(CLI + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    seen = b""
    while True:
        chunk = os.read(p.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
        done = [int(n) for n in re.findall(rb"extract[^|\r\n]*\|[^|]*\| *(\d+)/\d+", seen)]
        if done and max(done) >= at_least:
            break
    return p, seen.decode(errors="replace")


def finish(p: subprocess.Popen, seen: str) -> tuple[int, str]:
    out, err = p.communicate(timeout=300)
    return p.returncode, seen + err.decode(errors="replace")


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp"))


def n_videos(data: Path) -> int:
    with open(data / "FileList.csv", newline="") as fh:
        return sum(1 for _ in csv.DictReader(fh))


# --- Ctrl-C and SIGTERM during extract ---------------------------------------------------------

@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_extract_exits_cleanly_keeps_the_vectors_and_resume_finishes(phantom, tmp_path, sig, code):
    for times in (10, 40):   # a fast machine may finish 80 videos before the signal lands: then 320
        data = copies(phantom, tmp_path / f"data{times}", times)
        out = tmp_path / f"f{times}.npz"
        args = ["extract", data, "--out", out, "--batch-size", "2", "--shard-size", "2", "--threads", "1"]
        p, seen = start_and_wait_for_progress(args, at_least=2)
        p.send_signal(sig)
        rc, err = finish(p, seen)
        if rc == 0:
            continue
        break
    assert rc == code, err
    assert "terminate called" not in err and "FATAL" not in err and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "--resume" in last and str(out) in last, last
    kept = read_features(out)            # whole, readable, and part of the work
    total = n_videos(data)
    assert 2 <= len(kept) < total and f"{len(kept)} vectors kept" in last
    assert temporaries(tmp_path) == []
    again = run(*args, "--resume")
    assert again.returncode == 0, again.stderr
    assert f"({len(kept)} already there)" in again.stdout and f"wrote {total} vectors" in again.stdout
    fs = read_features(out)
    assert len(fs) == total and len(set(fs.names.tolist())) == total


@pytest.mark.parametrize("out_name", ["f.npz", "store"])
def test_kill_9_during_extract_leaves_no_partial_file_and_resume_completes(phantom, tmp_path, out_name):
    for times in (10, 40):
        data = copies(phantom, tmp_path / f"data{times}", times)
        out = tmp_path / f"{times}" / out_name
        args = ["extract", data, "--out", out, "--batch-size", "2", "--shard-size", "2", "--threads", "1"]
        p, seen = start_and_wait_for_progress(args, at_least=5)
        p.kill()                                   # SIGKILL: no handler, no finally
        rc, err = finish(p, seen)
        if rc == 0:
            continue
        break
    assert rc == -signal.SIGKILL, err
    total = n_videos(data)
    if out.exists():                               # whatever is under the final name reads whole
        kept = read_features(out)
        assert len(kept) < total
    else:
        kept = []
    names = [p.name for p in out.parent.iterdir()] + ([p.name for p in out.iterdir()] if out.is_dir() else [])
    assert all(n == out_name or n.startswith(".") or re.fullmatch(r"part-\d{5}\.parquet", n) for n in names), names
    again = run(*args, "--resume")
    assert again.returncode == 0, again.stderr
    assert f"({len(kept)} already there)" in again.stdout
    fs = read_features(out)
    assert len(fs) == total and len(set(fs.names.tolist())) == total
    assert temporaries(out.parent) == []          # a killed run's temporaries are cleaned by the next one


# --- kill -9 and signals during select ---------------------------------------------------------

def random_features(n, path: Path, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    ef = rng.uniform(10, 85, n)
    return write_features(path, make_feature_set([f"v{i:05d}" for i in range(n)], rng.normal(size=(n, 16)), ef,
                                                 ["TRAIN"] * n, make_meta("test", engine="x.onnx", model_hash="abc")))


def test_kill_9_during_select_leaves_no_partial_output_and_a_rerun_finishes(tmp_path):
    feats = random_features(1000, tmp_path / "f.npz")
    out = tmp_path / "sel.csv"
    args = ["select", "--features", feats, "--vpc", "10", "--trials", "1", "--out", out, "--plot", tmp_path / "g.png"]
    p = subprocess.Popen(CLI + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    p.stdout.readline()                            # "metric: ..." comes once the selection is done
    p.kill()
    p.communicate(timeout=60)
    if out.exists():                               # finished before the kill: it must be whole
        assert len(list(csv.DictReader(open(out)))) == 50
    assert not [n.name for n in tmp_path.iterdir() if n.name not in ("f.npz", "sel.csv", "g.png")
                and not n.name.startswith(".")]
    if (tmp_path / "g.png").exists():
        assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    again = run(*args, "--overwrite")
    assert again.returncode == 0, again.stderr
    assert len(list(csv.DictReader(open(out)))) == 50
    refused = run(*args)                           # outputs exist: only with --overwrite
    assert refused.returncode == 1 and "--overwrite" in refused.stderr.strip().splitlines()[-1]


SIGNAL_IN_STAGE = """
import os, signal, sys, time
import {module} as m
def stage(*a, **k):
    os.kill(os.getpid(), signal.{sig})
    time.sleep(30)  # interrupted at once by the signal
m.{func} = stage
from infomotion_rt.cli import main
sys.argv = ["infomotion-rt"] + sys.argv[1:]
main()
"""


@pytest.mark.parametrize("sig, code", [("SIGINT", 130), ("SIGTERM", 143)])
@pytest.mark.parametrize("command", ["select", "evaluate"])
def test_a_signal_in_select_or_evaluate_exits_with_its_code_and_one_line(tmp_path, phantom, sig, code, command):
    if command == "select":
        feats = random_features(60, tmp_path / "f.npz")
        module, func = "infomotion_rt.selection.methods", "select_features"
        args = ["select", "--features", feats, "--out", tmp_path / "sel.csv"]
    else:
        pytest.importorskip("torch")
        module, func = "infomotion_rt.evaluate.protocol", "evaluate"
        args = ["evaluate", phantom, "--whole", "--out", tmp_path / "ev", "--setting", "tiny"]
    code_text = SIGNAL_IN_STAGE.format(module=module, func=func, sig=sig)
    p = subprocess.run([sys.executable, "-c", code_text] + [str(a) for a in args], capture_output=True, text=True,
                       env=ENV, timeout=120)
    assert p.returncode == code, p.stderr
    assert "Traceback" not in p.stderr and "terminate called" not in p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted (Ctrl-C)" if code == 130 else "terminated (SIGTERM)")
    assert "half-written" in last
    assert not (tmp_path / "sel.csv").exists() and not (tmp_path / "ev").exists()


# --- resume, overwrite, output names, and checks before work ------------------------------------

@pytest.fixture(scope="module")
def extracted(phantom, tmp_path_factory):
    """phantom's features (.npz), and a second dataset: phantom's videos under other names."""
    root = tmp_path_factory.mktemp("ext")
    feats = root / "f.npz"
    r = CliRunner().invoke(cli, ["extract", str(phantom), "--out", str(feats), "--threads", "1"])
    assert r.exit_code == 0, r.output
    other = copies(phantom, root / "other", 1, rename=lambda n, k: f"x{n}")
    return feats, other


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_resume_refuses_another_dataset_split_or_a_legacy_mismatch(phantom, extracted, tmp_path):
    feats, other = extracted
    out = tmp_path / "f.npz"
    shutil.copyfile(feats, out)
    before = out.read_bytes()
    r = invoke("extract", other, "--out", out, "--resume")
    assert r.exit_code != 0 and "another dataset" in str(r.exception) and str(out) in str(r.exception)
    r = invoke("extract", phantom, "--out", out, "--resume", "--split", "TRAIN")
    assert r.exit_code != 0 and "split ALL with split TRAIN" in str(r.exception)
    assert out.read_bytes() == before                       # refused runs touch nothing
    # a file from before fingerprints: resumed when its rows match this dataset, refused otherwise
    fs = read_features(out)
    legacy = make_feature_set(fs.names[:5], fs.features[:5], fs.ef[:5], fs.split[:5],
                              {k: v for k, v in fs.meta.items() if k != "dataset_fingerprint"})
    write_features(out, legacy)
    r = invoke("extract", other, "--out", out, "--resume")
    assert r.exit_code != 0 and "predates dataset fingerprints" in str(r.exception)
    r = invoke("extract", phantom, "--out", out, "--resume", "--threads", "1")
    assert r.exit_code == 0, r.output
    assert "(5 already there)" in r.output and len(read_features(out)) == len(fs)
    assert read_features(out).meta["dataset_fingerprint"] == fs.meta["dataset_fingerprint"]


def test_an_existing_output_is_replaced_only_with_overwrite(phantom, extracted, tmp_path):
    feats, other = extracted
    out = tmp_path / "f.npz"
    shutil.copyfile(feats, out)
    r = invoke("extract", other, "--out", out)
    assert r.exit_code != 0 and "--resume" in str(r.exception) and "--overwrite" in str(r.exception)
    assert read_features(out).names.tolist() == read_features(feats).names.tolist()
    r = invoke("extract", phantom, "--out", out, "--resume", "--overwrite")
    assert r.exit_code != 0 and "give one of them" in str(r.exception)
    r = invoke("extract", other, "--out", out, "--overwrite", "--threads", "1")
    assert r.exit_code == 0, r.output
    assert all(n.startswith("x") for n in read_features(out).names)
    store = tmp_path / "store"                                       # a folder of shards: the same rule
    assert invoke("extract", phantom, "--out", store, "--threads", "1").exit_code == 0
    r = invoke("extract", other, "--out", store)
    assert r.exit_code != 0 and "--overwrite" in str(r.exception)
    r = invoke("extract", other, "--out", store, "--overwrite", "--threads", "1")
    assert r.exit_code == 0 and all(n.startswith("x") for n in read_features(store).names)


def test_output_names_empty_splits_and_data_before_the_engine(phantom, tmp_path):
    r = run("extract", phantom, "--out", tmp_path / "feats.csv")
    assert r.returncode == 1 and ".npz file or a folder of shards" in r.stderr and not (tmp_path / "feats.csv").exists()
    assert len(r.stderr.strip().splitlines()) == 1
    no_train = copies(phantom, tmp_path / "test_only", 1, split="TEST")
    r = run("extract", no_train, "--split", "train", "--out", tmp_path / "f.npz", "--engine", tmp_path / "none.onnx")
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip() == f"error: no TRAIN videos in {no_train} (splits present: TEST {n_videos(no_train)})"
    r = run("extract", tmp_path / "nowhere", "--out", tmp_path / "f.npz", "--engine", tmp_path / "none.onnx")
    assert r.returncode == 1 and "nowhere" in r.stderr and "none.onnx" not in r.stderr   # data first, engine after
    assert not (tmp_path / "f.npz").exists()


def test_select_names_unreadable_features_in_one_line(phantom, tmp_path):
    for path, expected in ((phantom / "FileList.csv", "not a features file (a CSV file)"),
                           (tmp_path / "cut.npz", "corrupt or truncated .npz")):
        if path.name == "cut.npz":
            good = random_features(30, tmp_path / "good.npz").read_bytes()
            path.write_bytes(good[: len(good) // 2])          # a copy that stopped half-way
        r = run("select", "--features", path, "--out", tmp_path / "s.csv")
        assert r.returncode == 1 and expected in r.stderr and "allow_pickle" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    r = run("select", "--features", tmp_path / "good.npz", "--out", tmp_path / "s.txt")
    assert r.returncode == 1 and "--out writes a .csv file" in r.stderr


def test_select_checks_features_against_data_before_any_work(extracted, phantom, tmp_path):
    feats, other = extracted
    out = tmp_path / "sel.csv"
    for extra in (["--export-dataset", tmp_path / "dist"], ["--report", tmp_path / "r.html"]):
        r = run("select", "--features", feats, "--vpc", "2", "--split", "all", "--out", out, "--data", other, *extra)
        assert r.returncode == 1 and "none of its videos is in" in r.stderr, r.stderr
        assert not out.exists() and not (tmp_path / "dist").exists() and not (tmp_path / "r.html").exists()
    # the right dataset whose videos cannot be read: a report without a single preview is an error
    broken = tmp_path / "broken"
    shutil.copytree(phantom, broken)
    for v in (broken / "Videos").iterdir():
        v.write_bytes(b"not a video")
    r = run("select", "--features", feats, "--vpc", "2", "--split", "all", "--out", out, "--data", broken,
            "--report", tmp_path / "r.html")
    assert r.returncode == 1 and "no preview" in r.stderr.strip().splitlines()[-1], r.stderr
    assert not (tmp_path / "r.html").exists()


def test_read_features_of_a_zip_that_is_not_a_features_file(tmp_path):
    path = tmp_path / "z.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    r = run("select", "--features", path, "--out", tmp_path / "s.csv")
    assert r.returncode == 1 and "not a features file, missing names" in r.stderr
