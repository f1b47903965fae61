"""What a finished ``benchmark`` run's methods picked and how their models erred: the mechanism behind Table 1.

    .venv/bin/python benchmarks/analyse_benchmark.py BENCH_OUT POOL_DIR

BENCH_OUT: a ``benchmark --out`` folder (results.json and selections/). POOL_DIR: the dataset the picks
came from (DATA_DIR for Dist. Real, SYN_DIR for Dist. Synth.); its ``phantom_truth.json`` is used when
present. Prints, per method and VPC over every run (seed):

* picks: share of poor-quality clips and of archive-kind clips (foreshortened, off-axis, ...) and the
  mean |FileList EF - the motion's true EF|, against the candidate pool's (phantoms only);
* picks' EF per class, mean ± sd (the pool's on the first lines; for Dist. Synth. the picks carry the
  relabelled EF, the pool line the file's);
* the models' TEST recall per EF class from the summed confusion matrices, the predicted class shares,
  and the class-balanced accuracy (mean of the recalls), beside the plain accuracy the table reports.
Reads files only; seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from infomotion_rt.data.classes import DEFAULT_CLASSES


def picks_by_cell(bench: Path) -> dict[tuple[str, str], list[dict]]:
    cells = defaultdict(list)
    for f in sorted((bench / "selections").glob("*_vpc*_seed*.csv")):
        method, vpc = f.stem.split("_vpc")[0], f.stem.split("_vpc")[1].split("_seed")[0]
        cells[(method, vpc)] += list(csv.DictReader(open(f, newline="")))
    return cells


def quality(videos: list[dict]) -> str:
    n = len(videos)
    poor = 100 * sum(bool(v["poor"]) for v in videos) / n
    kinds = 100 * sum(bool(v["nuisance_kinds"]) for v in videos) / n
    label = sum(abs(v["ef_label"] - v["ef_true"]) for v in videos) / n
    return f"poor {poor:4.1f} %, archive kinds {kinds:4.1f} %, |label - true EF| {label:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", type=Path)
    ap.add_argument("pool", type=Path)
    a = ap.parse_args()
    if not (a.bench / "results.json").is_file() or not (a.bench / "selections").is_dir():
        raise SystemExit(f"error: {a.bench}: no results.json and selections/ of a finished benchmark --out folder")
    if not (a.pool / "FileList.csv").is_file():
        raise SystemExit(f"error: {a.pool}: no FileList.csv (give the dataset the picks came from)")
    results = json.loads((a.bench / "results.json").read_text())
    group = next(iter(results["groups"]))
    cells = picks_by_cell(a.bench)
    names = {r["FileName"] for rows in cells.values() for r in rows}
    truth_file = a.pool / "phantom_truth.json"
    truth = {v["name"]: v for v in json.loads(truth_file.read_text())["videos"]} if truth_file.is_file() else {}
    split = "TRAIN" if results.get("synthetic") is None else None   # Dist. Synth. selects from every video
    pool_ef = defaultdict(list)
    for r in csv.DictReader(open(a.pool / "FileList.csv", newline="")):
        if split is None or r.get("Split", "").upper() == split:
            pool_ef[DEFAULT_CLASSES.name(float(r["EF"]))].append(float(r["EF"]))
    line = f"{group}: candidate pool {sum(map(len, pool_ef.values()))} videos"
    if truth:
        line += ": " + quality([v for v in truth.values() if split is None or v["split"] == split])
    print(line)
    print("    pool's EF per class (FileList labels): "
          + ", ".join(f"{c} {np.mean(pool_ef[c]):.1f}±{np.std(pool_ef[c]):.1f}" for c in DEFAULT_CLASSES.names if pool_ef[c]))
    print("TEST recall: per EF class, from the confusion matrices summed over the runs; predicted shares: the share\n"
          "of TEST predictions in each class (Severe / Moderate / Mild / Normal / Hyperdynamic); balanced accuracy:\n"
          "the mean of the recalls.")
    for (method, vpc), rows in sorted(cells.items(), key=lambda kv: (results["methods"].index(kv[0][0]), int(kv[0][1]))):
        by_class = defaultdict(list)
        for r in rows:
            by_class[r["class"]].append(float(r["EF"]))
        line = f"{method:10s} VPC {vpc:>2s} ({len(rows)} picks)"
        if truth:
            line += ": " + quality([truth[r["FileName"]] for r in rows if r["FileName"] in truth])
        print(line)
        print("    picks' EF per class: " + ", ".join(f"{c} {np.mean(v):.1f}±{np.std(v):.1f}" for c, v in by_class.items()))
        cell = results["groups"][group]["cells"].get(method, {}).get(vpc)
        if cell and all("confusion" in r for r in cell["runs"]):
            conf = np.sum([np.array(r["confusion"]) for r in cell["runs"]], axis=0)
            recall = conf.diagonal() / np.maximum(conf.sum(axis=1), 1)
            classes = cell["runs"][0].get("classes") or ["Severe", "Moderate", "Mild", "Normal", "Hyperdynamic"]
            print("    TEST recall %: " + " / ".join(f"{c} {100 * x:.0f}" for c, x in zip(classes, recall))
                  + f"; predicted shares %: {' / '.join(f'{100 * x:.0f}' for x in conf.sum(axis=0) / conf.sum())}"
                  + f"; balanced accuracy {100 * recall.mean():.1f} %, accuracy {100 * conf.trace() / conf.sum():.1f} %")
    print(f"({len(names)} distinct videos picked over all cells)")


if __name__ == "__main__":
    main()
