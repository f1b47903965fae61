"""Benchmark of the edge runtime: the same motion encoder in torch eager and in ONNX Runtime (CPU), on the same
videos in one run.

    .venv/bin/python benchmarks/bench_runtime.py DATA_DIR --pt ifa_small.pt [--onnx ifa_small.onnx]
        [--threads 2] [--batch-sizes 1 4 16 32] [--split TEST] [--max-videos N] [--repeats 2]

Without --onnx the checkpoint is exported to a temporary ONNX file first (so both backends run the very same
weights); with --onnx the two are checked for parity before anything is timed. Prints:
  1. decoding only (the endpoint frames of both pairs, resized and normalised): the CPU floor of extraction;
  2. inference only, per backend and batch size (best of --repeats, backends interleaved so that a change of
     machine load hits both alike): videos/s and the ONNX Runtime / torch ratio;
  3. the real pipelined `extract` per backend (background decoding + batched inference): videos/s, the
     decode / inference split, and how far it is from the decoding floor.
The 1-minute load average is printed before and after: on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def time_inference(enc, frames: np.ndarray, batch: int) -> float:
    enc(frames[:batch])   # warm-up (allocations, ORT's first-run planning)
    t0 = time.perf_counter()
    for s in range(0, len(frames), batch):
        enc(frames[s:s + batch])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("--pt", required=True, help="IFA checkpoint (torch eager side)")
    ap.add_argument("--onnx", default=None, help="its ONNX export (default: export --pt to a temporary file)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 16, 32])
    ap.add_argument("--extract-batch", type=int, default=16)
    ap.add_argument("--split", default=None, help="only this split (TRAIN/VAL/TEST), for a shorter run")
    ap.add_argument("--max-videos", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)       # figures appear as they are measured

    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.extract.pipeline import ExtractConfig, extract_features
    from infomotion_rt.motion.export import export_onnx, relative_error
    from infomotion_rt.runtime.inputs import endpoint_input
    from infomotion_rt.runtime import load_encoder

    tmp = Path(tempfile.mkdtemp())
    onnx_path = args.onnx or export_onnx(args.pt, tmp / "bench.onnx", training_data="benchmark export")
    encs = {"torch eager": load_encoder(args.pt, "cpu", args.threads),
            "onnxruntime": load_encoder(onnx_path, "cpu", args.threads)}
    ds = load_dataset(args.data_dir, progress=False)
    recs = (ds.split(args.split) if args.split else list(ds.records))[: args.max_videos]
    n = len(recs)
    print(f"# runtime benchmark: {n} videos of {args.data_dir} ({args.split or 'all splits'}); model {args.pt} vs {onnx_path}; "
          f"{args.threads} threads; {os.cpu_count()} CPUs; load average {load()}")
    for name, enc in encs.items():
        print(f"#   {name:12s}: {enc.runtime}")

    t0 = time.perf_counter()
    frames = np.stack([endpoint_input(r, encs["onnxruntime"].image_size) for r in recs])
    decode_s = time.perf_counter() - t0
    print(f"1. decode only (floor): {decode_s:7.2f} s  {n / decode_s:7.1f} videos/s")

    probe = frames[:7]
    err = relative_error(encs["onnxruntime"](probe), encs["torch eager"](probe))
    print(f"   parity on 7 phantom videos: max relative error {err:.2e}")
    if err > 1e-4:
        raise SystemExit("the ONNX file is not the checkpoint's export; run without --onnx")

    print("2. inference only, videos/s (best of %d)" % args.repeats)
    print(f"   {'batch':>5} {'torch eager':>12} {'onnxruntime':>12} {'ORT/torch':>10}")
    for b in args.batch_sizes:
        best = {k: float("inf") for k in encs}
        for _ in range(args.repeats):
            for k, enc in encs.items():
                best[k] = min(best[k], time_inference(enc, frames, b))
        rt, ro = n / best["torch eager"], n / best["onnxruntime"]
        print(f"   {b:>5} {rt:12.1f} {ro:12.1f} {ro / rt:9.2f}x")

    print(f"3. pipelined extract (batch {args.extract_batch}), same videos")
    rates = {}
    for k, enc in encs.items():
        if args.max_videos is not None:
            print("   (skipped: --max-videos limits only the timing passes above)")
            break
        cfg = ExtractConfig(split=args.split, batch_size=args.extract_batch, threads=args.threads, device="cpu")
        res = extract_features(args.data_dir, args.pt if k == "torch eager" else onnx_path, tmp / f"{k[:5]}.npz",
                               cfg, encoder=enc, progress=False)
        rates[k] = res.n_new / res.wall_s
        print(f"   {k:12s}: {res.wall_s:7.2f} s  {rates[k]:7.1f} videos/s (reader decode {res.decode_s:.2f} s, "
              f"inference {res.infer_s:.2f} s, encoder waited {res.wait_s:.2f} s); "
              f"{res.wall_s / decode_s:.2f}x the decode-only time")
    if len(rates) == 2:
        print(f"   ORT/torch end to end: {rates['onnxruntime'] / rates['torch eager']:.2f}x")
    print(f"# load average after: {load()}")


if __name__ == "__main__":
    main()
