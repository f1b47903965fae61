"""Motion features per video, and the features file that links `extract` to `select`.

Features file (``.npz``, written atomically, read with ``allow_pickle=False``):
``names`` (N,) str, ``features`` (N, D) float32, ``ef`` (N,) float64 (NaN = unknown),
``split`` (N,) str, ``meta`` a JSON string with at least producer, engine, model_hash, version;
``extract`` adds split and dataset_fingerprint (``dataset_fingerprint``), which ``--resume`` checks.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import ConfigError, DataError, InfoMotionError, ProblemLog, Terminated

# ---------------------------------------------------------------------------------------------
# Features-file I/O (defined once; extraction, below, writes through write_features).
# ---------------------------------------------------------------------------------------------

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
    from . import __version__

    return {"producer": producer, "engine": engine, "model_hash": model_hash, "version": __version__, **extra}


def make_feature_set(names, features, ef=None, split=None, meta: dict | None = None) -> FeatureSet:
    """Build a FeatureSet with the canonical dtypes (float32 vectors, float64 EF, str names)."""
    names = np.asarray([str(s) for s in names], dtype=str)
    n = len(names)
    feats = np.ascontiguousarray(np.asarray(features, dtype=np.float32).reshape(n, -1))
    ef = np.full(n, np.nan) if ef is None else np.asarray(ef, dtype=np.float64)
    split = np.full(n, "", dtype=str) if split is None else np.asarray([str(s) for s in split], dtype=str)
    return FeatureSet(names, feats, ef, split, dict(meta or make_meta("unknown")))


def write_features(path, fs: FeatureSet) -> Path:
    """Write ``fs`` to ``path`` (.npz) via a temporary file in the same folder and a rename; a path that
    is a folder or does not end in .npz gets a store of Parquet shards (``feature_store.write_store``)."""
    path = Path(path)
    from .feature_store import is_store_path, write_store

    if is_store_path(path):
        return write_store(path, fs)
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


def read_features(path) -> FeatureSet:
    """Read and validate a features file (.npz) or a folder of shards (``feature_store.read_store``);
    every problem is a DataError naming the file or shard."""
    path = Path(path)
    if path.is_dir():
        from .feature_store import read_store

        return read_store(path)
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
    import hashlib

    lines = sorted(f"{r.name}\t{r.ef:.4f}\t{r.split}" for r in records)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def split_records(dataset, split: str | None, data_dir) -> list:
    """The records of ``split`` (None: all). DataError when there are none, naming the splits present."""
    if not split:
        return list(dataset.records)
    records = dataset.split(split)
    if not records:
        from collections import Counter

        present = Counter(r.split or "none" for r in dataset.records)
        raise DataError(f"no {split.upper()} videos in {data_dir} (splits present: "
                        + ", ".join(f"{k} {v}" for k, v in sorted(present.items())) + ")")
    return records


def resume_checks(dataset, cfg, representation: str = "encoder") -> tuple[dict, object]:
    """(expect, labels) for ``feature_store.open_sink``: the representation (meta ``representation``; a file
    without one holds the encoder's vectors), split and dataset fingerprint a resumed output must carry, and
    the name -> (EF, split) table for files without a fingerprint."""
    expect = {"representation": representation, "split": cfg.split or "ALL",
              "dataset_fingerprint": dataset_fingerprint(dataset.records)}
    return expect, lambda: {r.name: (float(r.ef), r.split) for r in dataset.records}


# ---------------------------------------------------------------------------------------------
# Extraction: video -> frame pairs -> motion vector; batched, decoding overlapped with inference,
# resumable. The encoder is reached only through ``runtime.load_encoder`` (backend by file suffix).
# ---------------------------------------------------------------------------------------------

# The model-file contract and the input builder are the runtime's (runtime.contract, runtime.inputs).
from .runtime.contract import FEATURE_LAYOUT, NORMALISATION, VECTOR_DEFAULT  # noqa: E402


@dataclass(frozen=True)
class ExtractConfig:
    split: str | None = None    # TRAIN / VAL / TEST, None = every video
    batch_size: int = 16
    device: str = "auto"        # auto: a GPU when the backend finds one, else the CPU; or cpu / cuda
    threads: int = 0            # backend threads; 0 = its default
    prefetch_batches: int = 2   # decoded batches the reader may run ahead
    resume: bool = False
    save_every: int = 512       # videos between intermediate saves, so an interrupted run can resume
    keep_paths: bool = False    # meta records the engine's and dataset's paths (else engine file name + hash only)
    overwrite: bool = False     # replace an existing output (else it is a ConfigError unless resume)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.prefetch_batches < 1 or self.save_every < 1:
            raise ConfigError("batch size, prefetch and save interval must be >= 1")


@dataclass
class ExtractResult:
    path: Path
    n_total: int = 0            # videos in the output file
    n_new: int = 0              # extracted by this run
    n_skipped: int = 0          # already in the output (--resume)
    problems: ProblemLog = field(default_factory=ProblemLog)
    decode_s: float = 0.0       # reader thread, summed over videos
    infer_s: float = 0.0        # encoder calls
    wait_s: float = 0.0         # time the encoder waited for decoded frames
    wall_s: float = 0.0


def decode_for_encoder(rec, size: int, pair1_only: bool = False):
    """One video's encoder input, never raising: (x (4, size, size) float32 or None, error or None,
    note or None). Single-process and Ray extraction both use it, so failures read the same.
    ``pair1_only`` (``reads_pair1_only(enc)``): decode ED and ES only (``runtime.inputs.endpoint_pairs_input``)."""
    from .data.frame_counts import frame_count_note
    from .runtime.inputs import endpoint_pairs_input

    item, note = None, None
    try:
        pairs, item = endpoint_pairs_input(rec, size, pair1_only)
        err, note = None, frame_count_note(rec, pairs.n_frames, pairs.n_counted)  # short video: a note
    except InfoMotionError as exc:
        item, err = (None, str(exc)) if item is None else (item, None)  # a failed note check is no failure
    except Exception as exc:  # a decoder crash must not kill the whole run; it is reported
        item, err = None, f"{type(exc).__name__}: {exc}"
    return item, err, note


def _put(q: "queue.Queue", item, stop: threading.Event) -> bool:
    """Put ``item``, waiting while the queue is full, unless ``stop`` is set (then False)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _read_videos(records, decode, out: "queue.Queue", stop: threading.Event) -> None:
    """Background reader: decodes each video with ``decode(rec) -> (item, err, note)`` (the encoder's endpoint
    frames, ``decode_for_encoder``, or another representation's frames) while the encoder runs; stops within
    one video's decode once ``stop`` is set, so the main thread can always join it."""
    try:
        for rec in records:
            if stop.is_set():
                return
            t0 = time.perf_counter()
            item, err, note = decode(rec)
            if not _put(out, (rec, item, err, time.perf_counter() - t0, note), stop):
                return
    finally:
        _put(out, None, stop)


def extraction_meta(engine, enc, dataset, data_dir, cfg: ExtractConfig, fingerprint: str | None = None) -> dict:
    """The meta block of an extraction's features file (single-process and Ray); ``fingerprint``: the
    dataset's ``dataset_fingerprint`` when already computed."""
    # A features file is shared: no absolute path or source folder name in it unless asked (keep_paths).
    where = {"dataset": str(Path(data_dir).resolve())} if cfg.keep_paths else {}
    return make_meta("infomotion-rt extract", engine=str(engine) if cfg.keep_paths else Path(str(engine)).name,
                     model_hash=enc.model_hash,
                     backend=enc.name, runtime=getattr(enc, "runtime", enc.name), config=enc.config,
                     feature_dim=enc.feature_dim,
                     image_size=enc.image_size, normalisation=NORMALISATION, **vector_meta(enc),
                     layout=dataset.layout, split=cfg.split or "ALL",
                     dataset_fingerprint=fingerprint or dataset_fingerprint(dataset.records), **where)


def vector_meta(enc) -> dict:
    """``vector`` and ``feature_layout`` of an encoder's output, from its model file's metadata (ONNX, or a
    plan's sidecar copy). Files exported before issue 19 and ``.pt`` checkpoints (run by the torch backend,
    which computes the encoder's own vector) carry none: they are the paper's ``mean`` vector, laid out as
    ``runtime.contract.FEATURE_LAYOUT``. A features file records both, so ``select`` and a reader can tell
    the layouts apart; one file holds one model's vectors (``model_hash``, checked by ``--resume`` and by a
    store's shards)."""
    meta = getattr(enc, "metadata", None) or {}
    return {"vector": meta.get("vector", VECTOR_DEFAULT), "feature_layout": meta.get("feature_layout", FEATURE_LAYOUT)}


def reads_pair1_only(enc) -> bool:
    """True when the encoder's vector reads input frames 0-1 only (``contract.PAIR1_ONLY_VECTORS``)."""
    from .runtime.contract import PAIR1_ONLY_VECTORS

    return vector_meta(enc)["vector"] in PAIR1_ONLY_VECTORS


def extract_features(data_dir, engine, out, cfg: ExtractConfig = ExtractConfig(), *, encoder=None,
                     progress: bool = True, log=None, representation: str = "encoder") -> ExtractResult:
    """The ``extract`` stage: one motion vector per video of ``data_dir`` into the features file ``out``
    (.npz) or, for a folder, a store of Parquet shards of ``cfg.save_every`` videos (``feature_store``).
    ``engine`` None = the shipped encoder (``runtime.default_engine``); ``log`` gets the line naming the
    engine once it is loaded, which is after the data and the output have been checked.
    ``representation`` "flow": the optical-flow baseline (``flow``; no model, ``engine`` must be None,
    ``cfg.device`` auto or cpu) through the same loop, sinks, resume and failure reporting.

    Raises DataError for unreadable data, an empty split or no vector at all; ConfigError for a bad
    ``out`` name, an existing output without ``cfg.resume``/``cfg.overwrite``, and a resume of another
    representation, dataset, split or model. On KeyboardInterrupt or ``errors.Terminated`` the vectors done so far are
    saved, the reader thread is joined, and the exception propagates with ``resume_hint`` set."""
    from .data.echonet import load_dataset
    from .feature_store import is_store_path, open_sink
    from .runtime import default_engine, load_encoder

    t_start = time.perf_counter()
    flow = _check_representation(representation, engine, encoder, cfg)
    out = Path(out)
    is_store_path(out)   # a bad output name fails before any work
    dataset = load_dataset(data_dir, progress=progress)
    records = split_records(dataset, cfg.split, data_dir)
    expect, labels = resume_checks(dataset, cfg, flow.REPRESENTATION if flow else "encoder")
    sink = open_sink(out, cfg.resume, None, cfg.save_every, overwrite=cfg.overwrite, expect=expect, labels=labels)
    if flow:
        enc = flow.FlowExtractor(cfg.threads)
        engine = None
        if log is not None:
            log(f"representation {flow.REPRESENTATION} (no model): {enc.runtime}")
    else:
        if engine is None and encoder is None:
            engine = default_engine()
        enc = encoder if encoder is not None else load_encoder(engine, cfg.device, cfg.threads)
        if log is not None:
            log(f"engine {engine}: {enc.name}, {enc.runtime}")
    sink.check_model(enc.model_hash)
    res = ExtractResult(out)
    for subject, message in dataset.problems:
        res.problems.add(subject, message)
    todo = [r for r in records if r.name not in sink.done]
    res.n_skipped = len(records) - len(todo)
    if flow:
        meta = flow.flow_meta(dataset, data_dir, cfg.split, expect["dataset_fingerprint"], enc, cfg.keep_paths)
    else:
        meta = extraction_meta(engine, enc, dataset, data_dir, cfg, expect["dataset_fingerprint"])
    try:
        _run_extraction(todo, enc, sink, meta, cfg, res, progress)
    except (KeyboardInterrupt, Terminated) as exc:
        exc.resume_hint = interrupted_hint(sink.n_total, out)
        raise
    return finish_extraction(sink, meta, res, data_dir, t_start)


REPRESENTATIONS = ("encoder", "flow")


def _check_representation(representation: str, engine, encoder, cfg: ExtractConfig):
    """None for the encoder, the ``flow`` module for the flow baseline; ConfigError (one line) for an
    unknown representation, or flow with a model file, an encoder object or a device other than the CPU."""
    if representation not in REPRESENTATIONS:
        raise ConfigError(f"unknown representation {representation!r}; choose one of {', '.join(REPRESENTATIONS)}")
    if representation == "encoder":
        return None
    if engine is not None or encoder is not None:
        raise ConfigError(f"--representation flow uses no model; drop --engine {engine or ''}".rstrip())
    if cfg.device not in ("auto", "cpu"):
        raise ConfigError(f"--representation flow runs on the CPU; drop --device {cfg.device}")
    from . import flow

    return flow


def finish_extraction(sink, meta: dict, res: ExtractResult, data_dir, t_start: float) -> ExtractResult:
    """Save a finished run's vectors and complete ``res`` (local and Ray extraction alike); raises
    DataError naming ``data_dir`` and its first problems when no vector could be extracted."""
    if not sink.n_total:
        raise DataError(f"{data_dir}: no motion vector could be extracted "
                        f"({len(res.problems)} problems: {'; '.join(res.problems.lines()[:3])})")
    sink.save(meta)
    res.n_total, res.wall_s = sink.n_total, time.perf_counter() - t_start
    return res


def interrupted_hint(n_kept: int, out) -> str:
    """The line an interrupted extraction prints: what was kept and how to continue."""
    kept = f"{n_kept} vectors kept in {out}" if n_kept else f"no vector finished, nothing written to {out}"
    return f"{kept}; rerun the same command with --resume to continue"


def _run_extraction(todo, enc, sink, meta, cfg: ExtractConfig, res: ExtractResult, progress: bool) -> None:
    """Decode in a reader thread, encode in batches here, save every ``cfg.save_every`` videos. However it
    ends, the reader is stopped and joined before returning (a decoder thread still running in native
    code while the interpreter exits aborts the process) and what is done is saved."""
    from tqdm import tqdm

    q: queue.Queue = queue.Queue(maxsize=cfg.batch_size * cfg.prefetch_batches)
    stop = threading.Event()
    # another representation (flow.FlowExtractor) brings its own decoder and batch builder
    pair1 = reads_pair1_only(enc)
    decode = getattr(enc, "decode", None) or (lambda rec: decode_for_encoder(rec, enc.image_size, pair1))
    stack = getattr(enc, "stack", None) or np.stack
    reader = threading.Thread(target=_read_videos, args=(todo, decode, q, stop), daemon=True,
                              name="infomotion-reader")
    reader.start()
    bar = tqdm(total=len(todo), desc="extract", unit="video", disable=not progress)
    since_save, finished = 0, False
    try:
        while not finished:
            batch = []
            while len(batch) < cfg.batch_size:
                t0 = time.perf_counter()
                item = q.get()
                res.wait_s += time.perf_counter() - t0
                if item is None:
                    finished = True
                    break
                rec, x, err, dt, note = item
                res.decode_s += dt
                if note is not None:
                    res.problems.add(rec.name, note)
                if err is not None:
                    res.problems.add(rec.name, err)
                    bar.update(1)
                else:
                    batch.append((rec, x))
            if not batch:
                continue
            t0 = time.perf_counter()
            vecs = enc(stack([x for _, x in batch]))
            res.infer_s += time.perf_counter() - t0
            for (rec, _), v in zip(batch, vecs):
                if not np.all(np.isfinite(v)):
                    res.problems.add(rec.name, "motion vector is not finite; left out")
                    continue
                sink.add(rec.name, v, rec.ef, rec.split)
                res.n_new += 1
            bar.update(len(batch))
            since_save += len(batch)
            if since_save >= cfg.save_every and not finished:
                sink.save(meta)
                since_save = 0
    finally:
        stop.set()
        reader.join()   # returns within one video's decode: the reader checks ``stop`` between puts
        bar.close()
        if not finished:      # interrupted: keep what is done so --resume can continue
            sink.save(meta)
            sink.tidy()       # a signal inside a periodic save can leave its temporary behind
