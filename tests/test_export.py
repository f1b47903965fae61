"""ONNX export: the encoder only, dynamic batch, metadata, and parity with torch (random and phantom frames)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from click.testing import CliRunner  # noqa: E402
from ifa_fixtures import tiny_phantom  # noqa: E402,F401  (fixture)
from onnx_fixtures import tiny_export  # noqa: E402,F401  (fixture)
from infomotion_rt.cli import cli  # noqa: E402
from infomotion_rt.data.loader import load_dataset  # noqa: E402
from infomotion_rt.errors import ConfigError, DataError  # noqa: E402
from infomotion_rt.motion.export import FORMAT, export_onnx, relative_error  # noqa: E402
from infomotion_rt.runtime.contract import REQUIRED_META
from infomotion_rt.motion.ifa import CONFIGS  # noqa: E402
from infomotion_rt.runtime.inputs import endpoint_input  # noqa: E402
from infomotion_rt.runtime import file_sha256, load_encoder  # noqa: E402

TOL = 1e-4


def test_export_is_the_encoder_with_a_dynamic_batch_and_metadata(tiny_export):
    ckpt, path = tiny_export
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    (inp,), (out,) = model.graph.input, model.graph.output
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert inp.name == "frames" and isinstance(dims[0], str) and dims[1:] == [4, 32, 32]
    assert out.name == "motion" and out.type.tensor_type.shape.dim[1].dim_value == CONFIGS["tiny"].feature_dim
    meta = {p.key: p.value for p in model.metadata_props}
    assert set(REQUIRED_META) <= set(meta) and meta["format"] == FORMAT
    assert meta["image_size"] == "32" and meta["feature_dim"] == str(CONFIGS["tiny"].feature_dim)
    assert meta["source_checkpoint_sha256"] == file_sha256(ckpt) and "model_hash" not in meta
    assert meta["training_data"] == "unit test"
    assert "[0, 1]" in meta["normalisation"] and "scale(1/8, 1/16)" in meta["feature_layout"]
    assert '"name": "tiny"' in meta["config"] and meta["package_version"]
    assert not list(path.parent.glob("*.tmp"))           # written atomically


@pytest.mark.parametrize("batch", [1, 7])
def test_onnxruntime_matches_torch_on_random_frames(tiny_export, batch):
    ckpt, path = tiny_export
    x = np.random.default_rng(batch).random((batch, 4, 32, 32), dtype=np.float32)
    ref, got = load_encoder(ckpt, "cpu", 1)(x), load_encoder(path, "cpu", 1)(x)
    assert got.shape == ref.shape == (batch, CONFIGS["tiny"].feature_dim)
    assert relative_error(got, ref) < TOL


@pytest.mark.parametrize("batch", [1, 7])
def test_onnxruntime_matches_torch_on_phantom_frames(tiny_export, tiny_phantom, batch):
    ckpt, path = tiny_export
    recs = load_dataset(tiny_phantom, progress=False).records[:batch]
    x = np.stack([endpoint_input(r, 32) for r in recs])
    ref, got = load_encoder(ckpt, "cpu", 1)(x), load_encoder(path, "cpu", 1)(x)
    assert np.abs(ref).max() > 0 and relative_error(got, ref) < TOL


def test_export_refuses_bad_input(tiny_export, tmp_path):
    ckpt, _ = tiny_export
    with pytest.raises(ConfigError, match=r"\.onnx"):
        export_onnx(ckpt, tmp_path / "model.bin")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="junk.pt"):
        export_onnx(junk, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_export_cli_error_is_one_line(tmp_path):
    import subprocess
    import sys

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"x")
    r = subprocess.run([sys.executable, "-m", "infomotion_rt.cli", "export-model", str(junk), "--out",
                        str(tmp_path / "o.onnx")], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "junk.pt" in r.stderr


def test_export_cli(tiny_export, tmp_path, monkeypatch):
    ckpt, _ = tiny_export
    calls = []
    import infomotion_rt.motion.export as ex

    def fake(checkpoint, out, training_data="", opset=20, vector="?"):   # the exporter itself is tested above
        calls.append((checkpoint, out, training_data, opset, vector))
        out = tmp_path / "m.onnx"
        out.write_bytes(b"x" * 1000)
        return out
    monkeypatch.setattr(ex, "export_onnx", fake)
    r = CliRunner().invoke(cli, ["export-model", str(ckpt), "--out", str(tmp_path / "m.onnx"), "--training-data", "ph"])
    assert r.exit_code == 0, r.output
    assert calls == [(str(ckpt), str(tmp_path / "m.onnx"), "ph", 20, "ed-es-flow")] and "wrote" in r.output
    r = CliRunner().invoke(cli, ["export-model", str(ckpt), "--out", str(tmp_path / "m.onnx"), "--vector", "flow-grid"])
    assert r.exit_code == 0 and calls[-1][-1] == "flow-grid", r.output


def test_shipped_encoder_matches_its_checkpoint():
    """The shipped ONNX against the checkpoint it was exported from. That checkpoint is not committed (the recipe
    models/train_shipped_encoder.sh makes it): set INFOMOTION_RT_SHIPPED_PT to its path to run this."""
    import os

    from infomotion_rt.runtime import default_engine

    pt = os.environ.get("INFOMOTION_RT_SHIPPED_PT")
    if not pt:
        pytest.skip("INFOMOTION_RT_SHIPPED_PT not set (path of the recipe's ifa_small.pt)")
    from infomotion_rt.motion.ifa import MotionVectorModel
    from infomotion_rt.motion.train import load_checkpoint, model_from_checkpoint

    got = load_encoder(default_engine(), "cpu", 1)
    assert got.metadata["source_checkpoint_sha256"] == file_sha256(pt)
    ref = MotionVectorModel(model_from_checkpoint(load_checkpoint(pt), pt), got.metadata.get("vector", "mean")).eval()
    rng = np.random.default_rng(0)
    for batch in (1, 7):
        x = rng.random((batch, 4, 112, 112), dtype=np.float32)
        with torch.no_grad():
            want = ref(torch.from_numpy(x)).numpy()
        assert relative_error(got(x), want) < TOL
