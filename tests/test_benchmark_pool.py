"""benchmark --instrument cnn|both with paired pool-resampled seeds (issue 16.3): the same draw for every
method of a seed, the probe and the CNN on the same draws, the differences chart (tiny setting, 3 steps)."""

import json

import pytest
from click.testing import CliRunner

pytest.importorskip("sklearn")
pytest.importorskip("torchvision")

from infomotion_rt.selection import methods as select  # noqa: E402
from infomotion_rt.cli import cli  # noqa: E402
from infomotion_rt.data.loader import load_dataset  # noqa: E402
from infomotion_rt.errors import ConfigError  # noqa: E402
from infomotion_rt.evaluate.probe_benchmark import draw_digest  # noqa: E402
from infomotion_rt.selection.readout import pool_draw

TINY = ["--setting", "tiny", "--steps", "3", "--threads", "1"]
PNG = b"\x89PNG\r\n\x1a\n"


def _spy(monkeypatch):
    seen = {}
    real = select.select_features

    def spy(fs, cfg, *a, **k):
        seen[(cfg.method, cfg.vpc, cfg.seed)] = sorted(fs.names.tolist())
        return real(fs, cfg, *a, **k)

    monkeypatch.setattr(select, "select_features", spy)
    return seen


def test_cnn_pool_resampled_same_draw_for_every_method_and_chart(tiny_probe_inputs, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    data, feats = tiny_probe_inputs
    seen = _spy(monkeypatch)
    out = tmp_path / "c"
    res = CliRunner().invoke(cli, ["benchmark", str(data), "--pool-share", "0.8", "--seeds", "2", "--vpc", "1",
                                   "--methods", "random,infomotion,kmeans", "--features", str(feats),
                                   "--out", str(out), *TINY])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "CNN benchmark: 2 seeds x 1 VPC x 3 methods" in res.output and "infomotion − random" in res.output
    train = [r.name for r in load_dataset(data, progress=False).split("TRAIN")]
    for s in (0, 1):   # one draw per seed, the same for every method, and exactly pool_draw's
        assert seen[("random", 1, s)] == seen[("infomotion", 1, s)] == seen[("kmeans", 1, s)] \
            == pool_draw(s, 0.8, train)
    assert seen[("random", 1, 0)] != seen[("random", 1, 1)]
    r = json.loads((out / "results.json").read_text())
    assert r["instrument"] == "cnn" and r["seeds"] == [0, 1] and r["pool_share"] == 0.8
    assert r["weights"] == "class-prior" and r["setting_name"] == "tiny"
    assert r["draws"]["0"] == {"n": len(seen[("random", 1, 0)]), "sha256_16": draw_digest(seen[("random", 1, 0)])}
    cell = r["cells"]["cnn"]["1"]
    assert cell["best_peer"] == "kmeans"
    info = cell["methods"]["infomotion"]
    assert [x["seed"] for x in info["runs"]] == [0, 1] and all(x["weighted"] for x in info["runs"])
    assert all(x["steps"] == 3 and x["n_draw"] == r["n_draw"] for x in info["runs"])
    assert info["vs_random"]["mae"]["n"] == 2 and "ci_low" in info["vs_best_peer"]["mae"]
    assert {"mae", "r2", "acc", "soft_acc", "bal_acc"} <= set(info["summary"])
    assert "vs_random" not in cell["methods"]["random"] and "vs_best_peer" not in cell["methods"]["kmeans"]
    assert set(r["references"]) == {"mean_ef", "majority_class"}
    assert (out / "selections" / "infomotion_vpc1_seed1.csv").is_file()
    md = (out / "table_cnn.md").read_text()
    assert md.startswith("# CNN benchmark of") and "## cnn, VPC = 1 (best peer: kmeans)" in md and "Mean EF" in md
    png = out / "differences.png"
    assert r["outputs"]["plot"] == str(png) and png.read_bytes()[:8] == PNG and png.stat().st_size > 5000
    assert not list(out.glob(".differences.png.*"))   # written atomically: no temporary left


def test_both_runs_probe_and_cnn_on_the_same_draws(tiny_probe_inputs, tmp_path):
    pytest.importorskip("matplotlib")
    data, feats = tiny_probe_inputs
    out = tmp_path / "b"
    res = CliRunner().invoke(cli, ["benchmark", str(data), "--instrument", "both", "--seeds", "2", "--vpc", "1",
                                   "--methods", "random,infomotion", "--features", str(feats),
                                   "--no-weights", "--out", str(out), *TINY])
    assert res.exit_code == 0, res.output + repr(res.exception)
    cnn = json.loads((out / "results.json").read_text())
    probe = json.loads((out / "probe" / "results.json").read_text())
    assert cnn["instrument"] == "cnn" and probe["instrument"] == "probe"
    assert cnn["seeds"] == probe["seeds"] == [0, 1] and cnn["draws"] == probe["draws"]
    assert cnn["n_pool"] == probe["n_pool"] and cnn["weights"] == probe["weights"] == "off (--no-weights)"
    assert cnn["cells"]["cnn"]["1"]["best_peer"] is None   # no peer ran: differences against Random only
    for d in (out, out / "probe"):
        assert (d / "differences.png").read_bytes()[:8] == PNG


def test_fixed_pool_options_refused_in_the_resampled_protocol(tiny_probe_inputs):
    data, feats = tiny_probe_inputs
    for extra in (["--synthetic", str(data)], ["--whole-runs", "1"]):
        res = CliRunner().invoke(cli, ["benchmark", str(data), "--seeds", "2", "--features", str(feats), *extra])
        assert isinstance(res.exception, ConfigError) and "fixed-pool CNN benchmark only" in str(res.exception)
