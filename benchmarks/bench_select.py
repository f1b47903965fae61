"""Benchmark of `select` (infomotion): FAISS + C++ core vs a straightforward NumPy + networkx version.

    .venv/bin/python benchmarks/bench_select.py                    # N=10,030, D=768, 5 classes, VPC=10
    .venv/bin/python benchmarks/bench_select.py --n 100000 --no-naive

Each implementation runs in its own child process on the same generated data (planted clusters per
EF class, EchoNet-like class shares), so peak memory (ru_maxrss) is its own. "extra" memory is the
peak minus the resident size right after the data was generated. Steps: kNN / graph / Infomap /
centrality (+ selection). Infomap is the same library in both; the naive side feeds it a networkx graph.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
from bench_select_scale import EF_MID, make_data as make_planted  # one planted-cluster generator for both benchmarks

SHARES = (0.07, 0.08, 0.12, 0.63, 0.10)  # Severe..Hyperdynamic, roughly EchoNet-Dynamic's skew (figures recorded with these)


def make_data(n: int, d: int, seed: int):
    x, ef, _ = make_planted(n, d, seed, SHARES)
    return x, ef


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_fast(x, ef, args) -> dict:
    from infomotion_rt.selection import methods as sel
    from infomotion_rt.extract.featureset import make_feature_set
    from infomotion_rt.extract.featureset import make_meta
    from infomotion_rt.selection.graph import GraphConfig
    from infomotion_rt.selection.metric import RAW

    fs = make_feature_set([f"v{i}" for i in range(len(x))], x, ef, ["TRAIN"] * len(x), make_meta("bench"))
    # The raw D-dim vectors, as the naive side gets them: this times the graph, not the metric transform.
    cfg = sel.SelectConfig(vpc=args.vpc, seed=0, graph=GraphConfig(k=args.k, trials=args.trials), metric=RAW)
    t0 = time.perf_counter()
    res = sel.select_features(fs, cfg)
    total = time.perf_counter() - t0
    steps = {k: 0.0 for k in ("knn", "graph", "infomap", "centrality")}
    for pick, _ in res.picks.values():
        for k, v in pick.timings.items():
            steps[k] += v
    steps["other"] = total - sum(steps.values())
    comms = [int(p.n_communities) for p, _ in res.picks.values()]
    edges = sum(len(p.class_graph.edges) for p, _ in res.picks.values())
    return {"total": total, "steps": steps, "communities": comms, "edges": edges, "selected": len(res.rows)}


def run_naive(x, ef, args) -> dict:
    import infomap
    import networkx as nx

    steps = {k: 0.0 for k in ("knn", "graph", "infomap", "centrality", "other")}
    comms, edges_total, selected = [], 0, 0
    t_all = time.perf_counter()
    for c in range(len(SHARES)):
        xc = x[ef == EF_MID[c]].astype(np.float64)
        n = len(xc)
        t0 = time.perf_counter()
        sq = (xc * xc).sum(1)
        dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * xc @ xc.T, 0.0))  # full n x n
        np.fill_diagonal(dist, np.inf)
        nbr = np.argsort(dist, axis=1)[:, :args.k]
        steps["knn"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        sigma = dist[np.arange(n), nbr[:, min(7, args.k) - 1]]
        g = nx.Graph()
        g.add_nodes_from(range(n))
        for i in range(n):
            for j in nbr[i]:
                j = int(j)
                w = float(np.exp(-dist[i, j] ** 2 / (sigma[i] * sigma[j])))
                if not g.has_edge(i, j) or g[i][j]["weight"] < w:
                    g.add_edge(i, j, weight=w)
        del dist
        steps["graph"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        res = infomap.run(g, two_level=True, directed=False, seed=1, num_trials=args.trials)
        module = res.modules()
        steps["infomap"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        local, glob = nx.Graph(), nx.Graph()
        local.add_nodes_from(g)
        glob.add_nodes_from(g)
        w_in, w_out = {}, {}
        for u, v, w in g.edges(data="weight"):
            if module[u] == module[v]:
                local.add_edge(u, v, weight=w)
                w_in[module[u]] = w_in.get(module[u], 0.0) + w
            else:
                glob.add_edge(u, v, weight=w)
                w_out[module[u]] = w_out.get(module[u], 0.0) + w
                w_out[module[v]] = w_out.get(module[v], 0.0) + w
        ld = dict(local.degree(weight="weight"))
        gd = dict(glob.degree(weight="weight"))
        nx.pagerank(local, weight="weight")   # the second base centrality, as the core computes it
        nx.pagerank(glob, weight="weight")
        lmax, gmax = max(ld.values()) or 1.0, max(gd.values()) or 1.0
        score = {}
        for i in g:
            a, b = w_in.get(module[i], 0.0), w_out.get(module[i], 0.0)
            alpha = a / (a + b) if a + b > 0 else 1.0
            score[i] = alpha * ld[i] / lmax + (1 - alpha) * gd[i] / gmax
        groups = {}
        for i in sorted(g, key=lambda i: -score[i]):
            groups.setdefault(module[i], []).append(i)
        order = sorted(groups.values(), key=lambda m: (-len(m), min(m)))
        picks, r = [], 0
        while len(picks) < min(args.vpc, n):
            picks += [m[r] for m in order if r < len(m)][: args.vpc - len(picks)]
            r += 1
        steps["centrality"] += time.perf_counter() - t0
        comms.append(len(groups))
        edges_total += g.number_of_edges()
        selected += len(picks)
    total = time.perf_counter() - t_all
    steps["other"] = total - sum(v for k, v in steps.items() if k != "other")
    return {"total": total, "steps": steps, "communities": comms, "edges": edges_total, "selected": selected}


def child(args) -> None:
    x, ef = make_data(args.n, args.d, args.seed)
    base = rss_mb()
    out = (run_fast if args.child == "fast" else run_naive)(x, ef, args)
    out.update(peak_mb=rss_mb(), base_mb=base)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10030)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--vpc", type=int, default=10)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--naive", action=argparse.BooleanOptionalAction, default=None,
                    help="run the NumPy + networkx comparison (default: only when N <= 20,000)")
    ap.add_argument("--child", choices=("fast", "naive"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    naive = args.naive if args.naive is not None else args.n <= 20000
    print(f"select benchmark: N={args.n:,} D={args.d} classes=5 VPC={args.vpc} k={args.k} trials={args.trials}")
    results = {}
    for kind in ("fast",) + (("naive",) if naive else ()):
        cmd = [sys.executable, __file__, "--child", kind] + [f"--{a}={getattr(args, a)}" for a in
                                                             ("n", "d", "vpc", "k", "trials", "seed")]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"{kind} run failed:\n{p.stderr[-2000:]}")
        results[kind] = r = json.loads(p.stdout.strip().splitlines()[-1])
        label = "FAISS + C++ core" if kind == "fast" else "NumPy + networkx"
        print(f"\n{label}: total {r['total']:.2f} s, peak RSS {r['peak_mb']:.0f} MB "
              f"(data {r['base_mb']:.0f} MB, extra {r['peak_mb'] - r['base_mb']:.0f} MB), "
              f"{r['edges']:,} edges, communities per class {r['communities']}, selected {r['selected']}")
        print("  " + "  ".join(f"{k} {v:.3f} s" for k, v in r["steps"].items()))
    if naive:
        f, s = results["fast"], results["naive"]
        print(f"\nspeed-up total {s['total'] / f['total']:.1f}x; per step: " + ", ".join(
            f"{k} {s['steps'][k] / max(f['steps'][k], 1e-9):.1f}x" for k in ("knn", "graph", "infomap", "centrality")))
        print(f"extra memory: {f['peak_mb'] - f['base_mb']:.0f} MB vs {s['peak_mb'] - s['base_mb']:.0f} MB")


if __name__ == "__main__":
    main()
