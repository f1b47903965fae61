"""Ray Data extraction (extract --ray) equals single-process extraction, lists failed videos the same way,
and says which extra to install when Ray is missing.

The Ray test needs the [distributed] extra, which CI's `pip install '.[train,test]'` does not install
(ray[data] is ~250 MB with pandas): it is skipped there and run where the extra is installed."""

import importlib.util
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.errors import ConfigError, DataError, DependencyError
from infomotion_rt.extract.files import read_features
from infomotion_rt.extract.pipeline import ExtractConfig, extract_features

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="Ray is the [distributed] extra, not installed (not part of CI's [test])")


@pytest.fixture(scope="module")
def phantom_with_a_broken_video(tmp_path_factory):
    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.phantom.generate import generate

    data = generate(tmp_path_factory.mktemp("ray") / "ph", 7, seed=4, frames=40, progress=False).out_dir
    victim = load_dataset(data, progress=False).records[2]
    victim.path.write_bytes(b"not a video")
    return data, victim.name


@needs_ray
def test_ray_extraction_equals_single_process(phantom_with_a_broken_video, tmp_path):
    import ray

    from infomotion_rt.extract.ray_cluster import RayConfig, extract_on_ray
    from infomotion_rt.extract.store import shard_paths

    data, broken = phantom_with_a_broken_video
    cfg = ExtractConfig(batch_size=2, threads=1, save_every=4)
    single = extract_features(data, None, tmp_path / "single.npz", cfg, progress=False)
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        res = extract_on_ray(data, None, tmp_path / "store", cfg, RayConfig(actors=2), progress=False)
        assert ray.is_initialized()          # an instance the caller started is left running
    finally:
        ray.shutdown()
    assert (res.n_new, res.n_total) == (6, 6) and len(shard_paths(tmp_path / "store")) == 2
    assert sorted(res.problems.lines()) == sorted(single.problems.lines()) and broken in {n for n, _ in res.problems}
    a, b = read_features(tmp_path / "single.npz"), read_features(tmp_path / "store")
    order = np.argsort(b.names)                           # Ray returns batches in completion order
    assert b.names[order].tolist() == sorted(a.names.tolist())
    np.testing.assert_allclose(b.features[order], a.features[np.argsort(a.names)], rtol=1e-5, atol=1e-6)
    assert np.array_equal(b.ef[order], a.ef[np.argsort(a.names)])
    assert b.meta["model_hash"] == a.meta["model_hash"] and b.meta["distributed"]["actors"] == 2


def test_missing_ray_names_the_extra(phantom_with_a_broken_video, tmp_path, monkeypatch):
    from infomotion_rt.extract.ray_cluster import require_ray

    monkeypatch.setitem(sys.modules, "ray", None)          # as if not installed
    with pytest.raises(DependencyError, match=r"\[distributed\]"):
        require_ray()
    out = CliRunner().invoke(cli, ["extract", str(phantom_with_a_broken_video[0]), "--ray", "--actors", "2",
                                   "--out", str(tmp_path / "f")])
    assert isinstance(out.exception, DependencyError) and "\n" not in str(out.exception)   # main() prints one line
    out = CliRunner().invoke(cli, ["extract", str(phantom_with_a_broken_video[0]), "--actors", "2",
                                   "--out", str(tmp_path / "f")])
    assert isinstance(out.exception, ConfigError) and "--actors needs --ray" in str(out.exception)


def test_the_actor_udf_alone_matches_single_process(phantom_with_a_broken_video, tmp_path):
    """The map_batches class, called as Ray Data calls it (numpy batch of pickled records), without Ray."""
    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.extract.ray_cluster import VideoEncoderActor, _slim
    from infomotion_rt.runtime import default_engine, file_sha256

    data, broken = phantom_with_a_broken_video
    single = read_features(extract_features(data, None, tmp_path / "f.npz", ExtractConfig(threads=1),
                                            progress=False).path)
    records = load_dataset(data, progress=False).records
    actor = VideoEncoderActor(None, "cpu", 1, file_sha256(default_engine()))
    out = actor({"record": np.array([_slim(r) for r in records], dtype=object)})
    assert out["features"].shape == (len(records), single.features.shape[1]) and out["features"].dtype == np.float32
    assert [n for n, e in zip(out["name"], out["error"]) if e] == [broken]
    good = {n: v for n, v, e in zip(out["name"], out["features"], out["error"]) if not e}
    np.testing.assert_allclose(np.stack([good[n] for n in single.names]), single.features, rtol=1e-5, atol=1e-6)
    with pytest.raises(DataError, match="SHA-256"):
        VideoEncoderActor(None, "cpu", 1, "0" * 64)


def test_an_unreachable_cluster_address_fails_fast_with_the_address():
    """No Ray needed: the TCP check runs before ray.init, which would retry a dead head for minutes."""
    import socket

    from infomotion_rt.extract.ray_cluster import check_reachable
    from infomotion_rt.errors import InfoMotionError

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        check_reachable(f"127.0.0.1:{port}")            # a head that answers passes
        check_reachable(f"ray://127.0.0.1:{port}")
    with pytest.raises(InfoMotionError, match=rf"--ray 127\.0\.0\.1:{port}: no Ray head answers"):
        check_reachable(f"127.0.0.1:{port}", timeout_s=2)   # nothing listens there any more
    check_reachable("auto")                               # left to Ray
