"""Read and write a features file: one ``.npz`` (``featureset``) or a folder of Parquet shards (``store``),
chosen by the path."""

from __future__ import annotations

from pathlib import Path

from infomotion_rt.extract.featureset import FeatureSet, read_npz, write_npz
from infomotion_rt.extract.store import is_store_path, read_store, write_store


def write_features(path, fs: FeatureSet) -> Path:
    """Write ``fs`` to ``path``: an ``.npz`` via a temporary file and a rename, or, for a path that is a
    folder or does not end in .npz, a store of Parquet shards (``store.write_store``). Raises DataError
    when the meta lacks a required key or a name repeats."""
    path = Path(path)
    if is_store_path(path):
        return write_store(path, fs)
    return write_npz(path, fs)


def read_features(path) -> FeatureSet:
    """Read and validate a features file (.npz) or a folder of shards (``store.read_store``); every
    problem is a DataError naming the file or shard."""
    path = Path(path)
    if path.is_dir():
        return read_store(path)
    return read_npz(path)
