"""Benchmark of automatic ED/ES detection (``phases.detect_ed_es``) against the traced frames of a phantom.

    .venv/bin/python benchmarks/bench_ed_es.py                        # 300-video dynamic phantom, seed 0
    .venv/bin/python benchmarks/bench_ed_es.py --n 100 --style synthetic
    .venv/bin/python benchmarks/bench_ed_es.py --data DIR             # an existing phantom folder

Error definition. A video shows several cardiac cycles but only one ED and one ES are traced, and the
detector may pick any cycle. So the error of a detected ED (ES) frame is its distance to the nearest
frame of the same phase, i.e. to traced ED (ES) + k * period for an integer k, with the period (in
frames, fractional) from the phantom's ground truth (``phantom_truth.json``):
``min_k |detected - traced - k * period|``, at most half a period. Figures are in frames and in % of the
cycle. Traced frames come from VolumeTracings.csv (dynamic style) or from the truth file (synthetic
style, which has no tracings). Timing is decode (all frames) + detection per video, one process.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from infomotion_rt.data.echonet import load_dataset
from infomotion_rt.data.phantom import generate, load_truth
from infomotion_rt.data.phases import detect_ed_es
from infomotion_rt.data.video import read_frames


def phase_error(found: int, traced: int, period: float) -> float:
    """Distance from ``found`` to the nearest ``traced + k * period`` (frames)."""
    d = (found - traced) % period
    return float(min(d, period - d))


def measure(root: Path) -> list[dict]:
    truth = {v["name"]: v for v in load_truth(root)["videos"]}
    dataset = load_dataset(root, progress=False)
    rows = []
    for r in dataset.records:
        t = truth[r.name]
        ed_true, es_true = (r.ed, r.es) if r.ed is not None else (t["ed"], t["es"])
        start = time.perf_counter()
        ed, es = detect_ed_es(read_frames(r.path))
        seconds = time.perf_counter() - start
        rows.append({"name": r.name, "period": t["period"], "poor": t["poor"], "seconds": seconds,
                     "n_frames": t["n_frames"],
                     "ed_err": phase_error(ed, ed_true, t["period"]), "es_err": phase_error(es, es_true, t["period"])})
    return rows


def report(rows: list[dict], label: str) -> None:
    if not rows:
        return
    ed = np.array([r["ed_err"] for r in rows])
    es = np.array([r["es_err"] for r in rows])
    both = np.concatenate([ed, es])
    pct = np.concatenate([ed, es]) / np.tile([r["period"] for r in rows], 2) * 100
    print(f"{label}: {len(rows)} videos")
    print(f"  ED  mean {ed.mean():.2f}  median {np.median(ed):.2f} frames")
    print(f"  ES  mean {es.mean():.2f}  median {np.median(es):.2f} frames")
    print(f"  all mean {both.mean():.2f}  median {np.median(both):.2f} frames; mean {pct.mean():.1f}% of the cycle; "
          f"within 1 frame {np.mean(both <= 1) * 100:.0f}%, within 3 frames {np.mean(both <= 3) * 100:.0f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--style", choices=["dynamic", "synthetic"], default="dynamic")
    parser.add_argument("--workers", type=int, default=2, help="phantom generation processes")
    parser.add_argument("--data", type=Path, help="an existing phantom folder (skips generation)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.data
        if root is None:
            root = Path(tmp) / "phantom"
            generate(root, args.n, seed=args.seed, style=args.style, workers=args.workers)
        start = time.perf_counter()
        rows = measure(root)
        wall = time.perf_counter() - start
    print(f"ED/ES detection vs traced phase (nearest same-phase frame, period from phantom truth); "
          f"{root if args.data else f'phantom --n {args.n} --seed {args.seed} --style {args.style}'}")
    report(rows, "all")
    report([r for r in rows if not r["poor"]], "good-quality clips")
    report([r for r in rows if r["poor"]], "poor clips")
    short = [r for r in rows if r["n_frames"] < 2 * r["period"]]
    report(short, "clips shorter than two cycles")
    per_video = np.mean([r["seconds"] for r in rows]) * 1000
    print(f"time: {per_video:.1f} ms per video (decode all frames + detect), {wall:.1f} s total; "
          f"{platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
