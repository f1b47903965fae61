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
``select.class_prior_weights``), is read into ``VideoRecord.weight`` (1.0 when absent or blank; not
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

import csv
import hashlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import DataError, ProblemLog, VideoError
from .classes import DEFAULT_CLASSES, EFClasses
from .phases import DEFAULT_FPS, N_TRACING_ROWS, ed_es_from_tracings, short_clip
from .video import DICOM_SUFFIXES, VIDEO_SUFFIXES, VideoInfo, find_video, probe

SPLITS = ("TRAIN", "VAL", "TEST")
FILELIST_COLUMNS = ("FileName", "EF", "ESV", "EDV", "FrameHeight", "FrameWidth", "FPS", "NumberOfFrames", "Split")
TRACING_COLUMNS = ("FileName", "X1", "Y1", "X2", "Y2", "Frame")
PLAIN_COLUMNS = ("FileName", "EF")
EF_DISAGREEMENT = 5.0  # EF points between FileList and tracings above which a note is recorded
FPS_TOLERANCE = 0.5

Tracings = dict[int, np.ndarray]


@dataclass(frozen=True, eq=False)
class VideoRecord:
    """One labelled video. Frames are 0-based; volumes are in pixel units cubed (as traced)."""

    name: str                       # without video suffix
    path: Path
    ef: float
    esv: float                      # FileList value; NaN when absent or 0
    edv: float
    split: str
    fps: float                      # FileList value (NaN in the plain layout unless probed)
    n_frames: int | None            # FileList value, the video's once probed
    height: int | None
    width: int | None
    tracings: Tracings | None = field(default=None, repr=False)  # frame -> (21, 4) X1,Y1,X2,Y2
    ed: int | None = None
    es: int | None = None
    probed: VideoInfo | None = None  # the video's own figures when loaded with check_videos
    weight: float = 1.0             # FileList's Weight (a distilled set's sample weight); 1.0 without one

    @property
    def traced_volumes(self) -> tuple[float, float] | None:
        """(EDV, ESV) recomputed from the tracings, pixel units cubed; None when untraced."""
        return None if self.tracings is None else ed_es_from_tracings(self.tracings)[2:]

    @property
    def traced_ef(self) -> float | None:
        volumes = self.traced_volumes
        return None if volumes is None else 100.0 * (volumes[0] - volumes[1]) / volumes[0]


@dataclass(frozen=True)
class Dataset:
    root: Path
    layout: str                     # "dynamic" | "synthetic" | "plain" | "dicom" | "pediatric"
    records: list[VideoRecord]
    problems: ProblemLog = field(default_factory=ProblemLog)
    dropped: tuple[str, ...] = ()   # names (or line references) of rows left out
    checked: bool = False           # videos were probed (check_videos=True)

    def split(self, name: str) -> list[VideoRecord]:
        return [r for r in self.records if r.split == name.upper()]

    def __len__(self) -> int:
        return len(self.records)


class _Untraced(DataError):
    """A tracing problem: in a batch the record stays, without tracings."""


# ---------------------------------------------------------------------------------------------- CSV

SEPARATORS = (",", ";", "\t")   # tried in this order on the header line
ENCODINGS = ("utf-8-sig", "cp1252")  # UTF-8 (BOM or not), then what a European Excel writes by default
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d*,\d+\s*%?\s*$")
_SEP_LINE = re.compile(r"^\s*sep=([,;\t])\s*$")


def _open_text(path: Path):
    """(file handle, encoding): UTF-8 (a BOM stripped) when the file decodes as UTF-8, else cp1252."""
    for encoding in ENCODINGS:
        fh = path.open(newline="", encoding=encoding)
        try:
            fh.read()
            fh.seek(0)
            return fh, encoding
        except UnicodeDecodeError:
            fh.close()
    raise DataError(f"{path}: not a readable CSV (neither UTF-8 nor cp1252 text)")


def _header_dialect(line: str, required: tuple[str, ...]) -> str:
    """The separator (comma, semicolon or tab) that splits the header ``line`` into the most
    ``required`` columns, then into the most columns; ties go to the earlier one in SEPARATORS."""
    def fit(sep: str) -> tuple[int, int]:
        header = [h.strip() for h in next(csv.reader([line], delimiter=sep), [])]
        return sum(c in header for c in required), len(header)

    return max(SEPARATORS, key=fit)  # max keeps the first of equals


def _separator(fh, required: tuple[str, ...]) -> tuple[str, int]:
    """(separator, the header's line number) of an open CSV, leaving ``fh`` at the header: Excel's
    ``sep=;`` first line names it (the header is then line 2), else ``_header_dialect`` sniffs it."""
    first = fh.readline()
    hint = _SEP_LINE.match(first)
    if hint:
        return hint.group(1), 2
    fh.seek(0)
    return _header_dialect(first, required), 1


def _csv_table(path: Path, required: tuple[str, ...]):
    """(column -> index, iterator of (line number, cells)) of a CSV; blank rows skipped.

    CSVs as people write them: the separator is sniffed from the header (comma, semicolon or tab: the
    one that yields the required columns) or read from Excel's ``sep=;`` first line; UTF-8 with or without a BOM, else cp1252; CRLF or LF. In a
    semicolon- or tab-separated file (a European spreadsheet's export) a number written with a decimal
    comma ("55,3", "55,3 %") is read with a dot. Column names are stripped; unnamed columns (an index
    column) are never looked up. Raises DataError naming the file when it is missing, unreadable or
    lacks a required column.
    """
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    fh, _ = _open_text(path)
    sep, first_line = _separator(fh, required)
    try:
        reader = csv.reader(fh, delimiter=sep)
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        fh.close()
        raise DataError(f"{path}: not a readable CSV ({exc})") from exc
    missing = [c for c in required if c not in header]
    if missing:
        fh.close()
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (has {', '.join(h for h in header if h) or 'none'}; "
                        f"separators tried: comma, semicolon, tab)")
    decimal_comma = sep != ","

    def rows():
        with fh:
            try:
                for line, row in enumerate(reader, start=first_line + 1):
                    if any(row) and any(cell.strip() for cell in row):
                        if decimal_comma:
                            row = [c.replace(",", ".") if _DECIMAL_COMMA.match(c) else c for c in row]
                        yield line, row
            except csv.Error as exc:
                raise DataError(f"{path} line {reader.line_num}: not a readable CSV ({exc})") from exc

    return {h: i for i, h in enumerate(header) if h}, rows()


EXTRA_CELLS = "\0extra"  # key of _read_csv's row dicts: cells past the header's last column, if any


def _read_csv(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows as (line number, {named column: stripped text}); short rows padded with "". A row with
    non-empty cells past the header's last column also maps EXTRA_CELLS to "cells:header columns"."""
    columns, rows = _csv_table(path, required)
    width = max(columns.values()) + 1 if columns else 0
    out = []
    for line, row in rows:
        cells = {h: row[i].strip() if i < len(row) else "" for h, i in columns.items()}
        if any(c.strip() for c in row[width:]):
            cells[EXTRA_CELLS] = f"{len(row)}:{width}"
        out.append((line, cells))
    return out


def _float(text: str) -> float:
    """A number from a CSV cell; a trailing ``%`` ("55%", "55 %") is allowed; NaN when unreadable."""
    text = text.strip()
    if text.endswith("%"):
        text = text[:-1].rstrip()
    try:
        return float(text)
    except ValueError:
        return math.nan


def _int(text: str) -> int | None:
    value = _float(text)
    return int(value) if math.isfinite(value) and value == int(value) else None


def strip_suffix(name: str) -> str:
    """``"0X1A.avi"`` -> ``"0X1A"`` (also ``.dcm``); names without a video suffix are returned unchanged."""
    name = name.strip()
    dot = name.rfind(".")
    return name[:dot] if dot > 0 and name[dot:].lower() in VIDEO_SUFFIXES + DICOM_SUFFIXES else name


def hash_split(name: str) -> str:
    """Deterministic split of a name for labels without a Split column (see module docstring)."""
    u = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) / 16**8
    return "TRAIN" if u < 0.75 else "VAL" if u < 0.875 else "TEST"


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
    candidates = [p for p in sorted(root.glob("*.csv")) if _has_columns(p, PLAIN_COLUMNS)]
    if len(candidates) == 1:
        return _plain_or_dicom(root), candidates[0], None
    reason = "several CSVs with FileName,EF" if candidates else "no CSV with FileName,EF columns either"
    raise DataError(f"{root}: no FileList.csv ({reason}; a plain folder of videos or DICOM files needs exactly "
                    f"one CSV with FileName,EF[,Split] in it, or info/evaluate --labels CSV)")


def _plain_or_dicom(root: Path) -> str:
    """A folder of DICOM files reads like a plain folder of videos, through data/dicom.py."""
    from .dicom import is_dicom_folder  # pydicom only where a labels CSV without FileList shows up

    return "dicom" if is_dicom_folder(root) else "plain"


def _is_outline_file(path: Path) -> bool:
    """VolumeTracings.csv with outline points (FileName, X, Y, Frame) instead of disc chords (X1..Y2)."""
    return _has_columns(path, ("FileName", "X", "Y", "Frame")) and not _has_columns(path, ("X1",))


def _has_columns(path: Path, columns: tuple[str, ...]) -> bool:
    try:
        fh, _ = _open_text(path)
        with fh:
            sep, _ = _separator(fh, columns)
            header = {h.strip() for h in next(csv.reader([fh.readline()], delimiter=sep), [])}
    except (OSError, DataError, csv.Error):
        return False
    return all(c in header for c in columns)


# ------------------------------------------------------------------------------------------ records

def _label_record(root: Path, where: str, row: dict[str, str], has_split: bool,
                  dicom: bool = False) -> VideoRecord:
    """A record from one labels row; raises DataError/VideoError for problems that drop it."""
    name = strip_suffix(row["FileName"])
    if not name:
        raise DataError(f"{where}: empty FileName")
    if EXTRA_CELLS in row:  # e.g. "0X1,55,3,TRAIN": a decimal comma split a comma-separated row
        n, width = row[EXTRA_CELLS].split(":")
        raise DataError(f"{where} ({name}): {n} cells where the header has {width} (a decimal comma in a "
                        f"comma-separated file? write 55.3, quote it, or separate with semicolons)")
    ef = _float(row["EF"])
    if not math.isfinite(ef) or not 0.0 <= ef <= 100.0:
        raise DataError(f"{where} ({name}): EF {row['EF']!r} is not a number in [0, 100]")
    path = find_video(root / "Videos", row["FileName"]) or find_video(root, row["FileName"])
    if path is None and dicom:
        from .dicom import find_dicom

        try:
            path = find_dicom(root, row["FileName"])
        except DataError as exc:  # a name two files share: dropped, both named
            raise DataError(f"{where} ({name}): {exc}") from exc
    if path is None:
        raise VideoError(f"{where} ({name}): video not found in {root / 'Videos'} or {root}")
    volume = lambda key: (v if (v := _float(row.get(key, ""))) > 0 else math.nan)  # noqa: E731
    split = row["Split"].upper() if has_split else hash_split(name)
    return VideoRecord(name=name, path=path, ef=ef, esv=volume("ESV"), edv=volume("EDV"), split=split,
                       fps=_float(row.get("FPS", "")), n_frames=_int(row.get("NumberOfFrames", "")),
                       height=_int(row.get("FrameHeight", "")), width=_int(row.get("FrameWidth", "")))


def read_tracings(path: Path) -> tuple[dict[str, dict[int, list[list[str]]]], dict[str, str]]:
    """VolumeTracings.csv as name (no suffix) -> frame -> rows of [X1, Y1, X2, Y2] text, in file order,
    and name -> the first malformed-row message of that video (its tracings are then unusable)."""
    grouped: dict[str, dict[int, list[list[str]]]] = defaultdict(lambda: defaultdict(list))
    broken: dict[str, str] = {}
    columns, rows = _csv_table(path, TRACING_COLUMNS)
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
            frame = _int(row[frame_at])
        if frame is None or frame < 0:
            broken.setdefault(name, f"{path.name} line {line}: Frame {row[frame_at]!r} is not a frame index")
            continue
        grouped[name][frame].append([row[i] for i in coords_at])
    return grouped, broken


def _tracing_arrays(name: str, frames: dict[int, list[list[str]]], n_frames: int | None) -> Tracings:
    """Validated (21, 4) arrays per traced frame; raises _Untraced naming the video and the problem."""
    out: Tracings = {}
    for frame, rows in sorted(frames.items()):
        if len(rows) != N_TRACING_ROWS:
            raise _Untraced(f"{name}: traced frame {frame} has {len(rows)} rows, not {N_TRACING_ROWS}")
        try:
            array = np.array(rows, dtype=np.float64)
        except ValueError:
            array = np.full((N_TRACING_ROWS, 4), np.nan)
        if not np.isfinite(array).all():
            raise _Untraced(f"{name}: traced frame {frame} has non-numeric coordinates")
        if n_frames is not None and frame >= n_frames:
            raise _Untraced(f"{name}: traced frame {frame} is beyond the video's {n_frames} frames")
        out[frame] = array
    if len(out) < 2:
        raise _Untraced(f"{name}: {len(out)} traced frame(s); ED and ES need two")
    return out


def _with_tracings(record: VideoRecord, frames: dict[int, list[list[str]]] | None,
                   notes: list[tuple[str, str]]) -> VideoRecord:
    if frames is None:
        raise _Untraced(f"{record.name}: no tracings in VolumeTracings.csv")
    tracings = _tracing_arrays(record.name, frames, record.n_frames)
    ed, es, edv, esv = ed_es_from_tracings(tracings)
    traced_ef = 100.0 * (edv - esv) / edv
    if abs(traced_ef - record.ef) > EF_DISAGREEMENT:
        notes.append((record.name, f"FileList EF {record.ef:.1f} disagrees with the tracings' EF {traced_ef:.1f} "
                                   f"by more than {EF_DISAGREEMENT:g} points; FileList EF kept"))
    return replace(record, tracings=tracings, ed=ed, es=es)


def _with_probe(record: VideoRecord, notes: list[tuple[str, str]]) -> VideoRecord:
    """Probe the video (VideoError drops the record) and trust its size and length."""
    info = probe(record.path)
    listed, actual = (record.height, record.width), (info.height, info.width)
    if None not in listed and listed != actual:
        notes.append((record.name, f"FileList frame size {listed[0]}x{listed[1]} but the video is "
                                   f"{actual[0]}x{actual[1]}; using the video's"))
    if record.n_frames is not None and record.n_frames != info.n_frames:
        notes.append((record.name, f"FileList NumberOfFrames {record.n_frames} but the video has "
                                   f"{info.n_frames}; using the video's"))
    fps = record.fps if math.isfinite(record.fps) else info.fps
    if not (fps > 0 or info.fps > 0):
        notes.append((record.name, f"frame rate unknown (none in the labels or the file); ED/ES detection "
                                   f"assumes {DEFAULT_FPS:g} fps, EchoNet-Dynamic's usual rate"))
    return replace(record, height=info.height, width=info.width, n_frames=info.n_frames, fps=fps, probed=info)


def _fps_notes(records: list[VideoRecord]) -> list[tuple[str, str]]:
    """One note per (FileList FPS, video FPS) disagreement, naming a few of the videos."""
    groups: dict[tuple[float, float], list[str]] = defaultdict(list)
    for r in records:
        if r.probed is not None and r.probed.fps > 0 and abs(r.fps - r.probed.fps) > FPS_TOLERANCE:
            groups[(r.fps, r.probed.fps)].append(r.name)
    return [("FileList.csv", f"FPS column says {listed:g} but the video plays at {actual:g} in {len(names)} "
                             f"video(s) ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}); "
                             f"record.fps keeps the FileList value, record.probed.fps has the video's")
            for (listed, actual), names in groups.items()]


# --------------------------------------------------------------------------------------------- load

class _Rows:
    """What the EchoNet and EchoNet-Pediatric loaders share around their row loops: a name seen twice or
    a bad row drops the record, a tracings problem keeps it untraced, and ``strict`` raises the first of
    either instead of logging it (ours)."""

    def __init__(self, strict: bool, check_videos: bool) -> None:
        self.strict, self.check_videos = strict, check_videos
        self.problems, self.notes = ProblemLog(), []
        self.records: list[VideoRecord] = []
        self.dropped: list[str] = []
        self.seen: set[str] = set()

    def fail(self, subject: str, exc: DataError, effect: str) -> None:
        if self.strict:
            raise exc
        self.problems.add(subject, f"{str(exc).removeprefix(f'{subject}: ')}; {effect}")  # the line names it

    def drop(self, subject: str, exc: DataError) -> None:
        self.fail(subject, exc, "record dropped")
        self.dropped.append(subject)

    def label(self, name: str, where: str, make) -> VideoRecord | None:
        """``make()``'s record (probed when asked), or None when the row is dropped: a name seen before,
        or ``make`` raising DataError."""
        try:
            if name in self.seen:
                raise DataError(f"{where}: duplicate FileName {name!r}")
            self.seen.add(name)
            record = make()
            return _with_probe(record, self.notes) if self.check_videos else record
        except DataError as exc:
            self.drop(name or where, exc)
            return None

    def keep(self, record: VideoRecord, traced, broken: dict, marked: dict, attach) -> None:
        """Keep ``record``, with ``attach(record, its tracings)`` when the file traces it; a marker row
        (EchoNet-Pediatric's 'No Systolic') or a broken trace keeps it untraced."""
        name = record.name
        if name in marked:
            self.notes.append((name, f"VolumeTracings.csv marks it {marked[name]!r}; record kept without tracings "
                                     f"(ED/ES detected from the video)"))
        elif traced is not None:
            try:
                if name in broken:
                    raise _Untraced(f"{name}: {broken[name]}")
                record = attach(record, traced.get(name))
            except _Untraced as exc:
                self.fail(name, exc, "record kept without tracings (ED/ES must be detected)")
        too_short = short_clip(record.n_frames) if self.check_videos and record.ed is None else None
        if too_short is not None:  # extraction detects ED/ES from the video and would fail the same way
            self.drop(name, VideoError(f"{name}: {too_short}"))
            return
        self.records.append(record)

    def dataset(self, root: Path, layout: str, rows, traced, broken: dict, marked: dict, whole: bool) -> Dataset:
        """The Dataset, with a note for every traced name the list lacks (when the whole list was read)."""
        if traced is not None and whole:
            listed = {strip_suffix(row["FileName"]) for _, row in rows}
            for name in sorted((set(traced) | set(broken) | set(marked)) - listed):
                self.notes.append((name, "has tracings in VolumeTracings.csv but no FileList row; ignored"))
        for subject, message in self.notes + _fps_notes(self.records):
            self.problems.add(subject, message)
        return Dataset(root=root, layout=layout, records=self.records, problems=self.problems,
                       dropped=tuple(self.dropped), checked=self.check_videos)


def load_dataset(root: str | Path, labels_csv: str | Path | None = None, *, check_videos: bool = False,
                 strict: bool = False, progress: bool = True, only: set[str] | None = None) -> Dataset:
    """Read a dataset folder in any of the three layouts (see the module docstring).

    Cheap by default: CSV parsing and file existence only. ``check_videos=True`` also probes every
    video (decodes its first frame, checks its length) with a progress bar. Problems are recorded in
    ``Dataset.problems`` and loading goes on; ``strict=True`` raises the first one that would drop a
    record or leave it untraced. ``only`` restricts loading to these names (without suffix).
    Raises DataError when the dataset itself is unreadable (no labels file, missing columns).
    """
    root = Path(root)
    from .pediatric import find_view, load_pediatric  # its own layout (view folders, outlines, folds)
    if (view := find_view(root)) is not None:  # a labels CSV replaces its EF/Split, videos stay in the view
        return load_pediatric(view, check_videos=check_videos, strict=strict, progress=progress, only=only,
                              labels_csv=labels_csv)
    layout, labels_path, tracings_path = _detect_layout(root, labels_csv)
    required = PLAIN_COLUMNS if layout in ("plain", "dicom") else FILELIST_COLUMNS
    rows = _read_csv(labels_path, required)
    if not rows:
        raise DataError(f"{labels_path}: the list is empty (a header and no rows)")
    has_split = layout not in ("plain", "dicom") or bool(rows and "Split" in rows[0][1])
    outlines = tracings_path is not None and _is_outline_file(tracings_path)
    if outlines:  # LV outline points (EchoNet-Pediatric's schema, as a Pediatric source's export writes)
        from .pediatric import _with_outlines, as_outline_record, outline_views, read_outlines
        traced, broken, marked = read_outlines(tracings_path)
        views = outline_views(tracings_path)
    else:
        traced, broken = read_tracings(tracings_path) if tracings_path is not None else (None, {})
        marked = {}

    acc = _Rows(strict, check_videos)
    if outlines:  # the view (A4C unless the file's View column says) decides the area-length EF
        def attach(rec, points):
            return _with_outlines(as_outline_record(rec, views.get(rec.name, "")), points, acc.notes)
    else:
        def attach(rec, points):
            return _with_tracings(rec, points, acc.notes)
    bar = tqdm(rows, desc="checking videos" if check_videos else "reading labels", unit="video",
               disable=not (progress and check_videos))
    for line, row in bar:
        where = f"{labels_path.name} line {line}"
        name = strip_suffix(row["FileName"])
        if only is not None and name not in only:
            continue
        record = acc.label(name, where, lambda: _label_record(root, where, row, has_split, dicom=layout == "dicom"))
        if record is None:
            continue
        if layout in ("dynamic", "synthetic") and (row.get("Weight") or "").strip():
            weight = _float(row["Weight"])
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


def load_record(root: str | Path, name: str, labels_csv: str | Path | None = None,
                check_video: bool = True) -> VideoRecord:
    """One video's record, strictly: any problem that would drop it or its tracings raises DataError."""
    wanted = strip_suffix(name)
    dataset = load_dataset(root, labels_csv, check_videos=check_video, strict=True, progress=False,
                           only={wanted})
    if not dataset.records:
        raise DataError(f"{root}: no video named {wanted!r} in the labels file")
    return dataset.records[0]


# ------------------------------------------------------------------------------------------ summary

def summarize(dataset: Dataset, classes: EFClasses = DEFAULT_CLASSES) -> dict:
    """What ``infomotion-rt info`` prints: counts per split x EF class, frame and FPS ranges, problems."""
    splits = list(SPLITS) + sorted({r.split for r in dataset.records} - set(SPLITS))
    counts = {s: dict.fromkeys(classes.names, 0) for s in splits}
    for r in dataset.records:
        counts[r.split][classes.name(r.ef)] += 1

    def span(values) -> list[float] | None:
        finite = [v for v in values if v is not None and math.isfinite(v)]
        return [min(finite), max(finite)] if finite else None

    # FileList EF against the EF recomputed from the tracings (method of disks), over traced videos
    diffs = [abs(r.ef - r.traced_ef) for r in dataset.records if r.traced_ef is not None]
    ef_check = ({"videos": len(diffs), "mean_abs": float(np.mean(diffs)), "max_abs": float(np.max(diffs))}
                if diffs else None)
    return {
        "root": str(dataset.root), "layout": dataset.layout, "videos": len(dataset.records),
        "ef_vs_tracings": ef_check,
        "dropped": len(dataset.dropped), "traced": sum(r.tracings is not None for r in dataset.records),
        "videos_checked": dataset.checked, "counts": counts,
        "frames": span(r.n_frames for r in dataset.records),
        "fps": span(r.fps for r in dataset.records),  # FileList's (the video's in a plain layout)
        "fps_video": span(r.probed.fps for r in dataset.records if r.probed is not None),
        "problems": dataset.problems.lines(),
    }
