"""The whole runtime on a DICOM folder made from a phantom: info, extract, select --export-dataset --deidentify.

    .venv/bin/python benchmarks/dicom_pipeline.py --n 100 --out /tmp/dicom-trial

Makes an N-video phantom (EchoNet-Dynamic layout), writes each video as a multi-frame DICOM
(``data/phantom_dicom``: the loop at ``--scale`` inside a black frame with a burned-in name and date,
a patient name in the header; transfer syntaxes in turn: native, RLE, JPEG baseline, JPEG 2000,
JPEG-LS), adds four broken files (single frame, no pixel data, a NumberOfFrames that lies, MPEG-2),
writes labels.csv (FileName,EF,Split), then runs the CLI: ``info``, ``extract`` (shipped encoder),
``select --vpc V --export-dataset --deidentify``. Checks that the export reads back with the data
layer, that no file in it holds a patient name, a source name or the burned-in text's words, and
prints each step's wall time and the load average.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pydicom

from infomotion_rt.data.loader import load_dataset
from infomotion_rt.data.video import read_frames
from infomotion_rt.phantom.dicom import SYNTAXES, canvas, write_dicom
from infomotion_rt.phantom.generate import generate

TEXT = "DOE JANE 01.02.1970"


def build(out: Path, n: int, frames: int, scale: int, seed: int) -> tuple[Path, list[str]]:
    generate(out / "phantom", n, seed=seed, frames=frames, progress=False)
    src = load_dataset(out / "phantom", progress=False)
    root, rows, secrets = out / "dicom", [], []
    syntaxes = list(SYNTAXES)
    for i, rec in enumerate(src.records):
        patient = f"PATIENT{i:04d}^TEST"
        secrets.append(patient)
        write_dicom(root / f"{rec.name}.dcm", canvas(read_frames(rec.path), TEXT, scale=scale), rec.fps,
                    syntaxes[i % len(syntaxes)], patient=patient, scale=scale)
        rows.append([f"{rec.name}.dcm", f"{rec.ef:.2f}", rec.split])
    loop = read_frames(src.records[0].path)
    write_dicom(root / "broken_one_frame.dcm", canvas(loop[:1], TEXT), 30.0)
    path = write_dicom(root / "broken_no_pixels.dcm", canvas(loop, TEXT), 30.0)
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    write_dicom(root / "broken_lying_count.dcm", canvas(loop, TEXT), 30.0, "rle", number_of_frames=len(loop) + 10)
    path = write_dicom(root / "broken_mpeg2.dcm", canvas(loop, TEXT), 30.0, "jpeg")
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.MPEG2MPML
    ds.save_as(path)
    rows += [[f"broken_{k}.dcm", "50", "TRAIN"] for k in ("one_frame", "no_pixels", "lying_count", "mpeg2")]
    with open(root / "labels.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["FileName", "EF", "Split"], *rows])
    return root, secrets + [r.name for r in src.records]


def run(step: str, *args: str) -> str:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "infomotion_rt.cli", *args], capture_output=True, text=True)
    print(f"{step}: exit {p.returncode}, {time.perf_counter() - t0:.1f} s, load {os.getloadavg()[0]:.1f}")
    tail = [line for line in p.stdout.splitlines() if "%|" not in line][-12:]
    print("  " + "\n  ".join(tail + [line for line in p.stderr.splitlines() if "%|" not in line][-6:]))
    if p.returncode:
        sys.exit(p.returncode)
    return p.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="empty or new folder for the trial")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--vpc", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    root, secrets = build(args.out, args.n, args.frames, args.scale, args.seed)
    size = sum(p.stat().st_size for p in root.iterdir()) / 1e6
    print(f"built {args.n} DICOM files + 4 broken ({size:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    run("info", "info", str(root))
    run("extract", "extract", str(root), "--out", str(args.out / "features.npz"))
    export = args.out / "share" / "distilled"
    run("select", "select", "--features", str(args.out / "features.npz"), "--vpc", str(args.vpc), "--out",
        str(args.out / "selection.csv"), "--export-dataset", str(export), "--data", str(root), "--deidentify")
    back = load_dataset(export, check_videos=True, progress=False)
    needles = [s.encode() for s in secrets] + [w.encode() for w in TEXT.split()]
    leaks = [f"{p.name}: {n!r}" for p in export.rglob("*") if p.is_file() for n in needles if n in p.read_bytes()]
    print(f"export reads back: {back.layout} layout, {len(back.records)} videos, {len(back.problems)} problems; "
          f"files holding a patient/source name or the burned-in words: {leaks or 'none'}")


if __name__ == "__main__":
    main()
