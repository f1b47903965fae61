"""The low-budget peers (TypiClust, ProbCover, MaxHerding; scikit-activeml, the [peers] extra) on planted data."""

import subprocess
import sys

import numpy as np
import pytest

from infomotion_rt.errors import ConfigError, DependencyError
from infomotion_rt.selection import methods as sel
from infomotion_rt.selection.metric import RAW
from test_select import class_features

pytest.importorskip("skactiveml")
CFG = sel.SelectConfig(vpc=5)


def planted(sizes=(30, 30, 30, 30, 30), dim=4, spread=1.0, gap=40.0, seed=0):
    """Well-separated Gaussian clusters; returns (x (n, dim) float64, cluster label (n,))."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), dim)) * gap
    lab = np.repeat(np.arange(len(sizes)), sizes)
    return centres[lab] + spread * rng.normal(size=(len(lab), dim)), lab


def test_peers_are_in_the_registry():
    assert set(sel.PEER_METHODS) <= set(sel.METHODS)
    assert all(sel.METHODS[m].__name__ == f"pick_{m}" for m in sel.PEER_METHODS)


def test_typiclust_takes_the_most_typical_point_of_each_cluster():
    x, lab = planted()
    pick = sel.METHODS["typiclust"](x, 5, CFG, np.random.default_rng(0))
    assert sorted(lab[pick.indices].tolist()) == [0, 1, 2, 3, 4]
    for i in pick.indices:  # typicality by hand: 1 / mean distance to the 20 nearest in its cluster
        members = np.flatnonzero(lab == lab[i])
        d = np.sqrt(((x[members, None] - x[None, members]) ** 2).sum(-1))
        typ = 20 / np.sort(d, axis=1)[:, :21].sum(1)  # the point itself (distance 0) included, as the paper
        assert i == members[typ.argmax()]
    assert np.all(pick.centrality > 0) and np.all(pick.community == -1)


def test_probcover_covers_separated_clusters_one_pick_each():
    x, lab = planted()
    pick = sel.METHODS["probcover"](x, 5, CFG, np.random.default_rng(0))
    assert sorted(lab[pick.indices].tolist()) == [0, 1, 2, 3, 4]
    r = sel.knn_radius(x)
    # the radius: the median distance to the 10th other vector, inside a cluster (far below the gap)
    d = np.sort(np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1)), axis=1)[:, 10]
    assert r == pytest.approx(np.median(d), rel=1e-5) and r < 5
    # centrality: newly covered videos, decreasing along the greedy order
    assert pick.centrality[0] > 1 and np.all(np.diff(pick.centrality) <= 0)


def test_maxherding_spreads_picks_over_clusters():
    x, lab = planted(sizes=(60, 10, 10, 10, 10))
    pick = sel.METHODS["maxherding"](x, 5, CFG, np.random.default_rng(0))
    assert sorted(lab[pick.indices].tolist()) == [0, 1, 2, 3, 4]  # not five from the big cluster
    assert pick.indices[0] in np.flatnonzero(lab == 0)              # the largest gain first


@pytest.mark.parametrize("method", sel.PEER_METHODS)
def test_peers_end_to_end_spread_over_planted_clusters(method):
    # 20 per planted cluster: the 10th neighbour (the peers' radius) lies inside a cluster
    fs = class_features(per_class=(120, 120, 120, 12, 3), clusters=6)
    res = sel.select_features(fs, sel.SelectConfig(vpc=6, method=method, seed=3, metric=RAW))
    counts = {c: sum(r["class"] == c for r in res.rows) for c in ("Severe", "Moderate", "Mild", "Normal", "Hyperdynamic")}
    assert counts == {"Severe": 6, "Moderate": 6, "Mild": 6, "Normal": 6, "Hyperdynamic": 3}
    for cname in ("Severe", "Moderate", "Mild"):
        clusters = {int(r["FileName"].split("_")[1]) % 6 for r in res.rows if r["class"] == cname}
        assert len(clusters) >= 5, (cname, clusters)   # planted clusters: name index mod 6
    assert {r["method"] for r in res.rows} == {method}
    assert "class Hyperdynamic: only 3 videos < VPC 6, all 3 selected" in res.notes


@pytest.mark.parametrize("method", sel.PEER_METHODS)
def test_identical_vectors_give_distinct_picks(method):
    pick = sel.METHODS[method](np.ones((12, 4)), 5, CFG, np.random.default_rng(0))
    assert len(set(pick.indices.tolist())) == 5


def test_class_size_limit_is_one_line(monkeypatch):
    monkeypatch.setattr(sel, "PEER_MAX_CLASS", 30)
    fs = class_features(per_class=(20, 40, 10, 0, 0))
    with pytest.raises(ConfigError) as err:
        sel.select_features(fs, sel.SelectConfig(vpc=3, method="probcover"))
    msg = str(err.value)
    assert "\n" not in msg and "class Moderate has 40 videos, above the 30 per class" in msg
    assert msg.startswith("--method probcover:") and "--method infomotion" in msg
    with pytest.raises(ConfigError, match="a class of 40 videos, above the 30"):
        sel.METHODS["maxherding"](np.zeros((40, 2)), 3, CFG, np.random.default_rng(0))
    sel.select_features(fs, sel.SelectConfig(vpc=3, method="kcenter"))  # the other methods have no limit


def test_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "skactiveml", None)
    monkeypatch.setitem(sys.modules, "skactiveml.pool", None)
    x, _ = planted()
    for method in sel.PEER_METHODS:
        with pytest.raises(DependencyError) as err:
            sel.METHODS[method](x, 5, CFG, np.random.default_rng(0))
        msg = str(err.value)
        assert "\n" not in msg and f"select --method {method} needs the 'skactiveml.pool' package" in msg
        assert "[peers] extra" in msg


def test_peers_never_load_torch():
    """skactiveml imports torch (and skorch) when present for its deep models; the selection runtime must not."""
    script = ("import sys, numpy as np\n"
              "from infomotion_rt.selection import methods as sel\n"
              "x = np.random.default_rng(0).normal(size=(50, 4))\n"
              "for m in sel.PEER_METHODS: sel.METHODS[m](x, 3, sel.SelectConfig(vpc=3), np.random.default_rng(0))\n"
              "assert 'skactiveml.pool' in sys.modules\n"
              "print('TORCH', sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'skorch')))\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "TORCH []" in r.stdout
