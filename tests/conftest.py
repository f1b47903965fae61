"""Fixtures shared by several test files."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_probe_inputs(tmp_path_factory):
    """(data folder, features file): a 30-video dynamic phantom (seed 7, 32 frames) and random 8-D vectors
    for every video, for the paired benchmarks (probe and pool-resampled CNN)."""
    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.phantom.generate import generate
    from infomotion_rt.extract.featureset import make_feature_set
    from infomotion_rt.extract.featureset import make_meta
    from infomotion_rt.extract.files import write_features

    root = tmp_path_factory.mktemp("pbench")
    data = generate(root / "p", 30, seed=7, frames=32, progress=False).out_dir
    ds = load_dataset(data, progress=False)
    feats = root / "motion.npz"
    rng = np.random.default_rng(2)
    write_features(feats, make_feature_set([r.name for r in ds.records], rng.normal(size=(len(ds.records), 8)),
                                           [r.ef for r in ds.records], [r.split for r in ds.records],
                                           make_meta("test")))
    return data, feats
