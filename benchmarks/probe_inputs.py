"""Shared setup of the development-phantom probe studies (bench_infomotion_choice.py,
bench_selection_metric_probe.py): a dataset's TRAIN pool and TEST split on the videos both representations
hold, as the probe benchmark (``evaluate/probe_benchmark.py``) takes them."""

from __future__ import annotations

import numpy as np

from infomotion_rt.data.loader import load_dataset
from infomotion_rt.evaluate.probe import _matrix
from infomotion_rt.extract.featureset import FeatureSet
from infomotion_rt.extract.files import read_features
from infomotion_rt.extract.pixels import load_or_build


def load(data_dir, features):
    """(names, y, yt, x, xt, row, fs_pool, test): TRAIN names with EF, their EF (N,) and TEST's (M,) in EF points;
    x / xt: {"features": (N, D), "pixels": (N, 768)} and the same for TEST, float64; row: name -> index into
    names; fs_pool: the FEATURES vectors of the pool as a FeatureSet (for selection); test: TEST records. The
    pixels representation is built (or read) beside FEATURES."""
    ds = load_dataset(data_dir, progress=False)
    feats = read_features(features)
    pixels, _ = load_or_build(ds.records, features, log=print)
    both = set(feats.names.tolist()) & set(pixels.names.tolist())
    pool = [r for r in ds.split("TRAIN") if r.name in both and np.isfinite(r.ef)]
    test = [r for r in ds.split("TEST") if r.name in both]
    names = [r.name for r in pool]
    y = np.array([r.ef for r in pool])
    yt = np.array([r.ef for r in test])
    reps = {"features": feats, "pixels": pixels}
    x = {k: _matrix(v, names) for k, v in reps.items()}
    xt = {k: _matrix(v, [r.name for r in test]) for k, v in reps.items()}
    row = {n: i for i, n in enumerate(names)}
    fs_pool = FeatureSet(np.array(names), x["features"], y, np.array(["TRAIN"] * len(names)), feats.meta)
    return names, y, yt, x, xt, row, fs_pool, test
