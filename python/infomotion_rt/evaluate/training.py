"""Train the EF regressor on a list of videos for a fixed number of optimisation steps; predict EF.

Budgets are optimisation steps, not epochs (issue 9): every training set of a benchmark cell gets the
same ``steps`` and the same sampling procedure (batches drawn from reshuffled passes over the set by a
generator seeded with the run's seed), so a 10-video selection is trained as long as a 50-video one.
With VAL videos (the Whole rows) ``steps`` is a maximum: VAL loss is measured every ``eval_every``
steps, training stops after ``patience`` measurements without improvement and the best checkpoint
on VAL is kept (early stopping).

MSE on EF standardised with the training set's mean and std (std floored at 5 EF points, so a
selection from one narrow class cannot blow the scale up). With per-video ``weights`` (a selection's
class-prior weights, ``selection.methods.class_prior_weights``; mean 1 over the set) the loss is the weighted MSE
``weighted_mse`` and the EF mean and std are the weighted ones, so the target scale and the untrained
model's starting point are the pool's, not the rebalanced picks'; ``weights=None`` is the unweighted
MSE exactly; AdamW, linear warm-up over the first 5% of
the steps, then cosine to zero (ours). Inputs are grey levels / 255 standardised with the training
clips' mean and std. Both normalisations go into the checkpoint. torch is imported inside functions.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from infomotion_rt import console
from infomotion_rt.errors import ConfigError, DataError, require
from infomotion_rt.evaluate.clips import ClipSource
from infomotion_rt.evaluate.regressor import Setting, _torch, build_model, load_init

MIN_EF_STD = 5.0
WARMUP = 0.05          # share of the steps with a linear learning-rate warm-up (ours)
TREND_WINDOW = 0.10    # "still falling": mean loss of the last 10% of steps ...
TREND_DROP = 0.05      # ... more than 5% below the mean of the 10% before (ours)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 600              # optimisation steps (a maximum when VAL videos are given)
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    device: str = "cpu"
    threads: int = 0              # CPU threads (limit_threads); 0 = each library's default
    init: str | None = None       # local state_dict to start from (never downloaded)
    eval_every: int = 0           # VAL check interval in steps with early stopping; 0 = steps // 20 (>= 10)
    patience: int = 5             # VAL checks without improvement before stopping

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0 or self.patience < 1 or self.eval_every < 0:
            raise ConfigError(f"need steps>=1, batch size>=1, lr>0, patience>=1, eval_every>=0; got {self.steps}, "
                              f"{self.batch_size}, {self.lr}, {self.patience}, {self.eval_every}")

    @property
    def val_interval(self) -> int:
        return self.eval_every or max(10, self.steps // 20)


def _device(torch, name: str):
    if name.startswith("cuda") and not torch.cuda.is_available():
        from infomotion_rt.errors import DependencyError

        raise DependencyError(f"--device {name}: torch sees no CUDA device here; use --device cpu")
    return torch.device(name)


def _memory_format(torch, device):
    """channels_last_3d on CPU: the same arithmetic in the layout oneDNN's 3-D convolutions prefer, 1.3-1.4x
    faster per training step of `cpu` and `cpu-small` on one thread (ours, BENCHMARKS.md); CUDA keeps the default."""
    return torch.channels_last_3d if torch.device(device).type == "cpu" else torch.contiguous_format


def _to_tensor(torch, clips: np.ndarray, norm: dict, device):
    """(B, T, S, S) uint8 -> (B, 1, T, S, S) float, standardised."""
    x = torch.from_numpy(np.ascontiguousarray(clips)).to(device, non_blocking=True).float().div_(255.0)
    x = x.sub_(norm["pixel_mean"]).div_(norm["pixel_std"]).unsqueeze(1)
    return x.contiguous(memory_format=_memory_format(torch, device))


def norm_stats(records, source: ClipSource, weights=None) -> dict:
    """Pixel and EF normalisation from the training videos (up to 16 videos' first test clip); EF mean
    and std weighted by ``weights`` (N,) when given."""
    step = max(1, len(records) // 16)
    px = np.concatenate([source.test_clips(r)[0].ravel() for r in records[::step][:16]]).astype(np.float64) / 255.0
    ef = np.array([r.ef for r in records], dtype=np.float64)
    if weights is None:  # exactly the unweighted figures of before weights (--no-weights)
        mean, std = float(ef.mean()), float(ef.std())
    else:
        mean = float(np.average(ef, weights=weights))
        std = float(np.sqrt(np.average((ef - mean) ** 2, weights=weights)))
    return {"pixel_mean": float(px.mean()), "pixel_std": float(max(px.std(), 1e-3)),
            "ef_mean": mean, "ef_std": float(max(std, MIN_EF_STD))}


def check_weights(weights, n: int, what: str = "training videos"):
    """``weights`` as a (n,) float64 array of positive finite numbers, or None; DataError otherwise."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != n or not (np.isfinite(w).all() and (w > 0).all()):
        raise DataError(f"{what}: need {n} positive finite weights, got {len(w)} (min {w.min() if len(w) else 'none'})")
    return w


def weighted_mse(pred, target, weight=None):
    """Mean over the batch of weight * (pred - target)^2; pred, target, weight (B,) float tensors
    (ValueError on other shapes); weight None: the plain MSE.

    Divided by the batch size, not by the batch's weight sum: the weights average 1 over the set and
    each pass of ``batch_plan`` draws every video once, so a pass's losses add up to the set's weighted
    MSE exactly, whereas dividing by the weight sum favours the rare classes in small batches (0.8 EF on
    a 25-pick set with batches of 8, ours). Weighted sampling was not used: it would change which videos
    a step sees, and ``--no-weights`` would no longer be a paired comparison."""
    import torch

    if weight is None:
        return torch.nn.functional.mse_loss(pred, target)
    if not pred.shape == target.shape == weight.shape:  # broadcasting (B,1) against (B,) would be silent
        raise ValueError(f"weighted_mse needs equal shapes, got {tuple(pred.shape)}, {tuple(target.shape)}, "
                         f"{tuple(weight.shape)}")
    return (weight * (pred - target) ** 2).mean()


def batch_plan(n_videos: int, steps: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """(steps, b) video indices, b = min(batch_size, n_videos): consecutive reshuffled passes over the
    set, so every video is drawn equally often (±1 pass) whatever the set size."""
    if n_videos < 1:
        raise DataError("no training videos (empty selection)")
    b = min(batch_size, n_videos)
    need = steps * b
    order = np.concatenate([rng.permutation(n_videos) for _ in range(math.ceil(need / n_videos))])
    return order[:need].reshape(steps, b)


def loss_trend(losses) -> dict:
    """Was the training loss still falling at the end? Mean of the last 10% of the step losses against
    the 10% before; ``still_falling`` when it is more than 5% lower (ours). Needs >= 20 steps."""
    v = np.asarray(losses, dtype=np.float64)
    w = int(len(v) * TREND_WINDOW)
    if w < 2:
        return {"last": float(v[-1]) if len(v) else float("nan"), "previous": float("nan"), "still_falling": False}
    last, prev = float(v[-w:].mean()), float(v[-2 * w:-w].mean())
    return {"last": last, "previous": prev, "still_falling": bool(last < (1.0 - TREND_DROP) * prev)}


def _lr_factor(step: int, total: int) -> float:
    warm = max(1, int(WARMUP * total))
    if step < warm:
        return (step + 1) / warm
    return 0.5 * (1.0 + math.cos(math.pi * min(step - warm, total - warm) / max(1, total - warm)))


def val_loss(model, records, source: ClipSource, norm: dict, device: str) -> float:
    """MSE in standardised EF units of the test-clip predictions for ``records`` (early stopping)."""
    pred, _ = predict(model, records, source, norm, device, progress=False)
    y = np.array([r.ef for r in records], dtype=np.float64)
    return float(np.mean(((pred - y) / norm["ef_std"]) ** 2))


def limit_threads(n: int) -> None:
    """Cap this process at ``n`` CPU threads in torch (intra-op), the BLAS/OpenMP pools NumPy uses
    (threadpoolctl), OpenCV and FAISS; ``n`` 0 leaves every library's default. torch's setting alone is
    not enough: ED/ES detection (NumPy SVD), clip resizing (OpenCV) and k-means (FAISS) otherwise take
    every core, which stalls a second job on a small machine (ours). Raises DependencyError without
    torch or threadpoolctl (the ``[train]`` extra)."""
    if not n:
        return
    import cv2

    torch = require("torch", "threadpoolctl", what="--threads")
    import threadpoolctl

    torch.set_num_threads(n)
    cv2.setNumThreads(n)
    try:
        import faiss
    except ImportError:  # not needed by evaluate alone
        faiss = None
    if faiss is not None:
        faiss.omp_set_num_threads(n)
    threadpoolctl.threadpool_limits(limits=n)  # called, not entered: the limits hold for the process


def train_regressor(records, setting: Setting, cfg: TrainConfig, seed: int, source: ClipSource | None = None,
                    progress: bool = True, desc: str = "train", val_records=None, val_source: ClipSource | None = None,
                    weights=None):
    """Train from scratch (or ``cfg.init``) on ``records`` for ``cfg.steps`` steps, or with early stopping
    on ``val_records``; returns (model in eval mode, norm dict, history dict). ``weights`` (N,) positive
    floats, one per record (a selection's Weight column), make the loss ``weighted_mse``; None: unweighted.
    Raises DataError on an empty set, bad weights or a diverged loss."""
    torch = _torch()
    records = list(records)
    if not records:
        raise DataError("no training videos (empty selection)")
    limit_threads(cfg.threads)
    device = _device(torch, cfg.device)
    source = source or ClipSource(setting.clips)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model(setting.model)
    skipped = load_init(model, cfg.init) if cfg.init else []
    model.to(device, memory_format=_memory_format(torch, device)).train()
    weights = check_weights(weights, len(records), desc)
    norm = norm_stats(records, source, weights)
    y_all = (np.array([r.ef for r in records], dtype=np.float32) - norm["ef_mean"]) / norm["ef_std"]
    w_all = None if weights is None else weights.astype(np.float32)
    plan = batch_plan(len(records), cfg.steps, cfg.batch_size, rng)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, cfg.steps))
    early = bool(val_records)
    history = {"n_train": len(records), "max_steps": cfg.steps, "batch_size": int(plan.shape[1]),
               "init_skipped": skipped, "weighted": weights is not None, "loss": [], "val": []}
    best = (math.inf, 0, None)  # (VAL loss, step, state)
    since_best = 0
    t0 = time.perf_counter()
    bar = console.bar(range(cfg.steps), desc=desc, unit="step", progress=progress, inner=True)
    for step in bar:
        idx = plan[step]
        clips = np.stack([source.train_clip(records[i], rng) for i in idx])
        x = _to_tensor(torch, clips, norm, device)
        y = torch.from_numpy(y_all[idx]).to(device)
        w = None if w_all is None else torch.from_numpy(w_all[idx]).to(device)
        loss = weighted_mse(model(x), y, w)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        history["loss"].append(float(loss.detach()))
        if not math.isfinite(history["loss"][-1]):
            raise DataError(f"{desc}: training diverged at step {step + 1} (loss {history['loss'][-1]}); lower --lr")
        if step % 25 == 0:
            bar.set_postfix(loss=f"{np.mean(history['loss'][-25:]):.3f}")
        if early and ((step + 1) % cfg.val_interval == 0 or step + 1 == cfg.steps):
            v = val_loss(model, val_records, val_source or source, norm, cfg.device)
            model.train()
            history["val"].append([step + 1, v])
            if v < best[0]:
                best = (v, step + 1, {k: t.detach().clone() for k, t in model.state_dict().items()})
                since_best = 0
            else:
                since_best += 1
                if since_best >= cfg.patience:
                    break
    bar.close()
    steps_done = len(history["loss"])
    if early and best[2] is not None:
        model.load_state_dict(best[2])
    history.update(steps=steps_done, train_s=time.perf_counter() - t0, trend=loss_trend(history["loss"]),
                   early_stopping=early, best_step=best[1] if early else steps_done,
                   best_val_loss=best[0] if early else None, stopped_early=early and steps_done < cfg.steps,
                   loss_curve=_curve(history.pop("loss")))
    return model.eval(), norm, history


def _curve(losses, points: int = 20) -> list[float]:
    """The step losses as ``points`` chunk means (for the JSON; the full list is not kept)."""
    chunks = np.array_split(np.asarray(losses, dtype=np.float64), min(points, len(losses)))
    return [round(float(c.mean()), 5) for c in chunks]


def predict(model, records, source: ClipSource, norm: dict, device: str = "cpu", batch_size: int = 16,
            features: bool = False, progress: bool = True, desc: str = "predict"):
    """EF per record (mean over its test clips); with ``features`` also the penultimate-layer vectors
    averaged over the clips. Returns (ef (N,), feats (N, D) or None)."""
    torch = _torch()
    dev = _device(torch, device)
    model = model.to(dev, memory_format=_memory_format(torch, dev)).eval()
    preds, feats = [], []
    with torch.inference_mode():
        for b in console.bar(range(0, len(records), batch_size), desc=desc, unit="batch", progress=progress, inner=True):
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
