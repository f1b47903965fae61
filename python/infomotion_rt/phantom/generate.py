"""Phantom echo generator: a complete EchoNet-Dynamic (or EchoNet-Synthetic-style) dataset folder.

``generate(out_dir, n, seed)`` writes ``FileList.csv``, ``VolumeTracings.csv`` (dynamic style only),
``Videos/<name>.avi`` (112x112 MJPG, 3 identical channels) and ``phantom_truth.json``: the ground truth of
every video (true EF of the motion, the EF label written to FileList, the traced ED and ES frames,
cycle length, heart rate, quality flags, all render parameters, and ``nuisance``: the probe drift,
breathing gain, gain steps and beat schedule of the video, see ``phantom_nuisance``). The same truth is
recomputed without rendering by ``phantom_params.video_params(seed, index, style, frames, nuisance)``.
The dynamic style has acquisition nuisances on by default (``NuisanceConfig``; ``NuisanceConfig.off()``
for clean, strictly periodic clips) and archive-realism clips (``ArchiveConfig``: foreshortened,
off-axis, other view, label noise, wrong label, very short, zoom outlier; ~10 % of clips; each video's
kinds in its ``nuisance_kinds``); the truth file's top level records the settings used.

Conventions (ours): FileList EF = motion EF + label noise (sd 1, clipped to +-3) in the dynamic style;
EDV/ESV (mL) = method-of-disks volume of the traced frame in display pixels times the cube of the
video's pixel spacing (0.15 cm at zoom 1, divided by its zoom). Synthetic style: EF integer labels
10-90 that the motion follows within ~1.5 EF points, ESV = EDV = 0, FPS column 32, files at 30 fps.

The folder is built next to OUT_DIR under a temporary name and renamed into place when complete.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import cv2
import numpy as np

from infomotion_rt import console
from infomotion_rt.atomic import atomic_dir, atomic_write_csv, check_folder_target
from infomotion_rt.data.classes import DEFAULT_CLASSES
from infomotion_rt.data.phases import disk_volume
from infomotion_rt.data.video import write_avi
from infomotion_rt.errors import ConfigError, VideoError
from infomotion_rt.phantom.archive import ArchiveConfig, check_archive
from infomotion_rt.phantom.nuisance import NuisanceConfig, check_config
from infomotion_rt.phantom.params import STYLES, VideoParams, video_params
from infomotion_rt.phantom.render import SIZE, Geometry, render_video, tracing
from infomotion_rt.phantom.truth import TRUTH_FILE

FILELIST_COLUMNS = ["FileName", "EF", "ESV", "EDV", "FrameHeight", "FrameWidth", "FPS", "NumberOfFrames", "Split"]
TRACING_COLUMNS = ["FileName", "X1", "Y1", "X2", "Y2", "Frame"]
OVERWRITE_HINT = " (use --overwrite to replace it)"


@dataclass(frozen=True)
class PhantomConfig:
    """What to generate; maps one to one onto the ``infomotion-rt phantom`` options."""

    n: int
    seed: int = 0
    style: str = "dynamic"
    frames: int | None = None  # fixed length for every video (default: 64-160 dynamic, 192 synthetic)
    workers: int = 1
    preview: bool = False
    overwrite: bool = False
    nuisance: NuisanceConfig = NuisanceConfig()  # acquisition nuisances (dynamic style), realistic default
    archive: ArchiveConfig = ArchiveConfig()     # archive-realism clip shares (dynamic style)

    def __post_init__(self) -> None:
        check_config(self.nuisance)
        check_archive(self.archive)
        if self.n < 1:
            raise ConfigError(f"phantom: --n must be at least 1, got {self.n}")
        if self.style not in STYLES:
            raise ConfigError(f"phantom: unknown --style {self.style!r}; expected one of {sorted(STYLES)}")
        if self.workers < 1:
            raise ConfigError(f"phantom: --workers must be at least 1, got {self.workers}")


@dataclass(frozen=True)
class PhantomSummary:
    out_dir: Path
    n_videos: int
    style: str
    seconds: float
    splits: dict = field(default_factory=dict)
    classes: dict = field(default_factory=dict)          # by true EF (the truth file's ef_class)
    label_classes: dict = field(default_factory=dict)    # by FileList.csv's EF (label noise included), as info counts
    preview: Path | None = None

    @property
    def videos_per_second(self) -> float:
        return self.n_videos / max(self.seconds, 1e-9)


def _volumes(p: VideoParams):
    """Traced (21, 4) arrays for ED and ES and their volumes in mL."""
    g = Geometry(p)
    ed_t, es_t = tracing(g, p.ed), tracing(g, p.es)
    ml = p.pixel_spacing_cm**3
    return ed_t, es_t, disk_volume(ed_t) * ml, disk_volume(es_t) * ml


def _make_one(task):
    """Render and write one video; return its FileList row, tracing rows and truth (worker entry)."""
    seed, index, style, frames, videos_dir, nuisance, archive = task
    p = video_params(seed, index, style, frames, nuisance, archive)
    write_avi(Path(videos_dir) / f"{p.name}.avi", render_video(p), p.fps_file)
    if style == "synthetic":
        ef, esv, edv, rows = f"{p.ef_label:.0f}", "0", "0", []
    else:
        ed_t, es_t, edv_ml, esv_ml = _volumes(p)
        ef, esv, edv = f"{p.ef_label:.4f}", f"{esv_ml:.4f}", f"{edv_ml:.4f}"
        order = [(p.es, es_t), (p.ed, ed_t)] if p.es_rows_first else [(p.ed, ed_t), (p.es, es_t)]
        rows = [[f"{p.name}.avi", *(f"{x:.4f}" for x in r), str(frame)] for frame, t in order for r in t]
    fps = f"{p.fps_column:.0f}"
    row = [p.name, ef, esv, edv, str(SIZE), str(SIZE), fps, str(p.n_frames), p.split]
    truth = asdict(p) | {"ef_class": DEFAULT_CLASSES.name(p.ef_true), "pixel_spacing_cm": p.pixel_spacing_cm}
    return row, rows, truth


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already


def knob_config(cls, pairs, off: bool = False):
    """``cls`` (NuisanceConfig or ArchiveConfig) from the CLI's ``NAME=VALUE`` strings, starting from its
    documented defaults, or from everything off when ``off``. ConfigError names a bad pair (ours)."""
    base = cls.off() if off else cls()
    names = [f.name for f in fields(cls)]
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in names:
            raise ConfigError(f"phantom: {pair!r} is not NAME=VALUE with NAME one of {', '.join(names)}")
        try:
            values[name] = float(value)
        except ValueError:
            raise ConfigError(f"phantom: {pair!r}: {value!r} is not a number") from None
        if not math.isfinite(values[name]):
            raise ConfigError(f"phantom: {pair!r}: the value must be finite")
    return replace(base, **values)


def generate(out_dir, n: int, seed: int = 0, style: str = "dynamic", frames: int | None = None,
             workers: int = 1, preview: bool = False, overwrite: bool = False,
             progress: bool = True, nuisance: NuisanceConfig | None = None,
             archive: ArchiveConfig | None = None) -> PhantomSummary:
    """Write a phantom dataset of ``n`` videos to ``out_dir``; see the module docstring.

    ``nuisance``: strengths of the acquisition nuisances; ``archive``: shares of the archive-realism
    clips (None = the documented defaults for either).
    """
    cfg = PhantomConfig(n=n, seed=seed, style=style, frames=frames, workers=workers, preview=preview,
                        overwrite=overwrite, nuisance=check_config(nuisance),
                        archive=check_archive(archive))
    out_dir = Path(out_dir)
    check_folder_target(out_dir, cfg.overwrite, OVERWRITE_HINT)
    video_params(cfg.seed, 0, cfg.style, cfg.frames, cfg.nuisance, cfg.archive)  # bad options fail before any work
    start = time.perf_counter()
    with atomic_dir(out_dir, cfg.overwrite, OVERWRITE_HINT) as tmp:
        (tmp / "Videos").mkdir()
        tasks = [(cfg.seed, i, cfg.style, cfg.frames, str(tmp / "Videos"), cfg.nuisance, cfg.archive)
                 for i in range(cfg.n)]
        bar = console.bar(total=cfg.n, desc=f"phantom {out_dir.name}", unit="video", progress=progress)
        results = []
        if cfg.workers == 1:
            for task in tasks:
                results.append(_make_one(task))
                bar.update()
        else:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(cfg.workers, initializer=_init_worker) as pool:
                for res in pool.imap(_make_one, tasks, chunksize=max(1, min(8, cfg.n // (4 * cfg.workers)))):
                    results.append(res)
                    bar.update()
        bar.close()
        atomic_write_csv(tmp / "FileList.csv", FILELIST_COLUMNS, [r[0] for r in results])
        if cfg.style == "dynamic":
            atomic_write_csv(tmp / "VolumeTracings.csv", TRACING_COLUMNS, [row for r in results for row in r[1]])
        truths = [r[2] for r in results]
        meta = {"generator": "infomotion-rt phantom", "format": 1, "seed": cfg.seed, "style": cfg.style,
                "frames": cfg.frames,
                "nuisance": asdict(cfg.nuisance if cfg.style == "dynamic" else NuisanceConfig.off()),
                "archive": asdict(cfg.archive if cfg.style == "dynamic" else ArchiveConfig.off()),
                "videos": truths}
        (tmp / TRUTH_FILE).write_text(json.dumps(meta, indent=1) + "\n")
        preview_path = None
        if cfg.preview:
            from infomotion_rt.phantom.preview import write_preview

            params = [video_params(cfg.seed, i, cfg.style, cfg.frames, cfg.nuisance, cfg.archive) for i in range(cfg.n)]
            preview_path = write_preview(tmp, params)
    seconds = time.perf_counter() - start
    splits = Counter(t["split"] for t in truths)
    classes = Counter(t["ef_class"] for t in truths)
    labelled = Counter(DEFAULT_CLASSES.name(float(r[0][1])) for r in results)   # the EF column as written
    return PhantomSummary(out_dir=out_dir, n_videos=cfg.n, style=cfg.style, seconds=seconds,
                          splits={k: splits.get(k, 0) for k in ("TRAIN", "VAL", "TEST")},
                          classes={k: classes.get(k, 0) for k in DEFAULT_CLASSES.names},
                          label_classes={k: labelled.get(k, 0) for k in DEFAULT_CLASSES.names},
                          preview=out_dir / preview_path.name if preview_path else None)
