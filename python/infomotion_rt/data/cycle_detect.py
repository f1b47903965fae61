"""ED/ES from the video alone, robust to what real clips show (ours; ``phases.detect_ed_es`` calls it).

Real echo clips are not clean loops: the brightness steps and swells (gain changes, breathing), the
heart slides under the probe (drift), beats differ in length, and the cardiac motion is often not the
first principal component. Steps:

1. **Work frames**: area-shrunk to at most 48 px, Gaussian-blurred against speckle.
2. **Gain**: each frame's global brightness factor (median log-ratio to the clip's median frame over the
   brighter half of the pixels, i.e. tissue) is divided out: gain steps and breathing swells act on the
   whole image, cardiac motion on a small part of it.
3. **Band**: heart rates of 30-200 bpm at the clip's frame rate bound the cycle length in frames. Each
   pixel's course loses its least-squares fit on the cosine (DCT-II) basis below 0.45 Hz the clip holds
   (a ramp from ~1.1 s on, more terms for longer clips): probe drift and breathing (0.2-0.33 Hz) are
   slower than any beat (>= 0.5 Hz). Clips too short to tell a trend from part of a beat keep it.
4. **Signal**: of the first four principal components of the 25 % most varying pixels, the one with
   the largest (|correlation with the brightness of those pixels| + 2 x its share of the four's variance)
   x (0.5 + its autocorrelation peak within the band): the cardiac component moves the whole heart's
   brightness, carries much of the variance once slow trends are gone, and repeats at a heart rate;
   drift and noise components do not, whatever their rank. The brightness sign makes it volume-like
   (maxima = ED): on real apical views the moving pixels are *brightest at ED* -- the atria, dark pools
   framed by the brightest reflectors of the view (AV plane, AV-groove fat, pericardium), are smallest
   at ED and take the stroke volume in systole, which outweighs the LV cavity's own darkening (measured
   on EchoNet-Dynamic's nine public media clips: correlation of that brightness with the segmented LV
   area +0.35 to +0.86, 9 of 9 positive; ``benchmarks/bench_ed_es_real.py``). The earlier rule, "a large
   pool is dark", held on the phantom only and put ED at end-systole on every real clip. Where brightness
   barely follows it (|r| < 0.5) and its fall/rise timing is clear (the "systole", maximum to next
   minimum, takes over 0.58 of the cycle), systole being the shorter part of the beat orients it
   instead; a "systole" over 0.62 of the cycle flips it whatever the brightness says (right-side-up
   real clips: 0.26-0.55; the phantom's upside-down detections: mostly 0.60-0.68). It is smoothed over
   1/16 of the cycle.
5. **Beat**: ED at a local maximum, ES at the lowest point 0.08-0.55 s (physiological systole) and at
   most 0.6 cycle after it; the beat with the largest fall wins, a beat touching the clip's edge
   counting 0.7 of its fall (``pick_beat``).

Measured (BENCHMARKS.md, "ED/ES on real echo"): phase-correct on 8 of 9 real EchoNet-Dynamic clips
(``benchmarks/bench_ed_es_real.py``; 0 of 9 with the earlier darkness orientation) and on 96.7 % of a
fresh 300-video nuisance phantom against 88.3 % for the legacy detector (``benchmarks/bench_ed_es.py``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from infomotion_rt.errors import VideoError

WORK_SIZE = 48
BLUR_SIGMA = 1.0
DEFAULT_FPS = 50.0                 # EchoNet-Dynamic's usual frame rate
HR_RANGE_BPM = (30.0, 200.0)       # plausible heart rates (the band)
DYNAMIC_SHARE = 0.25
N_COMPONENTS = 4
MIN_STRENGTH = 0.5
PERIODIC_WEIGHT = 0.5
SLOW_CUTOFF_HZ = 0.45              # below 30 bpm: drift and breathing (0.2-0.33 Hz), not beats
EDGE_WEIGHT = 0.7
ENERGY_WEIGHT = 2.0
BRIGHT_TRUST = 0.5                 # |corr with brightness| below which the timing cue may flip the signal
TIMING_MARGIN = 0.08               # systole share beyond 0.58 of the cycle = the signal is upside down
TIMING_OVERRIDE = 0.12             # ... beyond 0.62 even where brightness orients it (real clips: <= 0.55)
SYSTOLE_S = (0.08, 0.55)           # ED -> ES time, s: ~0.15 s at 200 bpm, ~0.45 s at 40 bpm (physiology)


def work_frames(frames: np.ndarray) -> np.ndarray:
    """(T, P) float32: frames area-shrunk so the longer side is <= WORK_SIZE, blurred, flattened."""
    t, h, w = frames.shape
    scale = min(1.0, WORK_SIZE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.stack([cv2.GaussianBlur(cv2.resize(f, size, interpolation=cv2.INTER_AREA).astype(np.float32),
                                       (0, 0), BLUR_SIGMA) for f in frames])
    return small.reshape(t, -1)


def gain_factors(x: np.ndarray) -> np.ndarray:
    """(T,) per-frame brightness factor: median over tissue pixels of frame / median frame."""
    ref = np.median(x, axis=0)
    tissue = ref > max(np.quantile(ref, 0.5), 1.0)
    if tissue.sum() < 8:
        return np.ones(len(x), np.float32)
    ratio = np.log(x[:, tissue] + 1.0) - np.log(ref[tissue] + 1.0)
    return np.exp(np.median(ratio, axis=1)).astype(np.float32)


def period_bounds(fps: float, n: int) -> tuple[int, int]:
    lo = max(4, int(math.floor(60.0 * fps / HR_RANGE_BPM[1])))
    hi = max(lo + 1, int(math.ceil(60.0 * fps / HR_RANGE_BPM[0])))
    return lo, hi


def slow_basis(n: int, fps: float, cutoff_hz: float) -> np.ndarray:
    """(n, K) cosine (DCT-II) basis of the frequencies below ``cutoff_hz`` a clip of n frames holds
    (basis k has k * fps / (2 n) Hz): the mean always, a ramp once the clip lasts 1 / (2 cutoff) s,
    more for longer clips. A shorter clip keeps its trend: it cannot be told from part of a beat."""
    k_max = int(np.floor(2.0 * n / fps * cutoff_hz))
    t = (np.arange(n) + 0.5) / n
    return np.stack([np.cos(np.pi * k * t) for k in range(k_max + 1)], axis=1)


def detrend(x: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """x (T, ...) without each column's least-squares fit on ``basis`` (T, K)."""
    coef, *_ = np.linalg.lstsq(basis, x.reshape(len(x), -1), rcond=None)
    return x - (basis @ coef).reshape(x.shape)


def components(x: np.ndarray, k: int) -> list[np.ndarray]:
    """Leading principal time courses of x (T, P), largest first (via the smaller Gram matrix)."""
    t, p = x.shape
    lam, vecs = np.linalg.eigh(x @ x.T if t <= p else x.T @ x)
    order = np.argsort(lam)[::-1][:k]
    s = np.sqrt(np.clip(lam[order], 0.0, None))
    courses = vecs[:, order] * s if t <= p else x @ vecs[:, order]
    return [courses[:, i] for i in range(courses.shape[1]) if s[i] > 1e-6 * max(s[0], 1e-12)]


def band_period(signal: np.ndarray, lo: int, hi: int) -> tuple[int | None, float]:
    """Cycle length (frames) within [lo, hi] from the autocorrelation, and its height there."""
    x = signal - signal.mean()
    n = len(x)
    denom = x @ x / n
    if denom <= 0:
        return None, 0.0
    ac = np.correlate(x, x, mode="full")[n - 1:] / (np.arange(n, 0, -1) * denom)
    top = min(hi, (2 * n) // 3)
    best, lag_best = 0.0, None
    for lag in range(max(lo, 1), top):
        if lag + 1 < n and ac[lag] > 0.2 and ac[lag] >= ac[lag - 1] and ac[lag] >= ac[lag + 1]:
            if ac[lag] > best:
                best, lag_best = float(ac[lag]), lag
            if ac[lag] >= MIN_STRENGTH:
                return lag, float(ac[lag])  # first clear peak: later ones are multiples
    return lag_best, best


def detect_robust(frames: np.ndarray, fps: float | None = None) -> tuple[int, int]:
    """ED and ES frame indices (0-based) of one beat; see the module docstring.

    ``frames`` (T >= 3, H, W); ``fps`` frames/s (None or not positive: 50). Raises VideoError when
    nothing moves.
    """
    signal, period, fps = cardiac_signal(frames, fps)
    return pick_beat(signal, period, fps)


def detect_beats(frames: np.ndarray, fps: float | None = None) -> list[tuple[int, int]]:
    """Every (ED, ES) pair the robust detector finds, in time order (the one ``detect_robust`` returns
    among them, unless the clip shows no whole systole). Same arguments and errors as ``detect_robust``;
    for benchmarks that score every beat, not only the chosen one."""
    signal, period, fps = cardiac_signal(frames, fps)
    return sorted((ed, es) for _, ed, es in beat_candidates(signal, period, fps))


def cardiac_signal(frames: np.ndarray, fps: float | None = None) -> tuple[np.ndarray, int | None, float]:
    """Steps 1-4 of the module docstring: the volume-like signal (T,) float64 (maxima = ED), its cycle
    length in frames (None when no beat repeats) and the frame rate used (``fps``, or 50 when unknown)."""
    if fps is None or not math.isfinite(fps) or fps <= 0:
        fps = DEFAULT_FPS
    x = work_frames(np.asarray(frames)).astype(np.float64)
    if x.std(axis=0).max() < 1e-3:
        raise VideoError("frames do not change over time: no cardiac motion to detect ED/ES from")
    x /= gain_factors(x.astype(np.float32))[:, None]
    n = len(x)
    lo, hi = period_bounds(fps, n)
    basis = slow_basis(n, fps, SLOW_CUTOFF_HZ)
    flat = detrend(x, basis)
    spread = flat.std(axis=0)
    keep = spread >= np.quantile(spread, 1.0 - DYNAMIC_SHARE)
    moving = flat[:, keep]
    brightness = detrend(x[:, keep].mean(axis=1), basis)  # volume-like on real echo: see step 4
    best = (-1.0, None, None, 0.0)
    comps = components(moving, N_COMPONENTS)
    energy = np.array([c @ c for c in comps])
    energy = energy / max(energy.sum(), 1e-12)
    for c, e in zip(comps, energy):
        r = np.corrcoef(c, brightness)[0, 1] if c.std() > 0 and brightness.std() > 0 else 0.0
        r = float(r) if np.isfinite(r) else 0.0
        p, strength = band_period(c, lo, hi)
        score = (abs(r) + ENERGY_WEIGHT * e) * (PERIODIC_WEIGHT + strength)
        if score > best[0]:
            best = (score, c if r >= 0 else -c, p, abs(r))
    _, signal, period, bright_r = best
    if signal is None:
        raise VideoError("no motion left once slow trends are removed: no cardiac cycle to detect ED/ES from")
    signal = smooth(signal, max(1.0, (period or 16) / 16.0))
    if period:  # systole is the shorter part of a beat: a signal that falls slowly and rises fast is upside down
        share = systole_share(signal, period)
        margin = TIMING_MARGIN if bright_r < BRIGHT_TRUST else TIMING_OVERRIDE  # brightness weak: timing decides sooner
        if share > 0.5 + margin:
            signal = -signal
    return signal, period, fps


def _maxima(signal: np.ndarray, half: int) -> list[int]:
    n = len(signal)
    return [i for i in range(n) if signal[i] >= signal[max(0, i - half): i + half + 1].max()
            and (i == 0 or signal[i] > signal[i - 1])]


def _systole_reach(period: int | None, fps: float) -> tuple[int, int]:
    """Shortest and longest ED -> ES gap in frames: 0.08-0.55 s, and at most 0.6 cycle."""
    gap = max(1, int(round(SYSTOLE_S[0] * fps)))
    reach = max(gap, int(round(SYSTOLE_S[1] * fps)))
    if period:
        reach = max(gap, min(reach, int(round(0.6 * period))))
    return gap, reach


def beat_candidates(signal: np.ndarray, period: int | None, fps: float) -> list[tuple[float, int, int]]:
    """``(weighted fall, ED, ES)`` of every beat: ED at a local maximum of the volume-like ``signal``,
    ES at the lowest point 0.08-0.55 s (at most 0.6 cycle) after it; a pair on the clip's first or last
    frame counts EDGE_WEIGHT of its fall (the beat may go on outside the clip)."""
    n = len(signal)
    gap, reach = _systole_reach(period, fps)
    half = max(1, int(round(0.4 * period))) if period else max(1, int(round(0.15 * fps)))
    pairs = []
    for ed in _maxima(signal, half):
        window = signal[ed + gap: ed + reach + 1]
        if window.size:
            es = ed + gap + int(np.argmin(window))
            weight = (1.0 if es < n - 1 else EDGE_WEIGHT) * (1.0 if ed > 0 else EDGE_WEIGHT)
            pairs.append((weight * float(signal[ed] - signal[es]), ed, es))
    return pairs


def pick_beat(signal: np.ndarray, period: int | None, fps: float) -> tuple[int, int]:
    """ED at a local maximum of the volume-like ``signal``, ES at the lowest point 0.08-0.55 s (and at
    most 0.6 cycle) after it; the beat with the largest fall wins, a pair on the clip's first or last
    frame counting EDGE_WEIGHT of its fall (it may go on outside the clip). With no such beat (the
    maxima sit at the clip's end), ES is the lowest point within three reaches before the clip's
    highest point: a diastole, ES before ED, as ``frame_pairs`` reads it."""
    n = len(signal)
    pairs = beat_candidates(signal, period, fps)
    if pairs:
        _, ed, es = max(pairs)
        return ed, es
    reach = _systole_reach(period, fps)[1]
    ed = int(np.argmax(signal))
    start = max(0, ed - 3 * reach)
    if start < ed:
        return ed, start + int(np.argmin(signal[start:ed]))
    return ed, (ed + 1) % n


def smooth(signal: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of a 1-D signal (sigma in frames), reflected at the ends; same length."""
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(signal, radius, mode="reflect") if len(signal) > radius else np.pad(signal, radius, mode="edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")

def local_maxima(signal: np.ndarray, half_width: int) -> list[int]:
    """Indices of the maxima over +-half_width frames (plateaus counted once, at their first frame)."""
    n = len(signal)
    return [i for i in range(1, n - 1)
            if signal[i] >= signal[max(0, i - half_width): i + half_width + 1].max() and signal[i] > signal[i - 1]]

def systole_share(signal: np.ndarray, period: int | None) -> float:
    """Median time from a maximum to the next minimum, as a share of the period (0.5 if unknown)."""
    if period is None:
        return 0.5
    shares = []
    for m in local_maxima(signal, max(1, round(0.4 * period))):
        window = signal[m + 1: m + period]
        if len(window) == period - 1:  # a whole cycle after the maximum
            shares.append((int(np.argmin(window)) + 1) / period)
    return float(np.median(shares)) if shares else 0.5
