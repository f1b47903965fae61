"""EchoNet-style datasets: labels CSV (+ tracings) + videos -> ``Dataset`` of ``VideoRecord``.

Layouts (``load_dataset`` detects them)
---------------------------------------
* ``"dynamic"``   EchoNet-Dynamic: ``FileList.csv`` + ``VolumeTracings.csv`` + ``Videos/``. The tracings
  may instead be LV outline points ``FileName,X,Y,Frame`` (EchoNet-Pediatric's schema, which an export
  of a Pediatric source writes): records are then ``pediatric.OutlineRecord`` read as there (ED = the
  larger outline area, marker rows leave a video untraced).
* ``"synthetic"`` EchoNet-Synthetic style: ``FileList.csv`` + ``Videos/``, no tracings.
* ``"plain"``     a folder of videos plus a CSV with columns ``FileName,EF[,Split]``: given as
  ``labels_csv``, or else the only CSV in the folder that has those columns. FileName may carry a
  video suffix or not; videos are looked up in ``Videos/`` first, then in the folder itself.
  Without a Split column the split is deterministic by name (ours): the first 8 hex digits of
  SHA-1(name) as a fraction u gives TRAIN for u < 0.75, VAL for u < 0.875, TEST otherwise (close to
  EchoNet-Dynamic's 74/13/13), so adding or removing videos never moves the others.
* ``"dicom"``     the plain layout over a folder of DICOM cine loops (any depth, with or without a
  DICOMDIR); FileName is a file name (with or without ``.dcm``) or a SOPInstanceUID (``dicom.py``).
* ``"pediatric"`` EchoNet-Pediatric: ``A4C/`` and ``PSAX/`` view folders (or one given directly), read by
  ``pediatric.py`` (folds to splits, outline tracings, markers: see there). With ``labels_csv`` the
  videos and outlines still come from the view folder; the CSV gives the EF (and Split).

FileList.csv must have all nine EchoNet columns (FileName, EF, ESV, EDV, FrameHeight, FrameWidth,
FPS, NumberOfFrames, Split); an optional tenth, ``Weight`` (a distilled export's sample weight,
``selection.methods.class_prior_weights``), is read into ``VideoRecord.weight`` (1.0 when absent or blank; not
read from a plain labels CSV or an EchoNet-Pediatric FileList, whose Weight is body weight);
VolumeTracings.csv the six (FileName, X1, Y1, X2, Y2, Frame), or the four
of an outline file (FileName, X, Y, Frame). A missing file or column is a ``DataError``: the dataset is
unreadable.

Quirks handled
--------------
* Extra unnamed index column, UTF-8 BOM, blanks around names: ignored / stripped.
* FileName without ``.avi`` in FileList but with it in VolumeTracings: names are compared without
  their video suffix everywhere (``VideoRecord.name`` never has one).
* ED/ES come from the traced volumes (method of disks, larger = ED), never from row order.
* ESV/EDV of 0 (EchoNet-Synthetic) mean "unknown" and become NaN.
* With ``check_videos=True`` every video is probed. The decoded video is trusted for frame size and
  frame count (``height``, ``width``, ``n_frames`` take the video's values; a disagreement with
  FileList is a note). ``fps`` keeps the FileList value, as the contract says; an FPS column that
  disagrees with the files (EchoNet-Synthetic: 32 vs 30) is one grouped note; ``probed`` holds
  the video's own figures.

Problems (one line each in ``Dataset.problems``; the message says what was done)
------------------------------------------------------------------------------
* record dropped: NaN, non-numeric, negative or >100 EF; empty or duplicate FileName (the first row
  is kept); video file missing; a DICOM label two files match (both named); with ``check_videos``,
  video undecodable or zero frames, or untraced and shorter than ED/ES detection needs
  (``phases.short_clip``: the words extraction fails with).
* record kept untraced (``tracings``/``ed``/``es`` None, ED/ES left to ``detect_ed_es``): a traced
  frame without 21 rows, non-numeric coordinates or Frame, a short row, fewer than two traced
  frames, a traced frame beyond the video's length; in the dynamic layout, no tracings at all.
* note: FileList EF more than 5 points from the tracings' EF, a Weight that is not a positive number
  (read as 1), frame size / count / FPS mismatch,
  unknown Split value, tracings of a video FileList does not list; with ``check_videos``, no frame rate
  in the labels or the file (ED/ES detection assumes ``phases.DEFAULT_FPS``, 50).
``strict=True`` (and ``load_record``) raise the first dropping or untracing problem instead.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from infomotion_rt import console
from infomotion_rt.console import plural
from infomotion_rt.data.pediatric import as_outline_record, outline_views, read_outlines, with_outlines
from infomotion_rt.data.phases import N_TRACING_ROWS, ed_es_from_tracings
from infomotion_rt.data.records import (EF_DISAGREEMENT, SPLITS, Dataset, Rows, Tracings, Untraced, VideoRecord,
                                        csv_table, has_columns, label_record, parse_float, parse_int, read_csv,
                                        strip_suffix)
from infomotion_rt.errors import DataError

FILELIST_COLUMNS = ("FileName", "EF", "ESV", "EDV", "FrameHeight", "FrameWidth", "FPS", "NumberOfFrames", "Split")
TRACING_COLUMNS = ("FileName", "X1", "Y1", "X2", "Y2", "Frame")
PLAIN_COLUMNS = ("FileName", "EF")


# ------------------------------------------------------------------------------------------- layout

def _detect_layout(root: Path, labels_csv: str | Path | None) -> tuple[str, Path, Path | None]:
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    if labels_csv is not None:
        return _plain_or_dicom(root), Path(labels_csv), None
    filelist = root / "FileList.csv"
    if filelist.is_file():
        tracings = root / "VolumeTracings.csv"
        return ("dynamic", filelist, tracings) if tracings.is_file() else ("synthetic", filelist, None)
    candidates = [p for p in sorted(root.glob("*.csv")) if has_columns(p, PLAIN_COLUMNS)]
    if len(candidates) == 1:
        return _plain_or_dicom(root), candidates[0], None
    reason = "several CSVs with FileName,EF" if candidates else "no CSV with FileName,EF columns either"
    raise DataError(f"{root}: no FileList.csv ({reason}; a plain folder of videos or DICOM files needs exactly "
                    f"one CSV with FileName,EF[,Split] in it, or info/evaluate --labels CSV)")


def _plain_or_dicom(root: Path) -> str:
    """A folder of DICOM files reads like a plain folder of videos, through data/dicom.py."""
    from infomotion_rt.data.dicom import is_dicom_folder  # pydicom only where a labels CSV without FileList shows up

    return "dicom" if is_dicom_folder(root) else "plain"


def _is_outline_file(path: Path) -> bool:
    """VolumeTracings.csv with outline points (FileName, X, Y, Frame) instead of disc chords (X1..Y2)."""
    return has_columns(path, ("FileName", "X", "Y", "Frame")) and not has_columns(path, ("X1",))


# ------------------------------------------------------------------------------------------ records

def read_tracings(path: Path) -> tuple[dict[str, dict[int, list[list[str]]]], dict[str, str]]:
    """VolumeTracings.csv as name (no suffix) -> frame -> rows of [X1, Y1, X2, Y2] text, in file order,
    and name -> the first malformed-row message of that video (its tracings are then unusable)."""
    grouped: dict[str, dict[int, list[list[str]]]] = defaultdict(lambda: defaultdict(list))
    broken: dict[str, str] = {}
    columns, rows = csv_table(path, TRACING_COLUMNS)
    name_at, frame_at = columns["FileName"], columns["Frame"]
    coords_at = [columns[c] for c in ("X1", "Y1", "X2", "Y2")]
    width = max(columns.values()) + 1
    raw_name, name = None, ""
    for line, row in rows:  # ~430k rows for EchoNet-Dynamic: keep this loop lean
        if row[name_at] != raw_name:  # rows come grouped by video
            raw_name, name = row[name_at], strip_suffix(row[name_at])
        if len(row) < width:
            broken.setdefault(name, f"{path.name} line {line}: {len(row)} cells, expected {width}")
            continue
        try:
            frame = int(row[frame_at])
        except ValueError:
            frame = parse_int(row[frame_at])
        if frame is None or frame < 0:
            broken.setdefault(name, f"{path.name} line {line}: Frame {row[frame_at]!r} is not a frame index")
            continue
        grouped[name][frame].append([row[i] for i in coords_at])
    return grouped, broken


def _tracing_arrays(name: str, frames: dict[int, list[list[str]]], n_frames: int | None) -> Tracings:
    """Validated (21, 4) arrays per traced frame; raises Untraced naming the video and the problem."""
    out: Tracings = {}
    for frame, rows in sorted(frames.items()):
        if len(rows) != N_TRACING_ROWS:
            raise Untraced(f"{name}: traced frame {frame} has {len(rows)} rows, not {N_TRACING_ROWS}")
        try:
            array = np.array(rows, dtype=np.float64)
        except ValueError:
            array = np.full((N_TRACING_ROWS, 4), np.nan)
        if not np.isfinite(array).all():
            raise Untraced(f"{name}: traced frame {frame} has non-numeric coordinates")
        if n_frames is not None and frame >= n_frames:
            raise Untraced(f"{name}: traced frame {frame} is beyond the video's {n_frames} frames")
        out[frame] = array
    if len(out) < 2:
        raise Untraced(f"{name}: {plural(len(out), 'traced frame')}; ED and ES need two")
    return out


def _with_tracings(record: VideoRecord, frames: dict[int, list[list[str]]] | None,
                   notes: list[tuple[str, str]]) -> VideoRecord:
    if frames is None:
        raise Untraced(f"{record.name}: no tracings in VolumeTracings.csv")
    tracings = _tracing_arrays(record.name, frames, record.n_frames)
    ed, es, edv, esv = ed_es_from_tracings(tracings)
    traced_ef = 100.0 * (edv - esv) / edv
    if abs(traced_ef - record.ef) > EF_DISAGREEMENT:
        notes.append((record.name, f"FileList EF {record.ef:.1f} disagrees with the tracings' EF {traced_ef:.1f} "
                                   f"by more than {EF_DISAGREEMENT:g} points; FileList EF kept"))
    return replace(record, tracings=tracings, ed=ed, es=es)


# --------------------------------------------------------------------------------------------- load

def load_echonet(root: str | Path, labels_csv: str | Path | None = None, *, check_videos: bool = False,
                 strict: bool = False, progress: bool = True, only: set[str] | None = None) -> Dataset:
    """Read a dataset folder in the EchoNet-Dynamic, EchoNet-Synthetic, plain or DICOM layout (see the module
    docstring). Arguments, problems and errors as ``loader.load_dataset``, the entry point to call, which also
    reads EchoNet-Pediatric."""
    root = Path(root)
    layout, labels_path, tracings_path = _detect_layout(root, labels_csv)
    required = PLAIN_COLUMNS if layout in ("plain", "dicom") else FILELIST_COLUMNS
    rows = read_csv(labels_path, required)
    if not rows:
        raise DataError(f"{labels_path}: the list is empty (a header and no rows)")
    has_split = layout not in ("plain", "dicom") or bool(rows and "Split" in rows[0][1])
    outlines = tracings_path is not None and _is_outline_file(tracings_path)
    if outlines:  # LV outline points (EchoNet-Pediatric's schema, as a Pediatric source's export writes)
        traced, broken, marked = read_outlines(tracings_path)
        views = outline_views(tracings_path)
    else:
        traced, broken = read_tracings(tracings_path) if tracings_path is not None else (None, {})
        marked = {}

    acc = Rows(strict, check_videos)
    if outlines:  # the view (A4C unless the file's View column says) decides the area-length EF
        def attach(rec, points):
            return with_outlines(as_outline_record(rec, views.get(rec.name, "")), points, acc.notes)
    else:
        def attach(rec, points):
            return _with_tracings(rec, points, acc.notes)
    bar = console.bar(rows, desc="checking videos" if check_videos else "reading labels", unit="video",
                      progress=progress and check_videos)
    for line, row in bar:
        where = f"{labels_path.name} line {line}"
        name = strip_suffix(row["FileName"])
        if only is not None and name not in only:
            continue
        record = acc.label(name, where, lambda: label_record(root, where, row, has_split, dicom=layout == "dicom"))
        if record is None:
            continue
        if layout in ("dynamic", "synthetic") and (row.get("Weight") or "").strip():
            weight = parse_float(row["Weight"])
            if math.isfinite(weight) and weight > 0:
                record = replace(record, weight=weight)
            else:
                acc.notes.append((name, f"{where}: Weight {row['Weight']!r} is not a positive number; read as 1"))
        if record.split not in SPLITS:
            acc.notes.append((name, f"{where}: Split {record.split!r} is not one of {'/'.join(SPLITS)}; "
                                    "kept under that name (no command uses it)"))
        if 0.0 < record.ef <= 1.0:
            acc.notes.append((name, f"{where}: EF {record.ef:g} looks like a fraction (EF is in percent: "
                                    f"{100 * record.ef:g}?); kept as {record.ef:g} %"))
        acc.keep(record, traced, broken, marked, attach)
    bar.close()
    return acc.dataset(root, layout, rows, traced, broken, marked, whole=only is None)


