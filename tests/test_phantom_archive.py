"""Phantom archive-realism clips: default shares, recorded kinds, each kind visible in the written data,
and an EchoNet-like TEST split."""

from collections import Counter

import numpy as np
import pytest

from infomotion_rt.data.classes import DEFAULT_CLASSES
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.data.phases import disk_volume
from infomotion_rt.data.video import read_frames
from infomotion_rt.errors import ConfigError
from infomotion_rt.phantom.archive import KINDS, ArchiveConfig
from infomotion_rt.phantom.generate import generate
from infomotion_rt.phantom.params import video_params
from infomotion_rt.phantom.render import render_video
from infomotion_rt.phantom.truth import load_truth

SEED = 8
HEAVY = ArchiveConfig(**{name: 0.3 for name in KINDS})  # every kind shows up in a handful of videos


def test_default_shares_are_modest_and_recorded():
    ps = [video_params(1, i) for i in range(2000)]
    counts = Counter(k for p in ps for k in p.nuisance_kinds)
    assert set(counts) == set(KINDS.values())
    archive = np.mean([bool(p.nuisance_kinds) for p in ps])
    problem = np.mean([bool(p.nuisance_kinds) or p.poor for p in ps])
    assert 0.08 < archive < 0.14 and 0.15 < problem < 0.23  # ~10 % new kinds, ~20 % with poor quality
    assert not any(video_params(1, i, "synthetic").nuisance_kinds for i in range(50))
    off = [video_params(1, i, archive=ArchiveConfig.off()) for i in range(200)]
    assert not any(p.nuisance_kinds for p in off) and all(p.view == "A4C" for p in off)
    with pytest.raises(ConfigError, match="wrong_label"):
        ArchiveConfig(wrong_label=1.5)


def test_test_split_is_mostly_normal():
    ps = [video_params(2, i) for i in range(1500)]
    test = Counter(DEFAULT_CLASSES.name(p.ef_label) for p in ps if p.split == "TEST")
    total = sum(test.values())
    assert total > 150 and len(test) == 5
    assert test["Normal"] / total > 0.5 and test.most_common(1)[0][0] == "Normal"


@pytest.fixture(scope="module")
def heavy(tmp_path_factory):
    root = tmp_path_factory.mktemp("arch") / "ph"
    generate(root, 14, seed=SEED, archive=HEAVY, progress=False)
    return root, {v["name"]: v for v in load_truth(root)["videos"]}


def _axis(tracing):
    x1, y1, x2, y2 = tracing[0]
    return np.hypot(x2 - x1, y2 - y1), np.degrees(np.arctan2(x2 - x1, y2 - y1))


def test_kinds_are_recorded_and_visible(heavy):
    root, truth = heavy
    assert load_truth(root)["archive"] == {name: 0.3 for name in KINDS}
    ds = {r.name: r for r in load_dataset(root, check_videos=True, progress=False).records}
    seen = Counter()
    for name, t in truth.items():
        kinds, r = set(t["nuisance_kinds"]), ds[name]
        seen.update(kinds)
        edv, esv = disk_volume(r.tracings[r.ed]), disk_volume(r.tracings[r.es])
        label_off = abs(r.ef - 100 * (edv - esv) / edv)
        if "wrong label" in kinds:
            assert label_off > 14.0
        elif "label noise" in kinds:
            assert 3.0 < label_off < 9.5
        else:
            assert label_off < 3.1
        n = len(read_frames(r.path))
        assert (28 <= n <= 48) == ("very short" in kinds), (name, n, kinds)
        # geometry kinds against the same video drawn without that kind (all other draws equal)
        plain = video_params(SEED, t["index"], archive=ArchiveConfig.off())
        length, angle = _axis(r.tracings[r.ed])
        from infomotion_rt.phantom.render import Geometry, tracing

        length0, angle0 = _axis(tracing(Geometry(plain), plain.ed))
        if "zoom outlier" in kinds:
            assert t["zoom"] < 0.75 or t["zoom"] > 1.25
        if "foreshortened" in kinds and "zoom outlier" not in kinds:
            assert length < 0.85 * length0
        if "off-axis" in kinds:
            assert abs(angle - angle0) > 10.0
        if not kinds & {"zoom outlier", "foreshortened", "off-axis"}:
            assert length == pytest.approx(length0, abs=2e-3)  # the CSV keeps 4 decimals
    assert len(seen) >= 5, seen


def test_other_view_has_no_right_heart():
    p = next(q for q in (video_params(SEED, i, frames=12, archive=HEAVY) for i in range(100))
             if q.view == "A2C" and not q.poor)
    a4c = video_params(SEED, p.index, frames=12, archive=ArchiveConfig(**{**{k: 0.3 for k in KINDS}, "other_view": 0.0}))
    assert a4c.view == "A4C" and "other view" in p.nuisance_kinds
    from infomotion_rt.phantom.render import Geometry

    g = Geometry(a4c)
    rv_centre = g.apex + 0.55 * a4c.lv_length * g.d - (a4c.lv_halfwidth + a4c.wall + 0.5 * a4c.rv_width) * g.n
    x, y = np.round(g.to_display(rv_centre[None], [a4c.ed])[0]).astype(int)
    patch = np.s_[:, y - 2: y + 3, x - 2: x + 3]
    assert render_video(p)[patch].mean() > 2.0 * render_video(a4c)[patch].mean()  # tissue where the RV was
