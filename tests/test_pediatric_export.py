"""An EchoNet-Pediatric source through export and relabelling: no demographics leave, outlines do.

The view folder is built in the release's schema by ``test_pediatric._write_view`` (phantom videos, a
FileList with Sex/Age/Weight/Height, outline tracings).
"""

import csv

import pytest
from test_pediatric import _write_view

from infomotion_rt.data.loader import load_dataset
from infomotion_rt.data.pediatric import DEFAULT_FOLDS, configure
from infomotion_rt.phantom.generate import generate
from infomotion_rt.phantom.truth import load_truth
from infomotion_rt.share.dataset import ECHONET_COLUMNS, export_dataset

N = 5  # folds 0, 3, 7, 8, 9 (test_pediatric.FOLDS): TRAIN x3, VAL, TEST


@pytest.fixture(autouse=True)
def _default_options():
    configure(DEFAULT_FOLDS, "A4C")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    base = tmp_path_factory.mktemp("pedexp")
    generate(base / "src", N, seed=5, frames=32, progress=False)
    names = [v["name"] for v in load_truth(base / "src")["videos"]]
    _write_view(base / "src", base / "root" / "A4C", names)
    _write_view(base / "src", base / "root" / "PSAX", names[:2])
    return base / "root"


def _header(path):
    with open(path, newline="") as fh:
        return next(csv.reader(fh))


@pytest.mark.parametrize("deidentify", [False, True])
@pytest.mark.parametrize("source", ["root", "view"])
def test_export_has_no_demographics_and_reads_back_the_outlines(root, tmp_path, source, deidentify):
    data = root if source == "root" else root / "A4C"
    src = {r.name: r for r in load_dataset(data).records}
    out = tmp_path / "export"
    # From the root, the selection's sample weights go along: a Weight column, never the body weight.
    weights = {n: 0.25 * (i + 1) for i, n in enumerate(sorted(src))} if source == "root" else None
    res = export_dataset(sorted(src), data, out, deidentify=deidentify, weights=weights)
    assert res.n_videos == N and not res.problems.lines()

    extra = ("Weight",) if weights else ()
    assert tuple(_header(out / "FileList.csv")) == (*ECHONET_COLUMNS, *extra)
    with open(out / "FileList.csv", newline="") as fh:
        cells = list(csv.reader(fh))
    assert {len(row) for row in cells} == {len(ECHONET_COLUMNS) + len(extra)}  # no Sex/Age/Height column or cell
    assert not {"Sex", "Age", "Height"} & set(cells[0]) and ("Weight" in cells[0]) == bool(weights)
    if weights:
        assert sorted(float(row[-1]) for row in cells[1:]) == sorted(weights.values())
    assert _header(out / "VolumeTracings.csv") == ["FileName", "X", "Y", "Frame", "View"]

    back = load_dataset(out)
    assert back.layout == "dynamic" and not back.problems.lines()
    if deidentify:
        with open(res.map_file, newline="") as fh:
            source_of = {r["FileName"]: r["SourceName"] for r in csv.DictReader(fh)}
    else:
        source_of = {n: n for n in src}
    assert len(back.records) == N
    for r in back.records:
        s = src[source_of[r.name]]
        assert (r.ed, r.es) == (s.ed, s.es) and r.ed is not None
        assert r.split == s.split and r.split in ("TRAIN", "VAL", "TEST")
        assert r.ef == pytest.approx(s.ef, abs=1e-3)
        assert r.view == "A4C" and r.traced_ef == pytest.approx(s.traced_ef, abs=0.1)
        assert r.weight == (weights[s.name] if weights else 1.0)


def test_a_psax_export_reads_back_as_psax(root, tmp_path):
    """Area-length EF is an A4C measure: a PSAX outline read back from an export must not get one."""
    src = {r.name: r for r in load_dataset(root / "PSAX").records}
    export_dataset(sorted(src), root / "PSAX", tmp_path / "export")
    back = load_dataset(tmp_path / "export")
    assert len(back.records) == 2 and not back.problems.lines()
    for r in back.records:
        assert r.view == "PSAX" and r.traced_ef is None and (r.ed, r.es) == (src[r.name].ed, src[r.name].es)


def test_a_labels_csv_on_the_pediatric_root_keeps_its_videos_and_outlines(root, tmp_path):
    src = {r.name: r for r in load_dataset(root).records}
    names = sorted(src)[:3]
    labels = tmp_path / "relabelled.csv"
    with open(labels, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["FileName", "EF", "Split"])
        w.writerows([[names[0], "12.5", "TEST"], [f"{names[1]}.avi", "61", ""], [names[2], "44", "9"],
                     ["NOT_IN_THE_VIEW", "50", "TRAIN"]])
    ds = load_dataset(root, labels)
    got = {r.name: r for r in ds.records}
    assert ds.layout == "pediatric" and sorted(got) == names
    assert (got[names[0]].ef, got[names[0]].split) == (12.5, "TEST")
    assert (got[names[1]].ef, got[names[1]].split) == (61.0, src[names[1]].split)  # no Split cell: the fold's
    assert got[names[2]].split == "TEST"  # fold 9 mapped
    for n in names:
        assert got[n].path == src[n].path and (got[n].ed, got[n].es) == (src[n].ed, src[n].es)
    assert ds.dropped == ("NOT_IN_THE_VIEW",)
    assert [line for line in ds.problems.lines() if "NOT_IN_THE_VIEW" in line]
    assert not [line for line in ds.problems.lines() if "disagrees" in line]  # a relabelled EF is not checked
