"""FalkorDB's answers as kgrec's values: rows of plain values, plan trees and write
counters (:mod:`kgrec.kg.falkordb_store` sends the statements)."""

from __future__ import annotations

import re
from typing import Any

from kgrec.kg.store import PlanNode, WriteCounters

_SCALARS = (str, int, float, bool, type(None))
_PROFILE_STATS = re.compile(r"Records produced: (\d+), Execution time: ([\d.]+) ms")


def parse_plan(lines: list[Any]) -> PlanNode:
    """A ``GRAPH.EXPLAIN`` / ``GRAPH.PROFILE`` answer (one operator a line, children
    indented four spaces deeper) as a :class:`PlanNode` tree."""
    root: PlanNode | None = None
    stack: list[tuple[int, PlanNode]] = []
    for raw in lines:
        line = raw.decode() if isinstance(raw, bytes) else str(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        parts = [p.strip() for p in line.strip().split(" | ")]
        node = PlanNode(parts[0])
        if len(parts) > 1 and (m := _PROFILE_STATS.fullmatch(parts[-1])):
            node.rows, node.time_ms = int(m.group(1)), float(m.group(2))
            parts = parts[:-1]
        node.details = " | ".join(parts[1:])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack:
            stack[-1][1].children.append(node)
        else:
            root = node
        stack.append((indent, node))
    return root or PlanNode("(empty plan)")


def plain(value: Any) -> Any:
    """Convert FalkorDB result values (nodes, edges, paths, nested lists) to plain values.

    Nodes become ``{"labels": [...], "properties": {...}}``, relationships
    ``{"type": ..., "properties": {...}}`` and paths ``{"nodes": [...], "relationships": [...]}``.
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list):
        if not value or isinstance(value[0], float):  # vectors: skip the per-element walk
            return value
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    from falkordb import Edge, Node, Path

    if isinstance(value, Node):
        return {"labels": list(value.labels or []), "properties": dict(value.properties)}
    if isinstance(value, Edge):
        return {"type": value.relation, "properties": dict(value.properties)}
    if isinstance(value, Path):
        return {
            "nodes": [plain(n) for n in value.nodes()],
            "relationships": [plain(e) for e in value.edges()],
        }
    return value


def write_counters(result: Any) -> WriteCounters:
    """A FalkorDB query result's statistics as :class:`WriteCounters`."""
    return WriteCounters(
        nodes_created=int(result.nodes_created),
        nodes_deleted=int(result.nodes_deleted),
        relationships_created=int(result.relationships_created),
        relationships_deleted=int(result.relationships_deleted),
        properties_set=int(result.properties_set) + int(result.properties_removed),
        indexes_added=int(result.indices_created),
        labels_added=int(result.labels_added),
        labels_removed=int(result.labels_removed),
    )
