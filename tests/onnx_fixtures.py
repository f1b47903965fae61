"""A tiny IFA checkpoint and its ONNX export, made once per test session (the exporter takes ~30 s)."""

from __future__ import annotations

import pytest

_CACHE: dict = {}


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory):
    """(checkpoint .pt, export .onnx) of an untrained tiny model; shared by every module that imports it."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    if "tiny" not in _CACHE:
        from infomotion_rt.motion.export import export_onnx
        from infomotion_rt.motion.ifa import CONFIGS, IFANet
        from infomotion_rt.motion.train import save_checkpoint

        torch.manual_seed(0)
        d = tmp_path_factory.mktemp("export")
        ckpt = save_checkpoint(d / "tiny.pt", IFANet(CONFIGS["tiny"]))
        _CACHE["tiny"] = (ckpt, export_onnx(ckpt, d / "tiny.onnx", training_data="unit test"))
    return _CACHE["tiny"]
