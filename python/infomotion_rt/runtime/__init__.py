"""Motion encoders behind one interface, chosen by the model file's suffix.

A backend loads a model file and maps frames to motion vectors:
``encoder(frames)`` with frames (B, 4, S, S) float32 in [0, 1] -- pair-1 start, pair-1 end, pair-2 start,
pair-2 end, as ``runtime.inputs.endpoint_input`` makes them -- returns (B, D) float32.
Backends import their framework (torch, onnxruntime, tensorrt) only when a model is loaded, so importing
this package costs nothing and works where none of them is installed. The model-file contract (metadata,
feature layout, normalisation, TensorRT sidecar) is ``contract``; the input builder is ``inputs``. Nothing
here imports the training side (``motion``, ``evaluate``) or torch, except the torch backend's lazy load of
the model code when a ``.pt`` is opened (tests/test_runtime_isolation.py checks this).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError


SHIPPED_MODEL = "ifa_small.onnx"


def default_engine() -> Path:
    """The small pretrained encoder shipped inside the package (``infomotion_rt/models/``; see
    ``models/MODEL_CARD.md``), used when no ``--engine`` is given."""
    path = Path(__file__).resolve().parent.parent / "models" / SHIPPED_MODEL
    if not path.is_file():
        raise DataError(f"{path}: the shipped encoder is missing from this installation; pass --engine "
                        "MODEL (.onnx/.pt/.plan) or reinstall infomotion-rt")
    return path


def file_sha256(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


class MotionEncoder(ABC):
    """One loaded model. Subclasses set ``name`` and fill ``image_size``, ``feature_dim`` and ``config``."""

    name = "abstract"

    def __init__(self, path, device: str = "cpu", threads: int = 0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"{self.path}: model file not found")
        self.device, self.threads = device, threads
        self.model_hash = file_sha256(self.path)
        self.image_size = 112
        self.feature_dim = 0
        self.config: dict = {}
        self.runtime = self.name          # what really runs the model (providers, GPU); backends refine it

    @abstractmethod
    def _run(self, frames: np.ndarray) -> np.ndarray:
        """(B, 4, S, S) float32 -> (B, D) float32."""

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = np.ascontiguousarray(frames, dtype=np.float32)
        expected = (4, self.image_size, self.image_size)
        if frames.ndim != 4 or frames.shape[1:] != expected:
            raise DataError(f"{self.path.name}: frames must be (B, {', '.join(map(str, expected))}), "
                            f"got {frames.shape}")
        return np.asarray(self._run(frames), dtype=np.float32)

    def meta(self) -> dict:
        """What a features file records about the encoder."""
        return {"engine": str(self.path), "backend": self.name, "model_hash": self.model_hash,
                "config": self.config, "image_size": self.image_size, "feature_dim": self.feature_dim,
                "runtime": self.runtime}


from .onnx_backend import OnnxEncoder  # noqa: E402  (these need MotionEncoder; each imports its framework
from .tensorrt_backend import TensorRTEncoder  # noqa: E402  only when a model is loaded)
from .torch_backend import TorchEncoder  # noqa: E402

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
