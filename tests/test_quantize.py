"""export --int8: an int8 model from a tiny export loads in the ONNX Runtime backend, keeps the metadata, and
stays within a stated bound of the FP32 model on phantom frame pairs not used for calibration."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
from click.testing import CliRunner  # noqa: E402

from ifa_fixtures import tiny_phantom  # noqa: E402,F401  (fixture)
from onnx_fixtures import tiny_export  # noqa: E402,F401  (fixture)
from infomotion_rt.cli import cli  # noqa: E402
from infomotion_rt.errors import ConfigError, DataError  # noqa: E402
from infomotion_rt.motion.quantize import (PARITY_TOL_INT8, calibration_frames, quantize_onnx,  # noqa: E402
                                          relative_errors)
from infomotion_rt.runtime import load_encoder  # noqa: E402
from infomotion_rt.runtime.contract import REQUIRED_META  # noqa: E402

# Bound (ours): the exporter's default, 2 % worst per-video relative L2 error against FP32; the tiny untrained
# model measured 0.2 %, the shipped encoder's figure is in BENCHMARKS.md.
TINY_TOL = PARITY_TOL_INT8


@pytest.fixture(scope="module")
def frames(tiny_phantom):
    x, what = calibration_frames(tiny_phantom, n=10, size=32, progress=False)
    assert x.shape == (10, 4, 32, 32) and x.dtype == np.float32 and "first 10" in what
    return x


def test_int8_export_loads_keeps_metadata_and_stays_close(tiny_export, frames, tmp_path):
    _, fp32 = tiny_export
    rep = quantize_onnx(fp32, tmp_path / "tiny_int8.onnx", frames[:8], tol=TINY_TOL, calibration="unit test")
    assert rep.n_calibration == 6 and rep.n_check == 2 and rep.max_rel_error <= TINY_TOL
    ref, q = load_encoder(fp32, "cpu", 1), load_encoder(rep.path, "cpu", 1)
    assert all(q.metadata[k] == ref.metadata[k] for k in REQUIRED_META)
    assert q.metadata["precision"] == "int8" and "QDQ" in q.metadata["quantisation"]
    assert q.precision == "int8" and "int8" in q.runtime and ref.precision == "fp32"
    assert q.model_hash != ref.model_hash
    err = relative_errors(q(frames[8:]), ref(frames[8:]))        # videos never seen in calibration
    assert err.max() <= TINY_TOL and np.isfinite(err).all()
    assert "QuantizeLinear" in rep.path.read_bytes().decode("latin-1")   # really quantised


def test_int8_refuses_bad_inputs(tiny_export, frames, tmp_path):
    _, fp32 = tiny_export
    with pytest.raises(ConfigError, match="unknown int8 format"):
        quantize_onnx(fp32, tmp_path / "a.onnx", frames, fmt="int4")
    with pytest.raises(DataError, match="calibration frames"):
        quantize_onnx(fp32, tmp_path / "a.onnx", frames[:, :, :16, :16])
    with pytest.raises(DataError, match="differ from FP32"):        # an impossible bound is refused, no file
        quantize_onnx(fp32, tmp_path / "b.onnx", frames, tol=0.0)
    assert not (tmp_path / "b.onnx").exists()
    q = quantize_onnx(fp32, tmp_path / "c.onnx", frames, tol=TINY_TOL)
    with pytest.raises(DataError, match="already quantised"):
        quantize_onnx(q.path, tmp_path / "d.onnx", frames)


def test_export_cli_int8_from_onnx(tiny_export, tiny_phantom, tmp_path):
    _, fp32 = tiny_export
    out = tmp_path / "cli_int8.onnx"
    r = CliRunner().invoke(cli, ["export-model", str(fp32), "--out", str(out), "--int8", "--calibration",
                                 str(tiny_phantom), "--calibration-videos", "10"])
    assert r.exit_code == 0, r.output
    assert out.is_file() and "int8 qdq" in r.output and "calibrated on 8 videos" in r.output
    assert load_encoder(out, "cpu", 1).metadata["calibration"].startswith("ph (first 10 videos)")
    r = CliRunner().invoke(cli, ["export-model", str(fp32), "--out", str(tmp_path / "x.onnx")])
    assert isinstance(r.exception, ConfigError) and "add --int8" in str(r.exception)


def test_int8_of_the_shipped_vector_kind(tiny_export, frames, tmp_path):
    """An ed-es-flow export (the shipped encoder's vector: flow heads, upsampling) quantises too; ONNX Runtime's
    symbolic shape inference needs auto_merge for it."""
    from infomotion_rt.motion.export import export_onnx

    ckpt, _ = tiny_export
    fp32 = export_onnx(ckpt, tmp_path / "tiny_flow.onnx", training_data="unit test", vector="ed-es-flow")
    rep = quantize_onnx(fp32, tmp_path / "tiny_flow_int8.onnx", frames[:8], tol=TINY_TOL)
    q = load_encoder(rep.path, "cpu", 1)
    assert q.metadata["vector"] == "ed-es-flow" and q.feature_dim == 2 * 3 * 64 and q.precision == "int8"
    assert rep.max_rel_error <= TINY_TOL
