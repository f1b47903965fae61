"""The ONNX Runtime backend: an exported encoder (``.onnx``, see ``runtime.contract``; made by ``motion.export``). No torch needed.

Execution providers by ``device``: ``auto`` prefers TensorRT, then CUDA, then CPU, among those the installed
onnxruntime offers; ``cpu`` uses the CPU only; ``cuda`` / ``tensorrt`` insist on that GPU provider (with the
CPU as fallback for unsupported nodes). The providers a session really runs on are read back from
``session.get_providers()`` -- ONNX Runtime silently drops a provider that fails to initialise -- and are
reported in ``runtime`` (features meta, CLI) and by a one-line note on stderr when a GPU was asked for but
not obtained. Determinism: sequential execution, one inter-op thread, ``use_deterministic_compute``, and the
CUDA provider's default (non-benchmarked) convolution algorithms.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from infomotion_rt.errors import ConfigError, DataError, DependencyError, require
from infomotion_rt.runtime.base import MotionEncoder
from infomotion_rt.runtime.contract import check_metadata

TRT_EP, CUDA_EP, CPU_EP = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
PREFERENCE = (TRT_EP, CUDA_EP, CPU_EP)
_WANTED = {"auto": PREFERENCE, "cpu": (CPU_EP,), "cuda": (CUDA_EP, CPU_EP), "tensorrt": (TRT_EP, CUDA_EP, CPU_EP)}


def _onnxruntime(what):
    return require("onnxruntime", what=f"{what} (an .onnx model)",
                   hint="pip install onnxruntime, or onnxruntime-gpu for NVIDIA GPUs (never both)")


def choose_providers(device: str, available) -> list[str]:
    """Providers to ask ONNX Runtime for, best first; ConfigError / DependencyError when impossible."""
    device = device.lower()
    if device.startswith("cuda:"):
        device = "cuda"
    if device not in _WANTED:
        raise ConfigError(f"unknown device '{device}' for ONNX Runtime; valid: {', '.join(_WANTED)}")
    chosen = [p for p in _WANTED[device] if p in available]
    if device in ("cuda", "tensorrt") and _WANTED[device][0] not in chosen:
        raise DependencyError(f"--device {device}: the installed onnxruntime has no {_WANTED[device][0]} "
                              f"(available: {', '.join(available)}); install onnxruntime-gpu instead of onnxruntime")
    if not chosen:
        raise DependencyError(f"onnxruntime offers none of {', '.join(_WANTED[device])} "
                              f"(available: {', '.join(available)})")
    return chosen


def _provider_options(name: str, input_name: str, size: int) -> dict:
    if name == CUDA_EP:
        return {"cudnn_conv_algo_search": "DEFAULT"}     # no per-run benchmarking: same kernels every run
    if name == TRT_EP:
        cache = Path(os.environ.get("INFOMOTION_RT_CACHE", Path.home() / ".cache" / "infomotion-rt")) / "ort-trt"
        shape = lambda b: f"{input_name}:{b}x4x{size}x{size}"  # noqa: E731
        return {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(cache),
                "trt_profile_min_shapes": shape(1), "trt_profile_opt_shapes": shape(16),
                "trt_profile_max_shapes": shape(64)}
    return {}


def read_onnx_metadata(path) -> dict[str, str]:
    """metadata_props of an ONNX file, read through ONNX Runtime (no ``onnx`` package needed)."""
    ort = _onnxruntime(path)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: model file not found")
    try:
        sess = ort.InferenceSession(str(path), providers=[CPU_EP])
    except Exception as exc:
        raise DataError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0]})") from exc
    return dict(sess.get_modelmeta().custom_metadata_map)


class OnnxEncoder(MotionEncoder):
    name = "onnxruntime"

    def __init__(self, path, device: str = "cpu", threads: int = 0) -> None:
        super().__init__(path, device, threads)
        ort = _onnxruntime(self.path)
        providers = choose_providers(device, ort.get_available_providers())
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)          # 0 = ONNX Runtime's default (one per core)
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.use_deterministic_compute = True
        opts.log_severity_level = 3                       # errors only; our own note says what matters
        # metadata first (on the CPU provider: cheap, and a GPU provider must not build for a wrong file)
        meta = check_metadata(read_onnx_metadata(self.path), self.path)
        self.metadata = meta
        self.image_size, self.feature_dim = int(meta["image_size"]), int(meta["feature_dim"])
        self.config = json.loads(meta["config"])
        self.input_name, self.output_name = meta["input_name"], meta["output_name"]
        prov = [(p, _provider_options(p, self.input_name, self.image_size)) for p in providers]
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=opts, providers=prov)
        except Exception as exc:
            raise DataError(f"{self.path}: ONNX Runtime cannot load the model ({str(exc).splitlines()[0]})") from exc
        self._check_io()
        self.providers = list(self.session.get_providers())
        self.precision = meta.get("precision", "fp32")    # int8 exports say so (motion.quantize)
        self.runtime = (f"onnxruntime {ort.__version__} on {', '.join(self.providers)}, "
                        f"{threads or 'default'} intra-op threads, {self.precision}")
        if self.providers[0] != providers[0]:
            print(f"note: {self.path.name}: asked ONNX Runtime for {providers[0]} but the session runs on "
                  f"{', '.join(self.providers)}", file=sys.stderr)

    def _check_io(self) -> None:
        ins, outs = self.session.get_inputs(), self.session.get_outputs()
        if len(ins) != 1 or ins[0].name != self.input_name or len(outs) != 1 or outs[0].name != self.output_name:
            raise DataError(f"{self.path}: expected one input '{self.input_name}' and one output "
                            f"'{self.output_name}', got {[i.name for i in ins]} -> {[o.name for o in outs]}")
        shape, s = ins[0].shape, self.image_size
        if len(shape) != 4 or list(shape[1:]) != [4, s, s] or ins[0].type != "tensor(float)":
            raise DataError(f"{self.path}: input '{self.input_name}' is {ins[0].type} {shape}, but the metadata "
                            f"says [batch, 4, {s}, {s}] float32")
        if isinstance(shape[0], int):
            raise DataError(f"{self.path}: the batch dimension is fixed at {shape[0]}; re-export with a dynamic batch")
        oshape = outs[0].shape
        if len(oshape) != 2 or oshape[1] != self.feature_dim:
            raise DataError(f"{self.path}: output '{self.output_name}' is {oshape}, but the metadata says "
                            f"[batch, {self.feature_dim}]")

    def _run(self, frames: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: frames})[0]

    def meta(self) -> dict:
        return {**super().meta(), "providers": self.providers, "runtime": self.runtime, "precision": self.precision,
                "training_data": self.metadata.get("training_data", "")}
