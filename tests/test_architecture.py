"""The import rules of docs/architecture.md, checked by import-linter with the contracts in pyproject.toml:
no import cycle between sibling modules or packages at any depth, and the runtime side (data/, runtime/,
extract/, selection/, share/) never imports the phantom, the training side (motion/, evaluate/) or torch.

import-linter reads every import statement, function-level ones included. What it cannot see -- a
third-party package importing torch behind our back -- is covered by tests/test_no_torch.py, which runs
extract and select where torch cannot be imported.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import infomotion_rt

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(infomotion_rt.__file__).resolve().parent
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint(config: Path, cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, "-c", LINT, "--config", str(config), "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_contracts_hold():
    r = lint(REPO / "pyproject.toml", REPO)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in r.stdout


def test_a_planted_circle_and_a_planted_phantom_import_break_the_contracts(tmp_path):
    # A copy of the package under another name (so that no installed copy shadows it), with the same
    # contracts, then two planted offences: data/ <-> selection/ (a circle) and the report reading the phantom.
    copy = tmp_path / "planted_rt"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("*.so", "*.onnx", "__pycache__"))
    for path in copy.rglob("*.py"):
        path.write_text(path.read_text().replace("infomotion_rt", "planted_rt"))
    config = tmp_path / "pyproject.toml"
    contracts = (REPO / "pyproject.toml").read_text().split("[tool.importlinter]", 1)[1]
    config.write_text("[tool.importlinter]" + contracts.replace("infomotion_rt", "planted_rt"))
    assert lint(config, tmp_path, tmp_path).returncode == 0   # the copy is as clean as the original

    with open(copy / "data" / "classes.py", "a") as fh:
        fh.write("\nfrom planted_rt.selection import methods  # noqa: E402,F401\n")
    with open(copy / "share" / "report.py", "a") as fh:
        fh.write("\n\ndef _truth(d):\n    from planted_rt.phantom.truth import load_nuisances\n\n"
                 "    return load_nuisances(d)\n")
    r = lint(config, tmp_path, tmp_path)
    assert r.returncode == 1
    assert "Contracts: 0 kept, 2 broken." in r.stdout
    assert re.search(r"\.data -> \.selection|\.selection -> \.data", r.stdout), r.stdout[-3000:]
    assert "planted_rt.share.report -> planted_rt.phantom.truth" in r.stdout
