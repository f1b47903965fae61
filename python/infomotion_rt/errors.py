"""One exception family. Every message names the file or video at fault and what is wrong,
so the CLI can print it as a single line."""

from __future__ import annotations

from dataclasses import dataclass, field


class InfoMotionError(Exception):
    """Base of every error the toolkit raises on purpose (bad input, missing dependency)."""


class DataError(InfoMotionError):
    """A dataset file (FileList, VolumeTracings, video, features file) is missing or malformed."""


class VideoError(DataError):
    """A single video cannot be used: missing, undecodable, empty, or inconsistent with its labels."""


class DependencyError(InfoMotionError):
    """An optional library or device the requested path needs is not installed or not present."""


class ConfigError(InfoMotionError):
    """An option or combination of options is invalid."""


class Terminated(BaseException):
    """SIGTERM arrived (``cli.main`` installs the handler that raises it). A BaseException like
    KeyboardInterrupt, so ``except Exception`` does not swallow it and every ``finally`` (thread joins,
    intermediate saves, atomic temporaries) runs. A stage may set ``resume_hint`` (str) on it, or on a
    KeyboardInterrupt, to say what was kept and how to continue."""


TRAIN_EXTRA_HINT = "install the [train] extra (pip install 'infomotion-rt[train]')"


def require(*modules: str, what: str, hint: str = TRAIN_EXTRA_HINT):
    """Import optional modules where a step needs them; one DependencyError naming the step otherwise.

    Returns the first module, so ``torch = require("torch", "torchvision", what=...)`` reads naturally.
    """
    import importlib

    loaded = []
    for name in modules:
        try:
            loaded.append(importlib.import_module(name))
        except ImportError as exc:
            raise DependencyError(f"{what} needs the '{name}' package; {hint}") from exc
    return loaded[0]


PLOT_EXTRA_HINT = "install the [plot] extra (pip install 'infomotion-rt[plot]')"


def require_pyplot(what: str, hint: str = PLOT_EXTRA_HINT):
    """matplotlib's pyplot on the file-only Agg backend (no display on a workstation service)."""
    require("matplotlib", what=what, hint=hint).use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass
class ProblemLog:
    """Problems a batch step met and went past; reported at the end, one line each."""

    problems: list[tuple[str, str]] = field(default_factory=list)

    def add(self, subject: str, message: str) -> None:
        self.problems.append((subject, message))

    def __len__(self) -> int:
        return len(self.problems)

    def __iter__(self):
        return iter(self.problems)

    def lines(self) -> list[str]:
        return [f"{subject}: {message}" for subject, message in self.problems]
