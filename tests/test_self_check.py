"""select --self-check (issue 16, item 6): the interval, the verdict, the minimum size, the JSON, the CLI."""

from __future__ import annotations

import html
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.data.classes import DEFAULT_CLASSES
from infomotion_rt.errors import ConfigError
from infomotion_rt.extract.featureset import make_feature_set, make_meta
from infomotion_rt.extract.files import write_features
from infomotion_rt.selection import self_check as sc
from infomotion_rt.selection.methods import SelectConfig

pytest.importorskip("sklearn")


def linear_pool(n=1000, dim=12, seed=0, split="TRAIN"):
    """EF a linear function of the first three dimensions plus noise, spread over every DEFAULT_CLASSES class."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    ef = np.clip(55 + 9 * x[:, 0] - 6 * x[:, 1] + 4 * x[:, 2] + rng.normal(0, 3, n), 5, 90)
    return make_feature_set([f"v{i:05d}" for i in range(n)], x, ef, [split] * n, make_meta("test"))


@pytest.fixture(scope="module")
def big_result():
    fs = linear_pool()
    assert len(set(DEFAULT_CLASSES.index(fs.ef).tolist())) == DEFAULT_CLASSES.n   # every class present
    return sc.run_self_check(fs, SelectConfig(vpc=10, method="herding"), 4)


def test_large_pool_answers_with_an_interval_and_a_consistent_verdict(big_result):
    r = big_result
    d = r["difference"]["mae"]
    assert r["n_labelled"] == 1000 and r["n_select"] + r["n_score"] == 1000 and 280 <= r["n_score"] <= 320
    assert len(r["runs"]) == 4 and d["n"] == 4
    assert math.isfinite(d["ci_low"]) and math.isfinite(d["ci_high"]) and d["ci_low"] <= d["mean"] <= d["ci_high"]
    expected = "better" if d["ci_high"] < 0 else "worse" if d["ci_low"] > 0 else "no clear difference"
    assert r["verdict"] == expected
    assert r["sentence"].endswith(f"(95 % paired t): {expected}")
    assert f"{d['ci_low']:+.2f}, {d['ci_high']:+.2f}" in r["sentence"] and "4 seeds" in r["sentence"]
    # a linear read-out of linear EF: far better than the spread of EF itself
    assert r["summary"]["random"]["mae"]["mean"] < 6.0


def test_verdict_never_claims_more_than_the_interval():
    assert sc.verdict({"mean": -1.0, "ci_low": -2.0, "ci_high": -0.1}) == "better"
    assert sc.verdict({"mean": 1.0, "ci_low": 0.1, "ci_high": 2.0}) == "worse"
    assert sc.verdict({"mean": -1.0, "ci_low": -2.0, "ci_high": 0.1}) == "no clear difference"
    assert sc.verdict({"mean": -1.0, "ci_low": math.nan, "ci_high": math.nan, "equal": True}) == "no clear difference"


def test_too_small_gives_no_interval_and_says_so():
    r = sc.run_self_check(linear_pool(100), SelectConfig(vpc=10, method="herding"), 5)
    assert r["verdict"] == "too small to tell" and r["runs"] == [] and r["difference"] is None
    assert "too small to tell" in r["sentence"] and "no interval" in r["sentence"] and "100 labelled" in r["sentence"]
    # between the minimum and 1,000: a class short of VPC in the selection part is too small as well
    why = sc.too_small(np.full(400, 60.0), np.r_[np.full(150, 60.0), np.full(5, 20.0)], 10)
    assert any("Severe" in w and "to select from" in w for w in why) and any("to score" in w for w in why)
    assert sc.too_small(np.full(800, 60.0), np.r_[np.full(150, 60.0), np.full(50, 20.0)], 10) == []   # >= 1,000
    # below the minimum the short classes are listed too, so the sentence names all that is missing
    why = sc.too_small(np.r_[np.full(200, 60.0), np.full(5, 20.0)], np.r_[np.full(80, 60.0), np.full(2, 20.0)], 10)
    assert why[0].startswith("287 labelled videos") and any("Severe" in w for w in why[1:])
    assert "labelled labelled" not in r["sentence"] and "labelled TRAIN videos" in r["sentence"]


def test_split_is_stratified_and_seeded():
    ef = linear_pool(1000).ef
    a, b = sc.split_pool(ef, 3)
    assert np.intersect1d(a, b).size == 0 and a.size + b.size == ef.size
    cls = DEFAULT_CLASSES.index(ef)
    for c in range(DEFAULT_CLASSES.n):
        assert abs((cls[b] == c).sum() - round(0.3 * (cls == c).sum())) == 0
    assert np.array_equal(sc.split_pool(ef, 3)[1], b) and not np.array_equal(sc.split_pool(ef, 4)[1], b)


def test_method_and_random_of_a_seed_select_from_the_same_draw(monkeypatch):
    seen = {}
    real = sc._select

    def spy(fs, cfg):
        seen[(cfg.seed, cfg.method)] = tuple(fs.names.tolist())
        return real(fs, cfg)

    monkeypatch.setattr(sc, "_select", spy)
    r = sc.run_self_check(linear_pool(), SelectConfig(vpc=5, method="kcenter", seed=7), 3)
    assert sorted(seen) == [(s, m) for s in (7, 8, 9) for m in ("kcenter", "random")]
    for s in (7, 8, 9):
        assert seen[(s, "kcenter")] == seen[(s, "random")]
        assert len(seen[(s, "random")]) == round(0.8 * r["n_select"])
    assert seen[(7, "random")] != seen[(8, "random")]                 # pool resampling: another draw per seed
    scoring_part = {f"v{i:05d}" for i in sc.split_pool(linear_pool().ef, 7)[1]}   # names are v<row>
    assert all(not set(names) & scoring_part for names in seen.values())   # never reaches a selection


def test_random_method_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="--self-check .* --method random"):
        sc.run_self_check(linear_pool(), SelectConfig(method="random"), 3)


def test_cli_self_check_writes_the_json_beside_the_csv(tmp_path, big_result):
    feats = write_features(tmp_path / "F.npz", linear_pool())
    out = tmp_path / "sel" / "selection.csv"
    r = CliRunner().invoke(cli, ["select", "--features", str(feats), "--out", str(out), "--method", "herding",
                                 "--self-check", "3"])
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if x.startswith("self-check (3 seeds"))
    assert "on this archive, picks like these give a read-out MAE of" in line
    doc = json.loads((tmp_path / "sel" / "selection.self-check.json").read_text())
    assert doc["sentence"] == line and len(doc["runs"]) == 3 and doc["verdict"] in sc.VERDICTS
    assert doc["selection_csv"] == str(out) and set(doc["definitions"]) >= {"split", "pool_draw", "probe", "minimum"}
    assert len(out.read_text().splitlines()) == 1 + 50          # the selection itself: the full pool, VPC 10 x 5
    again = CliRunner().invoke(cli, ["select", "--features", str(feats), "--out", str(tmp_path / "sel" / "other.csv"),
                                     "--method", "herding", "--self-check", "3"])
    assert again.exit_code == 0, again.output   # another CSV name, another JSON
    refused = CliRunner().invoke(cli, ["select", "--features", str(feats), "--out", str(out), "--method", "random",
                                       "--self-check", "--overwrite"])
    assert refused.exit_code != 0 and isinstance(refused.exception, ConfigError)
    assert "--method random" in str(refused.exception) and "\n" not in str(refused.exception)


def test_report_carries_the_sentence(tmp_path, monkeypatch):
    from infomotion_rt.share import report
    monkeypatch.setattr(report, "class_graph_png", lambda sel, cfg: (None, "not drawn in this test"))
    feats = write_features(tmp_path / "F.npz", linear_pool())
    out, page = tmp_path / "selection.csv", tmp_path / "r.html"
    r = CliRunner().invoke(cli, ["select", "--features", str(feats), "--out", str(out), "--method", "kcenter",
                                 "--self-check", "2", "--report", str(page)])
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "selection.self-check.json").read_text())
    assert html.escape(doc["sentence"]) in page.read_text()


def test_missing_scikit_learn_is_one_line_naming_the_extras(monkeypatch):
    import sys

    from infomotion_rt.errors import DependencyError

    monkeypatch.setitem(sys.modules, "sklearn", None)          # as if not installed
    with pytest.raises(DependencyError, match=r"select --self-check .*scikit-learn.*\[peers\]") as exc:
        sc.check("infomotion")
    assert "\n" not in str(exc.value)
