"""Cardiac phases: LV volume by the method of disks, ED/ES frames, and the frame pairs a video gives.

Conventions: frames are 0-based indices into the video; volumes are in pixel units cubed (tracings are
in pixels), so EF = 100 * (EDV - ESV) / EDV is unit-free. ED is the frame with the larger traced volume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from infomotion_rt.console import plural
from infomotion_rt.data.cycle_detect import DEFAULT_FPS  # noqa: F401  (50: the rate assumed when a video's is unknown)
from infomotion_rt.data.cycle_detect import detect_robust, local_maxima, smooth, systole_share
from infomotion_rt.data.formats import VIDEO_SUFFIXES
from infomotion_rt.errors import ConfigError, DataError, VideoError

N_TRACING_ROWS = 21  # row 0: LV long axis; rows 1..20: disc chords (EchoNet VolumeTracings layout)
MIN_DETECT_FRAMES = 3  # ED/ES detection from the video needs a rise and a fall: three frames at least


def disk_volume(tracing: np.ndarray) -> float:
    """LV volume (pixel units cubed) of one traced frame by the single-plane method of disks.

    ``tracing`` is the (21, 4) array of X1, Y1, X2, Y2 rows as VolumeTracings.csv stores them.
    Row 0 is the long axis of length L; rows 1..20 are the disc chords of diameters d_i, each disc
    of height L/20: V = pi/4 * sum(d_i^2) * L/20 (Simpson's rule, monoplane).
    """
    t = np.asarray(tracing, dtype=np.float64)
    if t.shape != (N_TRACING_ROWS, 4):
        raise ValueError(f"a traced frame needs {N_TRACING_ROWS} rows of X1,Y1,X2,Y2, got shape {t.shape}")
    lengths = np.hypot(t[:, 2] - t[:, 0], t[:, 3] - t[:, 1])
    long_axis, diameters = lengths[0], lengths[1:]
    return float(np.pi / 4.0 * np.sum(diameters**2) * long_axis / (N_TRACING_ROWS - 1))


# ------------------------------------------------------------------------------- ED/ES from tracings

def ed_es_from_tracings(tracings: Mapping[int, np.ndarray]) -> tuple[int, int, float, float]:
    """``(ed, es, edv, esv)`` from traced frames: ED is the frame of largest disk volume, ES of smallest.

    ``tracings`` maps a 0-based frame index to its (21, 4) tracing. Row order in the CSV never
    decides ED/ES. Volumes are in pixel units cubed. Raises DataError when fewer than two frames are
    traced, a tracing is not (21, 4), or the volumes are not positive and distinct.
    """
    if len(tracings) < 2:
        raise DataError(f"ED/ES need two traced frames, got {len(tracings)}")
    try:
        volumes = {int(frame): disk_volume(t) for frame, t in tracings.items()}
    except ValueError as exc:
        raise DataError(str(exc)) from exc
    ed = max(volumes, key=lambda f: (volumes[f], -f))  # ties: the earlier frame, deterministically
    es = min(volumes, key=lambda f: (volumes[f], f))
    if not volumes[ed] > volumes[es] > 0:
        raise DataError(f"traced volumes {sorted(volumes.values())} do not give a larger ED and a positive ES")
    return ed, es, volumes[ed], volumes[es]


# ------------------------------------------------------------------------------------- frame pairs

@dataclass(frozen=True)
class FramePairs:
    """The two frame triples a video gives the motion model, and the frames to decode for them.

    ``pairs[0]`` is ``(ED, mid, ES)``; ``pairs[1]`` is the inferred other half of the cycle as
    ``(start, mid, end)`` in time order. ``rule`` says how pair 2 was placed: "next", "previous"
    or "clamped" (see ``frame_pairs``).
    """

    pairs: tuple[tuple[int, int, int], tuple[int, int, int]]
    indices: tuple[int, ...]
    rule: str


def cycle_length(ed: int, es: int) -> float:
    """Cardiac cycle in frames from one ED and one ES frame (ours, as ``frame_pairs``): systole is 1/3 of
    the cycle, so ED before ES (gap = systole) gives 3 x gap and ES before ED (gap = diastole) 1.5 x gap."""
    gap = abs(int(es) - int(ed))
    if gap == 0:
        raise ValueError("ED and ES are the same frame")
    return 3.0 * gap if ed < es else 1.5 * gap


def _mid(a: int, b: int) -> int:
    """Midpoint rounded half up (not Python's half-to-even), so it never depends on parity."""
    return int(np.floor((a + b) / 2.0 + 0.5))


def frame_pairs(ed: int, es: int, n_frames: int) -> FramePairs:
    """Pair 1 = (ED, midpoint, ES); pair 2 = the adjacent, untraced half of the cardiac cycle.

    Systole (ED -> ES) is taken as 1/3 and diastole (ES -> ED) as 2/3 of the cycle (paper: diastole
    ~2/3 at rest). When ED < ES the traced gap g is systole, so diastole lasts 2g and pair 2 is
    (ES, mid, next ED = ES + 2g). When ES < ED the gap is diastole, systole lasts g/2 and pair 2 is
    (ED, mid, next ES = ED + round(g/2)).
    Into [0, n_frames): if the next phase falls past the end, pair 2 is mirrored to the same phase
    before the traced frames -- the previous ES before ED, (ED - 2g, mid, ED), or the previous ED
    before ES, (ES - round(g/2), mid, ES) -- rule "previous"; if that falls before frame 0 too, the
    side that keeps the longer stretch is clamped (forward: end at the last frame; backward: start at
    frame 0), rule "clamped". Midpoints round half up.
    """
    ed, es, n_frames = int(ed), int(es), int(n_frames)
    if not (0 <= ed < n_frames and 0 <= es < n_frames):
        raise DataError(f"ED {ed} / ES {es} outside a video of {n_frames} frames")
    if ed == es:
        raise DataError(f"ED and ES are the same frame ({ed})")
    gap = abs(es - ed)
    if ed < es:
        other = 2 * gap                        # diastole after ES
        forward, backward = (es, es + other), (ed - other, ed)
    else:
        other = max(1, _mid(gap, 0))           # systole after ED: half the traced diastole
        forward, backward = (ed, ed + other), (es - other, es)
    if forward[1] < n_frames:
        (a, b), rule = forward, "next"
    elif backward[0] >= 0:
        (a, b), rule = backward, "previous"
    else:  # clamp whichever side keeps the longer stretch of the untraced phase
        clamped_forward, clamped_backward = (forward[0], n_frames - 1), (0, backward[1])
        longer = clamped_forward[1] - clamped_forward[0] >= clamped_backward[1] - clamped_backward[0]
        (a, b), rule = (clamped_forward if longer else clamped_backward), "clamped"
    pair1 = (ed, _mid(ed, es), es)
    pair2 = (a, _mid(a, b), b)
    return FramePairs(pairs=(pair1, pair2), indices=tuple(sorted(set(pair1 + pair2))), rule=rule)


# ------------------------------------------------------------------------- ED/ES from the video alone

@dataclass(frozen=True)
class DetectConfig:
    """Settings of ``detect_ed_es`` (ours; see its docstring).

    ``method``: "robust" (default; ``cycle_detect.detect_robust``: band-limited to heart rates, gain- and
    drift-corrected, beat by beat) or "legacy" (the plain PCA/autocorrelation detector below, kept so
    before/after comparisons stay reproducible; fails on drift, gain steps and irregular beats).
    The other fields tune the legacy detector only.
    """

    method: str = "robust"
    work_size: int = 48            # frames are shrunk (area average) so the longer side is at most this
    blur_sigma: float = 1.0        # spatial Gaussian at work size, against speckle
    dynamic_share: float = 0.25    # share of pixels, by temporal std, that carry the cycle signal
    min_period: int = 6            # shortest cardiac cycle considered, frames
    asymmetry_margin: float = 0.08  # |systole share - 1/2| needed to orient the signal by timing
    n_components: int = 3          # leading principal components searched for the cycle
    min_energy: float = 0.25       # a component counts if its singular value is >= this share of the first
    min_strength: float = 0.6      # autocorrelation peak that makes a component clearly periodic


def record_fps(record) -> float | None:
    """The frame rate (frames/s) to give ``detect_ed_es`` for a video record: its FileList FPS, else the
    probed video's, else for a DICOM file its header's (``dicom_timing``), else None (the detector then
    assumes ``DEFAULT_FPS``). NaN and non-positive values count as missing."""
    for fps in (getattr(record, "fps", None), getattr(getattr(record, "probed", None), "fps", None)):
        if fps is not None and fps > 0:
            return float(fps)
    path = getattr(record, "path", None)
    if path is not None and getattr(record, "probed", None) is None:  # a probe already read the header
        if Path(path).suffix.lower() not in VIDEO_SUFFIXES:  # pydicom (slow to import) only for a file that may be DICOM
            from infomotion_rt.data.dicom import is_dicom
            from infomotion_rt.data.dicom_timing import header_frame_rate

            return (header_frame_rate(path) or None) if is_dicom(path) else None
    return None


def short_clip(n_frames: int) -> str | None:
    """Why a clip of ``n_frames`` frames cannot give ED/ES from the video (extraction of an untraced
    video; ``info`` drops such a record with the same words), or None when it is long enough."""
    if n_frames < MIN_DETECT_FRAMES:
        return f"{plural(n_frames, 'frame')}: too short, ED/ES detection needs at least {MIN_DETECT_FRAMES}"
    return None


def detect_ed_es(frames: np.ndarray, config: DetectConfig = DetectConfig(),
                 fps: float | None = None) -> tuple[int, int]:
    """ED and ES frame indices (0-based) of one cardiac cycle, from the frames alone (ours).

    ``frames``: (T, H, W) grey video (any numeric dtype). ``fps``: its frame rate (frames/s), used by
    the robust method to search heart rates of 30-200 bpm only; None (or not finite/positive) assumes
    ``DEFAULT_FPS`` (50 fps, EchoNet-Dynamic's usual rate). ``config.method`` picks the detector (see DetectConfig);
    the steps below are the legacy one's.

    1. Signal: frames are shrunk and blurred; the pixels with the largest temporal variation (the
       moving walls and valves) are kept. Of the first principal components of their time courses,
       with and without each pixel's linear trend, the most periodic one is the cycle signal (the
       first one can be gain drift or slow probe motion). It follows all chambers at once: ventricles and
       atria load with opposite signs.
    2. Period: first autocorrelation peak after the autocorrelation turns negative; its height
       measures how periodic a component is.
    3. Orientation, so that maxima are ED (largest ventricle) and minima ES: systole is shorter than
       diastole (about 1/3 of the cycle), so the signal should fall fast from a maximum and rise slowly.
       When the fall/rise timing is too even to tell, the signal is oriented to correlate with the
       darkness of the moving region (a large blood pool is dark). Both cues hold for the negated
       atrial signal too, which is why mixing chambers does not flip the answer.
    4. Cycle: after smoothing over 1/16 of the period, each local maximum (ED candidate) is paired
       with the minimum within 3/4 of a period after it; the pair with the largest fall wins. A video
       shorter than one cycle uses its global maximum and the minimum after (or before) it.
    Raises VideoError when fewer than ``MIN_DETECT_FRAMES`` (3) frames are given or nothing moves.
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise VideoError(f"ED/ES detection needs (T, H, W) frames, got shape {frames.shape}")
    if (reason := short_clip(frames.shape[0])) is not None:
        raise VideoError(reason)
    if config.method == "robust":
        return detect_robust(frames, fps)
    if config.method != "legacy":
        raise ConfigError(f"unknown ED/ES detection method {config.method!r}; expected 'robust' or 'legacy'")
    moving = _moving_pixels(frames, config)
    signal, period = _most_periodic_component(moving, config)
    signal = smooth(signal, max(1.0, (period or 16) / 16.0))
    share = systole_share(signal, period)
    if abs(share - 0.5) > config.asymmetry_margin:
        flip = share > 0.5
    else:
        darkness = -moving.mean(axis=1)
        flip = float(np.dot(signal - signal.mean(), darkness - darkness.mean())) < 0
    return _pick_cycle(-signal if flip else signal, period)


def _moving_pixels(frames: np.ndarray, config: DetectConfig) -> np.ndarray:
    """(T, P) time courses, without their mean, of the pixels that vary most over time."""
    t, h, w = frames.shape
    scale = min(1.0, config.work_size / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.stack([cv2.GaussianBlur(cv2.resize(f, size, interpolation=cv2.INTER_AREA).astype(np.float32),
                                       (0, 0), config.blur_sigma) for f in frames])
    x = small.reshape(t, -1).astype(np.float64)
    x -= x.mean(axis=0)
    spread = x.std(axis=0)
    if spread.max() < 1e-3:
        raise VideoError("frames do not change over time: no cardiac motion to detect ED/ES from")
    return x[:, spread >= np.quantile(spread, 1.0 - config.dynamic_share)]


def _components(x: np.ndarray, config: DetectConfig) -> list[np.ndarray]:
    """Leading principal time courses u_k * s_k of x (T, P), largest first.

    Through the eigenvectors of the smaller Gram matrix rather than an SVD: several times cheaper, which
    matters because extraction runs this in its reader thread beside the inference threads.
    """
    t, p = x.shape
    lam, vecs = np.linalg.eigh(x @ x.T if t <= p else x.T @ x)
    order = np.argsort(lam)[::-1]
    s = np.sqrt(np.clip(lam[order], 0.0, None))
    courses = vecs[:, order] * s if t <= p else x @ vecs[:, order]
    keep = [k for k in range(min(config.n_components, len(s))) if s[k] >= config.min_energy * s[0]]
    return [courses[:, k] for k in keep]


def _most_periodic_component(moving: np.ndarray, config: DetectConfig) -> tuple[np.ndarray, int | None]:
    """The leading principal component that repeats clearly (autocorrelation peak >= min_strength).

    Components are tried by rank, the detrended one (each pixel's linear trend removed) before the
    raw one: detrending helps when gain drift or slow probe motion dominates the variance, the raw
    one when the clip is too short to tell a trend from a partial cycle. Lower-ranked components, even when
    periodic, tend to be harmonics or phase-shifted parts of the cycle, hence rank before strength.
    With no clear period: the most periodic candidate, or the first raw component and no period.
    """
    t = moving.shape[0]
    ramp = np.arange(t) - (t - 1) / 2.0
    detrended = moving - np.outer(ramp, ramp @ moving / (ramp @ ramp))
    raw, flat = _components(moving, config), _components(detrended, config)
    candidates = [c for pair in zip(flat, raw) for c in pair] + flat[len(raw):] + raw[len(flat):]
    best: tuple[float, np.ndarray, int] | None = None
    for component in candidates:
        period, strength = _period(component, config.min_period)
        if period is not None and strength >= config.min_strength:
            return component, period
        if period is not None and (best is None or strength > best[0]):
            best = (strength, component, period)
    return (raw[0], None) if best is None else (best[1], best[2])




def _period(signal: np.ndarray, min_period: int) -> tuple[int | None, float]:
    """Cycle length in frames from the autocorrelation, and the autocorrelation there (its strength).

    (None, 0.0) when no full cycle shows.
    """
    x = signal - signal.mean()
    n = len(x)
    ac = np.correlate(x, x, mode="full")[n - 1:] / (np.arange(n, 0, -1) * (x @ x / n) + 1e-12)
    negative = np.flatnonzero(ac[: (2 * n) // 3] < 0)
    if negative.size == 0:
        return None, 0.0
    for lag in range(max(negative[0], min_period), (2 * n) // 3):
        if ac[lag] > 0.2 and ac[lag] >= ac[lag - 1] and ac[lag] >= ac[lag + 1]:
            return lag, float(ac[lag])
    return None, 0.0






def _pick_cycle(signal: np.ndarray, period: int | None) -> tuple[int, int]:
    """ED at a local maximum, ES at the lowest point within 3/4 of a period after it (before it when
    nothing valid follows); the pair with the largest fall wins. An ES on the video's first or last
    frame is rejected: the fall may go on outside the clip."""
    n = len(signal)
    if period is None:
        ed = int(np.argmax(signal[1:-1])) + 1
        after = signal[ed + 1:]
        es = ed + 1 + int(np.argmin(after)) if after.size else int(np.argmin(signal[:ed]))
        return ed, es
    reach = max(1, round(0.75 * period))
    forward, backward = [], []
    for ed in local_maxima(signal, max(1, round(0.4 * period))):
        if ed + 1 < n:
            es = ed + 1 + int(np.argmin(signal[ed + 1: ed + 1 + reach]))
            if es < n - 1:
                forward.append((float(signal[ed] - signal[es]), ed, es))
        start = max(0, ed - reach)
        if start < ed:
            es = start + int(np.argmin(signal[start:ed]))
            if es > 0:
                backward.append((float(signal[ed] - signal[es]), ed, es))
    pairs = forward or backward
    if not pairs:
        return _pick_cycle(signal, None)
    _, ed, es = max(pairs)
    return ed, es
