"""The model-file contract: what an exported encoder (``.onnx`` metadata, TensorRT plan sidecar) must say.

Owned by the runtime so that a workstation or a Ray worker can check a model file without the training
side: ``motion.export`` writes files to this contract, the backends here read them. Torch-free.

The contract (format version 1, ours):

- input ``frames`` (batch, 4, S, S) float32: pair-1 start, pair-1 end, pair-2 start, pair-2 end
  (``INPUT_LAYOUT``), normalised as ``NORMALISATION`` says (``runtime.inputs.to_model_input``);
- output ``motion`` (batch, D) float32 laid out as the metadata's ``feature_layout`` says; ``vector`` names
  which output it is (``motion.ifa.VECTORS``: ``mean``, the encoder's motion maps averaged over space, laid
  out as ``FEATURE_LAYOUT``; ``flow-grid``, the model's flows pooled on an 8 x 8 grid). Files exported
  before issue 19 have no ``vector`` key: they are ``mean`` (``VECTOR_DEFAULT``);
- ONNX ``metadata_props`` carry at least ``REQUIRED_META``; a TensorRT plan ``X.plan`` has a JSON sidecar
  ``X.plan.json`` with ``SIDECAR_KEYS`` and a copy of the ONNX metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

from infomotion_rt.errors import DataError, require

FORMAT = "infomotion-rt/ifa-encoder"
FORMAT_VERSION = "1"
INPUT_NAME, OUTPUT_NAME = "frames", "motion"
# Keys every exported model carries; the ONNX backend refuses a file without them.
REQUIRED_META = ("format", "format_version", "image_size", "feature_dim", "input_name", "output_name",
                 "normalisation", "feature_layout", "config")
SIDECAR_SUFFIX = ".json"
SIDECAR_KEYS = ("format", "tensorrt_version", "gpu", "compute_capability", "input_name", "output_name",
                "image_size", "feature_dim", "min_batch", "opt_batch", "max_batch", "precision", "onnx_sha256",
                "metadata")

VECTOR_DEFAULT = "mean"   # what a model file without a "vector" metadata key outputs
# Vectors computed from pair 1 (input frames 0-1) alone: extraction decodes only ED and ES for them.
PAIR1_ONLY_VECTORS = ("motion-grid", "ed-es-flow")
# The layout of the "mean" vector (every export before issue 19); other vectors state theirs in the metadata.
FEATURE_LAYOUT = ("pair(ED->ES, ES->ED) x direction(start->end, end->start) x scale(1/8, 1/16) x channel; "
                  "each motion map averaged over space")
NORMALISATION = "grayscale uint8 / 255 in [0, 1], resized to image_size x image_size (area / bilinear)"
INPUT_LAYOUT = "pair-1 start (ED), pair-1 end (ES), pair-2 start, pair-2 end (runtime.inputs)"


def check_metadata(meta: dict, path) -> dict:
    """Validate exported metadata (ONNX metadata_props or a plan's sidecar copy) and return it.

    ``meta``: str -> str as ONNX stores it. Raises DataError naming ``path`` when the format, its version,
    a required key, or the image size / feature dimension is wrong."""
    if meta.get("format") != FORMAT:
        raise DataError(f"{path}: not an infomotion-rt encoder export (metadata 'format' is "
                        f"{meta.get('format', 'missing')!r}; re-export with 'infomotion-rt export-model')")
    if not str(meta.get("format_version", "")).isdigit() or int(meta["format_version"]) > int(FORMAT_VERSION):
        raise DataError(f"{path}: export format version {meta.get('format_version')!r} is not one this "
                        f"toolkit reads (<= {FORMAT_VERSION})")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise DataError(f"{path}: export metadata lacks {', '.join(missing)}")
    try:
        size, dim = int(meta["image_size"]), int(meta["feature_dim"])
        json.loads(meta["config"])
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: malformed export metadata ({exc})") from exc
    if size < 16 or dim < 1:
        raise DataError(f"{path}: implausible image_size {size} / feature_dim {dim} in the metadata")
    return meta


def sidecar_path(plan) -> Path:
    """``X.plan`` -> ``X.plan.json``."""
    plan = Path(plan)
    return plan.with_name(plan.name + SIDECAR_SUFFIX)


def read_sidecar(plan) -> dict:
    """The JSON sidecar of a TensorRT plan, validated; DataError naming the file otherwise."""
    path = sidecar_path(plan)
    if not path.is_file():
        raise DataError(f"{path}: sidecar of {Path(plan).name} not found (build-engine writes it beside the plan)")
    try:
        side = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(side, dict) or side.get("format") != FORMAT + "/tensorrt":
        raise DataError(f"{path}: not an infomotion-rt TensorRT sidecar")
    missing = [k for k in SIDECAR_KEYS if k not in side]
    if missing:
        raise DataError(f"{path}: sidecar lacks {', '.join(missing)}")
    if not 1 <= int(side["min_batch"]) <= int(side["opt_batch"]) <= int(side["max_batch"]):
        raise DataError(f"{path}: batch profile must satisfy 1 <= min <= opt <= max, got "
                        f"{side['min_batch']}/{side['opt_batch']}/{side['max_batch']}")
    check_metadata(side["metadata"], path)
    return side


def import_tensorrt(what: str):
    """The ``tensorrt`` module, or a DependencyError saying what needed it and how to get it."""
    return require("tensorrt", what=what, hint="install NVIDIA TensorRT (pip install tensorrt) on a machine "
                   "with an NVIDIA GPU, or use the .onnx model with ONNX Runtime")
