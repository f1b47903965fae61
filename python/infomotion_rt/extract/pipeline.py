"""Extraction: video -> frame pairs -> motion vector (or the flow baseline); batched, decoding overlapped
with inference, resumable, written through ``extract.files.write_features``. The encoder is reached only
through ``runtime.load_encoder`` (backend by file suffix)."""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from infomotion_rt import console
from infomotion_rt.data.frame_counts import frame_count_note
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.errors import ConfigError, DataError, InfoMotionError, ProblemLog, Terminated
from infomotion_rt.extract import flow
from infomotion_rt.extract.featureset import dataset_fingerprint, make_meta
from infomotion_rt.extract.store import is_store_path, open_sink
from infomotion_rt.runtime import default_engine, load_encoder
from infomotion_rt.runtime.contract import FEATURE_LAYOUT, NORMALISATION, PAIR1_ONLY_VECTORS, VECTOR_DEFAULT
from infomotion_rt.runtime.inputs import endpoint_pairs_input


def split_records(dataset, split: str | None, data_dir) -> list:
    """The records of ``split`` (None: all). DataError when there are none, naming the splits present."""
    if not split:
        return list(dataset.records)
    records = dataset.split(split)
    if not records:
        present = Counter(r.split or "none" for r in dataset.records)
        raise DataError(f"no {split.upper()} videos in {data_dir} (splits present: "
                        + ", ".join(f"{k} {v}" for k, v in sorted(present.items())) + ")")
    return records


def resume_checks(dataset, cfg, representation: str = "encoder") -> tuple[dict, object]:
    """(expect, labels) for ``extract.store.open_sink``: the representation (meta ``representation``; a file
    without one holds the encoder's vectors), split and dataset fingerprint a resumed output must carry, and
    the name -> (EF, split) table for files without a fingerprint."""
    expect = {"representation": representation, "split": cfg.split or "ALL",
              "dataset_fingerprint": dataset_fingerprint(dataset.records)}
    return expect, lambda: {r.name: (float(r.ef), r.split) for r in dataset.records}



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
    res, todo = start_result(out, dataset, records, sink, enc.model_hash)
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
    return flow


def start_result(out, dataset, records, sink, model_hash: str) -> tuple[ExtractResult, list]:
    """Once the model is known (single-process and Ray alike): the store must hold that model's vectors (a
    ConfigError otherwise, ``--resume``); the result starts with the dataset's problems. Returns the result and
    the records still to extract."""
    sink.check_model(model_hash)
    res = ExtractResult(out)
    for subject, message in dataset.problems:
        res.problems.add(subject, message)
    todo = [r for r in records if r.name not in sink.done]
    res.n_skipped = len(records) - len(todo)
    return res, todo


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
    q: queue.Queue = queue.Queue(maxsize=cfg.batch_size * cfg.prefetch_batches)
    stop = threading.Event()
    # another representation (flow.FlowExtractor) brings its own decoder and batch builder
    pair1 = reads_pair1_only(enc)
    decode = getattr(enc, "decode", None) or (lambda rec: decode_for_encoder(rec, enc.image_size, pair1))
    stack = getattr(enc, "stack", None) or np.stack
    reader = threading.Thread(target=_read_videos, args=(todo, decode, q, stop), daemon=True,
                              name="infomotion-reader")
    reader.start()
    bar = console.bar(total=len(todo), desc="extract", unit="video", progress=progress)
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
