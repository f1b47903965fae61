"""Which spatial summary of the IFA motion maps carries EF? (a probe, not a timing)

    .venv/bin/python benchmarks/probe_motion_pooling.py DATA_DIR --engine ifa.pt

For every video the motion maps of both pairs and directions (``IFAEncoder.encode``) are summarised in
several ways: mean over space (the shipped layout), mean + std, a 2x2 grid of means, mean of absolute
values, and, for comparison, the attention-pooled appearance at 1/16. Each summary is scored by kNN
(k=5, leave-one-out) and ridge (10-fold) EF regression, MAE in EF points, beside predicting the mean.
Needs a torch checkpoint (.pt): the maps are internal to the encoder, not in the exported vector.
"""

from __future__ import annotations

import argparse

import numpy as np


def loo_knn_mae(x: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    a = (x - x.mean(0)) / (x.std(0) + 1e-8)
    d = (a ** 2).sum(1)[:, None] + (a ** 2).sum(1)[None] - 2 * a @ a.T
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, 1)[:, :k]
    return float(np.abs(y[nn].mean(1) - y).mean())


def ridge_cv_mae(x: np.ndarray, y: np.ndarray, folds: int = 10) -> float:
    a = (x - x.mean(0)) / (x.std(0) + 1e-8)
    lam, fold, err = x.shape[1] / 4, np.arange(len(y)) % folds, []
    for f in range(folds):
        tr, te = fold != f, fold == f
        w = np.linalg.solve(a[tr].T @ a[tr] + lam * np.eye(a.shape[1]), a[tr].T @ (y[tr] - y[tr].mean()))
        err.append(np.abs(a[te] @ w + y[tr].mean() - y[te]))
    return float(np.concatenate(err).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("--engine", required=True, help="IFA checkpoint (.pt)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F

    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.motion.train import load_checkpoint, model_from_checkpoint
    from infomotion_rt.runtime.inputs import endpoint_input

    torch.set_num_threads(args.threads)
    recs = load_dataset(args.data_dir, progress=False).records
    x = np.stack([endpoint_input(r) for r in recs]).astype(np.float32)
    y = np.array([r.ef for r in recs])
    enc = model_from_checkpoint(load_checkpoint(args.engine), args.engine).encoder.eval()
    pools = {
        "mean (shipped layout)": lambda m: m.mean((3, 4)),
        "mean + std": lambda m: torch.cat([m.mean((3, 4)), m.std((3, 4))], 2),
        "2x2 grid of means": lambda m: F.adaptive_avg_pool2d(m.flatten(0, 1), 2).reshape(m.shape[0], 2, -1),
        "mean of |values|": lambda m: m.abs().mean((3, 4)),
    }
    out = {name: [] for name in [*pools, "appearance 1/16, mean"]}
    with torch.no_grad():
        for i in range(0, len(x), 16):
            fr = torch.from_numpy(x[i:i + 16])
            b = fr.shape[0]
            a_, b_ = torch.cat([fr[:, 0:1], fr[:, 2:3]]), torch.cat([fr[:, 1:2], fr[:, 3:4]])
            m3, m4 = enc.encode(a_, b_)                      # (2B, 2 directions, C, h, w)
            for name, pool in pools.items():
                v = torch.cat([pool(m3), pool(m4)], dim=2)   # (2B, 2, K): rows [:B] pair 1, [B:] pair 2
                out[name].append(torch.cat([v[:b].flatten(1), v[b:].flatten(1)], 1).numpy())
            app = enc.features(a_, b_)["app4"].mean((2, 3))  # (4B, C): [pair1 A; pair2 A; pair1 B; pair2 B]
            out["appearance 1/16, mean"].append(torch.cat([app[:2 * b][:b], app[:2 * b][b:]], 1).numpy())
    print(f"{len(y)} videos of {args.data_dir}, engine {args.engine}")
    print(f"{'predicting the mean EF':26s}          MAE {np.abs(y - y.mean()).mean():.2f}")
    for name, parts in out.items():
        f = np.concatenate(parts)
        print(f"{name:26s} D={f.shape[1]:5d}  kNN-LOO {loo_knn_mae(f, y):.2f}  ridge-CV {ridge_cv_mae(f, y):.2f}")


if __name__ == "__main__":
    main()
