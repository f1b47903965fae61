"""select --report and the benchmark report: a self-contained page, every image there, no private path."""

import base64
import csv
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.errors import ConfigError, DataError
from infomotion_rt.extract.featureset import make_feature_set, make_meta
from infomotion_rt.extract.files import write_features
from infomotion_rt.phantom.generate import generate
from infomotion_rt.phantom.truth import load_nuisances, nuisance_kinds
from infomotion_rt.share import report

IMG_SRC = re.compile(r"<img\b[^>]*\bsrc='([^']*)'")


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    """12 short phantom videos and random feature vectors under their names (selection needs no encoder)."""
    root = tmp_path_factory.mktemp("report")
    data = generate(root / "ph", 12, seed=2, frames=32, progress=False).out_dir
    with open(data / "FileList.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    fs = make_feature_set([r["FileName"] for r in rows], np.random.default_rng(0).normal(size=(len(rows), 8)),
                          [float(r["EF"]) for r in rows], [r["Split"] for r in rows], make_meta("test"))
    feats = root / "features.npz"
    write_features(feats, fs)
    return data, feats


@pytest.fixture
def no_graph_plot(monkeypatch):
    """For tests about something else: skip drawing the class graphs (a matplotlib force layout)."""
    monkeypatch.setattr(report, "class_graph_png", lambda sel, cfg: (None, "not drawn in this test"))


def run_select(phantom, out_dir, *extra):
    data, feats = phantom
    args = ["select", "--features", str(feats), "--vpc", "2", "--k", "3", "--split", "all",
            "--out", str(out_dir / "sel.csv"), "--report", str(out_dir / "report.html"), "--overwrite", *extra]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def decoded_images(page: str) -> list[np.ndarray]:
    """Every <img src> of the page decoded; fails the test on one that is not a decodable data: URI."""
    images = []
    for src in IMG_SRC.findall(page):
        m = re.fullmatch(r"data:image/(webp|png|jpeg);base64,([A-Za-z0-9+/=]+)", src)
        assert m, f"not an inline image: {src[:60]}"
        img = cv2.imdecode(np.frombuffer(base64.b64decode(m.group(2)), np.uint8), cv2.IMREAD_UNCHANGED)
        assert img is not None and img.size, "an inline image does not decode"
        images.append(img)
    return images


def selected(out_dir) -> list[str]:
    with open(out_dir / "sel.csv", newline="") as fh:
        return [r["FileName"] for r in csv.DictReader(fh)]


def test_select_report_is_self_contained(phantom, tmp_path):
    data, _ = phantom
    res = run_select(phantom, tmp_path, "--data", str(data))
    assert res.exit_code == 0, res.output
    page = (tmp_path / "report.html").read_text()
    names = selected(tmp_path)
    images = decoded_images(page)
    previews = re.findall(r"<img alt='(0X[0-9A-F]+)'", page)
    assert sorted(previews) == sorted(names)  # one preview per picked video, nothing else named like one
    plot = 1 if "Class graphs" in page else 0
    assert "matplotlib is not installed" in page or plot == 1
    assert len(images) == len(names) + plot
    strip = images[0]  # previews come before the graph plot
    assert strip.shape[1] == report.PREVIEW_FRAMES * strip.shape[0]  # square 112x112 phantom frames
    assert all(f">{n}<" in page for n in names)
    for private in (str(tmp_path), str(data.resolve()), str(Path.cwd())):
        assert private not in page
    assert not re.search(r"(href=|url\(|https?:|<script|<link)", page)  # nothing loaded from elsewhere
    truth = json.loads((data / "phantom_truth.json").read_text())["videos"]
    assert "nuisances among the picks" in page and "among all the class's videos" in page and len(truth) == 12
    assert f"wrote {tmp_path / 'report.html'} ({len(names)} previews)" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "sel.csv"]  # no temporary left


def test_report_without_data_is_tables_only(phantom, tmp_path, no_graph_plot):
    res = run_select(phantom, tmp_path, "--method", "random")
    assert res.exit_code == 0, res.output
    page = (tmp_path / "report.html").read_text()
    assert "no --data DATA_DIR given: tables only" in page and "tables only" in res.output
    assert not IMG_SRC.findall(page.split("Class graphs")[0])  # at most the graph plot, no preview
    assert all(f">{n}<" in page for n in selected(tmp_path))


def test_report_is_written_atomically(phantom, tmp_path, no_graph_plot, monkeypatch):
    data, _ = phantom
    (tmp_path / "report.html").write_text("old report")
    calls = []

    def failing_preview(record):
        calls.append(record.name)
        if len(calls) == 3:
            raise RuntimeError("interrupted while writing the report")
        return real(record)

    real = report.make_preview
    monkeypatch.setattr(report, "make_preview", failing_preview)
    with pytest.raises(RuntimeError, match="interrupted"):
        run_select(phantom, tmp_path, "--data", str(data))
    assert (tmp_path / "report.html").read_text() == "old report"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_unreadable_video_is_listed_and_the_rest_previewed(phantom, tmp_path, no_graph_plot):
    data, _ = phantom
    run_select(phantom, tmp_path)  # learn what is picked
    victim = selected(tmp_path)[0]
    broken = tmp_path / "copy"
    broken.mkdir()
    for f in ("FileList.csv", "VolumeTracings.csv", "phantom_truth.json"):
        (broken / f).write_bytes((data / f).read_bytes())
    (broken / "Videos").mkdir()
    for v in (data / "Videos").iterdir():
        (broken / "Videos" / v.name).write_bytes(b"not a video" if v.stem == victim else v.read_bytes())
    res = run_select(phantom, tmp_path, "--data", str(broken))
    assert res.exit_code == 0
    page = (tmp_path / "report.html").read_text()
    assert "report: " in res.output and victim in res.output
    assert "1 video without a preview" in page and str(broken) not in page
    n = len(selected(tmp_path))
    assert f"{n - 1} of {n} videos; 1 without one, listed at the end" in page
    assert len(re.findall(r"<img alt='0X", page)) == len(selected(tmp_path)) - 1


def test_benchmark_report_has_chart_and_per_method_nuisance_table(phantom, tmp_path, no_graph_plot):
    data, feats = phantom
    csvs = []
    for method in ("random", "kmeans"):
        out = tmp_path / method
        out.mkdir()
        assert run_select(phantom, out, "--method", method).exit_code == 0
        csvs.append(out / "sel.csv")
    ok, chart = cv2.imencode(".png", np.full((60, 200, 3), 200, np.uint8))
    with open(data / "FileList.csv", newline="") as fh:
        pool = [r["FileName"] for r in csv.DictReader(fh)]
    res = report.write_benchmark_report(tmp_path / "bench.html", csvs, chart.tobytes(), data_dir=data,
                                        header={"TEST videos": "3"}, candidates=pool, progress=False,
                                            nuisances=load_nuisances(data))
    page = res.path.read_text()
    n_rows = sum(len(selected(p.parent)) for p in csvs)
    assert len(decoded_images(page)) == 1 + n_rows and res.previews == len({n for p in csvs for n in selected(p.parent)})
    assert "Table 1" in page and "TEST videos" in page
    table = page.split("Nuisance kinds among the picked videos")[1].split("</table>")[0]
    kinds = load_nuisances(data)
    for p, method in zip(csvs, ("random", "kmeans")):
        row = re.search(rf"<tr><td>{method} · VPC 2 · seed 0</td>(.*?)</tr>", table).group(1)
        clean, n = sum(not kinds[n] for n in selected(p.parent)), len(selected(p.parent))
        assert re.findall(r"<td class='n'>([^<]*)</td>", row)[-2:] == [f"{clean} ({100 * clean / n:.0f}%)", str(n)]
    clean = sum(not kinds[n] for n in pool)
    assert "<i>all 12 candidates</i>" in table and f"{clean} ({100 * clean / 12:.0f}%)" in table


def test_nuisance_kinds_from_any_truth_version():
    assert nuisance_kinds({}) == []
    assert nuisance_kinds({"poor": True, "ef_true": 50.0, "ef_label": 51.0}) == ["poor quality"]
    assert nuisance_kinds({"ef_true": 50.0, "ef_label": 62.0}) == ["EF label off"]
    assert nuisance_kinds({"nuisances": ["foreshortened", "other view"]}) == ["foreshortened", "other view"]
    assert nuisance_kinds({"nuisances": {"short clip": True, "depth": False}}) == ["short clip"]
    drawn = {"drift_px_per_s": [0.1, 0.2], "gain_steps": [[7, 0.1]], "rr_sd": 0.15}
    assert nuisance_kinds({"nuisance": drawn}) == ["AF-like rhythm", "gain step"]
    assert nuisance_kinds({"nuisance": drawn | {"gain_steps": [], "rr_sd": 0.04}}) == []
    # a generator that names its kinds is trusted: nothing derived beside them but the poor-quality flag
    named = {"nuisance_kinds": ["label noise"], "nuisance": drawn, "poor": True, "ef_true": 50.0, "ef_label": 70.0}
    assert nuisance_kinds(named) == ["label noise", "poor quality"]
    assert nuisance_kinds(named | {"nuisance_kinds": [], "poor": False}) == []


def test_preview_spans_one_cycle_from_ed():
    idx, seconds = report.preview_span(100, 50.0, ed=10, es=25)  # systole 15 frames -> cycle 45
    assert idx[0] == 10 and idx[-1] == 54 and len(idx) == report.PREVIEW_FRAMES and seconds == pytest.approx(0.9)
    idx, seconds = report.preview_span(20, 30.0, ed=None, es=None)  # untraced and short: the whole clip
    assert idx[0] == 0 and idx[-1] == 19 and seconds == pytest.approx(20 / 30)
    idx, _ = report.preview_span(60, 50.0, ed=50, es=58)  # a cycle past the end slides back into the clip
    assert idx[-1] == 59 and idx[0] == 60 - 24


def test_summary_shows_recorded_knn_recall(tmp_path):
    rows = [{"FileName": "a", "EF": 60.0, "class": "Normal", "community": 0, "centrality": 0.5}]
    view = report.SelectionView(rows, "infomotion", 1, 0, knn_recall=0.987, knn={"Normal": "ivf, recall 0.987"})
    page = report.write_report(tmp_path / "r.html", [view], progress=False).path.read_text()
    assert "0.987 (lowest over the classes)" in page and "ivf, recall 0.987" in page
    assert "no --data DATA_DIR given" in page and ">a<" in page


def test_strip_keeps_aspect_and_fits_the_card():
    frames = np.random.default_rng(1).integers(0, 255, size=(report.PREVIEW_FRAMES, 90, 160), dtype=np.uint8)
    uri, w, h = report.encode_strip(frames)  # 16:9 -> limited by the card's width
    (img,) = decoded_images(f"<img src='{uri}'>")
    assert (w, h) == (report.PREVIEW_MAX_WIDTH, round(report.PREVIEW_MAX_WIDTH * 90 / 160)) and img.shape[:2] == (h, w * report.PREVIEW_FRAMES)
    uri, w, h = report.encode_strip(frames[:, :, :90])  # square -> PREVIEW_PX high
    assert w == h == report.PREVIEW_PX


def test_report_command_compares_selection_files(phantom, tmp_path, no_graph_plot):
    data, _ = phantom
    csvs = []
    for method in ("random", "herding"):
        (tmp_path / method).mkdir()
        assert run_select(phantom, tmp_path / method, "--method", method).exit_code == 0
        csvs.append(str(tmp_path / method / "sel.csv"))
    args = ["report", *csvs, "--data", str(data), "--out", str(tmp_path / "cmp.html")]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "(2 selections, " in res.output
    page = (tmp_path / "cmp.html").read_text()
    # both files are sel.csv: each is named by as much of its path as tells them apart, and no more
    assert "random/sel.csv: random · VPC 2 · seed 0" in page and "herding/sel.csv: herding · VPC 2 · seed 0" in page
    assert "Nuisance kinds among the picked videos" in page and str(tmp_path) not in page
    assert len(decoded_images(page)) == sum(len(selected(Path(c).parent)) for c in csvs)
    again = CliRunner().invoke(cli, args)   # an existing --out is kept unless --overwrite
    assert isinstance(again.exception, ConfigError) and "cmp.html: exists; pass --overwrite" in str(again.exception)
    assert (tmp_path / "cmp.html").read_text() == page
    assert CliRunner().invoke(cli, args + ["--overwrite"], catch_exceptions=False).exit_code == 0


def test_selection_labels_tell_files_apart():
    assert report.selection_labels(["sel.csv", "out/sel_flow.csv", "/abs/x/sel_rand.csv"]) == [
        "sel.csv", "sel_flow.csv", "sel_rand.csv"]
    assert report.selection_labels(["/private/a/run1/sel.csv", "/private/a/run2/sel.csv"]) == ["run1/sel.csv", "run2/sel.csv"]
    assert report.selection_labels(["/p/sel.csv", "/p/sel.csv"]) == ["sel.csv (1)", "sel.csv (2)"]


def test_report_refuses_what_is_not_a_selection_in_one_line(phantom, tmp_path):
    data, feats = phantom
    for given, why in ((feats, "not a selection CSV (select's selection.csv); it is not a text file (extract's "
                               "features file?)"),
                       (data / "FileList.csv", "not a selection CSV (select's selection.csv); it has no class, "
                                               "community, centrality, method, seed columns")):
        res = CliRunner().invoke(cli, ["report", str(given), "--out", str(tmp_path / "r.html")])
        assert isinstance(res.exception, DataError) and str(res.exception) == f"{given}: {why}"
    assert not (tmp_path / "r.html").exists()


def test_report_of_one_selection_without_data(phantom, tmp_path, no_graph_plot):
    assert run_select(phantom, tmp_path).exit_code == 0
    res = CliRunner().invoke(cli, ["report", str(tmp_path / "sel.csv"), "--out", str(tmp_path / "one.html")],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "(1 selection, no --data: tables only)" in res.output and "report previews" not in res.output
    assert "<th>selection file</th><td>sel.csv</td>" in (tmp_path / "one.html").read_text()


def test_deidentified_page_leaves_out_notes_that_name_source_videos(tmp_path):
    from infomotion_rt.selection import methods as sel_mod

    rng = np.random.default_rng(0)
    names = [f"src{i:02d}" for i in range(12)] + ["secret_no_ef"]
    ef = [20.0, 35.0, 45.0, 60.0, 80.0] * 2 + [60.0, 60.0, float("nan")]
    fs = make_feature_set(names, rng.normal(size=(13, 4)), ef, ["TRAIN"] * 13, make_meta("test"))
    cfg = sel_mod.SelectConfig(vpc=1, method="random")
    sel = sel_mod.select_features(fs, cfg)
    assert any("secret_no_ef" in n for n in sel.notes)
    rename = {r["FileName"]: f"pseudo{i}" for i, r in enumerate(sel.rows)}
    page = report.write_selection_report(tmp_path / "r.html", sel, cfg, plot=False, rename=rename,
                                         progress=False).path.read_text()
    assert "secret_no_ef" not in page and not re.search(r"src\d\d", page) and "pseudo0" in page
    assert "left out of this de-identified page" in page
