"""IFA training: a step lowers the loss, checkpoints round-trip and load safely, resume, the CLI."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402
from echo_fixtures import ellipse_frames  # noqa: E402
from ifa_fixtures import tiny_phantom  # noqa: E402,F401  (fixture)
from infomotion_rt.cli import cli  # noqa: E402
from infomotion_rt.errors import DataError  # noqa: E402
from infomotion_rt.motion.ifa import CONFIGS, IFANet  # noqa: E402
from infomotion_rt.motion.losses import ifa_loss  # noqa: E402
from infomotion_rt.motion.train import (TrainConfig, evaluate_psnr, fit, load_checkpoint, lr_factor,  # noqa: E402
                                        make_optimizer, model_from_checkpoint, save_checkpoint, train_step)
from infomotion_rt.motion.triplets import TripletSet  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def triplets(n_videos=4, size=32, seed=0):
    out = []
    for v in range(n_videos):
        f = ellipse_frames(20, size=size, period=12.0, seed=seed + v)
        out += [f[[3, 5, 7]], f[[7, 11, 15]]]
    return TripletSet(np.stack(out), [f"v{i // 2}" for i in range(len(out))])


def batch(ts):
    x = torch.from_numpy(ts.frames).float() / 255.0
    return x[:, 0:1], x[:, 1:2], x[:, 2:3]


def test_one_training_step_lowers_the_loss():
    model = IFANet(CONFIGS["tiny"])
    # warm-up off: the first step uses the full (small) rate; Adam moves every weight by about lr
    opt, _ = make_optimizer(model, TrainConfig(lr=3e-4, warmup_frac=0.0), 10)
    i0, it, i1 = batch(triplets())
    with torch.no_grad():
        before = float(ifa_loss(model.eval()(i0, i1), it))
    train_step(model, opt, i0, it, i1)
    with torch.no_grad():
        after = float(ifa_loss(model.eval()(i0, i1), it))
    assert after < before


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    model = IFANet(CONFIGS["tiny"])
    opt, sched = make_optimizer(model, TrainConfig(), 10)
    i0, it, i1 = batch(triplets(2))
    train_step(model, opt, i0, it, i1)
    path = save_checkpoint(tmp_path / "m.pt", model, opt, sched, epoch=1, step=1, train_cfg=TrainConfig())
    assert not list(tmp_path.glob(".*tmp"))                        # no temporary left behind
    ckpt = load_checkpoint(path)                                   # weights_only=True inside
    json.dumps(ckpt["config"]) and json.dumps(ckpt["train"])       # plain JSON-able types
    loaded = model_from_checkpoint(ckpt).eval()
    model.eval()
    with torch.no_grad():
        a, b = model(i0, i1)["refined"], loaded(i0, i1)["refined"]
        quad = torch.rand(2, 4, 32, 32)
        va, vb = model.encoder(quad), loaded.encoder(quad)
    assert torch.equal(a, b) and torch.equal(va, vb)
    assert ckpt["epoch"] == 1 and ckpt["step"] == 1 and ckpt["optimizer"]["state"]


def test_bad_checkpoints_are_refused(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="bad.pt"):
        load_checkpoint(bad)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(DataError, match="not an infomotion-rt IFA checkpoint"):
        load_checkpoint(other)
    with pytest.raises(DataError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickled_objects_do_not_load(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "infomotion-rt/ifa-checkpoint", "x": _Evil()}, path)
    with pytest.raises(DataError):
        load_checkpoint(path)


def test_lr_schedule_warms_up_then_decays():
    f = [lr_factor(s, 100, 10) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[10:], f[11:])) and f[-1] < 0.01


def test_fit_then_resume_continues(tmp_path):
    train, val = triplets(4), triplets(2, seed=10)
    out = tmp_path / "m.pt"
    cfg = TrainConfig(config="tiny", epochs=1, batch_size=4, lr=3e-3)
    s1 = fit(IFANet(CONFIGS["tiny"]), train, val, cfg, out, progress=False, log=lambda *_: None)
    assert len(s1["history"]) == 1 and math.isfinite(s1["history"][0]["val_psnr"])
    ckpt = load_checkpoint(out)
    cfg2 = TrainConfig(config="tiny", epochs=2, batch_size=4, lr=3e-3)
    s2 = fit(model_from_checkpoint(ckpt), train, val, cfg2, out, ckpt=ckpt, progress=False, log=lambda *_: None)
    assert [h["epoch"] for h in s2["history"]] == [1, 2]
    assert load_checkpoint(out)["step"] == 2 * s1["steps"]
    ours, naive = evaluate_psnr(model_from_checkpoint(load_checkpoint(out)), val)
    assert math.isfinite(ours) and math.isfinite(naive)


def test_train_ifa_cli_on_a_phantom(tiny_phantom, tmp_path):
    out = tmp_path / "ifa.pt"
    res = CliRunner().invoke(cli, ["train-ifa", str(tiny_phantom), "--out", str(out), "--config", "tiny",
                                   "--epochs", "1", "--batch-size", "8", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "VAL PSNR" in res.output and "naive midpoint" in res.output
    assert load_checkpoint(out)["epoch"] == 1
    res = CliRunner().invoke(cli, ["train-ifa", str(tiny_phantom), "--out", str(out), "--config", "tiny",
                                   "--epochs", "2", "--resume"])
    assert res.exit_code == 0, res.output
    assert load_checkpoint(out)["epoch"] == 2


def test_device_checks():
    from infomotion_rt.errors import ConfigError, DependencyError
    from infomotion_rt.motion.train import resolve_device

    with pytest.raises(ConfigError, match="valid: cpu, cuda"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DependencyError, match="CUDA"):
            resolve_device("cuda")
