"""Benchmark of EF-regressor training: seconds per clip per step and per epoch, per setting.

    .venv/bin/python benchmarks/bench_evaluate.py                          # CPU, settings cpu + tiny (+ paper, 2 steps)
    .venv/bin/python benchmarks/bench_evaluate.py --device cuda --setting paper --batch 16
    .venv/bin/python benchmarks/bench_evaluate.py --setting cpu --setting cpu-small --threads 1 --steps 20 --layouts

Step time: forward + backward + AdamW on random clips of the setting's shape (content does not matter),
median of the timed steps after warm-up, in the memory layout training uses (channels_last_3d on CPU:
``training._memory_format``); ``--layouts`` instead times it against the default contiguous layout in the
same process, 4 repeats in alternating order with 3 warm-up steps each, and prints the medians and ratio.
Epoch time: ``--videos`` videos at one clip each per epoch,
i.e. ceil(videos / batch) steps; on a real run add decoding (cached after the first epoch).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time

import torch

from infomotion_rt.evaluate.regressor import SETTINGS, build_model
from infomotion_rt.evaluate.training import _memory_format


def bench(name: str, batch: int, device: str, steps: int, warmup: int, arch: str | None,
          layout: str = "training") -> dict:
    from dataclasses import replace

    s = SETTINGS[name]
    model_cfg = replace(s.model, arch=arch) if arch else s.model
    fmt = _memory_format(torch, device) if layout == "training" else torch.contiguous_format
    torch.manual_seed(0)
    model = build_model(model_cfg).to(device, memory_format=fmt).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    c = s.clips
    x = torch.randn(batch, 1, c.frames, c.size, c.size, device=device).contiguous(memory_format=fmt)
    y = torch.randn(batch, device=device)
    times = []
    for i in range(warmup + steps):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    label = s.label() if not arch else s.label().replace(s.model.arch, arch)
    return {"setting": label, "layout": str(fmt).replace("torch.", ""), "batch": batch, "step_s": step, "clip_step_s": step / batch,
            "params": sum(p.numel() for p in model.parameters())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setting", action="append", choices=sorted(SETTINGS))
    ap.add_argument("--model", default=None, choices=["r2plus1d_18", "r3d_18", "mc3_18"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--videos", type=int, default=750, help="Videos per epoch for the epoch-time column.")
    ap.add_argument("--layouts", action="store_true",
                    help="Time the training layout (channels_last_3d on CPU) against the contiguous one.")
    args = ap.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    settings = args.setting or ["tiny", "cpu", "paper"]
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, device {args.device}"
          + (f", {args.threads} threads" if args.device == "cpu" else f" ({torch.cuda.get_device_name()})"))
    print(f"{'setting':<52}{'params':>10}{'batch':>7}{'s/step':>9}{'s/clip':>9}{'s/epoch@' + str(args.videos):>14}")
    for name in settings:
        # The paper setting takes seconds per clip on CPU: time two steps of batch 2 there.
        cpu_paper = name == "paper" and args.device == "cpu"
        if args.layouts and cpu_paper:
            print("paper: not timed with --layouts on CPU (seconds per clip; 32 steps would take hours)")
            continue
        if args.layouts:  # alternate the order over 4 repeats: the first-timed layout is not favoured
            times = {"training": [], "contiguous": []}
            for rep in range(4):
                for layout in ("training", "contiguous")[::1 if rep % 2 == 0 else -1]:
                    times[layout].append(bench(name, args.batch, args.device, args.steps, 3, args.model, layout)["step_s"])
            med = {k: statistics.median(v) for k, v in times.items()}
            label = SETTINGS[name].label().replace(SETTINGS[name].model.arch, args.model or SETTINGS[name].model.arch)
            print(f"{label}: median s/step over 4 alternating repeats: training layout "
                  f"{med['training']:.3f} {[round(t, 3) for t in times['training']]}, contiguous {med['contiguous']:.3f} "
                  f"{[round(t, 3) for t in times['contiguous']]}; contiguous / training {med['contiguous'] / med['training']:.2f}x")
            continue
        r = bench(name, 2 if cpu_paper else args.batch, args.device, 2 if cpu_paper else args.steps, 1, args.model)
        epoch = math.ceil(args.videos / args.batch) * r["clip_step_s"] * args.batch
        r["epoch_s"] = epoch
        print(f"{r['setting'] + ' ' + r['layout']:<52}{r['params']:>10}{r['batch']:>7}{r['step_s']:>9.3f}"
              f"{r['clip_step_s']:>9.4f}{epoch:>14.1f}")
        print(json.dumps(r))


if __name__ == "__main__":
    main()
