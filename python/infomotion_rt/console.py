"""What the commands show on the console: counts with the right plural, and progress bars that do not
flood a log.

``bar`` wraps tqdm. On a terminal it is tqdm as usual (an inner bar, ``inner=True``, is cleared when it
ends). When stderr is not a terminal (a CI log, ``2> file``, a pipe) each redraw is a new line, and the
nested bars of a benchmark (a training bar per run, a batch bar per prediction) used to leave hundreds of
lines: there inner bars are not drawn at all, and a bar redraws about ``LOG_STEPS`` times in all (every
5 %; every ``LOG_INTERVAL_S`` seconds when its total is unknown). The one-line summaries the commands
print stay as they are.
"""

from __future__ import annotations

import sys

LOG_STEPS = 20         # redraws of a bar with a known total when stderr is not a terminal
LOG_INTERVAL_S = 30.0  # seconds between redraws of a bar without a total when stderr is not a terminal


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 video', '2 videos', '1 community', '15 communities' (``many`` when adding 's' is wrong)."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def is_terminal(stream=None) -> bool:
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def bar(iterable=None, *, progress: bool = True, inner: bool = False, **kwargs):
    """A tqdm bar (``kwargs`` as tqdm's: desc, total, unit ...); drawn only when ``progress``; an inner
    bar (one of many inside another bar) is cleared when done and not drawn outside a terminal."""
    from tqdm import tqdm

    tty = is_terminal(kwargs.get("file"))
    total = kwargs.get("total")
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if not progress or (inner and not tty) or total == 0:  # no bar for zero items ("0video")
        kwargs["disable"] = True
    kwargs.setdefault("leave", not inner)
    if not tty:
        if total:
            kwargs.setdefault("miniters", max(1, int(total) // LOG_STEPS))
        else:
            kwargs.setdefault("mininterval", LOG_INTERVAL_S)
    return tqdm(iterable, **kwargs)
