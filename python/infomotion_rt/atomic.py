"""Nothing half-written: every output is written under a temporary name in its own folder, then renamed.

A rename within one folder is atomic, so a reader sees either the old file or the whole new one, and an
interrupted run leaves no truncated output behind (only, at worst, a hidden ``.NAME.*.tmp``).
"""

from __future__ import annotations

import csv
import glob
import io
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from infomotion_rt.errors import ConfigError

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(path, private: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path``, else it is removed.

    The temporary file already exists (empty); writers that infer a format from the suffix must be told
    the format, since it ends in ``.tmp``. ``private=True`` keeps mkstemp's mode 0600 through the rename
    (keys, pseudonym mappings: never readable by others, not even for a moment).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:  # mkstemp inside: a Ctrl-C right after it must not leave the file behind
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        yield Path(tmp)
        if not private:
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path, data: bytes, private: bool = False) -> Path:
    with atomic_path(path, private) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path, text: str, private: bool = False) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), private)


def atomic_write_csv(path, header, rows, private: bool = False) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return atomic_write_text(path, buf.getvalue(), private)


def remove_stale_temporaries(path) -> list[Path]:
    """Remove the ``.NAME.*.tmp`` files and folders that an interrupted ``atomic_path`` / ``atomic_dir``
    for ``path`` left beside it (a kill -9 runs no cleanup). Only call it where no other process writes
    ``path`` at the same time. Returns what was removed."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    gone = []
    for p in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        gone.append(p)
    return gone


def check_folder_target(out_dir, overwrite: bool = False, hint: str = "") -> None:
    """ConfigError unless ``out_dir`` is absent, an empty folder, or (with ``overwrite``) any folder."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ConfigError(f"{out_dir}: exists and is not a folder")
        if not overwrite and any(out_dir.iterdir()):
            raise ConfigError(f"{out_dir}: folder exists and is not empty{hint}")


@contextmanager
def atomic_dir(out_dir, overwrite: bool = False, hint: str = "") -> Iterator[Path]:
    """Yield a temporary folder beside ``out_dir``; when the block succeeds it becomes ``out_dir``
    (replacing an existing one only with ``overwrite``), else it is removed."""
    out_dir = Path(out_dir)
    check_folder_target(out_dir, overwrite, hint)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        yield tmp
        check_folder_target(out_dir, overwrite, hint)  # something may have appeared while we worked
        os.chmod(tmp, 0o777 & ~_UMASK)
        if out_dir.exists():
            trash = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
            os.replace(out_dir, trash)
            os.replace(tmp, out_dir)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
