"""Benchmark outputs in the paper's Table 1 layout: Markdown, long-form CSV, bar chart PNG.

Markdown per group: accuracy (hard, soft; and class-balanced, ours) in the paper's layout with the two
reference rows, MAE and R² per cell, and every method's paired difference against Random with its 95%
interval (stats.py).

``results`` is the dict ``benchmark.run_benchmark`` builds: ``groups`` maps "Real" / "Synth." to
``{"whole": protocol result or None, "cells": {method: {vpc: summary}}}``, plus ``setting``, ``vpcs``,
``methods``, ``runs``. Accuracies are fractions inside, percentages in every output.
"""

from __future__ import annotations

from pathlib import Path

from infomotion_rt.atomic import atomic_write_bytes, atomic_write_csv, atomic_write_text
from infomotion_rt.errors import PLOT_EXTRA_HINT, require_pyplot
from infomotion_rt.evaluate.regressor import setting_words

DISPLAY = {"random": "Random", "kmeans": "Kmeans", "infodist": "InfoDist", "infomotion": "InfoMotion",
           "kcenter": "k-center", "herding": "Herding", "typiclust": "TypiClust", "probcover": "ProbCover",
           "maxherding": "MaxHerding"}
METRICS = (("acc", "w/o Soft", ""), ("soft_acc", "Soft", " (soft)"), ("bal_acc", "Balanced", " (balanced)"))


REFERENCES = (("mean_ef", "Mean EF"), ("majority_class", "Majority class"))
DIFFS = (("acc", "Δ accuracy (points)", 100.0, 1), ("soft_acc", "Δ soft (points)", 100.0, 1),
         ("bal_acc", "Δ balanced (points)", 100.0, 1),
         ("mae", "Δ MAE (EF)", 1.0, 2), ("r2", "Δ R²", 1.0, 3))


def _pm(stat, scale: float = 100.0, digits: int = 2, std_digits: int = 1) -> str:
    if not stat or stat.get("n", 0) == 0:
        return "–"
    return f"{scale * stat['mean']:.{digits}f}±{scale * stat['std']:.{std_digits}f}"


def _diff(d, scale: float, digits: int) -> str:
    """'+1.2 [-0.3, +2.7]': mean paired difference and its 95% interval (bold when it excludes 0)."""
    if not d or d.get("n", 0) == 0:
        return "–"
    text = f"{scale * d['mean']:+.{digits}f}"
    if d.get("equal"):
        return text + " [equal in every run: no interval]"
    if d["n"] < 2 or d["ci_low"] != d["ci_low"]:
        return text + " [n<2]"
    text += f" [{scale * d['ci_low']:+.{digits}f}, {scale * d['ci_high']:+.{digits}f}]"
    return f"**{text}**" if d["ci_low"] > 0 or d["ci_high"] < 0 else text


def _ref(g: dict, name: str, key: str, scale: float = 100.0, digits: int = 2) -> str:
    r = (g.get("references") or {}).get(name)
    return "–" if r is None or key not in r else f"{scale * r[key]:.{digits}f}"


def header_markdown(results: dict) -> str:
    classes = results.get("test_classes")
    counts = f" ({', '.join(f'{k} {v}' for k, v in classes.items())})" if classes else ""
    return (f"Trained: {setting_words(results)}; {results['runs']} runs per cell (mean ± sample std); "
            f"{results['steps']} optimisation steps per distilled model, the same for every method and VPC (videos per class) "
            f"(Whole: at most {results['whole_steps']}, early stopping on VAL, best VAL checkpoint); "
            f"tested on {results['test_dir']} TEST: {results['n_test']} videos{counts}; "
            f"training-clip augmentation {'on' if results.get('augment') else 'off'}; "
            f"distilled models weighted: {results.get('weights', 'no (results from before weights)')} (Whole unweighted); "
            f"soft tolerance ±{results['tolerance']:g} EF; appearance features: {results['appearance']}. "
            f"Paired differences: method − Random over runs with the same seeds, mean "
            f"[{results.get('interval', '95% interval')}]; bold when the interval excludes 0.")


def table_markdown(results: dict) -> str:
    vpcs = results["vpcs"]
    lines = [header_markdown(results), ""]
    for group, g in results["groups"].items():
        head = f"| Whole {group} | All | Dist. {group} | " + " | ".join(f"VPC={v}" for v in vpcs) + " |"
        lines += [f"Accuracy % ({group})", "", head, "|---" * (3 + len(vpcs)) + "|"]
        for key, block, suffix in METRICS:
            whole = _pm(g["whole"]["summary"].get(key)) if g.get("whole") else "–"
            for i, method in enumerate(results["methods"]):
                cells = g["cells"].get(method, {})
                vals = " | ".join(_pm(cells.get(str(v), {}).get(key)) for v in vpcs)
                lines.append(f"| {block if i == 0 else ''} | {whole if i == 0 else ''} | "
                             f"{DISPLAY.get(method, method)}{suffix} | {vals} |")
            for name, label in REFERENCES:
                kind = f", {suffix.strip(' ()')}" if suffix else ""
                lines.append(f"| | | {label}{kind} (reference) | " + " | ".join(_ref(g, name, key) for _ in vpcs) + " |")
        lines += ["", f"MAE (EF points) and R² ({group})", "",
                  "| Dist. | " + " | ".join(f"VPC={v} MAE | VPC={v} R²" for v in vpcs) + " |",
                  "|---" * (1 + 2 * len(vpcs)) + "|"]
        if g.get("whole"):
            w = g["whole"]["summary"]
            lines.append(f"| Whole {group} | " + " | ".join(f"{_pm(w['mae'], 1.0)} | {_pm(w['r2'], 1.0, 3, 3)}"
                                                              for _ in vpcs) + " |")
        for method in results["methods"]:
            cells = g["cells"].get(method, {})
            lines.append(f"| {DISPLAY.get(method, method)} | " + " | ".join(
                f"{_pm(cells.get(str(v), {}).get('mae'), 1.0)} | {_pm(cells.get(str(v), {}).get('r2'), 1.0, 3, 3)}"
                for v in vpcs) + " |")
        for name, label in REFERENCES:
            lines.append(f"| {label} (reference) | " + " | ".join(f"{_ref(g, name, 'mae', 1.0)} | {_ref(g, name, 'r2', 1.0, 3)}"
                                                    for _ in vpcs) + " |")
        compared = [m for m in results["methods"] if m != "random" and g["cells"].get(m)]
        if "random" in g["cells"] and compared:
            lines += ["", f"Paired difference against Random ({group}): mean [95% interval]", "",
                      "| Dist. | VPC | " + " | ".join(label for _, label, _, _ in DIFFS) + " |",
                      "|---" * (2 + len(DIFFS)) + "|"]
            for method in compared:
                for v in vpcs:
                    d = g["cells"][method].get(str(v), {}).get("vs_random") or {}
                    lines.append(f"| {DISPLAY.get(method, method)} | {v} | "
                                 + " | ".join(_diff(d.get(k), sc, dg) for k, _, sc, dg in DIFFS) + " |")
        falling = [f"{DISPLAY.get(m, m)} VPC={v} ({sum(r['still_falling'] for r in c['runs'])}/{len(c['runs'])})"
                   for m, by_vpc in g["cells"].items() for v, c in by_vpc.items()
                   if any(r.get("still_falling") for r in c["runs"])]
        if g.get("whole") and g["whole"].get("still_falling"):
            falling.insert(0, f"Whole ({g['whole']['still_falling']}/{len(g['whole']['runs'])})")
        lines += ["", "Training loss still falling at the end (last 10% of steps >5% below the 10% before): "
                  + (", ".join(falling) + " — more steps may help there" if falling else "in no run") + ".", ""]
    if results.get("whole_real"):
        s = results["whole_real"]["summary"]
        lines.append(f"Reference, Whole Real (trained on {results['data_dir']} TRAIN, "
                     f"{results['whole_real']['n_train']} videos): accuracy {_pm(s['acc'])}, soft {_pm(s['soft_acc'])}, "
                     f"MAE {_pm(s['mae'], 1.0)}, R² {_pm(s['r2'], 1.0, 3, 3)}.")
    return "\n".join(lines) + "\n"


CSV_COLUMNS = ["group", "method", "vpc", "metric", "mean", "std", "runs", "ci_low", "ci_high", "setting"]


def table_rows(results: dict) -> list[list]:
    """Long form: one row per (group, method, VPC, metric); paired differences as metric
    ``<metric>_minus_random`` with their interval; reference rows as methods ``mean_ef`` / ``majority_class``."""
    rows, keys = [], [k for k, _, _ in METRICS] + ["mae", "r2"]
    for group, g in results["groups"].items():
        for key in keys:
            if g.get("whole") and key in g["whole"]["summary"]:  # a reused pre-bal_acc Whole lacks it
                s = g["whole"]["summary"][key]
                rows.append([group, "Whole", "All", key, s["mean"], s["std"], s["n"], "", "", results["setting"]])
            for method in results["methods"]:
                for v in results["vpcs"]:
                    s = g["cells"].get(method, {}).get(str(v), {}).get(key)
                    if s:
                        rows.append([group, method, v, key, s["mean"], s["std"], s["n"], "", "", results["setting"]])
            for name, _ in REFERENCES:
                r = (g.get("references") or {}).get(name)
                if r and key in r:
                    rows.append([group, name, "All", key, r[key], 0.0, 1, "", "", results["setting"]])
        for method in results["methods"]:
            for v in results["vpcs"]:
                d = g["cells"].get(method, {}).get(str(v), {}).get("vs_random") or {}
                for key, stat in d.items():
                    rows.append([group, method, v, f"{key}_minus_random", stat["mean"], stat["std"], stat["n"],
                                 stat["ci_low"], stat["ci_high"], results["setting"]])
    return rows


def write_tables(results: dict, out_dir) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    md = atomic_write_text(out_dir / "table1.md", "# Table 1 (this data)\n\n" + table_markdown(results))
    csv = atomic_write_csv(out_dir / "table1.csv", CSV_COLUMNS, table_rows(results))
    return md, csv


def require_matplotlib():
    return require_pyplot("plots", hint=PLOT_EXTRA_HINT + " or pass --no-plot")


def plot_bars(results: dict, path) -> Path:
    """One panel per (group, hard/soft/balanced accuracy): bars per method and VPC with std error bars; the
    Whole model (dashed) and the majority-class floor (dotted) as lines."""
    import io

    import numpy as np

    plt = require_matplotlib()
    groups = list(results["groups"].items())
    vpcs, methods = results["vpcs"], results["methods"]
    fig, axes = plt.subplots(len(groups), len(METRICS), figsize=(5 * len(METRICS), 3.6 * len(groups)), squeeze=False)
    width = 0.8 / max(len(vpcs), 1)
    for gi, (group, g) in enumerate(groups):
        for mi, (key, block, _) in enumerate(METRICS):
            ax = axes[gi][mi]
            x = np.arange(len(methods))
            for vi, v in enumerate(vpcs):
                stats = [g["cells"].get(m, {}).get(str(v), {}).get(key) or {"mean": np.nan, "std": 0} for m in methods]
                ax.bar(x + (vi - (len(vpcs) - 1) / 2) * width, [100 * s["mean"] for s in stats], width,
                       yerr=[100 * s["std"] for s in stats], capsize=3,
                       label=f"VPC={v}" + (" (videos per class)" if vi == 0 else ""))
            if g.get("whole") and key in g["whole"]["summary"]:
                s = g["whole"]["summary"][key]
                ax.axhline(100 * s["mean"], color="k", ls="--", lw=1, label=f"Whole {group}")
                ax.axhspan(100 * (s["mean"] - s["std"]), 100 * (s["mean"] + s["std"]), color="k", alpha=0.08)
            ref = (g.get("references") or {}).get("majority_class") or {}
            if key in ref:  # the constant-predictor floor: what a model must beat
                ax.axhline(100 * ref[key], color="tab:red", ls=":", lw=1.2, label="Majority class (reference)")
            ax.set_xticks(x, [DISPLAY.get(m, m) for m in methods])
            ax.set_ylabel("accuracy %")
            ax.set_ylim(0, 100)
            ax.set_title(f"Dist. {group}, {block}", fontsize=10)
    # one legend for the figure, below the panels, so it never covers a bar
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle(f"{setting_words(results)}; {results['steps']} steps per distilled model", fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


REPRESENTATIONS = {"motion": "Motion read-out", "pixels": "Pixel read-out (independent)", "cnn": "CNN"}
DIFF_PANELS = (("mae", 1.0, "Δ MAE vs Random (EF points; below 0 is better)", -1),
               ("bal_acc", 100.0, "Δ balanced accuracy vs Random (points; above 0 is better)", +1))


def plot_differences(results: dict, path) -> Path:
    """``differences.png`` of a paired benchmark (``probe_benchmark`` / the CNN's pool-resampled path):
    one column per representation x VPC, row 1 the paired Δ MAE against Random (EF points), row 2 the Δ
    balanced accuracy (percentage points); per method (Random is the zero line) the mean difference as a
    point with its 95 % paired-t interval as a bar (no bar when the interval is undefined), green where the
    interval excludes 0 on the better side, red on the worse side, grey otherwise; the cell's best peer is
    drawn as a star and labelled. ``results``: the dict those runners build (``cells``, ``seeds``,
    ``instrument``; ``setting_name`` for the CNN). Written atomically (``atomic_path``); returns ``path``.
    DependencyError without matplotlib (the [plot] extra)."""
    import numpy as np

    from infomotion_rt.atomic import atomic_path

    plt = require_matplotlib()
    panels = [(rep, v, cell) for rep, by_vpc in results["cells"].items() for v, cell in by_vpc.items()]
    methods = [m for m in results["methods"] if m != "random"]
    fig, axes = plt.subplots(len(DIFF_PANELS), len(panels), squeeze=False,
                             figsize=(max(4.6 * len(panels), 7.5), 1.6 + 0.5 * max(len(methods), 2) * len(DIFF_PANELS)))
    y = np.arange(len(methods))[::-1]
    for ci, (rep, v, cell) in enumerate(panels):
        best = cell.get("best_peer")
        for ri, (key, scale, xlabel, better) in enumerate(DIFF_PANELS):
            ax = axes[ri][ci]
            ax.axvline(0.0, color="k", lw=1, label="Random (zero line)")
            for yi, m in zip(y, methods):
                d = ((cell["methods"].get(m) or {}).get("vs_random") or {}).get(key)
                if not d or not d.get("n"):
                    continue
                mean, lo, hi = (scale * d[k] for k in ("mean", "ci_low", "ci_high"))
                known = bool(np.isfinite(lo) and np.isfinite(hi))
                if known and (lo > 0 or hi < 0):   # the interval excludes 0
                    color = "tab:green" if better * mean > 0 else "tab:red"
                else:
                    color = "0.45"
                xerr = [[mean - lo], [hi - mean]] if known else None
                ax.errorbar([mean], [yi], xerr=xerr, fmt="*" if m == best else "o", ms=11 if m == best else 6,
                            color=color, ecolor=color, capsize=3, lw=1.4)
            ax.set_yticks(y, [DISPLAY.get(m, m) + (" (best peer)" if m == best else "") for m in methods])
            ax.set_ylim(-0.7, len(methods) - 0.3)
            ax.grid(axis="x", color="0.9", lw=0.6)
            lo, hi = ax.get_xlim()
            if hi - lo < 0.5:   # every difference 0 (e.g. the same picks): a readable span around the zero line
                ax.set_xlim(-1.0, 1.0)
            ax.set_xlabel(xlabel, fontsize=8)
            if ri == 0:
                what = REPRESENTATIONS.get(rep, rep)
                if rep == "cnn" and results.get("setting_name"):
                    what += f" ({results['setting_name']} setting)"
                ax.set_title(f"{what}, {v} video{'' if str(v) == '1' else 's'} per class", fontsize=9)
    n = len(results["seeds"])
    share = results.get("pool_share")
    draws = f", each drawing {100 * share:.0f} % of the TRAIN pool" if share is not None else ""
    fig.suptitle(f"{'CNN' if results.get('instrument') == 'cnn' else 'Probe'} benchmark: paired difference "
                 f"against Random over {n} seeds{draws}\npoint: mean; bar: 95 % interval; star: best peer; "
                 "green / red: the interval excludes 0, better / worse than Random", fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.985, 1 - 0.4 / fig.get_figheight()))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)
