"""InfoMotion's choice inside communities (issue 16, item 5): which member each community gives.

    python benchmarks/bench_infomotion_choice.py DATA_DIR FEATURES [--seeds 50] [--out DIR]

DATA_DIR: an EchoNet-layout dataset with TRAIN and TEST; FEATURES: its features file (encoder or
``extract --representation flow``), the space every rule selects in. Protocol: the probe benchmark's
(``benchmark --instrument probe``): per seed, ``readout.pool_draw(seed, 0.8, TRAIN)`` shared by every rule,
the selection metric fitted on the draw, class-prior weights, ridge read-out (``readout.ridge_probe``) on
the FEATURES vectors and on the independent pixels representation (cached beside FEATURES), TEST scores,
paired differences against Random (95 % paired t). Rules:

* random; infomotion with ``--choice centrality`` (the paper's rule: highest modular centrality) and with
  ``--choice medoid`` (nearest the community's mean); the ablation "medoid, one community per class"
  (the VPC members nearest the class mean: what the rule does without Infomap's communities);
* the peers for scale: kmeans, typiclust, probcover.

Development data only (seed 21 in BENCHMARKS.md); a rule chosen here is confirmed on a fresh seed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import probe_inputs  # benchmarks/probe_inputs.py (the script's folder is on sys.path)
from infomotion_rt.evaluate.probe_benchmark import fit_draw_metric
from infomotion_rt.extract.featureset import FeatureSet
from infomotion_rt.selection import graph, methods as sel
from infomotion_rt.selection.readout import differences_vs, pool_draw, probe_score, ridge_probe

RULES = ("random", "infomotion-centrality", "infomotion-medoid", "medoid-one-community", "kmeans", "typiclust",
         "probcover")


def one_community(fs: FeatureSet, vpc: int) -> list[str]:
    """The ablation: per EF class, the VPC videos nearest the class mean (community_closeness with one
    community), in select_spread's order."""
    cls = sel.DEFAULT_CLASSES.index(fs.ef)
    names = []
    for c in range(sel.DEFAULT_CLASSES.n):
        rows = np.flatnonzero(cls == c)
        if len(rows) == 0:
            continue
        one = np.zeros(len(rows), np.int64)
        idx = graph.select_spread(one, sel.community_closeness(fs.features[rows], one), vpc)
        names += fs.names[rows[idx]].tolist()
    return names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("features")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--vpc", type=int, nargs="+", default=[5, 10])
    ap.add_argument("--out", default="bench_infomotion_choice")
    a = ap.parse_args()
    t0 = time.perf_counter()
    names, y, yt, x, xt, row, fs_pool, test = probe_inputs.load(a.data_dir, a.features)
    reps = x   # "features" (the space selected in) and "pixels"
    gcfg = graph.GraphConfig()
    runs = {rep: {v: {r: [] for r in RULES} for v in a.vpc} for rep in reps}
    for s in range(a.seeds):
        draw = pool_draw(s, 0.8, names)
        fs, _ = fit_draw_metric(fs_pool.subset(np.array([row[n] for n in draw])), gcfg)
        counts = np.bincount(sel.DEFAULT_CLASSES.index(fs.ef), minlength=sel.DEFAULT_CLASSES.n)
        for v in a.vpc:
            w_of_class = sel.class_prior_weights(counts, np.minimum(counts, v))
            for rule in RULES:
                if rule == "medoid-one-community":
                    picked = one_community(fs, v)
                else:
                    method, _, choice = rule.partition("-")
                    cfg = sel.SelectConfig(vpc=v, method=method, seed=s, split=None, graph=gcfg, metric=sel.RAW_METRIC,
                                           choice=choice or None)
                    picked = [r["FileName"] for r in sel.select_features(fs, cfg).rows]
                rows = np.array([row[n] for n in picked])
                w = w_of_class[sel.DEFAULT_CLASSES.index(y[rows])]
                for rep in reps:
                    pred, _ = ridge_probe(x[rep], x[rep][rows], y[rows], xt[rep], w)
                    runs[rep][v][rule].append({"seed": s, **probe_score(yt, pred, 2.0)})
        print(f"seed {s}: {time.perf_counter() - t0:.0f} s", flush=True)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# InfoMotion's choice inside communities: {a.data_dir}, {a.features}", "",
             f"{a.seeds} pool-resampled seeds (80 % of {len(names)} TRAIN videos), {len(test)} TEST videos, "
             "class-prior weights; ΔMAE / Δbalanced accuracy vs Random, mean [95 % paired t].", ""]
    result = {"data_dir": a.data_dir, "features": a.features, "seeds": a.seeds, "cells": {}}
    for rep in reps:
        for v in a.vpc:
            lines += [f"## read-out on {rep}, VPC {v}", "", "| rule | MAE | R² | balanced % | ΔMAE | Δbalanced % |",
                      "|---|---|---|---|---|---|"]
            cell = {}
            for rule in RULES:
                r = runs[rep][v][rule]
                mae, r2, bal = (np.mean([q[k] for q in r]) for k in ("mae", "r2", "bal_acc"))
                d = differences_vs(r, runs[rep][v]["random"], ("mae", "bal_acc")) if rule != "random" else None
                fmt = lambda e, k=1: f"{k * e['mean']:+.2f} [{k * e['ci_low']:+.2f}, {k * e['ci_high']:+.2f}]"
                lines.append(f"| {rule} | {mae:.2f} | {r2:.3f} | {100 * bal:.1f} | "
                             f"{fmt(d['mae']) if d else '—'} | {fmt(d['bal_acc'], 100) if d else '—'} |")
                cell[rule] = {"mae": mae, "r2": r2, "bal_acc": bal, "vs_random": d}
            lines.append("")
            result["cells"][f"{rep} VPC {v}"] = cell
    lines.append(f"{time.perf_counter() - t0:.0f} s in all.")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
