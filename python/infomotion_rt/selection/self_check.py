"""``select ... --self-check [N]``: do picks like these beat random picks on the user's own archive? (issue 16, item 6)

Semantics (ours; docs/self-check.md):

1. The labelled pool is what ``select`` chooses from: the ``--split`` videos (all with ``--split all``) with
   finite vectors and a known EF (``labelled_pool``, the same filters as ``selection.methods.select_features``).
2. It is split once, stratified by EF class (``data.classes.DEFAULT_CLASSES``), into a selection part
   (``1 - SCORE_SHARE`` = 70 %) and a scoring part (``SCORE_SHARE`` = 30 %): per class, in class order,
   ``round(0.3 * n_c)`` videos of a permutation by ``numpy.random.default_rng([seed, 16006])`` are scored
   (``SPLIT_DEFINITION``; ``seed`` is ``--seed``).
3. For s = seed .. seed + N - 1: ``readout.pool_draw(s, POOL_SHARE = 0.8, selection-part names)`` (issue
   16.3's pool resampling); the user's method (their ``SelectConfig``: method, VPC, graph options, metric)
   and Random select from that same draw with seed s (``selection.methods.select_features``, which fits the metric on
   the draw, as ``select`` fits it on its candidates).
4. Each selection is scored by the ridge read-out (``readout.ridge_probe``; ``PROBE_DEFINITION`` here):
   fitted on the picks' motion vectors (the features file's, before the selection metric) standardised
   with the selection part's mean and std, weighted by the picks' class-prior ``Weight``, predicting the
   scoring part: MAE, R², accuracy, balanced accuracy, r (``readout.probe_score``).
5. Per metric, the paired difference method - Random over the seeds with a 95 % paired t interval
   (``readout.differences_vs``). Verdict on MAE (EF points; lower is better): ``better`` only when the
   interval's upper end is below 0, ``worse`` only when its lower end is above 0, else ``no clear
   difference``.

Minimum size (``MINIMUM_DEFINITION``; ours): fewer than ``MIN_LABELLED`` = 300 labelled videos, or, below
``ALWAYS_ANSWER`` = 1,000, an EF class present in the pool with fewer than VPC videos in the selection part
or fewer than ``MIN_SCORE_PER_CLASS`` = 10 in the scoring part: "too small to tell", no seeds run, no
interval. From 1,000 labelled videos on it always runs and answers with an interval (NaN bounds only in
the degenerate case where the method and Random differ by the same amount on every seed, e.g. VPC covering
every class; the sentence says so).

Limits: the read-out is a linear model on the same motion vectors the selection saw, not the CNN; it
scores the *kind* of picks the method makes on 56 % of the archive, not the one selection.csv holds.

Runtime side: numpy, scikit-learn (``readout.SKLEARN_HINT`` names the extras) and select; never torch or
evaluate/.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from infomotion_rt.atomic import atomic_write_text
from infomotion_rt.console import plural
from infomotion_rt.data.classes import DEFAULT_CLASSES, EFClasses
from infomotion_rt.errors import ConfigError, require
from infomotion_rt.extract.featureset import FeatureSet
from infomotion_rt.selection.readout import (INTERVAL, POOL_DRAW, SKLEARN_HINT, differences_vs, pool_draw, probe_score, ridge_probe,
                      summarise_runs)

DEFAULT_SEEDS = 20          # issue 16.6
SCORE_SHARE = 0.3           # ours: 70 % to select from, 30 % to score
POOL_SHARE = 0.8            # issue 16.3's pool share
MIN_LABELLED = 300          # ours
ALWAYS_ANSWER = 1000        # issue 16.6: from here on always an interval
MIN_SCORE_PER_CLASS = 10    # ours
TOLERANCE = 2.0             # soft accuracy's EF tolerance (scoring.score's default)
KEYS = ("mae", "r2", "acc", "bal_acc", "r")
DIFF_KEYS = ("mae", "r2", "acc", "bal_acc")
VERDICTS = ("better", "worse", "no clear difference", "too small to tell")

SPLIT_DEFINITION = (f"labelled pool split once, stratified by EF class: per class (class order) round({SCORE_SHARE} "
                    "* n_c) videos of numpy.random.default_rng([seed, 16006]).permutation are scored, the rest "
                    "selected from [issue 16.6, ours]")
PROBE_DEFINITION = ("RidgeCV(alphas=np.logspace(-3, 5, 33)) on the motion vectors standardised with the selection "
                    "part's mean and std (ddof 0; constant features / 1), fitted on the picks with sample_weight "
                    "= their class-prior Weight, predicting the scoring part [issue 16.2/16.6, ours]")
MINIMUM_DEFINITION = (f"too small to tell below {MIN_LABELLED} labelled videos, or, below {ALWAYS_ANSWER:,}, when an "
                      f"EF class has fewer than VPC videos in the selection part or fewer than {MIN_SCORE_PER_CLASS} "
                      "in the scoring part [ours]")
VERDICT_DEFINITION = ("on MAE (method - random): better only when the interval's upper end < 0, worse only when "
                      "its lower end > 0, else no clear difference [issue 16.6, ours]")


def json_path(selection_csv) -> Path:
    """``selection.csv`` -> ``selection.self-check.json`` beside it."""
    p = Path(selection_csv)
    return p.with_name(p.stem + ".self-check.json")


def check(method: str) -> None:
    """Before any work: ConfigError for ``--method random`` (nothing to compare), DependencyError naming
    the extras when scikit-learn is missing."""
    if method == "random":
        raise ConfigError("--self-check compares --method with random picks; with --method random there is "
                          "nothing to compare (choose another --method)")
    require("sklearn", what="select --self-check", hint=SKLEARN_HINT)


def labelled_pool(fs: FeatureSet, split: str | None) -> FeatureSet:
    """The videos ``select`` chooses from: split ``split`` (None: all; case-insensitive), finite vectors,
    finite EF. A pool without any returns an empty FeatureSet."""
    keep = np.isfinite(fs.features).all(axis=1) & np.isfinite(fs.ef)
    if split is not None:
        keep &= np.char.upper(fs.split.astype(str)) == split.upper()
    return fs.subset(keep)


def split_pool(ef: np.ndarray, seed: int, classes: EFClasses = DEFAULT_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """``SPLIT_DEFINITION`` on (N,) EF (points): (selection rows, scoring rows), sorted int64 positions."""
    rng = np.random.default_rng([int(seed), 16006])
    cls = classes.index(np.asarray(ef, dtype=np.float64)) if len(ef) else np.empty(0, np.int64)
    score = []
    for c in range(classes.n):
        rows = np.flatnonzero(cls == c)
        score.append(rng.permutation(rows)[: int(round(SCORE_SHARE * len(rows)))])
    score = np.sort(np.concatenate(score)).astype(np.int64)
    return np.setdiff1d(np.arange(len(ef)), score).astype(np.int64), score


def too_small(ef_sel, ef_score, vpc: int, classes: EFClasses = DEFAULT_CLASSES) -> list[str]:
    """Every reason (``MINIMUM_DEFINITION``) the pool is too small to tell, the pool size first, then each
    short class (so a user sees all that is missing); empty when it is large enough."""
    n = len(ef_sel) + len(ef_score)
    if n >= ALWAYS_ANSWER:
        return []
    why = [f"{n} labelled videos, below the {MIN_LABELLED} the self-check needs"] if n < MIN_LABELLED else []
    ns = np.bincount(classes.index(np.asarray(ef_sel, np.float64)), minlength=classes.n)
    nt = np.bincount(classes.index(np.asarray(ef_score, np.float64)), minlength=classes.n)
    for c, name in enumerate(classes.names):
        if ns[c] + nt[c] == 0:
            continue
        if ns[c] < vpc:
            why.append(f"class {name}: {plural(int(ns[c]), 'video')} to select from, fewer than VPC {vpc}")
        if nt[c] < MIN_SCORE_PER_CLASS:
            why.append(f"class {name}: {plural(int(nt[c]), 'video')} to score, fewer than {MIN_SCORE_PER_CLASS}")
    return why


def _select(fs: FeatureSet, cfg):
    """One selection on a draw (a seam for tests: every method of a seed must get the same ``fs``)."""
    from infomotion_rt.selection.methods import select_features

    return select_features(fs, cfg)


def _score(sel, fs_sel: FeatureSet, row_of: dict, x_score, y_score) -> dict:
    rows = [row_of[r["FileName"]] for r in sel.rows]
    w = np.array([r["Weight"] for r in sel.rows], dtype=np.float64)
    pred, alpha = ridge_probe(fs_sel.features, fs_sel.features[rows], fs_sel.ef[rows], x_score,
                              w if (w > 0).all() else None, what="select --self-check")
    s = probe_score(y_score, pred, TOLERANCE)
    return {k: s[k] for k in ("mae", "rmse", "r2", "acc", "soft_acc", "bal_acc", "r")} | {
        "alpha": alpha, "n_picks": len(rows)}


def verdict(diff_mae: dict) -> str:
    """``VERDICT_DEFINITION`` on a ``readout.paired_difference`` of MAE."""
    lo, hi = diff_mae.get("ci_low", math.nan), diff_mae.get("ci_high", math.nan)
    if math.isfinite(hi) and hi < 0:
        return "better"
    if math.isfinite(lo) and lo > 0:
        return "worse"
    return "no clear difference"


def sentence(result: dict) -> str:
    """The one plain sentence ``select`` prints (``result``: ``run_self_check``'s dict)."""
    what = f"labelled {result['split']} videos" if result["split"] else "labelled videos"
    if result["verdict"] == "too small to tell":
        return (f"self-check: {result['n_labelled']:,} {what}; this pool is too small to tell "
                f"whether picks like these beat random picks ({'; '.join(result['too_small'])}); no interval")
    s, d = result["summary"], result["difference"]["mae"]
    head = (f"self-check ({plural(len(result['runs']), 'seed')}, {100 * (1 - SCORE_SHARE):.0f} % of {result['n_labelled']:,} "
            f"{what} to select from, {result['n_score']:,} to score): on this archive, picks like "
            f"these give a read-out MAE of {s['method']['mae']['mean']:.2f} against "
            f"{s['random']['mae']['mean']:.2f} for random picks; difference {d['mean']:+.2f}")
    if math.isfinite(d.get("ci_low", math.nan)):
        return head + f" [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}] (95 % paired t): {result['verdict']}"
    why = "the same difference on every seed" if d.get("equal") else "no interval"
    return head + f" ({why}): {result['verdict']}"


def run_self_check(fs: FeatureSet, cfg, n_seeds: int = DEFAULT_SEEDS, *, classes: EFClasses = DEFAULT_CLASSES,
                   log=None) -> dict:
    """The self-check of the module docstring on ``fs`` (vectors (N, D) float32, EF in points, split) with
    the user's ``selection.methods.SelectConfig`` ``cfg`` (its ``split`` picks the pool, its ``seed`` the split and the
    first of ``n_seeds`` >= 2 seeds; default 20, issue 16.6). Returns a JSON-able dict: sizes, definitions,
    per-seed ``runs`` ({seed, n_draw, method: metrics, random: metrics}), ``summary`` (mean/std/n per
    metric), ``difference`` (method - random: mean, std, n, ci_low, ci_high per metric), ``verdict`` (one of
    ``VERDICTS``), ``sentence``. ConfigError for ``--method random`` or ``n_seeds`` < 2; DependencyError
    without scikit-learn; select's errors."""
    from infomotion_rt.selection.metric import RAW

    if n_seeds < 2:
        raise ConfigError(f"--self-check needs at least 2 seeds, got {n_seeds}")
    check(cfg.method)
    t0 = time.perf_counter()
    pool = labelled_pool(fs, cfg.split)
    sel_rows, score_rows = split_pool(pool.ef, cfg.seed, classes)
    fs_sel, fs_score = pool.subset(sel_rows), pool.subset(score_rows)
    why = too_small(fs_sel.ef, fs_score.ef, cfg.vpc, classes)
    seeds = list(range(cfg.seed, cfg.seed + int(n_seeds)))
    result = {"what": "select --self-check [issue 16.6]", "method": cfg.method, "vpc": cfg.vpc, "seed": cfg.seed,
              "split": cfg.split, "seeds": seeds, "n_labelled": len(pool), "n_select": len(fs_sel),
              "n_score": len(fs_score), "score_share": SCORE_SHARE, "pool_share": POOL_SHARE,
              "definitions": {"split": SPLIT_DEFINITION, "pool_draw": POOL_DRAW, "probe": PROBE_DEFINITION,
                              "interval": INTERVAL, "minimum": MINIMUM_DEFINITION, "verdict": VERDICT_DEFINITION},
              "too_small": why, "runs": [], "summary": None, "difference": None}
    if why:
        result["verdict"] = "too small to tell"
        result["sentence"] = sentence(result)
        result["seconds"] = time.perf_counter() - t0
        return result
    row_of = {n: i for i, n in enumerate(fs_sel.names.tolist())}
    x_score, y_score = fs_score.features, fs_score.ef
    if log:
        log(f"self-check: {len(seeds)} seeds, {cfg.method} and random on {POOL_SHARE:.0%} of {len(fs_sel):,} "
            f"videos, scored on {len(fs_score):,}")
    for s in seeds:
        draw = pool_draw(s, POOL_SHARE, fs_sel.names.tolist())
        fs_draw = fs_sel.subset(np.array([row_of[n] for n in draw], dtype=np.int64))
        run = {"seed": s, "n_draw": len(draw)}
        for role, c in (("method", replace(cfg, seed=s, split=None)),
                        ("random", replace(cfg, method="random", seed=s, split=None, metric=RAW))):
            run[role] = _score(_select(fs_draw, c), fs_sel, row_of, x_score, y_score)
        result["runs"].append(run)
    m_runs = [{"seed": r["seed"], **r["method"]} for r in result["runs"]]
    r_runs = [{"seed": r["seed"], **r["random"]} for r in result["runs"]]
    result["summary"] = {"method": summarise_runs(m_runs, KEYS), "random": summarise_runs(r_runs, KEYS)}
    result["difference"] = differences_vs(m_runs, r_runs, DIFF_KEYS)
    result["verdict"] = verdict(result["difference"]["mae"])
    result["sentence"] = sentence(result)
    result["seconds"] = time.perf_counter() - t0
    return result


def write_json(result: dict, selection_csv, features=None) -> Path:
    """``result`` (plus the features and selection file names) as ``json_path(selection_csv)``, atomically
    (a Ctrl-C leaves the old file or none)."""
    doc = {**result, "features": None if features is None else str(features), "selection_csv": str(selection_csv)}
    return atomic_write_text(json_path(selection_csv), json.dumps(doc, indent=1, allow_nan=True) + "\n")
