"""Does a regressor trained on a distilled set (25-50 videos) generalise? Retrain the picks of a finished
``benchmark`` run under other training settings (augmentation, steps, weight decay, setting) and test on
the same TEST split. For a DEVELOPMENT phantom only: never tune on a held-out seed.

    .venv/bin/python benchmarks/study_small_set_training.py DATA_DIR BENCH_OUT --method random --vpc 10 \\
        --seeds 3 --setting cpu --steps 1200 --augment [--frames 12 --size 40] [--weight-decay 1e-4] [--threads 1]

BENCH_OUT/selections/{method}_vpc{vpc}_seed{s}.csv (s = 0 .. seeds-1) are the picks, so each run trains on
exactly the set the benchmark's run s trained on, with training seed s. Prints each run's R², MAE and
accuracy, then mean ± sd; the benchmark's own table has the same picks under the default setting.
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from infomotion_rt.data.loader import load_dataset
from infomotion_rt.evaluate.clips import ClipSource
from infomotion_rt.evaluate.protocol import EvalConfig, one_run
from infomotion_rt.evaluate.regressor import get_setting
from infomotion_rt.evaluate.training import TrainConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("bench", type=Path)
    ap.add_argument("--method", default="random")
    ap.add_argument("--vpc", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--setting", default="cpu")
    ap.add_argument("--steps", type=int, default=None, help="default: the setting's")
    ap.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                    help="default: the setting's (on in cpu)")
    ap.add_argument("--frames", type=int, default=None, help="override the setting's frames per clip")
    ap.add_argument("--size", type=int, default=None, help="override the setting's frame size (pixels)")
    ap.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    ds = load_dataset(a.data, progress=False)
    by_name = {r.name: r for r in ds.records}
    test = ds.split("TEST")
    setting = get_setting(a.setting, augment=a.augment, frames=a.frames, size=a.size)
    steps = a.steps or setting.steps
    ev = EvalConfig(setting=setting, train=TrainConfig(steps=steps, batch_size=setting.batch_size, lr=setting.lr,
                                                       threads=a.threads, weight_decay=a.weight_decay),
                    runs=a.seeds)
    what = f"{a.method} VPC {a.vpc}, {setting.label()}, {steps} steps, weight decay {a.weight_decay:g}"
    runs, t0 = [], time.perf_counter()
    for seed in range(a.seeds):
        picks = a.bench / "selections" / f"{a.method}_vpc{a.vpc}_seed{seed}.csv"
        if not picks.is_file():
            raise SystemExit(f"error: {picks}: no such selection (run benchmark with --runs >= {a.seeds} first)")
        train = [by_name[row["FileName"]] for row in csv.DictReader(open(picks, newline=""))]
        m = one_run(train, test, ev, seed, train_source=ClipSource(setting.clips),
                    test_source=ClipSource(replace(setting.clips, augment=False)), progress=False)
        runs.append((m["r2"], m["mae"], 100 * m["acc"]))
        print(f"{what}: seed {seed}: R² {m['r2']:.3f}, MAE {m['mae']:.2f}, accuracy {100 * m['acc']:.1f} %, "
              f"final training loss {m['loss_last']:.3f}", flush=True)
    r = np.array(runs)
    sd = r.std(axis=0, ddof=1) if len(r) > 1 else np.zeros(3)
    print(f"{what}: R² {r[:, 0].mean():.3f}±{sd[0]:.3f}, MAE {r[:, 1].mean():.2f}±{sd[1]:.2f}, "
          f"accuracy {r[:, 2].mean():.1f}±{sd[2]:.1f} % over {len(r)} runs on {len(test)} TEST videos; {(time.perf_counter() - t0) / len(r):.0f} s per run")


if __name__ == "__main__":
    main()
