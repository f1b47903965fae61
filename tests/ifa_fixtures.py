"""A tiny phantom dataset shared by the motion-model tests: conftest.py's session-wide ``shared_phantom``
(10 videos, seed 3, 40 frames), generated once per test session. Read it; copy it before changing it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_phantom(shared_phantom):
    return shared_phantom
