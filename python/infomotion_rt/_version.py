"""The installed package's version (a leaf module, so every module can record it without importing the
package root)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("infomotion-rt")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
