"""The demo (issue 16.7): summary.md's first line is computed from the results, and the whole pipeline runs
end to end on a tiny phantom."""

import math

import pytest

from infomotion_rt.errors import ConfigError
from infomotion_rt.evaluate.demo import DemoConfig, cnn_lines, finding_line, run_demo, verdict_words


def _d(mean, lo, hi):
    return {"mean": mean, "std": 0.1, "n": 30, "ci_low": lo, "ci_high": hi}


def _method(mae, vs_random=None, vs_peer=None):
    s = {k: {"mean": v, "std": 0.1, "n": 30} for k, v in (("mae", mae), ("r2", 0.1), ("acc", 0.5), ("bal_acc", 0.3))}
    m = {"summary": s, "runs": [{"seed": 0, "n_picks": 50}]}
    if vs_random:
        m["vs_random"] = {"mae": vs_random}
    if vs_peer:
        m["vs_best_peer"] = {"mae": vs_peer}
    return m


def _probe(motion_diff, pixel_diff, peer_diff):
    cells = {}
    for rep, d, info_mae in (("motion", motion_diff, 6.0), ("pixels", pixel_diff, 8.0)):
        cells[rep] = {"10": {"best_peer": "probcover", "methods": {
            "random": _method(info_mae - d["mean"]),
            "infomotion": _method(info_mae, d, peer_diff),
            "probcover": _method(info_mae - peer_diff["mean"], vs_random=_d(0.0, -0.1, 0.1))}}}
    return {"cells": cells, "seeds": list(range(30))}


def test_first_line_says_better_only_when_the_interval_is_below_zero():
    probe = _probe(_d(-0.40, -0.62, -0.18), _d(-0.10, -0.35, 0.15), _d(0.05, -0.2, 0.3))
    line = finding_line(probe, None, 900, "flow", 10)
    assert line.startswith("On this 900-video phantom, InfoMotion's 50 picks (10 videos per class) gave a read-out MAE of "
                           "6.00 against 6.40 for random picks on the optical-flow vectors it selected on "
                           "(Δ -0.40 [-0.62, -0.18]: lower MAE, better)")
    assert "8.00 against 8.10 for random picks on independent pixel features (Δ -0.10 [-0.35, +0.15]: no clear " \
           "difference)" in line
    assert "over 30 paired pool-resampled seeds" in line and "against the best peer: probcover on the selection space Δ +0.05" in line
    assert "methods that beat Random: infomotion on the selection space and none on pixels" in line
    assert "\n" not in line and line.endswith(".")


def test_first_line_says_no_clear_difference_or_worse_from_the_numbers():
    probe = _probe(_d(0.30, -0.05, 0.65), _d(0.90, 0.40, 1.40), _d(0.5, 0.1, 0.9))
    cnn = {"seeds": [0, 1, 2], "references": {"mean_ef": {"mae": 11.1, "value": 57.0, "r2": 0.0}},
           "cells": {"cnn": {"10": {"best_peer": None, "methods": {
               "random": _method(12.0), "infomotion": _method(12.5, vs_random=_d(0.5, -1.5, 2.5))}}}},
           "setting": "cpu-small", "steps": 150, "weights": "class-prior", "n_test": 109}
    line = finding_line(probe, cnn, 900, "encoder", 10)
    assert "shipped-encoder motion vectors it selected on (Δ +0.30 [-0.05, +0.65]: no clear difference)" in line
    assert "on independent pixel features (Δ +0.90 [+0.40, +1.40]: higher MAE, worse)" in line
    assert "better" not in line and "methods that beat Random: none on the selection space and none on pixels" in line
    assert ("a small weighted CNN (3 seeds) gave MAE 12.50 against 12.00 (Δ +0.50 [-1.50, +2.50]: no clear "
            "difference), both worse than the constant Mean-EF predictor's 11.10") in line
    text = "\n".join(cnn_lines(cnn))
    assert "ΔMAE vs Random +0.50 [-1.50, +2.50] (no clear difference)" in text and "MAE 11.10 EF" in text


def test_verdict_without_an_interval_claims_nothing():
    assert verdict_words({"mean": -3.0, "ci_low": math.nan, "ci_high": math.nan}) == "no clear difference"


def test_config_rejects_what_cannot_give_paired_intervals():
    with pytest.raises(ConfigError):
        DemoConfig(representation="pixels")
    with pytest.raises(ConfigError):
        DemoConfig(cnn_seeds=1)
    with pytest.raises(ConfigError):
        DemoConfig(vpcs=(5,), cnn_vpc=10)


def test_flow_demo_refuses_an_engine_before_any_work(tmp_path):
    pytest.importorskip("sklearn")
    with pytest.raises(ConfigError, match="uses no model"):
        run_demo(tmp_path / "d", DemoConfig(), engine=tmp_path / "x.onnx", log=lambda s: None)
    assert not (tmp_path / "d").exists()


def test_tiny_demo_end_to_end(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("torchvision")
    cfg = DemoConfig(n_real=60, frames=32, vpcs=(2,), cnn_vpc=2, methods=("random", "infomotion"), probe_seeds=2,
                     setting="tiny", steps=2, cnn_seeds=2, self_check_seeds=2, workers=1)
    paths = run_demo(tmp_path / "demo", cfg, log=lambda s: None, progress=False)
    text = (tmp_path / "demo" / "summary.md").read_text()
    first = text.splitlines()[0]
    assert first == paths["finding"] and first.startswith("On this 60-video phantom, InfoMotion's ")
    assert "over 2 paired pool-resampled seeds" in first and "small weighted CNN (2 seeds)" in first
    for part in ("## Probe read-out", "### motion, VPC = 2", "### pixels, VPC = 2", "## CNN", "Mean-EF reference",
                 "## Self-check", "too small to tell", "## Wall time"):
        assert part in text, part
    assert (tmp_path / "demo" / "selection" / "selection.self-check.json").is_file()
    assert (tmp_path / "demo" / "probe" / "results.json").is_file()
    assert (tmp_path / "demo" / "cnn" / "results.json").is_file()
    assert (tmp_path / "demo" / "phantom").is_dir() and (tmp_path / "demo" / "phantom_flow.npz").is_file()
    assert f"benchmark {tmp_path / 'demo' / 'phantom'} --instrument probe" in text
