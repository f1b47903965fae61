"""Per-video parameters of the phantom echo generator: the ground truth of every generated video.

Every video ``i`` of a phantom made with seed ``s`` is a pure function of ``(s, style, i, frames)``:
its random numbers come from ``np.random.SeedSequence(s, spawn_key=(style_id, i))`` (the same stream
``SeedSequence(s).spawn`` would give), so a phantom of N videos is a prefix of one of N+100 videos and
``video_params`` recomputes the truth of any video without rendering it. The acquisition nuisances
(``phantom_nuisance``) draw from a stream of their own, ``spawn_key=(style_id, i, 1)``.

EF class and split use low-discrepancy (Weyl) sequences offset by the seed instead of independent
draws, so every prefix of the dataset has close to the intended class shares and 75/13/12 split:
a 20-video phantom already holds all five EF classes, which per-class selection needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from infomotion_rt.errors import ConfigError
from infomotion_rt.phantom.archive import ArchiveConfig, apply_archive, check_archive, draw_archive
from infomotion_rt.phantom.nuisance import NuisanceConfig, Nuisances, check_config, draw_nuisances

STYLES = {"dynamic": 0, "synthetic": 1}
PIXEL_SPACING_CM = 0.15  # cm per display pixel at zoom 1 (a 112-px frame ~ 17 cm deep); ours
MIN_FRAMES = 8
# EF class shares (Severe, Moderate, Mild, Normal, Hyperdynamic), EchoNet-like skew; ours.
CLASS_SHARES = np.array([0.06, 0.07, 0.10, 0.65, 0.12])
CLASS_RANGES = ((12.0, 30.0), (30.0, 40.0), (40.0, 50.0), (50.0, 70.0), (70.0, 84.0))
SPLIT_SHARES = (("TRAIN", 0.75), ("VAL", 0.13), ("TEST", 0.12))
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
_SQRT2 = np.sqrt(2.0) - 1.0


@dataclass(frozen=True)
class VideoParams:
    """Everything that defines one phantom video; lengths in display pixels at zoom 1."""

    index: int
    name: str
    style: str
    split: str
    ef_true: float       # EF of the rendered motion = EF of the traced volumes
    ef_label: float      # EF written to FileList (true EF plus label noise)
    fps_file: int        # frame rate in the AVI header
    fps_column: float    # FPS written to FileList (32 for the synthetic style, as EchoNet-Synthetic)
    n_frames: int
    hr_bpm: float
    period: float        # frames per cardiac cycle
    n_systole: int       # frames from ED to ES
    ed: int              # traced ED frame (phase 0 of the cycle)
    es: int              # traced ES frame (end of systole of the same cycle)
    es_rows_first: bool  # VolumeTracings lists the ES frame before the ED frame
    poor: bool           # poor-quality clip
    # LV geometry (reference = ED, heart coordinates)
    lv_length: float
    lv_halfwidth: float
    long_shortening: float  # fraction the long axis shortens ED -> ES
    width_ratio: float      # ES/ED half-width, solved so the disc volumes give ef_true
    wall: float
    rv_width: float
    axis_tilt_deg: float
    # view and appearance
    zoom: float
    rotation_deg: float
    shift_x: float
    shift_y: float
    sector_half_angle_deg: float
    sector_depth: float
    gain: float
    gamma: float
    tgc_slope: float
    noise: float
    speckle_sigma: float
    blood_level: float
    dropout: float       # strength of lateral-wall dropout, 0..1
    shadow: float        # strength of a rib shadow band, 0..1
    texture_seed: int    # seed of the speckle / tissue textures
    nuisance: Nuisances  # probe drift, breathing gain, gain steps, beat schedule (phantom_nuisance)
    view: str = "A4C"    # "A2C" for an archive clip of another view (no right heart)
    nuisance_kinds: tuple[str, ...] = ()  # archive-realism kinds of this clip (phantom_archive)

    @property
    def pixel_spacing_cm(self) -> float:
        return PIXEL_SPACING_CM / self.zoom


def video_name(seed: int, style: str, index: int) -> str:
    """EchoNet-like ``0X`` + 16 upper-case hex digits, or ``sample_%06d`` for the synthetic style."""
    if style == "synthetic":
        return f"sample_{index:06d}"
    digest = hashlib.blake2b(f"infomotion-phantom:{seed}:{index}".encode(), digest_size=8).hexdigest()
    return "0X" + digest.upper()


def _weyl(seed: int, index: int, alpha: float, salt: int) -> float:
    offset = np.random.SeedSequence(seed, spawn_key=(99, salt)).generate_state(1)[0] / 2.0**32
    return float((offset + index * alpha) % 1.0)


def _split(seed: int, index: int) -> str:
    u = _weyl(seed, index, _SQRT2, 1)
    acc = 0.0
    for name, share in SPLIT_SHARES:
        acc += share
        if u < acc:
            return name
    return SPLIT_SHARES[-1][0]


def _sample_ef(seed: int, index: int, rng: np.random.Generator) -> float:
    """EchoNet-like skew (mean ~56, sd ~12), class drawn by a Weyl sequence, value within the class."""
    u = _weyl(seed, index, _GOLDEN, 0)
    k = int(np.searchsorted(np.cumsum(CLASS_SHARES), u, side="right"))
    k = min(k, len(CLASS_RANGES) - 1)
    lo, hi = CLASS_RANGES[k]
    if k == 3:  # Normal: peaked around 60 like the real distribution
        return float(np.clip(rng.normal(60.0, 5.0), lo + 0.2, hi - 0.2))
    return float(rng.uniform(lo + 0.2, hi - 0.2))


def _timing(rng, style: str, frames: int | None, poor: bool):
    """Heart rate, frame rate and length; short fixed lengths lower the frame rate so systole fits."""
    hr = float(np.clip(rng.lognormal(np.log(74.0), 0.2), 50.0, 120.0))
    if style == "synthetic":
        fps = 30
        n = frames or 192
    else:
        fps = 50 if rng.random() < 0.8 else int(rng.choice([30, 35, 40, 45, 60, 70, 80, 100]))
        n = frames or int(rng.integers(64, 161))
    sys_frac = float(np.clip(0.33 + 0.05 * (hr - 75.0) / 45.0 + rng.normal(0, 0.01), 0.28, 0.42))
    if n < MIN_FRAMES:
        raise ConfigError(f"phantom: --frames {n} is too short; need at least {MIN_FRAMES}")
    # ED..ES must fit with a frame to spare on each side where possible
    max_period = (n - 2) / sys_frac
    if fps * 60.0 / hr > max_period:
        fps = max(6, int(np.floor(max_period * hr / 60.0)))
        if fps * 60.0 / hr > max_period:
            hr = 120.0
    period = fps * 60.0 / hr
    n_sys = max(2, int(round(period * sys_frac)))
    n_sys = min(n_sys, n - 1)
    return hr, fps, n, period, n_sys


def _ef_geometry(ef: float, rng, poor: bool):
    """LV size/shape from EF (dilated when EF is low) and the ES/ED scales that give exactly ``ef``."""
    e = ef / 100.0
    dil = float(np.clip((50.0 - ef) / 40.0, 0.0, 1.0))
    width = 16.0 * (1.0 + 0.25 * dil) * rng.lognormal(0.0, 0.07)
    length = 48.0 * (1.0 + 0.1 * dil) * rng.lognormal(0.0, 0.05)
    if poor and rng.random() < 0.5:  # foreshortened: the plane misses the true apex
        length *= 0.8
        width *= 1.05
    shortening = float(np.clip(0.03 + 0.16 * e + rng.normal(0.0, 0.015), 0.02, 0.25))
    shortening = min(shortening, 0.7 * e)
    # V ~ L * W^2 (same profile at ED and ES): 1 - e = (1 - a) * k^2
    width_ratio = float(np.sqrt((1.0 - e) / (1.0 - shortening)))
    wall = float(rng.uniform(4.5, 6.5))
    return float(length), float(width), shortening, width_ratio, wall


def video_params(seed: int, index: int, style: str = "dynamic", frames: int | None = None,
                 nuisance: NuisanceConfig | None = None, archive: ArchiveConfig | None = None) -> VideoParams:
    """The parameters (and so the ground truth) of video ``index`` of a phantom made with ``seed``.

    ``nuisance`` sets the acquisition nuisances' strengths (default: realistic, see phantom_nuisance);
    the synthetic style has none. They come from a stream of their own, so switching them off changes
    nothing else about the video. ``archive`` sets the shares of archive-realism clips (foreshortened,
    off-axis, other view, label noise, wrong label, very short, zoom outlier; phantom_archive), drawn
    from a third stream.
    """
    nuisance, archive = check_config(nuisance), check_archive(archive)
    if style not in STYLES:
        raise ConfigError(f"phantom: unknown style {style!r}; expected one of {sorted(STYLES)}")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(STYLES[style], index)))
    synthetic = style == "synthetic"
    poor = (not synthetic) and rng.random() < 0.10
    if synthetic:
        ef_label = float(10 + min(80, int(_weyl(seed, index, _GOLDEN, 2) * 81)))  # stratified 10..90
        ef_true = float(np.clip(ef_label + rng.normal(0.0, 1.5), 8.0, 90.0))
    else:
        ef_true = _sample_ef(seed, index, rng)
        ef_label = float(ef_true + np.clip(rng.normal(0.0, 1.0), -3.0, 3.0))
    arch = draw_archive(np.random.SeedSequence(seed, spawn_key=(STYLES[style], index, 2)),
                        ArchiveConfig.off() if synthetic else archive, ef_true)
    hr, fps, n, period, n_sys = _timing(rng, style, frames, poor)
    if arch.short_frames and frames is None:
        n = max(arch.short_frames, n_sys + 3)
    ed = int(rng.integers(0, max(1, n - n_sys)))
    length, width, shortening, width_ratio, wall = _ef_geometry(ef_true, rng, poor)
    v = 0.4 if synthetic else 1.0  # generated video varies less between clips than real ones
    nuisance_seq = np.random.SeedSequence(seed, spawn_key=(STYLES[style], index, 1))
    drawn = draw_nuisances(nuisance_seq, NuisanceConfig.off() if synthetic else nuisance, n, fps, period, n_sys, ed)
    p = VideoParams(
        index=index, name=video_name(seed, style, index), style=style, split=_split(seed, index),
        ef_true=ef_true, ef_label=ef_label, fps_file=int(fps), fps_column=32.0 if synthetic else float(fps),
        n_frames=int(n), hr_bpm=hr, period=float(period), n_systole=int(n_sys), ed=ed, es=ed + int(n_sys),
        es_rows_first=bool(rng.random() < 0.35), poor=bool(poor),
        lv_length=length, lv_halfwidth=width, long_shortening=shortening, width_ratio=width_ratio,
        wall=wall, rv_width=float(width * rng.uniform(0.75, 0.95)), axis_tilt_deg=float(rng.uniform(4.0, 14.0)),
        zoom=float(rng.uniform(1.0 - 0.15 * v, 1.0 + 0.12 * v)),
        rotation_deg=float(rng.normal(0.0, 5.0 * v)),
        shift_x=float(rng.normal(0.0, 3.0 * v)), shift_y=float(rng.normal(0.0, 2.5 * v)),
        sector_half_angle_deg=float(rng.uniform(40.0, 46.0) if not synthetic else 43.0),
        sector_depth=float(rng.uniform(100.0, 108.0) if not synthetic else 106.0),  # rows 0/111 stay black
        gain=float(rng.uniform(0.55, 0.75) if poor else rng.uniform(0.85 - 0.15 * v, 0.9 + 0.25 * v)),
        gamma=float(rng.uniform(0.55, 0.75) if not synthetic else rng.uniform(0.85, 0.95)),
        tgc_slope=float(rng.normal(0.0, 0.004 * v)),
        noise=float(rng.uniform(0.08, 0.14) if poor else rng.uniform(0.015, 0.045) * v),
        speckle_sigma=float(rng.uniform(0.8, 1.1) if not synthetic else rng.uniform(2.0, 2.6)),
        blood_level=float(rng.uniform(0.02, 0.06) if not synthetic else rng.uniform(0.09, 0.13)),
        dropout=float(rng.uniform(0.5, 0.9) if poor else (rng.uniform(0.0, 0.5) * v if rng.random() < 0.4 else 0.0)),
        shadow=float(rng.uniform(0.3, 0.7) * v if rng.random() < 0.15 else 0.0),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
        nuisance=drawn,
    )
    return apply_archive(p, arch, fixed_frames=frames is not None)
