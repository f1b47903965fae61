"""Benchmark of motion-feature extraction: videos/s end to end, split into decoding and inference,
and (optional) whether motion vectors carry EF better than appearance.

    .venv/bin/python benchmarks/bench_extract.py DATA_DIR --engine ifa.pt [--batch-size 16] [--threads 2]
    .venv/bin/python benchmarks/bench_extract.py DATA_DIR --engine ifa.pt --ef-probe

Three passes over the same videos: (1) decoding only (the endpoint frames of both pairs, resized and
normalised: the CPU floor), (2) inference only on the decoded frames, batched, (3) the real pipelined
`extract` (background reader + encoder). Without --engine an untrained `small` model is used (inference
cost does not depend on the weights).
--ef-probe: kNN EF regression (k=5, standardised features, TRAIN -> TEST, else a 70/30 cut) with the motion
vectors vs with appearance (the four endpoint frames average-pooled to 8x8, concatenated); MAE in EF points.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def knn_mae(x_tr, y_tr, x_te, y_te, k: int = 5) -> float:
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-8
    a, b = (x_tr - mu) / sd, (x_te - mu) / sd
    d = (b ** 2).sum(1)[:, None] + (a ** 2).sum(1)[None] - 2 * b @ a.T
    nn = np.argsort(d, axis=1)[:, :k]
    return float(np.abs(y_tr[nn].mean(1) - y_te).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("--engine", default=None)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--split", default=None)
    ap.add_argument("--max-videos", type=int, default=None)
    ap.add_argument("--ef-probe", action="store_true")
    args = ap.parse_args()

    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.extract.pipeline import ExtractConfig, extract_features
    from infomotion_rt.extract.files import read_features
    from infomotion_rt.runtime.inputs import endpoint_input
    from infomotion_rt.runtime import load_encoder

    engine = args.engine
    if engine is None:
        import torch

        from infomotion_rt.motion.ifa import CONFIGS, IFANet
        from infomotion_rt.motion.train import save_checkpoint

        torch.manual_seed(0)
        engine = save_checkpoint(Path(tempfile.mkdtemp()) / "untrained-small.pt", IFANet(CONFIGS["small"]))
    enc = load_encoder(engine, threads=args.threads)
    ds = load_dataset(args.data_dir, progress=False)
    recs = (ds.split(args.split) if args.split else ds.records)[: args.max_videos]
    n = len(recs)
    print(f"# extraction, {n} videos of {args.data_dir}, engine {engine} ({enc.name}, D={enc.feature_dim}), "
          f"batch {args.batch_size}, {args.threads} threads")

    t0 = time.perf_counter()
    frames = np.stack([endpoint_input(r, enc.image_size) for r in recs])
    decode_s = time.perf_counter() - t0
    print(f"decode only     : {decode_s:7.2f} s  {n / decode_s:7.1f} videos/s")

    enc(frames[: args.batch_size])  # warm-up
    t0 = time.perf_counter()
    vecs = np.concatenate([enc(frames[s:s + args.batch_size]) for s in range(0, n, args.batch_size)])
    infer_s = time.perf_counter() - t0
    print(f"inference only  : {infer_s:7.2f} s  {n / infer_s:7.1f} videos/s")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "f.npz"
        cfg = ExtractConfig(split=args.split, batch_size=args.batch_size, threads=args.threads)
        res = extract_features(args.data_dir, engine, out, cfg, encoder=enc, progress=False) \
            if args.max_videos is None else None
        if res is not None:
            print(f"pipelined extract: {res.wall_s:7.2f} s  {res.n_new / res.wall_s:7.1f} videos/s "
                  f"(reader decode {res.decode_s:.2f} s, inference {res.infer_s:.2f} s, "
                  f"encoder waited {res.wait_s:.2f} s, {len(res.problems)} problems)")
            fs = read_features(out)
            order = {name: i for i, name in enumerate(fs.names)}
            keep = np.array([r.name in order for r in recs])
            vecs = fs.features[[order[r.name] for r in recs if r.name in order]]
            frames, recs = frames[keep], [r for r, k in zip(recs, keep) if k]

    if args.ef_probe:
        ef_probe(vecs, frames, recs)


def loo_knn_mae(x, y, k: int = 5) -> float:
    """Leave-one-out kNN regression over every video (steadier than a small TEST split)."""
    z = (x - x.mean(0)) / (x.std(0) + 1e-8)
    d = (z ** 2).sum(1)[:, None] + (z ** 2).sum(1)[None] - 2 * z @ z.T
    np.fill_diagonal(d, np.inf)
    return float(np.abs(y[np.argsort(d, axis=1)[:, :k]].mean(1) - y).mean())


def ef_probe(vecs: np.ndarray, frames: np.ndarray, recs) -> None:
    ef = np.array([r.ef for r in recs])
    split = np.array([r.split for r in recs])
    tr, te = split == "TRAIN", split == "TEST"
    b, s = frames.shape[0], frames.shape[-1]
    reps = {f"motion vectors (D={vecs.shape[1]})": vecs.astype(np.float64),
            "appearance (4 frames pooled 8x8)": frames.reshape(b, 4, 8, s // 8, 8, s // 8).mean(axis=(3, 5)).reshape(b, -1)}
    print(f"EF probe, kNN k=5 regression MAE in EF points ({tr.sum()} TRAIN -> {te.sum()} TEST | leave-one-out "
          f"over {b}):")
    for name, x in reps.items():
        split_mae = knn_mae(x[tr], ef[tr], x[te], ef[te]) if tr.sum() >= 5 and te.sum() else float("nan")
        print(f"  {name:34s}: {split_mae:6.2f} | {loo_knn_mae(x, ef):6.2f}")
    print(f"  {'predicting the mean EF':34s}: {np.abs(ef[tr].mean() - ef[te]).mean() if te.sum() else float('nan'):6.2f}"
          f" | {np.abs(ef - ef.mean()).mean():6.2f}")


if __name__ == "__main__":
    main()
