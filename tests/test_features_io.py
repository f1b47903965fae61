"""Features file: one writer, one reader, validated, atomic."""

import json

import numpy as np
import pytest

from infomotion_rt.errors import DataError
from infomotion_rt.extract.featureset import FeatureSet, make_feature_set, make_meta
from infomotion_rt.extract.files import read_features, write_features


def small_set(n=6, d=4):
    rng = np.random.default_rng(0)
    return make_feature_set([f"v{i}" for i in range(n)], rng.normal(size=(n, d)), rng.uniform(10, 80, n),
                            ["TRAIN"] * (n - 1) + ["TEST"], make_meta("test", engine="x.onnx", model_hash="abc"))


def test_roundtrip(tmp_path):
    fs = small_set()
    path = write_features(tmp_path / "f.npz", fs)
    back = read_features(path)
    assert isinstance(back, FeatureSet)
    assert back.names.tolist() == fs.names.tolist() and back.split.tolist() == fs.split.tolist()
    assert back.features.dtype == np.float32 and np.array_equal(back.features, fs.features)
    assert np.array_equal(back.ef, fs.ef)
    assert back.meta["engine"] == "x.onnx" and back.meta["model_hash"] == "abc" and "version" in back.meta
    assert [p.name for p in tmp_path.iterdir()] == ["f.npz"]  # no temporary left behind


def test_write_replaces_atomically_and_keeps_old_on_failure(tmp_path):
    path = write_features(tmp_path / "f.npz", small_set())
    bad = FeatureSet(np.array(["a", "a"]), np.zeros((2, 3), np.float32), np.zeros(2), np.array(["", ""]),
                     make_meta("t"))
    with pytest.raises(DataError, match="duplicate"):
        write_features(path, bad)
    assert len(read_features(path)) == 6
    assert [p.name for p in tmp_path.iterdir()] == ["f.npz"]


def test_frozen():
    fs = small_set()
    with pytest.raises(AttributeError):
        fs.names = np.array([])


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("meta"), "missing meta"),
    (lambda a: a.update(features=a["features"].astype(np.float64)), "float32"),
    (lambda a: a.update(ef=a["ef"][:2]), "N=6"),
    (lambda a: a.update(meta=np.array("{not json")), "JSON"),
    (lambda a: a.update(names=np.array(["a"] * 6)), "duplicate"),
])
def test_read_rejects_malformed(tmp_path, change, message):
    fs = small_set()
    arrays = dict(names=fs.names, features=fs.features, ef=fs.ef, split=fs.split,
                  meta=np.array(json.dumps(fs.meta)))
    change(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message):
        read_features(tmp_path / "bad.npz")


def test_read_missing_and_garbage(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_features(tmp_path / "nope.npz")
    (tmp_path / "g.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a features file"):
        read_features(tmp_path / "g.npz")
