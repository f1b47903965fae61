"""Training of the IFA interpolation model on (I0, It, I1) triplets, and its checkpoints.

Checkpoint (a plain dict, saved atomically, loaded with ``torch.load(weights_only=True)`` so no arbitrary
pickle runs): ``format``, ``version``, ``config`` (IFAConfig as JSON-able types), ``model`` (state dict),
``optimizer``, ``scheduler``, ``epoch`` (epochs done), ``step``, ``train`` (TrainConfig as a dict),
``history`` (per epoch: loss, VAL PSNR of the model and of the naive midpoint).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from infomotion_rt import console
from infomotion_rt.atomic import atomic_path
from infomotion_rt.errors import ConfigError, DataError, DependencyError
from infomotion_rt.motion.ifa import IFAConfig, IFANet, get_config
from infomotion_rt.motion.losses import ifa_loss, psnr
from infomotion_rt.motion.triplets import TripletSet, build_triplets

CHECKPOINT_FORMAT = "infomotion-rt/ifa-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class TrainConfig:
    config: str = "small"
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_frac: float = 0.05      # share of all steps spent in linear warm-up (ours)
    lap_weight: float = 0.5        # lambda of the Laplacian-pyramid term (ours; docs/method.md)
    device: str = "cpu"
    seed: int = 0
    threads: int = 0               # torch intra-op threads; 0 = torch's default
    image_size: int = 0            # 0 = the model config's own size

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ConfigError("epochs and batch size must be >= 1 and the learning rate > 0")


def resolve_device(name: str) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DependencyError("--device cuda was asked for, but torch sees no CUDA GPU")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise ConfigError(f"unknown device '{name}'; valid: cpu, cuda")
    return torch.device(name)


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


# ------------------------------------------------------------------------------------- checkpoints

def save_checkpoint(path, model: IFANet, optimizer=None, scheduler=None, epoch: int = 0, step: int = 0,
                    train_cfg: TrainConfig | None = None, history: list | None = None) -> Path:
    path = Path(path)
    state = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "config": model.cfg.to_dict(),
             "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
             "optimizer": optimizer.state_dict() if optimizer is not None else {},
             "scheduler": scheduler.state_dict() if scheduler is not None else {},
             "epoch": int(epoch), "step": int(step),
             "train": asdict(train_cfg) if train_cfg is not None else {}, "history": list(history or [])}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path, map_location="cpu") -> dict:
    """Read a checkpoint safely (tensors and plain types only); DataError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: model file not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise DataError(f"{path}: not a loadable IFA checkpoint ({str(exc).splitlines()[0]})") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{path}: not an infomotion-rt IFA checkpoint")
    if ckpt.get("version", 0) > CHECKPOINT_VERSION:
        raise DataError(f"{path}: checkpoint version {ckpt['version']} is newer than this toolkit reads")
    return ckpt


def model_from_checkpoint(ckpt: dict, path="checkpoint") -> IFANet:
    model = IFANet(IFAConfig.from_dict(ckpt["config"]))
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        raise DataError(f"{path}: weights do not match the stored config ({str(exc).splitlines()[0]})") from exc
    return model


# ---------------------------------------------------------------------------------------- training

def _batch(frames: np.ndarray, idx: np.ndarray, device, flip: torch.Tensor | None = None):
    x = torch.from_numpy(frames[idx]).to(device).float().div_(255.0)     # (B, 3, S, S)
    if flip is not None:  # augmentation: reverse time order (the middle frame stays the middle)
        x = torch.where(flip[:, None, None, None], x.flip(1), x)
    return x[:, 0:1], x[:, 1:2], x[:, 2:3]


def train_step(model: IFANet, optimizer, i0, it, i1, lap_weight: float = 0.5) -> float:
    model.train()
    loss = ifa_loss(model(i0, i1), it, lap_weight)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def evaluate_psnr(model: IFANet, triplets: TripletSet, batch_size: int = 32, device="cpu") -> tuple[float, float]:
    """Mean per-triplet PSNR (dB) of the refined frame and of the naive midpoint (mean of I0 and I1)."""
    model.eval()
    ours, naive = [], []
    for s in range(0, len(triplets), batch_size):
        i0, it, i1 = _batch(triplets.frames, np.arange(s, min(s + batch_size, len(triplets))), device)
        ours.append(psnr(model(i0, i1)["refined"], it).cpu())
        naive.append(psnr(0.5 * (i0 + i1), it).cpu())
    if not ours:
        return float("nan"), float("nan")
    return float(torch.cat(ours).mean()), float(torch.cat(naive).mean())


def make_optimizer(model: IFANet, cfg: TrainConfig, total_steps: int):
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warmup = max(1, int(round(cfg.warmup_frac * total_steps)))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, total_steps, warmup))
    return opt, sched


def fit(model: IFANet, train: TripletSet, val: TripletSet, cfg: TrainConfig, out: Path, *, ckpt: dict | None = None,
        progress: bool = True, log=print) -> dict:
    """Train ``model`` for ``cfg.epochs`` epochs (continuing ``ckpt`` when given), saving ``out`` every epoch."""
    device = resolve_device(cfg.device)
    model.to(device)
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    opt, sched = make_optimizer(model, cfg, cfg.epochs * steps_per_epoch)
    start_epoch, step, history = 0, 0, []
    if ckpt is not None:
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        start_epoch, step, history = int(ckpt["epoch"]), int(ckpt["step"]), list(ckpt["history"])
    torch.manual_seed(cfg.seed)
    step_times = []
    for epoch in range(start_epoch, cfg.epochs):
        rng = np.random.default_rng(cfg.seed * 1000 + epoch)     # per epoch, so a resumed run continues alike
        order = rng.permutation(len(train))
        flips = torch.from_numpy(rng.random(len(train)) < 0.5)
        bar = console.bar(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step",
                          progress=progress, inner=True)
        losses = []
        for b in bar:
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            i0, it, i1 = _batch(train.frames, idx, device, flips[idx].to(device))
            t0 = time.perf_counter()
            losses.append(train_step(model, opt, i0, it, i1, cfg.lap_weight))
            step_times.append(time.perf_counter() - t0)
            sched.step()
            step += 1
            bar.set_postfix(loss=f"{losses[-1]:.5f}")
        val_psnr, naive_psnr = evaluate_psnr(model, val, cfg.batch_size * 2, device)
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_psnr": val_psnr,
                        "naive_psnr": naive_psnr})
        judged = (f"VAL PSNR {val_psnr:.2f} dB (naive midpoint {naive_psnr:.2f} dB)" if len(val)
                  else "no VAL triplets")
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {history[-1]['loss']:.5f}, {judged}")
        save_checkpoint(out, model, opt, sched, epoch + 1, step, cfg, history)
    if start_epoch >= cfg.epochs:
        log(f"{out} already has {start_epoch} epochs (--epochs {cfg.epochs}); nothing to train")
    med = float(np.median(step_times)) if step_times else float("nan")
    return {"history": history, "step_time_s": med, "steps": step, "out": str(out)}


def train_ifa(data_dir, out, cfg: TrainConfig = TrainConfig(), *, resume: bool = False, progress: bool = True,
              log=print, max_videos: int | None = None) -> dict:
    """The ``train-ifa`` stage: dataset folder -> trained checkpoint at ``out``. Returns a summary."""
    from infomotion_rt.data.loader import load_dataset

    out = Path(out)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    resolve_device(cfg.device)
    ckpt = None
    if resume:
        if not out.is_file():
            raise ConfigError(f"--resume: {out} does not exist yet; run without --resume first")
        ckpt = load_checkpoint(out)
        model = model_from_checkpoint(ckpt, out)
    else:
        torch.manual_seed(cfg.seed)
        overrides = {"image_size": cfg.image_size} if cfg.image_size else {}
        model = IFANet(get_config(cfg.config, **overrides))
    dataset = load_dataset(data_dir, progress=progress)
    train_recs, val_recs = dataset.split("TRAIN")[:max_videos], dataset.split("VAL")[:max_videos]
    if not train_recs:
        raise DataError(f"{data_dir}: no TRAIN videos to train the motion model on")
    size = model.cfg.image_size
    t0 = time.perf_counter()
    train = build_triplets(train_recs, size, progress, "decode TRAIN")
    val = build_triplets(val_recs, size, progress, "decode VAL")
    decode_s = time.perf_counter() - t0
    for subject, message in list(train.problems) + list(val.problems):
        log(f"skipped {subject}: {message}")
    if len(train) == 0:
        raise DataError(f"{data_dir}: no TRAIN video could be decoded into frame triplets")
    log(f"{len(train)} TRAIN triplets from {len(train_recs)} videos, {len(val)} VAL triplets "
        f"(decoded in {decode_s:.1f} s)")
    summary = fit(model, train, val, cfg, out, ckpt=ckpt, progress=progress, log=log)
    summary.update(n_train=len(train), n_val=len(val), decode_s=decode_s,
                   problems=len(train.problems) + len(val.problems))
    return summary
