"""int8 variant of an exported encoder: ONNX Runtime static quantisation, calibrated on frame pairs.

``quantize_onnx`` takes an FP32 export (``export-model``'s output, e.g. the shipped ``ifa_small.onnx``) and writes an
int8 ONNX file that the ONNX Runtime backend loads like any other export: the input stays float32 frames,
the output float32 motion vectors, and the metadata (``runtime.contract``) is carried over with
``precision`` and ``quantisation`` keys added. Calibration data: the extraction inputs
(``runtime.inputs.endpoint_input``) of videos of a dataset folder, by default a phantom generated on the
fly. The result is checked against the FP32 model on held-out videos and refused above ``PARITY_TOL_INT8``.

Needs ``onnx`` and ``onnxruntime`` (the quantisation tools live in onnxruntime; no torch).
Defaults (ours, measured in BENCHMARKS.md "int8 encoder"): QDQ format, per-channel int8 weights, uint8
activations, MinMax calibration, and only Conv and LeakyRelu quantised -- quantising the attention MatMuls
too raised the error from < 0.1 % to ~3 % and was not faster on an AVX2 CPU.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infomotion_rt import console
from infomotion_rt.atomic import atomic_write_bytes
from infomotion_rt.errors import ConfigError, DataError, require
from infomotion_rt.runtime.contract import check_metadata

FORMATS = ("qdq", "qoperator")
QUANT_OPS = ("Conv", "LeakyRelu")
PARITY_TOL_INT8 = 0.02      # worst per-video relative L2 error of the motion vector vs FP32 (ours)
CALIBRATION_BATCH = 8


@dataclass
class QuantReport:
    path: Path
    fmt: str
    n_calibration: int          # videos the activation ranges were calibrated on
    n_check: int                # held-out videos of the parity check
    max_rel_error: float        # worst per-video relative L2 error vs FP32 on the held-out videos
    median_rel_error: float


def calibration_frames(data_dir=None, n: int = 64, size: int = 112, seed: int = 4242,
                       progress: bool = True) -> tuple[np.ndarray, str]:
    """Extraction inputs of up to ``n`` videos: ((m, 4, size, size) float32 in [0, 1], description).

    ``data_dir`` None: a phantom of ``n`` videos (EchoNet-Dynamic layout, ``seed``) is generated in a
    temporary folder. Videos that fail to decode are skipped; DataError when none is left."""
    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.errors import InfoMotionError
    from infomotion_rt.runtime.inputs import endpoint_input

    with tempfile.TemporaryDirectory(prefix="infomotion-calib-") as tmp:
        if data_dir is None:
            from infomotion_rt.phantom.generate import generate

            data_dir = Path(tmp) / "calibration-phantom"   # its progress bar reads "phantom calibration-phantom"
            generate(data_dir, n, seed=seed, progress=progress)
            what = f"phantom --n {n} --seed {seed}"
        else:
            what = f"{Path(data_dir).name} (first {n} videos)"
        records = list(load_dataset(data_dir, progress=False).records)[:n]
        frames = []
        for rec in console.bar(records, desc="calibration frames", unit="video", progress=progress):
            try:
                frames.append(endpoint_input(rec, size))
            except InfoMotionError:
                continue
    if len(frames) < 2:
        raise DataError(f"{data_dir}: fewer than 2 decodable videos for int8 calibration")
    return np.stack(frames).astype(np.float32), what


def _reader(frames: np.ndarray, input_name: str):
    from onnxruntime.quantization import CalibrationDataReader

    class FramesReader(CalibrationDataReader):
        """Feeds the calibration frames to ONNX Runtime's calibrator in batches."""

        def __init__(self) -> None:
            self._it = iter([{input_name: frames[s:s + CALIBRATION_BATCH]}
                             for s in range(0, len(frames), CALIBRATION_BATCH)])

        def get_next(self):
            return next(self._it, None)

    return FramesReader()


def relative_errors(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per-row relative L2 error ||got - ref|| / ||ref|| of two (B, D) arrays, float64 (B,)."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    return np.linalg.norm(got - ref, axis=1) / np.maximum(np.linalg.norm(ref, axis=1), 1e-12)


def quantize_onnx(src, out, frames: np.ndarray, *, fmt: str = "qdq", per_channel: bool = True,
                  ops=QUANT_OPS, calibration: str = "", check_fraction: float = 0.25,
                  tol: float = PARITY_TOL_INT8) -> QuantReport:
    """Write an int8 version of the FP32 export ``src`` to ``out`` (.onnx), atomically.

    ``frames``: (m, 4, S, S) float32 extraction inputs (``calibration_frames``); the last ``check_fraction``
    of them (at least one) are held out of calibration and used for the parity check. ``fmt``: ``qdq`` or
    ``qoperator`` (ONNX Runtime's two int8 layouts). ``calibration`` is recorded in the metadata. Raises
    ConfigError for bad options, DataError when ``src`` is not an FP32 infomotion-rt export or the int8
    model differs from it by more than ``tol`` (worst per-video relative L2 error)."""
    require("onnx", what="export-model --int8")
    ort = require("onnxruntime", what="export-model --int8")
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from infomotion_rt.runtime import file_sha256
    from infomotion_rt.runtime.onnx_backend import read_onnx_metadata

    src, out = Path(src), Path(out)
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ConfigError(f"unknown int8 format {fmt!r}; valid: {', '.join(FORMATS)}")
    if out.suffix.lower() != ".onnx":
        raise ConfigError(f"{out}: the int8 model must end in .onnx")
    if out.resolve() == src.resolve():
        raise ConfigError(f"{out}: the int8 model must not overwrite its FP32 source")
    meta = check_metadata(read_onnx_metadata(src), src)
    if meta.get("precision", "fp32") != "fp32":
        raise DataError(f"{src}: already quantised ({meta['precision']}); quantise the FP32 export")
    size, name = int(meta["image_size"]), meta["input_name"]
    frames = np.ascontiguousarray(frames, dtype=np.float32)
    if frames.ndim != 4 or frames.shape[1:] != (4, size, size) or len(frames) < 2:
        raise DataError(f"calibration frames must be (m >= 2, 4, {size}, {size}), got {frames.shape}")
    n_check = max(1, int(round(len(frames) * check_fraction)))
    calib, check = frames[:-n_check], frames[-n_check:]

    with tempfile.TemporaryDirectory(prefix="infomotion-int8-") as tmp:
        pre, tmp_out = Path(tmp) / "pre.onnx", Path(tmp) / "int8.onnx"
        # shape inference + graph clean-up, as ORT advises; auto_merge lets the symbolic pass merge the batch
        # dimension of the flow heads' branch with the encoder's (the ed-es-flow export fails without it)
        quant_pre_process(str(src), str(pre), auto_merge=True)
        level = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)   # the tools log every op they leave in float
        try:
            quantize_static(str(pre), str(tmp_out), _reader(calib, name),
                            quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
                            op_types_to_quantize=list(ops), per_channel=per_channel,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax)
        finally:
            logging.getLogger().setLevel(level)
        model = onnx.load(str(tmp_out))
        del model.metadata_props[:]
        extra = {"precision": "int8",
                 "quantisation": (f"onnxruntime {ort.__version__} quantize_static, {fmt.upper()}, "
                                  f"{'per-channel' if per_channel else 'per-tensor'} int8 weights, uint8 "
                                  f"activations, MinMax; ops {', '.join(ops)}"),
                 "calibration": f"{calibration or 'frames'} ({len(calib)} videos)",
                 "source_onnx": src.name, "source_onnx_sha256": file_sha256(src)}
        for key, value in {**meta, **extra}.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, str(value)
        onnx.save_model(model, str(tmp_out))
        errs = _parity(ort, src, tmp_out, check, meta)
        if not errs.max() <= tol:
            raise DataError(f"{out}: int8 motion vectors differ from FP32 by up to {errs.max():.2%} (relative) "
                            f"> {tol:.0%} on {len(check)} held-out videos; not written")
        atomic_write_bytes(out, tmp_out.read_bytes())
    return QuantReport(out, fmt, len(calib), len(check), float(errs.max()), float(np.median(errs)))


def _parity(ort, fp32_path, int8_path, frames: np.ndarray, meta: dict) -> np.ndarray:
    sessions = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (fp32_path, int8_path)]
    ref, got = (s.run([meta["output_name"]], {meta["input_name"]: frames})[0] for s in sessions)
    return relative_errors(got, ref)


def int8_path_for(onnx_path) -> Path:
    """``ifa.onnx`` -> ``ifa_int8.onnx`` (where ``export-model --int8`` puts the int8 model beside the FP32 one)."""
    p = Path(onnx_path)
    return p.with_name(f"{p.stem}_int8{p.suffix}")
