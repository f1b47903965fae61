"""Relabelling and appearance embeddings from a trained EF regressor (one pass over the videos).

* ``relabel``: predicted EF for every video, written as a FileList-style CSV (EF replaced, the old
  value kept in ``EF_original``), as the paper does for EchoNet-Synthetic videos before selection.
  Usable as ``select --labels`` and as ``load_dataset(root, labels_csv=...)``.
* Appearance embeddings (issue item 5): there are no pretrained hub weights here, so the vectors for
  ``kmeans`` / ``infodist`` are the **penultimate layer (global-average-pooled backbone features) of
  the EF regressor trained on the whole TRAIN split**, averaged over each video's test clips. They
  are written with the features-file writer, so ``select --features`` takes them like motion vectors.
  Note they are EF-supervised video features, not the paper's ImageNet ResNet-18 frame features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infomotion_rt.atomic import atomic_write_csv
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.errors import DataError
from infomotion_rt.evaluate.clips import ClipSource
from infomotion_rt.evaluate.regressor import load_checkpoint
from infomotion_rt.evaluate.training import predict
from infomotion_rt.extract.featureset import make_feature_set, make_meta
from infomotion_rt.extract.files import write_features

RELABEL_COLUMNS = ("FileName", "EF", "ESV", "EDV", "FrameHeight", "FrameWidth", "FPS", "NumberOfFrames", "Split",
                   "EF_original")


@dataclass
class RelabelResult:
    names: list
    ef_pred: np.ndarray
    ef_orig: np.ndarray
    csv: Path | None = None
    features: Path | None = None
    clipped: int = 0


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "0" if math.isnan(v) else f"{v:.4f}".rstrip("0").rstrip(".")
    return str(v)


def relabel(data_dir, model_path, out_csv=None, embed_out=None, device: str = "cpu", labels_csv=None,
            split: str | None = None, records=None, progress: bool = True, source: ClipSource | None = None):
    """Predict EF for every video of ``data_dir`` (or ``records``); write the CSV and/or embeddings."""
    from infomotion_rt.runtime import file_sha256

    model, setting, norm, config = load_checkpoint(model_path, device)
    if records is None:
        dataset = load_dataset(data_dir, labels_csv, progress=progress)
        records = dataset.split(split) if split else list(dataset.records)
    if not records:
        raise DataError(f"{data_dir}: no videos to relabel" + (f" in split {split}" if split else ""))
    source = source or ClipSource(setting.clips)
    pred, feats = predict(model, records, source, norm, device, features=embed_out is not None,
                          progress=progress, desc="relabel")
    clipped = int(((pred < 0) | (pred > 100)).sum())
    pred = np.clip(pred, 0.0, 100.0)  # a FileList EF outside [0, 100] would be dropped on load
    res = RelabelResult([r.name for r in records], pred, np.array([r.ef for r in records]), clipped=clipped)
    if out_csv is not None:
        rows = [[r.name, _cell(float(p)), _cell(r.esv), _cell(r.edv), _cell(r.height), _cell(r.width), _cell(r.fps),
                 _cell(r.n_frames), r.split, _cell(r.ef)] for r, p in zip(records, pred)]
        res.csv = atomic_write_csv(out_csv, RELABEL_COLUMNS, rows)
    if embed_out is not None:
        # a features file is shared: the model's file name and hash, no path or source folder (as extract)
        meta = make_meta("infomotion-rt appearance", engine=Path(model_path).name, model_hash=file_sha256(model_path),
                         embedding="penultimate layer of the EF regressor (global average pool), mean over test clips",
                         setting=config.get("label", setting.label()))
        fs = make_feature_set(res.names, feats, [r.ef for r in records], [r.split for r in records], meta)
        res.features = write_features(embed_out, fs)
    return res
