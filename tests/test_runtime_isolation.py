"""The runtime stands alone: what a workstation or a Ray worker imports (runtime/, features, feature_store,
distributed, select, knn_index, graph, data/) never imports the training side (motion/, evaluate/) or torch.

Two checks. Static: every import statement of those modules -- top level, inside functions, relative or
absolute -- is parsed with ``ast``, resolved to a module name and followed through the package, so an
indirect import (runtime -> some helper -> motion) is caught too. Dynamic: the modules are imported, the
shipped encoder run and a tiny phantom extracted and selected in a fresh interpreter where torch, motion/
and evaluate/ cannot be imported at all.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import infomotion_rt

from ifa_fixtures import tiny_phantom  # noqa: F401  (fixture)

PKG = "infomotion_rt"
ROOT = Path(infomotion_rt.__file__).resolve().parent
FORBIDDEN = (f"{PKG}.motion", f"{PKG}.evaluate", "torch", "torchvision", "torchaudio")
# The one sanctioned exception, and why: a .pt checkpoint is torch model code by definition, so the torch
# backend loads it (and torch) inside TorchEncoder.__init__, only when a .pt file is opened.
ALLOWED = {(f"{PKG}.runtime.torch_backend", f"{PKG}.motion.train"),
           (f"{PKG}.runtime.torch_backend", "torch")}


def runtime_modules() -> list[str]:
    # the extraction/selection side and what a Ray worker runs (distributed, feature_store), plus packages
    top = ("features", "feature_store", "distributed", "select", "knn_index", "graph", "metric",
           "export_dataset", "report", "report_html", "pixels", "flow")
    top += ("readout", "scoring", "self_check")   # select --self-check's read-out, scores and statistics
    mods = [f"{PKG}.{m}" for m in top if (ROOT / f"{m}.py").is_file()]
    for sub in ("runtime", "data"):
        for path in sorted((ROOT / sub).glob("*.py")):
            mods.append(f"{PKG}.{sub}" if path.stem == "__init__" else f"{PKG}.{sub}.{path.stem}")
    return mods


def module_file(name: str) -> Path | None:
    if name == PKG:
        return ROOT / "__init__.py"
    if not name.startswith(PKG + "."):
        return None
    rel = Path(*name.split(".")[1:])
    for cand in (ROOT / rel.with_suffix(".py"), ROOT / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def imports_of(name: str) -> set[str]:
    """Every module ``name`` imports anywhere in its source (functions included), as absolute names.
    ``from X import y`` yields X and, where y is a submodule of the package, X.y."""
    path = module_file(name)
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            found.add(mod)
            for a in node.names:
                if module_file(f"{mod}.{a.name}") is not None:
                    found.add(f"{mod}.{a.name}")
    return found


def forbidden(mod: str) -> bool:
    return any(mod == f or mod.startswith(f + ".") for f in FORBIDDEN)


def test_import_parser_sees_relative_and_function_level_imports(tmp_path):
    # the checker itself: torch_backend's lazy import sits inside a method and is relative
    assert f"{PKG}.motion.train" in imports_of(f"{PKG}.runtime.torch_backend")
    assert f"{PKG}.graph" in imports_of(f"{PKG}.select")          # 'from . import graph'
    assert f"{PKG}.runtime.inputs" in imports_of(f"{PKG}.features")   # inside _read_videos


def test_runtime_modules_never_import_training_side_or_torch_statically():
    seen, todo, offences = set(), list(runtime_modules()), []
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        for dep in sorted(imports_of(mod)):
            if (mod, dep) in ALLOWED:
                continue
            if forbidden(dep):
                offences.append(f"{mod} imports {dep}")
            elif module_file(dep) is not None:
                todo.append(dep)                    # follow the package's own modules transitively
    assert not offences, "runtime imports the training side or torch:\n" + "\n".join(sorted(offences))
    assert f"{PKG}.runtime.contract" in seen and f"{PKG}.runtime.inputs" in seen


BLOCKED_RUN = textwrap.dedent("""
    import importlib, importlib.abc, sys

    FORBIDDEN = {forbidden!r}
    blocked = []

    class Block(importlib.abc.MetaPathFinder):
        # torch and the training side are refused as if they were not installed
        def find_spec(self, name, path=None, target=None):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                blocked.append(name)
                raise ImportError(f"No module named {{name!r}} (blocked by test_runtime_isolation)")
            return None

    sys.meta_path.insert(0, Block())
    for mod in {modules!r}:
        importlib.import_module(mod)

    from infomotion_rt import graph, select
    from infomotion_rt.features import ExtractConfig, extract_features, read_features
    data, feats = sys.argv[1:3]
    r = extract_features(data, None, feats, ExtractConfig(batch_size=4, threads=1, device="cpu"), progress=False)
    fs = read_features(feats)
    res = select.select_features(fs, select.SelectConfig(vpc=1, split=None, graph=graph.GraphConfig(k=3)))
    loaded = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    print("LOADED", loaded)
    print("BLOCKED", sorted(set(blocked)))
    print("VECTORS", len(fs), fs.features.shape[1], "ROWS", len(res.rows))
""")


def test_runtime_runs_with_torch_and_training_side_blocked(tiny_phantom, tmp_path):
    script = BLOCKED_RUN.format(forbidden=FORBIDDEN, modules=runtime_modules())
    r = subprocess.run([sys.executable, "-c", script, str(tiny_phantom), str(tmp_path / "f.npz")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "LOADED []" in r.stdout
    assert "VECTORS 10 1024" in r.stdout and "ROWS 0" not in r.stdout
