"""Candidate motion vectors from an IFA checkpoint's outputs, read out for EF beside the flow baseline
(issue 19, item 1): which output of the model carries EF.

    .venv/bin/python benchmarks/bench_ifa_vectors.py /tmp/dev21 CHECKPOINT.pt \
        --reference shipped=/tmp/dev21.npz --reference flow-v1=/tmp/flow21.npz [--limit 600] [--json OUT.json]

DATA_DIR: a dataset folder (development phantoms only); CHECKPOINT: an IFA training checkpoint (``train-ifa``).
``--reference NAME=FILE``: features files (``extract``; or a plain npz of ``names`` and ``x``) of the
same videos, read out alike (e.g. the shipped
encoder's vectors and the flow baseline, ``extract --representation flow``).

Every candidate is computed in torch (one thread) from the model's outputs only -- no image differences or
other hand-made features -- on the extraction input of each video (``runtime.inputs.endpoint_input``: ED, ES,
pair-2 start, pair-2 end, 112 x 112 in [0, 1]). Per frame pair (1 = ED->ES, 2 = the other half-cycle):

* ``mean``: the encoder's motion maps at 1/8 and 1/16 averaged over space, both directions (the paper's
  vector, ``MotionVectorModel(vector="mean")``);
* ``flow``: the flow heads' full-resolution flows middle->start and middle->end (``IFANet.flows``), dx, dy and
  per-pixel magnitude, each averaged on an 8 x 8 grid (``MotionVectorModel(vector="flow-grid")`` for both pairs);
* ``flow4``: the same on a 4 x 4 grid; ``disp``: the flow middle->end minus middle->start (start->end
  displacement at the middle frame), dx, dy, magnitude on 8 x 8; ``mask``: the blend mask (sigmoid) on 8 x 8;
* ``mot3_2``/``mot3_4``: the 1/8 motion maps (both directions) averaged on a 2 x 2 / 4 x 4 grid;
  ``mot4_2``: the 1/16 maps on 2 x 2.

Suffix ``1``: pair 1 only; ``12``: both pairs. Read-out as ``bench_flow_vs_encoder.readout`` (ridge
``RidgeCV(alphas=np.logspace(-3, 5, 33))`` on TRAIN-standardised features fitted on the whole TRAIN pool, TEST
R² and MAE; kNN k = 5 MAE). Nothing is fitted on TEST.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_flow_vs_encoder import readout  # noqa: E402

COMBOS = {"flow12+mask12": ("flow12", "mask12"), "flow12+mean12": ("flow12", "mean12")}


def candidates(model, x_u8: np.ndarray, batch: int = 32) -> dict[str, np.ndarray]:
    """(N, 4, S, S) uint8 extraction inputs -> {variant: (N, D) float32} (module docstring)."""
    import torch
    import torch.nn.functional as F

    from infomotion_rt.motion.ifa import _halves

    def pool(t, g):
        return F.adaptive_avg_pool2d(t, g).flatten(1)

    def fl(f, g=8):
        return torch.cat([pool(f, g), pool(f.norm(dim=1, keepdim=True), g)], 1)

    feats: dict[str, list] = {}
    with torch.no_grad():
        for s in range(0, len(x_u8), batch):
            x = torch.from_numpy(x_u8[s:s + batch]).float() / 255
            per = []
            for a, b in ((0, 1), (2, 3)):
                f = model.encoder.features(x[:, a:a + 1], x[:, b:b + 1])
                full = model.flows(f)
                t0, t1, m = full[:, 0:2], full[:, 2:4], torch.sigmoid(full[:, 4:5])
                mean = torch.cat([torch.stack(_halves(f[k].mean(dim=(2, 3))), 1) for k in ("mot3", "mot4")], 2)
                per.append({"mean": mean.flatten(1), "flow": torch.cat([fl(t0), fl(t1)], 1),
                            "flow4": torch.cat([fl(t0, 4), fl(t1, 4)], 1), "disp": fl(t1 - t0), "mask": pool(m, 8),
                            "mot3_2": torch.cat([pool(h, 2) for h in _halves(f["mot3"])], 1),
                            "mot3_4": torch.cat([pool(h, 4) for h in _halves(f["mot3"])], 1),
                            "mot4_2": torch.cat([pool(h, 2) for h in _halves(f["mot4"])], 1)})
            for k in per[0]:
                feats.setdefault(k + "1", []).append(per[0][k].numpy())
                feats.setdefault(k + "12", []).append(torch.cat([per[0][k], per[1][k]], 1).numpy())
    return {k: np.concatenate(v) for k, v in feats.items()}


def load_inputs(data_dir, limit=None, cache=None):
    """(names, (N, 4, 112, 112) uint8, ef, split) of the dataset's videos (first ``limit``), cached in ``cache``."""
    if cache and Path(cache).is_file():
        c = np.load(cache)
        return c["names"][:limit], c["x"][:limit], c["ef"][:limit], c["split"][:limit]
    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.runtime.inputs import endpoint_input

    recs = load_dataset(data_dir, progress=False).records[:limit]
    x = np.stack([np.round(endpoint_input(r) * 255).astype(np.uint8) for r in recs])
    names = np.array([r.name for r in recs])
    ef, split = np.array([r.ef for r in recs], float), np.array([r.split for r in recs])
    if cache:
        np.savez(cache, names=names, x=x, ef=ef, split=split)
    return names, x, ef, split


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("checkpoint")
    ap.add_argument("--reference", action="append", default=[], help="NAME=FEATURES_FILE of the same videos")
    ap.add_argument("--limit", type=int, default=None, help="first N videos only (quick runs)")
    ap.add_argument("--cache", default=None, help="npz cache of the decoded extraction inputs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torch

    from infomotion_rt.extract.files import read_features
    from infomotion_rt.motion.train import load_checkpoint, model_from_checkpoint

    torch.set_num_threads(args.threads)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    names, x, ef, split = load_inputs(args.data_dir, args.limit, args.cache)
    model = model_from_checkpoint(load_checkpoint(args.checkpoint), args.checkpoint).eval()
    t0 = time.perf_counter()
    feats = candidates(model, x)
    print(f"{len(names)} videos: candidates in {time.perf_counter() - t0:.1f} s (torch, {args.threads} thread)")
    rows = {}
    for name, parts in [(k, (k,)) for k in feats] + list(COMBOS.items()):
        rows[name] = readout(np.concatenate([feats[p] for p in parts], 1), ef, split)
    for ref in args.reference:
        rname, path = ref.split("=", 1)
        with np.load(path) as z:     # a features file, or a plain npz of names and x (N, D)
            ref_names, ref_x = (z["names"], z["x"]) if "x" in z.files else (None, None)
        if ref_x is None:
            fs = read_features(path)
            ref_names, ref_x = fs.names, fs.features
        pos = {n: i for i, n in enumerate(ref_names)}
        rows[rname] = readout(ref_x[[pos[n] for n in names]], ef, split)
    r0 = next(iter(rows.values()))
    print(f"\nread-out on {args.data_dir} ({len(names)} videos: TRAIN {r0['n_train']}, TEST {r0['n_test']}); "
          f"checkpoint {Path(args.checkpoint).name}")
    print("| vector | D | ridge R² | ridge MAE | kNN (k=5) MAE |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['dim']} | {r['ridge_r2']:.3f} | {r['ridge_mae']:.2f} | {r['knn_mae']:.2f} |")
    print(f"| constant TRAIN mean | - | {r0['const_r2']:.3f} | {r0['const_mae']:.2f} | - |")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
