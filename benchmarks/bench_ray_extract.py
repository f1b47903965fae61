"""Benchmark of Ray Data extraction (extract --ray local) against single-process extraction, in one process.

    .venv/bin/python benchmarks/bench_ray_extract.py [--n 200] [--data DATA_DIR] [--actors 1 2] [--cpus 2]

Makes (or reuses) an N-video phantom, extracts it once single-process (ONNX Runtime's default threads,
then 1 thread) into a .npz, then with a local Ray instance of ``--cpus`` CPUs for each actor count into
a shard folder, with the shipped encoder. Prints per run: wall seconds, videos/s end to end (Ray: including
actor start-up, not the Ray instance's own start, timed apart), and the actor-seconds spent decoding and
encoding (-> videos/s per busy core, the figure a cluster plan scales), then the parity of every Ray result
against single-process extraction (max abs / max relative difference, names equal) and the load average.
Needs the [distributed] extra.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def by_name(fs):
    order = np.argsort(fs.names)
    return fs.names[order], fs.features[order]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--data", default=None, help="Reuse this dataset instead of generating a phantom.")
    ap.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance.")
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()

    import ray

    from infomotion_rt.extract.ray_cluster import RayConfig, extract_on_ray
    from infomotion_rt.extract.pipeline import ExtractConfig, extract_features
    from infomotion_rt.extract.files import read_features

    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    data = args.data
    if data is None:
        from infomotion_rt.phantom.generate import generate

        t0 = time.perf_counter()
        data = generate(tmp / "phantom", args.n, seed=0, workers=2, progress=False).out_dir
        print(f"phantom: {args.n} videos in {time.perf_counter() - t0:.1f} s ({tmp / 'phantom'})")
    print(f"machine: {os.cpu_count()} CPUs; {load()}")

    rows, feats = [], {}
    for threads in (0, 1):
        cfg = ExtractConfig(batch_size=args.batch_size, threads=threads)
        out = tmp / f"single-t{threads}.npz"
        r = extract_features(data, None, out, cfg, progress=False)
        busy = r.decode_s + r.infer_s
        label = f"single process, ORT threads {threads or 'default'}"
        rows.append((label, r.n_new, r.wall_s, busy, load()))
        feats[label] = read_features(out)
    reference = feats[rows[0][0]]

    t0 = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="warning")
    ray_start = time.perf_counter() - t0
    try:
        for actors in args.actors:
            cfg = ExtractConfig(batch_size=args.batch_size, threads=1)
            out = tmp / f"ray-{actors}"
            r = extract_on_ray(data, None, out, cfg, RayConfig(actors=actors), progress=False)
            label = f"Ray local ({args.cpus} CPUs), {actors} actor(s), 1 thread each"
            rows.append((label, r.n_new, r.wall_s, r.decode_s + r.infer_s, load()))
            feats[label] = read_features(out)
            if r.problems:
                print(f"{label}: {len(r.problems)} problems, e.g. {r.problems.lines()[:2]}")
    finally:
        ray.shutdown()

    print(f"\nRay instance start (ray.init, {args.cpus} CPUs): {ray_start:.1f} s (not in the figures below)\n")
    print("| run | videos | wall s | videos/s | decode+encode s (busy) | videos/s per busy core | load |")
    print("|---|---|---|---|---|---|---|")
    for label, n, wall, busy, ld in rows:
        per_core = n / busy if busy > 0 else float("nan")
        print(f"| {label} | {n} | {wall:.1f} | {n / wall:.1f} | {busy:.1f} | {per_core:.1f} | {ld} |")
    ref_names, ref = by_name(reference)
    print("\nparity against single-process extraction (default threads):")
    for label, fs in feats.items():
        if label == rows[0][0]:
            continue
        names, f = by_name(fs)
        same = names.tolist() == ref_names.tolist()
        diff = np.abs(f - ref) if same else np.array([np.inf])
        big = np.abs(ref) > 1e-3   # relative difference where it means something
        rel = (diff[big] / np.abs(ref[big])).max() if same and big.any() else float("nan")
        close = same and np.allclose(f, ref, rtol=1e-5, atol=1e-6)
        print(f"  {label}: names equal {same}, max abs diff {diff.max():.2e}, max rel diff {rel:.2e} "
              f"(|value| > 1e-3), allclose(rtol 1e-5, atol 1e-6) {close}; max |value| {np.abs(ref).max():.2f}")


if __name__ == "__main__":
    main()
