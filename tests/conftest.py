"""Fixtures shared by several test files."""

from pathlib import Path

import numpy as np
import pytest

SHARED_PHANTOM_VIDEOS, SHARED_PHANTOM_SEED, SHARED_PHANTOM_FRAMES = 10, 3, 40


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="session")
def shared_phantom(tmp_path_factory):
    """One 10-video EchoNet-Dynamic phantom (seed 3, 40 frames), generated once per session, for the tests
    that only READ a phantom. A test that changes a data folder copies this one first
    (``shutil.copytree(shared_phantom, tmp_path / ...)``). Teardown fails if any test wrote into it."""
    from infomotion_rt.phantom.generate import generate

    out = tmp_path_factory.mktemp("shared") / "ph"
    generate(out, SHARED_PHANTOM_VIDEOS, seed=SHARED_PHANTOM_SEED, frames=SHARED_PHANTOM_FRAMES, progress=False)
    before = _snapshot(out)
    yield out
    assert _snapshot(out) == before, f"a test changed the shared phantom {out}; copy it to tmp_path first"


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
