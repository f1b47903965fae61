"""The README's workstation script (section "Python API") runs as written on a small phantom, and the API
functions behave as their docstrings say."""

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

import infomotion_rt as im
from infomotion_rt.errors import ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_script() -> str:
    section = README.read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    return code


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    from infomotion_rt.phantom.generate import generate

    out = tmp_path_factory.mktemp("api") / "echo"
    generate(out, 60, seed=4, frames=32, progress=False)
    return out


def test_readme_script_runs_as_written(phantom, tmp_path):
    script = tmp_path / "workstation.py"
    script.write_text(readme_script())
    assert len(script.read_text().strip().splitlines()) <= 12
    r = subprocess.run([sys.executable, str(script), str(phantom)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith("60 videos -> ")
    with open(tmp_path / "selection.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(tmp_path / "distilled" / "FileList.csv", newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert rows and sorted(r["FileName"] for r in exported) == sorted(r["FileName"] for r in rows)
    assert all(float(r["Weight"]) > 0 for r in exported)
    assert "torch" not in r.stderr


def test_api_select_matches_the_command_and_checks_options(phantom, tmp_path):
    feats = tmp_path / "f.npz"
    res = im.extract_features(phantom, feats, representation="flow")
    assert res.n_total == 60 and res.path == feats
    fs = im.read_features(feats)
    picks = im.select(fs, vpc=2, seed=1, choice="centrality", trials=2)
    again = im.select(feats, vpc=2, seed=1, choice="centrality", trials=2)
    assert picks.names == again.names and len(picks.names) == len(picks.rows)
    with pytest.raises(ConfigError) as err:
        im.select(fs, vpc=2, weigting="inverse")
    assert str(err.value) == ("select: unknown option weigting (did you mean weighting?); valid: vpc, method, seed, "
                              "split, k, metric, choice, mode, weighting, centrality, trials, paper_literal, knn")
    with pytest.raises(ConfigError, match=r"^vpc \(videos per class\) must be >= 1, got 0$"):   # no CLI flag
        im.select(fs, vpc=0)
    with pytest.raises(ConfigError, match=r"^k \(neighbours per video\) must be >= 1, got 0$"):
        im.select_config(k=0)
    assert im.write_selection(tmp_path / "s.csv", picks).is_file()
    # the command line's spellings work too; a wrong type is one ConfigError, not an AttributeError
    from infomotion_rt.selection.metric import MetricConfig

    assert im.select(fs, vpc=2, metric="pca").metric == im.select(fs, vpc=2, metric=MetricConfig("pca")).metric
    assert im.select_config(split="all").split is None
    with pytest.raises(ConfigError, match="^select: knn must be a KnnConfig"):
        im.select(fs, vpc=2, knn=8)
    with pytest.raises(ConfigError, match="^unknown choice 'zz'"):
        im.select(fs, vpc=2, choice="zz")
    with pytest.raises(ConfigError, match=r"overwrite=True in Python"):
        im.extract_features(phantom, feats, representation="flow")


def test_import_is_lazy_and_names_are_listed():
    code = ("import sys, infomotion_rt as im; assert 'infomotion_rt.api' not in sys.modules; "
            "assert 'select' in dir(im); im.load_dataset; assert 'infomotion_rt.api' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(AttributeError):
        im.no_such_thing  # noqa: B018


def test_the_command_line_goes_through_the_api(phantom, tmp_path, monkeypatch):
    # Issue 18: info, extract and select call these functions and only parse and print. Each is wrapped here
    # (the real one still runs), so a command that went back to the stage functions would leave no call.
    from click.testing import CliRunner

    from infomotion_rt import api
    from infomotion_rt.cli import cli
    from infomotion_rt.selection.knn_index import KnnConfig

    calls = {}
    for name in ("load_dataset", "extract_features", "select", "write_selection", "export_dataset"):
        def wrapped(*args, _name=name, _real=getattr(api, name), **kwargs):
            calls.setdefault(_name, []).append(kwargs)
            return _real(*args, **kwargs)
        monkeypatch.setattr(api, name, wrapped)

    r = CliRunner().invoke(cli, ["info", str(phantom), "--quick"])
    assert r.exit_code == 0, r.output
    assert calls["load_dataset"] == [{"check_videos": False}] and "60 videos" in r.output

    feats = tmp_path / "f.npz"
    r = CliRunner().invoke(cli, ["extract", str(phantom), "--out", str(feats), "--representation", "flow",
                                 "--shard-size", "7", "--keep-paths"])
    assert r.exit_code == 0, r.output
    (kw,) = calls["extract_features"]
    assert (kw["representation"], kw["save_every"], kw["keep_paths"], kw["progress"]) == ("flow", 7, True, True)
    assert f"wrote 60 vectors to {feats}" in r.output

    out, distilled = tmp_path / "s.csv", tmp_path / "distilled"
    r = CliRunner().invoke(cli, ["select", "--features", str(feats), "--vpc", "2", "--seed", "1", "--k", "5",
                                 "--trials", "2", "--exact-knn", "--out", str(out), "--export-dataset",
                                 str(distilled), "--data", str(phantom)])
    assert r.exit_code == 0, r.output
    (kw,) = calls["select"]
    assert (kw["vpc"], kw["seed"], kw["k"], kw["trials"], kw["knn"].index) == (2, 1, 5, 2, "exact")
    assert len(calls["write_selection"]) == 1 and len(calls["export_dataset"]) == 1
    with open(out, newline="") as fh:
        written = [row["FileName"] for row in csv.DictReader(fh)]
    same = im.select(feats, vpc=2, seed=1, k=5, trials=2, knn=KnnConfig(index="exact"))
    assert written == same.names and f"wrote distilled dataset {distilled} ({len(written)} videos)" in r.output
