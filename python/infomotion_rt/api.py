"""The Python API for a workstation that embeds the toolkit: the four stages of the command line as functions.

    import infomotion_rt as im

    dataset = im.load_dataset("EchoNet-Dynamic")             # -> Dataset of VideoRecord
    result = im.extract_features("EchoNet-Dynamic", "features.npz")
    picks = im.select("features.npz", vpc=10)                # -> Selection; picks.rows / picks.names
    im.write_selection("selection.csv", picks)
    im.export_dataset(picks, "EchoNet-Dynamic", "distilled/")

Every function here is on the runtime side: numpy, OpenCV, ONNX Runtime, FAISS and the C++ core; never
torch. The command line calls these functions (``infomotion-rt info``, ``extract``, ``select``) and only
parses and prints; its research options map onto ``select(**options)`` through ``select_config``.
Errors are ``errors.InfoMotionError`` subclasses whose one-line message names the file or video:
``DataError`` (unreadable input), ``ConfigError`` (a bad option or an existing output), ``VideoError``
(a video that does not decode), ``DependencyError`` (an optional library missing).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

from infomotion_rt.data.classes import DEFAULT_CLASSES, EFClasses
from infomotion_rt.data.loader import load_dataset as _load_dataset
from infomotion_rt.data.records import Dataset
from infomotion_rt.errors import ConfigError
from infomotion_rt.extract.featureset import FeatureSet
from infomotion_rt.extract.files import read_features
from infomotion_rt.extract.pipeline import ExtractConfig, ExtractResult
from infomotion_rt.extract.pipeline import extract_features as _extract_features
from infomotion_rt.selection.graph import GraphConfig
from infomotion_rt.selection.knn_index import KnnConfig
from infomotion_rt.selection.metric import MetricConfig
from infomotion_rt.selection.methods import WEIGHT_COLUMN, SelectConfig, Selection, select_features
from infomotion_rt.selection.methods import write_selection as _write_selection
from infomotion_rt.share.dataset import ExportResult
from infomotion_rt.share.dataset import export_dataset as _export_dataset

__all__ = ["Dataset", "ExportResult", "ExtractResult", "FeatureSet", "Selection", "export_dataset",
           "extract_features", "load_dataset", "read_features", "select", "select_config", "write_selection"]


def load_dataset(root: str | Path, labels_csv: str | Path | None = None, *, check_videos: bool = False) -> Dataset:
    """Read a dataset folder: EchoNet-Dynamic, EchoNet-Synthetic, EchoNet-Pediatric, a folder of DICOM cine loops
    or a plain folder of videos with a ``FileName,EF[,Split]`` CSV (docs/data-formats.md, docs/labels-csv.md).

    Returns a ``Dataset``: ``records`` (one ``VideoRecord`` per video: ``name`` str, ``path``, ``ef`` float in
    EF points 0-100, ``split`` TRAIN/VAL/TEST, ``ed``/``es`` frame indices or None when untraced) and
    ``problems`` (one line per dropped or noted record). ``check_videos`` also decodes every video's first
    frame. Raises DataError when the folder or its labels cannot be read."""
    return _load_dataset(root, labels_csv, check_videos=check_videos, progress=check_videos)


def extract_features(data_dir: str | Path, out: str | Path, *, engine: str | Path | None = None,
                     representation: str = "encoder", split: str | None = None, batch_size: int = 16,
                     device: str = "cpu", threads: int = 0, resume: bool = False, overwrite: bool = False,
                     keep_paths: bool = False, save_every: int = 512, progress: bool = False,
                     log: Callable[[str], None] | None = None) -> ExtractResult:
    """One motion vector per video of ``data_dir`` into ``out``: a features file (``.npz``) or, for any other
    name, a folder of Parquet shards (``infomotion-rt extract``).

    ``engine``: the motion model file (``.onnx`` ONNX Runtime, ``.plan`` TensorRT, ``.pt`` torch); None = the
    shipped encoder (``models/MODEL_CARD.md``: 384 float32 values per video). ``representation="flow"``: the
    optical-flow baseline instead (256 values, no model). ``split``: TRAIN, VAL or TEST only (None: every video).
    ``device``: cpu, cuda or auto. ``threads``: backend CPU threads (0: its default). ``keep_paths``: record
    the engine's and the dataset's paths in the file (default: the engine's file name and hash only).
    ``save_every``: videos per Parquet shard, and between the intermediate saves of a ``.npz``. ``progress``:
    progress bars on stderr. ``log``: called with one line naming the engine (or the flow runtime) once the
    data and ``out`` are checked. Returns ``ExtractResult`` (``path``, ``n_new``, ``n_skipped``, ``n_total``,
    ``wall_s``, ``decode_s``/``infer_s``/``wait_s`` in seconds, ``problems``: videos that failed, each named).
    Raises DataError / ConfigError as the command does (``batch_size`` or ``save_every`` < 1 is a
    ConfigError); an existing ``out`` needs ``resume`` or ``overwrite``."""
    cfg = ExtractConfig(split=split.upper() if split else None, batch_size=batch_size, device=device,
                        threads=threads, resume=resume, overwrite=overwrite, keep_paths=keep_paths,
                        save_every=save_every)
    return _extract_features(data_dir, engine, out, cfg, progress=progress, log=log, representation=representation)


# select's and select_config's documented options, in their docstrings' order
SELECT_OPTIONS = ("vpc", "method", "seed", "split", "k", "metric", "choice", "mode", "weighting", "centrality",
                  "trials", "paper_literal", "knn")


def select_config(vpc: int = 10, *, method: str = "infomotion", seed: int = 0, split: str | None = "TRAIN",
                  k: int = 10, **options) -> SelectConfig:
    """The ``SelectConfig`` that ``select`` runs with these arguments (the one place where options become a
    config; the command line calls it to check its options before reading any input). Arguments as for
    ``select``. Raises ConfigError for an unknown option or a bad value (``vpc`` or ``k`` < 1, an unknown
    method, mode, weighting, centrality or choice)."""
    graph_fields = set(GraphConfig.__dataclass_fields__)
    select_fields = set(SelectConfig.__dataclass_fields__) - {"vpc", "method", "seed", "split", "graph"}
    if isinstance(split, str) and split.lower() == "all":   # the command line's spelling of None
        split = None
    if isinstance(options.get("metric"), str):              # a transform's name, e.g. "pca": its default dims
        options["metric"] = MetricConfig(options["metric"])
    for name, kind in (("metric", MetricConfig), ("knn", KnnConfig)):
        if options.get(name) is not None and not isinstance(options[name], kind):
            raise ConfigError(f"select: {name} must be a {kind.__name__} (or None), got {options[name]!r}")
    unknown = sorted(set(options) - graph_fields - select_fields)
    if unknown:  # name only the documented options (the configs' internal fields are accepted, not advertised)
        close = [m for u in unknown for m in difflib.get_close_matches(u, SELECT_OPTIONS, n=1)]
        raise ConfigError(f"select: unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
                          + (f" (did you mean {', '.join(close)}?)" if close else "")
                          + f"; valid: {', '.join(SELECT_OPTIONS)}")
    graph = GraphConfig(k=k, **{n: v for n, v in options.items() if n in graph_fields})
    return SelectConfig(vpc=vpc, method=method, seed=seed, split=split, graph=graph,
                        **{n: v for n, v in options.items() if n in select_fields})


def select(features: FeatureSet | str | Path, vpc: int = 10, *, method: str = "infomotion", seed: int = 0,
           split: str | None = "TRAIN", k: int = 10, classes: EFClasses = DEFAULT_CLASSES,
           **options) -> Selection:
    """Pick ``vpc`` videos per EF class (``infomotion-rt select``) from a ``FeatureSet`` or a features path.

    ``method``: infomotion (the default), infodist, random, kmeans, kcenter, herding, or the peers typiclust,
    probcover, maxherding (the [peers] extra). ``split``: the pool (None or "all": every video). ``k``:
    neighbours in the kNN graph. ``options``: the research settings of ``selection.methods.SelectConfig`` and
    ``selection.graph.GraphConfig``: ``metric`` (a ``selection.metric.MetricConfig`` or a transform's name such
    as "pca", the transform fitted on every candidate first; None: the study's default, raw with
    ``paper_literal``), ``choice`` (medoid or centrality; None: medoid, centrality with ``paper_literal``),
    ``mode`` (union, mutual), ``weighting`` (gaussian, inverse; distance is the paper-literal's),
    ``centrality`` (degree, pagerank), ``trials`` (Infomap trials), ``paper_literal`` (complete graph,
    O(n^2)), ``knn`` (a ``selection.knn_index.KnnConfig``: exact or approximate search, kNN
    PCA, FAISS threads). Returns a ``Selection``: ``rows`` (one dict per pick: FileName, EF, class,
    community, centrality, Weight = the class-prior sample weight), ``names`` (the picked video names),
    ``summary`` (a line per class), ``notes`` (a line per edge case met), ``metric`` (the transform used).
    Raises ConfigError for an unknown method or option (before the features are read) or a class too large
    for a peer method; DataError for a features file that cannot be read or a split that no video has."""
    cfg = select_config(vpc, method=method, seed=seed, split=split, k=k, **options)
    fs = features if isinstance(features, FeatureSet) else read_features(features)
    return select_features(fs, cfg, classes)


def write_selection(path: str | Path, selection: Selection) -> Path:
    """Write ``selection.csv`` (FileName, EF, class, community, centrality, method, seed, Weight) atomically;
    returns the path."""
    return _write_selection(path, selection.rows)


def export_dataset(selection: Selection | list[str], data_dir: str | Path, out_dir: str | Path, *,
                   deidentify: bool | None = None, key_file: str | Path | None = None, overwrite: bool = False,
                   progress: bool = False) -> ExportResult:
    """Write the picked videos of ``data_dir`` as an EchoNet-layout folder ``out_dir`` (FileList.csv with each
    pick's class-prior ``Weight`` when given a ``Selection``; tracings when the source has them).

    ``deidentify``: hashed names, no header, black outside the sector (None: on for a DICOM source, off
    otherwise; docs/dicom.md); ``key_file`` keeps the pseudonyms stable across exports. Returns
    ``ExportResult`` (``out_dir``, ``n_videos``, ``problems``). Raises DataError for a video not in
    ``data_dir``, ConfigError for a non-empty ``out_dir`` without ``overwrite``."""
    if isinstance(selection, Selection):
        names = selection.names
        weights = {r["FileName"]: r[WEIGHT_COLUMN] for r in selection.rows}
    else:
        names, weights = [str(n) for n in selection], None
    return _export_dataset(names, data_dir, out_dir, deidentify=deidentify, key_file=key_file, overwrite=overwrite,
                           progress=progress, weights=weights)
