"""The per-class graph figure (``select --plot``): matplotlib for the drawing, networkx's spring layout
for the node positions. Both are optional (the ``[plot]`` extra) and imported only when a figure is drawn;
graph.py, the boundary to the compiled core, stays free of plotting."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infomotion_rt.atomic import atomic_path
from infomotion_rt.console import plural
from infomotion_rt.errors import PLOT_EXTRA_HINT, require, require_pyplot


def spring_layout(n: int, edges: np.ndarray, seed: int) -> np.ndarray:
    """(n, 2) node positions: networkx's Fruchterman-Reingold ``spring_layout`` on the graph's (E, 3)
    edges (u, v, weight; heavier edges pull harder), seeded."""
    nx = require("networkx", what="--plot", hint=PLOT_EXTRA_HINT)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from((int(u), int(v), float(w)) for u, v, w in edges)
    pos = nx.spring_layout(g, weight="weight", seed=seed)
    return np.array([pos[i] for i in range(n)], dtype=np.float64).reshape(n, 2)


def plot_class_graphs(panels: list[tuple], path, max_nodes: int = 600, seed: int = 0) -> Path:
    """One PNG, one panel per class: the kNN graph in a spring layout, nodes coloured by community,
    selected videos as large outlined stars. ``panels``: (title, x, edges, communities, selected).
    Classes above ``max_nodes`` are drawn as the subgraph on a seeded sample that keeps the picks."""
    plt = require_pyplot("--plot")
    require("networkx", what="--plot", hint=PLOT_EXTRA_HINT)   # before any drawing
    from matplotlib.collections import LineCollection
    cols = min(3, max(len(panels), 1))
    rows = -(-len(panels) // cols) if panels else 1
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 5.5 * rows), squeeze=False)
    rng = np.random.default_rng(seed)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, (title, x, edges, comm, selected) in zip(axes.ravel(), panels):
        n = len(x)
        keep = np.arange(n)
        if n > max_nodes:
            others = np.setdiff1d(np.arange(n), selected)
            keep = np.sort(np.concatenate([selected, rng.choice(others, max_nodes - len(selected), replace=False)]))
            title += f" (sample of {max_nodes}/{n})"
        remap = np.full(n, -1)
        remap[keep] = np.arange(len(keep))
        e = edges[(remap[edges[:, 0].astype(int)] >= 0) & (remap[edges[:, 1].astype(int)] >= 0)] if len(edges) else edges
        e = np.column_stack([remap[e[:, 0].astype(int)], remap[e[:, 1].astype(int)], e[:, 2]]) if len(e) else np.empty((0, 3))
        pos = spring_layout(len(keep), e, seed)
        if len(e):
            segs = np.stack([pos[e[:, 0].astype(int)], pos[e[:, 1].astype(int)]], axis=1)
            ax.add_collection(LineCollection(segs, colors="0.75", linewidths=0.4, zorder=1))
        c = comm[keep]
        ax.scatter(pos[:, 0], pos[:, 1], c=c % 20, cmap="tab20", vmin=0, vmax=19, s=14, zorder=2)
        sel = remap[np.asarray(selected, dtype=int)]
        ax.scatter(pos[sel, 0], pos[sel, 1], c=c[sel] % 20, cmap="tab20", vmin=0, vmax=19, s=260, marker="*",
                   edgecolors="black", linewidths=1.2, zorder=3)
        found = plural(len(np.unique(comm)), "community", "communities")
        ax.set_title(f"{title}\n{found}, {len(selected)} selected (stars)", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return Path(path)
