"""Train the EF regressor on a list of videos, predict EF (and penultimate features) for others.

MSE on EF standardised with the training set's mean and std (std floored at 5 EF points, so a
selection from one narrow class cannot blow the scale up); AdamW with a cosine schedule; one clip
per video per epoch at a random start. Inputs are grey levels / 255 standardised with the training
clips' mean and std. Both normalisations go into the checkpoint. torch is imported inside functions.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError
from .clips import ClipSource
from .regressor import Setting, _torch, build_model, load_init

MIN_EF_STD = 5.0


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    device: str = "cpu"
    threads: int = 0              # torch CPU threads; 0 = torch's default
    init: str | None = None       # local state_dict to start from (never downloaded)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError(f"need epochs>=1, batch size>=1, lr>0; got {self.epochs}, {self.batch_size}, {self.lr}")


def _device(torch, name: str):
    if name.startswith("cuda") and not torch.cuda.is_available():
        from ..errors import DependencyError

        raise DependencyError(f"--device {name}: torch sees no CUDA device here; use --device cpu")
    return torch.device(name)


def _to_tensor(torch, clips: np.ndarray, norm: dict, device):
    """(B, T, S, S) uint8 -> (B, 1, T, S, S) float, standardised."""
    x = torch.from_numpy(np.ascontiguousarray(clips)).to(device, non_blocking=True).float().div_(255.0)
    return x.sub_(norm["pixel_mean"]).div_(norm["pixel_std"]).unsqueeze(1)


def norm_stats(records, source: ClipSource) -> dict:
    """Pixel and EF normalisation from the training videos (up to 16 videos' first test clip)."""
    step = max(1, len(records) // 16)
    px = np.concatenate([source.test_clips(r)[0].ravel() for r in records[::step][:16]]).astype(np.float64) / 255.0
    ef = np.array([r.ef for r in records], dtype=np.float64)
    return {"pixel_mean": float(px.mean()), "pixel_std": float(max(px.std(), 1e-3)),
            "ef_mean": float(ef.mean()), "ef_std": float(max(ef.std(), MIN_EF_STD))}


def train_regressor(records, setting: Setting, cfg: TrainConfig, seed: int, source: ClipSource | None = None,
                    progress: bool = True, desc: str = "train"):
    """Train from scratch (or ``cfg.init``) on ``records``; returns (model, norm, history dict)."""
    from tqdm import tqdm

    torch = _torch()
    records = list(records)
    if not records:
        raise DataError("no training videos (empty selection)")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = _device(torch, cfg.device)
    source = source or ClipSource(setting.clips)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model(setting.model)
    skipped = load_init(model, cfg.init) if cfg.init else []
    model.to(device).train()
    norm = norm_stats(records, source)
    y_all = (np.array([r.ef for r in records], dtype=np.float32) - norm["ef_mean"]) / norm["ef_std"]
    bs = min(cfg.batch_size, len(records))
    steps_per_epoch = math.ceil(len(records) / bs)
    total = cfg.epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    history = {"epoch_s": [], "loss": [], "steps": total, "n_train": len(records), "init_skipped": skipped}
    bar = tqdm(range(cfg.epochs), desc=desc, unit="epoch", disable=not progress, leave=False)
    for _ in bar:
        t0, losses = time.perf_counter(), []
        order = rng.permutation(len(records))
        for b in range(steps_per_epoch):
            idx = order[b * bs:(b + 1) * bs]
            clips = np.stack([source.train_clip(records[i], rng) for i in idx])
            x = _to_tensor(torch, clips, norm, device)
            y = torch.from_numpy(y_all[idx]).to(device)
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        history["epoch_s"].append(time.perf_counter() - t0)
        history["loss"].append(float(np.mean(losses)))
        bar.set_postfix(loss=f"{history['loss'][-1]:.3f}")
    bar.close()
    if not all(np.isfinite(history["loss"])):
        raise DataError(f"{desc}: training diverged (loss {history['loss'][-1]}); lower --lr")
    return model.eval(), norm, history


def predict(model, records, source: ClipSource, norm: dict, device: str = "cpu", batch_size: int = 16,
            features: bool = False, progress: bool = True, desc: str = "predict"):
    """EF per record (mean over its test clips); with ``features`` also the penultimate-layer vectors
    averaged over the clips. Returns (ef (N,), feats (N, D) or None)."""
    from tqdm import tqdm

    torch = _torch()
    dev = _device(torch, device)
    model = model.to(dev).eval()
    preds, feats = [], []
    with torch.inference_mode():
        for b in tqdm(range(0, len(records), batch_size), desc=desc, unit="batch", disable=not progress, leave=False):
            chunk = records[b:b + batch_size]
            clips = [source.test_clips(r) for r in chunk]
            counts = [len(c) for c in clips]
            x = _to_tensor(torch, np.concatenate(clips), norm, dev)
            f = model.features(x)
            y = model.head(f).float().cpu().numpy() * norm["ef_std"] + norm["ef_mean"]
            f = f.float().cpu().numpy()
            at = np.cumsum([0] + counts)
            preds.extend(y[at[i]:at[i + 1]].mean() for i in range(len(chunk)))
            if features:
                feats.extend(f[at[i]:at[i + 1]].mean(0) for i in range(len(chunk)))
    return np.asarray(preds, dtype=np.float64), (np.stack(feats) if features and feats else None)
