"""The paper's evaluation protocol: train on a video subset, test on the real TEST split, repeat.

Each run r uses seed ``seed + r`` (weights, clip starts, batch order). A selection is trained for
``train.steps`` optimisation steps; the whole TRAIN split (``--whole``) for at most ``whole_steps``
with early stopping on the VAL split (best VAL checkpoint kept). Results are the per-run metrics plus
mean ± sample std over runs, written as JSON and Markdown (``write_report``).

Weights: a selection trains with its selection.csv ``Weight`` column (class-prior weights,
``selection.methods.class_prior_weights``) unless ``EvalConfig.weights`` is False (``--no-weights``); a selection
file without the column (older files) trains unweighted (every weight 1); Whole models are always
unweighted (the pool has its own class mix). Results record it as ``weights`` ("class-prior",
"off", "none in the file", "whole: unweighted").
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from infomotion_rt.atomic import atomic_write_text
from infomotion_rt.console import plural
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.data.records import strip_suffix
from infomotion_rt.errors import ConfigError, DataError
from infomotion_rt.evaluate.clips import ClipSource
from infomotion_rt.evaluate.regressor import Setting, get_setting, save_checkpoint, setting_words
from infomotion_rt.evaluate.training import TrainConfig, predict, train_regressor
from infomotion_rt.selection.scoring import score, summarize_runs


@dataclass(frozen=True)
class EvalConfig:
    setting: Setting = field(default_factory=lambda: get_setting("cpu"))
    train: TrainConfig = field(default_factory=TrainConfig)
    runs: int = 5
    seed: int = 0
    tolerance: float = 2.0
    whole_steps: int | None = None   # maximum steps of a Whole model (early stopping on VAL); None: train.steps
    weights: bool = True             # train a selection with its Weight column (--no-weights: unweighted)

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise ConfigError(f"--runs must be >= 1, got {self.runs}")
        if self.whole_steps is not None and self.whole_steps < 1:
            raise ConfigError(f"--whole-steps must be >= 1, got {self.whole_steps}")

    def for_whole(self) -> "EvalConfig":
        """The config a Whole row trains with: ``whole_steps`` as its step maximum."""
        if self.whole_steps is None:
            return self
        return replace(self, train=replace(self.train, steps=self.whole_steps))


def read_selection(path) -> list[str]:
    """Video names (no suffix) from a selection CSV's FileName column, in file order."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: selection file not found")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if "FileName" not in (reader.fieldnames or []):
            raise DataError(f"{path}: no FileName column (has {', '.join(reader.fieldnames or []) or 'none'})")
        names = [strip_suffix(row["FileName"]) for row in reader if (row.get("FileName") or "").strip()]
    if not names:
        raise DataError(f"{path}: empty selection (no video names)")
    return list(dict.fromkeys(names))


def read_selection_weights(path, names: list[str]) -> np.ndarray | None:
    """(len(names),) float64: selection.csv's Weight of each name (its first row), or None when the file
    has no Weight column (a file from before weights: train unweighted). DataError naming the file and
    line when a Weight cell is not a positive finite number."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if "Weight" not in (reader.fieldnames or []):
            return None
        found = {}
        for row in reader:
            name = strip_suffix(row.get("FileName") or "")
            if not name or name in found:
                continue
            try:
                w = float(row["Weight"])
            except (TypeError, ValueError):
                w = float("nan")
            if not (np.isfinite(w) and w > 0):
                raise DataError(f"{path} line {reader.line_num}: Weight {row['Weight']!r} of {name} is not a "
                                "positive number (delete the column, or pass --no-weights, to train unweighted)")
            found[name] = w
    return np.array([found[n] for n in names], dtype=np.float64)


def records_for(dataset, names: list[str], where: str) -> list:
    """The dataset's records for ``names``; every name must be there (one line names the missing)."""
    by_name = {r.name: r for r in dataset.records}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise DataError(f"{where}: {len(missing)} of {len(names)} selected videos are not in {dataset.root} "
                        f"(e.g. {', '.join(missing[:3])})")
    return [by_name[n] for n in names]


def require_test_split(dataset) -> list:
    recs = dataset.split("TEST")
    if not recs:
        raise DataError(f"{dataset.root}: no TEST split videos to evaluate on")
    return recs


def one_run(train_recs, test_recs, cfg: EvalConfig, seed: int, *, train_source: ClipSource,
            test_source: ClipSource, progress: bool = True, desc: str = "train", save=None,
            val_recs=None, weights=None) -> dict:
    """Train one model with ``seed`` (early stopping when ``val_recs`` are given; their clips come from
    ``test_source``; ``weights`` (N,) per training video or None: see ``train_regressor``) and score it
    on ``test_recs``: the metrics dict of one run."""
    t0 = time.perf_counter()
    model, norm, hist = train_regressor(train_recs, cfg.setting, cfg.train, seed, train_source, progress, desc=desc,
                                        val_records=val_recs, val_source=test_source, weights=weights)
    train_s = time.perf_counter() - t0
    pred, _ = predict(model, test_recs, test_source, norm, cfg.train.device, progress=progress, desc="test")
    m = score(np.array([r.ef for r in test_recs]), pred, cfg.tolerance)
    t = hist["trend"]
    m.update(seed=seed, n_train=len(train_recs), weighted=hist["weighted"], train_s=train_s, steps=hist["steps"], max_steps=hist["max_steps"],
             batch_size=hist["batch_size"], best_step=hist["best_step"], stopped_early=hist["stopped_early"],
             best_val_loss=hist["best_val_loss"], val_curve=hist["val"], loss_curve=hist["loss_curve"],
             loss_last=t["last"], loss_previous=t["previous"], still_falling=t["still_falling"])
    if save:
        save_checkpoint(save, model, cfg.setting, norm, {"trained_on": len(train_recs), "seed": seed})
    return m


def run_protocol(train_recs, test_recs, cfg: EvalConfig, *, train_source: ClipSource | None = None,
                 test_source: ClipSource | None = None, progress: bool = True, label: str = "",
                 save_first: str | Path | None = None, val_recs=None, weights=None,
                 weights_note: str | None = None) -> dict:
    """Train ``cfg.runs`` models on ``train_recs``, score each on ``test_recs``; JSON-able dict.
    With ``val_recs`` (Whole rows) each run early-stops on them within ``cfg.whole_steps``. ``weights``
    (N,) per training video (a selection's Weight) or None; the caller has applied ``cfg.weights``.
    ``weights_note`` is the result's ``weights`` entry (default: "class-prior" or "unweighted")."""
    if not train_recs:
        raise DataError(f"{label or 'evaluate'}: no training videos")
    if val_recs:
        cfg = cfg.for_whole()
    train_source = train_source or ClipSource(cfg.setting.clips)
    test_source = test_source or train_source
    runs = [one_run(train_recs, test_recs, cfg, cfg.seed + r, train_source=train_source, test_source=test_source,
                    progress=progress, desc=f"{label} run {r + 1}/{cfg.runs}".strip(),
                    save=save_first if r == 0 else None, val_recs=val_recs, weights=weights) for r in range(cfg.runs)]
    return {"label": label, "setting": cfg.setting.label(), "setting_words": cfg.setting.words(),
            "n_train": len(train_recs), "n_test": len(test_recs),
            "weighted": weights is not None, "weights": weights_note or ("class-prior" if weights is not None else "unweighted"),
            "n_val": len(val_recs or []), "augment": cfg.setting.clips.augment, "train": asdict(cfg.train), "runs": runs,
            "summary": summarize_runs(runs), "still_falling": sum(r["still_falling"] for r in runs),
            "notes": caution_notes(len(test_recs), cfg.runs)}


SMALL_TEST = 30  # TEST videos below which one video moves accuracy by more than 3.3 points (ours)


def caution_notes(n_test: int, runs: int | None = None) -> list[str]:
    """What a reader should not conclude from a result: one run has no spread (checked when ``runs`` is
    given), a small TEST split is noisy."""
    notes = []
    if runs == 1:
        notes.append("one run: ±0 is not a spread; use --runs 5 to see run-to-run variation")
    if n_test < SMALL_TEST:
        notes.append(f"only {n_test} TEST videos: one video moves accuracy by {100 / n_test:.0f} points and R² is "
                     "unstable; the figures are not a measurement of the method")
    return notes


def budget_text(result: dict) -> str:
    """How the runs of one result were trained, in words (steps, early stopping, loss trend)."""
    runs, t = result["runs"], result["train"]
    if result.get("n_val"):
        text = (f"at most {t['steps']} steps, early stopping on {result['n_val']} VAL videos "
                f"(best steps {', '.join(str(r['best_step']) for r in runs)})")
    else:
        text = f"{t['steps']} steps"
    text += f" of batch {t['batch_size']}, lr {t['lr']:g}"
    falling = sum(r["still_falling"] for r in runs)
    if falling:
        text += (f"; training loss still falling at the end in {falling}/{len(runs)} runs "
                 f"(last 10% of steps >5% below the 10% before): more steps may help")
    return text


def pm(stat: dict, scale: float = 100.0, digits: int = 2) -> str:
    """'mean±std' of a summary entry (accuracies in percent by default)."""
    return f"{stat['mean'] * scale:.{digits}f}±{stat['std'] * scale:.{digits}f}"


def report_markdown(result: dict, title: str) -> str:
    s = result["summary"]
    lines = [f"# {title}", "", f"Trained: {setting_words(result)}; trained on {result['n_train']} videos, "
             f"tested on {result['n_test']} TEST videos; {plural(len(result['runs']), 'run')}; training-clip augmentation "
             f"{'on' if result.get('augment') else 'off'}; selection weights: {result.get('weights', 'unweighted')}; "
             f"{budget_text(result)}.",
             "", "| metric | mean ± std |", "|---|---|",
             f"| accuracy (5 classes) % | {pm(s['acc'])} |",
             f"| soft accuracy (±{result['runs'][0]['tolerance']:g} EF) % | {pm(s['soft_acc'])} |",
             f"| balanced accuracy (mean per-class recall) % | {pm(s['bal_acc'])} |",
             f"| MAE (EF points) | {pm(s['mae'], 1.0)} |", f"| RMSE (EF points) | {pm(s['rmse'], 1.0)} |",
             f"| R² | {pm(s['r2'], 1.0, 3)} |", "", "| run | seed | acc % | soft % | MAE | R² | steps | loss still falling | train s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(result["runs"], 1):
        lines.append(f"| {i} | {r['seed']} | {100 * r['acc']:.2f} | {100 * r['soft_acc']:.2f} | {r['mae']:.2f} | "
                     f"{r['r2']:.3f} | {r['steps']} | {'yes' if r['still_falling'] else 'no'} | {r['train_s']:.1f} |")
    lines += ["", *[f"Note: {n}" for n in result.get("notes", [])]] if result.get("notes") else []
    classes = result["runs"][0]["classes"]
    conf = np.sum([r["confusion"] for r in result["runs"]], axis=0)
    lines += ["", "Confusion matrix summed over runs (rows true, columns predicted):", "",
              "| true \\ pred | " + " | ".join(classes) + " |", "|---" * (len(classes) + 1) + "|"]
    lines += [f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(classes, conf)]
    return "\n".join(lines) + "\n"


def write_report(result: dict, out_dir, title: str, stem: str = "evaluation") -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    j = atomic_write_text(out_dir / f"{stem}.json", json.dumps(result, indent=1) + "\n")
    m = atomic_write_text(out_dir / f"{stem}.md", report_markdown(result, title))
    return j, m


def evaluate(data_dir, cfg: EvalConfig, selection=None, whole: bool = False, labels_csv=None,
             out_dir="evaluation", save_model=None, progress: bool = True) -> tuple[dict, Path, Path]:
    """The ``evaluate`` command: train on the selection (or the whole TRAIN split), test on TEST."""
    if whole == (selection is not None):
        raise ConfigError("give either --selection FILE or --whole")
    dataset = load_dataset(data_dir, labels_csv, progress=progress)
    test = require_test_split(dataset)
    val, weights, note = None, None, "whole: unweighted"
    if whole:
        train = dataset.split("TRAIN")
        if not train:
            raise DataError(f"{data_dir}: no TRAIN split videos for --whole")
        val = dataset.split("VAL") or None  # early stopping; without VAL videos: the full step budget
        title = f"Whole TRAIN split of {data_dir}"
    else:
        names = read_selection(selection)
        train = records_for(dataset, names, str(selection))
        title = f"Selection {selection} from {data_dir}"
        weights = read_selection_weights(selection, names) if cfg.weights else None
        note = ("class-prior" if weights is not None else
                "off (--no-weights)" if not cfg.weights else "none in the file (every weight 1)")
    overlap = {r.name for r in train} & {r.name for r in test}
    if overlap:
        raise DataError(f"{selection or data_dir}: {len(overlap)} training videos are TEST videos "
                        f"(e.g. {sorted(overlap)[0]}); select from TRAIN")
    result = run_protocol(train, test, cfg, progress=progress, label="whole" if whole else "selection",
                          save_first=save_model, val_recs=val, weights=weights, weights_note=note)
    result.update(instrument="cnn", data_dir=str(data_dir), selection=str(selection) if selection else None, whole=whole)
    j, m = write_report(result, out_dir, title)
    return result, j, m
