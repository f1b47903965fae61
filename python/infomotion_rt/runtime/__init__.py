"""Motion encoders behind one interface, chosen by the model file's suffix.

A backend loads a model file and maps frames to motion vectors:
``encoder(frames)`` with frames (B, 4, S, S) float32 in [0, 1] -- pair-1 start, pair-1 end, pair-2 start,
pair-2 end, as ``runtime.inputs.endpoint_input`` makes them -- returns (B, D) float32.
Backends import their framework (torch, onnxruntime, tensorrt) only when a model is loaded, so importing
this package costs nothing and works where none of them is installed. The model-file contract (metadata,
feature layout, normalisation, TensorRT sidecar) is ``contract``; the input builder is ``inputs``. Nothing
here imports the training side (``motion``, ``evaluate``) or torch, except the torch backend's lazy load of
the model code when a ``.pt`` is opened (import-linter contracts in pyproject.toml, tests/test_architecture.py).
"""

from __future__ import annotations

from pathlib import Path

from infomotion_rt.errors import ConfigError
from infomotion_rt.runtime.base import SHIPPED_MODEL, MotionEncoder, default_engine, file_sha256  # noqa: F401  (public here)
from infomotion_rt.runtime.onnx_backend import OnnxEncoder  # each backend imports its framework
from infomotion_rt.runtime.tensorrt_backend import TensorRTEncoder  # only when a model is loaded
from infomotion_rt.runtime.torch_backend import TorchEncoder

# Suffix -> backend class (not an if-chain). Backend modules import their framework inside __init__, so
# this table costs nothing.
BACKENDS: dict[str, type[MotionEncoder]] = {".pt": TorchEncoder, ".onnx": OnnxEncoder,
                                            ".plan": TensorRTEncoder, ".engine": TensorRTEncoder}


def register_backend(suffix: str, cls: type[MotionEncoder]) -> None:
    BACKENDS[suffix.lower()] = cls


def backend_for(path) -> type[MotionEncoder]:
    suffix = Path(path).suffix.lower()
    if suffix not in BACKENDS:
        raise ConfigError(f"{path}: no motion backend for '{suffix or '(no suffix)'}' files; "
                          f"valid: {', '.join(sorted(BACKENDS))}")
    return BACKENDS[suffix]


def load_encoder(path, device: str = "cpu", threads: int = 0) -> MotionEncoder:
    """The encoder for a model file, by suffix (``.pt`` torch, ``.onnx`` ONNX Runtime, ``.plan``/``.engine``
    TensorRT; see ``BACKENDS``). ``device``: cpu, cuda, or auto (a GPU when the backend finds one)."""
    return backend_for(path)(path, device=device, threads=threads)
