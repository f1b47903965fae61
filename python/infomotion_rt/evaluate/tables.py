"""Benchmark outputs in the paper's Table 1 layout: Markdown, long-form CSV, bar chart PNG.

``results`` is the dict ``benchmark.run_benchmark`` builds: ``groups`` maps "Real" / "Synth." to
``{"whole": protocol result or None, "cells": {method: {vpc: summary}}}``, plus ``setting``, ``vpcs``,
``methods``, ``runs``. Accuracies are fractions inside, percentages in every output.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import PLOT_EXTRA_HINT, require_pyplot
from ..atomic import atomic_write_bytes, atomic_write_csv, atomic_write_text

DISPLAY = {"random": "Random", "kmeans": "Kmeans", "infodist": "InfoDist", "infomotion": "InfoMotion",
           "kcenter": "k-center", "herding": "Herding"}
METRICS = (("acc", "w/o Soft", ""), ("soft_acc", "Soft", " (soft)"))


def _pm(stat) -> str:
    if not stat or stat.get("n", 0) == 0:
        return "–"
    return f"{100 * stat['mean']:.2f}±{100 * stat['std']:.1f}"


def table_markdown(results: dict) -> str:
    vpcs = results["vpcs"]
    lines = [f"Setting: {results['setting']}; {results['runs']} runs per cell (mean ± std, accuracy %); "
             f"{results['steps']} steps per distilled model (Whole: at most {results['whole_steps']}, early stopping on VAL); tested on {results['test_dir']} TEST ({results['n_test']} videos); "
             f"soft tolerance ±{results['tolerance']:g} EF; appearance features: {results['appearance']}.", ""]
    for group, g in results["groups"].items():
        head = f"| Whole {group} | All | Dist. {group} | " + " | ".join(f"VPC={v}" for v in vpcs) + " |"
        lines += [head, "|---" * (3 + len(vpcs)) + "|"]
        for key, block, suffix in METRICS:
            whole = _pm(g["whole"]["summary"][key]) if g.get("whole") else "–"
            for i, method in enumerate(results["methods"]):
                cells = g["cells"].get(method, {})
                vals = " | ".join(_pm(cells.get(str(v), {}).get(key)) for v in vpcs)
                lines.append(f"| {block if i == 0 else ''} | {whole if i == 0 else ''} | "
                             f"{DISPLAY.get(method, method)}{suffix} | {vals} |")
        lines.append("")
    if results.get("whole_real"):
        s = results["whole_real"]["summary"]
        lines.append(f"Reference, Whole Real (trained on {results['data_dir']} TRAIN, "
                     f"{results['whole_real']['n_train']} videos): accuracy {_pm(s['acc'])}, soft {_pm(s['soft_acc'])}.")
    return "\n".join(lines) + "\n"


def table_rows(results: dict) -> list[list]:
    rows = []
    for group, g in results["groups"].items():
        for key, _, _ in METRICS + (("mae", "", ""), ("r2", "", "")):
            if g.get("whole"):
                s = g["whole"]["summary"][key]
                rows.append([group, "Whole", "All", key, s["mean"], s["std"], s["n"], results["setting"]])
            for method in results["methods"]:
                for v in results["vpcs"]:
                    s = g["cells"].get(method, {}).get(str(v), {}).get(key)
                    if s:
                        rows.append([group, method, v, key, s["mean"], s["std"], s["n"], results["setting"]])
    return rows


def write_tables(results: dict, out_dir) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    md = atomic_write_text(out_dir / "table1.md", "# Table 1 (this data)\n\n" + table_markdown(results))
    csv = atomic_write_csv(out_dir / "table1.csv",
                           ["group", "method", "vpc", "metric", "mean", "std", "runs", "setting"], table_rows(results))
    return md, csv


def require_matplotlib():
    return require_pyplot("plots", hint=PLOT_EXTRA_HINT + " or pass --no-plot")


def plot_bars(results: dict, path) -> Path:
    """One panel per (group, hard/soft): bars per method and VPC with std error bars, Whole as a line."""
    import io

    import numpy as np

    plt = require_matplotlib()
    groups = list(results["groups"].items())
    vpcs, methods = results["vpcs"], results["methods"]
    fig, axes = plt.subplots(len(groups), 2, figsize=(10, 3.6 * len(groups)), squeeze=False)
    width = 0.8 / max(len(vpcs), 1)
    for gi, (group, g) in enumerate(groups):
        for mi, (key, block, _) in enumerate(METRICS):
            ax = axes[gi][mi]
            x = np.arange(len(methods))
            for vi, v in enumerate(vpcs):
                stats = [g["cells"].get(m, {}).get(str(v), {}).get(key) or {"mean": np.nan, "std": 0} for m in methods]
                ax.bar(x + (vi - (len(vpcs) - 1) / 2) * width, [100 * s["mean"] for s in stats], width,
                       yerr=[100 * s["std"] for s in stats], capsize=3, label=f"VPC={v}")
            if g.get("whole"):
                s = g["whole"]["summary"][key]
                ax.axhline(100 * s["mean"], color="k", ls="--", lw=1, label=f"Whole {group}")
                ax.axhspan(100 * (s["mean"] - s["std"]), 100 * (s["mean"] + s["std"]), color="k", alpha=0.08)
            ax.set_xticks(x, [DISPLAY.get(m, m) for m in methods])
            ax.set_ylabel("accuracy %")
            ax.set_ylim(0, 100)
            ax.set_title(f"Dist. {group}, {block}", fontsize=10)
    # one legend for the figure, below the panels, so it never covers a bar
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle(results["setting"], fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())
