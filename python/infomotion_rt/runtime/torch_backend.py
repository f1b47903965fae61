"""The torch backend: an IFA training checkpoint (``.pt``) run eagerly. Needs the [train] extra."""

from __future__ import annotations

import numpy as np

from infomotion_rt.errors import TRAIN_EXTRA_HINT, require
from infomotion_rt.runtime.base import MotionEncoder


class TorchEncoder(MotionEncoder):
    name = "torch"

    def __init__(self, path, device: str = "cpu", threads: int = 0) -> None:
        super().__init__(path, device, threads)
        torch = require("torch", what=f"{self.path} (a .pt model)", hint=TRAIN_EXTRA_HINT + " or use an .onnx model")
        from infomotion_rt.motion.train import load_checkpoint, model_from_checkpoint, resolve_device

        self._torch = torch
        if threads:
            torch.set_num_threads(threads)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self._device = resolve_device(device)
        self.runtime = f"torch {torch.__version__} eager on {self._device}, {torch.get_num_threads()} threads"
        ckpt = load_checkpoint(self.path)
        # only the encoder is needed; the flow heads and refinement net are dropped
        self.encoder = model_from_checkpoint(ckpt, self.path).encoder.to(self._device).eval()
        self.config = dict(ckpt["config"])
        self.image_size = int(self.encoder.cfg.image_size)
        self.feature_dim = int(self.encoder.cfg.feature_dim)

    def _run(self, frames: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self.encoder(torch.from_numpy(frames).to(self._device))
        return out.float().cpu().numpy()
