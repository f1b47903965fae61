"""The selections themselves are pinned (issue 18): for a fixed features file, seed and options, `select`
must pick the same videos in the same order before and after any refactor. A deliberate change of a
default updates PINNED in its own commit; a library swap that changes a non-default path says so.

The features file is generated here (no model, no decoding): 5 EF classes, 48 videos each, 24-D vectors
made of planted clusters plus an EF-dependent direction, so the default metric (PLS on EF) has signal to
fit and Infomap has communities to find.
"""

import csv

import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.extract.featureset import make_feature_set, make_meta
from infomotion_rt.extract.files import write_features

CLASS_EF = (22.0, 35.0, 45.0, 60.0, 78.0)

# Written by running CASES on main at b0c0ddb, before the issue-18 moves.
PINNED = {
    'infomotion default': [
        'v0_30', 'v0_19', 'v0_26', 'v0_33', 'v1_36', 'v1_01', 'v1_44', 'v1_27', 'v2_18', 'v2_01', 'v2_44',
        'v2_33', 'v3_42', 'v3_31', 'v3_44', 'v3_03', 'v4_06', 'v4_37', 'v4_14', 'v4_15'],
    'infomotion centrality': [
        'v0_30', 'v0_19', 'v0_20', 'v0_33', 'v1_24', 'v1_01', 'v1_32', 'v1_33', 'v2_18', 'v2_31', 'v2_44',
        'v2_21', 'v3_30', 'v3_43', 'v3_08', 'v3_33', 'v4_24', 'v4_31', 'v4_26', 'v4_39'],
    'infomotion paper-literal': [
        'v0_12', 'v0_36', 'v0_06', 'v0_15', 'v1_43', 'v1_41', 'v1_04', 'v1_35', 'v2_16', 'v2_10', 'v2_04',
        'v2_34', 'v3_29', 'v3_35', 'v3_41', 'v3_17', 'v4_38', 'v4_14', 'v4_44', 'v4_02'],
    'infomotion pca-8 k 5': [
        'v0_42', 'v0_43', 'v0_20', 'v0_03', 'v1_24', 'v1_07', 'v1_32', 'v1_45', 'v2_18', 'v2_25', 'v2_26',
        'v2_09', 'v3_00', 'v3_13', 'v3_14', 'v3_03', 'v4_42', 'v4_37', 'v4_44', 'v4_15'],
    'infodist': [
        'v0_30', 'v0_19', 'v0_20', 'v0_33', 'v1_30', 'v1_01', 'v1_32', 'v1_33', 'v2_12', 'v2_31', 'v2_44',
        'v2_21', 'v3_30', 'v3_43', 'v3_08', 'v3_33', 'v4_24', 'v4_19', 'v4_26', 'v4_39'],
    'random': [
        'v0_03', 'v0_08', 'v0_11', 'v0_36', 'v1_11', 'v1_19', 'v1_27', 'v1_44', 'v2_01', 'v2_26', 'v2_35',
        'v2_37', 'v3_04', 'v3_14', 'v3_15', 'v3_46', 'v4_00', 'v4_21', 'v4_27', 'v4_41'],
    'kmeans': [
        'v0_28', 'v0_33', 'v0_30', 'v0_19', 'v1_39', 'v1_47', 'v1_44', 'v1_46', 'v2_38', 'v2_31', 'v2_47',
        'v2_10', 'v3_30', 'v3_25', 'v3_44', 'v3_23', 'v4_11', 'v4_06', 'v4_04', 'v4_14'],
    'kcenter': [
        'v0_11', 'v0_15', 'v0_07', 'v0_36', 'v1_45', 'v1_12', 'v1_20', 'v1_34', 'v2_21', 'v2_46', 'v2_30',
        'v2_14', 'v3_30', 'v3_17', 'v3_32', 'v3_01', 'v4_39', 'v4_38', 'v4_30', 'v4_28'],
    'herding': [
        'v0_11', 'v0_43', 'v0_21', 'v0_12', 'v1_45', 'v1_41', 'v1_24', 'v1_28', 'v2_21', 'v2_22', 'v2_24',
        'v2_03', 'v3_30', 'v3_21', 'v3_04', 'v3_14', 'v4_39', 'v4_15', 'v4_33', 'v4_25'],
    'infomotion --knn-pca 8': [
        'v0_30', 'v0_19', 'v0_26', 'v0_33', 'v1_36', 'v1_01', 'v1_44', 'v1_27', 'v2_18', 'v2_01', 'v2_44',
        'v2_33', 'v3_42', 'v3_31', 'v3_44', 'v3_03', 'v4_06', 'v4_37', 'v4_14', 'v4_15'],
    'typiclust': [
        'v0_33', 'v0_47', 'v0_30', 'v0_07', 'v1_47', 'v1_32', 'v1_01', 'v1_46', 'v2_21', 'v2_18', 'v2_44',
        'v2_10', 'v3_25', 'v3_05', 'v3_42', 'v3_04', 'v4_15', 'v4_29', 'v4_14', 'v4_04'],
    'maxherding': [
        'v0_11', 'v0_33', 'v0_19', 'v0_30', 'v1_45', 'v1_47', 'v1_14', 'v1_46', 'v2_21', 'v2_10', 'v2_18',
        'v2_44', 'v3_30', 'v3_25', 'v3_23', 'v3_44', 'v4_39', 'v4_14', 'v4_06', 'v4_16'],
}


def pinned_features(path):
    rng = np.random.default_rng(20261205)
    direction = rng.normal(size=24)
    names, x, ef = [], [], []
    for c, mid in enumerate(CLASS_EF):
        centres = rng.normal(size=(6, 24)) * 4
        for i in range(48):
            e = mid + rng.uniform(-5, 5)
            x.append(centres[i % 6] + 0.15 * e * direction + rng.normal(size=24))
            names.append(f"v{c}_{i:02d}")
            ef.append(e)
    write_features(path, make_feature_set(names, np.asarray(x, np.float32), ef, ["TRAIN"] * len(names),
                                          make_meta("test_selection_pin")))


CASES = {
    "infomotion default": [],
    "infomotion centrality": ["--choice", "centrality"],
    "infomotion paper-literal": ["--paper-literal"],
    "infomotion pca-8 k 5": ["--metric", "pca", "--metric-dims", "8", "--k", "5"],
    "infodist": ["--method", "infodist"],
    "random": ["--method", "random"],
    "kmeans": ["--method", "kmeans"],
    "kcenter": ["--method", "kcenter"],
    "herding": ["--method", "herding"],
    "infomotion --knn-pca 8": ["--knn-pca", "8"],
    "typiclust": ["--method", "typiclust"],
    "maxherding": ["--method", "maxherding"],
}


def run_select(tmp_path, extra):
    feats, out = tmp_path / "f.npz", tmp_path / "sel.csv"
    if not feats.exists():
        pinned_features(feats)
    r = CliRunner().invoke(cli, ["select", "--features", str(feats), "--vpc", "4", "--seed", "3",
                                 "--out", str(out), "--overwrite", *extra])
    assert r.exit_code == 0, r.output
    with open(out, newline="") as f:
        return [row["FileName"] for row in csv.DictReader(f)]


@pytest.mark.parametrize("case", list(CASES))
def test_selection_is_pinned(tmp_path, case):
    assert run_select(tmp_path, CASES[case]) == PINNED[case]


def test_config_file_sets_the_same_options_as_flags(tmp_path):
    cfg = tmp_path / "research.toml"
    cfg.write_text('[select]\nmetric = "pca"\nmetric-dims = 8\nk = 5\n')
    assert run_select(tmp_path, ["--config", str(cfg)]) == PINNED["infomotion pca-8 k 5"]
    cfg.write_text('k = 5\nmetric_dims = 8\nmetric = "pca"\n')          # top level, underscores
    assert run_select(tmp_path, ["--config", str(cfg)]) == PINNED["infomotion pca-8 k 5"]
    cfg.write_text('k = 7\nmetric = "pca"\nmetric-dims = 8\n')           # the command line wins
    assert run_select(tmp_path, ["--config", str(cfg), "--k", "5"]) == PINNED["infomotion pca-8 k 5"]


def test_moved_flag_still_works_with_a_notice(tmp_path):
    feats, out = tmp_path / "f.npz", tmp_path / "sel.csv"
    pinned_features(feats)
    r = CliRunner().invoke(cli, ["select", "--features", str(feats), "--vpc", "4", "--seed", "3", "--out", str(out),
                                 "--pca", "8"])
    assert r.exit_code == 0, r.output
    assert "note: --pca is now --knn-pca" in r.output
    with open(out, newline="") as f:
        assert [row["FileName"] for row in csv.DictReader(f)] == PINNED["infomotion --knn-pca 8"]
