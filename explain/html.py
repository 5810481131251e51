"""A self-contained HTML page that draws one explanation: the subgraph and its sentences.

The drawing is plain SVG computed here (no script, no network access): the user on the
left, the recommended item on the right, the nodes between in columns by their distance
from the user. Edge width follows the share of the path an edge first appears on, relative
to the largest.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

    from kgrec.explain.types import Explanation

COLOURS = {"user": "#1f77b4", "item": "#2ca02c", "tag": "#ff7f0e", "entity": "#9467bd"}
WIDTH, ROW, MARGIN, RADIUS = 960, 70, 90, 16


def layout(graph: nx.MultiDiGraph, source: str, target: str) -> dict[str, tuple[float, float]]:
    """Node positions: columns by undirected hop distance from ``source``, ``target`` last."""
    import networkx as nx

    undirected = nx.Graph(graph)
    depth = nx.single_source_shortest_path_length(undirected, source) if source in graph else {}
    last = max([*depth.values(), 1]) if target not in depth else max(depth[target], 1)
    columns: dict[int, list[str]] = {}
    for node in sorted(graph, key=lambda n: (graph.nodes[n].get("label", ""), n)):
        col = last if node == target else min(depth.get(node, last - 1), last - 1)
        if node == source:
            col = 0
        columns.setdefault(col, []).append(node)
    tallest = max((len(v) for v in columns.values()), default=1)
    height = tallest * ROW
    pos = {}
    for col, nodes in columns.items():
        x = MARGIN + (WIDTH - 2 * MARGIN) * col / last
        top = (height - len(nodes) * ROW) / 2 + ROW / 2
        for k, node in enumerate(nodes):
            pos[node] = (x, top + k * ROW)
    return pos


def render_explanation_html(explanation: Explanation, title: str | None = None) -> str:
    """The explanation as one HTML document (inline SVG and CSS, nothing fetched).

    Args:
        explanation: from :meth:`kgrec.Recommender.explain` or a recommendation.
        title: the page heading (default "Why TITLE for user USER").
    """
    graph = explanation.to_networkx()
    source = f"user:{explanation.user_id}"
    target = f"item:{explanation.item_id}"
    if target not in graph:
        graph.add_node(target, kind="item", id=explanation.item_id, label=explanation.title)
    if source not in graph:
        graph.add_node(
            source, kind="user", id=explanation.user_id, label=f"user {explanation.user_id}"
        )
    title = title or f"Why {explanation.title} for user {explanation.user_id}"
    pos = layout(graph, source, target)
    height = max(y for _, y in pos.values()) + ROW / 2
    edges = []
    top = max((abs(d.get("share") or 0.0) for *_, d in graph.edges(data=True)), default=0.0)
    for src, dst, data in graph.edges(data=True):
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        share = abs(data.get("share") or 0.0)
        width = 1.5 + (6.0 * share / top if top > 0 else 0.0)
        label = escape(data.get("type", ""))
        edges.append(
            f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke-width="{width:.1f}"><title>{label}</title></line>'
            f'<text class="rel" x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 4:.1f}">{label}</text>'
        )
    nodes = []
    for node, data in graph.nodes(data=True):
        x, y = pos[node]
        kind = data.get("kind", "item")
        label = escape(str(data.get("label") or data.get("id") or node))
        nodes.append(
            f'<g class="node {escape(kind)}" data-id="{escape(node)}">'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" fill="{COLOURS.get(kind, "#777")}">'
            f"<title>{escape(kind)} {escape(str(data.get('id', '')))}</title></circle>"
            f'<text x="{x:.1f}" y="{y + RADIUS + 14:.1f}">{label}</text></g>'
        )
    items = []
    for path in explanation.paths:
        shares = path.shares_text()
        items.append(f"<li>{escape(path.sentence)} <small>{escape(shares)}</small></li>")
    paths = f"<h2>Paths</h2><ol>{''.join(items)}</ol>" if items else ""
    told = "".join(f"<li>{escape(r.sentence)}</li>" for r in explanation.reasons)
    reasons = f"<h2>Reasons</h2><ol>{told}</ol>" if told else ""
    if explanation.seen:
        reasons = f"<p>{escape(explanation.own_sentence)}</p>{reasons}"
    legend = " ".join(
        f'<span class="key" style="background:{c}"></span>{escape(k)}' for k, c in COLOURS.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
svg {{ border: 1px solid #ddd; background: #fcfcfc; }}
.edge {{ stroke: #999; stroke-opacity: .7; }}
.rel {{ font-size: 10px; fill: #777; text-anchor: middle; }}
.node text {{ font-size: 12px; text-anchor: middle; }}
.key {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; }}
</style></head>
<body>
<h1>{escape(title)}</h1>
<p>score {explanation.score:.4f}. {escape(explanation.note)}</p>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}"
 viewBox="0 0 {WIDTH} {height:.0f}">
{"".join(edges)}
{"".join(nodes)}
</svg>
<p>{legend}</p>
{reasons}
{paths}
</body></html>
"""
