"""Cost of extract's short-video check (``data.frame_counts.frame_count_note``) against the decoding it
rides on (``runtime.inputs.endpoint_pairs_input``), per video, measured in the same process.

    .venv/bin/python benchmarks/bench_frame_count_note.py [--n 60] [--repeats 3]

Writes an n-video phantom (EchoNet-Dynamic layout, MJPG 112x112, half the videos stripped of their
tracings so that ED/ES detection decodes them whole, as for EchoNet-Synthetic) in a temporary folder,
then times, per video, the reader thread's decoding and the check that follows it. Prints both and
the ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.data.frame_counts import frame_count_note
    from infomotion_rt.phantom.generate import generate
    from infomotion_rt.runtime.inputs import endpoint_pairs_input

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "d", args.n, seed=0, progress=False)
        records = load_dataset(Path(tmp) / "d", progress=False).records
        records = [r if i % 2 else replace(r, tracings=None, ed=None, es=None) for i, r in enumerate(records)]
        decode_s, note_s = 0.0, 0.0   # interleaved per video, so machine load drifts hit both alike
        for _ in range(args.repeats):
            for r in records:
                t0 = time.perf_counter()
                pairs, _ = endpoint_pairs_input(r)
                t1 = time.perf_counter()
                frame_count_note(r, pairs.n_frames, pairs.n_counted)
                t2 = time.perf_counter()
                decode_s, note_s = decode_s + t1 - t0, note_s + t2 - t1
    calls = args.n * args.repeats
    print(f"load average {os.getloadavg()[0]:.2f} (2-core machine shared with other jobs); {args.n} videos x {args.repeats}")
    print(f"endpoint_pairs_input: {1e3 * decode_s / calls:.2f} ms/video; frame_count_note: {1e3 * note_s / calls:.3f} ms/video")
    print(f"check overhead: {100 * note_s / decode_s:.2f}% of the reader's decode time")

if __name__ == "__main__":
    main()
