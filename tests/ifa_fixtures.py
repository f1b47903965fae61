"""A tiny phantom dataset shared by the motion-model tests (generated once per test module)."""

from __future__ import annotations

import pytest

N_VIDEOS, FRAMES = 10, 40


@pytest.fixture(scope="module")
def tiny_phantom(tmp_path_factory):
    from infomotion_rt.phantom.generate import generate

    out = tmp_path_factory.mktemp("ifa") / "ph"
    generate(out, N_VIDEOS, seed=3, frames=FRAMES, progress=False)
    return out
