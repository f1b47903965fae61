"""Boundary to the compiled graph core. The only module that imports ``_core``."""

from __future__ import annotations

from .errors import DependencyError

try:
    from . import _core
except ImportError as exc:  # a source checkout that was never built
    _core = None
    _IMPORT_ERROR = exc
else:
    _IMPORT_ERROR = None


def core():
    """The compiled core, or a clear error telling how to build it."""
    if _core is None:
        raise DependencyError(
            f"the native core infomotion_rt._core is not built ({_IMPORT_ERROR}); "
            "install the package with 'pip install .' so scikit-build-core compiles it"
        )
    return _core


def core_build_info() -> dict:
    """Version and compiler of the compiled core."""
    return dict(core().build_info())
