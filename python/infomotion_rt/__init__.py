"""infomotion-rt: motion-based dataset distillation of echocardiography videos.

The Python API (``api.py``): ``load_dataset``, ``extract_features``, ``read_features``, ``select``,
``select_config``, ``write_selection``, ``export_dataset`` and their result types. They are imported on first
use, so ``import infomotion_rt`` stays cheap for a command that needs none of them.
"""

from infomotion_rt._version import __version__

_API = ("Dataset", "ExportResult", "ExtractResult", "FeatureSet", "Selection", "export_dataset", "extract_features",
        "load_dataset", "read_features", "select", "select_config", "write_selection")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from infomotion_rt import api

        return getattr(api, name)
    raise AttributeError(f"module 'infomotion_rt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
