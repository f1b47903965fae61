"""Benchmark of the phantom echo generator: videos/s for 112x112 videos of a fixed length.

    .venv/bin/python benchmarks/bench_phantom.py                     # n=100, 100 frames, 1 worker
    .venv/bin/python benchmarks/bench_phantom.py --n 200 --workers 2

Prints the end-to-end rate of ``generate`` (render + MJPG encode + CSVs, into a temporary folder) by
wall clock and by CPU time (user + system of this process and its workers: the single-core rate, not
inflated by other load on a shared machine), and the per-video split between rendering and encoding
measured by wall clock on the first videos in this process.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2

from infomotion_rt.data.video import write_avi
from infomotion_rt.phantom.generate import generate
from infomotion_rt.phantom.params import video_params
from infomotion_rt.phantom.render import render_video


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--style", default="dynamic", choices=["dynamic", "synthetic"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.workers == 1:
        cv2.setNumThreads(1)  # one core, as the figure claims
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores visible; "
          f"OpenCV {cv2.__version__} threads {cv2.getNumThreads()}")
    with tempfile.TemporaryDirectory() as tmp:
        k = min(10, args.n)
        render_s = encode_s = 0.0
        for i in range(k):
            p = video_params(args.seed, i, args.style, args.frames)
            t0 = time.perf_counter()
            video = render_video(p)
            t1 = time.perf_counter()
            write_avi(Path(tmp) / f"{i}.avi", video, p.fps_file)
            t2 = time.perf_counter()
            render_s, encode_s = render_s + t1 - t0, encode_s + t2 - t1
        print(f"per video ({args.frames} frames, mean of {k}): render {1000 * render_s / k:.1f} ms, "
              f"MJPG encode {1000 * encode_s / k:.1f} ms")
        c0, t0 = os.times(), time.perf_counter()
        s = generate(Path(tmp) / "out", args.n, seed=args.seed, style=args.style, frames=args.frames,
                     workers=args.workers, progress=False)
        wall, c1 = time.perf_counter() - t0, os.times()
    cpu = sum(c1[:4]) - sum(c0[:4])  # user + system, this process and its (joined) workers
    print(f"generate: {args.n} {args.style} videos x {args.frames} frames 112x112, workers={args.workers}: "
          f"{wall:.2f} s -> {args.n / wall:.1f} videos/s ({args.n * args.frames / wall:.0f} frames/s)")
    print(f"CPU time: {cpu:.2f} s -> {args.n / cpu:.1f} videos per CPU-second "
          f"(the single-core rate on an idle machine; wall time also counts other load, now {os.getloadavg()[0]:.1f})")
    print(f"splits {s.splits}; classes {s.classes}")


if __name__ == "__main__":
    main()
