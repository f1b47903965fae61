"""The optical-flow baseline representation (issue 19, item 2): the pinned vector on generated images, and
``extract --representation flow`` on a tiny phantom through select, resume and its refusals. CPU, seconds."""

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from ifa_fixtures import tiny_phantom  # noqa: F401  (fixture)
from infomotion_rt.cli import cli
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.errors import ConfigError, DataError
from infomotion_rt.extract.files import read_features, write_features
from infomotion_rt.extract.flow import DIM, FLOW_DEFINITION, GRID, REPRESENTATION, ed_es_frames, flow_vector, video_flow
from infomotion_rt.extract.pipeline import ExtractConfig, extract_features

CELLS = GRID * GRID


def textured(shape=(112, 112), seed=0) -> np.ndarray:
    """Smooth random texture with enough structure for Farneback everywhere."""
    rng = np.random.default_rng(seed)
    noise = rng.random((shape[0] // 4, shape[1] // 4)).astype(np.float32)
    img = cv2.resize(noise, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    img = cv2.GaussianBlur(img, (0, 0), 1.5)
    img = (img - img.min()) / (img.max() - img.min())
    return (img * 220 + 15).astype(np.uint8)


def shifted(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``img`` moved by (dx, dy) pixels: out(y + dy, x + dx) = img(y, x)."""
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("dx,dy", [(2.0, -1.0), (-1.5, 3.0)])
def test_a_known_shift_comes_back_in_the_interior_cells(dx, dy):
    ed = textured()
    es = shifted(ed, dx, dy)
    v = flow_vector(ed, es)
    assert v.shape == (DIM,) and v.dtype == np.float32 and DIM == 256
    cells = v.reshape(4, GRID, GRID)
    inner = (slice(2, GRID - 2), slice(2, GRID - 2))   # away from the border the warp reflects
    np.testing.assert_allclose(cells[0][inner], dx, atol=0.25)
    np.testing.assert_allclose(cells[1][inner], dy, atol=0.25)
    np.testing.assert_allclose(cells[2][inner], np.hypot(dx, dy), atol=0.3)   # magnitude, pixels
    assert (cells[3] >= 0).all() and (cells[3] <= 1).all() and cells[3][inner].mean() > 0.005   # grey / 255


def test_no_motion_gives_near_zero_flow_no_difference_and_the_vector_is_deterministic():
    ed = textured(seed=1)
    v = flow_vector(ed, ed.copy()).reshape(4, CELLS)
    assert v.dtype == np.float32
    # Farneback leaves a residue of a few hundredths of a pixel on identical frames; the difference is exact
    assert np.abs(v[:3]).max() < 0.05
    np.testing.assert_array_equal(v[3], np.zeros(CELLS, np.float32))
    es = shifted(ed, 1.0, 1.0)
    np.testing.assert_array_equal(flow_vector(ed, es), flow_vector(ed, es))
    # any decoded size: area pooling still gives 8 x 8 cells per channel
    assert flow_vector(textured((96, 128)), textured((96, 128), seed=2)).shape == (DIM,)


def test_bad_frames_are_one_line_errors():
    with pytest.raises(DataError, match="uint8"):
        flow_vector(np.zeros((8, 8), np.float32), np.zeros((8, 8), np.float32))
    with pytest.raises(DataError, match="one shape"):
        flow_vector(np.zeros((16, 16), np.uint8), np.zeros((16, 8), np.uint8))


def test_video_flow_uses_the_traced_ed_es_frames(tiny_phantom):
    from infomotion_rt.data.video import read_frames

    rec = next(r for r in load_dataset(tiny_phantom, progress=False).records if r.ed is not None)
    frames = read_frames(rec.path)
    pair = ed_es_frames(rec)
    np.testing.assert_array_equal(pair, frames[[rec.ed, rec.es]])
    np.testing.assert_array_equal(video_flow(rec), flow_vector(frames[rec.ed], frames[rec.es]))


def test_extract_flow_writes_a_file_select_reads(tiny_phantom, tmp_path):
    out, sel = tmp_path / "flow.npz", tmp_path / "sel.csv"
    r = CliRunner().invoke(cli, ["extract", str(tiny_phantom), "--representation", "flow", "--out", str(out)])
    assert r.exit_code == 0, r.output
    fs = read_features(out)
    names = [x.name for x in load_dataset(tiny_phantom, progress=False).records]
    assert sorted(fs.names.tolist()) == sorted(names) and fs.features.shape == (len(names), DIM)
    assert np.isfinite(fs.features).all() and fs.features.std(axis=0).max() > 0
    assert fs.meta["representation"] == REPRESENTATION and fs.meta["definition"] == FLOW_DEFINITION
    assert fs.meta["model"] is None and fs.meta["feature_dim"] == DIM and fs.meta["split"] == "ALL"
    rec = load_dataset(tiny_phantom, progress=False).records[0]
    np.testing.assert_array_equal(fs.features[fs.names.tolist().index(rec.name)], video_flow(rec))
    r = CliRunner().invoke(cli, ["select", "--features", str(out), "--vpc", "1", "--k", "3", "--split", "all",
                                 "--out", str(sel)])
    assert r.exit_code == 0, r.output
    rows = sel.read_text().strip().splitlines()
    assert rows[0].startswith("FileName") and len(rows) >= 2


def test_flow_refuses_a_model_file_and_another_representations_output(tiny_phantom, tmp_path):
    out = tmp_path / "f.npz"
    r = CliRunner().invoke(cli, ["extract", str(tiny_phantom), "--representation", "flow", "--engine", "m.onnx",
                                 "--out", str(out)])
    # (the console script prints the ConfigError as one line "error: ..." and exits 1)
    assert isinstance(r.exception, ConfigError) and not out.exists()
    assert "drop --engine m.onnx" in str(r.exception) and "\n" not in str(r.exception)
    with pytest.raises(ConfigError, match="runs on the CPU"):
        extract_features(tiny_phantom, None, out, ExtractConfig(device="cuda"), progress=False,
                         representation="flow")
    # a features file of the encoder (no "representation" in its meta): resume with flow is refused
    extract_features(tiny_phantom, None, out, ExtractConfig(), progress=False, representation="flow")
    fs = read_features(out)
    enc_meta = {k: v for k, v in fs.meta.items() if k not in ("representation", "definition", "model")}
    enc_meta.update(engine="ifa_small.onnx", model_hash="0" * 64)
    write_features(out, type(fs)(fs.names[:4], fs.features[:4], fs.ef[:4], fs.split[:4], enc_meta))
    r = CliRunner().invoke(cli, ["extract", str(tiny_phantom), "--representation", "flow", "--resume",
                                 "--out", str(out)])
    assert isinstance(r.exception, ConfigError) and "\n" not in str(r.exception)
    assert str(r.exception).startswith(f"{out}: --resume onto encoder features with representation flow-v1")


def test_resume_a_flow_file_and_a_broken_video(tiny_phantom, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_phantom, data)
    out = tmp_path / "shards"   # a folder: Parquet shards, as for the encoder
    full = extract_features(data, None, out, ExtractConfig(save_every=4), progress=False, representation="flow")
    assert full.n_total == len(read_features(out)) and not full.problems
    flat = tmp_path / "f.npz"
    extract_features(data, None, flat, ExtractConfig(), progress=False, representation="flow")
    kept = read_features(flat)
    write_features(flat, kept.subset(np.arange(len(kept)) < 3))
    victim = next(r for r in load_dataset(data, progress=False).records if r.name not in kept.names[:3])
    victim.path.write_bytes(b"garbage")
    res = extract_features(data, None, flat, ExtractConfig(resume=True), progress=False, representation="flow")
    assert res.n_skipped == 3 and res.n_new == len(kept) - 4
    assert [name for name, _ in res.problems] == [victim.name]
    assert str(victim.path.name) in res.problems.lines()[0]
    again = read_features(flat)
    np.testing.assert_array_equal(again.features[:3], kept.features[:3])
