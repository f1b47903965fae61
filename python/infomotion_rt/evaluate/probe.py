"""The read-out instrument of ``evaluate --instrument probe`` (issue 16, item 2; definitions ours).

Probe (``PROBE_DEFINITION``; fixed, so every selection is scored the same way): per representation,
``RidgeCV(alphas=np.logspace(-3, 5, 33))`` (scikit-learn; efficient leave-one-out choice of alpha, an
intercept) on features standardised with the mean and std (ddof 0) of the whole TRAIN pool of that
representation -- not just the picks, so every selection is scored in the same space; a feature constant
over the pool is divided by 1 instead of 0 -- fitted on the picks with their selection ``Weight`` as
``sample_weight`` (``--no-weights``, or a file without the column: unweighted), predicting TEST.
Deterministic (no random state anywhere).

Representations: ``motion``, the vectors of the features file the selection used (``--features F``), and
``pixels``, the independent representation of ``infomotion_rt.extract.pixels`` (cached beside F). Every row is
scored on the videos both representations hold, so the two are comparable.

Rows: the selection's read-out per representation, the whole-pool read-out (ridge on every TRAIN video,
unweighted) as the ceiling, and the Mean-EF and majority-class constant predictors
(``stats.reference_rows``) as floors. Metrics: ``metrics.score`` (MAE, RMSE, R², accuracy, soft and
balanced accuracy over the EF classes) plus Pearson r (NaN when a prediction or the truth is constant).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from infomotion_rt.atomic import atomic_write_text
from infomotion_rt.errors import ConfigError, DataError
# the probe itself lives on the runtime side (select --self-check uses it too); re-exported here
from infomotion_rt.selection.readout import ALPHAS, PROBE_DEFINITION, pearson_r, probe_score, ridge_probe, standardiser  # noqa: F401

REPRESENTATIONS = ("motion", "pixels")


def _matrix(fs, names: list[str]) -> np.ndarray:
    index = {n: i for i, n in enumerate(fs.names.tolist())}
    return fs.features[[index[n] for n in names]]


def _limit_threads(n: int) -> None:
    # the probe's BLAS and OpenCV only: evaluate's limit_threads needs torch, which the probe does not
    if not n:
        return
    import cv2

    cv2.setNumThreads(n)
    try:
        import threadpoolctl
    except ImportError:
        return
    threadpoolctl.threadpool_limits(limits=n)


def run_probe(data_dir, features, *, selection=None, whole: bool = False, labels_csv=None, weights: bool = True,
              tolerance: float = 2.0, threads: int = 0, out_dir="evaluation", progress: bool = True,
              log=None) -> tuple[dict, Path, Path]:
    """``evaluate --instrument probe``: the rows of the module docstring, written as JSON and Markdown
    (``evaluation.json`` / ``evaluation.md`` in ``out_dir``). ``features``: the selection's features file
    (.npz or folder of shards). Returns (result, json path, markdown path). ConfigError for a missing
    ``features`` or selection/whole clash; DataError naming the file when videos are missing."""
    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.extract.files import read_features
    from infomotion_rt.extract.pixels import PIXELS_DEFINITION, load_or_build
    from infomotion_rt.evaluate.protocol import read_selection, read_selection_weights, records_for, require_test_split
    from infomotion_rt.evaluate.stats import reference_rows

    if whole == (selection is not None):
        raise ConfigError("give either --selection FILE or --whole")
    if not features:
        raise ConfigError("--instrument probe needs --features F (the features file the selection used)")
    _limit_threads(threads)
    t_start = time.perf_counter()
    dataset = load_dataset(data_dir, labels_csv, progress=progress)
    test = require_test_split(dataset)
    pool = dataset.split("TRAIN")
    if not pool:
        raise DataError(f"{data_dir}: no TRAIN split videos (the probe's pool)")
    motion = read_features(features)
    pixels, pix_info = load_or_build(dataset.records, features, log=log)
    if whole:
        picks, w, note = pool, None, "whole: unweighted"
    else:
        names = read_selection(selection)
        picks = records_for(dataset, names, str(selection))
        w = read_selection_weights(selection, names) if weights else None
        note = ("class-prior" if w is not None else
                "off (--no-weights)" if not weights else "none in the file (every weight 1)")
    overlap = {r.name for r in picks} & {r.name for r in test}
    if overlap:
        raise DataError(f"{selection or data_dir}: {len(overlap)} training videos are TEST videos "
                        f"(e.g. {sorted(overlap)[0]}); select from TRAIN")
    both = set(motion.names.tolist()) & set(pixels.names.tolist())  # score every row on the same videos
    notes = []
    for what, recs in (("selected", picks), ("TRAIN pool", pool), ("TEST", test)):
        lost = [r.name for r in recs if r.name not in both]
        if lost:
            notes.append(f"{len(lost)} of {len(recs)} {what} videos are not in both {features} and "
                         f"{pix_info['path']} (e.g. {lost[0]}); left out of every row")
    keep = [i for i, r in enumerate(picks) if r.name in both]
    picks, w = [picks[i] for i in keep], (None if w is None else w[keep])
    pool = [r for r in pool if r.name in both]
    test = [r for r in test if r.name in both]
    if len(picks) < 2 or not test:
        raise DataError(f"{features}: {len(picks)} selected and {len(test)} TEST videos have both representations; "
                        "the probe needs at least 2 and 1" + (" (the features file holds no TEST video: extract every "
                                                              "split, without --split)" if not test else ""))
    y_pick = np.array([r.ef for r in picks])
    y_pool = np.array([r.ef for r in pool])
    y_test = np.array([r.ef for r in test])
    rows = {}
    for rep, fs, path in (("motion", motion, str(features)), ("pixels", pixels, pix_info["path"])):
        x_pool, x_test = _matrix(fs, [r.name for r in pool]), _matrix(fs, [r.name for r in test])
        t0 = time.perf_counter()
        pred, alpha = ridge_probe(x_pool, _matrix(fs, [r.name for r in picks]), y_pick, x_test, w)
        fit_s = time.perf_counter() - t0
        pred_all, alpha_all = ridge_probe(x_pool, x_pool, y_pool, x_test)
        rows[rep] = {"file": path, "dim": int(fs.features.shape[1]),
                     "selection": {**probe_score(y_test, pred, tolerance), "alpha": alpha, "fit_s": fit_s},
                     "whole_pool": {**probe_score(y_test, pred_all, tolerance), "alpha": alpha_all}}
    references = reference_rows(y_pool, y_test, tolerance)
    for ref in references.values():
        ref["r"] = float("nan")  # a constant prediction has no correlation
    if len(test) < 30:
        notes.append(f"only {len(test)} TEST videos: R² and accuracies are unstable")
    result = {"instrument": "probe", "probe": PROBE_DEFINITION, "data_dir": str(data_dir),
              "selection": str(selection) if selection else None, "whole": whole, "features": str(features),
              "weights": note, "weighted": w is not None, "n_train": len(picks), "n_pool": len(pool),
              "n_test": len(test), "tolerance": float(tolerance), "representations": rows,
              "pixels": {k: v for k, v in pix_info.items() if k != "failed"}
              | {"failed": len(pix_info["failed"]), "definition": PIXELS_DEFINITION},
              "references": references, "notes": notes,
              "seconds": time.perf_counter() - t_start}
    title = f"Probe read-out of {'the whole TRAIN split' if whole else f'selection {selection}'} from {data_dir}"
    out_dir = Path(out_dir)
    j = atomic_write_text(out_dir / "evaluation.json", json.dumps(result, indent=1) + "\n")
    m = atomic_write_text(out_dir / "evaluation.md", probe_markdown(result, title))
    return result, j, m


def _cells(s: dict) -> str:
    return (f"{s['mae']:.2f} | {s['r2']:.3f} | {s['r']:.3f} | {100 * s['acc']:.1f} | {100 * s['bal_acc']:.1f}")


def probe_rows(result: dict) -> list[tuple[str, dict]]:
    """(label, metrics) of every row of a probe result, in report order."""
    rows = []
    for rep in REPRESENTATIONS:
        r = result["representations"][rep]
        rows += [(f"{rep}: selection ({result['n_train']} videos)", r["selection"]),
                 (f"{rep}: whole TRAIN pool ({result['n_pool']}; ceiling)", r["whole_pool"])]
    ref = result["references"]
    rows += [(f"Mean EF ({ref['mean_ef']['value']:.1f}; floor)", ref["mean_ef"]),
             (f"Majority class ({ref['majority_class']['value']:.1f}; floor)", ref["majority_class"])]
    return rows


def probe_markdown(result: dict, title: str) -> str:
    """The Markdown report of a probe result: one table, every row on the same TEST videos."""
    lines = [f"# {title}", "", f"Instrument: probe (ridge read-out); {result['n_train']} fitting videos, TRAIN pool "
             f"{result['n_pool']}, {result['n_test']} TEST videos; selection weights: {result['weights']}.", "",
             f"Probe: {result['probe']}.", "", f"Pixels: {result['pixels']['definition']}.", "",
             "| row | MAE (EF) | R² | r | accuracy % | balanced % |", "|---|---|---|---|---|---|"]
    lines += [f"| {label} | {_cells(s)} |" for label, s in probe_rows(result)]
    lines += ["", *[f"Note: {n}" for n in result["notes"]]] if result["notes"] else []
    return "\n".join(lines) + "\n"
