"""The selection metric and k again, with the paired, pool-resampled probe (issue 19, item 5).

    python benchmarks/bench_selection_metric_probe.py DATA_DIR FEATURES [--seeds 30] [--out DIR]

The earlier study (BENCHMARKS.md, "Selection metric") chose ``--metric pls --metric-dims 16`` and k = 10
on proxies (neighbours' EF, coverage) for the old encoder's vectors. Here every variant of InfoMotion (its
default ``--choice medoid``) selects from the same per-seed draw (``readout.pool_draw(seed, 0.8, TRAIN)``),
its metric fitted on the draw by ``selection.methods.select_features``, and is scored by the ridge read-out on the
FEATURES vectors and on the pixels representation (cached beside FEATURES), TEST, class-prior weights;
ΔMAE against Random with 95 % paired t. Development data only.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import probe_inputs  # benchmarks/probe_inputs.py (the script's folder is on sys.path)
from infomotion_rt.selection import graph, methods as sel
from infomotion_rt.selection.metric import MetricConfig
from infomotion_rt.selection.readout import differences_vs, pool_draw, probe_score, ridge_probe

VARIANTS = {   # name -> (method, metric, k)
    "random": ("random", None, 10),
    "pls-16, k 10 (default)": ("infomotion", MetricConfig("pls", 16), 10),
    "pls-8, k 10": ("infomotion", MetricConfig("pls", 8), 10),
    "pls-16, k 5": ("infomotion", MetricConfig("pls", 16), 5),
    "pls-16, k 20": ("infomotion", MetricConfig("pls", 16), 20),
    "standard, k 10": ("infomotion", MetricConfig("standard"), 10),
    "pca-16, k 10": ("infomotion", MetricConfig("pca", 16), 10),
    "raw, k 10": ("infomotion", sel.RAW_METRIC, 10),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("features")
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--vpc", type=int, nargs="+", default=[5, 10])
    ap.add_argument("--out", default="bench_selection_metric_probe")
    a = ap.parse_args()
    t0 = time.perf_counter()
    names, y, yt, x, xt, row, fs_pool, test = probe_inputs.load(a.data_dir, a.features)
    reps = x   # "features" (the space selected in) and "pixels"
    runs = {rep: {v: {n: [] for n in VARIANTS} for v in a.vpc} for rep in reps}
    for s in range(a.seeds):
        fs = fs_pool.subset(np.array([row[n] for n in pool_draw(s, 0.8, names)]))
        for v in a.vpc:
            for name, (method, metric, k) in VARIANTS.items():
                cfg = sel.SelectConfig(vpc=v, method=method, seed=s, split=None, graph=graph.GraphConfig(k=k),
                                       metric=metric)
                picked = sel.select_features(fs, cfg).rows
                rows = np.array([row[r["FileName"]] for r in picked])
                w = np.array([r[sel.WEIGHT_COLUMN] for r in picked])
                for rep in reps:
                    pred, _ = ridge_probe(x[rep], x[rep][rows], y[rows], xt[rep], w)
                    runs[rep][v][name].append({"seed": s, **probe_score(yt, pred, 2.0)})
        print(f"seed {s}: {time.perf_counter() - t0:.0f} s", flush=True)
    lines = [f"# Selection metric and k (InfoMotion, --choice medoid): {a.data_dir}, {a.features}", "",
             f"{a.seeds} pool-resampled seeds (80 % of {len(names)} TRAIN), {len(test)} TEST, class-prior weights; "
             "ΔMAE vs Random, mean [95 % paired t].", "",
             "| variant | " + " | ".join(f"{rep} VPC {v}: MAE, ΔMAE" for rep in reps for v in a.vpc) + " |",
             "|---" * (1 + len(reps) * len(a.vpc)) + "|"]
    result = {}
    for name in VARIANTS:
        cells = []
        for rep in reps:
            for v in a.vpc:
                r = runs[rep][v][name]
                mae = float(np.mean([q["mae"] for q in r]))
                d = differences_vs(r, runs[rep][v]["random"], ("mae",))["mae"] if name != "random" else None
                cells.append(f"{mae:.2f}" + (f", {d['mean']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]" if d else ""))
                result.setdefault(name, {})[f"{rep} VPC {v}"] = {"mae": mae, "vs_random": d}
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"{time.perf_counter() - t0:.0f} s in all."]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
