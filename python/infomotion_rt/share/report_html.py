"""The HTML of the selection report: layout, styles, escaping (``report.py`` gathers what it shows).

Plain HTML and CSS, no script: the previews are sprite strips moved by a CSS ``steps()`` animation
(paused on hover, still under prefers-reduced-motion). Every image arrives here as a ready data URI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape as e
from typing import Iterable, Iterator

from infomotion_rt._version import __version__
from infomotion_rt.console import plural

# matplotlib's tab20, the colours plot_class_graphs gives communities (community % 20), so a card's
# colour bar matches its star in the class graph plot.
TAB20 = ("#1f77b4 #aec7e8 #ff7f0e #ffbb78 #2ca02c #98df8a #d62728 #ff9896 #9467bd #c5b0d5 #8c564b #c49c94 "
         "#e377c2 #f7b6d2 #7f7f7f #c7c7c7 #bcbd22 #dbdb8d #17becf #9edae5").split()

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;padding:0 24px;color:#222;background:#f6f6f4;max-width:1400px}
h1{font-size:22px;margin:0 0 10px}h2{font-size:17px;margin:26px 0 8px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0;background:#fff}td,th{border:1px solid #ddd;padding:3px 9px;text-align:left}
th{background:#efefec;font-weight:600}td.nw{white-space:nowrap}td.n{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}
.note{color:#666;font-size:12.5px;margin:2px 0}ul.notes{margin:4px 0;padding-left:18px}.fail{color:#a00}
details{margin:18px 0}details>summary{cursor:pointer;font-weight:600;font-size:17px;margin:0 0 6px}
.cls{display:flex;gap:14px;background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 12px;margin:8px 0}
.meta{flex:0 0 124px;font-size:12.5px;color:#444}.meta b{font-size:15px;color:#111}
.cards{display:flex;flex-wrap:wrap;gap:10px 8px;align-items:flex-start}
.card{margin:0;width:152px;font-size:11.5px;line-height:1.3;border-top:4px solid var(--c,#bbb);padding-top:4px}
.pv{height:112px;overflow:hidden;background:#000;border-radius:2px}
.pv img{display:block;height:112px;animation:play 1s steps(12) infinite}
.pv:hover img{animation-play-state:paused}
@keyframes play{from{transform:translateX(0)}to{transform:translateX(-100%)}}
@media (prefers-reduced-motion:reduce){.pv img{animation:none}}
.nopv{height:112px;width:112px;background:#eee;color:#a00;font-size:11px;display:flex;align-items:center;text-align:center}
.name{font-family:ui-monospace,Menlo,monospace;font-size:9.5px;word-break:break-all;color:#333}td.name{font-size:12px}
.ef{font-size:13px;font-weight:600}
.tag{display:inline-block;background:#fde2c8;color:#7a3b00;border-radius:3px;padding:0 4px;margin:2px 2px 0 0;font-size:10.5px}
.fig{max-width:100%;border:1px solid #ddd;background:#fff;display:block;margin:6px 0}
"""


@dataclass
class Page:
    """Everything the page shows; ``views`` are report.SelectionView, ``graphs`` one data URI (or None)
    per view, ``charts`` (title, data URI, caption), ``previews`` name -> report.Preview."""

    title: str
    summary: dict
    views: list
    graphs: list
    charts: list
    previews: dict
    nuisances: dict | None
    failures: list
    classes: object
    frames: int
    candidates: list | None = None  # every video the selections chose from (for the nuisance shares)

    def render(self) -> Iterator[str]:
        yield (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(self.title)}</title>"
               f"<style>{STYLE.replace('steps(12)', f'steps({self.frames})')}</style></head><body>"
               f"<h1>{e(self.title)}</h1>")
        yield "<table>" + "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in self.summary.items()) + "</table>"
        for title, uri, caption in self.charts:
            yield (f"<h2>{e(title)}</h2><img class='fig' alt='{e(title)}' src='{uri}'>"
                   + (f"<p class='note'>{e(caption)}</p>" if caption else ""))
        if len(self.views) > 1 and self.nuisances is not None:
            yield self._nuisance_table()
        for i, (view, graph) in enumerate(zip(self.views, self.graphs)):
            yield from self._selection(view, graph, open_=i == 0)
        if self.failures:
            yield (f"<h2 class='fail'>{plural(len(self.failures), 'video')} without a preview</h2><ul>"
                   + "".join(f"<li class='fail'>{e(f)}</li>" for f in self.failures) + "</ul>")
        yield (f"<p class='note'>Made by infomotion-rt {e(__version__)}. Previews: one cardiac cycle from ED "
               "(the first second without ED/ES) at the video's frame rate; hover to pause.</p></body></html>\n")

    # --- nuisances ---

    def _kinds(self, rows) -> dict[str, int]:
        return nuisance_counts((r["FileName"] for r in rows), self.nuisances)

    def _kinds_text(self, rows) -> str:
        counts = self._kinds(rows)
        return ", ".join(f"{k} ×{n}" for k, n in sorted(counts.items(), key=lambda kv: (kv[0] == "clean", kv[0])))

    def _shares_text(self, names) -> str:
        counts = self._kinds([{"FileName": n} for n in names])
        return ", ".join(f"{k} {100 * m / len(names):.0f}%"
                         for k, m in sorted(counts.items(), key=lambda kv: (kv[0] == "clean", kv[0])))

    def _nuisance_table(self) -> str:
        per = [(e(v.label), self._kinds(v.rows), len(v.rows)) for v in self.views]
        if self.candidates:
            per.append((f"<i>all {len(self.candidates)} candidates</i>", self._kinds([{"FileName": n} for n in
                                                                               self.candidates]), len(self.candidates)))
        kinds = sorted({k for _, c, _ in per for k in c} - {"clean"}) + ["clean"]
        head = "".join(f"<th>{e(k)}</th>" for k in ["selection", *kinds, "videos"])
        body = "".join(f"<tr><td>{label}</td>" + "".join(f"<td class='n'>{_share(c.get(k, 0), n)}</td>" for k in kinds)
                       + f"<td class='n'>{n}</td></tr>" for label, c, n in per)
        return (f"<h2>Nuisance kinds among the picked videos</h2><table><tr>{head}</tr>{body}</table>"
                "<p class='note'>From the phantom's truth file: videos (share of the selection); a video with "
                "several kinds counts once in each, 'clean' counts videos with none.</p>")

    # --- one selection ---

    def _selection(self, v, graph: str | None, open_: bool) -> Iterator[str]:
        yield f"<details{' open' if open_ else ''}><summary>{e(v.label)}: {plural(len(v.rows), 'video')}</summary>"
        by_class = {c: [r for r in v.rows if r["class"] == c] for c in self.classes.names}
        head = ("<tr><th>class</th><th>EF</th><th>videos</th><th>picked</th>"
                + ("<th>communities: among the picks / found</th>" if v.found else "<th>communities among the picks</th>"))
        shares = self.nuisances is not None and bool(v.pool)
        head += "<th>nuisances among the picks</th>" if self.nuisances is not None else ""
        head += "<th>among all the class's videos</th>" if shares else ""
        head += "<th>kNN search</th>" if v.knn else ""
        body = ""
        for k, c in enumerate(self.classes.names):
            comms = {r["community"] for r in by_class[c] if r["community"] >= 0}
            body += (f"<tr><td>{e(c)}</td><td class='nw'>{_range(*self.classes.bounds(k))}</td>"
                     f"<td class='n'>{len(v.pool[c]) if c in v.pool else '–'}</td><td class='n'>{len(by_class[c])}</td>"
                     f"<td class='n'>{len(comms) if comms else '–'}"
                     f"{f' / {v.found[c]}' if c in v.found else ''}</td>")
            if self.nuisances is not None:
                body += f"<td>{e(self._kinds_text(by_class[c]))}</td>"
            if shares:
                body += f"<td>{e(self._shares_text(v.pool.get(c, [])))}</td>"
            if v.knn:
                body += f"<td class='nw'>{e(v.knn.get(c, '–'))}</td>"
            body += "</tr>"
        yield f"<table>{head}</tr>{body}</table>"
        if v.notes:
            yield "<ul class='notes'>" + "".join(f"<li class='note'>{e(n)}</li>" for n in v.notes) + "</ul>"
        for k, c in enumerate(self.classes.names):
            if by_class[c]:
                yield self._class_block(c, _range(*self.classes.bounds(k)), by_class[c],
                                        len(v.pool[c]) if c in v.pool else None, v.found.get(c))
        if graph is not None:
            match = ("the cards' colours are their communities here" if v.method in ("infomotion", "infodist")
                     else f"{v.method}'s picks drawn on the infomotion graph, so the cards' colours are not these communities")
            yield (f"<h3>Class graphs</h3><p class='note'>kNN graph per class, nodes coloured by community, picked "
                   f"videos as stars ({e(match)}).</p><img class='fig' alt='class graphs' src='{graph}'>")
        else:
            yield f"<p class='note'>{e(v.graph_note)}</p>"
        yield "</details>"

    def _class_block(self, cname: str, ef_range: str, rows: list[dict], pool, found: int | None = None) -> str:
        comms = {r["community"] for r in rows if r["community"] >= 0}
        meta = (f"<b>{e(cname)}</b><br>EF {ef_range}<br>{len(rows)} picked"
                + (f" of {pool}" if pool is not None else "")
                + (f"<br>{len(comms)} of {plural(found, 'community', 'communities')}" if comms and found is not None
                   else f"<br>{plural(len(comms), 'community', 'communities')}" if comms else ""))
        if not self.previews:
            head = "<tr><th>FileName</th><th>EF</th><th>community</th><th>centrality</th>"
            head += "<th>nuisances</th>" if self.nuisances is not None else ""
            body = "".join(f"<tr><td class='name'>{e(r['FileName'])}</td><td class='n'>{_fmt(r['EF'], '.1f')}</td>"
                           f"<td class='n'>{_comm(r)}</td><td class='n'>{_fmt(r['centrality'], '.3g')}</td>"
                           + (f"<td>{e(', '.join(self.nuisances.get(r['FileName'], [])))}</td>"
                              if self.nuisances is not None else "") + "</tr>" for r in rows)
            return f"<div class='cls'><div class='meta'>{meta}</div><table>{head}</tr>{body}</table></div>"
        cards = "".join(self._card(r) for r in rows)
        return f"<div class='cls'><div class='meta'>{meta}</div><div class='cards'>{cards}</div></div>"

    def _card(self, r: dict) -> str:
        p = self.previews.get(r["FileName"])
        media = (f"<div class='pv' style='width:{p.width}px;height:{p.height}px'><img alt='{e(r['FileName'])}' "
                 f"src='{p.data_uri}' style='height:{p.height}px;animation-duration:{p.seconds:.2f}s'></div>" if p else "<div class='nopv'>no preview</div>")
        colour = TAB20[r["community"] % 20] if r["community"] is not None and r["community"] >= 0 else "#bbb"
        tags = "".join(f"<span class='tag'>{e(k)}</span>" for k in (self.nuisances or {}).get(r["FileName"], []))
        known = r["community"] >= 0 or _fmt(r["centrality"], ".3g") != "–"  # random has neither
        graph = f"<br>comm {_comm(r)} · cent {_fmt(r['centrality'], '.3g')}" if known else ""
        return (f"<figure class='card' style='--c:{colour}'>{media}<figcaption>"
                f"<div class='name'>{e(r['FileName'])}</div><span class='ef'>EF {_fmt(r['EF'], '.1f')}</span>"
                f"{graph}{'<br>' + tags if tags else ''}</figcaption></figure>")


def _fmt(x, spec: str) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def _share(count: int, total: int) -> str:
    return f"{count} ({100 * count / total:.0f}%)" if total else str(count)


def _comm(r: dict) -> str:
    return str(r["community"]) if r["community"] is not None and r["community"] >= 0 else "–"


def _range(lo: float, hi: float) -> str:
    if not math.isfinite(lo):
        return f"&lt; {hi:g}"
    if not math.isfinite(hi):
        return f"≥ {lo:g}"
    return f"{lo:g}–{hi:g}"


def nuisance_counts(names: Iterable[str], nuisances: dict) -> dict[str, int]:
    """How many of ``names`` carry each nuisance kind (``phantom.truth.load_nuisances``'s map); "clean" counts the videos
    with none, and a video with several kinds counts once in each. For the report and results files."""
    counts: dict[str, int] = {}
    for name in names:
        for kind in nuisances.get(name, []) or ["clean"]:
            counts[kind] = counts.get(kind, 0) + 1
    return counts
