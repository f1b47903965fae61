"""phases.py: ED/ES from tracings, frame pairs (all placement rules), ED/ES detection from frames."""

import numpy as np
import pytest

from echo_fixtures import ellipse_frames, tracing_rows
from infomotion_rt.data.phases import FramePairs, detect_ed_es, disk_volume, ed_es_from_tracings, frame_pairs
from infomotion_rt.errors import DataError, VideoError


def _tracing(long_axis, diameter):
    return np.array([row[1:5] for row in tracing_rows("v.avi", 0, long_axis, diameter)], dtype=float)


def test_disk_volume_of_a_cylinder():
    assert disk_volume(_tracing(40.0, 10.0)) == pytest.approx(np.pi / 4 * 100 * 40)


def test_ed_es_by_volume_not_by_order():
    small, large = _tracing(40.0, 14.0), _tracing(40.0, 20.0)
    for tracings in ({30: small, 12: large}, {12: large, 30: small}):
        ed, es, edv, esv = ed_es_from_tracings(tracings)
        assert (ed, es) == (12, 30)
        assert edv == pytest.approx(disk_volume(large)) and esv == pytest.approx(disk_volume(small))
        assert 100 * (edv - esv) / edv == pytest.approx(51.0)


def test_ed_es_from_tracings_bad_input():
    with pytest.raises(DataError, match="two traced frames"):
        ed_es_from_tracings({3: _tracing(40, 10)})
    with pytest.raises(DataError, match="21 rows"):
        ed_es_from_tracings({3: _tracing(40, 10), 9: _tracing(40, 12)[:20]})
    with pytest.raises(DataError, match="larger ED"):
        ed_es_from_tracings({3: _tracing(40, 10), 9: _tracing(40, 10)})


def test_frame_pairs_systole_traced():
    fp = frame_pairs(10, 20, 100)  # systole 10 frames -> diastole 20 -> next ED at 40
    assert isinstance(fp, FramePairs)
    assert fp.pairs == ((10, 15, 20), (20, 30, 40)) and fp.rule == "next"
    assert fp.indices == (10, 15, 20, 30, 40)


def test_frame_pairs_diastole_traced():
    fp = frame_pairs(40, 20, 100)  # ES 20 -> ED 40 is diastole (20 frames) -> systole 10 -> next ES at 50
    assert fp.pairs == ((40, 30, 20), (40, 45, 50)) and fp.rule == "next"


def test_frame_pairs_mirrored_before_when_next_is_past_the_end():
    fp = frame_pairs(30, 40, 50)   # next ED would be 60 >= 50 -> previous ES at 30 - 20 = 10
    assert fp.pairs[1] == (10, 20, 30) and fp.rule == "previous"
    fp = frame_pairs(45, 25, 50)   # next ES would be 55 -> previous ED at 25 - 10 = 15
    assert fp.pairs[1] == (15, 20, 25) and fp.rule == "previous"


def test_frame_pairs_clamped_inside_the_video():
    fp = frame_pairs(5, 20, 30)    # next ED 50 > 29, previous ES -25 < 0: forward keeps 9 frames, back 5
    assert fp.pairs[1] == (20, 25, 29) and fp.rule == "clamped"
    fp = frame_pairs(12, 24, 26)   # forward keeps 1 frame, backward 12: clamp to start at 0
    assert fp.pairs[1] == (0, 6, 12) and fp.rule == "clamped"
    assert all(0 <= i < 26 for i in fp.indices)


def test_frame_pairs_midpoint_rounds_half_up():
    assert frame_pairs(10, 13, 100).pairs[0] == (10, 12, 13)
    assert frame_pairs(13, 10, 100).pairs[0] == (13, 12, 10)


def test_frame_pairs_bad_input():
    with pytest.raises(DataError, match="outside"):
        frame_pairs(5, 40, 30)
    with pytest.raises(DataError, match="same frame"):
        frame_pairs(5, 5, 30)


def _phase_error(found, true0, period):
    d = (found - true0) % period
    return min(d, period - d)


@pytest.mark.parametrize("period,n,ed0,systole", [(18, 40, 3, 1 / 3), (25, 60, 10, 1 / 3), (12, 30, 0, 0.4),
                                                  (30, 100, 20, 0.35)])
def test_detect_ed_es_on_a_beating_ellipse(period, n, ed0, systole):
    frames = ellipse_frames(n, size=48, period=period, ed0=ed0, systole=systole)
    ed, es = detect_ed_es(frames)
    assert _phase_error(ed, ed0, period) <= 1.5
    assert _phase_error(es, ed0 + systole * period, period) <= 1.5
    assert 0 < (es - ed) % period <= period / 2  # ES follows ED by the short (systolic) gap


def test_detect_ed_es_without_timing_cue_uses_brightness():
    frames = ellipse_frames(48, size=48, period=16, ed0=5, systole=0.5)  # symmetric cycle: brightest at ED
    ed, es = detect_ed_es(frames)
    assert _phase_error(ed, 5, 16) <= 1.5 and _phase_error(es, 13, 16) <= 1.5


def test_detect_ed_es_shorter_than_a_cycle():
    frames = ellipse_frames(14, size=32, period=30, ed0=3)
    ed, es = detect_ed_es(frames)
    assert abs(ed - 3) <= 1 and abs(es - 13) <= 1


def test_detect_ed_es_rejects_still_or_tiny_input():
    with pytest.raises(VideoError, match="do not change"):
        detect_ed_es(np.full((20, 32, 32), 90, np.uint8))
    with pytest.raises(VideoError, match="at least 3"):
        detect_ed_es(np.zeros((2, 8, 8), np.uint8))


def test_real_clip_truth_reads_the_painted_lv_area():
    """benchmarks/bench_ed_es_real.py's truth rule on a generated side-by-side clip (no real pixels)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_ed_es_real import lv_area_truth, score_beat

    n, period = 120, 40
    radius = 14 + 6 * np.cos(2 * np.pi * (np.arange(n) - 10) / period)  # ED at 10, 50, 90; ES at 30, 70, 110
    clips = np.zeros((n, 64, 128, 3), np.uint8)
    yy, xx = np.mgrid[:64, :64]
    for t, r in enumerate(radius):
        painted = (yy - 32) ** 2 + (xx - 32) ** 2 <= r * r
        clips[t, :, 64:][painted] = (200, 120, 90)      # BGR: blue - max(red, green) = 80 > 60
        clips[t, :, 64:][~painted] = (90, 90, 90)       # grey: not LV
    area, ed, es = lv_area_truth(clips)
    assert area.shape == (n,) and area.max() > area.min()
    assert ed.tolist() == [10, 50, 90] and es.tolist() == [30, 70, 110]
    s = score_beat(52, 71, ed, es)
    assert (s["ed_err"], s["es_err"], s["phase_ok"], s["within3"]) == (2, 1, True, True)
    assert s["ratio"] == pytest.approx(19 / 20)
    assert not score_beat(30, 50, ed, es)["phase_ok"]  # upside down
