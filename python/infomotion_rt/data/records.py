"""What every dataset reader shares: ``VideoRecord`` and ``Dataset``, the labels-CSV parser (separators,
encodings, decimal commas), name and split rules, and the row loop that drops, keeps untraced or notes
each record (``Rows``). The readers (``echonet``, ``pediatric``; DICOM through ``dicom``) build on it."""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from infomotion_rt.console import plural
from infomotion_rt.data.cycle_detect import DEFAULT_FPS
from infomotion_rt.data.formats import DICOM_SUFFIXES, VIDEO_SUFFIXES, VideoInfo
from infomotion_rt.data.phases import ed_es_from_tracings, short_clip
from infomotion_rt.data.video import find_video, probe
from infomotion_rt.errors import DataError, ProblemLog, VideoError

SPLITS = ("TRAIN", "VAL", "TEST")
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


class Untraced(DataError):
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


def csv_table(path: Path, required: tuple[str, ...]):
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


EXTRA_CELLS = "\0extra"  # key of read_csv's row dicts: cells past the header's last column, if any


def read_csv(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows as (line number, {named column: stripped text}); short rows padded with "". A row with
    non-empty cells past the header's last column also maps EXTRA_CELLS to "cells:header columns"."""
    columns, rows = csv_table(path, required)
    width = max(columns.values()) + 1 if columns else 0
    out = []
    for line, row in rows:
        cells = {h: row[i].strip() if i < len(row) else "" for h, i in columns.items()}
        if any(c.strip() for c in row[width:]):
            cells[EXTRA_CELLS] = f"{len(row)}:{width}"
        out.append((line, cells))
    return out


def parse_float(text: str) -> float:
    """A number from a CSV cell; a trailing ``%`` ("55%", "55 %") is allowed; NaN when unreadable."""
    text = text.strip()
    if text.endswith("%"):
        text = text[:-1].rstrip()
    try:
        return float(text)
    except ValueError:
        return math.nan


def parse_int(text: str) -> int | None:
    value = parse_float(text)
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


def has_columns(path: Path, columns: tuple[str, ...]) -> bool:
    try:
        fh, _ = _open_text(path)
        with fh:
            sep, _ = _separator(fh, columns)
            header = {h.strip() for h in next(csv.reader([fh.readline()], delimiter=sep), [])}
    except (OSError, DataError, csv.Error):
        return False
    return all(c in header for c in columns)



def label_record(root: Path, where: str, row: dict[str, str], has_split: bool,
                  dicom: bool = False) -> VideoRecord:
    """A record from one labels row; raises DataError/VideoError for problems that drop it."""
    name = strip_suffix(row["FileName"])
    if not name:
        raise DataError(f"{where}: empty FileName")
    if EXTRA_CELLS in row:  # e.g. "0X1,55,3,TRAIN": a decimal comma split a comma-separated row
        n, width = row[EXTRA_CELLS].split(":")
        raise DataError(f"{where} ({name}): {n} cells where the header has {width} (a decimal comma in a "
                        f"comma-separated file? write 55.3, quote it, or separate with semicolons)")
    ef = parse_float(row["EF"])
    if not math.isfinite(ef) or not 0.0 <= ef <= 100.0:
        raise DataError(f"{where} ({name}): EF {row['EF']!r} is not a number in [0, 100]")
    path = find_video(root / "Videos", row["FileName"]) or find_video(root, row["FileName"])
    if path is None and dicom:
        from infomotion_rt.data.dicom import find_dicom

        try:
            path = find_dicom(root, row["FileName"])
        except DataError as exc:  # a name two files share: dropped, both named
            raise DataError(f"{where} ({name}): {exc}") from exc
    if path is None:
        raise VideoError(f"{where} ({name}): video not found in {root / 'Videos'} or {root}")
    volume = lambda key: (v if (v := parse_float(row.get(key, ""))) > 0 else math.nan)  # noqa: E731
    split = row["Split"].upper() if has_split else hash_split(name)
    return VideoRecord(name=name, path=path, ef=ef, esv=volume("ESV"), edv=volume("EDV"), split=split,
                       fps=parse_float(row.get("FPS", "")), n_frames=parse_int(row.get("NumberOfFrames", "")),
                       height=parse_int(row.get("FrameHeight", "")), width=parse_int(row.get("FrameWidth", "")))


def with_probe(record: VideoRecord, notes: list[tuple[str, str]]) -> VideoRecord:
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


def fps_notes(records: list[VideoRecord]) -> list[tuple[str, str]]:
    """One note per (FileList FPS, video FPS) disagreement, naming a few of the videos."""
    groups: dict[tuple[float, float], list[str]] = defaultdict(list)
    for r in records:
        if r.probed is not None and r.probed.fps > 0 and abs(r.fps - r.probed.fps) > FPS_TOLERANCE:
            groups[(r.fps, r.probed.fps)].append(r.name)
    return [("FileList.csv", f"FPS column says {listed:g} but the video plays at {actual:g} in "
                             f"{plural(len(names), 'video')} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}); "
                             f"record.fps keeps the FileList value, record.probed.fps has the video's")
            for (listed, actual), names in groups.items()]


class Rows:
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
            return with_probe(record, self.notes) if self.check_videos else record
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
                    raise Untraced(f"{name}: {broken[name]}")
                record = attach(record, traced.get(name))
            except Untraced as exc:
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
        for subject, message in self.notes + fps_notes(self.records):
            self.problems.add(subject, message)
        return Dataset(root=root, layout=layout, records=self.records, problems=self.problems,
                       dropped=tuple(self.dropped), checked=self.check_videos)
