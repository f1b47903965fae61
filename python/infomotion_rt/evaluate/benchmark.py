"""The paper's Table 1 on a dataset: selection methods x VPC x runs, with the Whole row as reference.

Dist. Real (default): select from DATA_DIR's TRAIN split, train, test on DATA_DIR's TEST split.
Dist. Synth. (``synthetic=SYN_DIR``): select from every SYN_DIR video, relabelled first by the Whole
Real regressor (trained on DATA_DIR's TRAIN split) unless its labels are trusted, train, and test on
DATA_DIR's TEST split. Run r of every cell uses seed ``seed + r`` for the selection and the training.
Features: ``infomotion`` selects on the motion features file; every other method on the appearance
embeddings (``relabel.py``: the Whole regressor's penultimate layer). Every distilled model trains with
its selection's class-prior weights (the rows' Weight, as ``select`` writes them) unless
``EvalConfig.weights`` is False (``--no-weights``); Whole models are unweighted. Results are rewritten
after each cell, so a long run can be watched.

``run_pool_benchmark`` (``--seeds N`` or ``--pool-share S < 1``; issue 16.3) is the probe's protocol with
the CNN instead: paired pool-resampled seeds, every method selecting on the motion vectors from the same
draw, one training per seed and method, paired differences against Random and the best peer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from infomotion_rt import console
from infomotion_rt.atomic import atomic_write_text
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.errors import ConfigError, DataError
from infomotion_rt.evaluate.clips import ClipSource
from infomotion_rt.evaluate.protocol import (EvalConfig, budget_text, caution_notes, one_run, require_test_split,
                                             run_protocol)
from infomotion_rt.evaluate.relabel import relabel
from infomotion_rt.evaluate.stats import class_counts, reference_rows
from infomotion_rt.evaluate.tables import plot_bars, require_matplotlib, write_tables
from infomotion_rt.selection.readout import INTERVAL, differences_vs
from infomotion_rt.selection.scoring import summarize_runs

def _pm(stat: dict) -> str:
    return f"{stat['mean']:.3f}±{stat['std']:.3f}"


PAPER_METHODS = ("random", "kmeans", "infodist", "infomotion")
MOTION_METHODS = ("infomotion",)
APPEARANCE = "penultimate layer of the Whole regressor"


@dataclass(frozen=True)
class BenchmarkConfig:
    eval: EvalConfig = field(default_factory=EvalConfig)
    vpcs: tuple[int, ...] = (5, 10)
    methods: tuple[str, ...] = PAPER_METHODS
    trust_synthetic_labels: bool = False
    plot: bool = True
    whole_runs: int | None = None   # runs of the Whole rows (None: eval.runs); the demo trains one

    @property
    def whole_eval(self) -> EvalConfig:
        return self.eval if self.whole_runs is None else replace(self.eval, runs=self.whole_runs)

    def __post_init__(self) -> None:
        from infomotion_rt.selection.methods import METHODS

        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ConfigError(f"unknown method(s) {', '.join(bad) or '(none)'}; choose from {', '.join(METHODS)}")
        if not self.vpcs or min(self.vpcs) < 1:
            raise ConfigError(f"--vpc values must be >= 1, got {self.vpcs}")


def add_statistics(results: dict, group: str, pool_ef, test_ef) -> None:
    """TEST class counts, the reference rows and every cell's paired difference against Random
    (``stats.py``), into ``results`` in place."""
    g = results["groups"][group]
    results["test_classes"] = class_counts(test_ef)
    g["references"] = reference_rows(pool_ef, test_ef, results["tolerance"])
    results["interval"] = INTERVAL
    base = g["cells"].get("random")
    if base is None:
        results["notes"].append("no Random cells: paired differences against Random are not computed")
        return
    for method, by_vpc in g["cells"].items():
        if method == "random":
            continue
        for vpc, cell in by_vpc.items():
            if vpc in base:
                cell["vs_random"] = differences_vs(cell["runs"], base[vpc]["runs"])


def reuse_whole_real(prev_dir, data_dir, cfg: BenchmarkConfig) -> tuple[dict, Path]:
    """(Whole Real result, checkpoint) of an earlier benchmark in ``prev_dir`` on the same data, setting,
    runs, seed and step maximum, so a Dist. Synth. run need not retrain it. DataError otherwise."""
    prev = Path(prev_dir)
    path, pt = prev / "results.json", prev / "ef_whole_real.pt"
    if not path.is_file() or not pt.is_file():
        raise DataError(f"{prev}: no results.json and ef_whole_real.pt of an earlier benchmark to reuse")
    old = json.loads(path.read_text())
    whole = old.get("whole_real") or (old.get("groups", {}).get("Real") or {}).get("whole")
    ev = cfg.eval
    want = {"data_dir": str(data_dir), "setting": ev.setting.label(), "whole_runs": cfg.whole_eval.runs, "seed": ev.seed,
            "whole_steps": ev.for_whole().train.steps}
    diff = [f"{k} {old.get(k)!r} != {v!r}" for k, v in want.items() if old.get(k) != v]
    if whole is None or diff:
        raise DataError(f"{path}: its Whole Real row does not match this benchmark ({'; '.join(diff) or 'no Whole Real row'})")
    return whole, pt


def find_default_engine() -> Path:
    """The encoder shipped in the package (issue 5); a one-line DataError when it is missing."""
    from infomotion_rt.runtime import default_engine

    return Path(default_engine())


def _motion_features(pool_dir, features, engine, out_dir: Path, progress: bool, threads: int = 0):
    from infomotion_rt.extract.pipeline import ExtractConfig, extract_features
    from infomotion_rt.extract.files import read_features

    if features is None:
        engine = engine or find_default_engine()
        features = out_dir / "motion_features.npz"
        # the benchmark's own intermediate file: a rerun into the same --out replaces it
        extract_features(pool_dir, engine, features, ExtractConfig(threads=threads, overwrite=True), progress=progress)
    return read_features(features)


def _restrict(fs, names: list[str], ef: dict, what: str, notes: list[str]):
    """Feature rows of the pool's videos, in any order, with the pool's (possibly relabelled) EF."""
    from infomotion_rt.extract.featureset import FeatureSet

    pos = {n: i for i, n in enumerate(fs.names.tolist())}
    keep = [pos[n] for n in names if n in pos]
    if not keep:
        raise DataError(f"{what}: none of the {len(names)} candidate videos has a vector (wrong features file?)")
    if len(keep) < len(names):
        notes.append(f"{what}: {len(names) - len(keep)} of {len(names)} candidate videos have no vector and "
                     "cannot be selected")
    keep = np.array(keep)
    sub = fs.subset(keep)
    return FeatureSet(sub.names, sub.features, np.array([ef[n] for n in sub.names.tolist()]), sub.split, sub.meta)


def run_benchmark(data_dir, cfg: BenchmarkConfig, out_dir, *, features=None, engine=None, synthetic=None,
                  synthetic_features=None, progress: bool = True, log=print, whole_real=None) -> dict:
    """Run the benchmark into ``out_dir``. ``whole_real`` = (result dict, checkpoint path) of an earlier
    run's Whole Real row on the same data and settings, reused instead of retrained."""
    from infomotion_rt.selection.methods import WEIGHT_COLUMN, SelectConfig, select_features, write_selection

    if cfg.plot:
        require_matplotlib()  # fail now, not after hours of training
    out_dir = Path(out_dir)
    ev = cfg.eval
    real = load_dataset(data_dir, progress=progress)
    test = require_test_split(real)
    real_train = real.split("TRAIN")
    if not real_train:
        raise DataError(f"{data_dir}: no TRAIN split videos")
    real_val = real.split("VAL") or None  # Whole rows early-stop on it; without it they take every step
    real_src = ClipSource(ev.setting.clips)
    group = "Synth." if synthetic else "Real"
    results = {"data_dir": str(data_dir), "synthetic": str(synthetic) if synthetic else None,
               "setting": ev.setting.label(), "setting_words": ev.setting.words(), "augment": ev.setting.clips.augment, "steps": ev.train.steps, "whole_steps": ev.for_whole().train.steps, "runs": ev.runs, "whole_runs": cfg.whole_eval.runs, "seed": ev.seed,
               "vpcs": list(cfg.vpcs), "methods": list(cfg.methods), "tolerance": ev.tolerance,
               "weights": "class-prior" if ev.weights else "off (--no-weights)",
               "test_dir": str(data_dir), "n_test": len(test), "appearance": APPEARANCE,
               "train": asdict(ev.train), "groups": {}, "notes": [], "selections": {}}
    notes = results["notes"]
    notes.extend(caution_notes(len(test)))  # a small TEST split; run counts are in every table

    def save():
        atomic_write_text(out_dir / "results.json", json.dumps(results, indent=1) + "\n")

    if whole_real is not None:
        whole_real, whole_pt = whole_real[0], Path(whole_real[1])
        log(f"Whole Real: reusing {whole_pt}")
    else:
        log(f"Whole Real: {len(real_train)} TRAIN videos x {cfg.whole_eval.runs} runs, at most {ev.for_whole().train.steps} steps, "
            f"early stopping on {len(real_val or [])} VAL videos ({ev.setting.words()})")
        whole_pt = out_dir / "ef_whole_real.pt"
        whole_real = run_protocol(real_train, test, cfg.whole_eval, train_source=real_src, progress=progress,
                                  label="whole real", save_first=whole_pt, val_recs=real_val)
        log(f"Whole Real: R² {_pm(whole_real['summary']['r2'])}, MAE {_pm(whole_real['summary']['mae'])} EF; "
            + budget_text(whole_real))
    results["whole_real_model"] = str(whole_pt)
    if synthetic:
        syn = load_dataset(synthetic, progress=progress)
        pool_dir, pool = synthetic, list(syn.records)
        if not cfg.trust_synthetic_labels:
            rl = relabel(synthetic, whole_pt, out_dir / "synthetic_relabeled.csv", out_dir / "appearance_features.npz",
                         ev.train.device, records=pool, progress=progress)
            pool = list(load_dataset(synthetic, rl.csv, progress=False).records)
            notes.append(f"{synthetic}: {len(pool)} videos relabelled by {whole_pt.name} (MAE to their own labels "
                         f"{np.abs(rl.ef_pred - rl.ef_orig).mean():.2f} EF); labels in {rl.csv.name}")
        else:
            rl = relabel(synthetic, whole_pt, None, out_dir / "appearance_features.npz", ev.train.device,
                         records=pool, progress=progress)
        motion_fs = _motion_features(pool_dir, synthetic_features or features, engine, out_dir, progress,
                                     ev.train.threads)
    else:
        pool_dir, pool = data_dir, real_train
        rl = relabel(data_dir, whole_pt, None, out_dir / "appearance_features.npz", ev.train.device,
                     records=pool, progress=progress, source=real_src)
        motion_fs = _motion_features(pool_dir, features, engine, out_dir, progress, ev.train.threads)
    from infomotion_rt.extract.files import read_features

    names = [r.name for r in pool]
    ef = {r.name: r.ef for r in pool}
    feats = {"motion": _restrict(motion_fs, names, ef, "motion features", notes),
             "appearance": _restrict(read_features(rl.features), names, ef, "appearance features", notes)}
    by_name = {r.name: r for r in pool}
    pool_src = real_src if not synthetic else ClipSource(ev.setting.clips)
    g = {"whole": None if synthetic else whole_real, "cells": {}}
    results["groups"][group] = g
    if synthetic:
        results["whole_real"] = whole_real
        if cfg.trust_synthetic_labels:
            notes.append(f"{synthetic}: EF labels trusted (not relabelled)")
    save()
    from infomotion_rt.selection.graph import GraphConfig
    from infomotion_rt.selection.knn_index import KnnConfig

    graph_cfg = GraphConfig(knn=KnnConfig(threads=ev.train.threads or None))  # --threads reaches FAISS too
    jobs = [(m, v) for m in cfg.methods for v in cfg.vpcs]
    bar = console.bar(total=len(jobs) * ev.runs, desc="benchmark", unit="run", progress=progress)
    for method, vpc in jobs:
        fs = feats["motion" if method in MOTION_METHODS else "appearance"]
        runs = []
        for r in range(ev.runs):
            seed = ev.seed + r
            sel = select_features(fs, SelectConfig(vpc=vpc, method=method, seed=seed, split=None, graph=graph_cfg))
            notes.extend(f"{method} VPC={vpc} seed {seed}: {n}" for n in sel.notes)
            sel_path = write_selection(out_dir / "selections" / f"{method}_vpc{vpc}_seed{seed}.csv", sel.rows)
            train = [by_name[row["FileName"]] for row in sel.rows]
            weights = [row[WEIGHT_COLUMN] for row in sel.rows] if ev.weights else None  # what selection.csv says
            m = one_run(train, test, ev, seed, train_source=pool_src, test_source=real_src, progress=progress,
                        desc=f"{method} VPC={vpc} run {r + 1}/{ev.runs}", weights=weights)
            m["selection"] = str(sel_path)
            runs.append(m)
            bar.update(1)
        g["cells"].setdefault(method, {})[str(vpc)] = {**summarize_runs(runs), "runs": runs}
        falling = sum(r["still_falling"] for r in runs)
        acc = g["cells"][method][str(vpc)]["acc"]
        log(f"{method} VPC={vpc}: accuracy {100 * acc['mean']:.1f}±{100 * acc['std']:.1f} %, R² "
            f"{_pm(g['cells'][method][str(vpc)]['r2'])}; {ev.train.steps} steps"
            + (f"; training loss still falling at the end in {falling}/{len(runs)} runs" if falling else ""))
        save()
    bar.close()
    if synthetic:
        log(f"Whole Synth.: {len(pool)} synthetic videos x {cfg.whole_eval.runs} runs")
        g["whole"] = run_protocol(pool, test, cfg.whole_eval, train_source=pool_src, test_source=real_src, progress=progress,
                                  label="whole synth", val_recs=real_val)
    add_statistics(results, group, [r.ef for r in pool], [r.ef for r in test])
    save()
    md, csv = write_tables(results, out_dir)
    results["outputs"] = {"json": str(out_dir / "results.json"), "markdown": str(md), "csv": str(csv)}
    if cfg.plot:
        results["outputs"]["plot"] = str(plot_bars(results, out_dir / "table1.png"))
    from infomotion_rt.phantom.truth import load_nuisances
    from infomotion_rt.share.report import write_benchmark_report  # one HTML page: the chart and run 1's picks per cell

    try:
        firsts = [out_dir / "selections" / f"{m}_vpc{v}_seed{ev.seed}.csv" for m in cfg.methods for v in cfg.vpcs]
        results["outputs"]["report"] = str(write_benchmark_report(
            out_dir / "report.html", firsts, results["outputs"].get("plot"), data_dir=pool_dir,
            header={"benchmark": f"Dist. {group}", "TEST videos": str(len(test)), "runs": str(ev.runs)},
            candidates=[r.name for r in pool], progress=progress, nuisances=load_nuisances(pool_dir)).path)
    except DataError as exc:  # a report problem never costs the benchmark's results
        notes.append(f"report.html not written: {exc}")
    save()
    return results


# default seeds of the CNN's pool-resampled benchmark: issue 16 (fewer than the probe's 50; Done-when: at least 10)
CNN_SEEDS = 10
CNN_POOL_SHARE = 0.8    # default share of the TRAIN pool per draw, the probe's (issue 16.3)
CNN_KEYS = ("mae", "r2", "acc", "soft_acc", "bal_acc")   # summarised per method and VPC


def run_pool_benchmark(data_dir, cfg: BenchmarkConfig, out_dir, *, seeds: int = CNN_SEEDS,
                       share: float = CNN_POOL_SHARE, features=None, engine=None, pool_names=None,
                       progress: bool = True, log=print, skipped: dict | None = None) -> dict:
    """``benchmark --instrument cnn --pool-share S --seeds N`` (issue 16.3): the probe's protocol with the CNN.

    For seed s in ``cfg.eval.seed .. + seeds - 1``: ``probe_benchmark.select_on_draw`` draws
    ``pool_draw(s, share, pool)`` (the same draw for every method of the seed, and for the probe on the
    same pool), fits the selection metric once on the draw and lets every method x VPC select from it on
    the motion vectors of ``features`` (None: extracted with ``engine`` or the shipped encoder, as the
    fixed-pool path does) with seed s; each selection trains one CNN with seed s (``one_run``: the
    setting's steps; class-prior ``Weight`` unless ``cfg.eval.weights`` is False) and is scored on TEST.
    The pool: DATA_DIR's TRAIN videos with a motion vector and a finite EF, restricted to ``pool_names``
    when given (``--instrument both`` passes the probe's pool so both instruments see the same draws).
    No Whole row (``evaluate --whole`` trains it); the Mean-EF / majority floors of the pool are the
    references. Per VPC: every method's summary over seeds and ``probe_benchmark.paired_cell``'s paired
    differences against Random and the best peer (95 % paired t). Writes into ``out_dir``:
    ``selections/<method>_vpc<v>_seed<s>.csv``, ``table_cnn.md``, ``differences.png`` (``cfg.plot``) and
    ``results.json`` (rewritten after every seed; ``draws`` records each seed's draw size and digest).
    ``cfg.eval.runs`` is not used (the seeds are the runs). ``skipped``: {method: reason} of peers the
    caller left out (``probe_benchmark.available_methods``), recorded. Returns the results dict. ConfigError for
    bad options; DataError for an empty pool or TEST split; DependencyError without matplotlib when
    ``cfg.plot``."""
    import time


    from infomotion_rt.extract.featureset import FeatureSet
    from infomotion_rt.selection.graph import GraphConfig
    from infomotion_rt.selection.knn_index import KnnConfig
    from infomotion_rt.selection.methods import WEIGHT_COLUMN, write_selection
    from infomotion_rt.selection.readout import POOL_DRAW, pool_draw
    from infomotion_rt.evaluate.probe_benchmark import draw_digest, paired_cell, select_on_draw, write_paired_outputs
    from infomotion_rt.evaluate.stats import DIFF_KEYS as CNN_DIFF_KEYS

    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    pool_draw(0, share, [])  # validates the share before any work
    if cfg.plot:
        require_matplotlib()  # fail now, not after hours of training
    t_start = time.perf_counter()
    out_dir = Path(out_dir)
    ev = cfg.eval
    real = load_dataset(data_dir, progress=progress)
    test = require_test_split(real)
    notes = list(caution_notes(len(test))) + [f"{m}: {why}" for m, why in (skipped or {}).items()]
    train = real.split("TRAIN")
    if pool_names is not None:
        keep = set(pool_names)
        train = [r for r in train if r.name in keep]
    train = [r for r in train if np.isfinite(r.ef)]
    if not train:
        raise DataError(f"{data_dir}: no TRAIN split videos with an EF label to draw from")
    names = [r.name for r in train]
    motion = _motion_features(data_dir, features, engine, out_dir, progress, ev.train.threads)
    fs = _restrict(motion, names, {r.name: r.ef for r in train}, "motion features", notes)
    fs_pool = FeatureSet(fs.names, fs.features, fs.ef, np.array(["TRAIN"] * len(fs)), fs.meta)
    by_name = {r.name: r for r in train}
    pool = [by_name[n] for n in fs_pool.names.tolist()]
    src = ClipSource(ev.setting.clips)
    graph_cfg = GraphConfig(knn=KnnConfig(threads=ev.train.threads or None))
    seed_list = list(range(ev.seed, ev.seed + seeds))
    runs = {str(v): {m: [] for m in cfg.methods} for v in cfg.vpcs}
    results = {"instrument": "cnn", "data_dir": str(data_dir),
               "features": str(features or out_dir / "motion_features.npz"),   # extracted when not given
               "setting": ev.setting.label(), "setting_words": ev.setting.words(), "setting_name": ev.setting.name, "augment": ev.setting.clips.augment,
               "steps": ev.train.steps, "train": asdict(ev.train), "pool_share": float(share),
               "pool_draw": POOL_DRAW, "seeds": seed_list, "vpcs": list(cfg.vpcs), "methods": list(cfg.methods),
               "skipped": dict(skipped or {}), "selection_space": "motion vectors of --features", "metric": None,
               "weights": "class-prior" if ev.weights else "off (--no-weights)", "tolerance": ev.tolerance,
               "n_pool": len(pool), "n_draw": len(pool_draw(ev.seed, share, fs_pool.names.tolist())),
               "n_test": len(test), "test_classes": class_counts([r.ef for r in test]), "interval": INTERVAL,
               "draws": {}, "cells": {}, "references": reference_rows([r.ef for r in pool], [r.ef for r in test],
                                                                       ev.tolerance),
               "notes": notes, "seconds": {}}

    def save():
        results["cells"] = {"cnn": {v: paired_cell(runs[v], list(cfg.methods), CNN_KEYS, CNN_DIFF_KEYS)
                                    for v in runs}}
        results["notes"] = list(dict.fromkeys(notes))
        results["seconds"]["total"] = time.perf_counter() - t_start
        atomic_write_text(out_dir / "results.json", json.dumps(results, indent=1) + "\n")

    log(f"CNN benchmark: {seeds} seeds x {len(cfg.methods)} methods x {len(cfg.vpcs)} VPC, each seed drawing "
        f"{results['n_draw']} of {len(pool)} TRAIN videos; {ev.setting.words(ev.train.steps)}")
    t_select = 0.0
    bar = console.bar(total=seeds * len(cfg.methods) * len(cfg.vpcs), desc="benchmark", unit="run", progress=progress)
    src_of = {r.name: r for r in pool}
    for s in seed_list:
        t0 = time.perf_counter()
        draw, results["metric"], sels = select_on_draw(fs_pool, s, share, cfg.vpcs, cfg.methods, graph_cfg)
        t_select += time.perf_counter() - t0
        results["draws"][str(s)] = {"n": len(draw), "sha256_16": draw_digest(draw)}
        for (v, m), sel in sels.items():
            notes.extend(f"{m} VPC={v}: {n}" for n in sel.notes)
            sel_path = write_selection(out_dir / "selections" / f"{m}_vpc{v}_seed{s}.csv", sel.rows)
            recs = [src_of[row["FileName"]] for row in sel.rows]
            weights = [row[WEIGHT_COLUMN] for row in sel.rows] if ev.weights else None
            r = one_run(recs, test, ev, s, train_source=src, test_source=src, progress=progress,
                        desc=f"{m} VPC={v} seed {s}", weights=weights)
            r.update(selection=str(sel_path), n_draw=len(draw))
            runs[str(v)][m].append(r)
            bar.update(1)
        results["seconds"]["selection"] = t_select
        save()
        log(f"seed {s}: " + "; ".join(f"VPC={v} " + ", ".join(f"{m} MAE {runs[str(v)][m][-1]['mae']:.2f}"
                                                               for m in cfg.methods) for v in cfg.vpcs))
    bar.close()
    if "random" not in cfg.methods:
        notes.append("no Random cells: paired differences against Random are not computed")
    save()
    write_paired_outputs(results, out_dir, "table_cnn.md", cfg.plot)
    return results

