"""Extraction on Ray Data (``extract --ray``): the same vectors as single-process extraction, from many
machines. Ray is the optional ``[distributed]`` extra and is imported only here, only when asked for.

How the work is split (ours):

- The driver reads the labels (FileList, tracings: ED/ES) once and sends each worker one small record per
  video (name, path, EF, split, ED/ES, FileList frame count; tracings stripped). Workers decode their own
  videos, so no pixels cross the network.
- ``Dataset.map_batches`` with a class-based UDF (``VideoEncoderActor``) runs ``actors`` Ray actors
  (``concurrency``); each holds one encoder session for its life (``runtime.load_encoder``: ONNX Runtime on
  CPU, or CUDA / TensorRT where the worker has them) and decodes and encodes ``batch_size`` videos a call,
  with exactly the per-video code of single-process mode (``extract.pipeline.decode_for_encoder``).
- The driver collects the vectors (384 float32 per video with the shipped ed-es-flow encoder: 1.5 GB for a
  million) and writes them through the same sinks as single-process mode, so a folder output is the shard
  store of ``feature_store``, shards written atomically, and ``--resume`` skips the videos of finished shards.
- Every video that fails is recorded with its reason and listed at the end; a Ray failure (an actor that
  cannot load the model, a lost node) is one InfoMotionError line.

Cluster assumptions: every node has infomotion-rt (same version; each actor checks that its model file
has the driver's SHA-256) and sees DATA_DIR and an ``--engine`` file at the driver's absolute paths (the
shipped encoder is found in each node's own installation) (a shared file system); ``--ray ADDRESS`` is whatever ``ray.init(address=)``
takes (``auto``, ``HOST:6379``, ``ray://HOST:10001``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import pickle
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infomotion_rt import console
from infomotion_rt.errors import ConfigError, DataError, InfoMotionError, Terminated, require

DISTRIBUTED_HINT = "install the [distributed] extra (pip install 'infomotion-rt[distributed]')"


@dataclass(frozen=True)
class RayConfig:
    address: str = "local"       # "local": start Ray on this machine; else a cluster address for ray.init
    actors: int = 2              # encoder actors (one session each)
    cpus_per_actor: float = 1.0  # Ray CPUs reserved per actor; the encoder gets as many threads (rounded)
    gpus_per_actor: float = 0.0  # GPUs per actor; 0 = one when --device is cuda/tensorrt (unverified here)
    num_cpus: int | None = None  # CPUs of a local instance (None = all of this machine)

    def __post_init__(self) -> None:
        if self.actors < 1 or self.cpus_per_actor <= 0 or self.gpus_per_actor < 0:
            raise ConfigError("--actors must be >= 1, CPUs per actor > 0 and GPUs per actor >= 0")


def require_ray():
    """The ``ray`` module with Ray Data, or one DependencyError naming the extra."""
    require("ray", "ray.data", what="extract --ray", hint=DISTRIBUTED_HINT)
    import ray

    return ray


class VideoEncoderActor:
    """Ray Data UDF: one encoder session per actor; ``__call__`` decodes and encodes one batch of videos.

    Input batch (numpy format): ``record`` pickled ``VideoRecord`` objects. Output: ``name``, ``ef``,
    ``split``, ``features`` (B, D) float32 (zeros where the video failed), ``error`` ("" when it did
    not), ``note`` (frame-count notes, "" for none), ``decode_s`` / ``infer_s`` (seconds, per row),
    ``runtime`` (what ran the model on this actor)."""

    def __init__(self, engine: str | None, device: str, threads: int, model_hash: str) -> None:
        from infomotion_rt.runtime import default_engine, load_encoder

        self.enc = load_encoder(engine or default_engine(), device, threads)
        if self.enc.model_hash != model_hash:   # another package version or file on this node
            raise DataError(f"{self.enc.path}: on this Ray node the model's SHA-256 is {self.enc.model_hash[:12]}, "
                            f"the driver's is {model_hash[:12]}; install the same infomotion-rt / model everywhere")

    def __call__(self, batch: dict) -> dict:
        from infomotion_rt.extract.pipeline import decode_for_encoder, reads_pair1_only

        pair1 = reads_pair1_only(self.enc)
        recs = [pickle.loads(bytes(b)) for b in batch["record"]]
        n, d = len(recs), self.enc.feature_dim
        xs, errors, notes, decode_s = [], [], [], np.zeros(n)
        for i, rec in enumerate(recs):
            t0 = time.perf_counter()
            x, err, note = decode_for_encoder(rec, self.enc.image_size, pair1)
            decode_s[i] = time.perf_counter() - t0
            xs.append(x)
            errors.append(err or "")
            notes.append(note or "")
        feats = np.zeros((n, d), np.float32)
        ok = [i for i, x in enumerate(xs) if x is not None]
        t0 = time.perf_counter()
        if ok:
            feats[ok] = self.enc(np.stack([xs[i] for i in ok]))
        infer_s = np.full(n, (time.perf_counter() - t0) / n)
        return {"name": np.array([r.name for r in recs]), "ef": np.array([r.ef for r in recs], np.float64),
                "split": np.array([r.split for r in recs]), "features": feats, "error": np.array(errors),
                "note": np.array(notes), "decode_s": decode_s, "infer_s": infer_s,
                "runtime": np.array([str(self.enc.runtime)] * n)}


def _slim(record) -> bytes:
    """A record without its tracings (ED/ES are already set from them): a few hundred bytes to send."""
    if dataclasses.is_dataclass(record) and getattr(record, "tracings", None) is not None:
        record = dataclasses.replace(record, tracings=None)
    return pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)


REACH_TIMEOUT_S = 5.0  # a cluster head that does not answer a TCP connect in this time is reported as down (ours)


def check_reachable(address: str, timeout_s: float = REACH_TIMEOUT_S) -> None:
    """Fail fast when a ``--ray HOST:PORT`` (or ``ray://HOST:PORT``) head does not accept a TCP connection:
    ``ray.init`` itself retries an unreachable GCS for minutes before it gives up. ``auto``, ``local`` and
    addresses without a port are left to Ray. Raises InfoMotionError naming the address (ours)."""
    import socket

    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit() or (":" in host and not host.startswith("[")):
        return  # no port, or an unbracketed IPv6 address: Ray parses it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise InfoMotionError(f"--ray {address}: no Ray head answers there (TCP connect, {timeout_s:g} s per address: "
                              f"{exc.strerror or exc or type(exc).__name__}); is the cluster up (`ray status` on the head)?") from exc


def _start(ray, rc: RayConfig) -> bool:
    """Connect to (or start) Ray; True when this call started it (and so must shut it down)."""
    if ray.is_initialized():
        return False
    if rc.address != "local":
        check_reachable(rc.address)
    kwargs = dict(logging_level=logging.WARNING, include_dashboard=False)
    try:
        if rc.address == "local":
            ray.init(num_cpus=rc.num_cpus, **kwargs)
        else:
            ray.init(address=rc.address, **kwargs)
    except Exception as exc:  # bad address, cluster down, port clash
        raise InfoMotionError(f"--ray {rc.address}: cannot start or join Ray "
                              f"({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__})") from exc
    return True


def extract_on_ray(data_dir, engine, out, cfg=None, rc: RayConfig = RayConfig(), *, progress: bool = True, log=None):
    """The ``extract --ray`` stage: like ``extract.pipeline.extract_features`` (same ExtractConfig, same output
    formats, same ExtractResult; ``decode_s`` / ``infer_s`` are summed over actors), run by ``rc.actors``
    Ray actors. Raises DependencyError without Ray, InfoMotionError when Ray fails, DataError when no
    video could be extracted; the output, resume and interruption rules are ``extract_features``'s (on
    KeyboardInterrupt or SIGTERM the vectors received so far are saved and Ray is shut down)."""
    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.extract.store import is_store_path, open_sink
    from infomotion_rt.extract.pipeline import (ExtractConfig, extraction_meta, finish_extraction, interrupted_hint,
                                                resume_checks, split_records, start_result)
    from infomotion_rt.runtime import default_engine, load_encoder

    ray = require_ray()
    import ray.data

    cfg = cfg or ExtractConfig()
    t_start = time.perf_counter()
    out = Path(out)
    is_store_path(out)   # as single-process: output name, data, then the output, then the engine
    dataset = load_dataset(data_dir, progress=progress)
    records = split_records(dataset, cfg.split, data_dir)
    expect, labels = resume_checks(dataset, cfg)
    sink = open_sink(out, cfg.resume, None, cfg.save_every, overwrite=cfg.overwrite, expect=expect, labels=labels)
    given = Path(engine).resolve() if engine is not None else None   # workers open this path
    engine = given or default_engine()
    probe = load_encoder(engine, "cpu", 1)  # hash, config, dimensions for the meta; actors load their own
    if log is not None:
        log(f"engine {engine}: Ray Data, {rc.actors} actors ({rc.address})")
    res, todo = start_result(out, dataset, records, sink, probe.model_hash)
    meta = extraction_meta(engine, probe, dataset, data_dir, cfg, expect["dataset_fingerprint"])
    threads = cfg.threads or max(1, round(rc.cpus_per_actor))
    # Ray hides GPUs from actors that reserve none, so --device cuda/tensorrt reserves one per actor
    gpus = rc.gpus_per_actor or (1.0 if cfg.device.lower().startswith(("cuda", "tensorrt")) else 0.0)
    ours = signal.getsignal(signal.SIGTERM)
    started = _start(ray, rc) if todo else False
    if (started and callable(ours) and signal.getsignal(signal.SIGTERM) is not ours
            and threading.current_thread() is threading.main_thread()):
        # ray.init on a local head registers a SIGTERM handler that kills Ray's processes and calls
        # sys.exit(1): put the CLI's back so SIGTERM saves the vectors (and exits 143); ray.shutdown in
        # the finally below stops those processes either way
        signal.signal(signal.SIGTERM, ours)
    if started and rc.address == "local":   # a fixed pool larger than the machine would wait forever
        have = ray.cluster_resources()
        for kind, each in (("CPU", rc.cpus_per_actor), ("GPU", gpus)):
            if rc.actors * each > have.get(kind, 0):
                ray.shutdown()
                raise ConfigError(f"--actors {rc.actors} needs {rc.actors * each:g} {kind}s; this machine's Ray "
                                  f"instance has {have.get(kind, 0):g}")
    finished = False
    bar = console.bar(total=len(todo), desc=f"extract (Ray, {rc.actors} actors)", unit="video", progress=progress)
    try:
        if todo:
            meta["distributed"] = {"engine": "ray", "ray_version": ray.__version__, "actors": rc.actors,
                                   "cpus_per_actor": rc.cpus_per_actor, "threads_per_actor": threads}
            logging.getLogger("ray.data").setLevel(logging.ERROR)   # its INFO/WARNING lines would bury ours
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False          # our own bar counts videos
            ctx.print_on_execution_start = False
            # about one batch per block, so every actor gets work early; capped so a million videos make
            # ~4,000 blocks (Ray Data's per-block overhead), never more blocks than videos
            n_blocks = min(len(todo), max(2 * rc.actors, min(math.ceil(len(todo) / cfg.batch_size), 4096)))
            ds = ray.data.from_items([{"record": _slim(r)} for r in todo], override_num_blocks=n_blocks)
            ds = ds.map_batches(VideoEncoderActor, batch_size=cfg.batch_size, batch_format="numpy",
                                concurrency=rc.actors, num_cpus=rc.cpus_per_actor,
                                num_gpus=gpus or None,
                                fn_constructor_kwargs={"engine": str(given) if given else None, "device": cfg.device,
                                                       "model_hash": probe.model_hash,
                                                       "threads": threads})
            runtimes: set[str] = set()
            for b in ds.iter_batches(batch_size=None, batch_format="numpy"):
                for i, name in enumerate(b["name"].tolist()):
                    if b["note"][i]:
                        res.problems.add(name, str(b["note"][i]))
                    if b["error"][i]:
                        res.problems.add(name, str(b["error"][i]))
                    elif not np.all(np.isfinite(b["features"][i])):
                        res.problems.add(name, "motion vector is not finite; left out")
                    else:
                        sink.add(name, b["features"][i], float(b["ef"][i]), str(b["split"][i]))
                        res.n_new += 1
                res.decode_s += float(np.sum(b["decode_s"]))
                res.infer_s += float(np.sum(b["infer_s"]))
                runtimes.update(b["runtime"].tolist())
                meta["runtime"] = "ray actors: " + ", ".join(sorted(runtimes))
                bar.update(len(b["name"]))
                if sink.n_pending >= cfg.save_every:
                    sink.save(meta, complete_only=True)   # full shards only: batches arrive in any size
        finished = True
    except (KeyboardInterrupt, Terminated) as exc:
        exc.resume_hint = interrupted_hint(sink.n_total, out)   # n_total: the save below keeps them all
        raise
    except InfoMotionError:
        raise
    except Exception as exc:  # a RayTaskError wraps the worker's exception; one line, the cause first
        cause = getattr(exc, "cause", None) or exc
        first = str(cause).strip().splitlines()
        raise InfoMotionError(f"extract --ray: a Ray worker failed ({type(cause).__name__}: "
                              f"{first[-1] if first else ''})") from exc
    finally:
        bar.close()
        if not finished:
            sink.save(meta)   # interrupted: keep what is done so --resume can continue
            sink.tidy()
        if started:
            ray.shutdown()
    return finish_extraction(sink, meta, res, data_dir, t_start)
