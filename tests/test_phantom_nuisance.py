"""Phantom acquisition nuisances: recorded in the truth file, visible in the video, knobs independent,
and the ED/ES detector still puts ED and ES in the right phase on a small nuisance phantom."""

import numpy as np
import pytest

from infomotion_rt.data.phases import detect_ed_es
from infomotion_rt.data.video import read_frames
from infomotion_rt.errors import ConfigError
from infomotion_rt.phantom.generate import generate
from infomotion_rt.phantom.nuisance import NuisanceConfig, frame_phase
from infomotion_rt.phantom.params import video_params
from infomotion_rt.phantom.render import SIZE, Geometry, render_video
from infomotion_rt.phantom.truth import load_truth

SEED = 21


@pytest.fixture(scope="module")
def nuisance_phantom(tmp_path_factory):
    root = tmp_path_factory.mktemp("nz") / "ph"
    generate(root, 16, seed=SEED, progress=False)
    return root, load_truth(root)


def test_nuisances_are_recorded(nuisance_phantom):
    root, truth = nuisance_phantom
    assert truth["nuisance"] == {"drift": 1.0, "breathing_gain": 1.0, "gain_steps": 1.0, "rr_variability": 1.0,
                                 "breathing_motion": 1.0}
    for v in truth["videos"]:
        nz = v["nuisance"]
        onsets, systoles = nz["beat_onsets"], nz["beat_systoles"]
        assert v["ed"] in onsets and onsets[0] <= 0 and onsets[-1] >= v["n_frames"]
        assert systoles[onsets.index(v["ed"])] == v["n_systole"] == v["es"] - v["ed"]  # traced beat is exact
        assert all(0 < s < b - a for s, a, b in zip(systoles, onsets, onsets[1:]))
        assert all(5 <= f < v["n_frames"] - 5 and 0.08 <= abs(d) <= 0.25 for f, d in nz["gain_steps"])
        assert 3 <= nz["breath_period_s"] <= 5 and 0.03 <= nz["breath_gain"] <= 0.10
    # realistic strengths, not extremes: some clips have steps, some AF-like beats are possible
    assert any(v["nuisance"]["gain_steps"] for v in truth["videos"])
    assert any(v["nuisance"]["gain_steps"] == [] for v in truth["videos"])
    lengths = np.diff(truth["videos"][0]["nuisance"]["beat_onsets"])
    assert lengths.std() > 0  # beats differ in length


def test_knobs_are_independent_and_off_is_clean():
    base = video_params(SEED, 3)
    no_steps = video_params(SEED, 3, nuisance=NuisanceConfig(gain_steps=0.0))
    assert no_steps.nuisance.gain_steps == ()
    assert no_steps.nuisance.beat_onsets == base.nuisance.beat_onsets
    assert no_steps.nuisance.drift_px_per_s == base.nuisance.drift_px_per_s
    clean = video_params(SEED, 3, nuisance=NuisanceConfig.off())
    assert (clean.ed, clean.es, clean.ef_true, clean.n_frames) == (base.ed, base.es, base.ef_true, base.n_frames)
    assert np.allclose(np.diff(clean.nuisance.beat_onsets), clean.period)
    assert clean.nuisance.drift_px_per_s == (0.0, 0.0) and clean.nuisance.breath_gain == 0.0
    with pytest.raises(ConfigError, match="drift"):
        NuisanceConfig(drift=-1.0)


def _with_step(index_range=range(200)):
    for i in index_range:
        p = video_params(SEED, i, frames=40)
        if len(p.nuisance.gain_steps) == 1 and abs(p.nuisance.gain_steps[0][1]) > 0.12 and not p.poor:
            return i, p
    raise AssertionError("no video with one large gain step")


def test_gain_step_is_visible_at_the_recorded_frame():
    i, p = _with_step()
    (frame, size), = p.nuisance.gain_steps
    stepped = render_video(p).astype(np.float64)
    flat = render_video(video_params(SEED, i, frames=40, nuisance=NuisanceConfig(gain_steps=0.0))).astype(np.float64)
    ratio = stepped.mean(axis=(1, 2)) / flat.mean(axis=(1, 2))
    assert np.allclose(ratio[:frame], 1.0, atol=0.01)
    assert np.median(ratio[frame:]) == pytest.approx(np.exp(size), rel=0.03)


def _lv_shift(p, last):
    g = Geometry(p)
    centre = g.apex + 0.5 * p.lv_length * g.d
    return g.to_display(centre[None, None], [last])[0, 0] - g.to_display(centre[None, None], [0])[0, 0]


def test_probe_drift_moves_the_heart_by_the_recorded_amount():
    import cv2

    frames = 120
    p = next(q for q in (video_params(SEED, i, frames=frames) for i in range(100))
             if np.hypot(*_lv_shift(q, frames - 1)) > 2.0 and not q.poor)
    still = video_params(SEED, p.index, frames=frames, nuisance=NuisanceConfig(drift=0.0))
    last = frames - 1
    crop = (slice(40, 100), slice(30, 82))  # inside the sector: its fixed edges would pull towards 0
    a, b = (render_video(q)[last][crop].astype(np.float32) for q in (p, still))
    window = cv2.createHanningWindow(a.shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(b, a, window)
    expected = _lv_shift(p, last)
    assert np.hypot(dx - expected[0], dy - expected[1]) < 0.8, ((dx, dy), expected)


def test_irregular_beats_pass_ed_and_es_at_the_recorded_times():
    p = video_params(SEED, 0)
    sf = p.n_systole / p.period
    phase = frame_phase(p.nuisance.beat_onsets, p.nuisance.beat_systoles, sf, p.n_frames)
    onsets = np.array(p.nuisance.beat_onsets)
    inside = onsets[(onsets >= 1) & (onsets < p.n_frames - 1)]
    for t in inside:  # phase wraps 1 -> 0 at every recorded ED
        k = int(np.ceil(t))
        assert phase[k] < phase[k - 1]
    assert phase[p.ed] == 0.0 and phase[p.es] == pytest.approx(sf)
    assert SIZE == 112


def test_detector_phase_correct_on_a_small_nuisance_phantom(nuisance_phantom):
    root, truth = nuisance_phantom
    ok = []
    for v in truth["videos"]:
        ed, es = detect_ed_es(read_frames(root / "Videos" / f"{v['name']}.avi"), fps=v["fps_file"])
        onsets = np.array(v["nuisance"]["beat_onsets"])
        ends = onsets + np.array(v["nuisance"]["beat_systoles"])
        phase_ok = np.abs(ed - onsets).min() < np.abs(ed - ends).min() and \
            np.abs(es - ends).min() < np.abs(es - onsets).min()
        ok.append(bool(phase_ok))
    assert np.mean(ok) >= 0.9, ok


def test_phantom_is_brightest_at_ed_like_real_echo():
    """Real apical clips are brightest at ED: the atria fill in systole inside the view's brightest
    reflectors (BENCHMARKS.md, ED/ES on real echo). The phantom must show it, or a detector oriented by
    "a large pool is dark" passes here and is upside down on real echo."""
    from infomotion_rt.data.cycle_detect import SLOW_CUTOFF_HZ, detrend, slow_basis, work_frames
    from infomotion_rt.phantom.render import contraction, cycle_phase

    r = []
    for i in range(8):
        p = video_params(SEED, i, frames=64)
        x = work_frames(render_video(p)).astype(np.float64)
        basis = slow_basis(len(x), p.fps_file, SLOW_CUTOFF_HZ)
        flat = detrend(x, basis)
        moving = flat[:, flat.std(axis=0) >= np.quantile(flat.std(axis=0), 0.75)]
        volume = -contraction(cycle_phase(p), p.n_systole / p.period)
        r.append(np.corrcoef(moving.mean(axis=1), detrend(volume, basis))[0, 1])
    assert sum(c > 0.3 for c in r) >= 6, np.round(r, 2)  # before the atria filled: 0 of 8
