"""Model export: IFA checkpoint (.pt) -> encoder-only ONNX, and ONNX -> TensorRT plan (+ JSON sidecar).

Plain functions shared by the CLI (``export-model``, ``build-engine``) and the tests.

The ONNX graph: input ``frames`` (batch, 4, S, S) float32 -- pair-1 start, pair-1 end, pair-2 start, pair-2 end,
normalised as ``runtime.contract`` documents (grayscale uint8 / 255, resized to S x S) -- and output ``motion``
(batch, D) float32, laid out as ``motion.ifa`` documents. The batch is dynamic. Everything a runtime needs
to check the file travels in the ONNX ``metadata_props`` (``onnx_metadata`` lists the keys; the contract,
``REQUIRED_META`` and ``check_metadata``, lives in ``runtime.contract``); the runtime
reads them through ONNX Runtime, so neither torch nor the ``onnx`` package is needed to run the model.

``build_engine`` needs TensorRT (and a GPU); it is written against the TensorRT 10/11 Python API but could
not be run on the machines this toolkit was developed on (README, "Unverified paths").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from infomotion_rt.atomic import atomic_path, atomic_write_bytes
from infomotion_rt.errors import ConfigError, DataError, require
# The model-file contract is the runtime's (runtime.contract); export writes files to it.
from infomotion_rt.runtime.contract import (FEATURE_LAYOUT, FORMAT, FORMAT_VERSION, INPUT_LAYOUT, INPUT_NAME,  # noqa: F401
                                NORMALISATION, OUTPUT_NAME, REQUIRED_META, check_metadata, import_tensorrt,
                                sidecar_path)


def onnx_metadata(checkpoint: dict, checkpoint_path, training_data: str = "", vector: str = "mean") -> dict[str, str]:
    """The metadata_props of an export (all values strings, as ONNX stores them). ``vector``: which output
    (``motion.ifa.VECTORS``); it sets ``vector``, ``feature_dim`` and ``feature_layout``."""
    from infomotion_rt._version import __version__
    from infomotion_rt.runtime import file_sha256
    from infomotion_rt.motion.ifa import IFAConfig, vector_dim, vector_layout

    cfg = IFAConfig.from_dict(checkpoint["config"])
    history = checkpoint.get("history") or []
    last = history[-1] if history else {}
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "input_name": INPUT_NAME, "output_name": OUTPUT_NAME,
        "input_shape": f"[batch, 4, {cfg.image_size}, {cfg.image_size}] float32",
        "image_size": str(cfg.image_size), "feature_dim": str(vector_dim(vector, cfg)),
        "normalisation": NORMALISATION,
        "input_layout": INPUT_LAYOUT,
        "vector": vector,
        "feature_layout": vector_layout(vector, cfg),
        "config": json.dumps(cfg.to_dict(), sort_keys=True),
        "train": json.dumps(checkpoint.get("train") or {}, sort_keys=True),
        "epochs": str(checkpoint.get("epoch", 0)), "steps": str(checkpoint.get("step", 0)),
        "val_psnr": f"{last['val_psnr']:.3f}" if "val_psnr" in last else "",
        "naive_psnr": f"{last['naive_psnr']:.3f}" if "naive_psnr" in last else "",
        "source_checkpoint": Path(checkpoint_path).name,
        # sha256 of the checkpoint the weights came from (not "model_hash": a features file names the model
        # file's own sha256 so; both under one name confused audits)
        "source_checkpoint_sha256": file_sha256(checkpoint_path),
        "package_version": __version__,
        "training_data": training_data or "unspecified",
    }
    return meta


def export_onnx(checkpoint_path, out, *, training_data: str = "", opset: int = 20, max_batch: int = 4096,
                vector: str = "mean") -> Path:
    """Export an IFA checkpoint's motion vector to ``out`` (.onnx), written atomically. Returns the path.

    ``vector`` (``motion.ifa.VECTORS``): "mean" = the encoder's motion maps averaged over space (the paper's
    pooling; the encoder only), "flow-grid" = the flow heads' flows pooled on an 8 x 8 grid (encoder plus
    the two flow heads); ``motion.ifa.MotionVectorModel`` documents both. ConfigError for a bad suffix or
    vector; DataError for an unreadable checkpoint or an ONNX Runtime result off torch's by > 1e-4."""
    onnx = require("onnx", "torch", "onnxscript", what="export")
    import torch

    from infomotion_rt.motion.train import load_checkpoint, model_from_checkpoint

    out = Path(out)
    if out.suffix.lower() != ".onnx":
        raise ConfigError(f"{out}: the export must end in .onnx")
    ckpt = load_checkpoint(checkpoint_path)
    from infomotion_rt.motion.ifa import MotionVectorModel

    encoder = MotionVectorModel(model_from_checkpoint(ckpt, checkpoint_path), vector).eval()
    size = encoder.cfg.image_size
    meta = onnx_metadata(ckpt, checkpoint_path, training_data, vector)
    batch = torch.export.Dim("batch", min=1, max=max_batch)
    example = torch.rand(2, 4, size, size)
    with atomic_path(out) as tmp:
        with torch.no_grad():
            program = torch.onnx.export(encoder, (example,), None, dynamo=True, opset_version=opset,
                                        input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                        dynamic_shapes={"frames": {0: batch}}, optimize=True, verbose=False)
        model = program.model_proto
        del model.metadata_props[:]
        for key, value in meta.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        model.producer_name = "infomotion-rt"
        model.doc_string = f"IFA motion encoder: frames -> motion vector ({vector})"
        onnx.checker.check_model(model)
        onnx.save_model(model, str(tmp))      # weights inline: the small encoder is a few MB
        err = parity_error(encoder, str(tmp))
        if not err <= PARITY_TOL:
            raise DataError(f"{out}: ONNX Runtime output differs from torch by {err:.2e} (relative) > "
                            f"{PARITY_TOL:g}; the export is not trustworthy")
    return out


PARITY_TOL = 1e-4


def relative_error(got, ref) -> float:
    """Largest per-vector relative L2 error between two (B, D) arrays."""
    import numpy as np

    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    return float((np.linalg.norm(got - ref, axis=1) / np.maximum(np.linalg.norm(ref, axis=1), 1e-12)).max())


def parity_error(encoder, onnx_path, batches=(1, 7), seed: int = 0) -> float:
    """Worst relative error of ONNX Runtime (CPU) against the torch encoder on random frames."""
    import numpy as np
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    size = encoder.cfg.image_size
    rng = np.random.default_rng(seed)
    worst = 0.0
    for b in batches:
        x = rng.random((b, 4, size, size), dtype=np.float32)
        with torch.no_grad():
            ref = encoder(torch.from_numpy(x)).numpy()
        worst = max(worst, relative_error(sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0], ref))
    return worst


# ------------------------------------------------------------------------------------- TensorRT

def build_engine(onnx_path, out, *, fp16: bool = False, min_batch: int = 1, opt_batch: int = 16,
                 max_batch: int = 64, workspace_mb: int = 1024, log=None) -> Path:
    """Build a TensorRT plan from an exported encoder; writes ``out`` and ``out + '.json'`` atomically.

    FP16: with ``BuilderFlag.FP16`` where the installed TensorRT has it (<= 10.x). TensorRT 11 builds only
    strongly typed networks (precision follows the ONNX tensor types), so there the FP32 export stays FP32
    and a note says so. Unverified here: TensorRT cannot be installed on the development machines.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    onnx_path, out = Path(onnx_path), Path(out)
    if out.suffix.lower() not in (".plan", ".engine"):
        raise ConfigError(f"{out}: a TensorRT engine must end in .plan or .engine")
    opt_batch = min(max(opt_batch, min_batch), max_batch)   # the default 16 follows a smaller --max-batch
    if not 1 <= min_batch <= max_batch:
        raise ConfigError(f"batch profile must satisfy 1 <= min <= max, got min {min_batch}, max {max_batch}")
    from infomotion_rt.runtime import file_sha256
    from infomotion_rt.runtime.onnx_backend import read_onnx_metadata
    from infomotion_rt.runtime.tensorrt_backend import gpu_identity

    meta = check_metadata(read_onnx_metadata(onnx_path), onnx_path)
    trt = import_tensorrt("build-engine")
    size = int(meta["image_size"])
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    creation = trt.NetworkDefinitionCreationFlag
    has_fp16_flag = hasattr(trt.BuilderFlag, "FP16")
    flags = 0
    # TensorRT 10: strongly typed only when no FP16 mixing is wanted; TensorRT 11: always (the flag is ignored)
    if hasattr(creation, "STRONGLY_TYPED") and not (fp16 and has_fp16_flag):
        flags |= 1 << int(creation.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise DataError(f"{onnx_path}: TensorRT cannot parse the model ({errors})")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    profile = builder.create_optimization_profile()
    profile.set_shape(meta["input_name"], (min_batch, 4, size, size), (opt_batch, 4, size, size),
                      (max_batch, 4, size, size))
    config.add_optimization_profile(profile)
    precision = "fp32"
    if fp16 and has_fp16_flag:
        if not getattr(builder, "platform_has_fast_fp16", True):
            log("note: this GPU has no fast FP16; building FP16 anyway as asked")
        config.set_flag(trt.BuilderFlag.FP16)
        precision = "fp16"
    else:
        if fp16:
            log(f"note: TensorRT {trt.__version__} has no FP16 builder flag (strongly typed networks only); "
                "the FP32 export is built as FP32")
        if hasattr(trt.BuilderFlag, "TF32"):      # plain FP32 math, so the plan matches ONNX Runtime closely
            config.clear_flag(trt.BuilderFlag.TF32)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise DataError(f"{onnx_path}: TensorRT failed to build an engine (see the TensorRT log above)")
    gpu, cc = gpu_identity()
    side = {"format": FORMAT + "/tensorrt", "tensorrt_version": trt.__version__, "gpu": gpu,
            "compute_capability": cc, "input_name": meta["input_name"], "output_name": meta["output_name"],
            "image_size": size, "feature_dim": int(meta["feature_dim"]), "min_batch": min_batch,
            "opt_batch": opt_batch, "max_batch": max_batch, "precision": precision,
            "onnx_sha256": file_sha256(onnx_path), "source_onnx": onnx_path.name, "metadata": meta}
    atomic_write_bytes(out, bytes(serialized))
    atomic_write_bytes(sidecar_path(out), json.dumps(side, indent=2).encode())
    return out
