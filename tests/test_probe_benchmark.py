"""benchmark --instrument probe (issue 16.3): the pool draw, the run end to end on a tiny phantom, a missing peer."""

import json

import pytest
from click.testing import CliRunner

pytest.importorskip("sklearn")

from infomotion_rt.selection import methods as select  # noqa: E402
from infomotion_rt.cli import cli  # noqa: E402
from infomotion_rt.errors import ConfigError, DependencyError  # noqa: E402
from infomotion_rt.selection.readout import pool_draw  # noqa: E402


def test_pool_draw_same_for_every_caller_differs_across_seeds_and_respects_the_share():
    names = [f"v{i:03d}" for i in range(200)]
    a = pool_draw(3, 0.8, names)
    assert a == pool_draw(3, 0.8, list(reversed(names)))          # a function of the set: every method sees it
    assert len(a) == 160 and set(a) <= set(names) and a == sorted(a)
    assert a != pool_draw(4, 0.8, names)                            # another seed, another draw
    assert len(pool_draw(0, 0.25, names)) == 50
    assert pool_draw(9, 1.0, names) == sorted(names)                # 1.0: the fixed pool
    for bad in (0.0, 1.5):
        with pytest.raises(ConfigError, match="--pool-share must be in"):
            pool_draw(0, bad, names)


def test_probe_benchmark_end_to_end(tiny_probe_inputs, tmp_path, monkeypatch):
    data, feats = tiny_probe_inputs
    seen = {}
    real = select.select_features

    def spy(fs, cfg, *a, **k):
        seen[(cfg.method, cfg.vpc, cfg.seed)] = sorted(fs.names.tolist())
        return real(fs, cfg, *a, **k)

    monkeypatch.setattr(select, "select_features", spy)
    out = tmp_path / "b"
    res = CliRunner().invoke(cli, ["benchmark", str(data), "--instrument", "probe", "--features", str(feats),
                                   "--seeds", "3", "--vpc", "2", "--methods", "random,infomotion,kmeans",
                                   "--pool-share", "0.8", "--threads", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "probe benchmark: 3 seeds x 1 VPC x 3 methods" in res.output and "infomotion − random" in res.output
    for s in range(3):   # the same pool draw for every method of a seed, another one per seed
        assert seen[("random", 2, s)] == seen[("infomotion", 2, s)] == seen[("kmeans", 2, s)]
    assert seen[("random", 2, 0)] != seen[("random", 2, 1)]
    r = json.loads((out / "results.json").read_text())
    assert r["instrument"] == "probe" and r["seeds"] == [0, 1, 2] and r["pool_share"] == 0.8
    assert r["n_draw"] == round(0.8 * r["n_pool"]) and r["weights"] == "class-prior"
    for rep in ("motion", "pixels"):
        cell = r["cells"][rep]["2"]
        assert cell["best_peer"] == "kmeans"                          # the only peer here
        info = cell["methods"]["infomotion"]
        assert {"mae", "r2", "acc", "bal_acc"} <= set(info["summary"]) and len(info["runs"]) == 3
        assert {"mae", "r2", "acc", "bal_acc"} <= set(info["vs_random"]) and info["vs_random"]["mae"]["n"] == 3
        assert "ci_low" in info["vs_best_peer"]["mae"] and "vs_best_peer" not in cell["methods"]["kmeans"]
        assert "vs_random" not in cell["methods"]["random"] and "vs_best_peer" in cell["methods"]["random"]
        assert {"mae", "r2", "acc", "bal_acc"} <= set(r["whole_pool"][rep])
    assert set(r["references"]) == {"mean_ef", "majority_class"}
    md = (out / "table_probe.md").read_text()
    assert "## pixels, VPC = 2 (best peer: kmeans)" in md and "ceiling" in md and "Mean EF" in md
    if r["outputs"].get("plot"):   # the differences chart (needs matplotlib), named in results.json
        assert (out / "differences.png").read_bytes()[:4] == b"\x89PNG" and r["outputs"]["plot"].endswith("differences.png")
    assert set(r["draws"]) == {"0", "1", "2"} and r["draws"]["0"]["n"] == r["n_draw"]
    res = CliRunner().invoke(cli, ["benchmark", str(data), "--instrument", "probe", "--features", str(feats),
                                   "--seeds", "2", "--vpc", "2", "--methods", "random,kmeans", "--no-weights",
                                   "--pool-share", "1.0", "--out", str(out), "--overwrite"])
    assert res.exit_code == 0, res.output
    r = json.loads((out / "results.json").read_text())
    assert r["weights"].startswith("off") and r["n_draw"] == r["n_pool"]


def test_missing_peer_is_skipped_with_one_line(tiny_probe_inputs, tmp_path, monkeypatch):
    data, feats = tiny_probe_inputs

    def absent(method):
        raise DependencyError(f"select --method {method} needs scikit-activeml (the [peers] extra)")

    monkeypatch.setattr(select, "_skactiveml_pool", absent)
    res = CliRunner().invoke(cli, ["benchmark", str(data), "--instrument", "probe", "--features", str(feats),
                                   "--seeds", "2", "--vpc", "2", "--methods", "random,typiclust",
                                   "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert res.output.count("skipping typiclust:") == 1
    r = json.loads((tmp_path / "b" / "results.json").read_text())
    assert r["methods"] == ["random"] and "typiclust" in r["skipped"]


def test_probe_needs_features(tiny_probe_inputs):
    data, feats = tiny_probe_inputs
    res = CliRunner().invoke(cli, ["benchmark", str(data), "--instrument", "probe"])
    assert isinstance(res.exception, ConfigError) and "needs --features" in str(res.exception)


def test_benchmark_and_relabel_do_not_replace_results_silently(tmp_path):
    """An earlier run's results are an error unless --overwrite (checked before any work)."""
    (tmp_path / "b" / "probe").mkdir(parents=True)
    (tmp_path / "b" / "probe" / "results.json").write_text("{}")
    res = CliRunner().invoke(cli, ["benchmark", str(tmp_path / "data"), "--instrument", "both", "--out",
                                   str(tmp_path / "b")])
    assert res.exit_code != 0 and "probe/results.json: exists; pass --overwrite" in str(res.exception)
    (tmp_path / "rel.csv").write_text("FileName,EF\n")
    res = CliRunner().invoke(cli, ["relabel", str(tmp_path / "data"), "--model", str(tmp_path / "m.pt"), "--out",
                                   str(tmp_path / "rel.csv")])
    assert res.exit_code != 0 and "rel.csv: exists; pass --overwrite" in str(res.exception)
    res = CliRunner().invoke(cli, ["relabel", str(tmp_path / "data"), "--model", str(tmp_path / "m.pt"), "--out",
                                   str(tmp_path / "rel.csv"), "--overwrite"])
    assert "exists" not in str(res.exception)     # past the check (then the missing model stops it)
