"""The encoder base class every backend subclasses, the shipped model's path and the model-file hash."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from infomotion_rt.errors import DataError


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

