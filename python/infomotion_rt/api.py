"""The Python API for a workstation that embeds the toolkit: the four stages of the command line as functions.

    import infomotion_rt as im

    dataset = im.load_dataset("EchoNet-Dynamic")             # -> Dataset of VideoRecord
    result = im.extract_features("EchoNet-Dynamic", "features.npz")
    picks = im.select("features.npz", vpc=10)                # -> Selection; picks.rows / picks.names
    im.write_selection("selection.csv", picks)
    im.export_dataset(picks, "EchoNet-Dynamic", "distilled/")

Every function here is on the runtime side: numpy, OpenCV, ONNX Runtime, FAISS and the C++ core; never
torch. The command line is a thin layer over the same stage functions (``infomotion-rt extract``,
``select``); its research options map onto ``select(**options)`` (``selection.methods.SelectConfig``).
Errors are ``errors.InfoMotionError`` subclasses whose one-line message names the file or video:
``DataError`` (unreadable input), ``ConfigError`` (a bad option or an existing output), ``VideoError``
(a video that does not decode), ``DependencyError`` (an optional library missing).
"""

from __future__ import annotations

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
from infomotion_rt.selection.methods import SelectConfig, Selection, select_features
from infomotion_rt.selection.methods import write_selection as _write_selection
from infomotion_rt.share.dataset import ExportResult
from infomotion_rt.share.dataset import export_dataset as _export_dataset

__all__ = ["Dataset", "ExportResult", "ExtractResult", "FeatureSet", "Selection", "export_dataset",
           "extract_features", "load_dataset", "read_features", "select", "write_selection"]


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
                     progress: bool = False) -> ExtractResult:
    """One motion vector per video of ``data_dir`` into ``out``: a features file (``.npz``) or, for any other
    name, a folder of Parquet shards (``infomotion-rt extract``).

    ``engine``: the motion model file (``.onnx`` ONNX Runtime, ``.plan`` TensorRT, ``.pt`` torch); None = the
    shipped encoder (``models/MODEL_CARD.md``: 1,024 float32 values per video). ``representation="flow"``: the
    optical-flow baseline instead (256 values, no model). ``split``: TRAIN, VAL or TEST only (None: every video).
    ``device``: cpu, cuda or auto. Returns ``ExtractResult`` (``path``, ``n_new``, ``n_total``, ``wall_s``,
    ``problems``: videos that failed, each named). Raises DataError / ConfigError as the command does; an
    existing ``out`` needs ``resume`` or ``overwrite``."""
    cfg = ExtractConfig(split=split.upper() if split else None, batch_size=batch_size, device=device,
                        threads=threads, resume=resume, overwrite=overwrite)
    return _extract_features(data_dir, engine, out, cfg, progress=progress, representation=representation)


def select(features: FeatureSet | str | Path, vpc: int = 10, *, method: str = "infomotion", seed: int = 0,
           split: str | None = "TRAIN", k: int = 10, classes: EFClasses = DEFAULT_CLASSES,
           **options) -> Selection:
    """Pick ``vpc`` videos per EF class (``infomotion-rt select``) from a ``FeatureSet`` or a features path.

    ``method``: infomotion (the default), infodist, random, kmeans, kcenter, herding, or the peers typiclust,
    probcover, maxherding (the [peers] extra). ``split``: the pool (None: every video). ``k``: neighbours in
    the kNN graph. ``options``: the research settings of ``selection.methods.SelectConfig`` (``metric``,
    ``choice``) and of ``selection.graph.GraphConfig`` (``mode``, ``weighting``, ``centrality``, ``trials``,
    ``paper_literal``, ``knn``). Returns a ``Selection``: ``rows`` (one dict per pick: FileName, EF, class,
    community, centrality, Weight = the class-prior sample weight), ``names`` (the picked video names),
    ``summary`` (a line per class). Raises ConfigError for an unknown method or option, DataError for a
    features file that cannot be read or a class too small for ``vpc``."""
    fs = features if isinstance(features, FeatureSet) else read_features(features)
    graph_fields = set(GraphConfig.__dataclass_fields__)
    select_fields = set(SelectConfig.__dataclass_fields__) - {"vpc", "method", "seed", "split", "graph"}
    unknown = sorted(set(options) - graph_fields - select_fields)
    if unknown:
        raise ConfigError(f"select: unknown option(s) {', '.join(unknown)}; valid: "
                          f"{', '.join(sorted((graph_fields | select_fields) - {'k'}))}")
    graph = GraphConfig(k=k, **{n: v for n, v in options.items() if n in graph_fields})
    cfg = SelectConfig(vpc=vpc, method=method, seed=seed, split=split, graph=graph,
                       **{n: v for n, v in options.items() if n in select_fields})
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
        weights = {r["FileName"]: r["Weight"] for r in selection.rows}
    else:
        names, weights = [str(n) for n in selection], None
    return _export_dataset(names, data_dir, out_dir, deidentify=deidentify, key_file=key_file, overwrite=overwrite,
                           progress=progress, weights=weights)
