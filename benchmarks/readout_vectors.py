"""EF read-out of features files of the same videos, side by side (issue 19): the protocol of
``bench_flow_vs_encoder.readout`` (ridge on TRAIN-standardised features fitted on the whole TRAIN pool, TEST
R²/MAE; kNN k = 5 MAE on the standardised features) plus kNN k = 5 in the selection's default metric space
(``metric.transform`` with ``pls``-16, fitted on the TRAIN pool's vectors and EF, TEST projected with it).

    .venv/bin/python benchmarks/readout_vectors.py shipped=/tmp/dev21.npz new=/tmp/dev21_mg.npz flow=/tmp/flow21.npz

Each argument NAME=FILE: an ``extract`` features file (or a plain npz of ``names`` and ``x``; EF and split are
then taken from the first file). Rows are matched by video name.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_flow_vs_encoder import K, readout  # noqa: E402


def load(path):
    from infomotion_rt.extract.files import read_features

    with np.load(path) as z:
        if "x" in z.files:
            return z["names"], z["x"], None, None, {}
    fs = read_features(path)
    return fs.names, fs.features, fs.ef, fs.split, fs.meta


def pls_knn(x, ef, split) -> float:
    from infomotion_rt.selection.metric import MetricConfig, fit_metric

    train, test = split == "TRAIN", split == "TEST"
    fitted = fit_metric(x[train].astype(np.float64), MetricConfig("pls", 16), ef[train])
    zt, zs = fitted.apply(x[train].astype(np.float64)), fitted.apply(x[test].astype(np.float64))
    d2 = ((zs[:, None, :] - zt[None, :, :]) ** 2).sum(axis=2)
    nn = np.argsort(d2, axis=1, kind="stable")[:, :K]
    return float(np.abs(ef[test] - ef[train][nn].mean(axis=1)).mean())


def main() -> None:
    items = [a.split("=", 1) for a in sys.argv[1:]]
    names0, _, ef0, split0, _ = load(items[0][1])
    order = np.argsort(names0)
    names, ef, split = names0[order], ef0[order], split0[order]
    print("| vector | D | ridge R² | ridge MAE | kNN (k=5) MAE, standardised | kNN (k=5) MAE, pls-16 | vector meta |")
    print("|---|---|---|---|---|---|---|")
    for name, path in items:
        n, x, _, _, meta = load(path)
        pos = {v: i for i, v in enumerate(n)}
        x = x[[pos[v] for v in names]]
        r = readout(x, ef, split)
        print(f"| {name} | {x.shape[1]} | {r['ridge_r2']:.3f} | {r['ridge_mae']:.2f} | {r['knn_mae']:.2f} | "
              f"{pls_knn(x, ef, split):.2f} | {meta.get('vector', meta.get('representation', '-'))} |", flush=True)
    print(f"TRAIN {int((split == 'TRAIN').sum())}, TEST {int((split == 'TEST').sum())}; constant TRAIN mean "
          f"R² {r['const_r2']:.3f}, MAE {r['const_mae']:.2f}")


if __name__ == "__main__":
    main()
