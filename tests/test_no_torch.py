"""extract (with the shipped ONNX encoder, no --engine) and select run where torch cannot be imported."""

import subprocess
import sys
import textwrap

from ifa_fixtures import tiny_phantom  # noqa: F401  (fixture)
from infomotion_rt.extract.files import read_features

SCRIPT = textwrap.dedent("""
    import importlib.abc, sys

    blocked = []

    class NoTorch(importlib.abc.MetaPathFinder):
        # refuses torch, torchvision, torchaudio ... as if they were not installed
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0].startswith("torch"):
                blocked.append(name)
                raise ImportError(f"No module named {name!r} (blocked by test_no_torch)")
            return None

    assert not any(m.split(".")[0].startswith("torch") for m in sys.modules)
    sys.meta_path.insert(0, NoTorch())
    from infomotion_rt.cli import cli

    data, feats, sel = sys.argv[1:4]
    cli.main(args=["extract", data, "--out", feats, "--threads", "1", "--batch-size", "4"], standalone_mode=False)
    cli.main(args=["select", "--features", feats, "--vpc", "1", "--k", "3", "--split", "all", "--out", sel],
             standalone_mode=False)
    loaded = sorted(m for m in sys.modules if m.split(".")[0].startswith("torch"))
    print("TORCH_MODULES", loaded)
    print("BLOCKED", sorted(set(blocked)))
""")


def test_extract_and_select_without_torch(tiny_phantom, tmp_path):
    feats, sel = tmp_path / "f.npz", tmp_path / "sel.csv"
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_phantom), str(feats), str(sel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "TORCH_MODULES []" in r.stdout                       # torch never loaded
    assert "onnxruntime" in r.stderr and "CPUExecutionProvider" in r.stderr   # the engine line says so
    fs = read_features(feats)
    assert len(fs) == 10 and fs.features.shape[1] == 384 and fs.meta["backend"] == "onnxruntime"
    assert fs.meta["vector"] == "ed-es-flow"
    assert fs.meta["engine"].endswith("ifa_small.onnx") and "CPUExecutionProvider" in fs.meta["runtime"]
    rows = sel.read_text().strip().splitlines()
    assert len(rows) >= 2 and rows[0].startswith("FileName")
