"""Measure one candidate CPU setting: train the Whole EF regressor (early stopping on VAL), test on TEST.

    nice -n 5 .venv/bin/python benchmarks/tune_cpu_setting.py DATA_DIR --width 8 --size 48 --frames 16 --cycle \\
        --augment --steps 1500 --batch 8 --lr 2e-3 --runs 1 --threads 1

Prints one JSON line: the setting label, budget, TEST R², MAE, accuracy, best step and wall time, plus
the load average (the machine is shared). The table of tried settings is in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from infomotion_rt.data.loader import load_dataset
from infomotion_rt.evaluate.clips import ClipConfig, ClipSource
from infomotion_rt.evaluate.protocol import EvalConfig, run_protocol
from infomotion_rt.evaluate.regressor import ModelConfig, Setting
from infomotion_rt.evaluate.training import TrainConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("--arch", default="r2plus1d_18")
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--layers", default="1111")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--period", type=int, default=2)
    ap.add_argument("--size", type=int, default=48)
    ap.add_argument("--cycle", action="store_true")
    ap.add_argument("--cover", type=float, default=1.2)
    ap.add_argument("--augment", action="store_true")
    ap.add_argument("--steps", type=int, default=1500, help="Step maximum (early stopping on VAL).")
    ap.add_argument("--eval-every", type=int, default=0)
    ap.add_argument("--patience", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--test-clips", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-train", type=int, default=0, help="Use only the first N TRAIN videos (0 = all).")
    a = ap.parse_args()
    setting = Setting("candidate", ModelConfig(a.arch, a.width, tuple(int(c) for c in a.layers), 1),
                      ClipConfig(frames=a.frames, period=a.period, size=a.size, test_clips=a.test_clips,
                                 cache_mb=2048, cycle=a.cycle, cycle_cover=a.cover, augment=a.augment))
    ds = load_dataset(a.data_dir, progress=False)
    train, val, test = ds.split("TRAIN"), ds.split("VAL"), ds.split("TEST")
    if a.max_train:
        train = train[:a.max_train]
    cfg = EvalConfig(setting=setting, train=TrainConfig(steps=a.steps, batch_size=a.batch, lr=a.lr, threads=a.threads,
                                                        eval_every=a.eval_every, patience=a.patience), runs=a.runs)
    t0 = time.perf_counter()
    res = run_protocol(train, test, cfg, train_source=ClipSource(setting.clips), progress=False, label="whole",
                       val_recs=val)
    s = res["summary"]
    print(json.dumps({"setting": setting.label(), "steps_max": a.steps, "batch": a.batch, "lr": a.lr,
                      "n_train": len(train), "n_val": len(val), "n_test": len(test),
                      "r2": round(s["r2"]["mean"], 3), "mae": round(s["mae"]["mean"], 2), "acc": round(s["acc"]["mean"], 3),
                      "best_steps": [r["best_step"] for r in res["runs"]], "steps": [r["steps"] for r in res["runs"]],
                      "val_curve": [[st, round(v, 3)] for st, v in res["runs"][0]["val_curve"]],
                      "still_falling": res["still_falling"], "wall_s": round(time.perf_counter() - t0, 1),
                      "load": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
