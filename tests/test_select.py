"""Selection methods, edge cases, the select command, export and plot."""

import csv
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.errors import ConfigError, DataError, DependencyError
from infomotion_rt.extract.featureset import make_feature_set, make_meta
from infomotion_rt.extract.files import write_features
from infomotion_rt.selection import methods as sel
from infomotion_rt.selection.graph import GraphConfig
from infomotion_rt.share.dataset import export_dataset

EF_BY_CLASS = (20.0, 35.0, 45.0, 60.0, 80.0)


def class_features(per_class=(40, 40, 40, 40, 40), clusters=6, dim=8, seed=0):
    """Planted clusters inside each EF class; names c<class>_<i>."""
    rng = np.random.default_rng(seed)
    names, feats, ef = [], [], []
    for c, n in enumerate(per_class):
        centres = rng.normal(size=(clusters, dim)) * 8
        lab = np.arange(n) % clusters
        feats.append(centres[lab] + rng.normal(size=(n, dim)))
        names += [f"c{c}_{i:03d}" for i in range(n)]
        ef += [EF_BY_CLASS[c] + rng.uniform(-2, 2) for _ in range(n)]
    return make_feature_set(names, np.concatenate(feats) if feats else np.zeros((0, dim)), ef,
                            ["TRAIN"] * len(names), make_meta("test"))


@pytest.fixture(scope="module")
def fs():
    return class_features()


@pytest.mark.parametrize("method", list(sel.METHODS))
def test_method_selects_vpc_per_class_deterministically(fs, method):
    cfg = sel.SelectConfig(vpc=5, method=method, seed=7)
    a = sel.select_features(fs, cfg)
    b = sel.select_features(fs, cfg)
    assert repr(a.rows) == repr(b.rows)  # bit-identical between runs (repr: exact floats, NaN == NaN)
    assert len(a.rows) == 25 and len({r["FileName"] for r in a.rows}) == 25
    for c, cname in enumerate(("Severe", "Moderate", "Mild", "Normal", "Hyperdynamic")):
        rows = [r for r in a.rows if r["class"] == cname]
        assert len(rows) == 5 and all(r["FileName"].startswith(f"c{c}_") for r in rows)
        assert all(r["method"] == method and r["seed"] == 7 for r in rows)


def test_registry_is_a_mapping_of_callables():
    assert set(sel.METHODS) == {"infomotion", "infodist", "random", "kmeans", "kcenter", "herding",
                                "typiclust", "probcover", "maxherding"}
    assert all(callable(f) for f in sel.METHODS.values())


@pytest.mark.parametrize("method,choice", [("infomotion", None), ("infomotion", "centrality"), ("infodist", None)])
def test_graph_methods_spread_over_communities(fs, method, choice):
    res = sel.select_features(fs, sel.SelectConfig(vpc=6, method=method, seed=1, choice=choice))
    for cname, (pick, sub) in res.picks.items():
        comm = pick.class_graph.partition.communities
        sizes = np.bincount(comm)
        chosen = comm[pick.indices]
        want = min(6, pick.n_communities)
        assert len(set(chosen.tolist())) == want  # one per community before any second pick
        largest = set(np.argsort(-sizes, kind="stable")[:want].tolist())
        if len(set(sizes.tolist())) == len(sizes):  # unambiguous size order
            assert set(chosen.tolist()) == largest
        # Within a community the pick has the best score: the highest centrality (the paper's rule,
        # infodist's flow), or, by default, the least distance to its community's mean vector.
        if method == "infomotion" and choice is None:
            score = sel.community_closeness(sub.features, comm)
            for i in pick.indices:
                d = np.linalg.norm(sub.features[comm == comm[i]] - sub.features[comm == comm[i]].mean(0), axis=1)
                assert np.isclose(np.linalg.norm(sub.features[i] - sub.features[comm == comm[i]].mean(0)), d.min()) \
                    or np.sum(chosen == comm[i]) > 1
            assert np.allclose([r["centrality"] for r in res.rows if r["class"] == cname], score[pick.indices])
        else:
            for i in pick.indices:
                members = comm == comm[i]
                assert pick.class_graph.centrality[i] == pick.class_graph.centrality[members].max() or \
                    np.sum(chosen == comm[i]) > 1


def test_community_closeness_is_nearness_to_the_own_community_mean():
    x = np.array([[0.0, 0.0], [2.0, 0.0], [0.9, 0.0], [10.0, 0.0], [14.0, 0.0]])
    comm = np.array([0, 0, 0, 1, 1])
    c = sel.community_closeness(x, comm)      # means: (0.9667, 0) and (12, 0)
    assert c.argmax() == 2 and np.isclose(c[3], c[4]) and np.isclose(c[3], 1 / 3)
    assert np.isclose(c[2], 1 / (1 + abs(0.9 - 2.9 / 3)))


def test_paper_literal_keeps_the_papers_choice_and_unknown_choice_is_refused():
    assert sel.SelectConfig().resolved_choice() == sel.DEFAULT_CHOICE == "medoid"
    lit = sel.SelectConfig(graph=sel.graph.GraphConfig(paper_literal=True))
    assert lit.resolved_choice() == "centrality"
    assert sel.SelectConfig(choice="medoid", graph=lit.graph).resolved_choice() == "medoid"
    with pytest.raises(ConfigError, match="--choice"):
        sel.SelectConfig(choice="hub")


def test_seed_changes_random_but_not_determinism(fs):
    a = sel.select_features(fs, sel.SelectConfig(vpc=5, method="random", seed=1)).rows
    b = sel.select_features(fs, sel.SelectConfig(vpc=5, method="random", seed=2)).rows
    assert [r["FileName"] for r in a] != [r["FileName"] for r in b]


def test_kmeans_recovers_separated_clusters():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 6)) * 20
    lab = np.repeat(np.arange(5), 30)
    x = centres[lab] + rng.normal(size=(150, 6))
    _, got = sel.kmeans(x, 5, np.random.default_rng(3))
    assert sk.adjusted_rand_score(lab, got) > 0.9


def test_edge_cases_are_reported_not_silent():
    fs = class_features(per_class=(40, 3, 1, 0, 12))
    feats = fs.features.copy()
    feats[-12:] = 1.0                      # Hyperdynamic: identical vectors
    feats[0, 0] = np.nan                   # one NaN vector in Severe
    fs = make_feature_set(fs.names, feats, fs.ef, fs.split, fs.meta)
    res = sel.select_features(fs, sel.SelectConfig(vpc=5, seed=0))
    text = "\n".join(res.notes)
    assert "1 video with NaN/inf feature vectors dropped: c0_000" in text
    assert "class Moderate: only 3 videos < VPC 5, all 3 selected" in text
    assert "class Mild: only 1 video < VPC 5, it is selected" in text
    assert "class Normal: no videos" in text
    assert "class Hyperdynamic: all 12 vectors identical" in text
    counts = {c: sum(r["class"] == c for r in res.rows) for c in ("Severe", "Moderate", "Mild", "Normal", "Hyperdynamic")}
    assert counts == {"Severe": 5, "Moderate": 3, "Mild": 1, "Normal": 0, "Hyperdynamic": 5}
    assert "c0_000" not in {r["FileName"] for r in res.rows}


def test_collapse_is_reported():
    fs = class_features(per_class=(30, 0, 0, 0, 0))
    res = sel.select_features(fs, sel.SelectConfig(vpc=4, graph=GraphConfig(paper_literal=True)))
    assert any("found one community" in n and "falls back to centrality order" in n for n in res.notes)
    medoid = sel.select_features(fs, sel.SelectConfig(vpc=4, graph=GraphConfig(paper_literal=True), choice="medoid"))
    assert any("falls back to nearness to the class mean order" in n for n in medoid.notes)
    assert sum(r["class"] == "Severe" for r in res.rows) == 4


def test_vpc_zero_and_unknown_method():
    with pytest.raises(ConfigError, match="vpc .videos per class. must be >= 1"):
        sel.SelectConfig(vpc=0)
    with pytest.raises(ConfigError, match="unknown method"):
        sel.SelectConfig(method="best")


def test_labels_override_ef_and_split(tmp_path, fs):
    labels = tmp_path / "FileList.csv"
    with open(labels, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["FileName", "EF", "Split"])
        for i, name in enumerate(fs.names[:-2]):
            w.writerow([f"{name}.avi" if i % 2 else name, 90.0 if name == "c0_001" else fs.ef[i],
                        "val" if name == "c0_002" else "TRAIN"])
    out, lines = sel.attach_labels(make_feature_set(fs.names, fs.features, np.where(np.arange(len(fs)) == len(fs) - 1, np.nan, fs.ef),
                                                    fs.split, fs.meta), labels)
    assert out.ef[1] == 90.0 and out.split[2] == "VAL"
    assert len(lines) == 1 and "2 of 200 videos not listed (1 keep" in lines[0] and "1 without EF are dropped" in lines[0]
    res = sel.select_features(out, sel.SelectConfig(vpc=3))
    assert any("1 video without EF dropped" in n for n in res.notes)
    with pytest.raises(DataError, match="split 'TEST'"):
        sel.select_features(out, sel.SelectConfig(vpc=3, split="TEST"))


def write_tiny_echonet(root, names, ef):
    cv2 = pytest.importorskip("cv2")
    (root / "Videos").mkdir(parents=True)
    with open(root / "FileList.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["FileName", "EF", "ESV", "EDV", "FrameHeight", "FrameWidth", "FPS", "NumberOfFrames", "Split"])
        for n, e in zip(names, ef):
            w.writerow([n, f"{e:.2f}", 10, 30, 112, 112, 50, 4, "TRAIN"])
    with open(root / "VolumeTracings.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["FileName", "X1", "Y1", "X2", "Y2", "Frame"])
        for n in names:
            for frame, half in ((0, 20.0), (2, 12.0)):
                w.writerow([f"{n}.avi", 56, 20, 56, 90, frame])
                for r in range(20):
                    y = 22 + 3.4 * r
                    w.writerow([f"{n}.avi", 56 - half, y, 56 + half, y, frame])
    for n in names:
        vw = cv2.VideoWriter(str(root / "Videos" / f"{n}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 50, (112, 112))
        for t in range(4):
            vw.write(np.full((112, 112, 3), 40 * t, np.uint8))
        vw.release()


def test_cli_select_export_and_read_back(tmp_path, fs):
    data = tmp_path / "data"
    write_tiny_echonet(data, fs.names.tolist(), fs.ef)
    feats = write_features(tmp_path / "f.npz", fs)
    out = tmp_path / "sel.csv"
    r = CliRunner().invoke(cli, ["select", "--features", str(feats), "--vpc", "3", "--out", str(out), "--seed", "4",
                                 "--export-dataset", str(tmp_path / "distilled"), "--data", str(data)])
    assert r.exit_code == 0, r.output
    assert "Severe: n=40, communities=" in r.output and "selected=3" in r.output and str(out) in r.output
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0]) == list(sel.SELECTION_COLUMNS) and len(rows) == 15
    from infomotion_rt.data.loader import load_dataset

    ds = load_dataset(tmp_path / "distilled", check_videos=True, progress=False)
    assert sorted(rec.name for rec in ds.records) == sorted(row["FileName"] for row in rows)
    assert ds.layout == "dynamic" and ds.dropped == ()
    assert not [p for p in ds.problems.lines() if "EF" not in p]  # the toy tracings' EF is not FileList's
    src = {r["FileName"]: r for r in csv.DictReader(open(data / "FileList.csv"))}
    exported = list(csv.DictReader(open(tmp_path / "distilled" / "FileList.csv")))
    assert list(exported[0]) == [*src[exported[0]["FileName"]], "Weight"]  # the nine columns plus Weight
    assert all(src[r["FileName"]] == {k: v for k, v in r.items() if k != "Weight"} for r in exported)
    weight = {r["FileName"]: float(r["Weight"]) for r in rows}
    assert set(weight.values()) == {1.0}  # five equal classes of 40: the picks already have the pool's mix
    assert all(float(r["Weight"]) == weight[r["FileName"]] for r in exported)
    assert all(rec.weight == weight[rec.name] for rec in ds.records)  # the reader takes it back
    assert all(rec.tracings is not None and rec.ed == 0 and rec.es == 2 for rec in ds.records)
    with pytest.raises(ConfigError, match="not empty"):
        export_dataset([rows[0]["FileName"]], data, tmp_path / "distilled")


def test_export_names_missing_video(tmp_path, fs):
    data = tmp_path / "data"
    write_tiny_echonet(data, fs.names[:3].tolist(), fs.ef[:3])
    (data / "Videos" / f"{fs.names[1]}.avi").unlink()
    with pytest.raises(DataError, match=f"video {fs.names[1]} not found"):
        export_dataset(fs.names[:3].tolist(), data, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_bad_input_is_one_line(tmp_path, fs):
    feats = write_features(tmp_path / "f.npz", fs)
    p = subprocess.run([sys.executable, "-m", "infomotion_rt.cli", "select", "--features", str(feats), "--vpc", "0",
                        "--out", str(tmp_path / "s.csv")], capture_output=True, text=True)
    assert p.returncode == 1 and p.stderr.strip() == "error: vpc (videos per class) must be >= 1, got 0"
    assert not (tmp_path / "s.csv").exists()


def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    fs = class_features(per_class=(30, 20, 0, 0, 0))
    res = sel.select_features(fs, sel.SelectConfig(vpc=3, method="kcenter"))
    path = sel.plot_selection(res, sel.SelectConfig(vpc=3, method="kcenter"), tmp_path / "g.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_is_a_dependency_error(tmp_path, monkeypatch):
    fs = class_features(per_class=(10, 0, 0, 0, 0))
    res = sel.select_features(fs, sel.SelectConfig(vpc=2))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(DependencyError, match="matplotlib"):
        sel.plot_selection(res, sel.SelectConfig(vpc=2), tmp_path / "g.png")


def test_plot_without_networkx_is_a_dependency_error(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    fs = class_features(per_class=(10, 0, 0, 0, 0))
    res = sel.select_features(fs, sel.SelectConfig(vpc=2))
    monkeypatch.setitem(sys.modules, "networkx", None)
    with pytest.raises(DependencyError, match="networkx"):
        sel.plot_selection(res, sel.SelectConfig(vpc=2), tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()


def test_labels_with_bom_and_index_column(tmp_path, fs):
    labels = tmp_path / "FileList.csv"
    body = ",FileName,EF\n" + "".join(f"{i},{n}.avi,{55.0}\n" for i, n in enumerate(fs.names))
    labels.write_text("\ufeff" + body, encoding="utf-8")
    out, lines = sel.attach_labels(fs, labels)
    assert lines == [] and (out.ef == 55.0).all() and out.split.tolist() == fs.split.tolist()


def test_class_prior_weights_on_a_planted_pool():
    """Pool 64/16/8/8/4 per class, VPC 2: weight = class share of the pool / class share of the picks
    (2 of 10 each) = N_c / 20; the weights average 1 over the picks; every method gets the same."""
    np.testing.assert_allclose(sel.class_prior_weights([64, 16, 8, 8, 4], [2, 2, 2, 2, 2]), [3.2, 0.8, 0.4, 0.4, 0.2])
    # A short class (1 video < VPC 2) is taken whole: weight K/N = 9/93; a class without videos gets 0.
    np.testing.assert_allclose(sel.class_prior_weights([64, 16, 1, 0, 12], [2, 2, 1, 0, 2]),
                               [64 * 7 / 186, 16 * 7 / 186, 7 / 93, 0.0, 12 * 7 / 186])
    with pytest.raises(ValueError):
        sel.class_prior_weights([1, 2], [2, 2])  # more picks than videos
    fs = class_features(per_class=(64, 16, 8, 8, 4), clusters=2)
    for method in ("random", "kmeans", "infomotion"):
        s = sel.select_features(fs, sel.SelectConfig(vpc=2, method=method))
        got = {r["class"]: r["Weight"] for r in s.rows}
        assert got == {"Severe": 3.2, "Moderate": 0.8, "Mild": 0.4, "Normal": 0.4, "Hyperdynamic": 0.2}, method
        assert np.mean([r["Weight"] for r in s.rows]) == pytest.approx(1.0)
        assert "selected=2, weight=3.2" in s.summary[0]


def test_metric_parts_refused_for_vectors_of_another_layout():
    fs = class_features(per_class=(12, 12, 12, 12, 12))
    for meta in ({"vector": "motion-grid"}, {"representation": "flow-v1"}):
        other = sel.FeatureSet(fs.names, fs.features, fs.ef, fs.split, {**fs.meta, **meta})
        with pytest.raises(ConfigError, match="--metric-parts scale8 .* use --metric-parts all"):
            sel.select_features(other, sel.SelectConfig(vpc=2, metric=sel.MetricConfig(parts="scale8")))
        sel.select_features(other, sel.SelectConfig(vpc=2))   # all parts: fine
    assert sel.vector_kind({}) == "mean" and sel.vector_kind({"representation": "encoder", "vector": "mean"}) == "mean"
