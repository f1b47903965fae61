"""Tiny generated echo-like data for the data-layer tests: AVIs, FileLists, tracings."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

HEADER = ["FileName", "EF", "ESV", "EDV", "FrameHeight", "FrameWidth", "FPS", "NumberOfFrames", "Split"]


def write_video(path: Path, frames: np.ndarray, fps: float = 30.0, fourcc: str = "MJPG") -> Path:
    """Write (T,H,W) uint8 frames as a 3-identical-channel video (MJPG AVI by default)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t, h, w = frames.shape
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"cannot write {path}"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def ramp_frames(n: int, h: int = 16, w: int = 16) -> np.ndarray:
    """Frame i is flat gray 8*i (+ a bright corner): tells frames apart after lossy coding."""
    frames = np.zeros((n, h, w), np.uint8)
    for i in range(n):
        frames[i] = min(255, 8 * i)
        frames[i, :4, :4] = 255
    return frames


def volume_curve(n: int, period: float, systole: float = 1 / 3, ed0: float = 3.0) -> np.ndarray:
    """Relative LV size in [0, 1]: 1 at ED, 0 at ES; falls over `systole` of the cycle, rises over the rest."""
    phase = ((np.arange(n) - ed0) / period) % 1.0
    falling = phase < systole
    out = np.empty(n)
    out[falling] = 0.5 * (1 + np.cos(np.pi * phase[falling] / systole))
    rest = (phase[~falling] - systole) / (1 - systole)
    out[~falling] = 0.5 * (1 - np.cos(np.pi * rest))
    return out


def ellipse_frames(n: int, size: int = 64, period: float = 18.0, systole: float = 1 / 3, ed0: float = 3.0,
                   seed: int = 0) -> np.ndarray:
    """A dark ventricle (ellipse, upper part) whose size follows `volume_curve`, and a dark atrium below
    it that fills while the ventricle empties, in bright tissue, plus noise.

    As on real apical views (BENCHMARKS.md, ED/ES on real echo), the atrium's swing outweighs the
    ventricle's, so the frame is brightest at ED.
    """
    rng = np.random.default_rng(seed)
    size_curve = volume_curve(n, period, systole, ed0)
    frames = np.empty((n, size, size), np.uint8)
    for i, v in enumerate(size_curve):
        img = np.full((size, size), 170, np.uint8)
        axes = (int(size * (0.12 + 0.06 * v)), int(size * (0.16 + 0.06 * v)))
        cv2.ellipse(img, (size // 2, int(size * 0.32)), axes, 0, 0, 360, 30, -1)
        atrium = (int(size * (0.12 + 0.14 * (1 - v))), int(size * (0.08 + 0.08 * (1 - v))))
        cv2.ellipse(img, (size // 2, int(size * 0.76)), atrium, 0, 0, 360, 20, -1)
        noisy = img.astype(np.float32) + rng.normal(0, 8, img.shape)
        frames[i] = np.clip(noisy, 0, 255).astype(np.uint8)
    return frames


def tracing_rows(video: str, frame: int, long_axis: float, diameter: float, x0: float = 50.0) -> list[list]:
    """21 VolumeTracings rows: a vertical long axis, then 20 horizontal chords of one diameter."""
    rows = [[video, x0, 10.0, x0, 10.0 + long_axis, frame]]
    for k in range(20):
        y = 10.0 + long_axis * (k + 0.5) / 20
        rows.append([video, x0 - diameter / 2, y, x0 + diameter / 2, y, frame])
    return rows


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def make_dynamic(root: Path, n: int = 4, frames: int = 12, size: int = 16, with_tracings: bool = True) -> Path:
    """An EchoNet-Dynamic folder of n tiny videos. Video i: ED traced at frame 1+i%3, ES at frame 6,
    long axis 40 px, diameters 20 (ED) and 14 (ES) px -> EF = 100*(1 - 0.49) = 51 (FileList says 51).
    Tracing rows list ES before ED so row order cannot decide."""
    filelist, tracings = [], []
    splits = ["TRAIN", "VAL", "TEST"]
    for i in range(n):
        name = f"0X{i:04d}"
        write_video(root / "Videos" / f"{name}.avi", ramp_frames(frames, size, size))
        filelist.append([name, 51.0, 100.0, 200.0, size, size, 30, frames, splits[i % 3]])
        tracings += tracing_rows(f"{name}.avi", 6, 40.0, 14.0) + tracing_rows(f"{name}.avi", 1 + i % 3, 40.0, 20.0)
    write_csv(root / "FileList.csv", HEADER, filelist)
    if with_tracings:
        write_csv(root / "VolumeTracings.csv", ["FileName", "X1", "Y1", "X2", "Y2", "Frame"], tracings)
    return root
