"""``preview.png`` of a phantom folder: rows = videos across the EF classes, columns = one cardiac cycle.

Drawn with OpenCV only. Frames are decoded back from the written AVIs, so the preview shows what a
reader gets (MJPG artefacts included). The ED and ES columns carry the traced chord ends as dots.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from infomotion_rt.data.classes import DEFAULT_CLASSES
from infomotion_rt.phantom.params import VideoParams
from infomotion_rt.phantom.render import Geometry, tracing

SCALE = 2
LABEL_W = 190
HEADER_H = 26
ROWS = 6
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _pick(params: list[VideoParams]) -> list[VideoParams]:
    """One video per EF class (lowest index first), then the next ones, up to ROWS, ordered by EF."""
    chosen, seen = [], set()
    for p in params:
        k = int(DEFAULT_CLASSES.index(p.ef_true))
        if k not in seen:
            seen.add(k)
            chosen.append(p)
    for p in params:
        if len(chosen) >= ROWS:
            break
        if p not in chosen:
            chosen.append(p)
    return sorted(chosen[:ROWS], key=lambda p: p.ef_true)


def cycle_frames(p: VideoParams) -> list[tuple[str, int]]:
    """(label, frame) across the traced cycle: ED, two systolic, ES, four diastolic up to the next ED."""
    sys_steps = [p.ed + round(p.n_systole * k / 3) for k in (1, 2)]
    dia = p.period - p.n_systole
    dia_steps = [p.es + round(dia * k / 4) for k in (1, 2, 3, 4)]
    cols = [("ED", p.ed), ("sys", sys_steps[0]), ("sys", sys_steps[1]), ("ES", p.es)]
    cols += [("dia", f) for f in dia_steps[:-1]] + [("next ED", dia_steps[-1])]
    return [(name, min(max(f, 0), p.n_frames - 1)) for name, f in cols]


def _read(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames, t = {}, 0
    try:
        while t <= max(wanted):
            ok, img = cap.read()
            if not ok:
                break
            if t in wanted:
                frames[t] = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
            t += 1
    finally:
        cap.release()
    return frames


def write_preview(folder: Path, params: list[VideoParams]) -> Path:
    rows = _pick(params)
    cols = cycle_frames(rows[0])
    cell = 112 * SCALE
    canvas = np.zeros((HEADER_H + cell * len(rows), LABEL_W + cell * len(cols), 3), np.uint8)
    for j, (name, _) in enumerate(cols):
        cv2.putText(canvas, name, (LABEL_W + j * cell + 8, 18), FONT, 0.5, (230, 230, 230), 1, cv2.LINE_AA)
    for i, p in enumerate(rows):
        y0 = HEADER_H + i * cell
        cols = cycle_frames(p)
        frames = _read(folder / "Videos" / f"{p.name}.avi", {f for _, f in cols})
        g = Geometry(p)
        for j, (name, f) in enumerate(cols):
            img = frames.get(f, np.zeros((112, 112), np.uint8))
            big = cv2.cvtColor(cv2.resize(img, (cell, cell), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)
            if name in ("ED", "ES") and p.style == "dynamic":
                for x1, y1, x2, y2 in tracing(g, f)[1:]:
                    for x, y in ((x1, y1), (x2, y2)):
                        cv2.circle(big, (int(x * SCALE), int(y * SCALE)), 1, (60, 60, 255), -1, cv2.LINE_AA)
            canvas[y0:y0 + cell, LABEL_W + j * cell:LABEL_W + (j + 1) * cell] = big
        lines = [p.name, f"EF {p.ef_true:.1f} {DEFAULT_CLASSES.name(p.ef_true)}",
                 f"label EF {p.ef_label:.1f}", f"HR {p.hr_bpm:.0f} bpm, {p.fps_file} fps",
                 f"frames {p.n_frames}, ED {p.ed} ES {p.es}", "poor quality" if p.poor else ""]
        for k, text in enumerate(lines):
            cv2.putText(canvas, text, (6, y0 + 24 + 20 * k), FONT, 0.45, (230, 230, 230), 1, cv2.LINE_AA)
    path = folder / "preview.png"
    if not cv2.imwrite(str(path), canvas):
        raise OSError(f"{path}: cannot write the preview")
    return path
