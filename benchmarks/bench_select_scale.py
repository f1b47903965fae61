"""`select` at scale: approximate kNN with measured recall, against exact search and a plain script.

    .venv/bin/python benchmarks/bench_select_scale.py                 # 1,000,000 and 100,000 x 256
    .venv/bin/python benchmarks/bench_select_scale.py --n-large 0     # only the 100k comparison

Data: planted clusters (~100 vectors each, centres N(0, 9 I), noise N(0, I), D = 256) in 5 EF classes
with the phantom's EchoNet-like shares (data/phantom_params.CLASS_SHARES: 6/7/10/65/12 %), all TRAIN;
select runs on the raw 256-dim vectors (metric raw), as the plain script does.
Cases, each in its own child process (so its peak RSS, ru_maxrss, is its own; "data" = the resident
size right after the vectors were generated, which the CLI would hold after reading the file):

  (a) ours on N_large (approximate kNN above 20,000 per class): wall time of select_features, peak
      RSS, kNN recall per class (estimated on 1,000 queries), planted clusters covered by the VPC picks;
  (b) N_small: ours (approximate), ours with --exact-knn, and benchmarks/plain_faiss_infomap.py (FAISS
      exact kNN + Infomap, 5 trials): speed-up, overlap of the approximate and exact selections, and the
      clusters covered by each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

SHARES = (0.06, 0.07, 0.10, 0.65, 0.12)   # = data/phantom_params.CLASS_SHARES
EF_MID = (20.0, 35.0, 45.0, 60.0, 80.0)   # one EF per class, inside its bin


def make_data(n: int, d: int, seed: int, shares=SHARES):
    """(x float32 (n, d), ef float64 (n,), planted cluster id int64 (n,), unique over classes);
    ``shares``: the 5 EF classes' shares of n (bench_select.py passes its own)."""
    rng = np.random.default_rng(seed)
    sizes = np.floor(np.array(shares) * n).astype(int)
    sizes[3] += n - sizes.sum()
    x = np.empty((n, d), np.float32)
    ef = np.empty(n)
    label = np.empty(n, np.int64)
    start, first = 0, 0
    for c, m in enumerate(sizes):
        n_cl = max(m // 100, 2)
        centres = rng.normal(size=(n_cl, d)).astype(np.float32) * 3
        for s in range(start, start + m, 20000):  # chunks keep the generator's temporaries small
            e = min(s + 20000, start + m)
            lab = rng.integers(0, n_cl, e - s)
            x[s:e] = centres[lab] + rng.normal(size=(e - s, d)).astype(np.float32)
            label[s:e] = first + lab
        ef[start:start + m] = EF_MID[c]
        start, first = start + m, first + n_cl
    return x, ef, label


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_s() -> float:
    """CPU seconds (user + system) of this process: on a shared machine closer to the cost than wall."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_ours(x, ef, label, args, exact: bool) -> dict:
    from infomotion_rt.selection import methods as sel
    from infomotion_rt.extract.featureset import make_feature_set
    from infomotion_rt.extract.featureset import make_meta
    from infomotion_rt.selection.graph import GraphConfig
    from infomotion_rt.selection.knn_index import KnnConfig
    from infomotion_rt.selection.metric import RAW

    fs = make_feature_set([f"v{i}" for i in range(len(x))], x, ef, ["TRAIN"] * len(x), make_meta("bench"))
    knn = KnnConfig(index="exact" if exact else "auto", threads=args.threads)
    # The raw D-dim vectors, as the plain script gets them (select's default metric, pls-16, would
    # search 16-dim vectors): this times kNN at full dimension.
    cfg = sel.SelectConfig(vpc=args.vpc, seed=0, graph=GraphConfig(k=args.k, trials=args.trials, knn=knn), metric=RAW)
    t0 = time.perf_counter()
    res = sel.select_features(fs, cfg)
    total = time.perf_counter() - t0
    steps = {k: 0.0 for k in ("knn", "graph", "infomap", "centrality")}
    classes = {}
    for cname, (pick, sub) in res.picks.items():
        for k, v in pick.timings.items():
            steps[k] += v
        rows = [int(str(sub.names[i])[1:]) for i in pick.indices]
        cg = pick.class_graph
        info = {k: v for k, v in cg.knn_info.items() if k in ("index", "params", "recall", "recall_queries", "tuning")}
        classes[cname] = {"n": len(sub), "picks": rows, "covered": len(set(label[rows].tolist())),
                          "communities": int(pick.n_communities), "trials": cg.trials, "knn": info,
                          "ari": _ari(label[[int(str(s)[1:]) for s in sub.names]], cg.partition.communities)}
    steps["other"] = total - sum(steps.values())
    return {"total": total, "steps": steps, "classes": classes}


def _ari(truth, found):
    try:
        from sklearn.metrics import adjusted_rand_score
    except ImportError:
        return None
    return float(adjusted_rand_score(truth, found))


def run_plain(x, ef, label, args) -> dict:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from plain_faiss_infomap import plain_select

    t0 = time.perf_counter()
    picks = plain_select(x, ef, args.vpc, args.k, args.trials)
    total = time.perf_counter() - t0
    names = ("Severe", "Moderate", "Mild", "Normal", "Hyperdynamic")
    classes = {names[c]: {"n": int((ef == EF_MID[c]).sum()), "picks": rows, "covered": len(set(label[rows].tolist()))}
               for c, rows in picks.items()}
    return {"total": total, "steps": {}, "classes": classes}


def child(args) -> None:
    t0 = time.perf_counter()
    x, ef, label = make_data(args.n, args.d, args.seed)
    gen, base, cpu0 = time.perf_counter() - t0, rss_mb(), cpu_s()
    if args.child == "plain":
        out = run_plain(x, ef, label, args)
    else:
        out = run_ours(x, ef, label, args, exact=args.child == "exact")
    out.update(peak_mb=rss_mb(), base_mb=base, generate_s=gen, cpu_s=cpu_s() - cpu0)
    print(json.dumps(out))


def load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def run_case(kind: str, n: int, args) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, f"--n={n}"] + [
        f"--{a}={getattr(args, a)}" for a in ("d", "vpc", "k", "trials", "seed", "threads")]
    before, t0 = load(), time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{kind} N={n} failed:\n{p.stderr[-3000:]}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r.update(load_before=before, load_after=load(), process_wall=wall)
    label = {"ours": "ours (approximate above 20k/class)", "exact": "ours --exact-knn", "plain": "plain FAISS-exact + infomap"}[kind]
    print(f"\n[{label}] N={n:,}: select {r['total']:.1f} s wall, {r['cpu_s']:.1f} CPU s (process {wall:.1f} s incl. data generation "
          f"{r['generate_s']:.1f} s), peak RSS {r['peak_mb']:.0f} MB (data {r['base_mb']:.0f} MB), "
          f"load {r['load_before']} -> {r['load_after']}", flush=True)
    if r["steps"]:
        print("  steps: " + "  ".join(f"{k} {v:.1f} s" for k, v in r["steps"].items()))
    for cname, c in r["classes"].items():
        line = f"  {cname:12s} n={c['n']:>7,} clusters covered by {len(c['picks'])} picks: {c['covered']}"
        if "knn" in c:
            k = c["knn"]
            params = ",".join(f"{a}={b}" for a, b in k["params"].items())
            line += (f"  kNN {k['index']}{'(' + params + ')' if params else ''} recall {k['recall']:.4f}"
                     f"  trials {c['trials']}  communities {c['communities']}"
                     + (f"  ARI {c['ari']:.3f}" if c.get("ari") is not None else ""))
        print(line, flush=True)
    return r


def overlap(a: dict, b: dict) -> str:
    parts, tot, same = [], 0, 0
    for cname in a["classes"]:
        pa, pb = set(a["classes"][cname]["picks"]), set(b["classes"][cname]["picks"])
        parts.append(f"{cname} {len(pa & pb)}/{len(pa)}")
        tot, same = tot + len(pa), same + len(pa & pb)
    return f"{same}/{tot} ({', '.join(parts)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-large", type=int, default=1_000_000, help="0 skips case (a)")
    ap.add_argument("--n-small", type=int, default=100_000, help="0 skips case (b)")
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--vpc", type=int, default=10)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child", choices=("ours", "exact", "plain"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    print(f"select at scale: D={args.d}, 5 EF classes {SHARES}, VPC={args.vpc}, k={args.k}, "
          f"trials={args.trials} (scaled per class), FAISS threads={args.threads}; {os.cpu_count()} CPUs, "
          f"load {load()}")
    if args.n_large:
        run_case("ours", args.n_large, args)
    if args.n_small:
        ours = run_case("ours", args.n_small, args)
        exact = run_case("exact", args.n_small, args)
        plain = run_case("plain", args.n_small, args)
        print(f"\nN={args.n_small:,}: CPU seconds plain / ours (approximate) = {plain['cpu_s'] / ours['cpu_s']:.1f}x; wall: "
              f"plain / ours (approximate) = {plain['total'] / ours['total']:.1f}x, "
              f"plain / ours --exact-knn = {plain['total'] / exact['total']:.1f}x, "
              f"exact / approximate (ours) = {exact['total'] / ours['total']:.1f}x")
        print(f"selection overlap, ours approximate vs ours exact: {overlap(ours, exact)}")
        print(f"selection overlap, ours approximate vs plain: {overlap(ours, plain)}")


if __name__ == "__main__":
    main()
