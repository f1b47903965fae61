"""EchoNet-Pediatric layout: view folders of labelled videos with LV outline tracings.

Layout (EchoNet-Pediatric release, Reddy et al., JASE 2023)
-----------------------------------------------------------
``ROOT/A4C/`` and ``ROOT/PSAX/`` (apical four-chamber and parasternal short-axis), each with
``FileList.csv`` (``FileName,EF,Sex,Age,Weight,Height,Split``; FileName with ``.avi``; Split a fold
number 0-9), ``Videos/`` and ``VolumeTracings.csv`` (``FileName,X,Y,Frame``: the points of the LV outline
of one traced frame, in order; ``Frame`` may read ``No Systolic`` / ``No Diastolic`` instead of a frame).
``load_dataset`` reads the root (then the view chosen by ``--view``, default A4C) or a view folder given
directly (its own view, whatever ``--view`` says).

Rules (ours where the release is silent)
----------------------------------------
* Folds -> splits: ``TRAIN:0-7,VAL:8,TEST:9`` by default (80/10/10, near EchoNet-Dynamic's 75/12.5/12.5;
  the folds are the release's own cross-validation folds, so whole folds never mix). ``--folds SPEC``
  (or ``INFOMOTION_FOLDS``) changes it; a fold the spec leaves out keeps the split ``FOLD<n>``, outside
  TRAIN/VAL/TEST (one grouped note). A Split that already reads TRAIN/VAL/TEST is kept.
* Frame rate, frame count and size come from the videos (FileList has none): probed with
  ``check_videos=True``; otherwise ``fps`` is NaN and ``n_frames`` None until extraction probes the video.
* ED/ES: the traced frame whose outline encloses the larger area (shoelace formula) is ED, the smaller ES;
  never the row order.
* Volume for the EF check of ``info`` (A4C only): single-plane area-length, V = 8 A^2 / (3 pi L)
  (Lang et al., ASE/EACVI chamber quantification 2015), with L the longest distance between two outline
  points (ours: the outline does not say which points are the apex and the annulus). A short-axis (PSAX)
  outline gives no volume, so PSAX videos get ED/ES but no traced EF.
* A marker row (``No Systolic`` / ``No Diastolic``) leaves that video untraced with a note; its ED/ES are
  then detected from the video like EchoNet-Synthetic's. This is a property of the release, not an error,
  so ``strict=True`` does not raise on it.
* Problems that drop a record or leave it untraced are those of ``echonet.py``; an outline needs at least
  3 points and a positive area.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from infomotion_rt.console import bar, plural
from infomotion_rt.data.records import (EF_DISAGREEMENT, SPLITS, Dataset, Rows, Untraced, VideoRecord, csv_table,
                                        has_columns, label_record, parse_int, read_csv, strip_suffix)
from infomotion_rt.errors import ConfigError, DataError

PEDIATRIC_COLUMNS = ("FileName", "EF", "Sex", "Age", "Weight", "Height", "Split")
OUTLINE_COLUMNS = ("FileName", "X", "Y", "Frame")
VIEWS = ("A4C", "PSAX")
MARKERS = ("No Systolic", "No Diastolic")
DEFAULT_FOLDS = "TRAIN:0-7,VAL:8,TEST:9"
DEFAULT_VIEW = "A4C"
N_FOLDS = 10
_SETTINGS: dict[str, str | None] = {"folds": None, "view": None}   # configure(); None: the defaults

Outlines = dict[int, np.ndarray]  # frame -> (P, 2) X, Y outline points in pixels


# ------------------------------------------------------------------------------------ options

def parse_folds(spec: str) -> dict[int, str]:
    """``"TRAIN:0-7,VAL:8,TEST:9"`` -> {0: "TRAIN", ..., 9: "TEST"}.

    Each part is ``SPLIT:FOLDS`` with SPLIT one of TRAIN/VAL/TEST and FOLDS comma-free ranges ``a-b``
    or single folds joined by ``+`` (``TRAIN:0-5+7``). Raises ConfigError on a bad part, a fold
    outside 0-9, or a fold given twice.
    """
    mapping: dict[int, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        split, _, folds = part.partition(":")
        split = split.strip().upper()
        if split not in SPLITS or not folds.strip():
            raise ConfigError(f"--folds {spec!r}: {part!r} is not SPLIT:FOLDS with SPLIT one of {'/'.join(SPLITS)}")
        for piece in folds.split("+"):
            m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", piece)
            if not m:
                raise ConfigError(f"--folds {spec!r}: {piece.strip()!r} is not a fold or a range a-b")
            lo, hi = int(m[1]), int(m[2] if m[2] is not None else m[1])
            if not 0 <= lo <= hi < N_FOLDS:
                raise ConfigError(f"--folds {spec!r}: folds must lie in 0-{N_FOLDS - 1}, got {piece.strip()!r}")
            for fold in range(lo, hi + 1):
                if fold in mapping:
                    raise ConfigError(f"--folds {spec!r}: fold {fold} is given twice")
                mapping[fold] = split
    if not mapping:
        raise ConfigError(f"--folds {spec!r}: no fold mapped")
    return mapping


def check_view(view: str) -> str:
    """Upper-cased view name; ConfigError unless it is A4C or PSAX."""
    if view.upper() not in VIEWS:
        raise ConfigError(f"--view {view!r}: must be one of {', '.join(VIEWS)}")
    return view.upper()


def configure(folds: str | None = None, view: str | None = None) -> None:
    """Set the fold rule and view for every later load in this process (the commands' ``--folds``/``--view``);
    None leaves a setting as it is. Validated first: raises ConfigError on a bad spec. Only the process that
    loads the dataset needs them (workers receive records, not folders)."""
    if folds is not None:
        parse_folds(folds)
        _SETTINGS["folds"] = folds
    if view is not None:
        _SETTINGS["view"] = check_view(view)


def current_folds() -> str:
    return _SETTINGS["folds"] or DEFAULT_FOLDS


def current_view() -> str:
    return _SETTINGS["view"] or DEFAULT_VIEW


# ------------------------------------------------------------------------------------- layout

def is_view_folder(folder: Path) -> bool:
    """True when ``folder/FileList.csv`` has the EchoNet-Pediatric columns."""
    return has_columns(folder / "FileList.csv", PEDIATRIC_COLUMNS)


def find_view(root: Path, view: str | None = None) -> Path | None:
    """The view folder to read when ``root`` is an EchoNet-Pediatric root or view folder; None otherwise.

    ``view`` (default: ``current_view()``) picks among ``root/A4C`` and ``root/PSAX``; a view folder given
    directly is read as is. Raises DataError when root holds view folders but not the one asked for.
    """
    if is_view_folder(root):
        return root
    present = [v for v in VIEWS if is_view_folder(root / v)]
    if not present:
        return None
    view = check_view(view) if view else current_view()
    if view not in present:
        raise DataError(f"{root}: no {view}/ view folder with a Pediatric FileList.csv (has {', '.join(present)}/; "
                        f"pass --view {present[0]} or the view folder itself)")
    return root / view


# ----------------------------------------------------------------------------------- outlines

def shoelace_area(points: np.ndarray) -> float:
    """Area (pixels^2) enclosed by the closed polygon of ``points`` (P, 2) X, Y, in order (shoelace)."""
    x, y = np.asarray(points, dtype=np.float64).T
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def area_length_volume(points: np.ndarray) -> float:
    """LV volume (pixels^3) of an apical outline by the single-plane area-length method.

    V = 8 A^2 / (3 pi L), A the shoelace area, L the longest distance between two outline points
    (ours, standing in for the apex-to-annulus length). ``points`` is (P, 2) X, Y.
    """
    p = np.asarray(points, dtype=np.float64)
    length = float(np.sqrt(((p[:, None, :] - p[None, :, :]) ** 2).sum(-1).max()))
    return 8.0 * shoelace_area(p) ** 2 / (3.0 * math.pi * length) if length > 0 else 0.0


def ed_es_from_outlines(outlines: Outlines) -> tuple[int, int, float, float]:
    """``(ed, es, area_ed, area_es)``: ED is the traced frame of largest outline area, ES of smallest.

    ``outlines`` maps 0-based frames to (P, 2) points; areas in pixels^2. Raises DataError with fewer
    than two frames or when the areas do not give a larger ED and a positive ES.
    """
    if len(outlines) < 2:
        raise DataError(f"ED/ES need two traced frames, got {len(outlines)}")
    areas = {int(f): shoelace_area(p) for f, p in outlines.items()}
    ed = max(areas, key=lambda f: (areas[f], -f))
    es = min(areas, key=lambda f: (areas[f], f))
    if not areas[ed] > areas[es] > 0:
        raise DataError(f"traced outline areas {sorted(areas.values())} do not give a larger ED and a positive ES")
    return ed, es, areas[ed], areas[es]


@dataclass(frozen=True, eq=False)
class OutlineRecord(VideoRecord):
    """A VideoRecord whose ``tracings`` are LV outlines: frame -> (P, 2) X, Y points."""

    view: str = DEFAULT_VIEW
    fold: int | None = None         # the FileList's fold number (None when Split was not a fold)

    @property
    def traced_volumes(self) -> tuple[float, float] | None:
        """(EDV, ESV) by area-length from the ED/ES outlines, pixels^3; None when untraced or not A4C."""
        if self.tracings is None or self.ed is None or self.es is None or self.view != "A4C":
            return None
        return area_length_volume(self.tracings[self.ed]), area_length_volume(self.tracings[self.es])


def read_outlines(path: Path) -> tuple[dict[str, dict[int, list[list[str]]]], dict[str, str], dict[str, str]]:
    """VolumeTracings.csv (X, Y layout) as name -> frame -> [X, Y] text rows in file order,
    name -> the first malformed-row message, and name -> the marker it carries (``No Systolic``...)."""
    grouped: dict[str, dict[int, list[list[str]]]] = defaultdict(lambda: defaultdict(list))
    broken: dict[str, str] = {}
    marked: dict[str, str] = {}
    columns, rows = csv_table(path, OUTLINE_COLUMNS)
    at = {c: columns[c] for c in OUTLINE_COLUMNS}
    width = max(at.values()) + 1
    for line, row in rows:
        name = strip_suffix(row[at["FileName"]])
        frame_text = row[at["Frame"]].strip() if len(row) > at["Frame"] else ""
        if frame_text.lower() in {m.lower() for m in MARKERS}:
            marked.setdefault(name, frame_text)
            continue
        if len(row) < width:
            broken.setdefault(name, f"{path.name} line {line}: {len(row)} cells, expected {width}")
            continue
        frame = parse_int(frame_text)
        if frame is None or frame < 0:
            broken.setdefault(name, f"{path.name} line {line}: Frame {frame_text!r} is not a frame index "
                                    f"or one of {' / '.join(MARKERS)}")
            continue
        grouped[name][frame].append([row[at["X"]], row[at["Y"]]])
    return grouped, broken, marked


def outline_views(path: Path) -> dict[str, str]:
    """name -> view from the optional ``View`` column of an outline file. An export of a Pediatric source
    (``share/dataset.py``) writes it, so that a PSAX outline read back from an EchoNet-layout folder is
    not measured as A4C; the release's own files have none (their folder names the view)."""
    if not has_columns(path, ("FileName", "View")):
        return {}
    columns, rows = csv_table(path, ("FileName", "View"))
    at, name_at = columns["View"], columns["FileName"]
    return {strip_suffix(row[name_at]): row[at].strip().upper() for _, row in rows if len(row) > at}


def as_outline_record(record: VideoRecord, view: str = DEFAULT_VIEW) -> OutlineRecord:
    """``record`` as an OutlineRecord of ``view`` (upper case; A4C when unknown or not a view name)."""
    view = view.upper() if view and view.upper() in VIEWS else DEFAULT_VIEW
    return OutlineRecord(**{f.name: getattr(record, f.name) for f in fields(VideoRecord)}, view=view)


def outline_arrays(name: str, frames: dict[int, list[list[str]]], n_frames: int | None) -> Outlines:
    """Validated (P, 2) float arrays per traced frame; raises Untraced naming the video and the problem."""
    out: Outlines = {}
    for frame, rows in sorted(frames.items()):
        try:
            points = np.array(rows, dtype=np.float64)
        except ValueError:
            points = np.full((len(rows), 2), np.nan)
        if len(points) < 3:
            raise Untraced(f"{name}: traced frame {frame} has {plural(len(points), 'outline point')}; an outline needs 3")
        if not np.isfinite(points).all():
            raise Untraced(f"{name}: traced frame {frame} has non-numeric coordinates")
        if n_frames is not None and frame >= n_frames:
            raise Untraced(f"{name}: traced frame {frame} is beyond the video's {n_frames} frames")
        out[frame] = points
    if len(out) < 2:
        raise Untraced(f"{name}: {plural(len(out), 'traced frame')}; ED and ES need two")
    return out


# --------------------------------------------------------------------------------------- load

def _split_of(text: str, folds: dict[int, str]) -> tuple[str, int | None]:
    """(split, fold) from a Split cell: a fold number is mapped; TRAIN/VAL/TEST kept; anything else kept as is."""
    fold = parse_int(text)
    if fold is not None:
        return folds.get(fold, f"FOLD{fold}"), fold
    return text.upper(), None


def with_outlines(record: OutlineRecord, frames, notes: list[tuple[str, str]]) -> OutlineRecord:
    if frames is None:
        raise Untraced(f"{record.name}: no tracings in VolumeTracings.csv")
    outlines = outline_arrays(record.name, frames, record.n_frames)
    try:
        ed, es, _, _ = ed_es_from_outlines(outlines)
    except DataError as exc:
        raise Untraced(f"{record.name}: {exc}") from exc
    traced = OutlineRecord(**{f.name: getattr(record, f.name) for f in fields(record)} |
                           {"tracings": outlines, "ed": ed, "es": es})
    if traced.traced_ef is not None and abs(traced.traced_ef - record.ef) > EF_DISAGREEMENT:
        notes.append((record.name, f"FileList EF {record.ef:.1f} disagrees with the outlines' area-length EF "
                                   f"{traced.traced_ef:.1f} by more than {EF_DISAGREEMENT:g} points; FileList EF kept"))
    return traced


def _relabels(path: Path) -> dict[str, tuple[int, dict[str, str]]]:
    """A labels CSV (``FileName,EF[,Split]``, e.g. ``relabel``'s output) as name -> (line, row)."""
    rows = read_csv(path, ("FileName", "EF"))
    if not rows:
        raise DataError(f"{path}: the list is empty (a header and no rows)")
    return {strip_suffix(row["FileName"]): (line, row) for line, row in reversed(rows)}  # first row wins


def load_pediatric(folder: str | Path, *, folds: str | None = None, check_videos: bool = False,
                   strict: bool = False, progress: bool = True, only: set[str] | None = None,
                   labels_csv: str | Path | None = None) -> Dataset:
    """Read one EchoNet-Pediatric view folder (see the module docstring) as a ``Dataset`` of ``OutlineRecord``.

    ``folds`` is a fold spec (default ``current_folds()``). ``check_videos``, ``strict``, ``progress`` and
    ``only`` behave as in ``data.loader.load_dataset``. ``labels_csv`` (``FileName,EF[,Split]``, e.g.
    ``relabel``'s output): only the videos it lists, with its EF and, where it has a Split cell, its
    split (a fold number is mapped); videos, outlines and folds still come from the view folder; a
    name the view's FileList does not list is dropped with a problem line. Raises DataError when
    FileList.csv (or ``labels_csv``) is missing, lacks a column or lists no video, and ConfigError on a
    bad fold spec.
    """
    folder = Path(folder)
    fold_map = parse_folds(folds or current_folds())
    view = folder.name.upper() if folder.name.upper() in VIEWS else DEFAULT_VIEW
    labels_path, tracings_path = folder / "FileList.csv", folder / "VolumeTracings.csv"
    rows = read_csv(labels_path, PEDIATRIC_COLUMNS)
    if not rows:
        raise DataError(f"{labels_path}: the list is empty (a header and no rows)")
    relabels = _relabels(Path(labels_csv)) if labels_csv is not None else None
    if relabels is not None:
        only = set(relabels) if only is None else set(only) & set(relabels)
    if tracings_path.is_file():
        traced, broken, marked = read_outlines(tracings_path)
    else:
        traced, broken, marked = None, {}, {}

    acc = Rows(strict, check_videos)
    unmapped: dict[str, int] = defaultdict(int)

    def attach(rec, points):  # a relabelled EF (a model's prediction) is not checked against the outlines
        return with_outlines(rec, points, acc.notes if relabels is None else [])

    rows_bar = bar(rows, desc="checking videos" if check_videos else "reading labels", unit="video",
                   progress=progress and check_videos)
    for line, row in rows_bar:
        where = f"{labels_path.name} line {line}"
        name = strip_suffix(row["FileName"])
        if only is not None and name not in only:
            continue
        if relabels is not None:  # the labels CSV's EF (and Split) replace the FileList's
            where, new = f"{Path(labels_csv).name} line {relabels[name][0]}", relabels[name][1]
            row = row | {"EF": new["EF"]} | ({"Split": new["Split"]} if new.get("Split") else {})
        split, fold = _split_of(row["Split"], fold_map)

        def make(row=row, where=where, fold=fold, split=split):
            base = label_record(folder, where, row | {"Split": split}, has_split=True)
            return OutlineRecord(**{f.name: getattr(base, f.name) for f in fields(base)}, view=view, fold=fold)

        record = acc.label(name, where, make)
        if record is None:
            continue
        if split.startswith("FOLD"):
            unmapped[split] += 1
        elif split not in SPLITS:
            acc.notes.append((name, f"Split {split!r} is neither a fold 0-{N_FOLDS - 1} nor one of "
                                    f"{'/'.join(SPLITS)}; kept under that name"))
        acc.keep(record, traced, broken, marked, attach)
    rows_bar.close()

    if relabels is not None:
        for name in sorted(only - acc.seen):  # ``only`` is within the labels CSV here
            acc.drop(name, DataError(f"{name}: {Path(labels_csv).name} lists it but {labels_path} does not"))
    if unmapped:
        acc.notes.append((labels_path.name, f"folds not mapped by {current_folds() if folds is None else folds!r}: "
                          + ", ".join(f"{k} ({v} videos)" for k, v in sorted(unmapped.items()))
                          + "; kept outside TRAIN/VAL/TEST"))
    return acc.dataset(folder, "pediatric", rows, traced, broken, marked, whole=only is None)
