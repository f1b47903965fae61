"""Benchmark of IFA training: time per optimisation step (forward + backward + AdamW) per config and batch.

    .venv/bin/python benchmarks/bench_train.py                     # CPU, 2 threads, small, batch 8 and 16
    .venv/bin/python benchmarks/bench_train.py --device cuda --batch 16 --batch 64 --config small --config base

Random frames at the model's input size (step time does not depend on content). The first steps are
warm-up and not timed; the median of the timed steps is printed with the images per second it implies.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from infomotion_rt.motion.ifa import IFANet, count_parameters, get_config
from infomotion_rt.motion.train import TrainConfig, make_optimizer, resolve_device, train_step


def bench(config: str, batch: int, device: torch.device, steps: int, warmup: int) -> dict:
    torch.manual_seed(0)
    model = IFANet(get_config(config)).to(device)
    opt, _ = make_optimizer(model, TrainConfig(), 1000)
    s = model.cfg.image_size
    i0, it, i1 = (torch.rand(batch, 1, s, s, device=device) for _ in range(3))
    times = []
    for k in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        train_step(model, opt, i0, it, i1)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if k >= warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"config": config, "batch": batch, "device": str(device), "step_s": round(med, 4),
            "triplets_per_s": round(batch / med, 1), "params": count_parameters(model),
            "encoder_params": count_parameters(model.encoder)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", action="append", help="small / base / tiny (repeatable; default small)")
    ap.add_argument("--batch", action="append", type=int, help="batch sizes (repeatable; default 8, 16)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (the shared machine has 2 cores)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or 'CPU'}, {args.threads} threads"
    print(f"# IFA training step time, torch {torch.__version__}, {where}")
    for config in args.config or ["small"]:
        for batch in args.batch or [8, 16]:
            r = bench(config, batch, device, args.steps, args.warmup)
            print(f"{config:>6} batch {batch:>3}: {r['step_s']:.3f} s/step, {r['triplets_per_s']:.1f} triplets/s "
                  f"({r['params'] / 1e6:.2f} M params, encoder {r['encoder_params'] / 1e6:.2f} M)")
            print("json " + json.dumps(r))


if __name__ == "__main__":
    main()
