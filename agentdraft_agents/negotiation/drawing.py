"""Draw a compiled graph with matplotlib, offline.

LangGraph's PNG drawing calls a web service (mermaid.ink) or needs Graphviz; a
notebook run in CI has neither. This lays the nodes out in rows by their distance
from ``__start__`` and draws conditional edges dashed, which is enough to read a
negotiation graph's shape. ``graph.get_graph().draw_mermaid()`` still gives text.
"""

from __future__ import annotations

from collections import deque
from typing import Any


def layers(graph: Any) -> dict[str, int]:
    """Each node's row: its shortest distance from ``__start__``; ``__end__`` last."""
    g = graph.get_graph()
    out_edges: dict[str, list[str]] = {}
    for e in g.edges:
        out_edges.setdefault(e.source, []).append(e.target)
    depth = {"__start__": 0}
    queue = deque(["__start__"])
    while queue:
        n = queue.popleft()
        for t in out_edges.get(n, []):
            if t not in depth:
                depth[t] = depth[n] + 1
                queue.append(t)
    depth.pop("__end__", None)
    last = max(depth.values(), default=0) + 1
    return {n: depth.get(n, last) for n in g.nodes}  # __end__ (and the unreached) last


def draw_graph(graph: Any, *, title: str | None = None, ax: Any = None) -> Any:
    """A matplotlib Figure of ``graph`` (a compiled LangGraph graph)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    g = graph.get_graph()
    rows = layers(graph)
    by_row: dict[int, list[str]] = {}
    for n, r in sorted(rows.items(), key=lambda kv: (kv[1], kv[0])):
        by_row.setdefault(r, []).append(n)
    pos: dict[str, tuple[float, float]] = {}
    for r, names in by_row.items():
        for i, n in enumerate(names):
            pos[n] = ((i - (len(names) - 1) / 2) * 2.6, -r * 1.5)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 1.4 * (len(by_row) + 1)))
    else:
        fig = ax.figure
    for n, (x, y) in pos.items():
        terminal = n in ("__start__", "__end__")
        ax.add_patch(
            FancyBboxPatch(
                (x - 1.0, y - 0.3),
                2.0,
                0.6,
                boxstyle="round,pad=0.05",
                fc="#eeeeee" if terminal else "#cfe3ff",
                ec="#333333",
            )
        )
        ax.text(x, y, n.strip("_"), ha="center", va="center", fontsize=10)
    seen: dict[tuple[str, str], int] = {}
    for e in g.edges:
        (x0, y0), (x1, y1) = pos[e.source], pos[e.target]
        k = seen[(e.source, e.target)] = seen.get((e.source, e.target), 0) + 1
        skip = (y0 - y1) / 1.5  # rows travelled: 1 = the next row down
        # Back edges curve right, edges skipping rows curve left: neither crosses a box.
        bend = 0.45 * k if y1 >= y0 else (-0.35 if skip > 1 and x0 == x1 else 0.0)
        ax.add_patch(
            FancyArrowPatch(
                (x0, y0 - 0.3 if y1 < y0 else y0),
                (x1, y1 + 0.3 if y1 < y0 else y1),
                connectionstyle=f"arc3,rad={bend}",
                arrowstyle="-|>",
                mutation_scale=14,
                linestyle="--" if e.conditional else "-",
                color="#444444",
            )
        )
        if e.data:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, str(e.data), fontsize=8, color="#555555")
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.6, max(xs) + 1.6)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig
