"""Rendering of one phantom apical four-chamber echo video, and its ED/ES tracings.

Coordinates: *display* = the 112x112 frame; *heart* = display pixels at zoom 1 before the per-video
view pose (rotation and zoom about the probe, then a shift). The anatomy is laid out along the LV:
``u`` runs from the LV apex towards the mitral annulus, ``v`` across it (``v > 0`` the lateral wall,
on the image's right; ``v < 0`` the septum and the right heart). The LV cavity at contraction ``c``
(0 at ED, 1 at ES) is ``0 <= u <= L(c)``, ``|v| <= W(c) * profile(u / L(c))`` with the same profile at
every phase, so the method-of-disks volume is proportional to ``L * W**2`` and the ES/ED scales are
solved (phantom_params) to give exactly the video's EF.

Speckle and tissue reflectivity live in a texture in *reference* (ED) heart coordinates; each frame is a
backward warp of that texture (``cv2.remap``), so speckle moves with the tissue. Everything attached to
the probe (sector, depth gain, dropout, near-field haze, noise) is applied after the warp.

The atria fill while the ventricle empties (the AV plane descends under a fixed atrial roof and each atrium
swells about its centre) inside bright far-field tissue, so that, as on real apical clips, the frame's
moving pixels are brightest at ED (see ATRIAL_FILLING).

Acquisition nuisances (phantom_nuisance): the view pose drifts frame by frame (the heart slides and
turns under a fixed sector), the frame's brightness follows breathing and gain steps, and the cycle
clock follows the video's irregular beat schedule.
"""

from __future__ import annotations

import cv2
import numpy as np

from infomotion_rt.phantom.nuisance import drift_pose, frame_phase, gain_curve
from infomotion_rt.phantom.params import VideoParams

SIZE = 112
PROBE = (56.0, 1.0)      # sector apex in display pixels
APEX = (60.0, 20.0)      # LV endocardial apex in heart coordinates
MAP_SCALE = 2.0          # texture pixels per heart pixel
MAP_ORIGIN = -24.0       # heart coordinate of texture pixel 0
MAP_SIZE = int((SIZE - 2 * MAP_ORIGIN) * MAP_SCALE)
CHUNK = 48               # frames warped per remap call (bounds memory)
_S_MAX, _P_BASE = 0.5, 0.8
# Real A4C clips are brightest at ED (moving pixels vs LV area: r +0.35 to +0.86 on EchoNet-Dynamic's nine
# media clips, BENCHMARKS.md): the atria, dark pools in the view's brightest tissue, fill in systole.
# The phantom gets that property from the three knobs below (ours, set by measurement: at these values
# its moving pixels correlate positively with LV volume in most clips, as on real echo). Its atria swell
# more than real ones (radius x1/(1-0.5) at ES for EF >= 62 against an LA area ratio of ~2 in normal
# hearts) because it lacks other real contributors (near-field clutter in the LV cavity, a bright AV plane).
ATRIAL_SPAN = 0.62      # annulus -> atrial roof along the LV axis, share of the ED LV length
ATRIAL_FILLING = 0.8    # atrial radius at ES = ED radius / (1 - min(0.5, 0.8 * EF / 100))
FAR_FIELD_LEVEL = 0.6   # reflectivity added around the atria (blood 0.02-0.06, myocardium ~0.4)


def profile(s: np.ndarray) -> np.ndarray:
    """LV half-width along the long axis: 0 at the apex, 1 at the widest level, _P_BASE at the annulus.

    Two parabolas (cheap on big float32 arrays): a blunt apex rising to the widest level, then a
    gentle taper towards the mitral annulus.
    """
    s = np.clip(s, 0.0, 1.0)
    x = np.minimum(s * (1.0 / _S_MAX), 1.0)
    up = x * (2.0 - x)
    z = np.maximum(s - _S_MAX, 0.0) * (1.0 / (1.0 - _S_MAX))
    return up - (1.0 - _P_BASE) * z * z


def _smooth(z):
    z = np.clip(z, 0.0, 1.0)
    return z * z * (3.0 - 2.0 * z)


def cycle_phase(p: VideoParams) -> np.ndarray:
    """Phase in [0, 1) of every frame; 0 at every beat's ED, ``n_systole / period`` at its ES."""
    n = p.nuisance
    return frame_phase(n.beat_onsets, n.beat_systoles, p.n_systole / p.period, p.n_frames)


def contraction(phase: np.ndarray, sys_frac: float) -> np.ndarray:
    """0 at ED, 1 at ES: cosine ejection, short isovolumic relaxation, rapid filling, atrial kick."""
    phase = np.asarray(phase, dtype=np.float64)
    systole = (1.0 - np.cos(np.pi * phase / sys_frac)) / 2.0
    x = (phase - sys_frac) / (1.0 - sys_frac)
    diastole = 1.0 - 0.78 * _smooth((x - 0.05) / 0.33) - 0.22 * _smooth((x - 0.72) / 0.26)
    return np.where(phase <= sys_frac, systole, diastole)


def valve_opening(phase: np.ndarray, sys_frac: float) -> np.ndarray:
    """AV valve opening 0..1: shut in systole, open in early filling, half-shut in diastasis, A-wave."""
    x = (np.asarray(phase, dtype=np.float64) - sys_frac) / (1.0 - sys_frac)
    o = _smooth((x - 0.06) / 0.08) * (1.0 - 0.6 * _smooth((x - 0.3) / 0.2) + 0.6 * _smooth((x - 0.68) / 0.08))
    return np.where(x < 0.0, 0.0, o * (1.0 - _smooth((x - 0.9) / 0.08)))


class Geometry:
    """Per-video constants: axes, the view pose and the LV size at each contraction."""

    def __init__(self, p: VideoParams):
        self.p = p
        tilt = np.deg2rad(p.axis_tilt_deg)
        self.d = np.array([np.sin(tilt), np.cos(tilt)])   # apex -> base
        self.n = np.array([np.cos(tilt), -np.sin(tilt)])  # septum -> lateral wall
        rot = np.deg2rad(p.rotation_deg)
        self.rot = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
        self.apex = np.array(APEX)
        self.sys_frac = p.n_systole / p.period
        self.fl_apex, self.fl_d, self.fl_n = (tuple(float(z) for z in a) for a in (self.apex, self.d, self.n))
        rng = np.random.default_rng(p.texture_seed + 7)
        self.resp_amp = rng.uniform(0.2, 0.8) * (0.4 if p.style == "synthetic" else 1.0) + p.nuisance.breath_shift_px
        self.resp_phase = p.nuisance.breath_phase  # the same breath that modulates the gain
        self.resp_period = p.nuisance.breath_period_s * p.fps_file

    def jitter(self, t: np.ndarray) -> np.ndarray:
        """Respiratory translation of the heart (heart pixels), shape (T, 2)."""
        w = 2 * np.pi * np.asarray(t, dtype=np.float64) / self.resp_period + self.resp_phase
        return self.resp_amp * np.stack([np.sin(w), 0.6 * np.sin(w + 1.1)], axis=-1)

    def size(self, c):
        p = self.p
        return (p.lv_length * (1 - p.long_shortening * c), p.lv_halfwidth * (1 - (1 - p.width_ratio) * c),
                p.wall * (1 + 0.5 * p.ef_true / 100 * c))

    def pose(self, frames):
        """Per-frame view pose: (T, 2, 2) rotation and (T, 2) shift, base pose plus the probe drift."""
        shift, rot = drift_pose(self.p.nuisance, np.atleast_1d(frames), self.p.fps_file)
        a = np.deg2rad(self.p.rotation_deg + rot)
        c, s = np.cos(a), np.sin(a)
        rot_m = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
        return rot_m, shift + np.array([self.p.shift_x, self.p.shift_y])

    def to_display(self, pts: np.ndarray, frames=None) -> np.ndarray:
        """Heart -> display. ``pts`` (..., 2); with ``frames`` (T,), ``pts`` is (T, ..., 2) and each
        frame gets its own (drifted) pose; without, the base pose (frame 0)."""
        probe = np.array(PROBE)
        if frames is None:
            return probe + self.p.zoom * (pts - probe) @ self.rot.T + np.array([self.p.shift_x, self.p.shift_y])
        rot_m, shift = self.pose(frames)
        pts = np.asarray(pts, dtype=np.float64)
        flat = (pts - probe).reshape(len(rot_m), -1, 2)
        out = probe + self.p.zoom * np.einsum("tkj,tij->tki", flat, rot_m) + shift[:, None, :]
        return out.reshape(pts.shape)

    def to_heart(self, xd: np.ndarray, yd: np.ndarray, frames):
        """Inverse view pose of ``frames`` (T,) on display grids (h, w): two (T, h, w) arrays."""
        rot_m, shift = self.pose(frames)
        x = (xd[None] - PROBE[0] - shift[:, 0, None, None]) / self.p.zoom
        y = (yd[None] - PROBE[1] - shift[:, 1, None, None]) / self.p.zoom
        r = rot_m[:, :, :, None, None]
        return PROBE[0] + r[:, 0, 0] * x + r[:, 1, 0] * y, PROBE[1] + r[:, 0, 1] * x + r[:, 1, 1] * y


def tracing(g: Geometry, frame: int) -> np.ndarray:
    """(21, 4) X1,Y1,X2,Y2 rows in display pixels: long axis, then 20 chords at the disc midpoints."""
    phase = cycle_phase(g.p)[frame]
    c = float(contraction(phase, g.sys_frac))
    length, width, _ = g.size(c)
    origin = g.apex + g.jitter(np.array([frame]))[0]
    s = (np.arange(20) + 0.5) / 20.0
    half = width * profile(s)
    centre = origin + np.outer(s * length, g.d)
    rows = [np.concatenate([origin, origin + length * g.d])]
    left, right = centre - half[:, None] * g.n, centre + half[:, None] * g.n
    out = np.concatenate([np.array(rows), np.concatenate([left, right], axis=1)], axis=0)
    ends = g.to_display(np.stack([out[:, :2], out[:, 2:]])[None], [frame])[0]
    return np.concatenate([ends[0], ends[1]], axis=1)


def _local(g: Geometry, x, y):
    (ax, ay), (d0, d1), (n0, n1) = g.fl_apex, g.fl_d, g.fl_n  # python floats keep float32 arrays float32
    dx, dy = x - ax, y - ay
    return dx * d0 + dy * d1, dx * n0 + dy * n1


def _rv_extent(g: Geometry, u):
    p = g.p
    t = (u - 0.15 * p.lv_length) / (0.78 * p.lv_length)
    tc = np.clip(t, 0.0, 1.0)
    bulge = np.sin(np.pi / 2 * np.minimum(tc / 0.7, 1.0)) * (1.0 - 0.3 * np.maximum(tc - 0.7, 0.0) / 0.3)
    q = np.where((t >= 0) & (t <= 1), bulge, 0.0)
    return p.rv_width * q


def _blur_noise(rng, shape, sigma_x, sigma_y):
    re = cv2.GaussianBlur(rng.standard_normal(shape, dtype=np.float32), (0, 0), sigma_x, sigmaY=sigma_y)
    im = cv2.GaussianBlur(rng.standard_normal(shape, dtype=np.float32), (0, 0), sigma_x, sigmaY=sigma_y)
    amp = np.sqrt(re * re + im * im)
    return amp / amp.mean()


def _lowfreq(rng, shape, sigma, spread):
    """Smooth log-normal modulation; drawn at 1/8 resolution then upsampled (large blurs are slow)."""
    small = (shape[0] // 8, shape[1] // 8)
    f = cv2.GaussianBlur(rng.standard_normal(small, dtype=np.float32), (0, 0), sigma / 8)
    f = cv2.resize(f, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return np.exp(spread * f / (f.std() + 1e-6)).astype(np.float32)


def atria(p: VideoParams) -> tuple[tuple[tuple[float, float], tuple[float, float]], ...]:
    """Left and right atrium at ED as ((u, v) centre, (u, v) semi-axes) in heart pixels along the LV."""
    L, W = p.lv_length, p.lv_halfwidth
    ra_v = -(W * _P_BASE + p.wall + 0.85 * p.rv_width)
    return (((L + 0.255 * L, 0.05 * W), (0.34 * L, 0.8 * W)),
            ((0.93 * L + 0.225 * L, ra_v), (0.3 * L, 0.75 * p.rv_width)))


def tissue_texture(g: Geometry, rng: np.random.Generator) -> np.ndarray:
    """Compressed echo intensity of the heart at ED in texture pixels (MAP_SIZE, MAP_SIZE), float32.

    The LV cavity is exact (the tracings are drawn on it); every other outline is bent by a smooth
    random field so the chambers look organic rather than drawn with a compass.
    """
    p = g.p
    k = (np.arange(MAP_SIZE, dtype=np.float32) + 0.5) / MAP_SCALE + MAP_ORIGIN
    x, y = np.meshgrid(k, k)
    u, v = _local(g, x, y)
    s = MAP_SCALE
    bend = [np.log(_lowfreq(rng, x.shape, 5.0 * s, 1.0)) * 1.6 for _ in range(2)]
    ub, vb = _local(g, x + bend[0], y + bend[1])
    L, W, T = p.lv_length, p.lv_halfwidth, p.wall
    a = W * profile(u / L)
    lv = (u >= 0) & (u <= L) & (np.abs(v) <= a)
    a_sep = W * profile(np.minimum(ub, 0.93 * L) / L) + T
    rv = (vb < 0) & (-vb - a_sep >= 0) & (-vb - a_sep <= _rv_extent(g, ub))
    a1 = W * _P_BASE
    ((la_u, la_v), (la_a, la_b)), ((ra_u, ra_v), (ra_a, ra_b)) = atria(p)
    la = ((ub - la_u) / la_a) ** 2 + ((vb - la_v) / la_b) ** 2 <= 1
    ra = ((ub - ra_u) / ra_a) ** 2 + ((vb - ra_v) / ra_b) ** 2 <= 1
    if p.view != "A4C":  # apical two-chamber-like: the plane misses the right heart
        rv, ra = np.zeros_like(lv), np.zeros_like(lv)

    def dist(mask):
        return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5) / s

    d_lv, d_rv, d_la, d_ra = dist(lv), dist(rv), dist(la), dist(ra)
    blood = lv | rv | la | ra
    wall = T * _lowfreq(rng, x.shape, 6.0 * s, 0.12)
    myo = ((d_lv <= wall) | (d_rv <= 2.6) | (d_la <= 2.0) | (d_ra <= 2.0)) & ~blood
    d_out = dist(blood | myo)
    refl = 0.1 * _lowfreq(rng, x.shape, 8.0 * s, 0.8)              # chest / lung / mediastinum
    peri = 0.55 * _lowfreq(rng, x.shape, 4.0 * s, 0.6)
    refl = np.where((d_out > 0) & (d_out <= 1.6) & (peri > 0.5), peri, refl)  # pericardium, in patches
    if p.texture_seed % 3:  # descending aorta behind the left atrium
        r_ao = np.hypot(ub - 1.62 * L, vb - 0.95 * W)
        refl = np.where(r_ao <= 4.5, np.where(r_ao <= 3.2, p.blood_level, 0.6), refl)
    # real A4C: the fibrous AV plane, the AV-groove fat and the posterior pericardium around the atria
    # are the strongest reflectors of the view, far brighter than the chest wall over the apex
    far = _smooth((ub - 0.9 * L) / (0.2 * L))
    refl = np.where(d_out > 0, refl + FAR_FIELD_LEVEL * far * _lowfreq(rng, x.shape, 4.0 * s, 0.4), refl)
    tissue = 0.4 * _lowfreq(rng, x.shape, 3.0 * s, 0.3)
    tissue = np.where((v < 0) & (d_rv > 2.6), tissue * 1.2, tissue)  # septum reflects more
    tissue = np.where((d_lv > 0) & (d_lv <= 1.0), tissue * 1.2, tissue)  # endocardial border
    refl = np.where(myo, tissue, refl)
    for side in (-1.0, 1.0):  # fibrous mitral annulus
        refl = np.where((u - L) ** 2 + (v - side * (a1 + 0.6)) ** 2 <= 2.2**2, 0.9, refl)
    refl = np.where(blood, p.blood_level, refl).astype(np.float32)
    refl = cv2.GaussianBlur(refl, (0, 0), 0.8 * s)  # finite resolution: no drawn-looking edges
    speck = _blur_noise(rng, x.shape, 1.5 * p.speckle_sigma, 0.8 * p.speckle_sigma)
    img = (refl * speck) ** p.gamma
    return img.astype(np.float32)


def probe_images(g: Geometry, rng: np.random.Generator):
    """Display-space gain (sector, depth attenuation/TGC, dropout, shadow) and additive near-field haze."""
    p = g.p
    k = np.arange(SIZE, dtype=np.float32)
    xd, yd = np.meshgrid(k, k)
    dx, dy = xd - PROBE[0], yd - PROBE[1]
    r = np.hypot(dx, dy)
    theta = np.degrees(np.arctan2(dx, dy))
    half = p.sector_half_angle_deg
    edge = np.clip(half - np.abs(theta), 0, None) * r * np.pi / 180  # lateral distance to the edge
    mask = np.clip(edge, 0, 1) * np.clip(p.sector_depth - r, 0, 1) * (r > 2)
    depth = np.exp(-0.006 * r) * (1.0 + p.tgc_slope * (r - 50)) * (0.8 + 0.2 * np.cos(np.pi / 2 * theta / half))
    gain = p.gain * np.clip(depth, 0.2, 2.0)
    lat = g.to_display((g.apex + 0.55 * p.lv_length * g.d + (p.lv_halfwidth + p.wall / 2) * g.n)[None])[0]
    lat_theta = np.degrees(np.arctan2(lat[0] - PROBE[0], lat[1] - PROBE[1]))
    lat_r = np.hypot(*(lat - np.array(PROBE)))
    if p.dropout > 0:
        band = np.exp(-(((theta - lat_theta - 4) / 7.0) ** 2) - ((r - lat_r) / 18.0) ** 2)
        gain = gain * (1 - p.dropout * band)
    if p.shadow > 0:
        ang = rng.uniform(-half + 5, half - 5)
        band = np.exp(-(((theta - ang) / 4.0) ** 2)) * _smooth((r - 20) / 10)
        gain = gain * (1 - p.shadow * band)
    haze_level = (0.5 if p.poor else 0.3) * (0.4 if p.style == "synthetic" else 1.0)
    haze = haze_level * np.exp(-r / 9.0) * _blur_noise(rng, r.shape, 1.2, 0.6) ** 0.7
    return (gain * mask).astype(np.float32), (haze * mask).astype(np.float32), mask.astype(np.float32)


def warp_maps(g: Geometry, frames: np.ndarray, xd, yd):
    """Backward maps from display to texture pixels for ``frames``, on the (coarse) display grid ``xd, yd``.

    Returns two float32 arrays (len(frames), *xd.shape).
    """
    p = g.p
    xh0, yh0 = (a.astype(np.float32) for a in g.to_heart(xd, yd, frames))
    phase = cycle_phase(p)[frames]
    c = contraction(phase, g.sys_frac).astype(np.float32)[:, None, None]
    jit = g.jitter(frames).astype(np.float32)
    (ax, ay), (d0, d1), (n0, n1) = g.fl_apex, g.fl_d, g.fl_n
    u0, v0 = _local(g, xh0, yh0)
    u = u0 - (jit[:, 0] * d0 + jit[:, 1] * d1)[:, None, None]
    v = v0 - (jit[:, 0] * n0 + jit[:, 1] * n1)[:, None, None]
    L, W, T = g.size(c)
    L0, W0, T0 = p.lv_length, p.lv_halfwidth, p.wall
    s = u / L
    beyond = np.maximum(u - L, 0)
    # apex fixed, LV scaled along its axis. Past the annulus the atria fill while the ventricle empties
    # (real A4C: the AV plane descends towards the apex in systole under a fixed atrial roof): the
    # stretch between annulus and roof maps linearly back onto the reference atria, beyond the roof
    # nothing moves.
    span = ATRIAL_SPAN * L0
    roof = L0 + span
    u_atria = np.where(u < roof, L0 + beyond * (span / (roof - L)), u)
    u_ref = np.where(s <= 1, s * L0, u_atria)
    prof = profile(s)
    a_c, a_r = W * prof, W0 * prof
    b_c = a_c + T
    r = np.abs(v)
    # across the axis: cavity scaled, wall thickened, outside tissue dragged with a decay
    rr = np.where(r < a_c, r * (W0 / W), a_r + (r - a_c) * (T0 / T))
    out = r > b_c
    rr[out] = (r + (a_r + T0 - b_c) * np.exp((b_c - r) * (1 / 12.0)))[out]
    fade = np.exp(beyond * (-1 / 6.0))
    rv = (2.0 * c) * np.sin(np.pi * np.clip((r - b_c) * (1 / (p.rv_width + 5.0)), 0, 1))
    rv *= np.clip(3 * s - 0.6, 0, 1) * (v < 0)
    rr = r + (rr - r + rv) * fade
    v_ref = np.copysign(rr, v)
    # the atria also swell about their own centres as they fill; the tissue around them is pushed aside
    g = min(0.5, ATRIAL_FILLING * p.ef_true / 100.0) * c
    for (uc, vc), (au, av) in atria(p):
        du, dv = (u_ref - uc) * (1 / au), (v_ref - vc) * (1 / av)
        rho = np.sqrt(du * du + dv * dv)
        shrink = 1.0 - g * np.exp(np.maximum(rho - 1.0, 0) * (-1 / 0.6))  # radial map, monotone in rho
        u_ref, v_ref = uc + (u_ref - uc) * shrink, vc + (v_ref - vc) * shrink
    mx = (ax - MAP_ORIGIN) * MAP_SCALE - 0.5 + MAP_SCALE * (u_ref * d0 + v_ref * n0)
    my = (ay - MAP_ORIGIN) * MAP_SCALE - 0.5 + MAP_SCALE * (u_ref * d1 + v_ref * n1)
    return mx, my


def _upsample(m: np.ndarray) -> np.ndarray:
    """(T, h, w) coarse map -> (T*SIZE, SIZE) map by one resize of the stacked frames.

    The stack blends neighbouring frames only in each frame's first and last row, which lie outside
    the sector (masked black), so the shortcut costs nothing visible.
    """
    return cv2.resize(m.reshape(-1, m.shape[-1]), (SIZE, SIZE * m.shape[0]), interpolation=cv2.INTER_LINEAR)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def leaflets(g: Geometry) -> np.ndarray:
    """Mitral and tricuspid leaflet segments in display pixels for every frame, (T, 4, 2, 2).

    Hinged at the annuli; closed they meet across the orifice, bowed slightly towards the apex;
    open they point towards the apex.
    """
    p = g.p
    t = np.arange(p.n_frames)
    phase = cycle_phase(p)
    c, o = contraction(phase, g.sys_frac)[:, None], valve_opening(phase, g.sys_frac)[:, None]
    L, W, T = g.size(c)
    origin = g.apex + g.jitter(t)
    d, n = g.d, g.n
    half = W * _P_BASE
    segs = []
    for side, frac in ((-1.0, 0.95), (1.0, 0.7)):  # anterior (septal) mitral leaflet is the longer one
        hinge = origin + L * d + side * half * n
        direction = _unit((1 - o) * _unit(-side * n - 0.3 * d) + o * _unit(-d + 0.12 * side * n))
        segs.append((hinge, hinge + frac * half * direction))
    sep = -(W * float(profile(np.array(0.93))) + T)
    tricuspid = ((sep, 1.0, 0.5), (sep - p.rv_width, -1.0, 0.55)) if p.view == "A4C" else ()
    for v_h, side, frac in tricuspid:
        hinge = origin + 0.93 * L * d + v_h * n
        direction = _unit((1 - o) * _unit(-side * n - 0.3 * d) + o * _unit(-d - 0.12 * side * n))
        segs.append((hinge, hinge + frac * p.rv_width * direction))
    pts = np.stack([np.stack(sg, axis=1) for sg in segs], axis=1)  # (T, 4, 2, 2)
    return g.to_display(pts, t)


def render_video(p: VideoParams) -> np.ndarray:
    """All frames of one phantom video, (T, 112, 112) uint8."""
    g = Geometry(p)
    rng = np.random.default_rng(p.texture_seed)
    texture = tissue_texture(g, rng)
    gain, haze, mask = probe_images(g, rng)
    k = np.arange(SIZE // 2, dtype=np.float64) * 2 + 0.5  # coarse grid: the warp is smooth
    xd, yd = np.meshgrid(k, k)
    brightness = gain_curve(p.nuisance, p.n_frames, p.fps_file)
    segs = np.round(leaflets(g) * 16).astype(np.int64)  # 4 fractional bits for cv2.line
    # per-frame noise drawn from small banks (cycling every 8/16 frames is invisible under tissue motion)
    bank = np.abs(rng.standard_normal((8, SIZE, SIZE), dtype=np.float32)) * (p.noise * mask) + haze
    fresh = (1.0 + 0.12 * rng.standard_normal((16, SIZE, SIZE), dtype=np.float32)) * gain
    synthetic = p.style == "synthetic"
    leaflet_level = 0.75 ** p.gamma
    out = np.empty((p.n_frames, SIZE, SIZE), np.uint8)
    overlay = np.zeros((SIZE, SIZE), np.uint8)
    for start in range(0, p.n_frames, CHUNK):
        frames = np.arange(start, min(start + CHUNK, p.n_frames))
        mx, my = (_upsample(m) for m in warp_maps(g, frames, xd, yd))
        # reflect, not black, past the texture: only a deep (zoom outlier) view reaches beyond it
        warped = cv2.remap(texture, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        warped = warped.reshape(len(frames), SIZE, SIZE)
        for i, t in enumerate(frames):
            overlay[:] = 0
            for (xa, ya), (xb, yb) in segs[t].tolist():
                cv2.line(overlay, (int(xa), int(ya)), (int(xb), int(yb)), 255, 1, cv2.LINE_AA, 4)
            np.maximum(warped[i], overlay * (leaflet_level / 255.0), out=warped[i])
        if synthetic:  # generated video: no fresh speckle, slightly smoothed, gentle global flicker
            for i in range(len(frames)):
                warped[i] = cv2.GaussianBlur(warped[i], (0, 0), 0.7)
            flick = 1.0 + 0.03 * np.sin(frames * 0.7 + p.texture_seed % 7)[:, None, None]
            img = warped * gain * flick + haze + 0.01 * mask
        else:
            img = warped * fresh[(frames * 7) % 16]  # depth gain and speckle decorrelation
            img += bank[(frames * 5) % 8]  # electronic noise and near-field haze
            img *= brightness[frames, None, None]  # breathing and gain steps act on the received signal
        out[frames] = cv2.convertScaleAbs(img.reshape(-1, SIZE), alpha=255.0).reshape(-1, SIZE, SIZE)
    return out
