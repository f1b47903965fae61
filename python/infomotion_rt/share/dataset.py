"""The distilled dataset: the selected videos as an EchoNet-layout folder, optionally de-identified.

Weight column: with ``weights`` (``select`` passes the picks' class-prior weights, ``selection/methods.py``
``class_prior_weights``) every export's FileList.csv has the nine EchoNet columns plus ``Weight``, the
selection's sample weight of each video (mean 1 over the picks; no patient data, so a de-identified
export keeps it). It is always written from ``weights``, never copied: a source's own ``Weight``
column (EchoNet-Pediatric's body weight, or a site's) is left out like any other extra column.

Plain export (``deidentify=False``; the default for a non-DICOM source): FileList.csv and
VolumeTracings.csv rows of the selected videos copied as they are, but only their EchoNet columns (an
extra column, an index or a site's own, is left out with a problem line), videos hard-linked (copied
across file systems). A source without an EchoNet FileList.csv (a plain folder, EchoNet-Pediatric) gets
a FileList written from its records with the nine EchoNet columns only (plus Weight): a Pediatric
source's Sex, Age, Weight (body weight) and Height never reach an export, plain or de-identified, and its
folds leave as the mapped TRAIN/VAL/TEST. Its LV outlines are kept as ``VolumeTracings.csv`` in the Pediatric schema
(``FileName,X,Y,Frame``) plus a ``View`` column (A4C/PSAX), which ``load_dataset`` reads back from an
EchoNet-layout folder (same ED/ES; the view decides whether the area-length EF check applies). A
Pediatric source is not de-identified by default: the release's names are already study codes and its
videos already cropped to the sector (ask with ``--deidentify``).

De-identified export (``deidentify=True``; the default, and the only export, for a DICOM source),
ours, written so that the folder can leave the hospital:

* names: each video is renamed ``0X`` + the first 16 hex digits of HMAC-SHA256(key, source name),
  upper case (EchoNet-Dynamic's name form). The key (32 random bytes, hex) is read from
  ``key_file`` or generated and written to ``<export>.deid-key`` *beside* the export (mode 0600);
  the same key gives the same names, so later exports line up. Without the key the names cannot be
  tied back to the sources, short of guessing names and the key.
* the mapping hash -> source name and source file (relative to the source folder) goes to
  ``<export>.deid-map.csv`` beside the export, never inside it (mode 0600).
* videos are decoded and re-encoded as MJPG AVIs (no DICOM header or private tag survives, no
  container metadata is copied); every pixel outside the ultrasound sector (``data/sector.py``) is
  set to 0 before coding; DICOM loops are cropped to the sector and resized to 112 x 112
  (``data/dicom.py``). MJPG coding (as EchoNet's AVIs) spreads sector content into the 8 x 8 blocks
  that straddle the sector's edge; blocks wholly outside stay exactly 0 (measured on phantoms).
  A video without a detectable sector is not exported (a problem line names it).
* FileList.csv has only the nine EchoNet-Dynamic columns (plus the selection's Weight), rows in
  pseudonym order; ESV/EDV are 0
  where unknown (EchoNet-Synthetic's convention). VolumeTracings.csv (disc chords, or a Pediatric
  source's outline points) is kept for AVI sources, whose pixel geometry is unchanged.

Not removed: anything inside the sector (text or marks burned into the image, a face or an ID
shown in the image), and what the video itself reveals (anatomy, frame rate, length). The EF and
Split values are kept: they are the labels.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from infomotion_rt import console
from infomotion_rt.atomic import atomic_dir, atomic_path, atomic_write_csv, check_folder_target
from infomotion_rt.console import plural
from infomotion_rt.data.cycle_detect import DEFAULT_FPS
from infomotion_rt.errors import ConfigError, DataError, InfoMotionError, ProblemLog, VideoError

ECHONET_COLUMNS = ("FileName", "EF", "ESV", "EDV", "FrameHeight", "FrameWidth", "FPS", "NumberOfFrames", "Split")
TRACING_COLUMNS = ("FileName", "X1", "Y1", "X2", "Y2", "Frame")
OUTLINE_COLUMNS = ("FileName", "X", "Y", "Frame", "View")  # EchoNet-Pediatric's outline points + the view
WEIGHT_COLUMN = "Weight"  # the selection's sample weight (select.WEIGHT_COLUMN); never a source's column
KEY_BYTES = 32
MIN_KEY_BYTES = 16


@dataclass
class ExportResult:
    out_dir: Path
    n_videos: int = 0
    deidentified: bool = False
    key_file: Path | None = None
    key_generated: bool = False
    map_file: Path | None = None
    problems: ProblemLog = field(default_factory=ProblemLog)
    names: dict = field(default_factory=dict)  # source name -> exported name (the pseudonym when de-identified)


def _short(names) -> str:
    names = list(names)
    return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")


def beside(out_dir: Path, suffix: str) -> Path:
    """``<parent>/<export name><suffix>``: where the key and the mapping go, outside the export."""
    return out_dir.parent / f"{out_dir.name}{suffix}"


def _outside(path: Path, out_dir: Path, what: str) -> None:
    path, out_dir = path.resolve(), out_dir.resolve()
    if path == out_dir or out_dir in path.parents:
        raise ConfigError(f"{path}: the {what} must not be inside the export folder {out_dir}")


def load_or_make_key(path: Path) -> tuple[bytes, bool]:
    """(key bytes, generated?) from the text file ``path`` (its stripped content, >= 16 bytes), or a
    new random 32-byte key written there as hex (mode 0600) when the file does not exist."""
    if path.is_file():
        key = path.read_bytes().strip()
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(f"{path}: de-identification key has {len(key)} bytes, at least {MIN_KEY_BYTES} needed")
        return key, False
    key = secrets.token_hex(KEY_BYTES).encode()
    with atomic_path(path, private=True) as tmp:  # 0600 from creation to rename
        tmp.write_bytes(key + b"\n")
    return key, True


def pseudonym(key: bytes, name: str) -> str:
    """``0X`` + 16 upper-case hex digits of HMAC-SHA256(key, name): the exported video name."""
    return "0X" + hmac.new(key, name.encode("utf-8"), hashlib.sha256).hexdigest()[:16].upper()


# ------------------------------------------------------------------------------------ plain export

def _filtered_csv(src: Path, keep: set) -> tuple[list, list, set]:
    from infomotion_rt.data.records import strip_suffix

    with open(src, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header or "FileName" not in header:
            raise DataError(f"{src}: no FileName column")
        col = header.index("FileName")
        rows = [r for r in reader if len(r) > col and strip_suffix(r[col]) in keep]
    return header, rows, {strip_suffix(r[col]) for r in rows}


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _only(header: list, rows: list, columns: tuple) -> tuple[list, list, list]:
    """(the ``columns`` the CSV has, in that order; its rows cut to them; the other named columns)."""
    names = [h.strip() for h in header]
    at = [names.index(c) for c in columns if c in names]
    cut = [[r[i] if i < len(r) else "" for i in at] for r in rows]
    return [names[i] for i in at], cut, [h for h in names if h and h not in columns]


def _weighted(header, rows: list, weights: dict | None, names: list) -> tuple[tuple, list]:
    """FileList header and rows with the Weight column appended (``names``: each row's source name)."""
    if weights is None:
        return tuple(header), rows
    return (*header, WEIGHT_COLUMN), [[*r, f"{weights[n]:.6g}"] for r, n in zip(rows, names)]


def _plain_export(keep: set, data_dir: Path, out_dir: Path, labels_csv, overwrite: bool = False,
                  weights: dict | None = None) -> ExportResult:
    from infomotion_rt.data.records import strip_suffix
    from infomotion_rt.data.pediatric import find_view

    if not (data_dir / "FileList.csv").is_file() or find_view(data_dir) is not None:  # never a Pediatric FileList (demographics)
        return _records_export(keep, data_dir, out_dir, labels_csv, overwrite, weights)
    header, rows, listed = _filtered_csv(data_dir / "FileList.csv", keep)
    if listed != keep:
        raise DataError(f"{data_dir / 'FileList.csv'}: selected videos not listed: {_short(sorted(keep - listed))}")
    videos = {}
    for name in sorted(keep):
        found = data_dir / "Videos" / f"{name}.avi"
        if not found.is_file():
            found = next(iter(sorted((data_dir / "Videos").glob(f"{name}.*"))), None) if (data_dir / "Videos").is_dir() else None
        if found is None:
            raise DataError(f"{data_dir / 'Videos'}: video {name} not found")
        videos[name] = found
    res = ExportResult(out_dir, n_videos=len(videos), names={n: n for n in videos})
    with atomic_dir(out_dir, overwrite) as tmp:  # only the EchoNet columns leave: a site's extra column may be patient data
        header, rows, extra = _only(header, rows, ECHONET_COLUMNS)
        atomic_write_csv(tmp / "FileList.csv", *_weighted(header, rows, weights, [strip_suffix(r[0]) for r in rows]))
        if extra:
            res.problems.add("FileList.csv", f"column(s) {', '.join(extra)} not exported (only the EchoNet columns"
                                             + (", and the selection's Weight)" if weights is not None else ")"))
        if (data_dir / "VolumeTracings.csv").is_file():
            vh, vrows, _ = _filtered_csv(data_dir / "VolumeTracings.csv", keep)
            vh, vrows, extra = _only(vh, vrows, TRACING_COLUMNS if "X1" in [h.strip() for h in vh] else OUTLINE_COLUMNS)
            atomic_write_csv(tmp / "VolumeTracings.csv", vh, vrows)
            if extra:
                res.problems.add("VolumeTracings.csv", f"column(s) {', '.join(extra)} not exported")
        (tmp / "Videos").mkdir()
        for src in videos.values():
            _link(src, tmp / "Videos" / src.name)
    return res


def _load(keep: set, data_dir: Path, labels_csv):
    from infomotion_rt.data.loader import load_dataset

    ds = load_dataset(data_dir, labels_csv, only=keep, progress=False)
    found = {r.name for r in ds.records}
    if found != keep:
        why = "; ".join(ds.problems.lines()[:3])
        raise DataError(f"{data_dir}: selected videos not readable there: {_short(sorted(keep - found))}"
                        + (f" ({why})" if why else ""))
    return ds


def _records_export(keep: set, data_dir: Path, out_dir: Path, labels_csv, overwrite: bool = False,
                    weights: dict | None = None) -> ExportResult:
    """Plain export of a source without an EchoNet FileList.csv (plain folder, EchoNet-Pediatric): FileList
    written from the probed records (EchoNet columns only), tracings in the source's schema."""
    from infomotion_rt.data.video import probe

    ds = _load(keep, data_dir, labels_csv)
    rows, tracings = [], TracingRows()
    with atomic_dir(out_dir, overwrite) as tmp:
        (tmp / "Videos").mkdir()
        for rec in sorted(ds.records, key=lambda r: r.name):
            info = probe(rec.path)
            fps = rec.fps if np.isfinite(rec.fps) else info.fps
            rows.append(_filelist_row(rec, rec.name, info.height, info.width, fps, info.n_frames))
            _link(rec.path, tmp / "Videos" / f"{rec.name}{rec.path.suffix.lower()}")
            tracings.add(rec, rec.name)
        atomic_write_csv(tmp / "FileList.csv", *_weighted(ECHONET_COLUMNS, rows, weights, [r[0] for r in rows]))
        tracings.write(tmp / "VolumeTracings.csv")
    return ExportResult(out_dir, n_videos=len(rows), names={r[0]: r[0] for r in rows})


class TracingRows:
    """The exported VolumeTracings.csv rows, in the source's schema: disc chords (X1, Y1, X2, Y2; 21 rows
    per traced frame) or, for a Pediatric source, outline points (X, Y), which ``load_dataset`` reads
    back from an EchoNet-layout folder (``data/echonet.py``). Untraced videos add no row."""

    def __init__(self) -> None:
        self.columns: tuple | None = None
        self.rows: list = []

    def add(self, rec, name: str) -> None:
        shapes = {np.shape(t) for t in (rec.tracings or {}).values()}
        if not shapes:
            return
        columns = OUTLINE_COLUMNS if all(s[1:] == (2,) for s in shapes) else TRACING_COLUMNS
        if (columns == TRACING_COLUMNS and shapes != {(21, 4)}) or self.columns not in (None, columns):
            return  # not a schema the reader takes back (or a second schema): left untraced
        self.columns = columns
        view = [getattr(rec, "view", "A4C")] if columns == OUTLINE_COLUMNS else []
        self.rows += [[f"{name}.avi", *(f"{v:.4f}" for v in row), frame, *view]
                      for frame, t in sorted(rec.tracings.items()) for row in t]

    def write(self, path: Path) -> None:
        if self.rows:
            atomic_write_csv(path, self.columns, self.rows)


# ---------------------------------------------------------------------------- de-identified export

def _filelist_row(rec, name: str, height: int, width: int, fps: float, n_frames: int) -> list:
    volume = lambda v: f"{v:.4f}" if np.isfinite(v) and v > 0 else "0"  # noqa: E731
    return [name, f"{rec.ef:.4f}", volume(rec.esv), volume(rec.edv), height, width, f"{fps:.4f}", n_frames, rec.split]


def _clean_frames(rec) -> tuple[np.ndarray, float]:
    """The video's frames with 0 outside its sector, and its frame rate; VideoError when unusable."""
    from infomotion_rt.data.dicom import is_dicom, probe_dicom, read_dicom
    from infomotion_rt.data.sector import black_outside, sample_indices, sector_mask
    from infomotion_rt.data.video import probe, read_frames

    if is_dicom(rec.path):
        return read_dicom(rec.path, require_sector=True), probe_dicom(rec.path).fps
    frames = read_frames(rec.path)
    mask = sector_mask(frames[sample_indices(len(frames))])
    if mask is None:
        raise VideoError(f"{rec.path}: no ultrasound sector found (nothing changes over time); not exported")
    fps = rec.fps if np.isfinite(rec.fps) and rec.fps > 0 else probe(rec.path).fps
    return black_outside(frames, mask), fps


def _deidentified_export(keep: set, data_dir: Path, out_dir: Path, labels_csv, key_file, progress: bool,
                         overwrite: bool = False, weights: dict | None = None) -> ExportResult:
    from infomotion_rt.data.dicom import is_dicom
    from infomotion_rt.data.video import write_avi

    check_folder_target(out_dir, overwrite)
    key_path = Path(key_file) if key_file else beside(out_dir, ".deid-key")
    map_path = beside(out_dir, ".deid-map.csv")
    _outside(key_path, out_dir, "de-identification key")
    _outside(map_path, out_dir, "mapping file")
    ds = _load(keep, data_dir, labels_csv)
    key, generated = load_or_make_key(key_path)
    res = ExportResult(out_dir, deidentified=True, key_file=key_path, key_generated=generated, map_file=map_path)
    names = {rec.name: pseudonym(key, rec.name) for rec in ds.records}
    if len(set(names.values())) != len(names):
        raise DataError(f"{data_dir}: two selected names share a pseudonym; export with another key")
    rows, sources, tracings, mapping = [], [], TracingRows(), []
    with atomic_dir(out_dir, overwrite) as tmp:
        (tmp / "Videos").mkdir()
        for rec in console.bar(sorted(ds.records, key=lambda r: names[r.name]), desc="de-identified export",
                               unit="video", progress=progress):
            new = names[rec.name]
            try:
                frames, fps = _clean_frames(rec)
                if not fps > 0:  # the AVI and its FileList row say the rate ED/ES detection assumed
                    fps = DEFAULT_FPS
                    res.problems.add(rec.name, f"frame rate unknown; exported at {DEFAULT_FPS:g} fps, the rate "
                                               "ED/ES detection assumes (kept)")
                write_avi(tmp / "Videos" / f"{new}.avi", frames, fps)
            except InfoMotionError as exc:
                res.problems.add(rec.name, str(exc).removeprefix(f"{rec.path}: "))
                continue
            rows.append(_filelist_row(rec, new, frames.shape[1], frames.shape[2], fps, len(frames)))
            sources.append(rec.name)
            res.names[rec.name] = new
            mapping.append([new, rec.name, rec.path.relative_to(data_dir).as_posix()
                            if rec.path.is_relative_to(data_dir) else rec.path.name])
            if not is_dicom(rec.path):  # a DICOM loop is cropped and resized: no tracing fits it
                tracings.add(rec, new)
        if not rows:
            raise DataError(f"{data_dir}: no selected video could be exported "
                            f"({'; '.join(res.problems.lines()[:3])})")
        atomic_write_csv(tmp / "FileList.csv", *_weighted(ECHONET_COLUMNS, rows, weights, sources))
        tracings.write(tmp / "VolumeTracings.csv")
        # it ties pseudonyms to source names: private (0600 throughout), like the key
        atomic_write_csv(map_path, ("FileName", "SourceName", "SourceFile"), mapping, private=True)
    res.n_videos = len(rows)
    return res


def check_export_options(out_dir, data_dir, deidentify: bool | None, key_file) -> None:
    """The rules of ``select --export-dataset`` before any work: an export needs its source (``data_dir``), and
    the de-identification options (``deidentify`` set, or a ``key_file``) mean nothing without an export (a
    selection CSV or a report alone names the source videos, so accepting them would look de-identified).
    ConfigError naming the options otherwise."""
    if out_dir and not data_dir:
        raise ConfigError("--export-dataset needs --data DATA_DIR (the source dataset folder)")
    if (deidentify is not None or key_file) and not out_dir:
        raise ConfigError("--deidentify/--no-deidentify/--deid-key apply to --export-dataset DIR only "
                          "(the selection CSV and a report without an export name the source videos)")


def export_dataset(names, data_dir, out_dir, *, deidentify: bool | None = None, key_file=None,
                   labels_csv=None, progress: bool = False, overwrite: bool = False,
                   weights: dict | None = None) -> ExportResult:
    """Write the videos ``names`` (with or without suffix) of ``data_dir`` as an EchoNet-layout folder
    ``out_dir`` (built in a temporary folder, then renamed into place); see the module docstring.

    ``weights`` maps each name (with or without suffix) to its sample weight (float > 0, e.g.
    selection.csv's Weight); given, FileList.csv gets a tenth column ``Weight`` (6 significant digits);
    None writes the nine EchoNet columns only. A name without a weight, or a weight that is not a
    positive finite number, is a ConfigError.

    ``deidentify`` None: on for a DICOM source, off otherwise; False for a DICOM source is a
    ConfigError (its only export is the de-identified one). Raises DataError when a selected video
    is not in the source, ConfigError when ``out_dir`` is not empty (unless ``overwrite``: then it is
    replaced once the new folder is complete) or the key/mapping would land inside it. In a de-identified export a video that cannot be cleaned is a problem line and the
    others go on.
    """
    from infomotion_rt.data.dicom import is_dicom_folder
    from infomotion_rt.data.records import strip_suffix

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    keep = {strip_suffix(str(n)) for n in names}
    if weights is not None:
        weights = {strip_suffix(str(n)): float(w) for n, w in weights.items()}
        bad = sorted(n for n in keep if not (weights.get(n, float("nan")) > 0 and np.isfinite(weights[n])))
        if bad:
            raise ConfigError(f"{out_dir}: no positive weight for {plural(len(bad), 'exported video')}: {_short(bad)}")
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: source dataset folder not found")
    dicom = not (data_dir / "FileList.csv").is_file() and is_dicom_folder(data_dir)
    if deidentify is None:
        deidentify = dicom
    if dicom and not deidentify:
        raise ConfigError(f"{data_dir}: a DICOM source is always exported de-identified (drop --no-deidentify)")
    check_folder_target(out_dir, overwrite)
    if deidentify:
        return _deidentified_export(keep, data_dir, out_dir, labels_csv, key_file, progress, overwrite, weights)
    if key_file:
        raise ConfigError("--deid-key is used only with --deidentify")
    return _plain_export(keep, data_dir, out_dir, labels_csv, overwrite, weights)
