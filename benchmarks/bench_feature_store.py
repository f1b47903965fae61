"""Benchmark of the features store: write and read N x D float32 vectors as a folder of Parquet shards
against the single .npz file, in one process.

    .venv/bin/python benchmarks/bench_feature_store.py [--n 200000] [--dim 256] [--shard-size 512]

Prints seconds to write and to read back (validated, as ``select`` reads it), bytes on disk, the peak
RSS of a fresh process that only reads it, the resume scan (FileName column only, as a resumed
``extract`` reads it) and the load average.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


# VmHWM, not ru_maxrss: Linux carries a parent's ru_maxrss into a forked-and-exec'd child
READ_PEAK = ("import sys; from infomotion_rt.extract.pipeline import read_features; fs = read_features(sys.argv[1]); "
             "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])")


def read_peak_mb(path: Path) -> float:
    """Peak RSS (MB) of a fresh Python process that imports the package and reads ``path`` (Linux)."""
    out = subprocess.run([sys.executable, "-c", READ_PEAK, str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024


def disk_bytes(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.iterdir())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--shard-size", type=int, default=512)
    args = ap.parse_args()

    from infomotion_rt.extract.store import ShardSink, write_store
    from infomotion_rt.extract.featureset import make_feature_set
    from infomotion_rt.extract.featureset import make_meta
    from infomotion_rt.extract.files import read_features, write_features

    rng = np.random.default_rng(0)
    fs = make_feature_set([f"video_{i:07d}" for i in range(args.n)],
                          rng.normal(size=(args.n, args.dim)).astype(np.float32), rng.uniform(5, 95, args.n),
                          rng.choice(["TRAIN", "VAL", "TEST"], args.n), make_meta("bench", engine="x.onnx",
                                                                                   model_hash="h" * 64))
    tmp = Path(tempfile.mkdtemp(prefix="bench-store-"))
    print(f"{args.n} x {args.dim} float32, shards of {args.shard_size}; {os.cpu_count()} CPUs, "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| format | write s | read s | MB on disk | peak RSS of a reader, MB |")
    print("|---|---|---|---|---|")
    for label, path, write in (("one .npz", tmp / "f.npz", lambda p: write_features(p, fs)),
                               ("Parquet shards", tmp / "store", lambda p: write_store(p, fs, args.shard_size))):
        t0 = time.perf_counter()
        write(path)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        back = read_features(path)
        t_read = time.perf_counter() - t0
        assert back.names.tolist() == fs.names.tolist() and np.array_equal(back.features, fs.features)
        del back
        print(f"| {label} | {t_write:.2f} | {t_read:.2f} | {disk_bytes(path) / 1e6:.0f} | {read_peak_mb(path):.0f} |")
    t0 = time.perf_counter()
    sink = ShardSink(tmp / "store", resume=True, model_hash="h" * 64, shard_size=args.shard_size)
    print(f"resume scan of the store (FileName only): {time.perf_counter() - t0:.2f} s, {len(sink.done)} names")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
