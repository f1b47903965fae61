"""A features store that scales: a folder of Parquet shards, beside the single ``.npz`` file for small jobs.

Layout (ours): ``DIR/part-00000.parquet``, ``part-00001.parquet``, ... each one Parquet file of up to
``shard_size`` videos, written whole under a temporary name and renamed (``atomic.py``), so a shard that
exists is complete. A resumed extraction reads only the FileName column of the finished shards, skips
those videos and numbers its new shards after them.

Schema of every shard (checked on read; any deviation is a one-line DataError naming the shard):

- ``FileName``  string, not null, unique across the store (video name without suffix)
- ``EF``        float64 (NaN = unknown)
- ``Split``     string ("" = unknown)
- ``features``  fixed_size_list<float32>[D], not null; D is the same in every shard
- schema metadata ``infomotion_rt.format`` = ``FORMAT`` and ``infomotion_rt.meta`` = the features meta as
  JSON (producer, engine, model_hash, version, ...; ``featureset.META_KEYS``); one model_hash per store.

Why Parquet through pyarrow: Ray Data and most data tools read it natively, a fixed-size list keeps
the vectors as one contiguous float32 buffer (read without per-row Python objects), and the schema carries
types and metadata, so a shard describes itself. pyarrow is a runtime dependency because ``select`` on a
workstation must read a store a cluster wrote; it is imported only when a folder is used.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from infomotion_rt.atomic import atomic_dir, atomic_path, remove_stale_temporaries
from infomotion_rt.errors import ConfigError, DataError, require
from infomotion_rt.extract.featureset import META_KEYS, FeatureSet, make_feature_set, read_npz, write_npz

FORMAT = "infomotion-rt features shard 1"
FORMAT_KEY = b"infomotion_rt.format"
META_KEY = b"infomotion_rt.meta"
SHARD_RE = re.compile(r"^part-(\d{5,})\.parquet$")
DEFAULT_SHARD_SIZE = 512   # ours: 512 x 256 float32 = 0.5 MB per shard; 1 M videos -> ~2,000 shards
COLUMNS = ("FileName", "EF", "Split", "features")


def _pa():
    require("pyarrow", what="a features folder (Parquet shards)",
            hint="reinstall infomotion-rt (pyarrow is a runtime dependency)")
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


FEATURES_SUFFIX_HINT = "a .npz file or a folder of shards (a name without a suffix, e.g. features/)"


def is_store_path(path) -> bool:
    """True when ``path`` names a shard folder: an existing folder, or a name without a suffix; False for a
    ``.npz`` name. Any other name (``feats.csv``, an existing file that is not ``.npz``) is a ConfigError
    saying what is expected, so a typo never becomes a folder named like a file."""
    path = Path(path)
    if path.is_dir():
        return True
    if path.suffix.lower() == ".npz":
        return False
    if path.exists():
        raise ConfigError(f"{path}: a features output is {FEATURES_SUFFIX_HINT}, not this existing file")
    if path.suffix:
        raise ConfigError(f"{path}: a features output is {FEATURES_SUFFIX_HINT}, not a {path.suffix} file")
    return True


def shard_paths(directory) -> list[Path]:
    """The finished shards of a store, in shard order (temporary ``.part-*.tmp`` files are not shards)."""
    directory = Path(directory)
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := SHARD_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def write_shard(path, names, features: np.ndarray, ef, split, meta: dict) -> Path:
    """Write one shard atomically. ``features`` (N, D) float32; ``ef`` (N,) float64; ``names``, ``split``
    (N,) str. DataError on a meta without the required keys or duplicate names."""
    pa, pq = _pa()
    path = Path(path)
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise DataError(f"{path}: features meta lacks {', '.join(missing)}")
    feats = np.ascontiguousarray(features, dtype=np.float32)
    n, d = feats.shape
    names = [str(s) for s in names]
    if len(set(names)) != n:
        raise DataError(f"{path}: duplicate video names in the shard")
    schema = pa.schema([("FileName", pa.string(), False), ("EF", pa.float64()), ("Split", pa.string()),
                        ("features", pa.list_(pa.float32(), d), False)],
                       metadata={FORMAT_KEY: FORMAT.encode(), META_KEY: json.dumps(meta, sort_keys=True).encode()})
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(feats.reshape(-1), type=pa.float32()), d)
    table = pa.Table.from_arrays([pa.array(names, type=pa.string()),
                                  pa.array(np.asarray(ef, dtype=np.float64), type=pa.float64()),
                                  pa.array([str(s) for s in split], type=pa.string()), vectors], schema=schema)
    with atomic_path(path) as tmp:
        # no dictionary or min/max statistics for the vectors (pyarrow's defaults: 4x the write time and
        # 50 % more bytes, benchmarks/bench_feature_store.py); zstd saves ~9 % on the shipped encoder's
        # vectors at no read cost we could measure (reading is dominated by the list's level decoding)
        pq.write_table(table, tmp, use_dictionary=["Split"], write_statistics=["FileName", "EF", "Split"],
                       compression="zstd")
    return path


def _shard_info(path: Path) -> tuple[dict, int, int]:
    """(meta, D, rows) of one shard from its footer alone, the schema validated; DataError naming the
    shard otherwise."""
    pa, pq = _pa()
    try:
        footer = pq.read_metadata(path)
        schema = footer.schema.to_arrow_schema()
    except Exception as exc:  # truncated or foreign file
        raise DataError(f"{path}: cannot read features shard ({exc})") from exc
    md = schema.metadata or {}
    if md.get(FORMAT_KEY) != FORMAT.encode():
        raise DataError(f"{path}: not an infomotion-rt features shard (schema metadata "
                        f"{FORMAT_KEY.decode()} is {md.get(FORMAT_KEY, b'absent').decode(errors='replace')!r})")
    try:
        meta = json.loads(md[META_KEY])
    except (KeyError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: schema metadata {META_KEY.decode()} is missing or not JSON") from exc
    missing = [c for c in COLUMNS if c not in schema.names]
    if missing:
        raise DataError(f"{path}: not a features shard, missing column {', '.join(missing)}")
    expected = {"FileName": pa.string(), "EF": pa.float64(), "Split": pa.string()}
    for col, typ in expected.items():
        if schema.field(col).type != typ:
            raise DataError(f"{path}: column {col} must be {typ}, got {schema.field(col).type}")
    ftype = schema.field("features").type
    if not (pa.types.is_fixed_size_list(ftype) and ftype.value_type == pa.float32()):
        raise DataError(f"{path}: column features must be fixed_size_list<float32>, got {ftype}")
    return meta, ftype.list_size, footer.num_rows


def _read_columns(path: Path, columns=COLUMNS):
    """The shard's table (``columns``), FileName without empty entries; DataError naming the shard."""
    _, pq = _pa()
    try:
        table = pq.read_table(path, columns=list(columns))
    except Exception as exc:
        raise DataError(f"{path}: cannot read features shard ({exc})") from exc
    if table.column("FileName").null_count:
        raise DataError(f"{path}: FileName has empty entries")
    return table


def _columns_to_arrays(path: Path, table, d: int, out: np.ndarray | None = None):
    """names (N,) str, features (N, D) float32 (written into ``out`` when given), ef, split."""
    col = table.column("features")
    if col.null_count:
        raise DataError(f"{path}: features has empty entries")
    n = table.num_rows
    flat = col.combine_chunks().flatten().to_numpy(zero_copy_only=False) if n else np.zeros(0, np.float32)
    feats = flat.reshape(n, d)
    if out is not None:
        out[...] = feats
        feats = out
    names = np.asarray(table.column("FileName").to_pylist(), dtype=str)
    if len(np.unique(names)) != n:
        raise DataError(f"{path}: duplicate video names")
    ef = table.column("EF").to_numpy(zero_copy_only=False).astype(np.float64)   # nulls -> NaN
    split = np.asarray([s or "" for s in table.column("Split").to_pylist()], dtype=str)
    return names, np.ascontiguousarray(feats, dtype=np.float32), ef, split


def read_shard(path):
    """One shard as a FeatureSet (validated; DataError naming the shard)."""
    path = Path(path)
    meta, d, _ = _shard_info(path)
    return FeatureSet(*_columns_to_arrays(path, _read_columns(path), d), meta)


def _check_same_model(path: Path, meta: dict, first: Path, first_meta: dict) -> None:
    if meta.get("model_hash") != first_meta.get("model_hash"):
        raise DataError(f"{path}: model hash {str(meta.get('model_hash'))[:12]} differs from "
                        f"{first.name}'s {str(first_meta.get('model_hash'))[:12]}; a store holds one model's vectors")


def read_store(directory):
    """Every shard of a store as one FeatureSet: (N, D) float32, names unique across shards, one model
    hash; meta = the last shard's meta plus ``shards`` (count). DataError naming the shard at fault.
    The vectors are read straight into one (N, D) array (sized from the shard footers), so the peak is
    the store's size plus one shard, not twice the store."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: features folder not found")
    paths = shard_paths(directory)
    if not paths:
        raise DataError(f"{directory}: no features shards (part-NNNNN.parquet) in this folder")
    infos = [_shard_info(p) for p in paths]
    (meta0, d0, _), first = infos[0], paths[0]
    for p, (meta, d, _) in zip(paths[1:], infos[1:]):
        _check_same_model(p, meta, first, meta0)
        if d != d0:
            raise DataError(f"{p}: vectors of length {d}, but {first.name} has {d0}")
    feats = np.empty((sum(n for _, _, n in infos), d0), np.float32)
    names, efs, splits, start = [], [], [], 0
    for p, (_, d, n) in zip(paths, infos):
        table = _read_columns(p)
        if table.num_rows != n:
            raise DataError(f"{p}: {table.num_rows} rows, its footer says {n}")
        nm, _, ef, sp = _columns_to_arrays(p, table, d, out=feats[start:start + n])
        names.append(nm)
        efs.append(ef)
        splits.append(sp)
        start += n
    names = np.concatenate(names)
    uniq, counts = np.unique(names, return_counts=True)
    if (counts > 1).any():    # name the first duplicate and the two shards that hold it
        dup = str(uniq[counts > 1][0])
        where = [p.name for p, nm in zip(paths, np.split(names, np.cumsum([n for _, _, n in infos])[:-1]))
                 if dup in nm]
        raise DataError(f"{directory / where[-1]}: video {dup} is also in {where[0]}")
    meta = {**infos[-1][0], "shards": len(paths)}
    return FeatureSet(names, feats, np.concatenate(efs), np.concatenate(splits), meta)


def write_store(directory, fs, shard_size: int = DEFAULT_SHARD_SIZE) -> Path:
    """Write a whole FeatureSet as a new store (replacing ``directory``) in shards of ``shard_size``."""
    if shard_size < 1:
        raise ConfigError("shard size must be >= 1")
    directory = Path(directory)
    with atomic_dir(directory, overwrite=True) as tmp:
        for i, start in enumerate(range(0, len(fs), shard_size)):
            sl = slice(start, start + shard_size)
            write_shard(tmp / shard_name(i), fs.names[sl], fs.features[sl], fs.ef[sl], fs.split[sl], fs.meta)
    return directory


def _resume_mismatch(out: Path, found_hash, model_hash: str) -> ConfigError:
    return ConfigError(f"{out}: --resume with a different model (hash {str(found_hash or '?')[:12]} vs "
                       f"{model_hash[:12]}); write to a new output instead")


def check_resumable(where: Path, found: dict, expect: dict, rows=None, labels=None) -> None:
    """ConfigError (one line naming ``where``) unless an output whose meta is ``found`` may be continued by
    a run whose meta will be ``expect``: the same ``representation`` (absent: the encoder's), ``model_hash``,
    ``split`` and ``dataset_fingerprint`` (each checked only when ``expect`` has it).

    A file without a fingerprint (written before fingerprints existed) is checked row by row instead:
    ``rows()`` gives its (names, ef, split) arrays and ``labels()`` this dataset's name -> (EF, split);
    every video in the file must be in the dataset with the same EF and split (ours: the one check such
    a file allows; it cannot tell a dataset that gained or relabelled videos not yet extracted)."""
    if "representation" in expect and (found.get("representation") or "encoder") != expect["representation"]:
        raise ConfigError(f"{where}: --resume onto {found.get('representation') or 'encoder'} features with "
                          f"representation {expect['representation']}; write to a new --out, or pass --overwrite")
    if "model_hash" in expect and found.get("model_hash") != expect["model_hash"]:
        raise _resume_mismatch(where, found.get("model_hash"), expect["model_hash"])
    if "split" in expect and "split" in found and found["split"] != expect["split"]:
        raise ConfigError(f"{where}: --resume of features of split {found['split']} with split {expect['split']}; "
                          "use the same --split, or a new --out")
    fp = expect.get("dataset_fingerprint")
    if not fp:
        return
    have = found.get("dataset_fingerprint")
    if have is not None:
        if have != fp:
            raise ConfigError(f"{where}: --resume with features of another dataset (fingerprint of video names, EF "
                              f"and splits {str(have)[:12]} vs this dataset's {fp[:12]}); write to a new --out, "
                              "or pass --overwrite instead of --resume")
        return
    if rows is None or labels is None:
        raise ConfigError(f"{where}: no dataset fingerprint to check --resume against; rerun without --resume")
    names, ef, split = rows()
    table = labels()
    for name, e, sp in zip(names.tolist(), np.asarray(ef, np.float64).tolist(), split.tolist()):
        want = table.get(name)
        same_ef = want is not None and (abs(want[0] - e) <= 1e-6 or (want[0] != want[0] and e != e))
        if want is None or not same_ef or want[1] != sp:
            what = "not in this dataset" if want is None else f"EF {e:g} / split {sp!r} here {want[0]:g} / {want[1]!r}"
            raise ConfigError(f"{where}: --resume with features of another dataset (video {name}: {what}; the file "
                              "predates dataset fingerprints); write to a new --out, or pass --overwrite")


def _exists_error(out: Path, what: str) -> ConfigError:
    return ConfigError(f"{out}: {what}; pass --resume to continue it or --overwrite to replace it "
                       "(resume=True / overwrite=True in Python)")


# ---------------------------------------------------------------------------------------------
# Sinks: where extraction puts its vectors (one interface for the .npz file and the shard folder).
# Opening a sink checks the output against the run (overwrite, resume); the model hash may be checked
# later (``check_model``), so that extraction loads its engine only once the data and output are known good.
# ---------------------------------------------------------------------------------------------

class NpzSink:
    """Keeps every vector; each ``save`` rewrites the whole ``.npz`` file (small jobs).

    ConfigError when ``out`` exists and neither ``resume`` nor ``overwrite`` is set, or when a resumed file
    does not match ``expect`` (``check_resumable``); DataError naming the file when it cannot be read."""

    def __init__(self, out: Path, resume: bool, model_hash: str | None = None, *, overwrite: bool = False,
                 expect: dict | None = None, labels=None) -> None:
        self.path = out
        self.names, self.feats, self.efs, self.splits = [], [], [], []
        self.found: dict | None = None
        self.tidy()
        if out.is_file() and not resume and not overwrite:
            raise _exists_error(out, "features file exists")
        if resume and out.is_file():
            try:
                prev = read_npz(out)
            except DataError as exc:
                raise DataError(f"{exc}; --overwrite replaces it") from exc
            self.found = prev.meta
            check_resumable(out, prev.meta, {**(expect or {}), **({"model_hash": model_hash} if model_hash else {})},
                            rows=lambda: (prev.names, prev.ef, prev.split), labels=labels)
            self.names, self.feats = prev.names.tolist(), list(prev.features)
            self.efs, self.splits = prev.ef.tolist(), prev.split.tolist()
        self.done = set(self.names)
        self.unsaved = 0

    def check_model(self, model_hash: str) -> None:
        """ConfigError when the resumed file holds another model's vectors."""
        if self.found is not None:
            check_resumable(self.path, self.found, {"model_hash": model_hash})

    @property
    def n_total(self) -> int:
        return len(self.names)

    @property
    def n_pending(self) -> int:
        return self.unsaved

    def add(self, name: str, vector: np.ndarray, ef: float, split: str) -> None:
        self.names.append(name)
        self.feats.append(vector)
        self.efs.append(ef)
        self.splits.append(split)
        self.unsaved += 1

    def save(self, meta: dict, complete_only: bool = False) -> None:
        if self.names:
            write_npz(self.path, make_feature_set(self.names, np.stack(self.feats), self.efs, self.splits,
                                                  meta))
        self.unsaved = 0

    def tidy(self) -> None:
        """Remove the half-written ``.NAME.*.tmp`` a killed or interrupted save left beside the file
        (extraction owns its output: no other process writes it meanwhile)."""
        remove_stale_temporaries(self.path)


class ShardSink:
    """Buffers new vectors; each ``save`` writes them as the next shard(s) of at most ``shard_size``
    videos. Finished shards are never rewritten; with ``overwrite`` the old shards are removed just before
    the first new one is written. Errors as ``NpzSink``."""

    def __init__(self, out: Path, resume: bool, model_hash: str | None = None, shard_size: int = DEFAULT_SHARD_SIZE,
                 *, overwrite: bool = False, expect: dict | None = None, labels=None) -> None:
        if shard_size < 1:
            raise ConfigError("shard size must be >= 1")
        self.path, self.shard_size = out, shard_size
        self.done: set[str] = set()
        self.pending: list[tuple[str, np.ndarray, float, str]] = []
        self.next_index = 0
        self.found: list[tuple[Path, dict]] = []
        self.replace: list[Path] = []
        self.tidy()
        existing = shard_paths(out) if out.is_dir() else []
        if existing and not resume and not overwrite:
            raise _exists_error(out, f"already holds {len(existing)} features shards")
        if existing and not resume:
            self.replace, existing = existing, []
        expect = {**(expect or {}), **({"model_hash": model_hash} if model_hash else {})}
        for p in existing:   # FileName only: resuming a million-video store reads a few MB
            meta, _, _ = _shard_info(p)
            check_resumable(p, meta, expect, labels=labels, rows=lambda p=p: self._rows(p))
            self.found.append((p, meta))
            self.done.update(_read_columns(p, ["FileName"]).column("FileName").to_pylist())
        if existing:
            self.next_index = int(SHARD_RE.match(existing[-1].name).group(1)) + 1
        self.n_stored = len(self.done)

    @staticmethod
    def _rows(path: Path):
        table = _read_columns(path, ["FileName", "EF", "Split"])
        split = np.asarray([s or "" for s in table.column("Split").to_pylist()], dtype=str)
        return (np.asarray(table.column("FileName").to_pylist(), dtype=str),
                table.column("EF").to_numpy(zero_copy_only=False), split)

    def check_model(self, model_hash: str) -> None:
        """ConfigError naming the first shard of another model."""
        for p, meta in self.found:
            check_resumable(p, meta, {"model_hash": model_hash})

    @property
    def n_total(self) -> int:
        return self.n_stored + len(self.pending)

    @property
    def n_pending(self) -> int:
        return len(self.pending)

    def add(self, name: str, vector: np.ndarray, ef: float, split: str) -> None:
        self.pending.append((name, vector, ef, split))

    def save(self, meta: dict, complete_only: bool = False) -> None:
        """Write the pending vectors as shards; with ``complete_only`` only full shards (the rest waits)."""
        while self.pending and (len(self.pending) >= self.shard_size or not complete_only):
            for old in self.replace:   # --overwrite: the old store goes only once there is something new
                old.unlink(missing_ok=True)
            self.replace = []
            chunk, self.pending = self.pending[:self.shard_size], self.pending[self.shard_size:]
            names, vecs, efs, splits = zip(*chunk)
            write_shard(self.path / shard_name(self.next_index), names, np.stack(vecs), efs, splits, meta)
            self.next_index += 1
            self.n_stored += len(chunk)

    def tidy(self) -> None:
        """Remove the half-written shards (``.part-*.tmp``) a killed or interrupted save left: never shards."""
        if self.path.is_dir():
            for tmp in self.path.glob(".part-*.tmp"):
                tmp.unlink(missing_ok=True)


def open_sink(out, resume: bool, model_hash: str | None = None, shard_size: int = DEFAULT_SHARD_SIZE, *,
              overwrite: bool = False, expect: dict | None = None, labels=None):
    """The sink for an extraction output: ShardSink for a folder (``is_store_path``), else NpzSink.

    ``expect``: meta entries a resumed output must match (``check_resumable``: split, dataset_fingerprint);
    ``labels``: a callable giving this dataset's name -> (EF, split), for files without a fingerprint;
    ``model_hash`` None: check it later with ``sink.check_model``. ConfigError for ``resume`` with
    ``overwrite``, for an existing output without either, and for a mismatching resume."""
    if resume and overwrite:
        raise ConfigError("--resume continues an output and --overwrite replaces it: give one of them")
    out = Path(out)
    if is_store_path(out):
        return ShardSink(out, resume, model_hash, shard_size, overwrite=overwrite, expect=expect, labels=labels)
    return NpzSink(out, resume, model_hash, overwrite=overwrite, expect=expect, labels=labels)
