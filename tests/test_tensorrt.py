"""The TensorRT path against a stand-in for the TensorRT and cuda-python APIs (neither can be installed here).

The fakes implement only the calls ``build_engine`` and ``TensorRTEncoder`` make, with the signatures of the
TensorRT 10/11 Python API; "device memory" is host memory and "executing the engine" runs the same model
through ONNX Runtime. So these tests check our logic (flags per TensorRT version, the batch profile, the
sidecar, version/GPU checks, chunking over the profile's max batch, buffer copies), not TensorRT itself.
"""

import ctypes
import json
import types

import numpy as np
import pytest

from infomotion_rt.errors import DataError
from infomotion_rt.motion.export import build_engine
from infomotion_rt.runtime.contract import read_sidecar
from infomotion_rt.runtime import default_engine, load_encoder
from infomotion_rt.runtime import tensorrt_backend as trt_backend


class FakeCudart:
    cudaMemcpyKind = types.SimpleNamespace(cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2)

    def __init__(self, cc=(9, 0)):
        self.buffers, self.cc = {}, cc

    def cudaGetDeviceProperties(self, dev):
        return 0, types.SimpleNamespace(name=b"Fake GPU\x00", major=self.cc[0], minor=self.cc[1])

    def cudaMalloc(self, n):
        buf = ctypes.create_string_buffer(n)
        self.buffers[ctypes.addressof(buf)] = buf
        return 0, ctypes.addressof(buf)

    def cudaFree(self, ptr):
        self.buffers.pop(ptr, None)
        return (0,)

    def cudaMemcpyAsync(self, dst, src, n, kind, stream):
        ctypes.memmove(dst, src, n)
        return (0,)

    def cudaStreamCreate(self):
        return 0, 7

    def cudaStreamSynchronize(self, stream):
        return (0,)


def fake_tensorrt(version="10.9.0", fp16_flag=True):
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.log = {"shapes": [], "flags": None, "config_flags": [], "profile": None}
    trt.Logger = type("Logger", (), {"WARNING": 2, "__init__": lambda self, level=2: None})
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(STRONGLY_TYPED=5)
    trt.BuilderFlag = types.SimpleNamespace(**({"FP16": 0} if fp16_flag else {}), TF32=1)
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE=0)

    class Profile:
        def set_shape(self, name, lo, opt, hi):
            trt.log["profile"] = (name, lo, opt, hi)

    class Config:
        def set_memory_pool_limit(self, pool, size):
            trt.log["workspace"] = size

        def add_optimization_profile(self, profile):
            pass

        def set_flag(self, flag):
            trt.log["config_flags"].append(flag)

        def clear_flag(self, flag):
            trt.log["config_flags"].append(-flag)

    class Builder:
        platform_has_fast_fp16 = True

        def __init__(self, logger):
            pass

        def create_network(self, flags):
            trt.log["flags"] = flags
            return object()

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            return b"FAKEPLAN"

    class OnnxParser:
        num_errors = 0

        def __init__(self, network, logger):
            pass

        def parse(self, data):
            return data[:1] != b""

    onnx_enc = load_encoder(default_engine(), "cpu", 1)

    class Context:
        def __init__(self):
            self.shape, self.addr = None, {}

        def set_input_shape(self, name, shape):
            trt.log["shapes"].append(shape)
            self.shape = shape

        def set_tensor_address(self, name, ptr):
            self.addr[name] = ptr

        def execute_async_v3(self, stream):
            n = int(np.prod(self.shape))
            x = np.ctypeslib.as_array((ctypes.c_float * n).from_address(self.addr["frames"])).reshape(self.shape)
            y = onnx_enc(x)
            ctypes.memmove(self.addr["motion"], y.ctypes.data, y.nbytes)
            return True

    class Engine:
        num_io_tensors = 2

        def get_tensor_name(self, i):
            return ("frames", "motion")[i]

        def create_execution_context(self):
            return Context()

    class Runtime:
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, data):
            return Engine() if data == b"FAKEPLAN" else None

    trt.Builder, trt.OnnxParser, trt.Runtime = Builder, OnnxParser, Runtime
    return trt


@pytest.fixture
def fake(monkeypatch):
    def install(version="10.9.0", fp16_flag=True, cc=(9, 0)):
        trt = fake_tensorrt(version, fp16_flag)
        monkeypatch.setitem(__import__("sys").modules, "tensorrt", trt)
        monkeypatch.setattr(trt_backend, "cuda_runtime", lambda: FakeCudart(cc))
        return trt
    return install


def test_build_fp16_with_the_builder_flag(fake, tmp_path):
    trt = fake("10.9.0", fp16_flag=True)
    plan = build_engine(default_engine(), tmp_path / "ifa.plan", fp16=True, max_batch=32)
    assert plan.read_bytes() == b"FAKEPLAN"
    assert trt.log["flags"] == 0 and trt.log["config_flags"] == [trt.BuilderFlag.FP16]  # weakly typed + FP16
    assert trt.log["profile"] == ("frames", (1, 4, 112, 112), (16, 4, 112, 112), (32, 4, 112, 112))
    side = read_sidecar(plan)
    assert side["precision"] == "fp16" and side["tensorrt_version"] == "10.9.0" and side["gpu"] == "Fake GPU"
    assert side["compute_capability"] == "9.0" and side["metadata"]["feature_dim"] == "384"


def test_build_strongly_typed_where_there_is_no_fp16_flag(fake, tmp_path):
    trt = fake("11.0.0", fp16_flag=False)
    notes = []
    plan = build_engine(default_engine(), tmp_path / "ifa.engine", fp16=True, log=notes.append)
    assert trt.log["flags"] == 1 << 5 and trt.log["config_flags"] == [-trt.BuilderFlag.TF32]   # strict FP32
    assert read_sidecar(plan)["precision"] == "fp32" and "strongly typed" in notes[0]


def test_plan_runs_in_chunks_of_the_profile_max_batch(fake, tmp_path):
    trt = fake()
    plan = build_engine(default_engine(), tmp_path / "ifa.plan", max_batch=4)
    enc = load_encoder(plan, "auto")
    x = np.random.default_rng(0).random((6, 4, 112, 112), dtype=np.float32)
    got = enc(x)
    assert [s[0] for s in trt.log["shapes"]] == [4, 2]
    np.testing.assert_allclose(got, load_encoder(default_engine(), "cpu", 1)(x), rtol=1e-5, atol=1e-6)
    assert enc.meta()["backend"] == "tensorrt" and "Fake GPU" in enc.runtime


def test_plan_from_another_tensorrt_or_gpu_is_refused(fake, tmp_path):
    fake("10.9.0")
    plan = build_engine(default_engine(), tmp_path / "ifa.plan")
    fake("10.10.0")
    with pytest.raises(DataError, match=r"built with TensorRT 10\.9\.0, this is TensorRT 10\.10\.0; rebuild"):
        load_encoder(plan, "auto")
    fake("10.9.0", cc=(8, 6))
    with pytest.raises(DataError, match=r"built for Fake GPU \(compute 9\.0\).*compute 8\.6"):
        load_encoder(plan, "auto")
    fake("10.9.0")
    plan.write_bytes(b"corrupt")
    with pytest.raises(DataError, match="could not deserialise"):
        load_encoder(plan, "auto")
    side = json.loads((tmp_path / "ifa.plan.json").read_text())
    assert side["onnx_sha256"] and side["source_onnx"] == "ifa_small.onnx"
