"""infomotion-rt: motion-based dataset distillation of echocardiography videos."""

from infomotion_rt._version import __version__

__all__ = ["__version__"]
