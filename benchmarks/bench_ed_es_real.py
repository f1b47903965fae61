"""ED/ES detection on real echo: EchoNet-Dynamic's nine public side-by-side media clips.

    .venv/bin/python benchmarks/bench_ed_es_real.py CLIPS_DIR [--methods legacy,robust] [--fps 50]

CLIPS_DIR holds echonet/dynamic's ``docs/media/0X*.mp4`` (224x112, 50 fps): the left half is the raw
apical four-chamber clip, the right half the same clip with EchoNet's LV segmentation painted blue.
Their licence forbids redistribution: they are never committed, nor anything made from their pixels,
and no test needs them (fetch the repository yourself and pass the folder).

Truth, per clip (``lv_area_truth``, the issue's rule): LV pixels are those of the right half whose blue
channel exceeds max(red, green) by more than 60; the LV area per frame is smoothed by a 3-frame mean;
ED = its local maxima, ES = its local minima (``scipy.signal.find_peaks``, distance 12 frames,
prominence 10 % of the area's range). The detector sees the grey left half only.

Figures: for the chosen beat (``detect_ed_es``) and for every beat the detector finds
(``cycle_detect.detect_beats``; robust method only; beats touching the clip's first or last frame left
out, as find_peaks leaves those frames out of the truth): frames from the detected ED (ES) to the nearest
area maximum (minimum); *phase-correct* = the detected ED nearer an area maximum than any minimum and
the detected ES nearer a minimum than any maximum; *within 3* = ED and ES each within 3 frames of its
truth; *systole ratio* = detected ES - ED over the truth's ES - ED of the beat whose ED is nearest.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks

from infomotion_rt.data.cycle_detect import detect_beats
from infomotion_rt.data.phases import DetectConfig, detect_ed_es

BLUE_MARGIN = 60       # blue - max(red, green) above which a pixel is painted LV (the rule)
PEAK_DISTANCE = 12     # frames between two maxima (minima) of the LV area
PEAK_PROMINENCE = 0.1  # share of the area's range


def read_bgr(path: Path) -> np.ndarray:
    """(T, H, W, 3) uint8 BGR frames of a video file; raises ValueError when none decode."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise ValueError(f"{path}: no frame decodes")
    return np.stack(frames)


def lv_area_truth(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LV area per frame and its ED/ES frames, from a side-by-side clip's painted right half.

    ``bgr`` (T, H, W, 3) uint8 in OpenCV's BGR order, W even. Returns the smoothed area (T,) float64
    in pixels, the ED frames (local maxima) and the ES frames (local minima), int arrays in time order.
    """
    right = bgr[:, :, bgr.shape[2] // 2:].astype(np.int16)
    blue, green, red = right[..., 0], right[..., 1], right[..., 2]
    area = ((blue - np.maximum(red, green)) > BLUE_MARGIN).sum(axis=(1, 2)).astype(np.float64)
    area = uniform_filter1d(area, 3, mode="nearest")
    prominence = PEAK_PROMINENCE * float(np.ptp(area))
    ed, _ = find_peaks(area, distance=PEAK_DISTANCE, prominence=prominence)
    es, _ = find_peaks(-area, distance=PEAK_DISTANCE, prominence=prominence)
    return area, ed, es


def grey_left(bgr: np.ndarray) -> np.ndarray:
    """(T, H, W/2) uint8: the raw clip, the left half, in grey."""
    left = np.ascontiguousarray(bgr[:, :, : bgr.shape[2] // 2])
    return np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in left])


def score_beat(ed: int, es: int, true_ed: np.ndarray, true_es: np.ndarray) -> dict:
    """Errors (frames), phase-correctness and systole ratio of one detected (ED, ES) against the truth."""
    ed_err, es_err = int(np.abs(true_ed - ed).min()), int(np.abs(true_es - es).min())
    phase_ok = ed_err < np.abs(true_es - ed).min() and es_err < np.abs(true_ed - es).min()
    j = int(np.argmin(np.abs(true_ed - ed)))
    after = true_es[true_es > true_ed[j]]
    ratio = (es - ed) / (after[0] - true_ed[j]) if after.size else float("nan")
    return {"ed": ed, "es": es, "ed_err": ed_err, "es_err": es_err, "phase_ok": bool(phase_ok),
            "within3": ed_err <= 3 and es_err <= 3, "ratio": float(ratio)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", type=Path, help="folder with echonet/dynamic's docs/media/0X*.mp4")
    parser.add_argument("--methods", default="legacy,robust", help="comma-separated DetectConfig methods")
    parser.add_argument("--fps", type=float, default=50.0, help="the clips' frame rate (50)")
    args = parser.parse_args()
    paths = sorted(args.clips.glob("0X*.mp4"))
    if not paths:
        sys.exit(f"{args.clips}: no 0X*.mp4 clip")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    chosen: dict[str, list[dict]] = {m: [] for m in methods}
    every: list[dict] = []
    print(f"{len(paths)} clips from {args.clips}; truth = LV-area maxima (ED) / minima (ES)")
    for path in paths:
        bgr = read_bgr(path)
        _, true_ed, true_es = lv_area_truth(bgr)
        grey = grey_left(bgr)
        print(f"{path.stem}: {len(grey)} frames; area maxima {true_ed.tolist()} minima {true_es.tolist()}")
        for method in methods:
            ed, es = detect_ed_es(grey, DetectConfig(method=method), fps=args.fps)
            s = score_beat(ed, es, true_ed, true_es)
            chosen[method].append(s)
            print(f"  {method:<7} ED {ed:>3} (err {s['ed_err']:>2})  ES {es:>3} (err {s['es_err']:>2})  "
                  f"{'phase-correct' if s['phase_ok'] else 'WRONG PHASE  '}  systole ratio {s['ratio']:.2f}")
        if "robust" in methods:
            # a beat on the clip's first or last frame is cut off, and find_peaks never marks those frames
            beats = [score_beat(a, b, true_ed, true_es) for a, b in detect_beats(grey, args.fps)
                     if a > 0 and b < len(grey) - 1]
            every.extend(beats)
            print("  robust, every beat: " + ", ".join(f"{b['ed']}->{b['es']} ({b['ed_err']}/{b['es_err']})"
                                                       for b in beats))
    print("\nchosen beat per clip   phase-correct  ED&ES within 3   ED err median/max  ES err median/max  "
          "systole ratio median")
    for method in methods:
        rows = chosen[method]
        ed_e, es_e = [r["ed_err"] for r in rows], [r["es_err"] for r in rows]
        print(f"  {method:<20} {sum(r['phase_ok'] for r in rows):>5}/{len(rows)}  {sum(r['within3'] for r in rows):>9}/"
              f"{len(rows)}   {np.median(ed_e):>9.1f} / {max(ed_e):<3}   {np.median(es_e):>9.1f} / {max(es_e):<3}   "
              f"{np.nanmedian([r['ratio'] for r in rows]):.2f}")
    if every:
        ed_e, es_e = [b["ed_err"] for b in every], [b["es_err"] for b in every]
        print(f"  robust, all {len(every)} beats  {sum(b['phase_ok'] for b in every):>4}/{len(every)}  "
              f"{sum(b['within3'] for b in every):>8}/{len(every)}   {np.median(ed_e):>9.1f} / {max(ed_e):<3}   "
              f"{np.median(es_e):>9.1f} / {max(es_e):<3}   {np.nanmedian([b['ratio'] for b in every]):.2f}")


if __name__ == "__main__":
    main()
