"""The plain script a user would write: per EF class, FAISS exact kNN -> Gaussian kNN graph -> Infomap
-> the highest-degree videos, one community after another. Baseline of bench_select_scale.py.

    .venv/bin/python benchmarks/plain_faiss_infomap.py features.npz --vpc 10
"""
import argparse

import faiss  # before infomap (both are SWIG modules; see graph.py)
import infomap
import numpy as np

EF_EDGES = (30, 40, 50, 70)  # Severe | Moderate | Mild | Normal | Hyperdynamic


def plain_select(x, ef, vpc=10, k=10, trials=5, seed=1):
    """Row indices picked per class {class: [rows]}."""
    cls, picks = np.searchsorted(EF_EDGES, ef, side="right"), {}
    for c in np.unique(cls):
        rows = np.flatnonzero(cls == c)
        xc = np.ascontiguousarray(x[rows], dtype=np.float32)
        index = faiss.IndexFlatL2(xc.shape[1])
        index.add(xc)
        sq, nb = index.search(xc, k + 1)
        d, nb = np.sqrt(np.maximum(sq[:, 1:], 0)), nb[:, 1:]  # column 0: the point itself
        sigma = np.maximum(d[:, min(7, k) - 1], 1e-12)          # self-tuning scale (7th neighbour)
        w = np.exp(-d**2 / (sigma[:, None] * sigma[nb]))
        im = infomap.Infomap(two_level=True, silent=True, num_trials=trials, seed=seed)
        im.add_links(zip(np.repeat(np.arange(len(rows)), k).tolist(), nb.ravel().tolist(), w.ravel().tolist()))
        im.run()
        module = np.array([m for _, m in sorted(im.get_modules().items())])
        degree = np.bincount(np.repeat(np.arange(len(rows)), k), w.ravel(), len(rows)) + np.bincount(
            nb.ravel(), w.ravel(), len(rows))
        groups = sorted((np.flatnonzero(module == m) for m in np.unique(module)), key=len, reverse=True)
        groups = [g[np.argsort(-degree[g], kind="stable")] for g in groups]
        chosen, r = [], 0
        while len(chosen) < min(vpc, len(rows)):  # round-robin: best of each community, then the next
            chosen += [g[r] for g in groups if r < len(g)][: vpc - len(chosen)]
            r += 1
        picks[int(c)] = rows[chosen].tolist()
    return picks


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("features")
    ap.add_argument("--vpc", type=int, default=10)
    args = ap.parse_args()
    z = np.load(args.features)
    for c, rows in plain_select(z["features"], z["ef"], args.vpc).items():
        print(c, " ".join(str(z["names"][i]) for i in rows))
