"""What should the selection graph be built on? A study of the feature transform (metric.py), k and edge
weighting on a DEVELOPMENT phantom (never the held-out benchmark seed).

    nice -n 5 .venv/bin/python benchmarks/study_selection_metric.py FEATURES.npz DATA_DIR [--vpc 5 --vpc 10]

FEATURES: ``extract`` of DATA_DIR (shipped encoder); DATA_DIR: a phantom with ``phantom_truth.json``.
Candidates are the TRAIN videos with EF, as ``select`` uses them. Every criterion is a cheap *proxy* for
"a model trained on the picks learns EF", not that itself:

1. Metric space (one row per transform; the truth file's ``ef_true``, the EF of the rendered motion, is
   the target, so label noise does not reward a metric):
   * ``kNN MAE``: 10-fold, each TEST-fold video's EF_true predicted by the mean of its k=5 nearest
     TRAIN-fold videos; the transform is fitted on the TRAIN folds only (so ``pls``, which is fitted on
     EF labels, is not scored on labels it saw). Predicting the mean EF is the floor.
   * ``purity``: the share of those k neighbours in the video's own EF class (FileList label).
   * ``in-class gap``: within each EF class, the mean |EF_true difference| to the graph's k=10 nearest
     neighbours, divided by that to random same-class videos (1.0 = the graph ignores wall motion).
   * ``outlier AUC``: within each class, a video's mean distance to its k=10 nearest neighbours over the
     class median (how peripheral it is in the graph); the AUC of that for problem clips against clean
     ones (0.5 = problem clips are as central as clean ones; above = pushed to the edge, where
     modular centrality does not pick).
   A ridge probe (10-fold, standardised, the EF_true target) says how much EF is linearly there at all.
2. Selection (one row per transform x method x VPC; ``--seeds`` seeds, random over ``--random-draws``;
   each seed selects from its own seeded 80 % of the candidates, so that the spread over seeds is real
   for the deterministic methods too; mean ± sd over seeds):
   * ``communities``: Infomap communities per class (mean), beside VPC (graph methods).
   * ``coverage / random``: per class, the mean over its videos of the |EF_true| distance to the nearest
     pick, averaged over classes, divided by random picks' mean (lower = the picks span the class's EF).
   * ``problem``: share of picks that are problem clips (poor quality, EF label off, archive kinds:
     foreshortened, off-axis, other view, label noise, wrong label, very short, zoom outlier), beside
     the candidates' share; and every nuisance kind picked, summed over seeds.
3. Graph settings (k, weighting, mode) for the chosen transform, with the same selection criteria.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from dataclasses import replace

# One BLAS thread: the matrices are small and threaded BLAS on a loaded 2-core machine is 30x slower.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

from infomotion_rt.data.classes import DEFAULT_CLASSES
from infomotion_rt.extract.files import read_features
from infomotion_rt.selection.graph import GraphConfig
from infomotion_rt.selection.metric import MetricConfig, fit_metric, part_columns, transform
from infomotion_rt.phantom.truth import load_nuisances
from infomotion_rt.selection.methods import SelectConfig, select_features

# Kinds that make a clip worse to learn from; the acquisition nuisances on by default in every dynamic
# phantom clip (drift, breathing, gain steps, rhythm) are realism, not problems, and are only listed.
PROBLEM = ("poor quality", "EF label off", "foreshortened", "off-axis", "other view", "label noise",
           "wrong label", "very short", "zoom outlier")
SHORTLIST_METHODS = ("infomotion", "infodist", "kmeans", "kcenter", "herding")


def metric_grid() -> list[MetricConfig]:
    grid = [MetricConfig("raw"), MetricConfig("standard")]
    grid += [MetricConfig("pca", d) for d in (8, 16, 32, 64)]
    grid += [MetricConfig("pca-whiten", d) for d in (4, 8, 16, 32, 64)]
    grid += [MetricConfig("pls", d) for d in (1, 2, 4, 8, 16, 32)]
    grid += [MetricConfig("standard", None, p) for p in ("scale8", "scale16", "pair1", "pair2", "forward")]
    return grid


def sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return np.maximum((a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None], 0.0)


def space_proxies(x, ef_label, ef_true, cls, problem, cfg: MetricConfig, k: int = 5, k_graph: int = 10, folds: int = 10):
    """(kNN MAE, purity, in-class gap ratio) of one transform; see the module docstring."""
    fold = np.arange(len(x)) % folds
    err, pure = [], []
    for f in range(folds):
        tr, te = fold != f, fold == f
        fit = fit_metric(x[tr], cfg, ef_label[tr])
        nn = np.argsort(sq_dists(fit.apply(x[te]), fit.apply(x[tr])), 1)[:, :k]
        err.append(np.abs(ef_true[tr][nn].mean(1) - ef_true[te]))
        pure.append((cls[tr][nn] == cls[te][:, None]).mean(1))
    z = transform(x, cfg, ef_label)
    gaps, base, radius = [], [], np.empty(len(x))
    for c in np.unique(cls):
        m = np.flatnonzero(cls == c)
        if len(m) <= k_graph:
            continue
        d = sq_dists(z[m], z[m])
        np.fill_diagonal(d, np.inf)
        nn = np.argsort(d, 1)[:, :k_graph]
        r = np.sqrt(np.take_along_axis(d, nn, 1)).mean(1)
        radius[m] = r / (np.median(r) or 1.0)
        e = ef_true[m]
        gaps.append(np.abs(e[nn] - e[:, None]).mean() * len(m))
        base.append(np.abs(e[:, None] - e[None]).sum() / (len(m) - 1))   # random other same-class video
    auc = float((radius[problem][:, None] > radius[~problem][None]).mean()
                + 0.5 * (radius[problem][:, None] == radius[~problem][None]).mean())
    return (float(np.concatenate(err).mean()), float(np.concatenate(pure).mean()), float(sum(gaps) / sum(base)),
            auc)


def ridge_mae(x, ef_true, folds: int = 10) -> float:
    """10-fold ridge (lambda = D/4, as benchmarks/probe_motion_pooling.py) on standardised vectors."""
    fold, err = np.arange(len(x)) % folds, []
    for f in range(folds):
        tr, te = fold != f, fold == f
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-8
        a, b = (x[tr] - mu) / sd, (x[te] - mu) / sd
        w = np.linalg.solve(a.T @ a + x.shape[1] / 4 * np.eye(x.shape[1]), a.T @ (ef_true[tr] - ef_true[tr].mean()))
        err.append(np.abs(b @ w + ef_true[tr].mean() - ef_true[te]))
    return float(np.concatenate(err).mean())


def coverage(picked_ef: dict, class_ef: dict) -> float:
    """Mean over classes of the mean |EF_true| gap from a class's videos to its nearest pick."""
    return float(np.mean([np.abs(class_ef[c][:, None] - np.asarray(picked_ef[c])[None]).min(1).mean()
                          for c in class_ef if len(picked_ef.get(c, []))]))


def run_selection(fs, cfg: SelectConfig, truth_ef, kinds, subsample: float = 1.0):
    """One selection on a seeded ``subsample`` share of the candidates (so that seeds vary the graph too)."""
    if subsample < 1.0:
        rng = np.random.default_rng([cfg.seed, 12345])
        fs = fs.subset(np.sort(rng.permutation(len(fs))[:int(round(subsample * len(fs)))]))
    sel = select_features(fs, cfg)
    picked = {}
    for r in sel.rows:
        picked.setdefault(r["class"], []).append(truth_ef[r["FileName"]])
    names = [r["FileName"] for r in sel.rows]
    comms = [p.n_communities for p, _ in sel.picks.values()]
    kc = Counter(k for n in names for k in kinds.get(n, []))
    prob = np.mean([any(k in PROBLEM for k in kinds.get(n, [])) for n in names])
    return picked, float(np.mean(comms)), float(prob), kc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("features")
    ap.add_argument("data_dir")
    ap.add_argument("--vpc", type=int, action="append", help="VPC values (default 5 and 10)")
    ap.add_argument("--seeds", type=int, default=5, help="selection seeds per cell")
    ap.add_argument("--random-draws", type=int, default=50)
    ap.add_argument("--subsample", type=float, default=0.8,
                    help="each seed selects from this seeded share of the candidates (1 = all)")
    ap.add_argument("--select-metrics", default="raw,standard,pca-16,pca-whiten-8,pca-whiten-16,pca-whiten-32,pls-8,pls-16",
                    help="comma list of transforms to run the selection part on (describe() names)")
    ap.add_argument("--methods", default=",".join(SHORTLIST_METHODS), help="comma list of methods of part 2")
    ap.add_argument("--graph-metric", default="raw,pls-16", help="transforms of part 3 (describe() names of the grid)")
    args = ap.parse_args()
    vpcs = args.vpc or [5, 10]
    t_start = time.perf_counter()

    import json
    from pathlib import Path
    truth = {v["name"]: v for v in json.loads((Path(args.data_dir) / "phantom_truth.json").read_text())["videos"]}
    kinds = load_nuisances(args.data_dir) or {}
    fs = read_features(args.features)
    keep = (np.char.upper(fs.split.astype(str)) == "TRAIN") & np.isfinite(fs.ef)
    fs = fs.subset(keep)
    names = fs.names.tolist()
    ef_true = np.array([truth[n]["ef_true"] for n in names])
    truth_ef = dict(zip(names, ef_true))
    cls = DEFAULT_CLASSES.index(fs.ef)
    x = fs.features
    class_ef = {DEFAULT_CLASSES.names[c]: ef_true[cls == c] for c in np.unique(cls)}
    problem = np.array([any(k in PROBLEM for k in kinds.get(n, [])) for n in names])
    n_prob = problem.mean()
    print(f"{len(names)} TRAIN candidates of {args.data_dir}, D={x.shape[1]}, classes "
          + ", ".join(f"{c} {len(v)}" for c, v in class_ef.items())
          + f"; problem clips {n_prob:.1%}; predicting the mean EF_true: MAE {np.abs(ef_true - ef_true.mean()).mean():.2f}")

    print("\n## 1. Metric space (proxies; kNN MAE / purity 10-fold, fit on TRAIN folds)\n")
    chance = sum((cls == c).mean() ** 2 for c in np.unique(cls))
    print(f"Floors: predicting the mean EF_true MAE {np.abs(ef_true - ef_true.mean()).mean():.2f}; purity of random "
          f"neighbours {chance:.3f}; ridge probe on the raw vectors MAE {ridge_mae(x, ef_true):.2f}\n")
    print("| transform | dims | kNN MAE | purity | in-class gap | outlier AUC |")
    print("|---|---|---|---|---|---|")
    grid = metric_grid()
    for m in grid:
        mae, pur, gap, auc = space_proxies(x, fs.ef, ef_true, cls, problem, m)
        dims = len(part_columns(x.shape[1], m.parts)) if m.name in ("raw", "standard") else m.dims
        print(f"| {m.describe()} | {dims} | {mae:.2f} | {pur:.3f} | {gap:.3f} | {auc:.3f} |", flush=True)

    wanted = args.select_metrics.split(",")
    chosen = [m for m in grid if m.describe() in wanted]
    print(f"\n## 2. Selection ({args.seeds} seeds; random: {args.random_draws} draws)\n")
    rand_cov, rand_prob = {}, {}
    for vpc in vpcs:
        covs, probs = [], []
        for s in range(args.random_draws):
            picked, _, prob, _ = run_selection(fs, SelectConfig(vpc=vpc, method="random", seed=s), truth_ef, kinds,
                                               args.subsample)
            covs.append(coverage(picked, class_ef)); probs.append(prob)
        rand_cov[vpc], rand_prob[vpc] = float(np.mean(covs)), float(np.mean(probs))
        print(f"VPC {vpc} random: coverage {rand_cov[vpc]:.2f} ± {np.std(covs):.2f}, problem picks "
              f"{rand_prob[vpc]:.1%} (candidates {n_prob:.1%})")
    print("\n| transform | method | VPC | communities | coverage / random | problem picks | kinds picked (all seeds) |")
    print("|---|---|---|---|---|---|---|")
    for m in chosen:
        for method in args.methods.split(","):
            for vpc in vpcs:
                res = [run_selection(fs, SelectConfig(vpc=vpc, method=method, seed=s, metric=m), truth_ef, kinds,
                                     args.subsample) for s in range(args.seeds)]
                cov = np.array([coverage(r[0], class_ef) for r in res]) / rand_cov[vpc]
                prob = np.array([r[2] for r in res])
                kc = sum((r[3] for r in res), Counter())
                comm = f"{np.mean([r[1] for r in res]):.1f}" if method in ("infomotion", "infodist") else "-"
                print(f"| {m.describe()} | {method} | {vpc} | {comm} | {cov.mean():.2f} ± {cov.std():.2f} | "
                      f"{prob.mean():.1%} ± {prob.std():.1%} | {', '.join(f'{k} {v}' for k, v in kc.most_common())} |",
                      flush=True)

    for name in filter(None, args.graph_metric.split(",")):
        best = next(m for m in grid if m.describe() == name)
        print(f"\n## 3. Graph settings (infomotion, transform {best.describe()})\n")
        print("| k | weighting | mode | VPC | communities | coverage / random | problem picks |")
        print("|---|---|---|---|---|---|---|")
        for k in (5, 7, 10, 15):
            for w, mode in (("gaussian", "union"), ("inverse", "union"), ("gaussian", "mutual")):
                if k not in (5, 10) and (w, mode) != ("gaussian", "union"):
                    continue
                for vpc in vpcs:
                    g = replace(GraphConfig(), k=k, weighting=w, mode=mode)
                    res = [run_selection(fs, SelectConfig(vpc=vpc, seed=s, metric=best, graph=g), truth_ef, kinds,
                                         args.subsample) for s in range(args.seeds)]
                    cov = np.array([coverage(r[0], class_ef) for r in res]) / rand_cov[vpc]
                    prob = np.array([r[2] for r in res])
                    print(f"| {k} | {w} | {mode} | {vpc} | {np.mean([r[1] for r in res]):.1f} | "
                          f"{cov.mean():.2f} ± {cov.std():.2f} | {prob.mean():.1%} ± {prob.std():.1%} |", flush=True)
    print(f"\nwall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
