"""``benchmark --instrument probe`` (issue 16, item 3): selection methods x VPC x seeds scored by the probe.

Protocol (ours): for every seed s, ``pool_draw(s, share, TRAIN names)`` draws the same random share of the
TRAIN pool for every method (share 1.0: the fixed pool); every method selects from that draw with seed s on
the motion vectors of ``--features`` (the selection metric fitted once per draw on the draw, exactly as
``select`` fits it on its candidates); the probe (``probe.PROBE_DEFINITION``: ridge on features standardised
with the whole TRAIN pool) is fitted on the picks with their class-prior ``Weight`` (``weights=False``:
unweighted) and scores TEST on both representations (motion, pixels). Only videos both representations hold
take part. Per method x VPC x representation: MAE, R², accuracy, balanced accuracy (and r) as mean ± std
over seeds, each method's paired difference (``stats.differences_vs``, 95 % paired t) against Random and
against the best peer (of TypiClust, ProbCover and MaxHerding that ran, else of the methods other than
random and infomotion: the lowest mean MAE in that VPC x representation cell); rows of reference: the whole-pool read-out (ceiling) and the Mean-EF /
majority-class floors of the whole TRAIN pool.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text
from ..errors import ConfigError, DataError, DependencyError

PROBE_METHODS = ("random", "infomotion", "kmeans", "typiclust", "probcover", "maxherding")
PROBE_KEYS = ("mae", "r2", "acc", "bal_acc", "r")
DIFF_KEYS = ("mae", "r2", "acc", "bal_acc")
NOT_PEERS = ("random", "infomotion")   # ours and the baseline
# the pool draw lives on the runtime side (select --self-check uses it too); re-exported here
from ..readout import POOL_DRAW, pool_draw  # noqa: E402,F401


def available_methods(methods, log=print) -> tuple[list[str], dict]:
    """(methods that can run, {skipped peer: reason}): a scikit-activeml peer without its extra is skipped
    with one log line."""
    from .. import select

    keep, skipped = [], {}
    for m in methods:
        if m not in select.METHODS:
            raise ConfigError(f"unknown method {m!r}; choose from {', '.join(select.METHODS)}")
        if m in select.PEER_METHODS:
            try:
                select._skactiveml_pool(m)
            except DependencyError as exc:
                skipped[m] = str(exc)
                log(f"skipping {m}: {exc}")
                continue
        keep.append(m)
    return keep, skipped


def _summary(runs: list[dict]) -> dict:
    out = {}
    for k in PROBE_KEYS:
        v = np.array([r.get(k, math.nan) for r in runs], dtype=np.float64)
        v = v[np.isfinite(v)]
        out[k] = {"mean": float(v.mean()) if v.size else math.nan,
                  "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size)}
    return out


def run_probe_benchmark(data_dir, features, *, vpcs=(5, 10), seeds: int = 50, seed: int = 0,
                        methods=PROBE_METHODS, share: float = 0.8, weights: bool = True, tolerance: float = 2.0,
                        threads: int = 0, out_dir="benchmark", progress: bool = True, log=print) -> dict:
    """Run the protocol of the module docstring (seeds ``seed .. seed + seeds - 1``) into ``out_dir``:
    ``results.json`` and ``table_probe.md``. Returns the results dict (``outputs`` names the files).
    ConfigError for bad options or no method left; DataError for a pool or TEST split the probe cannot use."""
    from ..data.echonet import load_dataset
    from ..features import FeatureSet, read_features
    from ..graph import GraphConfig
    from ..knn_index import KnnConfig
    from ..metric import RAW, fit_metric
    from ..pixels import PIXELS_DEFINITION, load_or_build
    from ..select import WEIGHT_COLUMN, SelectConfig, select_features
    from .probe import PROBE_DEFINITION, _limit_threads, _matrix, probe_score, ridge_probe
    from .protocol import require_test_split
    from .stats import INTERVAL, differences_vs, reference_rows

    if not features:
        raise ConfigError("--instrument probe needs --features F (the motion features to select from)")
    if seeds < 1 or not vpcs or min(vpcs) < 1:
        raise ConfigError(f"--seeds must be >= 1 and --vpc values >= 1, got {seeds} and {tuple(vpcs)}")
    pool_draw(seed, share, [])  # validates the share before any work
    _limit_threads(threads)
    t_start = time.perf_counter()
    methods, skipped = available_methods(methods, log)
    if not methods:
        raise ConfigError("no selection method left to run")
    dataset = load_dataset(data_dir, progress=progress)
    test = require_test_split(dataset)
    motion = read_features(features)
    pixels, pix_info = load_or_build(dataset.records, features, log=log)
    both = set(motion.names.tolist()) & set(pixels.names.tolist())
    notes = [f"{n}: {r}" for n, r in skipped.items()]
    pool = [r for r in dataset.split("TRAIN") if r.name in both and np.isfinite(r.ef)]
    lost = len(dataset.split("TRAIN")) - len(pool)
    if lost:
        notes.append(f"{lost} TRAIN videos are not in both representations (or lack EF): left out of the pool")
    test = [r for r in test if r.name in both]
    if len(pool) < 2 or not test:
        raise DataError(f"{features}: {len(pool)} TRAIN and {len(test)} TEST videos have both representations; "
                        "the probe benchmark needs at least 2 and 1")
    names = [r.name for r in pool]
    y_pool = np.array([r.ef for r in pool])
    y_test = np.array([r.ef for r in test])
    x_motion = _matrix(motion, names)
    fs_pool = FeatureSet(np.array(names), x_motion, y_pool, np.array(["TRAIN"] * len(names)), motion.meta)
    reps = {"motion": motion, "pixels": pixels}
    x_pool = {rep: _matrix(fs, names) for rep, fs in reps.items()}
    x_test = {rep: _matrix(fs, [r.name for r in test]) for rep, fs in reps.items()}
    row_of = {n: i for i, n in enumerate(names)}
    whole = {}
    for rep in reps:   # the ceiling: every TRAIN video, unweighted (independent of the draw)
        pred, alpha = ridge_probe(x_pool[rep], x_pool[rep], y_pool, x_test[rep])
        whole[rep] = {**probe_score(y_test, pred, tolerance), "alpha": alpha}
    references = reference_rows(y_pool, y_test, tolerance)
    graph_cfg = GraphConfig(knn=KnnConfig(threads=threads or None))
    seed_list = list(range(seed, seed + seeds))
    runs = {rep: {str(v): {m: [] for m in methods} for v in vpcs} for rep in reps}
    t_select = t_probe = 0.0
    metric_used = None
    for s in seed_list:
        draw = pool_draw(s, share, names)
        fs = fs_pool.subset(np.array([row_of[n] for n in draw]))
        t0 = time.perf_counter()
        # the selection metric, fitted once per draw as select fits it on its candidates, then shared
        mcfg = SelectConfig(graph=graph_cfg).resolved_metric()
        if len(fs) > 1 and mcfg != RAW:
            fitted = fit_metric(fs.features, mcfg, fs.ef)
            fs, metric_used = FeatureSet(fs.names, fitted.apply(fs.features), fs.ef, fs.split, fs.meta), fitted.describe()
        t_select += time.perf_counter() - t0
        for v in vpcs:
            for m in methods:
                t0 = time.perf_counter()
                sel = select_features(fs, SelectConfig(vpc=v, method=m, seed=s, split=None, graph=graph_cfg, metric=RAW))
                t_select += time.perf_counter() - t0
                notes.extend(f"{m} VPC={v}: {n}" for n in sel.notes)  # deduplicated below; seeds repeat them
                rows = [row_of[r["FileName"]] for r in sel.rows]
                w = np.array([r[WEIGHT_COLUMN] for r in sel.rows]) if weights else None
                t0 = time.perf_counter()
                for rep in reps:
                    if len(rows) < 2:
                        score = {k: math.nan for k in PROBE_KEYS}
                    else:
                        pred, _ = ridge_probe(x_pool[rep], x_pool[rep][rows], y_pool[rows], x_test[rep], w)
                        score = probe_score(y_test, pred, tolerance)
                    runs[rep][str(v)][m].append({"seed": s, "n_draw": len(draw), "n_picks": len(rows),
                                                 **{k: score[k] for k in PROBE_KEYS}})
                t_probe += time.perf_counter() - t0
        if progress:
            log(f"seed {s}: {len(draw)} of {len(names)} TRAIN videos drawn, {len(methods)} methods x {len(vpcs)} VPC")
    from ..select import PEER_METHODS

    cells = {}
    for rep in reps:
        for v in vpcs:
            by_m = runs[rep][str(v)]
            # the best peer: of the low-budget peers (issue 16) when any ran, else of the other baselines
            peers = [m for m in methods if m in PEER_METHODS] or [m for m in methods if m not in NOT_PEERS]
            means = {m: _summary(by_m[m])["mae"]["mean"] for m in peers}
            best = min((m for m in peers if np.isfinite(means[m])), key=lambda m: means[m], default=None)
            cell = {"best_peer": best, "methods": {}}
            for m in methods:
                c = {"summary": _summary(by_m[m]), "runs": by_m[m]}
                if "random" in by_m and m != "random":
                    c["vs_random"] = differences_vs(by_m[m], by_m["random"], DIFF_KEYS)
                if best is not None and m != best:
                    c["vs_best_peer"] = differences_vs(by_m[m], by_m[best], DIFF_KEYS)
                cell["methods"][m] = c
            cells.setdefault(rep, {})[str(v)] = cell
    if "random" not in methods:
        notes.append("no Random cells: paired differences against Random are not computed")
    if len(test) < 30:
        notes.append(f"only {len(test)} TEST videos: R² and accuracies are unstable")
    results = {"instrument": "probe", "probe": PROBE_DEFINITION, "data_dir": str(data_dir), "features": str(features),
               "pixels": {"path": pix_info["path"], "definition": PIXELS_DEFINITION},
               "pool_share": float(share), "pool_draw": POOL_DRAW, "seeds": seed_list, "vpcs": list(vpcs),
               "methods": methods, "skipped": skipped, "selection_space": "motion vectors of --features",
               "metric": metric_used or mcfg.describe(),
               "weights": "class-prior" if weights else "off (--no-weights)", "tolerance": float(tolerance),
               "n_pool": len(pool), "n_draw": len(pool_draw(seed, share, names)), "n_test": len(test),
               "interval": INTERVAL, "cells": cells, "whole_pool": whole, "references": references,
               "notes": list(dict.fromkeys(notes)),
               "seconds": {"total": time.perf_counter() - t_start, "selection": t_select, "probe": t_probe}}
    out_dir = Path(out_dir)
    j = atomic_write_text(out_dir / "results.json", json.dumps(results, indent=1) + "\n")
    m = atomic_write_text(out_dir / "table_probe.md", probe_table_markdown(results))
    results["outputs"] = {"json": str(j), "markdown": str(m)}
    return results


def _ci(d: dict | None, scale: float = 1.0, digits: int = 2) -> str:
    if not d:
        return "—"
    lo, hi = d["ci_low"], d["ci_high"]
    iv = f" [{scale * lo:+.{digits}f}, {scale * hi:+.{digits}f}]" if np.isfinite(lo) else ""
    return f"{scale * d['mean']:+.{digits}f}{iv}"


def probe_table_markdown(results: dict) -> str:
    """``table_probe.md``: one table per representation x VPC (methods, then the ceiling and floors)."""
    r = results
    lines = [f"# Probe benchmark of {r['data_dir']}", "",
             f"{len(r['seeds'])} seeds; each draws {100 * r['pool_share']:.0f} % of the TRAIN pool ({r['n_draw']} of "
             f"{r['n_pool']} videos) for every method; {r['n_test']} TEST videos; weights: {r['weights']}; "
             f"selection on the {r['selection_space']} ({r['metric']}). Differences are method − reference, "
             f"mean [{r['interval']}]; the best peer has the lowest mean MAE among the peers of the cell.", "",
             f"Probe: {r['probe']}.", ""]
    if r["skipped"]:
        lines += [f"Skipped: {', '.join(r['skipped'])} (extra not installed).", ""]
    head = ("| method | MAE | R² | accuracy % | balanced % | ΔMAE vs Random | Δbalanced % vs Random "
            "| ΔMAE vs best peer | Δbalanced % vs best peer |")
    for rep, by_vpc in r["cells"].items():
        for v, cell in by_vpc.items():
            lines += [f"## {rep}, VPC = {v} (best peer: {cell['best_peer'] or '—'})", "", head, "|---" * 9 + "|"]
            for m, c in cell["methods"].items():
                s = c["summary"]
                lines.append(f"| {m} | {s['mae']['mean']:.2f} ± {s['mae']['std']:.2f} | {s['r2']['mean']:.3f} ± "
                             f"{s['r2']['std']:.3f} | {100 * s['acc']['mean']:.1f} ± {100 * s['acc']['std']:.1f} | "
                             f"{100 * s['bal_acc']['mean']:.1f} ± {100 * s['bal_acc']['std']:.1f} | "
                             f"{_ci((c.get('vs_random') or {}).get('mae'))} | "
                             f"{_ci((c.get('vs_random') or {}).get('bal_acc'), 100, 1)} | "
                             f"{_ci((c.get('vs_best_peer') or {}).get('mae'))} | "
                             f"{_ci((c.get('vs_best_peer') or {}).get('bal_acc'), 100, 1)} |")
            w = r["whole_pool"][rep]
            lines.append(f"| whole TRAIN pool ({r['n_pool']}; ceiling) | {w['mae']:.2f} | {w['r2']:.3f} | "
                         f"{100 * w['acc']:.1f} | {100 * w['bal_acc']:.1f} | | | | |")
            for key, label in (("mean_ef", "Mean EF"), ("majority_class", "Majority class")):
                f = r["references"][key]
                lines.append(f"| {label} ({f['value']:.1f}; floor) | {f['mae']:.2f} | {f['r2']:.3f} | "
                             f"{100 * f['acc']:.1f} | {100 * f['bal_acc']:.1f} | | | | |")
            lines.append("")
    lines += [f"Note: {n}" for n in r["notes"][:20]]
    if len(r["notes"]) > 20:
        lines.append(f"({len(r['notes']) - 20} more notes in results.json)")
    return "\n".join(lines) + "\n"


def console_summary(results: dict) -> list[str]:
    """One line per representation x VPC: every method's mean MAE, and infomotion's differences."""
    out = []
    for rep, by_vpc in results["cells"].items():
        for v, cell in by_vpc.items():
            maes = ", ".join(f"{m} {c['summary']['mae']['mean']:.2f}" for m, c in cell["methods"].items())
            line = f"{rep} VPC={v}: MAE {maes}"
            info = cell["methods"].get("infomotion", {})
            if info.get("vs_random"):
                line += f"; infomotion − random ΔMAE {_ci(info['vs_random']['mae'])}"
            if info.get("vs_best_peer"):
                line += f", − {cell['best_peer']} {_ci(info['vs_best_peer']['mae'])}"
            out.append(line)
    return out
