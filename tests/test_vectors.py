"""Issue 19: the exported motion vector choice (``mean`` = the paper's pooling, ``flow-grid`` = the model's
own flows on an 8 x 8 grid, ``ed-es-flow`` = the same for the ED->ES pair, ``motion-grid``): layout, ONNX export with a dynamic batch and metadata, parity with torch, and
what a features file records about it."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ifa_fixtures import tiny_phantom  # noqa: E402,F401  (fixture)
from infomotion_rt.errors import ConfigError  # noqa: E402
from infomotion_rt.motion.ifa import (CONFIGS, FLOW_GRID, VECTORS, IFANet, MotionVectorModel,  # noqa: E402
                                      vector_dim, vector_layout)

TOL = 1e-4


def _net(seed=0):
    """A tiny model whose flow heads are not zero (a fresh model's last head layers start at zero)."""
    torch.manual_seed(seed)
    net = IFANet(CONFIGS["tiny"]).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


def test_flow_grid_is_the_flow_heads_pooled_in_the_documented_layout():
    net = _net()
    x = torch.rand(3, 4, 32, 32)
    with torch.no_grad():
        v = MotionVectorModel(net, "flow-grid")(x)
        assert v.shape == (3, vector_dim("flow-grid", net.cfg)) == (3, 2 * 2 * 3 * FLOW_GRID ** 2)
        g = FLOW_GRID * FLOW_GRID
        for pair, (a, b) in enumerate(((0, 1), (2, 3))):
            full = net.flows(net.encoder.features(x[:, a:a + 1], x[:, b:b + 1]))
            for k, flow in enumerate((full[:, 0:2], full[:, 2:4])):       # middle->start, middle->end
                dx, dy = flow[:, 0], flow[:, 1]
                for q, m in enumerate((dx, dy, torch.sqrt(dx * dx + dy * dy))):
                    want = torch.nn.functional.adaptive_avg_pool2d(m[:, None], FLOW_GRID).flatten(1)
                    off = ((pair * 2 + k) * 3 + q) * g
                    assert torch.allclose(v[:, off:off + g], want, atol=1e-6)
        assert v.abs().max() > 0
        # the paper's vector is still there, unchanged
        assert torch.equal(MotionVectorModel(net, "mean")(x), net.encoder.motion_vector(x))


def test_motion_grid_is_pair_one_motion_maps_on_a_4x4_grid():
    net = _net(2)
    x = torch.rand(3, 4, 32, 32)
    with torch.no_grad():
        v = MotionVectorModel(net, "motion-grid")(x)
        c = net.cfg.motion_dims[0]
        assert v.shape == (3, vector_dim("motion-grid", net.cfg)) == (3, 2 * c * 16)
        f = net.encoder.features(x[:, 0:1], x[:, 1:2])
        b = x.shape[0]
        for d in range(2):                      # start->end (start attends end), end->start
            want = torch.nn.functional.adaptive_avg_pool2d(f["mot3"][d * b:(d + 1) * b], 4).flatten(1)
            assert torch.allclose(v[:, d * c * 16:(d + 1) * c * 16], want, atol=1e-6)
        y = x.clone()
        y[:, 2:] = torch.rand(3, 2, 32, 32)     # pair 2 is not used
        assert torch.equal(MotionVectorModel(net, "motion-grid")(y), v)


def test_ed_es_flow_is_pair_one_of_flow_grid():
    """The shipped vector: flow-grid's pair-1 half, computed from frames 0-1 alone."""
    net = _net(3)
    x = torch.rand(3, 4, 32, 32)
    with torch.no_grad():
        v = MotionVectorModel(net, "ed-es-flow")(x)
        both = MotionVectorModel(net, "flow-grid")(x)
        assert v.shape == (3, vector_dim("ed-es-flow", net.cfg)) == (3, 2 * 3 * FLOW_GRID ** 2)
        assert torch.allclose(v, both[:, :v.shape[1]], atol=1e-6) and v.abs().max() > 0
        y = x.clone()
        y[:, 2:] = torch.rand(3, 2, 32, 32)     # pair 2 is not used
        assert torch.equal(MotionVectorModel(net, "ed-es-flow")(y), v)


def test_vectors_and_unknown_vector():
    assert VECTORS == ("mean", "flow-grid", "motion-grid", "ed-es-flow")
    cfg = CONFIGS["small"]
    assert vector_dim("ed-es-flow", cfg) == 384 and "pair 1 (ED->ES) only" in vector_layout("ed-es-flow", cfg)
    assert vector_dim("mean", cfg) == 256 and vector_dim("flow-grid", cfg) == 768
    assert vector_dim("motion-grid", cfg) == 1024 and "4x4" in vector_layout("motion-grid", cfg)
    assert "averaged over space" in vector_layout("mean", cfg) and "8x8" in vector_layout("flow-grid", cfg)
    with pytest.raises(ConfigError, match="unknown motion vector 'grid'"):
        MotionVectorModel(IFANet(CONFIGS["tiny"]), "grid")


def test_flow_grid_export_dynamic_batch_metadata_and_parity(tmp_path):
    pytest.importorskip("onnxscript")
    onnx = pytest.importorskip("onnx")
    from infomotion_rt.extract.pipeline import vector_meta
    from infomotion_rt.motion.export import export_onnx, relative_error
    from infomotion_rt.motion.train import save_checkpoint
    from infomotion_rt.runtime import load_encoder

    net = _net(1)
    ckpt = save_checkpoint(tmp_path / "t.pt", net)
    path = export_onnx(ckpt, tmp_path / "t.onnx", training_data="unit test", vector="flow-grid")
    model = onnx.load(str(path))
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert isinstance(dims[0], str) and dims[1:] == [4, 32, 32]
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["vector"] == "flow-grid" and meta["feature_dim"] == "768"
    assert meta["feature_layout"] == vector_layout("flow-grid", net.cfg)
    enc = load_encoder(path, "cpu", 1)
    assert vector_meta(enc) == {"vector": "flow-grid", "feature_layout": meta["feature_layout"]}
    ref_model = MotionVectorModel(net, "flow-grid").eval()
    rng = np.random.default_rng(0)
    for batch in (1, 7):
        x = rng.random((batch, 4, 32, 32), dtype=np.float32)
        with torch.no_grad():
            ref = ref_model(torch.from_numpy(x)).numpy()
        got = enc(x)
        assert got.shape == (batch, 768) and relative_error(got, ref) < TOL


def test_features_meta_of_a_model_without_vector_is_the_papers_mean():
    from infomotion_rt.extract.pipeline import vector_meta
    from infomotion_rt.runtime.contract import FEATURE_LAYOUT

    class Old:            # a model file exported before issue 19, or a .pt run by the torch backend
        metadata = {"feature_layout": FEATURE_LAYOUT}

    assert vector_meta(Old()) == {"vector": "mean", "feature_layout": FEATURE_LAYOUT}
    assert vector_meta(object()) == {"vector": "mean", "feature_layout": FEATURE_LAYOUT}


def test_pair1_only_decode_gives_the_same_motion_grid_input(tiny_phantom):
    """Extraction decodes only ED and ES for a pair-1 model; frames 0-1 are those of the full input."""
    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.extract.pipeline import reads_pair1_only
    from infomotion_rt.runtime.inputs import endpoint_pairs_input

    for rec in load_dataset(tiny_phantom, progress=False).records[:3]:
        _, full = endpoint_pairs_input(rec, 32)
        _, p1 = endpoint_pairs_input(rec, 32, pair1_only=True)
        assert p1.shape == full.shape and np.array_equal(p1[:2], full[:2]) and np.array_equal(p1[2:], full[:2])

    class M:
        def __init__(self, v):
            self.metadata = {"vector": v}

    assert reads_pair1_only(M("motion-grid")) and reads_pair1_only(M("ed-es-flow")) and not reads_pair1_only(M("mean"))
    assert not reads_pair1_only(M("flow-grid")) and not reads_pair1_only(object())
