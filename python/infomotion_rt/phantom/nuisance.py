"""Acquisition nuisances of the phantom: probe drift, breathing gain, gain steps, irregular beats.

Real EchoNet-Dynamic clips are not the clean, strictly periodic loops an ED/ES detector is easy on: the
probe and the heart drift slowly (hand and breathing), the image brightens and darkens with breathing,
the sonographer or the machine changes the gain abruptly, and beat lengths vary. Each of these is a
knob of ``NuisanceConfig`` (a strength, 1 = the realistic default, 0 = off); ``draw_nuisances`` turns
the strengths into one video's values (recorded in ``phantom_truth.json``), and ``beat_schedule`` /
``frame_phase`` / ``gain_curve`` give the per-frame effects the renderer applies.

Default strengths (ours, from textbook physiology; each is a per-video draw):

* **Probe drift**: translation velocity N(0, 1.2 display px/s) per axis (1 px = 1.5 mm at zoom 1, so a
  2-3 s clip drifts ~2-5 mm, the order of a hand-held probe's slide and the part of respiratory heart
  motion, 5-15 mm, that shows in an apical plane) and rotation N(0, 1.0 deg/s).
* **Breathing motion**: the heart moves with each breath by an extra 0.8-2.0 display px (1.2-3 mm)
  amplitude, on top of the phantom's base 0.2-0.8 px: respiratory heart motion is 5-15 mm, mostly
  craniocaudal, of which an apical four-chamber plane sees a part.
* **Breathing gain**: brightness modulated at the breathing rate (12-20 breaths/min, i.e. a 3-5 s
  period) by +-3-10 % (lung entering the acoustic window on inspiration dims the image).
* **Gain steps**: Poisson(0.5) abrupt steps per clip (at most 3; ~40 % of clips have one or more), each
  changing brightness by 8-25 % (a gain/TGC knob turned, or auto-gain, while recording).
* **Beat-to-beat RR variability**: beat length = mean cycle x exp(N(0, sd)), sd 0.04 for sinus rhythm
  (sinus arrhythmia, RR SD ~30-50 ms at rest), 0.15 for the 10 % of clips with atrial-fibrillation-like
  rhythm (AF is common among hospital echo patients). Systole scales with RR**0.3 (ejection time changes
  little with rate: Weissler's LVET ~ 413 - 1.7 HR ms), diastole takes the rest. The traced beat keeps the
  mean cycle and its integer ED/ES, so the tracings and EF are unchanged by the irregularity.

The EchoNet-Synthetic style gets none of these (generated videos: no probe, fixed rhythm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infomotion_rt.errors import ConfigError

AF_SHARE = 0.10          # share of clips with AF-like RR variability (ours)
RR_SD_SINUS, RR_SD_AF = 0.04, 0.15
SYSTOLE_RR_EXPONENT = 0.3
MAX_GAIN_STEPS = 3
MAX_STRENGTH = 10.0     # 10x the realistic default is already far outside real clips; far beyond it rendering stalls (ours)


@dataclass(frozen=True)
class NuisanceConfig:
    """Strength of each acquisition nuisance, 1.0 = the documented realistic default, 0 = off (ours).

    ``drift`` scales the probe's translation/rotation velocity, ``breathing_gain`` the breathing
    brightness modulation, ``breathing_motion`` the extra respiratory heart translation, ``gain_steps`` the rate of abrupt gain steps (their size stays), and
    ``rr_variability`` the beat-to-beat RR spread. Raises ConfigError for a strength outside 0..10.
    """

    drift: float = 1.0
    breathing_gain: float = 1.0
    gain_steps: float = 1.0
    rr_variability: float = 1.0
    breathing_motion: float = 1.0

    def __post_init__(self) -> None:
        for name in ("drift", "breathing_gain", "gain_steps", "rr_variability", "breathing_motion"):
            if not 0 <= getattr(self, name) <= MAX_STRENGTH:
                raise ConfigError(f"phantom: nuisance strength {name} must be within 0..{MAX_STRENGTH:g} (1 = the "
                                  f"realistic default), got {getattr(self, name)}")

    @classmethod
    def off(cls) -> "NuisanceConfig":
        """No nuisance: the clean, strictly periodic phantom."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Nuisances:
    """One video's drawn nuisances (all recorded in the truth file)."""

    drift_px_per_s: tuple[float, float]   # probe translation velocity (display px/s), x and y
    drift_deg_per_s: float                # probe rotation velocity about the probe (deg/s)
    breath_period_s: float
    breath_phase: float                   # radians at frame 0
    breath_gain: float                    # amplitude of log-brightness modulation
    breath_shift_px: float                # extra amplitude of the respiratory heart translation (px)
    gain_steps: tuple[tuple[int, float], ...]  # (first frame at the new gain, log-brightness change)
    rr_sd: float                          # sd of log beat length
    beat_onsets: tuple[float, ...]        # ED times of every beat overlapping the clip (frames)
    beat_systoles: tuple[float, ...]      # systole length of each of those beats (frames)


def draw_nuisances(seq: np.random.SeedSequence, cfg: NuisanceConfig, n_frames: int, fps: float,
                   period: float, n_systole: int, ed: int) -> Nuisances:
    """Draw one video's nuisances from ``seq`` (a stream of their own, so the video's other parameters
    do not move; each nuisance gets its own child stream, so switching one off leaves the others)."""
    rng, step_rng, beat_rng = (np.random.default_rng(s) for s in seq.spawn(3))
    drift = rng.normal(0.0, 1.2, size=2) * cfg.drift
    rot = rng.normal(0.0, 1.0) * cfg.drift
    breath_period = rng.uniform(3.0, 5.0)
    breath_phase = rng.uniform(0.0, 2 * np.pi)
    breath_gain = rng.uniform(0.03, 0.10) * cfg.breathing_gain
    breath_shift = rng.uniform(0.8, 2.0) * cfg.breathing_motion
    count = min(MAX_GAIN_STEPS, int(step_rng.poisson(0.5 * cfg.gain_steps)))
    steps = []
    if count and n_frames > 12:
        at = np.sort(step_rng.choice(np.arange(5, n_frames - 5), size=min(count, n_frames - 10), replace=False))
        sizes = step_rng.uniform(0.08, 0.25, size=len(at)) * step_rng.choice([-1.0, 1.0], size=len(at))
        steps = [(int(a), round(float(s), 4)) for a, s in zip(at, sizes)]
    rr_sd = (RR_SD_AF if beat_rng.random() < AF_SHARE else RR_SD_SINUS) * cfg.rr_variability
    onsets, systoles = beat_schedule(beat_rng, n_frames, period, n_systole, ed, rr_sd)
    return Nuisances((round(float(drift[0]), 4), round(float(drift[1]), 4)), round(float(rot), 4),
                     round(float(breath_period), 4), round(float(breath_phase), 4), round(float(breath_gain), 4),
                     round(float(breath_shift), 4), tuple(steps), round(float(rr_sd), 4), onsets, systoles)


def beat_schedule(rng: np.random.Generator, n_frames: int, period: float, n_systole: int, ed: int,
                  rr_sd: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Beat onsets (ED times, frames) and systole lengths covering [0, n_frames) and one beat beyond.

    The traced beat starts at ``ed`` with the mean length ``period`` and systole ``n_systole`` (so the
    traced ED/ES frames are exact); the others draw length = period * exp(N(0, rr_sd)), clipped to
    +-40 %, with systole = n_systole * (length / period) ** 0.3.
    """
    def one(length_factor):
        return period * length_factor, n_systole * length_factor**SYSTOLE_RR_EXPONENT

    after, t = [], ed + period
    while t < n_frames + period:
        length, sys = one(float(np.exp(np.clip(rng.normal(0.0, rr_sd), -0.4, 0.4))))
        after.append((t, sys))
        t += length
    before, t = [], float(ed)
    while t > -period:
        length, sys = one(float(np.exp(np.clip(rng.normal(0.0, rr_sd), -0.4, 0.4))))
        t -= length
        before.append((t, sys))
    beats = before[::-1] + [(float(ed), float(n_systole))] + after
    return tuple(round(b, 4) for b, _ in beats), tuple(round(s, 4) for _, s in beats)


def frame_phase(onsets, systoles, sys_frac: float, n_frames: int) -> np.ndarray:
    """Phase in [0, 1) of every frame on the mean cycle's clock: each beat's systole is mapped onto
    [0, sys_frac) and its diastole onto [sys_frac, 1), so a beat of any length passes ED at phase 0 and
    ES at phase sys_frac (the renderer's contraction curve then needs no change)."""
    t = np.arange(n_frames, dtype=np.float64)
    onsets = np.asarray(onsets, dtype=np.float64)
    systoles = np.asarray(systoles, dtype=np.float64)
    j = np.clip(np.searchsorted(onsets, t, side="right") - 1, 0, len(onsets) - 2)
    tau = t - onsets[j]
    length = onsets[j + 1] - onsets[j]
    sys = systoles[j]
    dia = np.maximum(length - sys, 1e-6)
    phase = np.where(tau <= sys, sys_frac * tau / sys, sys_frac + (1 - sys_frac) * (tau - sys) / dia)
    return np.clip(phase, 0.0, np.nextafter(1.0, 0.0))


def gain_curve(n: Nuisances, n_frames: int, fps: float) -> np.ndarray:
    """(n_frames,) float32 brightness factor: breathing modulation times the gain steps."""
    t = np.arange(n_frames, dtype=np.float64)
    log_gain = n.breath_gain * np.sin(2 * np.pi * t / (n.breath_period_s * fps) + n.breath_phase)
    for frame, size in n.gain_steps:
        log_gain += size * (t >= frame)
    return np.exp(log_gain).astype(np.float32)


def drift_pose(n: Nuisances, frames: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (shift (T, 2) display px, rotation (T,) deg) added to the base view pose; 0 at frame 0."""
    seconds = np.asarray(frames, dtype=np.float64) / fps
    shift = seconds[:, None] * np.asarray(n.drift_px_per_s)[None, :]
    return shift, seconds * n.drift_deg_per_s


def check_config(cfg) -> NuisanceConfig:
    if cfg is None:
        return NuisanceConfig()
    if not isinstance(cfg, NuisanceConfig):
        raise ConfigError(f"phantom: nuisance settings must be a NuisanceConfig, got {type(cfg).__name__}")
    return cfg
