"""select --export-dataset --deidentify --report: the shared page names pseudonyms, shows the cleaned videos,
and carries no source video name, source folder name or absolute path (docs/data-formats.md, "De-identified export")."""

import csv
import re

import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.data.video import read_frames, write_avi
from infomotion_rt.errors import ConfigError
from infomotion_rt.extract.featureset import make_feature_set, make_meta
from infomotion_rt.extract.files import write_features
from infomotion_rt.phantom.generate import generate


def test_deidentified_report_uses_the_export(tmp_path):
    src = tmp_path / "clinic_smith_2024"           # a source folder name that must not be shared
    generate(src, 5, seed=2, frames=24, progress=False)
    records = load_dataset(src, progress=False).records
    first = records[0].path
    frames = read_frames(first)
    frames[:, :12, :30] = 255                       # burned-in text outside the sector
    write_avi(first, frames, 50.0)
    rng = np.random.default_rng(0)
    feats = tmp_path / "f.npz"
    write_features(feats, make_feature_set([r.name for r in records], rng.normal(size=(len(records), 8)),
                                           [r.ef for r in records], ["TRAIN"] * len(records), make_meta("test")))
    out, report = tmp_path / "share" / "distilled", tmp_path / "share" / "report.html"
    r = CliRunner().invoke(cli, ["select", "--features", str(feats), "--vpc", "5", "--split", "all",
                                 "--out", str(tmp_path / "sel.csv"), "--export-dataset", str(out), "--deidentify",
                                 "--data", str(src), "--report", str(report)])
    assert r.exit_code == 0, r.output
    with open(out.parent / "distilled.deid-map.csv", newline="") as fh:
        mapping = {m["SourceName"]: m["FileName"] for m in csv.DictReader(fh)}
    with open(tmp_path / "sel.csv", newline="") as fh:
        sel_rows = list(csv.DictReader(fh))
    picked = [row["FileName"] for row in sel_rows]
    # The selection's weights leave with the de-identified export (no patient data), under the pseudonyms.
    with open(out / "FileList.csv", newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert list(exported[0])[-1] == "Weight" and len(exported[0]) == 10
    by_pseudonym = {mapping[row["FileName"]]: float(row["Weight"]) for row in sel_rows}
    assert {row["FileName"]: float(row["Weight"]) for row in exported} == by_pseudonym
    assert {r.name: r.weight for r in load_dataset(out, progress=False).records} == by_pseudonym
    page = report.read_text()
    assert f"wrote {report} ({len(picked)} previews)" in r.output
    assert all(mapping[n] in page for n in picked)              # the pseudonyms, previews of the export
    for private in [*picked, src.name, str(tmp_path)]:
        assert private not in page, private
    assert "(not exported)" not in page and re.search(r"data:image/(webp|jpeg);base64", page)


def test_deidentify_without_an_export_is_refused(tmp_path):
    """A report or selection CSV is never de-identified by itself: the flag alone would mislead."""
    feats = tmp_path / "f.npz"
    write_features(feats, make_feature_set(["a", "b"], np.eye(2), [30.0, 60.0], ["TRAIN"] * 2, make_meta("test")))
    for flags in (["--deidentify"], ["--deid-key", str(tmp_path / "k")]):
        r = CliRunner().invoke(cli, ["select", "--features", str(feats), "--vpc", "1", "--out",
                                     str(tmp_path / "s.csv"), "--report", str(tmp_path / "r.html"), *flags])
        assert r.exit_code == 1 and "apply to --export-dataset DIR only" in str(r.exception), r.output
        assert not (tmp_path / "r.html").exists()


def test_plain_export_keeps_only_the_echonet_columns(tmp_path):
    """A site's FileList with an extra column (here a patient name) loses it in any export, with a note."""
    from infomotion_rt.share.dataset import ECHONET_COLUMNS, export_dataset

    src = tmp_path / "site"
    generate(src, 3, seed=6, frames=24, progress=False)
    with open(src / "FileList.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    with open(src / "FileList.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["", *rows[0], "PatientName"]]
                                 + [[str(i), *r, f"DOE^JANE{i}"] for i, r in enumerate(rows[1:])])
    names = [r.name for r in load_dataset(src, progress=False).records]
    res = export_dataset(names, src, tmp_path / "out")
    with open(tmp_path / "out" / "FileList.csv", newline="") as fh:
        out = list(csv.reader(fh))
    assert tuple(out[0]) == ECHONET_COLUMNS and {len(r) for r in out} == {9} and "DOE" not in str(out)
    assert [line for line in res.problems.lines() if "PatientName not exported" in line]
    back = load_dataset(tmp_path / "out", progress=False)
    assert sorted(r.name for r in back.records) == sorted(names) and all(r.tracings for r in back.records)


def test_export_weight_is_the_selections_never_the_sources(tmp_path):
    """A source FileList with its own Weight column (body weight, as EchoNet-Pediatric's) never passes it
    on: the export's Weight is the one given (the selection's sample weight), in both export kinds."""
    from infomotion_rt.share.dataset import ECHONET_COLUMNS, export_dataset

    src = tmp_path / "site"
    generate(src, 3, seed=6, frames=24, progress=False)
    with open(src / "FileList.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    with open(src / "FileList.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([[*rows[0], "Weight"]] + [[*r, "71.5"] for r in rows[1:]])
    names = [r.name for r in load_dataset(src, progress=False).records]
    weights = dict(zip(names, (2.5, 0.25, 1.0 / 3.0)))
    for deidentify in (False, True):
        out = tmp_path / f"out{int(deidentify)}"
        res = export_dataset(names, src, out, deidentify=deidentify, weights=weights)
        with open(out / "FileList.csv", newline="") as fh:
            exported = list(csv.reader(fh))
        assert tuple(exported[0]) == (*ECHONET_COLUMNS, "Weight") and "71.5" not in str(exported)
        got = {r[0]: r[-1] for r in exported[1:]}
        assert got == {res.names[n]: f"{w:.6g}" for n, w in weights.items()}
        if not deidentify:
            assert [line for line in res.problems.lines() if "Weight not exported" in line]
    with pytest.raises(ConfigError, match="no positive weight for 1"):
        export_dataset(names, src, tmp_path / "bad", weights={**weights, names[0]: 0.0})
