"""Benchmark of DICOM decoding against AVI decoding of the same phantom videos, in one process.

    .venv/bin/python benchmarks/bench_dicom.py                       # 8 videos x 48 frames, scale 1 and 4
    .venv/bin/python benchmarks/bench_dicom.py --n 20 --frames 64 --scale 4

Each phantom loop (112 x 112, ``data/phantom_render``) is written once as the EchoNet-style MJPG AVI
and once per transfer syntax as a multi-frame DICOM (``data/phantom_dicom``: the loop resized
``scale`` times inside a black frame with burned-in text, as a workstation stores it). Then every
file is read whole by ``data.video.read_frames`` -- for DICOM that is pydicom decode + grey +
sector mask + crop + resize to 112 x 112 -- round-robin over the formats, ``--repeats`` times, and
the best pass per format is kept (the machine is shared). Prints videos/s and CPU-seconds per video
per format and the ratio to AVI.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2

from infomotion_rt.data.video import read_frames, write_avi
from infomotion_rt.phantom.dicom import SYNTAXES, canvas, write_dicom
from infomotion_rt.phantom.params import video_params
from infomotion_rt.phantom.render import render_video


def _available(syntaxes: list[str]) -> list[str]:
    from pydicom.pixels import get_encoder

    return [s for s in syntaxes if s in ("native", "jpeg") or get_encoder(SYNTAXES[s]).is_available]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--scale", type=int, action="append", help="frame scale(s); default 1 and 4")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    scales = args.scale or [1, 4]
    cv2.setNumThreads(1)
    syntaxes = _available(list(SYNTAXES))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores visible; load {os.getloadavg()}; "
          f"OpenCV threads 1; {args.n} videos x {args.frames} frames; syntaxes {', '.join(syntaxes)}")
    with tempfile.TemporaryDirectory() as tmp:
        files: dict[str, list[Path]] = {"avi": []}
        for i in range(args.n):
            p = video_params(args.seed, i, "dynamic", args.frames)
            loop = render_video(p)
            files["avi"].append(Path(tmp) / f"{i}.avi")
            write_avi(files["avi"][-1], loop, p.fps_file)
            for scale in scales:
                for syntax in syntaxes:
                    key = f"dicom {syntax} x{scale}"
                    path = Path(tmp) / f"{i}_{syntax}_{scale}.dcm"
                    write_dicom(path, canvas(loop, "DOE JANE 01.02.1970", scale=scale), p.fps_file, syntax,
                                scale=scale)
                    files.setdefault(key, []).append(path)
        best: dict[str, tuple[float, float]] = {}
        for _ in range(args.repeats):
            for key, paths in files.items():
                c0, t0 = time.process_time(), time.perf_counter()
                for path in paths:
                    read_frames(path)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                if key not in best or wall < best[key][0]:
                    best[key] = (wall, cpu)
        size = {key: sum(p.stat().st_size for p in paths) / len(paths) / 1e6 for key, paths in files.items()}
    avi_wall = best["avi"][0]
    print(f"{'format':<22}{'MB/video':>10}{'videos/s':>10}{'CPU s/video':>13}{'x AVI time':>12}")
    for key, (wall, cpu) in best.items():
        print(f"{key:<22}{size[key]:>10.2f}{args.n / wall:>10.1f}{cpu / args.n:>13.3f}{wall / avi_wall:>12.1f}")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
