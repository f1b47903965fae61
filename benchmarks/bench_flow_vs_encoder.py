"""The optical-flow baseline (``infomotion_rt.extract.flow``, flow-v1) against the shipped encoder's motion vector:
EF read-out and extraction speed, side by side in one run (issue 19, items 2 and 3).

    .venv/bin/python benchmarks/bench_flow_vs_encoder.py /tmp/dev21 /tmp/dev21.npz

DATA_DIR: a dataset folder (development data only: the phantom of seed 21, 1,500 traced videos);
ENCODER_FEATURES: the encoder's features file of the same videos (``infomotion-rt extract DATA_DIR``).
Nothing is tuned here: the flow definition and the read-outs are pinned by the issue.

Read-out, per representation (the encoder's vectors from ENCODER_FEATURES; flow computed here through
``extract --representation flow``'s code, ``extract.pipeline.extract_features``):

* ridge: ``RidgeCV(alphas=np.logspace(-3, 5, 33))`` fitted on the whole TRAIN pool, on features standardised
  with the TRAIN pool's mean and std (a constant feature: std 1), scored on TEST: R², MAE (EF points);
* kNN: k = 5, Euclidean on the same standardised features, the mean EF of the 5 nearest TRAIN videos,
  scored on TEST: MAE;
* the constant TRAIN-mean predictor beside them.

Speed, all in this process or its children on this machine (videos/s, decode included; the page cache is
warmed by the first pass, the decode-only floor):

* decode-only floor: ``flow.ed_es_frames`` for every video (the frames flow needs), one process;
* flow, one core: ``flow.video_flow`` in a loop, in a child process pinned to one CPU, OpenCV 1 thread;
* flow, one process (the product: ``extract --representation flow``): reader thread decoding, main thread
  computing the flow, OpenCV's default threads;
* flow, two processes: a pool of 2 workers, OpenCV 1 thread each, videos split between them;
* encoder: ``extract`` with the shipped encoder (default engine, ONNX Runtime, its default threads) on the
  TEST split, into a temporary file, between two flow extractions of the same videos (the same-run ratio).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import RidgeCV

from infomotion_rt.data.loader import load_dataset
from infomotion_rt.extract.files import read_features
from infomotion_rt.extract.flow import FLOW_DEFINITION, ed_es_frames, video_flow
from infomotion_rt.extract.pipeline import ExtractConfig, extract_features

ALPHAS = np.logspace(-3, 5, 33)
K = 5


def standardise(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    mu, sd = x[train].mean(axis=0), x[train].std(axis=0)
    return (x - mu) / np.where(sd > 0, sd, 1.0)


def readout(x: np.ndarray, ef: np.ndarray, split: np.ndarray) -> dict:
    train, test = split == "TRAIN", split == "TEST"
    z = standardise(x.astype(np.float64), train)
    ridge = RidgeCV(alphas=ALPHAS).fit(z[train], ef[train])
    pred = ridge.predict(z[test])
    y = ef[test]
    ss_tot = ((y - y.mean()) ** 2).sum()
    r2 = 1 - ((y - pred) ** 2).sum() / ss_tot
    d2 = ((z[test][:, None, :] - z[train][None, :, :]) ** 2).sum(axis=2)
    nn = np.argsort(d2, axis=1, kind="stable")[:, :K]
    knn = ef[train][nn].mean(axis=1)
    const = ef[train].mean()
    return {"ridge_r2": float(r2), "ridge_mae": float(np.abs(y - pred).mean()), "alpha": float(ridge.alpha_),
            "knn_mae": float(np.abs(y - knn).mean()), "const_r2": float(1 - ((y - const) ** 2).sum() / ss_tot),
            "const_mae": float(np.abs(y - const).mean()), "n_train": int(train.sum()), "n_test": int(test.sum()),
            "dim": int(x.shape[1])}


def _one_thread() -> None:
    import cv2

    cv2.setNumThreads(1)   # the child's OpenCV only


def _flow_chunk(records) -> int:
    _one_thread()
    for rec in records:
        video_flow(rec)
    return len(records)


def _one_core(records, q) -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    _one_thread()
    t0 = time.perf_counter()
    for rec in records:
        video_flow(rec)
    q.put(time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("encoder_features")
    ap.add_argument("--json", default=None, help="Also write the figures as JSON here.")
    args = ap.parse_args()

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    records = load_dataset(args.data_dir, progress=False).records
    n = len(records)
    ctx = mp.get_context("fork")
    speed = {}

    t0 = time.perf_counter()
    for rec in records:
        ed_es_frames(rec)
    speed["decode-only floor (ED/ES frames), one process"] = n / (time.perf_counter() - t0)
    print(speed, flush=True)

    q = ctx.Queue()
    p = ctx.Process(target=_one_core, args=(records, q))
    p.start()
    secs = q.get()
    p.join()
    speed["flow, one core (plain loop, OpenCV 1 thread)"] = n / secs
    one_core_s = secs

    tmp = Path(tempfile.mkdtemp(prefix="bench_flow_"))
    res = extract_features(args.data_dir, None, tmp / "flow.npz", ExtractConfig(), progress=False,
                           representation="flow")
    speed["flow, one process (extract --representation flow)"] = res.n_new / res.wall_s
    flow_fs = read_features(tmp / "flow.npz")
    assert res.n_new == n, res.problems.lines()[:3]   # problems may hold dataset notes (EF disagreements)

    chunks = [records[i::2] for i in range(2)]
    t0 = time.perf_counter()
    with ctx.Pool(2) as pool:
        done = sum(pool.map(_flow_chunk, chunks))
    speed["flow, two processes (OpenCV 1 thread each)"] = done / (time.perf_counter() - t0)

    # same-run ratio: the encoder and flow on the same TEST videos, back to back (flow before and after)
    flow_t = [extract_features(args.data_dir, None, tmp / "flow_test0.npz", ExtractConfig(split="TEST"),
                               progress=False, representation="flow")]
    enc_res = extract_features(args.data_dir, None, tmp / "enc_test.npz", ExtractConfig(split="TEST"),
                               progress=False)
    flow_t.append(extract_features(args.data_dir, None, tmp / "flow_test1.npz", ExtractConfig(split="TEST"),
                                   progress=False, representation="flow"))
    flow_test = sum(r.n_new for r in flow_t) / sum(r.wall_s for r in flow_t)
    speed[f"encoder, one process (extract, shipped ONNX, {enc_res.n_new} TEST videos)"] = enc_res.n_new / enc_res.wall_s
    speed["flow, one process (extract --representation flow, the same TEST videos, before and after)"] = flow_test
    print(speed, flush=True)

    shutil.rmtree(tmp)
    enc_fs = read_features(args.encoder_features)
    rows = {}
    for name, fs in (("encoder", enc_fs), ("flow", flow_fs)):
        order = np.argsort(fs.names)
        names, x, ef, split = fs.names[order], fs.features[order], fs.ef[order], fs.split[order]
        rows[name] = readout(x, ef, split)
        rows[name]["n_videos"] = len(names)
    assert sorted(enc_fs.names.tolist()) == sorted(flow_fs.names.tolist()), "the two files hold other videos"

    print(f"\nread-out on {args.data_dir} (TRAIN {rows['flow']['n_train']}, TEST {rows['flow']['n_test']})")
    print("| representation | D | ridge R² | ridge MAE | kNN (k=5) MAE | ridge alpha |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['dim']} | {r['ridge_r2']:.3f} | {r['ridge_mae']:.2f} | {r['knn_mae']:.2f} | {r['alpha']:.3g} |")
    r = rows["flow"]
    print(f"| constant TRAIN mean | - | {r['const_r2']:.3f} | {r['const_mae']:.2f} | - | - |")
    print("\nspeed (videos/s, decode included)")
    print("| what | videos/s |")
    print("|---|---|")
    for k, v in speed.items():
        print(f"| {k} | {v:.1f} |")
    print(f"\nflow on one core: {n} videos in {one_core_s:.1f} s; product extract decode {res.decode_s:.1f} s "
          f"(reader thread), flow {res.infer_s:.1f} s, wall {res.wall_s:.1f} s; encoder decode "
          f"{enc_res.decode_s:.1f} s, inference {enc_res.infer_s:.1f} s, wall {enc_res.wall_s:.1f} s")
    print(f"encoder / flow time on the same TEST videos, same run: {flow_test * enc_res.wall_s / enc_res.n_new:.2f}x")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"readout": rows, "speed": speed, "definition": FLOW_DEFINITION,
                                               "one_core_s": one_core_s}, indent=2))


if __name__ == "__main__":
    main()
