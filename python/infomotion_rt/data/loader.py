"""One entry point for every dataset layout: ``load_dataset`` picks the reader (EchoNet-Pediatric view
folders, else the EchoNet/plain/DICOM reader of ``echonet``) and ``summarize`` is what ``info`` prints."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from infomotion_rt.data.classes import DEFAULT_CLASSES, EFClasses
from infomotion_rt.data.echonet import load_echonet
from infomotion_rt.data.pediatric import find_view, load_pediatric
from infomotion_rt.data.records import SPLITS, Dataset, VideoRecord, strip_suffix
from infomotion_rt.errors import DataError


def load_dataset(root: str | Path, labels_csv: str | Path | None = None, *, check_videos: bool = False,
                 strict: bool = False, progress: bool = True, only: set[str] | None = None) -> Dataset:
    """Read a dataset folder in any layout: EchoNet-Dynamic, EchoNet-Synthetic, plain, DICOM (``echonet``'s
    docstring) or EchoNet-Pediatric (``pediatric``).

    Cheap by default: CSV parsing and file existence only. ``check_videos=True`` also probes every
    video (decodes its first frame, checks its length) with a progress bar. Problems are recorded in
    ``Dataset.problems`` and loading goes on; ``strict=True`` raises the first one that would drop a
    record or leave it untraced. ``only`` restricts loading to these names (without suffix).
    Raises DataError when the dataset itself is unreadable (no labels file, missing columns).
    """
    root = Path(root)
    if (view := find_view(root)) is not None:  # a labels CSV replaces its EF/Split, videos stay in the view
        return load_pediatric(view, check_videos=check_videos, strict=strict, progress=progress, only=only,
                              labels_csv=labels_csv)
    return load_echonet(root, labels_csv, check_videos=check_videos, strict=strict, progress=progress, only=only)


def load_record(root: str | Path, name: str, labels_csv: str | Path | None = None,
                check_video: bool = True) -> VideoRecord:
    """One video's record, strictly: any problem that would drop it or its tracings raises DataError."""
    wanted = strip_suffix(name)
    dataset = load_dataset(root, labels_csv, check_videos=check_video, strict=True, progress=False,
                           only={wanted})
    if not dataset.records:
        raise DataError(f"{root}: no video named {wanted!r} in the labels file")
    return dataset.records[0]


# ------------------------------------------------------------------------------------------ summary

def summarize(dataset: Dataset, classes: EFClasses = DEFAULT_CLASSES) -> dict:
    """What ``infomotion-rt info`` prints: counts per split x EF class, frame and FPS ranges, problems."""
    splits = list(SPLITS) + sorted({r.split for r in dataset.records} - set(SPLITS))
    counts = {s: dict.fromkeys(classes.names, 0) for s in splits}
    for r in dataset.records:
        counts[r.split][classes.name(r.ef)] += 1

    def span(values) -> list[float] | None:
        finite = [v for v in values if v is not None and math.isfinite(v)]
        return [min(finite), max(finite)] if finite else None

    # FileList EF against the EF recomputed from the tracings (method of disks), over traced videos
    diffs = [abs(r.ef - r.traced_ef) for r in dataset.records if r.traced_ef is not None]
    ef_check = ({"videos": len(diffs), "mean_abs": float(np.mean(diffs)), "max_abs": float(np.max(diffs))}
                if diffs else None)
    return {
        "root": str(dataset.root), "layout": dataset.layout, "videos": len(dataset.records),
        "ef_vs_tracings": ef_check,
        "dropped": len(dataset.dropped), "traced": sum(r.tracings is not None for r in dataset.records),
        "videos_checked": dataset.checked, "counts": counts,
        "frames": span(r.n_frames for r in dataset.records),
        "fps": span(r.fps for r in dataset.records),  # FileList's (the video's in a plain layout)
        "fps_video": span(r.probed.fps for r in dataset.records if r.probed is not None),
        "problems": dataset.problems.lines(),
    }
