"""A visual report of one or more selections: one self-contained HTML page to look at and to share.

Per EF class the picked videos play as small animated previews with FileName, EF, community and
centrality; above them a summary (features file, method, VPC, seed, counts per class, kNN recall when
the selection records it), the class graph plot when matplotlib is installed, charts a caller adds (the
benchmark's Table 1), and, for a phantom, the nuisance kinds of the picked videos from its
``phantom_truth.json`` (per class, and per selection in one table when several are given).

Self-contained: every image is a ``data:`` URI, no script, no external file or network request. A
preview is a horizontal strip of ``PREVIEW_FRAMES`` frames (one cardiac cycle where ED/ES are known)
encoded once by OpenCV as WebP (JPEG if OpenCV lacks WebP) and played by a CSS ``steps()`` animation
at the video's own frame rate: no GIF/animation library is needed at run time. The page names files
by their base names only (no absolute path: it is made for sharing). Videos are read through the data
layer; a video that cannot be read is a failure listed in the page and returned, the rest goes on.
Written by streaming into a temporary file that is renamed into place (``atomic.py``).
"""

from __future__ import annotations

import base64
import csv
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from infomotion_rt import console
from infomotion_rt.atomic import atomic_path
from infomotion_rt.console import plural
from infomotion_rt.data.classes import DEFAULT_CLASSES, EFClasses
from infomotion_rt.errors import DataError, DependencyError, InfoMotionError, require_pyplot

# Sizes (ours): 112 px (EchoNet's own frame size, so its frames are not resampled and the wall motion is
# visible; 72 px was too small to see it), 12 frames per cycle, WebP quality 40 make a phantom preview
# ~20 KB (measured), so VPC 10 x 5 classes is about 1 MB of previews; figures are lossy WebP at quality 85
# (~50 KB for the graph plot).
PREVIEW_FRAMES = 12     # frames per animated preview (one cardiac cycle)
PREVIEW_PX = 112        # preview height in CSS pixels
PREVIEW_MAX_WIDTH = 150  # wider frames are scaled down to this width (the card is 152 px)
PREVIEW_QUALITY = 40    # WebP/JPEG quality of the strips
FIGURE_QUALITY = 85     # WebP quality of the graph plot and charts
FIGURE_MAX_WIDTH = 1200  # figures are shrunk to this width (pixels) to keep the page small
SYSTOLE_SHARE = 1 / 3   # ED->ES is a third of the cycle (the same convention as data/phases.py)


@dataclass
class SelectionView:
    """What the page shows of one selection. ``rows`` are selection.csv rows (FileName, EF, class,
    community, centrality); ``pool`` class -> names of the videos it was picked from (when known)."""

    rows: list[dict]
    method: str
    vpc: int
    seed: int | None = None
    label: str = ""
    pool: dict = field(default_factory=dict)
    knn_recall: float | None = None   # the lowest estimated kNN recall over the classes, when recorded
    knn: dict = field(default_factory=dict)  # class -> "index recall" text, when recorded
    notes: list[str] = field(default_factory=list)
    graph_png: bytes | None = None   # PNG (or any OpenCV-readable image) of the class graphs
    graph_note: str = "no class graph plot for this selection"
    found: dict = field(default_factory=dict)  # class -> communities Infomap found in it, when recorded
    source: str = ""   # the selection CSV it was read from (``report``), shown in the label

    def __post_init__(self) -> None:
        if not self.label:
            self.label = ((f"{self.source}: " if self.source else "") + f"{self.method} · VPC {self.vpc}"
                          + (f" · seed {self.seed}" if self.seed is not None else ""))


def view_of_selection(sel, cfg, plot: bool = True) -> SelectionView:
    """A ``selection.methods.Selection`` (with its ``SelectConfig``) as a SelectionView; draws the class graph
    plot when ``plot`` and matplotlib is installed, else says why in ``graph_note``."""
    recall = getattr(sel, "knn_recall", None)  # recorded by selections that estimate it
    knn = {c: f"{info.get('index', '?')}, recall {info['recall']:.3f}"
           for c, info in (getattr(sel, "knn", None) or {}).items() if isinstance(info, dict) and "recall" in info}
    view = SelectionView(list(sel.rows), cfg.method, cfg.vpc, cfg.seed,
                         pool={c: [str(n) for n in sub.names] for c, (_pick, sub) in sel.picks.items()},
                         knn_recall=None if recall is None else float(recall), knn=knn, notes=list(sel.notes),
                         found={c: int(pick.n_communities) for c, (pick, _sub) in sel.picks.items()
                                if getattr(pick, "class_graph", None) is not None})
    if plot:
        view.graph_png, view.graph_note = class_graph_png(sel, cfg)
    return view


# The columns select has written since its first release (Weight came later and may be absent); a dataset's
# FileList.csv has FileName and EF but none of select's own, so it is refused rather than shown as a selection.
REQUIRED_COLUMNS = ("FileName", "EF", "class", "community", "centrality", "method", "seed")
NOT_A_SELECTION = "not a selection CSV (select's selection.csv)"


def view_of_csv(path, source: str = "") -> SelectionView:
    """A selection.csv (as ``select`` and ``benchmark`` write it) as a SelectionView; ``source``: how the page
    names the file (``selection_labels``). DataError in one line for a file that is not one."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = reader.fieldnames or []
    except OSError as exc:
        raise DataError(f"{path}: cannot read the selection ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, csv.Error) as exc:  # e.g. a features .npz
        raise DataError(f"{path}: {NOT_A_SELECTION}; it is not a text file"
                        + (" (extract's features file?)" if path.suffix.lower() == ".npz" else "")) from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise DataError(f"{path}: {NOT_A_SELECTION}; it has no {', '.join(missing)} "
                        f"{'column' if len(missing) == 1 else 'columns'}")
    if not rows:
        raise DataError(f"{path}: a selection CSV without rows")
    for r in rows:
        for key in ("EF", "centrality"):
            r[key] = _float(r.get(key))
        r["community"] = int(r["community"]) if (r.get("community") or "").lstrip("-").isdigit() else -1
        r["class"] = r.get("class") or DEFAULT_CLASSES.name(r["EF"])
    per_class = {}
    for r in rows:
        per_class[r["class"]] = per_class.get(r["class"], 0) + 1
    seed = rows[0].get("seed")
    return SelectionView(rows, rows[0].get("method") or path.stem, max(per_class.values()),
                         int(seed) if (seed or "").lstrip("-").isdigit() else None, source=source)


def selection_labels(paths) -> list[str]:
    """How the page names each selection CSV: its file name, with as many parent folders as it takes to tell
    the files apart (``random/sel.csv``, ``herding/sel.csv``); never more of the path than that."""
    parts = [Path(p).parts for p in paths]
    for k in range(1, max((len(q) for q in parts), default=1) + 1):
        labels = ["/".join(q[-k:]) for q in parts]
        if len(set(labels)) == len(labels):
            return labels
    return [f"{Path(p).name} ({i})" for i, p in enumerate(paths, 1)]   # the same file given twice


def class_graph_png(sel, cfg) -> tuple[bytes | None, str]:
    """(PNG bytes of ``selection.methods.plot_selection``, "") or (None, why it is not drawn)."""
    from infomotion_rt.selection.methods import plot_selection

    try:
        require_pyplot("the class graph plot of --report")
    except DependencyError:
        return None, ("class graph plot not drawn: matplotlib is not installed "
                      "(pip install 'infomotion-rt[plot]')")
    with tempfile.TemporaryDirectory() as tmp:
        data = plot_selection(sel, cfg, Path(tmp) / "graph.png").read_bytes()
    return data, ""


def figure_uri(data: bytes, max_width: int = FIGURE_MAX_WIDTH) -> str:
    """An image file's bytes (PNG, ...) as a data URI: shrunk (area interpolation) to at most
    ``max_width`` pixels wide and re-encoded as WebP (PNG when this OpenCV cannot write WebP).
    Raises DataError when the bytes are not an image OpenCV can read."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError("report: a figure is not a readable image (PNG expected)")
    if img.shape[1] > max_width:
        h = round(img.shape[0] * max_width / img.shape[1])
        img = cv2.resize(img, (max_width, h), interpolation=cv2.INTER_AREA)
    try:
        ok, buf = cv2.imencode(".webp", img, [cv2.IMWRITE_WEBP_QUALITY, FIGURE_QUALITY])
    except cv2.error:
        ok = False
    if ok:
        return data_uri(buf.tobytes(), "image/webp")
    ok, buf = cv2.imencode(".png", img)
    return data_uri(buf.tobytes(), "image/png")


# --- previews -------------------------------------------------------------------------------

@dataclass
class Preview:
    data_uri: str
    width: int          # one frame's size in CSS pixels
    height: int
    seconds: float      # duration of the shown span at the video's frame rate


def preview_span(n_frames: int, fps: float, ed: int | None, es: int | None) -> tuple[np.ndarray, float]:
    """``PREVIEW_FRAMES`` frame indices spanning one cardiac cycle from ED when ED/ES are known (cycle =
    |ES - ED| / SYSTOLE_SHARE), else the first second (~one cycle at 60 bpm); and that span in seconds."""
    fps = fps if fps and math.isfinite(fps) and fps > 0 else 30.0
    if ed is not None and es is not None and es != ed:
        start, span = min(ed, es), round(abs(es - ed) / SYSTOLE_SHARE)
    else:
        start, span = 0, round(fps)
    span = max(1, min(span, n_frames))
    start = max(0, min(start, n_frames - span))
    idx = np.linspace(start, start + span - 1, PREVIEW_FRAMES).round().astype(int)
    return idx, span / fps


def encode_strip(frames: np.ndarray, px: int = PREVIEW_PX) -> tuple[str, int, int]:
    """(T, H, W) uint8 frames -> (data URI of one horizontal strip, frame width, frame height): ``px``
    high, or less for frames wider than PREVIEW_MAX_WIDTH at that height (aspect ratio kept)."""
    h, w = frames.shape[1:3]
    fw, fh = max(1, round(px * w / h)), px
    if fw > PREVIEW_MAX_WIDTH:
        fw, fh = PREVIEW_MAX_WIDTH, max(1, round(PREVIEW_MAX_WIDTH * h / w))
    strip = np.hstack([cv2.resize(f, (fw, fh), interpolation=cv2.INTER_AREA) for f in frames])
    for ext, mime, params in ((".webp", "image/webp", [cv2.IMWRITE_WEBP_QUALITY, PREVIEW_QUALITY]),
                              (".jpg", "image/jpeg", [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY])):
        try:
            ok, buf = cv2.imencode(ext, strip, params)
        except cv2.error:
            ok = False
        if ok:
            return data_uri(buf.tobytes(), mime), fw, fh
    raise DependencyError("this OpenCV build encodes neither WebP nor JPEG; the report's previews need one")


def make_preview(record) -> Preview:
    """The animated preview of one ``VideoRecord``; VideoError (naming the video) when it cannot be read."""
    from infomotion_rt.data.video import probe, read_frames

    info = record.probed or probe(record.path)
    fps = record.fps if record.fps and math.isfinite(record.fps) else info.fps
    idx, seconds = preview_span(info.n_frames, fps, record.ed, record.es)
    uri, width, height = encode_strip(read_frames(record.path, idx))
    return Preview(uri, width, height, seconds)


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# --- the page -------------------------------------------------------------------------------

@dataclass
class ReportResult:
    path: Path
    previews: int
    failures: list[str]


def write_report(path, views: list[SelectionView], *, title: str = "Selection report", data_dir=None,
                 features=None, header: dict | None = None, charts: Iterable = (), candidates=None,
                 progress: bool = True, classes: EFClasses = DEFAULT_CLASSES,
                 require_previews: bool = False, nuisances: dict | None = None) -> ReportResult:
    """Write the HTML page for ``views`` to ``path`` (streamed into a temporary file, then renamed).

    ``data_dir``: the dataset the videos come from (previews); without it the page holds tables only and
    says so. ``nuisances``: video name -> nuisance kinds (a phantom's truth, ``phantom.truth.load_nuisances``,
    which the caller reads: the report never imports the phantom), for the nuisance tables. ``features``:
    the features file (only its name is shown). ``header``: extra summary lines (name -> text). ``charts``: (title, PNG bytes or path[, caption]) shown under the
    summary, e.g. the benchmark's Table 1 chart. ``candidates``: names of every video the selections
    chose from, for the nuisance shares a random pick would have. Raises DataError for an unreadable
    dataset or chart; a video that cannot be read is a failure, listed in the page and in the result,
    and the rest goes on; with ``require_previews`` a ``data_dir`` that yields no preview at all is a
    DataError and nothing is written.
    """
    from infomotion_rt.share.report_html import Page

    records, failures = {}, []
    names = {r["FileName"] for v in views for r in v.rows}
    if data_dir is not None:
        from infomotion_rt.data.loader import load_dataset

        ds = load_dataset(data_dir, progress=False, only=names)
        records = {r.name: r for r in ds.records}
        why = {subject: message for subject, message in ds.problems}  # e.g. a video file missing
        failures += [f"{n}: {why.get(n, 'not in the dataset ' + Path(data_dir).name)}"
                     for n in sorted(names - set(records))]
    private = [str(p) for q in (data_dir, features) if q is not None for p in (Path(q).resolve(), Path(q).absolute())]
    charts = [_chart(c) for c in charts]
    graphs = [figure_uri(v.graph_png) if v.graph_png is not None else None for v in views]
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        previews = {}
        for name in console.bar(sorted(set(records) & names), desc="report previews", unit="video", progress=progress):
            try:
                previews[name] = make_preview(records[name])
            except InfoMotionError as exc:
                failures.append(str(exc))
        failures = [_scrub(f, private) for f in failures]
        if require_previews and data_dir is not None and names and not previews:
            raise DataError(f"{path}: no preview of the {len(names)} picked videos could be made from "
                            f"{Path(data_dir).name} ({failures[0] if failures else 'none found'}); report not written")
        summary = _summary(views, data_dir, features, nuisances, header or {})
        if data_dir is not None:
            summary["previews"] = f"{len(previews)} of {plural(len(names), 'video')}" + (
                f"; {len(failures)} without one, listed at the end" if failures else "")
        page = Page(title, summary, views, graphs, charts,
                    previews, nuisances, failures, classes, PREVIEW_FRAMES,
                    None if candidates is None else [str(n) for n in candidates])
        for chunk in page.render():
            fh.write(_scrub(chunk, private))
    return ReportResult(Path(path), len(previews), failures)


def write_selection_report(path, sel, cfg, *, features=None, data_dir=None, nuisances=None, plot: bool = True,
                           graph_png: bytes | None = None, progress: bool = True,
                           rename: dict | None = None, require_previews: bool = False,
                           header: dict | None = None) -> ReportResult:
    """The ``select --report`` page of one ``selection.methods.Selection`` made with ``cfg``; ``graph_png``: the
    class graph plot already drawn (``select --plot``), else it is drawn here when ``plot``.

    ``rename`` (source name -> exported name; ``select --export-dataset --deidentify`` passes the
    pseudonyms with ``data_dir`` the export): the page names the picks by their exported names and
    shows previews of the exported (cleaned) videos; a pick not exported reads ``(not exported)``.
    The graph plot (drawn from the selection, no names on it) is kept. ``header``: extra summary lines
    (name -> text), e.g. ``select --self-check``'s sentence."""
    view = view_of_selection(sel, cfg, plot=plot and graph_png is None)
    if graph_png is not None:
        view.graph_png = graph_png
    if rename is not None:
        view.rows = [r | {"FileName": rename.get(r["FileName"], "(not exported)")} for r in view.rows]
        view.pool = {c: [rename.get(n, f"(video {i})") for i, n in enumerate(names)] for c, names in view.pool.items()}
        if view.notes:  # select's notes can name source videos (e.g. those dropped without EF)
            view.notes = [f"{plural(len(view.notes), 'selection note')} left out of this de-identified page: they can "
                          "name source videos (select prints them)"]
    return write_report(path, [view], title=f"Selection report: {view.label}", data_dir=data_dir,
                        features=features, progress=progress, require_previews=require_previews, header=header,
                        nuisances=nuisances)


def write_benchmark_report(path, selections: Iterable, chart=None, *, data_dir=None, features=None,
                           header: dict | None = None, candidates=None, progress: bool = True,
                           nuisances: dict | None = None) -> ReportResult:
    """A benchmark's page: its Table 1 chart (PNG path or bytes; None: no chart) and the given selections
    (selection.csv paths or SelectionViews, e.g. run 1 of every method x VPC), with the per-selection
    nuisance table when the data is a phantom (``candidates``: the names of the pool the methods chose
    from, for its shares)."""
    views = [s if isinstance(s, SelectionView) else view_of_csv(s) for s in selections]
    charts = [("Table 1", chart, "the benchmark's chart of Table 1")] if chart is not None else []
    return write_report(path, views, title="Benchmark report", data_dir=data_dir, features=features,
                        header=header, charts=charts, candidates=candidates, progress=progress, nuisances=nuisances)


def _summary(views, data_dir, features, nuisances, header: dict) -> dict:
    items = {}
    if features is not None:
        items["features file"] = Path(features).name
    if data_dir is None:
        items["videos"] = "no --data DATA_DIR given: tables only, no previews"
    else:
        items["videos"] = Path(data_dir).name + (" (a phantom: nuisance kinds from its truth file)"
                                                  if nuisances is not None else "")
    if len(views) == 1:
        v = views[0]
        items |= ({"selection file": v.source} if v.source else {}) | {"method": v.method, "VPC (videos per class)": str(v.vpc), "seed": "–" if v.seed is None else str(v.seed),
                  "videos picked": str(len(v.rows))}
        if v.knn_recall is not None:
            items["kNN recall"] = f"{v.knn_recall:.3f} (lowest over the classes)"
    else:
        items["selections"] = str(len(views))
        items["VPC"] = "videos per class: how many videos each selection picks from each EF class"
    return items | {str(k): str(val) for k, val in header.items()}


def _chart(chart) -> tuple[str, str, str]:
    title, image, caption = (tuple(chart) + ("",))[:3]
    if isinstance(image, (bytes, bytearray)):
        data = bytes(image)
    else:
        try:
            data = Path(image).read_bytes()
        except OSError as exc:
            raise DataError(f"{Path(image).name}: cannot read the chart for the report ({exc.strerror})") from exc
    return str(title), figure_uri(data), str(caption)


def _scrub(text: str, private: list[str]) -> str:
    """Absolute paths of the data and features replaced by their names (the page is for sharing)."""
    for p in sorted(set(private), key=len, reverse=True):
        if p and p != "/":
            text = text.replace(p, Path(p).name)
    return text


def _float(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")
