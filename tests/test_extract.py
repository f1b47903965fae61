"""Extraction: finite vectors of the documented length for every video, deterministic, resumable,
failures reported; the backend registry; the CLI works without torch at import."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402
from ifa_fixtures import tiny_phantom  # noqa: E402,F401  (fixture)
from infomotion_rt.cli import cli  # noqa: E402
from infomotion_rt.data.loader import load_dataset  # noqa: E402
from infomotion_rt.errors import ConfigError, DataError  # noqa: E402
from infomotion_rt.extract.pipeline import ExtractConfig, extract_features  # noqa: E402
from infomotion_rt.extract.files import read_features, write_features
from infomotion_rt.motion.ifa import CONFIGS, IFANet  # noqa: E402
from infomotion_rt.motion.train import save_checkpoint  # noqa: E402
from infomotion_rt.runtime.inputs import endpoint_input, load_video_pairs  # noqa: E402
from infomotion_rt.runtime import BACKENDS, file_sha256, load_encoder  # noqa: E402

CFG = ExtractConfig(batch_size=3, threads=1)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("m") / "tiny.pt", IFANet(CONFIGS["tiny"]))


def test_every_video_gets_a_finite_vector_of_the_documented_length(tiny_phantom, model_file, tmp_path):
    out = tmp_path / "f.npz"
    res = extract_features(tiny_phantom, model_file, out, CFG, progress=False)
    fs = read_features(out)
    names = [r.name for r in load_dataset(tiny_phantom, progress=False).records]
    assert sorted(fs.names.tolist()) == sorted(names) and res.n_new == len(names) and not res.problems
    assert fs.features.shape == (len(names), CONFIGS["tiny"].feature_dim)
    assert np.isfinite(fs.features).all() and fs.features.std(axis=0).max() > 0
    assert fs.meta["model_hash"] == file_sha256(model_file) and fs.meta["config"]["name"] == "tiny"
    assert fs.meta["engine"] == model_file.name and fs.meta["feature_dim"] == CONFIGS["tiny"].feature_dim
    # shared file: no path and no source folder name unless --keep-paths
    assert "dataset" not in fs.meta and str(tiny_phantom.name) not in json.dumps(fs.meta)
    assert str(model_file.parent) not in json.dumps(fs.meta)
    assert np.isfinite(fs.ef).all() and set(fs.split) <= {"TRAIN", "VAL", "TEST"}
    again = tmp_path / "g.npz"
    extract_features(tiny_phantom, model_file, again, ExtractConfig(batch_size=4, threads=1, keep_paths=True),
                     progress=False)
    fs2 = read_features(again)
    assert fs2.meta["engine"] == str(model_file) and fs2.meta["dataset"] == str(Path(tiny_phantom).resolve())
    assert fs2.names.tolist() == fs.names.tolist()
    np.testing.assert_allclose(fs2.features, fs.features, rtol=1e-5, atol=1e-6)   # batch size does not matter


def test_split_resume_and_a_broken_video(tiny_phantom, model_file, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_phantom, data)
    out = tmp_path / "f.npz"
    res = extract_features(data, model_file, out, ExtractConfig(split="TRAIN", batch_size=3), progress=False)
    assert set(read_features(out).split) == {"TRAIN"} and res.n_new > 0
    with pytest.raises(ConfigError, match="split TRAIN with split ALL"):   # another split is another output
        extract_features(data, model_file, out, ExtractConfig(batch_size=3, resume=True), progress=False)
    full = extract_features(data, model_file, out, ExtractConfig(batch_size=3, overwrite=True), progress=False)
    kept = read_features(out)
    n_kept = 4                       # as if the first run had stopped after 4 videos
    write_features(out, kept.subset(np.arange(len(kept)) < n_kept))
    victim = next(r for r in load_dataset(data, progress=False).records if r.name not in kept.names[:n_kept])
    victim.path.write_bytes(b"garbage")
    res = extract_features(data, model_file, out, ExtractConfig(batch_size=3, resume=True), progress=False)
    assert res.n_skipped == n_kept and res.n_new == full.n_total - n_kept - 1
    assert [name for name, _ in res.problems] == [victim.name]
    assert len(read_features(out)) == full.n_total - 1
    other = save_checkpoint(tmp_path / "other.pt", IFANet(CONFIGS["tiny"]))
    with pytest.raises(ConfigError, match="different model"):
        extract_features(data, other, out, ExtractConfig(resume=True), progress=False)


def test_endpoints_are_oriented_by_phase(tiny_phantom):
    for rec in load_dataset(tiny_phantom, progress=False).records:
        vp = load_video_pairs(rec)
        a, b, c, d = vp.endpoints()
        assert (a, b) == (vp.ed, vp.es)                      # pair 1: ED -> ES
        assert set(vp.pairs[1][::2]) == {c, d}
        assert endpoint_input(rec, 32).shape == (4, 32, 32)


def test_backend_registry(model_file, tmp_path):
    assert ".pt" in BACKENDS
    enc = load_encoder(model_file, threads=1)
    v = enc(np.random.default_rng(0).random((2, 4, 32, 32), dtype=np.float32))
    assert v.shape == (2, enc.feature_dim) and v.dtype == np.float32
    with pytest.raises(DataError, match="frames must be"):
        enc(np.zeros((2, 4, 16, 16), np.float32))
    odd = tmp_path / "model.xyz"
    odd.write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"valid: .*\.pt"):
        load_encoder(odd)


def test_extract_cli(tiny_phantom, model_file, tmp_path):
    out = tmp_path / "f.npz"
    res = CliRunner().invoke(cli, ["extract", str(tiny_phantom), "--engine", str(model_file), "--out", str(out),
                                   "--split", "test", "--batch-size", "2", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "videos/s" in res.output and str(out) in res.output
    assert set(read_features(out).split) == {"TEST"}


def test_cli_imports_without_torch_and_train_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['torch'] = None\n"        # makes 'import torch' fail
            "import infomotion_rt.cli, infomotion_rt.runtime, infomotion_rt.extract.pipeline, infomotion_rt.motion\n"
            "from click.testing import CliRunner\n"
            f"r = CliRunner().invoke(infomotion_rt.cli.cli, ['train-ifa', {str(tmp_path)!r}, '--out', 'x.pt'])\n"
            "print(type(r.exception).__name__, r.exception)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("DependencyError") and "[train]" in out


def test_untraced_synthetic_style_videos(model_file, tmp_path):
    """No tracings: ED/ES come from detect_ed_es; training and extraction still run."""
    from infomotion_rt.phantom.generate import generate

    data = generate(tmp_path / "syn", 6, seed=3, frames=48, style="synthetic", progress=False).out_dir
    res = extract_features(data, model_file, tmp_path / "f.npz", CFG, progress=False)
    assert res.n_new == 6 and not res.problems
    assert np.isfinite(read_features(tmp_path / "f.npz").features).all()
    out = CliRunner().invoke(cli, ["train-ifa", str(data), "--out", str(tmp_path / "m.pt"), "--config", "tiny",
                                   "--epochs", "1", "--threads", "1"])
    assert out.exit_code == 0, out.output
    assert "TRAIN triplets" in out.output
