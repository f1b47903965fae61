"""Extraction speed of motion vectors side by side in one run (issue 19, item 3): the flow baseline
(``extract --representation flow``), one or more encoder model files (``extract --engine``), and the decode-only
floor, on the same videos, interleaved so that a shared machine's load hits them alike.

    .venv/bin/python benchmarks/bench_vector_speed.py /tmp/dev21 --engine old=/tmp/ifa19/old_mean.onnx \
        --engine new=python/infomotion_rt/models/ifa_small.onnx [--split TEST] [--rounds 2]

Each round runs, in this order: the decode-only floor (``flow.ed_es_frames`` and
``runtime.inputs.endpoint_input`` for every video, one process), flow, then each engine (``extract``, the
product path: a reader thread decoding, ONNX Runtime with its default threads, batch 16). Reported: videos/s
(decode included) summed over the rounds, the model file's size, and each engine's time over flow's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from infomotion_rt.data.loader import load_dataset
from infomotion_rt.extract.flow import ed_es_frames
from infomotion_rt.extract.pipeline import ExtractConfig, extract_features
from infomotion_rt.runtime.inputs import endpoint_input


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("--engine", action="append", default=[], help="NAME=MODEL_FILE (repeatable)")
    ap.add_argument("--split", default="TEST")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    recs = load_dataset(args.data_dir, progress=False).split(args.split)
    engines = [e.split("=", 1) for e in args.engine]
    tot = {k: [0, 0.0] for k in ["decode floor (flow's ED/ES frames)", "decode floor (encoder's 4 frames)", "flow"]
           + [n for n, _ in engines]}
    tmp = Path(tempfile.mkdtemp(prefix="bench_vec_"))
    try:
        for r in range(args.rounds):
            t0 = time.perf_counter()
            for rec in recs:
                ed_es_frames(rec)
            tot["decode floor (flow's ED/ES frames)"][0] += len(recs)
            tot["decode floor (flow's ED/ES frames)"][1] += time.perf_counter() - t0
            t0 = time.perf_counter()
            for rec in recs:
                endpoint_input(rec)
            tot["decode floor (encoder's 4 frames)"][0] += len(recs)
            tot["decode floor (encoder's 4 frames)"][1] += time.perf_counter() - t0
            for name, model in [("flow", None)] + engines:
                res = extract_features(args.data_dir, model, tmp / f"{name}{r}.npz", ExtractConfig(split=args.split),
                                       progress=False, representation="flow" if model is None else "encoder")
                tot[name][0] += res.n_new
                tot[name][1] += res.wall_s
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[0] / v[1]:.1f}/s" for k, v in tot.items()), flush=True)
    finally:
        shutil.rmtree(tmp)
    print(f"\n{len(recs)} {args.split} videos x {args.rounds} rounds, interleaved")
    print("| what | videos/s | time vs flow | model size |")
    print("|---|---|---|---|")
    flow_rate = tot["flow"][0] / tot["flow"][1]
    sizes = dict(engines)
    for k, (n, s) in tot.items():
        size = f"{Path(sizes[k]).stat().st_size / 1e6:.2f} MB" if k in sizes else "-"
        print(f"| {k} | {n / s:.1f} | {flow_rate / (n / s):.2f}x | {size} |")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
