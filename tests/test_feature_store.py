"""Features store (a folder of Parquet shards): same vectors as the .npz file, validated on read with the
shard named, shards written whole, resume skips finished shards; extract and select take a folder."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from infomotion_rt.cli import cli
from infomotion_rt.errors import ConfigError, DataError
from infomotion_rt.extract.featureset import make_feature_set, make_meta
from infomotion_rt.extract.files import read_features
from infomotion_rt.extract.pipeline import ExtractConfig, extract_features
from infomotion_rt.extract.store import ShardSink, read_store, shard_paths, write_shard, write_store


def small_set(n=7, d=4, model_hash="abc"):
    rng = np.random.default_rng(0)
    return make_feature_set([f"v{i}" for i in range(n)], rng.normal(size=(n, d)), rng.uniform(10, 80, n),
                            ["TRAIN"] * (n - 1) + ["TEST"], make_meta("test", engine="x.onnx", model_hash=model_hash))


def test_roundtrip_in_shards_keeps_everything(tmp_path):
    fs = small_set()
    store = write_store(tmp_path / "store", fs, shard_size=3)
    assert [p.name for p in shard_paths(store)] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert sorted(p.name for p in store.iterdir()) == [p.name for p in shard_paths(store)]  # no temporaries
    back = read_features(store)
    assert back.names.tolist() == fs.names.tolist() and back.split.tolist() == fs.split.tolist()
    assert back.features.dtype == np.float32 and np.array_equal(back.features, fs.features)
    assert np.array_equal(back.ef, fs.ef) and back.meta["model_hash"] == "abc" and back.meta["shards"] == 3
    schema = pq.read_schema(shard_paths(store)[0])
    assert schema.field("features").type == pa.list_(pa.float32(), 4)
    assert json.loads(schema.metadata[b"infomotion_rt.meta"])["engine"] == "x.onnx"


def _write_table(path, **columns):
    cols = dict(FileName=pa.array(["a", "b"]), EF=pa.array([50.0, 60.0]), Split=pa.array(["TRAIN", "TRAIN"]),
                features=pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(8, np.float32)), 4))
    cols.update(columns)
    meta = {b"infomotion_rt.format": b"infomotion-rt features shard 1",
            b"infomotion_rt.meta": json.dumps(make_meta("t", model_hash="abc")).encode()}
    pq.write_table(pa.table(cols).replace_schema_metadata(meta), path)


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(b"not parquet"), "cannot read features shard"),
    (lambda p: pq.write_table(pa.table({"FileName": ["a"]}), p), "not an infomotion-rt features shard"),
    (lambda p: _write_table(p, features=pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(8)), 4)),
     "fixed_size_list<float32>"),
    (lambda p: _write_table(p, features=pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(4, np.float32)), 2)),
     "vectors of length 2, but part-00000.parquet has 4"),
    (lambda p: _write_table(p, EF=pa.array(["x", "y"])), "column EF must be double"),
    (lambda p: _write_table(p, FileName=pa.array(["v0", "z"])), "video v0 is also in part-00000.parquet"),
])
def test_a_bad_shard_is_named(tmp_path, damage, message):
    store = write_store(tmp_path / "store", small_set(), shard_size=4)
    bad = store / "part-00007.parquet"
    damage(bad)
    with pytest.raises(DataError, match=message) as err:
        read_features(store)
    assert "part-0000" in str(err.value) and "\n" not in str(err.value)


def test_one_model_per_store_and_empty_folders(tmp_path):
    store = write_store(tmp_path / "store", small_set(), shard_size=4)
    other = small_set(model_hash="def")
    write_shard(store / "part-00002.parquet", ["w0"], other.features[:1], [1.0], ["TRAIN"], other.meta)
    with pytest.raises(DataError, match="part-00002.parquet: model hash def"):
        read_store(store)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no features shards"):
        read_features(tmp_path / "empty")


def test_sink_resumes_after_finished_shards(tmp_path):
    fs, out = small_set(), tmp_path / "f"
    sink = ShardSink(out, resume=False, model_hash="abc", shard_size=2)
    for i in range(5):
        sink.add(fs.names[i], fs.features[i], fs.ef[i], fs.split[i])
    sink.save(fs.meta)                                   # 5 pending -> shards of 2, 2, 1
    assert len(shard_paths(out)) == 3 and sink.n_total == 5
    with pytest.raises(ConfigError, match="--resume"):
        ShardSink(out, resume=False, model_hash="abc")
    with pytest.raises(ConfigError, match="different model"):
        ShardSink(out, resume=True, model_hash="zzz")
    again = ShardSink(out, resume=True, model_hash="abc", shard_size=2)
    assert again.done == set(fs.names[:5].tolist()) and again.next_index == 3
    for i in range(5, 7):
        again.add(fs.names[i], fs.features[i], fs.ef[i], fs.split[i])
    again.save(fs.meta)
    back = read_features(out)
    assert back.names.tolist() == fs.names.tolist() and np.array_equal(back.features, fs.features)


@pytest.fixture(scope="module")
def phantom(shared_phantom):
    """conftest.py's shared 10-video phantom (read only)."""
    return shared_phantom


def test_extract_to_a_folder_equals_the_npz_and_select_reads_it(phantom, tmp_path):
    cfg = ExtractConfig(batch_size=2, threads=1, save_every=4)
    extract_features(phantom, None, tmp_path / "f.npz", cfg, progress=False)
    res = extract_features(phantom, None, tmp_path / "store", cfg, progress=False)
    assert res.n_new == 10 and len(shard_paths(tmp_path / "store")) == 3      # shards of 4, 4, 2 videos
    a, b = read_features(tmp_path / "f.npz"), read_features(tmp_path / "store")
    assert a.names.tolist() == b.names.tolist() and np.array_equal(a.features, b.features)
    # a resumed run skips the videos of finished shards (here: drop the last shard, as if interrupted)
    shard_paths(tmp_path / "store")[-1].unlink()
    res = extract_features(phantom, None, tmp_path / "store", ExtractConfig(threads=1, save_every=4, resume=True),
                           progress=False)
    assert (res.n_skipped, res.n_new) == (8, 2)
    assert read_features(tmp_path / "store").names.tolist() == a.names.tolist()
    out = CliRunner().invoke(cli, ["select", "--features", str(tmp_path / "store"), "--vpc", "1", "--split", "all",
                                   "--method", "random", "--out", str(tmp_path / "sel.csv")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "sel.csv").is_file()
