"""Archive-realism nuisances of the phantom: the clips of a real echo archive that hurt a small model.

A clinical archive such as EchoNet-Dynamic (10,030 apical four-chamber clips from routine studies,
labels from the clinical report's tracings) is not a curated set: some clips are foreshortened or cut
off-axis, a few show another view, some labels are off by what a second observer would trace and a very
few are grossly wrong, a few clips are very short, and depth/zoom settings vary beyond the usual range.
Each kind is a share of ``ArchiveConfig`` (probability per clip, drawn independently from a stream of
its own); ``draw_archive`` picks a video's kinds, recorded as ``nuisance_kinds`` in phantom_truth.json.

Default shares (ours; EchoNet-Dynamic publishes no per-clip quality audit, so these are conservative
readings of what is known, kept to ~10 % of clips so that, with the phantom's ~10 % poor-quality clips,
about one clip in five is a problem clip -- the issue's 10-20 % band):

* ``foreshortened`` 2.5 %: the plane misses the true apex (LV ~0.72-0.82 as long, a little wider,
  half the long-axis shortening). Foreshortening is the commonest apical acquisition error; most are
  mild, we count the marked ones.
* ``off-axis`` 1.5 %: the LV's displayed long axis turned 12-22 deg (view rotation 8-14 deg plus 4-8
  deg more axis tilt, the same way) and shifted 6-10 px off the sector's centre line.
* ``other view`` 1 %: an apical two-chamber-like clip (no right heart) among the four-chamber ones;
  view labelling in EchoNet-Dynamic was by an automated classifier plus review, so a few slip through.
* ``label noise`` 3 %: the FileList EF off by 4-8 points either way (inter-observer variability of 2D
  EF is ~5-10 points; every label already carries the phantom's +-1 point noise).
* ``wrong label`` 0.5 %: the FileList EF off by 15-30 points (a transcription or study mix-up),
  kept within 5-85.
* ``very short`` 1 %: 28-40 frames (EchoNet-Dynamic's shortest clips hold under one beat); not applied
  when a fixed ``--frames`` is asked for.
* ``zoom outlier`` 1 %: zoom 0.62-0.72 (deep field, small heart) or 1.30-1.40 (zoomed in), beyond the
  usual 0.85-1.12.

The tracings and ``ef_true`` always describe the rendered motion; only the FileList label carries the
label kinds. The EchoNet-Synthetic style gets none.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from infomotion_rt.errors import ConfigError

KINDS = {"foreshortened": "foreshortened", "off_axis": "off-axis", "other_view": "other view",
         "label_noise": "label noise", "wrong_label": "wrong label", "very_short": "very short",
         "zoom_outlier": "zoom outlier"}


@dataclass(frozen=True)
class ArchiveConfig:
    """Share of clips (0..1) of each archive-realism kind (see the module docstring for the defaults'
    reasons). Raises ConfigError for a share outside [0, 1]."""

    foreshortened: float = 0.025
    off_axis: float = 0.015
    other_view: float = 0.01
    label_noise: float = 0.03
    wrong_label: float = 0.005
    very_short: float = 0.01
    zoom_outlier: float = 0.01

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"phantom: archive share {f.name} must be within 0..1, got {v}")

    @classmethod
    def off(cls) -> "ArchiveConfig":
        return cls(**{f.name: 0.0 for f in fields(cls)})


@dataclass(frozen=True)
class ArchiveDraw:
    """One video's archive kinds and the values that realise them."""

    kinds: tuple[str, ...]
    length_scale: float = 1.0     # foreshortened: LV length factor
    rotation_deg: float = 0.0     # off-axis: extra view rotation
    shift_x: float = 0.0          # off-axis: extra lateral shift (px)
    tilt_deg: float = 0.0         # off-axis: extra LV axis tilt
    label_offset: float = 0.0     # label noise / wrong label: FileList EF - motion EF (before clipping)
    short_frames: int = 0         # very short: clip length
    zoom: float = 0.0             # zoom outlier: the zoom (0 = keep the drawn one)


def check_archive(cfg) -> ArchiveConfig:
    if cfg is None:
        return ArchiveConfig()
    if not isinstance(cfg, ArchiveConfig):
        raise ConfigError(f"phantom: archive settings must be an ArchiveConfig, got {type(cfg).__name__}")
    return cfg


def draw_archive(seq: np.random.SeedSequence, cfg: ArchiveConfig, ef_true: float) -> ArchiveDraw:
    """Which kinds video gets (independent draws, fixed draw count so shares do not shift each other)."""
    rng = np.random.default_rng(seq)
    u = rng.random(len(KINDS))
    vals = rng.random(8)
    sign = np.where(rng.random(3) < 0.5, -1.0, 1.0)
    hit = {name: bool(u[i] < getattr(cfg, name)) for i, name in enumerate(KINDS)}
    if hit["wrong_label"]:
        hit["label_noise"] = False  # one label kind per clip
    kw = {}
    if hit["foreshortened"]:
        kw["length_scale"] = 0.72 + 0.10 * vals[0]
    if hit["off_axis"]:
        kw["rotation_deg"] = sign[0] * (8.0 + 6.0 * vals[1])
        kw["shift_x"] = sign[0] * (6.0 + 4.0 * vals[2])
        kw["tilt_deg"] = -sign[0] * (4.0 + 4.0 * vals[3])  # displayed axis angle = tilt - rotation
    if hit["label_noise"]:
        kw["label_offset"] = sign[1] * (4.0 + 4.0 * vals[4])
    if hit["wrong_label"]:
        off = 15.0 + 15.0 * vals[4]
        s = sign[1] if 5.0 <= ef_true + sign[1] * off <= 85.0 else -sign[1]
        kw["label_offset"] = s * off
    if hit["very_short"]:
        kw["short_frames"] = 28 + int(vals[5] * 13)
    if hit["zoom_outlier"]:
        kw["zoom"] = (0.62 + 0.10 * vals[6]) if sign[2] < 0 else (1.30 + 0.10 * vals[6])
    kinds = tuple(KINDS[name] for name in KINDS if hit[name])
    # plain Python numbers: NumPy scalars would promote the renderer's float32 maps to float64
    kw = {k: int(v) if k == "short_frames" else round(float(v), 4) for k, v in kw.items()}
    return ArchiveDraw(kinds=kinds, **kw)


def apply_archive(p, draw: ArchiveDraw, fixed_frames: bool):
    """``p`` (VideoParams) with the drawn kinds applied (``very short`` is applied earlier, where the
    clip length is drawn; it is dropped from the kinds when a fixed length was asked for)."""
    from dataclasses import replace

    kinds = tuple(k for k in draw.kinds if not (k == "very short" and fixed_frames))
    change: dict = {"nuisance_kinds": kinds}
    if "foreshortened" in kinds:
        e = p.ef_true / 100.0
        shortening = 0.5 * p.long_shortening  # the missed apex hides part of the long-axis motion
        change.update(lv_length=p.lv_length * draw.length_scale, lv_halfwidth=p.lv_halfwidth * 1.05,
                      long_shortening=shortening, width_ratio=float(np.sqrt((1.0 - e) / (1.0 - shortening))))
    if "off-axis" in kinds:
        change.update(rotation_deg=p.rotation_deg + draw.rotation_deg, shift_x=p.shift_x + draw.shift_x,
                      axis_tilt_deg=p.axis_tilt_deg + draw.tilt_deg)
    if "other view" in kinds:
        change["view"] = "A2C"
    if draw.label_offset:
        change["ef_label"] = float(np.clip(p.ef_label + draw.label_offset, 1.0, 95.0))
    if "zoom outlier" in kinds:
        change["zoom"] = draw.zoom
    return replace(p, **change)
