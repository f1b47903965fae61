"""IFA model: sizes, shapes, the motion-vector layout, and properties that hold without training."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from echo_fixtures import ellipse_frames  # noqa: E402
from infomotion_rt.errors import ConfigError  # noqa: E402
from infomotion_rt.motion.ifa import CONFIGS, IFAConfig, IFANet, count_parameters, get_config  # noqa: E402
from infomotion_rt.motion.losses import laplacian_l1, psnr  # noqa: E402
from infomotion_rt.runtime.inputs import to_model_input  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def frames(n=4, size=32, seed=0):
    return torch.from_numpy(to_model_input(ellipse_frames(n, size=size, seed=seed), size))[:, None]


def test_small_encoder_under_3m_parameters_and_base_is_larger():
    small = IFANet(CONFIGS["small"])
    base = IFANet(CONFIGS["base"])
    assert count_parameters(small.encoder) <= 3_000_000
    assert count_parameters(base.encoder) > count_parameters(small.encoder)
    assert CONFIGS["small"].feature_dim == 256 and CONFIGS["base"].feature_dim == 512


def test_encode_shapes_and_motion_vector_layout():
    cfg = CONFIGS["tiny"]
    enc = IFANet(cfg).encoder.eval()
    f = frames(4)
    m8, m16 = enc.encode(f[:2], f[2:])
    assert m8.shape == (2, 2, cfg.motion_dims[0], 4, 4)
    assert m16.shape == (2, 2, cfg.motion_dims[1], 2, 2)
    quad = f[:, 0][None].repeat(3, 1, 1, 1)                # (3, 4, 32, 32)
    v = enc.motion_vector(quad)
    assert v.shape == (3, cfg.feature_dim)
    # documented layout: pair 1 (fwd s8, fwd s16, bwd s8, bwd s16) then pair 2 alike
    p1_8, p1_16 = enc.encode(quad[:1, 0:1], quad[:1, 1:2])
    p2_8, p2_16 = enc.encode(quad[:1, 2:3], quad[:1, 3:4])
    m = lambda t, d: t[0, d].mean(dim=(1, 2))  # noqa: E731
    expected = torch.cat([m(p1_8, 0), m(p1_16, 0), m(p1_8, 1), m(p1_16, 1),
                          m(p2_8, 0), m(p2_16, 0), m(p2_8, 1), m(p2_16, 1)])
    torch.testing.assert_close(v[0], expected, rtol=1e-5, atol=1e-6)


def test_batch_rows_are_independent():
    enc = IFANet(CONFIGS["tiny"]).encoder.eval()
    quad = torch.rand(5, 4, 32, 32)
    whole = enc(quad)
    single = torch.cat([enc(quad[i:i + 1]) for i in range(5)])
    torch.testing.assert_close(whole, single, rtol=1e-4, atol=1e-5)


def test_motion_is_zero_for_a_still_pair_and_antisymmetric_in_direction():
    enc = IFANet(CONFIGS["tiny"]).encoder.eval()
    f = frames(4)
    m8, _ = enc.encode(f[:1], f[:1])
    # same frame both sides: both directions give the same motion map
    torch.testing.assert_close(m8[:, 0], m8[:, 1])
    # swapping the inputs swaps the directions
    a8, _ = enc.encode(f[:1], f[3:4])
    b8, _ = enc.encode(f[3:4], f[:1])
    torch.testing.assert_close(a8[:, 0], b8[:, 1], rtol=1e-4, atol=1e-5)


def test_untrained_model_predicts_the_naive_midpoint():
    net = IFANet(CONFIGS["tiny"]).eval()
    f = frames(3)
    out = net(f[:1], f[2:3])
    torch.testing.assert_close(out["refined"], 0.5 * (f[:1] + f[2:3]), atol=1e-5, rtol=0)


def test_warp_shifts_by_the_flow():
    img = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)
    flow = torch.zeros(1, 2, 8, 8)
    flow[:, 0] = 1.0                                      # sample one pixel to the right
    out = IFANet.warp(img, flow)
    torch.testing.assert_close(out[..., :-1], img[..., 1:])


def test_laplacian_loss_and_psnr():
    a = torch.rand(2, 1, 32, 32)
    assert float(laplacian_l1(a, a)) == 0.0
    assert float(laplacian_l1(a, a + 0.1)) > 0.0
    assert torch.isinf(psnr(a, a)).sum() == 0                     # clamped, finite
    assert float(psnr(a, a)[0]) > float(psnr(a * 0.5, a)[0])


def test_config_round_trip_and_bad_configs():
    cfg = get_config("small", image_size=64)
    assert IFAConfig.from_dict(cfg.to_dict()) == cfg
    assert all(not isinstance(v, tuple) for v in cfg.to_dict().values())   # JSON-able
    with pytest.raises(ConfigError, match="valid: small"):
        get_config("huge")
    with pytest.raises(ConfigError, match="multiple of 16"):
        get_config("small", image_size=100)


def test_to_model_input_normalises_and_resizes():
    x = to_model_input(np.full((2, 50, 70), 255, np.uint8), 32)
    assert x.shape == (2, 32, 32) and x.dtype == np.float32
    assert np.allclose(x, 1.0)


def test_encoder_exports_with_a_dynamic_batch():
    """What the ONNX export builds on: one graph for every batch size, plain ops, same numbers."""
    enc = IFANet(CONFIGS["tiny"]).encoder.eval()
    batch = torch.export.Dim("batch", min=1, max=1024)
    ep = torch.export.export(enc, (torch.rand(3, 4, 32, 32),), dynamic_shapes={"frames": {0: batch}})
    for n in (1, 7):
        x = torch.rand(n, 4, 32, 32)
        torch.testing.assert_close(ep.module()(x), enc(x))
