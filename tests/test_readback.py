"""The foundation's acceptance check: a 300-video phantom is read back with the right ED/ES and EF."""

import numpy as np

from infomotion_rt.data.classes import DEFAULT_CLASSES
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.data.phases import disk_volume
from infomotion_rt.phantom import generate as phantom
from infomotion_rt.phantom.truth import load_truth


def test_300_video_phantom_reads_back_with_right_ed_es_and_ef(tmp_path):
    root = tmp_path / "ph300"
    phantom.generate(root, 300, seed=11, frames=24, progress=False)  # short clips keep this fast
    truth = {v["name"]: v for v in load_truth(root)["videos"]}

    ds = load_dataset(root, check_videos=True, progress=False)
    # The only notes are the phantom's deliberate archive label errors (label noise / wrong label, ~3.5 %
    # of clips, phantom_archive), flagged by the reader as FileList EF disagreeing with the tracings.
    assert len(ds) == 300
    labelled_off = {n for n, t in truth.items() if {"label noise", "wrong label"} & set(t["nuisance_kinds"])}
    assert all(name in labelled_off and "disagrees with the tracings" in msg for name, msg in ds.problems.problems), \
        ds.problems.lines()[:5]
    assert {r.split for r in ds.records} == {"TRAIN", "VAL", "TEST"}

    ef_error = []
    for r in ds.records:
        t = truth[r.name]
        assert (r.ed, r.es) == (t["ed"], t["es"]), r.name
        edv, esv = disk_volume(r.tracings[r.ed]), disk_volume(r.tracings[r.es])
        ef_error.append(abs(100 * (edv - esv) / edv - t["ef_true"]))
        assert abs(r.ef - t["ef_label"]) < 1e-3  # FileList keeps 4 decimals
    assert max(ef_error) < 0.5
    # All five EF classes are present, Normal the largest, as in EchoNet-Dynamic.
    counts = np.bincount(DEFAULT_CLASSES.index([r.ef for r in ds.records]), minlength=5)
    assert (counts > 0).all() and counts.argmax() == 3
