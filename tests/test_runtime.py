"""Backends by suffix, the ONNX Runtime backend (providers, metadata checks, determinism, threads), the
TensorRT backend's checks that run without TensorRT (sidecar, missing libraries), and the shipped encoder."""

import json
import sys

import numpy as np
import pytest

from infomotion_rt.errors import ConfigError, DataError, DependencyError
from infomotion_rt.runtime.contract import FORMAT, read_sidecar, sidecar_path
from infomotion_rt.runtime import BACKENDS, default_engine, load_encoder
from infomotion_rt.runtime.onnx_backend import CPU_EP, CUDA_EP, TRT_EP, OnnxEncoder, choose_providers
from infomotion_rt.runtime.tensorrt_backend import TensorRTEncoder

ALL_EPS = ["AzureExecutionProvider", CUDA_EP, TRT_EP, CPU_EP]


def test_backends_by_suffix_and_unknown_suffix_lists_them(tmp_path):
    assert BACKENDS[".onnx"] is OnnxEncoder and BACKENDS[".plan"] is BACKENDS[".engine"] is TensorRTEncoder
    odd = tmp_path / "model.tflite"
    odd.write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"valid: \.engine, \.onnx, \.plan, \.pt"):
        load_encoder(odd)
    with pytest.raises(DataError, match="not found"):
        load_encoder(tmp_path / "missing.onnx")


def test_provider_preference():
    assert choose_providers("auto", ALL_EPS) == [TRT_EP, CUDA_EP, CPU_EP]
    assert choose_providers("auto", [CUDA_EP, CPU_EP]) == [CUDA_EP, CPU_EP]
    assert choose_providers("auto", ["AzureExecutionProvider", CPU_EP]) == [CPU_EP]
    assert choose_providers("cpu", ALL_EPS) == [CPU_EP]
    assert choose_providers("cuda:0", ALL_EPS) == [CUDA_EP, CPU_EP]
    with pytest.raises(DependencyError, match="onnxruntime-gpu"):
        choose_providers("cuda", [CPU_EP])
    with pytest.raises(ConfigError, match="valid: auto, cpu, cuda, tensorrt"):
        choose_providers("tpu", ALL_EPS)


def test_shipped_encoder_loads_and_says_what_it_runs_on(capsys):
    enc = load_encoder(default_engine(), "auto", threads=1)
    assert enc.name == "onnxruntime" and enc.image_size == 112 and enc.feature_dim == 384   # ed-es-flow (issue 19)
    assert enc.metadata["vector"] == "ed-es-flow"
    assert enc.providers[-1] == CPU_EP and "CPUExecutionProvider" in enc.runtime and "1 intra-op" in enc.runtime
    meta = enc.meta()
    assert "phantom" in meta["training_data"] and meta["config"]["name"] == "small"
    assert float(enc.metadata["val_psnr"]) > float(enc.metadata["naive_psnr"])   # beats the naive midpoint
    x = np.random.default_rng(0).random((3, 4, 112, 112), dtype=np.float32)
    a, b = enc(x), enc(x)
    assert a.shape == (3, 384) and np.isfinite(a).all() and np.array_equal(a, b)   # deterministic
    np.testing.assert_allclose(enc(x[1:2])[0], a[1], rtol=1e-5, atol=1e-6)       # batch does not matter
    with pytest.raises(DataError, match=r"frames must be \(B, 4, 112, 112\)"):
        enc(np.zeros((1, 4, 32, 32), np.float32))


def _rewrite(src, dst, **changes):
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(src))
    props = {p.key: p.value for p in model.metadata_props}
    props.update({k: v for k, v in changes.items() if v is not None})
    for k in [k for k, v in changes.items() if v is None]:
        props.pop(k, None)
    del model.metadata_props[:]
    for k, v in props.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(model, str(dst))
    return dst


def test_onnx_backend_checks_the_metadata(tmp_path):
    src = default_engine()
    with pytest.raises(DataError, match="not an infomotion-rt encoder export"):
        OnnxEncoder(_rewrite(src, tmp_path / "bare.onnx", format=None))
    with pytest.raises(DataError, match=r"\[batch, 4, 64, 64\]"):
        OnnxEncoder(_rewrite(src, tmp_path / "size.onnx", image_size="64"))
    with pytest.raises(DataError, match="lacks normalisation"):
        OnnxEncoder(_rewrite(src, tmp_path / "norm.onnx", normalisation=None))
    with pytest.raises(DataError, match="format version"):
        OnnxEncoder(_rewrite(src, tmp_path / "new.onnx", format_version="99"))
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not onnx")
    with pytest.raises(DataError, match="garbage.onnx: not a loadable ONNX model"):
        OnnxEncoder(garbage)


# ------------------------------------------------------------------------------------------- TensorRT

def _sidecar(plan, **changes):
    meta = dict(OnnxEncoder(default_engine(), "cpu").metadata)
    side = {"format": FORMAT + "/tensorrt", "tensorrt_version": "10.9.0", "gpu": "NVIDIA H100",
            "compute_capability": "9.0", "input_name": "frames", "output_name": "motion", "image_size": 112,
            "feature_dim": 256, "min_batch": 1, "opt_batch": 16, "max_batch": 64, "precision": "fp32",
            "onnx_sha256": "0" * 64, "metadata": meta}
    side.update(changes)
    side = {k: v for k, v in side.items() if v is not None}
    sidecar_path(plan).write_text(json.dumps(side))
    return side


def test_tensorrt_sidecar_validation(tmp_path):
    plan = tmp_path / "ifa.plan"
    plan.write_bytes(b"plan")
    assert sidecar_path(plan).name == "ifa.plan.json"
    with pytest.raises(DataError, match="ifa.plan.json: sidecar of ifa.plan not found"):
        read_sidecar(plan)
    sidecar_path(plan).write_text("{oops")
    with pytest.raises(DataError, match="not valid JSON"):
        read_sidecar(plan)
    _sidecar(plan, format="something else")
    with pytest.raises(DataError, match="not an infomotion-rt TensorRT sidecar"):
        read_sidecar(plan)
    _sidecar(plan, tensorrt_version=None)
    with pytest.raises(DataError, match="lacks tensorrt_version"):
        read_sidecar(plan)
    _sidecar(plan, min_batch=32, opt_batch=16)
    with pytest.raises(DataError, match="min <= opt <= max"):
        read_sidecar(plan)
    side = _sidecar(plan)
    assert read_sidecar(plan)["max_batch"] == 64 == side["max_batch"]


def test_tensorrt_missing_library_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)        # as if TensorRT were not installed
    plan = tmp_path / "ifa.engine"
    plan.write_bytes(b"plan")
    _sidecar(plan)
    with pytest.raises(DependencyError, match="tensorrt"):
        load_encoder(plan, device="auto")
    with pytest.raises(ConfigError, match="GPU only"):
        load_encoder(plan, device="cpu")
    from infomotion_rt.motion.export import build_engine

    with pytest.raises(DependencyError, match="TensorRT"):
        build_engine(default_engine(), tmp_path / "x.plan")
    with pytest.raises(ConfigError, match=r"\.plan or \.engine"):
        build_engine(default_engine(), tmp_path / "x.trt")
    assert not (tmp_path / "x.plan").exists()


def test_build_engine_cli_without_tensorrt(tmp_path):
    import subprocess

    code = ("import sys; sys.modules['tensorrt'] = None\n"
            "from infomotion_rt.cli import main; main()\n")
    r = subprocess.run([sys.executable, "-c", code, "build-engine", str(default_engine()), "--out",
                        str(tmp_path / "ifa.plan"), "--fp16"], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1
    assert "tensorrt" in r.stderr
