"""benchmark: every method x VPC in the Table 1 outputs (tiny settings, stand-in motion features)."""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.extract.featureset import make_feature_set, make_meta
from infomotion_rt.extract.files import write_features
from infomotion_rt.phantom.generate import generate

METHODS = ["random", "kmeans", "kcenter", "herding", "infodist", "infomotion"]
TINY = ["--setting", "tiny", "--steps", "3", "--whole-steps", "4", "--runs", "2", "--threads", "1"]


def _fake_motion(data_dir, path):
    """Stand-in motion vectors (EF plus noise): the benchmark takes any features file."""
    ds = load_dataset(data_dir, progress=False)
    rng = np.random.default_rng(0)
    x = np.stack([[r.ef / 10, *rng.normal(size=7)] for r in ds.records])
    fs = make_feature_set([r.name for r in ds.records], x, [r.ef for r in ds.records], [r.split for r in ds.records],
                          make_meta("test stand-in"))
    return write_features(path, fs)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    real = generate(root / "real", 48, seed=5, frames=32, progress=False).out_dir
    syn = generate(root / "syn", 24, seed=6, style="synthetic", frames=32, progress=False).out_dir
    return real, syn, _fake_motion(real, root / "real.npz"), _fake_motion(syn, root / "syn.npz")


def _invoke(args):
    res = CliRunner().invoke(cli, args, catch_exceptions=True)
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


def _check_outputs(out, group, vpcs):
    plot = pytest.importorskip("matplotlib") and (out / "table1.png")
    md = (out / "table1.md").read_text()
    assert f"Whole {group}" in md and "small (2+1)D CNN (r2plus1d_18, width 8" in md
    for v in vpcs:
        assert f"VPC={v}" in md
    rows = list(csv.DictReader(open(out / "table1.csv")))
    cells = {(r["method"], r["vpc"], r["metric"]) for r in rows}
    for m in METHODS:
        for v in vpcs:
            for metric in ("acc", "soft_acc", "bal_acc", "mae"):
                assert (m, str(v), metric) in cells
    assert ("Whole", "All", "acc") in cells
    # Paired differences against Random (same seeds) with their interval, and the two reference rows.
    for m in METHODS[1:]:
        for v in vpcs:
            assert (m, str(v), "acc_minus_random") in cells and (m, str(v), "r2_minus_random") in cells
            assert (m, str(v), "bal_acc_minus_random") in cells
    assert ("mean_ef", "All", "acc") in cells and ("majority_class", "All", "mae") in cells
    assert "Paired difference against Random" in md and "Majority class (reference)" in md and "R²" in md
    res = json.loads((out / "results.json").read_text())
    n_test = len(load_dataset(res["test_dir"], progress=False).split("TEST"))
    assert sum(res["test_classes"].values()) == n_test and f"{n_test} videos (Severe" in md
    d = res["groups"][group]["cells"]["infomotion"][str(vpcs[0])]["vs_random"]["acc"]
    runs = res["groups"][group]["cells"]
    by_hand = [a["acc"] - b["acc"] for a, b in zip(runs["infomotion"][str(vpcs[0])]["runs"], runs["random"][str(vpcs[0])]["runs"])]
    assert d["n"] == 2 and d["mean"] == pytest.approx(np.mean(by_hand))
    assert d["ci_low"] <= d["mean"] <= d["ci_high"] if np.ptp(by_hand) > 1e-9 else d["equal"]  # equal: no interval
    for m in METHODS:
        for v in vpcs:
            cell = res["groups"][group]["cells"][m][str(v)]
            assert cell["acc"]["n"] == 2 and len(cell["runs"]) == 2
            # Step budget: every method at every VPC (different set sizes) trains the same number of steps.
            assert [r["steps"] for r in cell["runs"]] == [3, 3] and all(r["max_steps"] == 3 for r in cell["runs"])
            # The selection behind each run is on disk, VPC per class at most.
            sel = list(csv.DictReader(open(cell["runs"][0]["selection"])))
            counts = {}
            for row in sel:
                counts[row["class"]] = counts.get(row["class"], 0) + 1
            assert sel and max(counts.values()) <= v
    assert plot.is_file() and plot.stat().st_size > 1000


def test_benchmark_dist_real(data, tmp_path):
    pytest.importorskip("torchvision")
    real, _, real_f, _ = data
    res = _invoke(["benchmark", str(real), "--vpc", "1", "--vpc", "2", "--methods", ",".join(METHODS),
                   "--features", str(real_f), "--out", str(tmp_path), *TINY])
    assert "InfoMotion (soft)" in res.output and "InfoMotion (balanced)" in res.output
    _check_outputs(tmp_path, "Real", [1, 2])
    # A results.json from before balanced accuracy (no bal_acc anywhere, e.g. a reused Whole row) still tabulates.
    from infomotion_rt.evaluate.tables import plot_bars, table_markdown, table_rows

    def strip(o):
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if k != "bal_acc"}
        return [strip(v) for v in o] if isinstance(o, list) else o

    old = strip(json.loads((tmp_path / "results.json").read_text()))
    md = table_markdown(old)
    assert "| Balanced | – | Random (balanced) | – | – |" in md
    assert not any(r[3].startswith("bal_acc") for r in table_rows(old))
    if pytest.importorskip("matplotlib"):
        assert plot_bars(old, tmp_path / "old.png").stat().st_size > 1000
    # Selections come from TRAIN only.
    train = {r.name for r in load_dataset(real, progress=False).split("TRAIN")}
    sel = list(csv.DictReader(open(tmp_path / "selections" / "infomotion_vpc2_seed1.csv")))
    assert {r["FileName"] for r in sel} <= train
    # Every distilled model trained with its selection's weights (written beside it); the Whole model did not.
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["weights"] == "class-prior" and "distilled models weighted: class-prior" in (tmp_path / "table1.md").read_text()
    cells = res["groups"]["Real"]["cells"]
    assert all(r["weighted"] for c in cells.values() for cell in c.values() for r in cell["runs"])
    whole = res["groups"]["Real"]["whole"]
    assert whole["weights"] == "unweighted" and not any(r["weighted"] for r in whole["runs"])
    assert all(float(r["Weight"]) > 0 for r in sel)
    # --no-weights: the same cells unweighted, recorded as such (the Whole row reused, not retrained).
    _invoke(["benchmark", str(real), "--vpc", "1", "--methods", "random", "--features", str(real_f), "--no-plot",
             "--reuse-whole", str(tmp_path), "--out", str(tmp_path / "nw"), "--no-weights", *TINY])
    res = json.loads((tmp_path / "nw" / "results.json").read_text())
    assert res["weights"] == "off (--no-weights)" and not any(r["weighted"] for r in res["groups"]["Real"]["cells"]["random"]["1"]["runs"])


def test_benchmark_dist_synth_relabels(data, tmp_path):
    pytest.importorskip("torchvision")
    real, syn, _, syn_f = data
    _invoke(["benchmark", str(real), "--vpc", "2", "--methods", ",".join(METHODS), "--synthetic", str(syn),
             "--features", str(syn_f), "--out", str(tmp_path), *TINY])
    _check_outputs(tmp_path, "Synth.", [2])
    relabelled = {r["FileName"]: float(r["EF"]) for r in csv.DictReader(open(tmp_path / "synthetic_relabeled.csv"))}
    assert len(relabelled) == 24
    sel = list(csv.DictReader(open(tmp_path / "selections" / "random_vpc2_seed0.csv")))
    assert all(abs(float(r["EF"]) - relabelled[r["FileName"]]) < 1e-6 for r in sel)  # selected on the new labels
    assert "Reference, Whole Real" in (tmp_path / "table1.md").read_text()


def test_benchmark_bad_method(data, tmp_path):
    real, _, real_f, _ = data
    res = CliRunner().invoke(cli, ["benchmark", str(real), "--methods", "random,nope", "--features", str(real_f)])
    assert res.exit_code != 0 and "unknown method(s) nope" in str(res.exception)
    res = CliRunner().invoke(cli, ["benchmark", str(real), "--features", str(real_f), "--reuse-whole", str(tmp_path)])
    assert res.exit_code != 0 and "no results.json and ef_whole_real.pt" in str(res.exception)


def test_demo_without_engine_fails_in_one_line_before_any_work(tmp_path):
    pytest.importorskip("torchvision")
    res = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "demo"), "--engine", str(tmp_path / "none.onnx")])
    assert res.exit_code != 0 and "motion model not found" in str(res.exception)
    assert not (tmp_path / "demo").exists()
