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
majority-class floors of the whole TRAIN pool. ``differences.png`` (``tables.plot_differences``) draws
every method's paired difference against Random with its interval; results.json records each seed's
draw (size and digest, ``draw_digest``).

The draw, the per-draw metric and the selections (``select_on_draw``), the paired cells (``paired_cell``)
and the outputs (``write_paired_outputs``) are shared with the CNN's pool-resampled benchmark
(``benchmark.run_pool_benchmark``), so both instruments follow one protocol on the same draws.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from infomotion_rt.atomic import atomic_write_text
from infomotion_rt.errors import ConfigError, DataError, DependencyError
from infomotion_rt.evaluate.regressor import setting_words

PROBE_METHODS = ("random", "infomotion", "kmeans", "typiclust", "probcover", "maxherding")
PROBE_KEYS = ("mae", "r2", "acc", "bal_acc", "r")
DIFF_KEYS = ("mae", "r2", "acc", "bal_acc")
NOT_PEERS = ("random", "infomotion")   # ours and the baseline
# the pool draw lives on the runtime side (select --self-check uses it too); re-exported here
from infomotion_rt.selection.readout import POOL_DRAW, pool_draw, summarise_runs  # noqa: E402,F401


def available_methods(methods, log=print) -> tuple[list[str], dict]:
    """(methods that can run, {skipped peer: reason}): a scikit-activeml peer without its extra is skipped
    with one log line."""
    from infomotion_rt.selection import methods as select

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


def fit_draw_metric(fs, graph_cfg):
    """(``fs`` in the selection metric fitted on ``fs`` itself, the metric's description): exactly as
    ``select`` fits it on its candidates (``SelectConfig().resolved_metric()``); a draw of one video or
    the raw metric is returned unchanged."""
    from infomotion_rt.extract.featureset import FeatureSet
    from infomotion_rt.selection.metric import RAW, fit_metric
    from infomotion_rt.selection.methods import SelectConfig

    mcfg = SelectConfig(graph=graph_cfg).resolved_metric()
    if len(fs) > 1 and mcfg != RAW:
        fitted = fit_metric(fs.features, mcfg, fs.ef)
        return FeatureSet(fs.names, fitted.apply(fs.features), fs.ef, fs.split, fs.meta), fitted.describe()
    return fs, mcfg.describe()


def draw_digest(names) -> str:
    """First 16 hex digits of the SHA-256 of the newline-joined sorted names: a draw's fingerprint in
    results.json (two instruments with the same digest for a seed trained on the same draw)."""
    import hashlib

    return hashlib.sha256("\n".join(sorted(map(str, names))).encode("utf-8")).hexdigest()[:16]


def select_on_draw(fs_pool, seed: int, share: float, vpcs, methods, graph_cfg) -> tuple[list[str], str, dict]:
    """The shared step of every pool-resampled benchmark (probe and CNN): ``pool_draw(seed, share,
    fs_pool.names)``, the selection metric fitted once on that draw (``fit_draw_metric``), then every
    method x VPC selects from it with ``seed`` (metric RAW: already applied). ``fs_pool``: FeatureSet of
    the TRAIN pool (N, D) float. Returns (draw: sorted names, metric description, {(vpc, method):
    select's result}). Errors: select's (ConfigError, DataError)."""
    from infomotion_rt.selection import methods as select
    from infomotion_rt.selection.metric import RAW

    names = fs_pool.names.tolist()
    row_of = {n: i for i, n in enumerate(names)}
    draw = pool_draw(seed, share, names)
    fs, metric = fit_draw_metric(fs_pool.subset(np.array([row_of[n] for n in draw], dtype=np.int64)), graph_cfg)
    sels = {(v, m): select.select_features(fs, select.SelectConfig(vpc=v, method=m, seed=seed, split=None,
                                                                   graph=graph_cfg, metric=RAW))
            for v in vpcs for m in methods}
    return draw, metric, sels


def paired_cell(by_method: dict, methods, keys, diff_keys) -> dict:
    """One VPC x representation cell of a paired benchmark: ``by_method`` {method: [run dicts with
    "seed" and the metrics]}. Returns {"best_peer", "methods": {m: {"summary", "runs", "vs_random",
    "vs_best_peer"}}}; the best peer (issue 16) is the lowest mean MAE of TypiClust, ProbCover and
    MaxHerding when any ran, else of the methods other than random and infomotion (None without any);
    differences are ``stats.differences_vs`` (95 % paired t over the shared seeds)."""
    from infomotion_rt.selection.methods import PEER_METHODS
    from infomotion_rt.selection.readout import differences_vs

    peers = [m for m in methods if m in PEER_METHODS] or [m for m in methods if m not in NOT_PEERS]
    means = {m: summarise_runs(by_method[m], ("mae",))["mae"]["mean"] for m in peers}
    best = min((m for m in peers if np.isfinite(means[m])), key=lambda m: means[m], default=None)
    cell = {"best_peer": best, "methods": {}}
    for m in methods:
        c = {"summary": summarise_runs(by_method[m], keys), "runs": by_method[m]}
        if "random" in by_method and m != "random":
            c["vs_random"] = differences_vs(by_method[m], by_method["random"], diff_keys)
        if best is not None and m != best:
            c["vs_best_peer"] = differences_vs(by_method[m], by_method[best], diff_keys)
        cell["methods"][m] = c
    return cell


def run_probe_benchmark(data_dir, features, *, vpcs=(5, 10), seeds: int = 50, seed: int = 0,
                        methods=PROBE_METHODS, share: float = 0.8, weights: bool = True, tolerance: float = 2.0,
                        threads: int = 0, out_dir="benchmark", progress: bool = True, log=print,
                        plot: bool = True) -> dict:
    """Run the protocol of the module docstring (seeds ``seed .. seed + seeds - 1``) into ``out_dir``:
    ``results.json``, ``table_probe.md`` and, with ``plot`` (default True, ours; needs the [plot] extra),
    ``differences.png`` (``tables.plot_differences``). Returns the results dict (``outputs`` names the
    files; ``pool`` holds the pool's names, not written to results.json, so ``--instrument both`` can
    give the CNN the same pool and hence the same draws). ConfigError for bad options or no method left;
    DependencyError without matplotlib when ``plot``; DataError for a pool or TEST split the probe cannot use."""
    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.extract.featureset import FeatureSet
    from infomotion_rt.extract.files import read_features
    from infomotion_rt.selection.graph import GraphConfig
    from infomotion_rt.selection.knn_index import KnnConfig
    from infomotion_rt.extract.pixels import PIXELS_DEFINITION, load_or_build
    from infomotion_rt.selection.methods import WEIGHT_COLUMN
    from infomotion_rt.evaluate.probe import PROBE_DEFINITION, _limit_threads, _matrix
    from infomotion_rt.selection.readout import probe_score, ridge_probe
    from infomotion_rt.evaluate.protocol import require_test_split
    from infomotion_rt.selection.readout import INTERVAL
    from infomotion_rt.evaluate.stats import reference_rows

    if not features:
        raise ConfigError("--instrument probe needs --features F (the motion features to select from)")
    if seeds < 1 or not vpcs or min(vpcs) < 1:
        raise ConfigError(f"--seeds must be >= 1 and --vpc values >= 1, got {seeds} and {tuple(vpcs)}")
    pool_draw(seed, share, [])  # validates the share before any work
    if plot:
        from infomotion_rt.evaluate.tables import require_matplotlib

        require_matplotlib()  # fail now, not after the seeds
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
                        "the probe benchmark needs at least 2 and 1" + (" (the features file holds no TEST video: "
                                                                        "extract every split, without --split)"
                                                                        if not test else ""))
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
    draws = {}
    for s in seed_list:
        t0 = time.perf_counter()
        draw, metric_used, sels = select_on_draw(fs_pool, s, share, vpcs, methods, graph_cfg)
        t_select += time.perf_counter() - t0
        draws[str(s)] = {"n": len(draw), "sha256_16": draw_digest(draw)}
        t0 = time.perf_counter()
        for (v, m), sel in sels.items():
            notes.extend(f"{m} VPC={v}: {n}" for n in sel.notes)  # deduplicated below; seeds repeat them
            rows = [row_of[r["FileName"]] for r in sel.rows]
            w = np.array([r[WEIGHT_COLUMN] for r in sel.rows]) if weights else None
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
    cells = {rep: {str(v): paired_cell(runs[rep][str(v)], methods, PROBE_KEYS, DIFF_KEYS) for v in vpcs}
             for rep in reps}
    if "random" not in methods:
        notes.append("no Random cells: paired differences against Random are not computed")
    if len(test) < 30:
        notes.append(f"only {len(test)} TEST videos: R² and accuracies are unstable")
    results = {"instrument": "probe", "probe": PROBE_DEFINITION, "data_dir": str(data_dir), "features": str(features),
               "pixels": {"path": pix_info["path"], "definition": PIXELS_DEFINITION},
               "pool_share": float(share), "pool_draw": POOL_DRAW, "seeds": seed_list, "vpcs": list(vpcs),
               "methods": methods, "skipped": skipped, "selection_space": "motion vectors of --features",
               "metric": metric_used,
               "draws": draws,
               "weights": "class-prior" if weights else "off (--no-weights)", "tolerance": float(tolerance),
               "n_pool": len(pool), "n_draw": len(pool_draw(seed, share, names)), "n_test": len(test),
               "interval": INTERVAL, "cells": cells, "whole_pool": whole, "references": references,
               "notes": list(dict.fromkeys(notes)),
               "seconds": {"total": time.perf_counter() - t_start, "selection": t_select, "probe": t_probe}}
    out_dir = Path(out_dir)
    write_paired_outputs(results, out_dir, "table_probe.md", plot)
    results["pool"] = names
    return results


def write_paired_outputs(results: dict, out_dir: Path, table_name: str, plot: bool) -> None:
    """Write ``table_name`` (``probe_table_markdown``), with ``plot`` ``differences.png``
    (``tables.plot_differences``), then ``results.json`` last, naming them under ``outputs``; each file
    atomically. ``results["outputs"]`` is set in place."""
    out_dir = Path(out_dir)
    results["outputs"] = {"json": str(out_dir / "results.json"), "markdown": str(out_dir / table_name)}
    atomic_write_text(out_dir / table_name, probe_table_markdown(results))
    if plot:
        from infomotion_rt.evaluate.tables import plot_differences

        results["outputs"]["plot"] = str(plot_differences(results, out_dir / "differences.png"))
    atomic_write_text(out_dir / "results.json", json.dumps(results, indent=1) + "\n")


def _ci(d: dict | None, scale: float = 1.0, digits: int = 2) -> str:
    if not d:
        return "—"
    lo, hi = d["ci_low"], d["ci_high"]
    iv = f" [{scale * lo:+.{digits}f}, {scale * hi:+.{digits}f}]" if np.isfinite(lo) else ""
    return f"{scale * d['mean']:+.{digits}f}{iv}"


def probe_table_markdown(results: dict) -> str:
    """``table_probe.md`` (and the CNN's ``table_cnn.md``, ``results["instrument"] == "cnn"``): one table
    per representation x VPC (methods, then the ceiling when there is one, and the floors)."""
    r = results
    cnn = r.get("instrument") == "cnn"
    lines = [f"# {'CNN' if cnn else 'Probe'} benchmark of {r['data_dir']}", "",
             f"{len(r['seeds'])} seeds; each draws {100 * r['pool_share']:.0f} % of the TRAIN pool ({r['n_draw']} of "
             f"{r['n_pool']} videos) for every method and VPC (videos per class); {r['n_test']} TEST videos; weights: {r['weights']}; "
             f"selection on the {r['selection_space']} ({r['metric']}). Differences are method − reference, "
             f"mean [{r['interval']}]; the best peer has the lowest mean MAE among the peers of the cell.", "",
             (f"CNN: {setting_words(r)}; one training per seed and method, {r['steps']} optimisation steps "
              "(no Whole row in this protocol: `evaluate --whole` trains it)." if cnn else f"Probe: {r['probe']}."), ""]
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
            w = (r.get("whole_pool") or {}).get(rep)
            if w:
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
