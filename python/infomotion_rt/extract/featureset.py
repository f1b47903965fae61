"""The features file that links `extract` to `select`: one vector per video, its EF and split.

Features file (``.npz``, written atomically, read with ``allow_pickle=False``):
``names`` (N,) str, ``features`` (N, D) float32, ``ef`` (N,) float64 (NaN = unknown),
``split`` (N,) str, ``meta`` a JSON string with at least producer, engine, model_hash, version;
``extract`` adds split and dataset_fingerprint (``dataset_fingerprint``), which ``--resume`` checks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from infomotion_rt._version import __version__
from infomotion_rt.atomic import atomic_path
from infomotion_rt.errors import DataError


FEATURES_KEYS = ("names", "features", "ef", "split", "meta")
META_KEYS = ("producer", "engine", "model_hash", "version")


@dataclass(frozen=True)
class FeatureSet:
    """One vector per video, with its label and split. Arrays are owned, not copied on access."""

    names: np.ndarray      # (N,) str
    features: np.ndarray   # (N, D) float32
    ef: np.ndarray         # (N,) float64, NaN where unknown
    split: np.ndarray      # (N,) str, "" where unknown
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.names)
        if self.features.ndim != 2 or self.features.shape[0] != n:
            raise DataError(f"features must be (N={n}, D), got shape {self.features.shape}")
        if self.ef.shape != (n,) or self.split.shape != (n,):
            raise DataError(f"ef and split must have N={n} entries, got {self.ef.shape} and {self.split.shape}")

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, mask: np.ndarray) -> "FeatureSet":
        return FeatureSet(self.names[mask], self.features[mask], self.ef[mask], self.split[mask], self.meta)


def make_meta(producer: str, engine: str = "", model_hash: str = "", **extra) -> dict:
    """The meta block every features file carries."""
    return {"producer": producer, "engine": engine, "model_hash": model_hash, "version": __version__, **extra}


def make_feature_set(names, features, ef=None, split=None, meta: dict | None = None) -> FeatureSet:
    """Build a FeatureSet with the canonical dtypes (float32 vectors, float64 EF, str names)."""
    names = np.asarray([str(s) for s in names], dtype=str)
    n = len(names)
    feats = np.ascontiguousarray(np.asarray(features, dtype=np.float32).reshape(n, -1))
    ef = np.full(n, np.nan) if ef is None else np.asarray(ef, dtype=np.float64)
    split = np.full(n, "", dtype=str) if split is None else np.asarray([str(s) for s in split], dtype=str)
    return FeatureSet(names, feats, ef, split, dict(meta or make_meta("unknown")))


def write_npz(path, fs: FeatureSet) -> Path:
    """Write ``fs`` to ``path`` (.npz) via a temporary file in the same folder and a rename. DataError when
    the meta lacks a required key or a name repeats."""
    path = Path(path)
    missing = [k for k in META_KEYS if k not in fs.meta]
    if missing:
        raise DataError(f"{path}: features meta lacks {', '.join(missing)}")
    if len(set(fs.names.tolist())) != len(fs.names):
        raise DataError(f"{path}: duplicate video names in the feature set")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a file object: numpy appends no '.npz'
        np.savez(fh, names=fs.names.astype(str), features=fs.features.astype(np.float32),
                 ef=fs.ef.astype(np.float64), split=fs.split.astype(str),
                 meta=np.array(json.dumps(fs.meta, sort_keys=True)))
    return path


def read_npz(path) -> FeatureSet:
    """Read and validate one features file (.npz); every problem is a DataError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: features file not found")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] != b"PK":   # an .npz is a zip; without this, numpy answers a CSV with its allow_pickle message
        kind = "an empty file" if not magic else _text_kind(path) or "not a zip archive"
        raise DataError(f"{path}: not a features file ({kind}); expected the .npz or the folder of shards "
                        "that `infomotion-rt extract` writes")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in FEATURES_KEYS if k not in z.files]
            if missing:
                raise DataError(f"{path}: not a features file, missing {', '.join(missing)}")
            arrays = {k: z[k] for k in FEATURES_KEYS}
    except DataError:
        raise
    except Exception as exc:  # zip/npy corruption (a truncated copy), pickled objects
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: cannot read features file, corrupt or truncated .npz ({why})") from exc
    try:
        meta = json.loads(str(arrays["meta"]))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: meta is not valid JSON ({exc})") from exc
    feats = arrays["features"]
    if feats.dtype != np.float32 or feats.ndim != 2:
        raise DataError(f"{path}: features must be a 2-D float32 array, got {feats.dtype} {feats.shape}")
    try:
        fs = FeatureSet(arrays["names"].astype(str), feats, arrays["ef"].astype(np.float64),
                        arrays["split"].astype(str), meta)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from exc
    if len(set(fs.names.tolist())) != len(fs):
        raise DataError(f"{path}: duplicate video names")
    return fs


def _text_kind(path: Path) -> str | None:
    """'a CSV file' / 'a text file' when the file starts as UTF-8 text, else None."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\0" in text:
        return None
    return "a CSV file" if "," in text.splitlines()[0] else "a text file"


def dataset_fingerprint(records) -> str:
    """SHA-256 (hex) over the sorted (name, EF, split) of ``records``: what a resumed extraction must
    share with the one that wrote its output. EF to 4 decimals (NaN as ``nan``). A million videos take
    about a second; extraction computes it once and stores it in the features meta."""
    lines = sorted(f"{r.name}\t{r.ef:.4f}\t{r.split}" for r in records)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
