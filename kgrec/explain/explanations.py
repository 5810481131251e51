"""Explanation paths: fetched from the store by Cypher, weighted by the model, told in words.

For a user and a batch of recommended items, four queries find the paths of up to three
hops that join them (``explain_co_users``, ``explain_shared_tags``, ``explain_user_tags``,
``explain_entities``). A :class:`~kgrec.gnn.paths.PathScorer` gives each path its exact
share of the LightGCN score, and the exact share owed to the interaction the path starts
from (all walks through that edge); paths are ranked by the interaction's share, then by
their own. An item no path reaches gets a plain note saying so and where its score came
from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kgrec.kg.store import GraphStore
from kgrec.queries.runner import run_query

PATH_QUERIES = ("explain_co_users", "explain_shared_tags", "explain_user_tags",
                "explain_entities")  # fmt: skip


def percent(share: float) -> str:
    """A share as a percentage with two significant digits: 0.0123 -> '1.2%'."""
    return f"{share * 100:.2g}%"


@dataclass(frozen=True)
class Node:
    """A node on a path: ``kind`` is user / item / tag / entity."""

    kind: str
    id: str
    label: str


@dataclass
class ExplanationPath:
    """One path from the user to the recommended item.

    Attributes:
        kind: ``co_users`` | ``shared_tag`` | ``user_tag`` | ``entity``. A ``co_users``
            path names one other user but stands for all who chose both items: its
            contribution is theirs together.
        nodes: user first, recommended item last.
        relationships: relationship types between consecutive nodes.
        contribution: the path's exact term of the model score (0 when the model's graph
            lacks one of its edges).
        share: ``contribution / score`` (None when the model is not LightGCN).
        sentence: the path told as one sentence.
        interaction_share: the share of the score owed to the user's first edge on the path
            (the interaction with ``nodes[1]``, all walks through it:
            :meth:`~kgrec.gnn.paths.PathScorer.first_hop_contributions`); paths are ranked
            by it first, then by ``share``. None without a LightGCN model.
    """

    kind: str
    nodes: list[Node]
    relationships: list[str]
    contribution: float
    share: float | None
    sentence: str
    interaction_share: float | None = None

    def shares_text(self) -> str:
        """``[Alien: 4.1% of the score; this path: 0.9%]``, or ``''`` without a model."""
        if self.share is None:
            return ""
        parts = [f"this path: {percent(self.share)}"]
        if self.interaction_share:
            parts.insert(0, f"{self.nodes[1].label}: {percent(self.interaction_share)} "
                            "of the score")  # fmt: skip
        return f"[{'; '.join(parts)}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "nodes": [{"kind": n.kind, "id": n.id, "label": n.label} for n in self.nodes],
            "relationships": list(self.relationships),
            "contribution": self.contribution,
            "share": self.share,
            "interaction_share": self.interaction_share,
            "sentence": self.sentence,
        }


@dataclass
class Explanation:
    """Why ``item_id`` was scored ``score`` for ``user_id``.

    Attributes:
        paths: the best paths, highest share first (may be empty).
        explained_share: the summed share of all paths found (not only those kept).
        note: where the score came from when no path exists, else a short summary.
    """

    user_id: str
    item_id: str
    title: str
    score: float
    paths: list[ExplanationPath] = field(default_factory=list)
    explained_share: float | None = None
    num_paths: int = 0
    note: str = ""

    @property
    def sentence(self) -> str:
        """The top path's sentence, or the note when there is no path."""
        return self.paths[0].sentence if self.paths else self.note

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "item_id": self.item_id,
            "title": self.title,
            "score": self.score,
            "explained_share": self.explained_share,
            "num_paths": self.num_paths,
            "note": self.note,
            "paths": [p.to_dict() for p in self.paths],
        }

    def to_networkx(self):
        """The explanation subgraph as a ``networkx.MultiDiGraph``.

        Nodes are ``"kind:id"`` with attributes kind, id, label; edges carry ``type`` and the
        ``share`` of the path they first appear on.
        """
        import networkx as nx

        graph = nx.MultiDiGraph(user_id=self.user_id, item_id=self.item_id, score=self.score)
        seen: set[tuple[str, str, str]] = set()
        for path in self.paths:
            for node in path.nodes:
                graph.add_node(f"{node.kind}:{node.id}", kind=node.kind, id=node.id,
                               label=node.label)  # fmt: skip
            pairs = zip(path.nodes[:-1], path.nodes[1:], strict=True)
            for (a, b), rel in zip(pairs, path.relationships, strict=True):
                src, dst = _direction(a, b, rel)
                key = (src, dst, rel)
                if key not in seen:
                    seen.add(key)
                    graph.add_edge(src, dst, type=rel, share=path.share)
        return graph


def _direction(a: Node, b: Node, rel: str) -> tuple[str, str]:
    """Stored direction of a relationship between two path nodes."""
    forward = {("user", "item"), ("item", "tag"), ("user", "tag"), ("item", "entity")}
    src, dst = (a, b) if (a.kind, b.kind) in forward else (b, a)
    return f"{src.kind}:{src.id}", f"{dst.kind}:{dst.id}"


def _rated(title: str, rating: Any) -> str:
    if rating is None or (isinstance(rating, float) and np.isnan(rating)):
        return f"You interacted with {title}"
    return f"You rated {title} ({float(rating):.1f})"


@dataclass
class PathContext:
    """What path weighting needs to know about the model.

    Attributes:
        scorer: a PathScorer, or None when the live model is not LightGCN.
        index: maps (kind, id) to the model's global node index, or None if unknown.
        node_id: maps a global node index back to its id (or tag name).
    """

    scorer: Any
    index: Callable[[str, str], int | None]
    node_id: Callable[[int], str] = str


def _rows_to_paths(name: str, rows: list[dict], user: Node, titles: dict[str, str]):
    """(item_id, kind, nodes, relationships, sentence) for each row of one path query."""
    for r in rows:
        rec = Node("item", r["item_id"], titles.get(r["item_id"], r["item_id"]))
        if name == "explain_shared_tags":
            via = Node("item", r["via_id"], r["via_title"])
            tag = Node("tag", r["tag"], r["tag"])
            sentence = f"{_rated(via.label, r.get('rating'))}; {via.label} and {rec.label} " \
                       f"share the tag '{tag.label}'."  # fmt: skip
            yield rec.id, "shared_tag", [user, via, tag, rec], \
                ["INTERACTED", "HAS_TAG", "HAS_TAG"], sentence  # fmt: skip
        elif name == "explain_user_tags":
            tag = Node("tag", r["tag"], r["tag"])
            tagged = titles.get(r.get("tagged_item_id"), r.get("tagged_item_id"))
            sentence = f"You tagged {tagged} '{tag.label}'; {rec.label} has that tag too."
            yield rec.id, "user_tag", [user, tag, rec], ["TAGGED", "HAS_TAG"], sentence
        elif name == "explain_entities":
            via = Node("item", r["via_id"], r["via_title"])
            ent = Node("entity", r["entity_id"], r.get("entity_name") or r["entity_id"])
            sentence = f"{_rated(via.label, r.get('rating'))}; {via.label} and {rec.label} " \
                       f"are both linked to {ent.label} ({r.get('relation')})."  # fmt: skip
            yield rec.id, "entity", [user, via, ent, rec], \
                ["INTERACTED", "RELATED", "RELATED"], sentence  # fmt: skip
        elif name == "explain_co_users":
            via = Node("item", r["via_id"], r["via_title"])
            others = r.get("other_user_ids") or [r.get("other_user_id")]
            count = int(r.get("co_users") or len(others))
            other = Node("user", str(others[0]), f"user {others[0]}")
            who = f"{count} other users" if count > 1 else other.label
            example = f", {other.label} among them" if count > 1 else ""
            sentence = f"{_rated(via.label, r.get('rating'))}; {who} who chose {via.label} " \
                       f"also chose {rec.label}{example}."  # fmt: skip
            yield rec.id, "co_users", [user, via, other, rec], \
                ["INTERACTED", "INTERACTED", "INTERACTED"], sentence  # fmt: skip


def find_paths(
    store: GraphStore,
    user_id: str,
    item_ids: Sequence[str],
    titles: dict[str, str],
    context: PathContext,
    scores: dict[str, float],
    max_paths: int = 5,
    limit: int = 500,
    skip: Sequence[str] = (),
) -> dict[str, tuple[list[ExplanationPath], float | None, int]]:
    """Paths for each item, weighted and ranked: ``{item_id: (top paths, share, count)}``.

    With a LightGCN scorer that knows the user, the model's own graph says which 3-hop
    paths carry the score (all of them, exactly); the best ``max_paths`` per item are then
    read from the store by id (``path_*`` queries), and the user's own tags are added
    (``explain_user_tags``; they carry nothing, as the model has no user-tag edges).
    Otherwise the ``explain_*`` queries enumerate the paths in the store.

    Args:
        titles: item id -> title (for sentences).
        scores: item id -> the model's score.
        max_paths: paths kept per item.
        limit: row cap handed to each enumeration query.
        skip: enumeration queries not to run (e.g. ``explain_entities`` on a graph with none).

    Returns:
        Per item: the kept paths, the share of the score all paths together carry (None
        without a scorer), and how many paths there are.
    """
    user = Node("user", user_id, f"user {user_id}")
    u = context.index("user", user_id) if context.scorer is not None else None
    found: dict[str, list[tuple[str, list[Node], list[str], str]]] = {i: [] for i in item_ids}
    totals: dict[str, tuple[float, int]] = {}
    first_hops: dict[str, dict[int, float]] = {}
    if u is None:
        params = {"user_id": user_id, "item_ids": list(item_ids), "limit": int(limit)}
        batches = [(name, run_query(store, name, params)) for name in PATH_QUERIES
                   if name not in skip]  # fmt: skip
    else:
        requests, totals, first_hops = _model_candidates(context, u, item_ids, max_paths)
        batches = [(name, run_query(store, name, {"user_id": user_id, "rows": rows}))
                   for name, rows in requests.items() if rows]  # fmt: skip
        batches.append(("explain_user_tags", run_query(store, "explain_user_tags", {
            "user_id": user_id, "item_ids": list(item_ids), "limit": int(limit)})))  # fmt: skip
    for name, rows in batches:
        kind_of = _ROW_KIND.get(name, name)
        for item_id, kind, nodes, rels, sentence in _rows_to_paths(kind_of, rows, user, titles):
            if item_id in found:
                found[item_id].append((kind, nodes, rels, sentence))
    out: dict[str, tuple[list[ExplanationPath], float | None, int]] = {}
    for item_id, paths in found.items():
        contribs = _contributions(paths, context)
        by_via = first_hops.get(item_id, {})
        firsts = np.array([by_via.get(context.index(p[1][1].kind, p[1][1].id), 0.0)
                           for p in paths]) if by_via else np.zeros(len(paths))  # fmt: skip
        score = scores.get(item_id, 0.0)
        shared = u is not None and bool(score)
        order = np.lexsort((-contribs, -firsts))[:max_paths]
        kept = [
            ExplanationPath(kind=paths[j][0], nodes=paths[j][1], relationships=paths[j][2],
                            contribution=float(contribs[j]),
                            share=float(contribs[j] / score) if shared else None,
                            sentence=paths[j][3],
                            interaction_share=float(firsts[j] / score) if shared else None)
            for j in order
        ]  # fmt: skip
        if u is None:
            out[item_id] = (kept, None, len(paths))
        else:
            total, count = totals.get(item_id, (0.0, 0))
            user_tags = sum(1 for p in paths if p[0] == "user_tag")
            out[item_id] = (kept, total / score if score else 0.0, count + user_tags)
    return out


# The path_* fetch queries return the same columns as the explain_* enumeration ones.
_ROW_KIND = {"path_shared_tags": "explain_shared_tags", "path_co_users": "explain_co_users",
             "path_entities": "explain_entities"}  # fmt: skip


def _model_candidates(context: PathContext, u: int, item_ids: Sequence[str], max_paths: int):
    """The model's best paths per item, as rows for the ``path_*`` queries; totals; and
    each item's first-hop contributions ``{v: C(v)}``.

    Co-user paths through one via item are grouped (they share one sentence); the group is
    represented by the co-user whose own path carries most. Candidates are ranked like the
    final paths: by the first hop's :math:`C(v)`, then by their own term.
    """
    scorer = context.scorer
    requests: dict[str, list[dict]] = {"path_shared_tags": [], "path_co_users": [],
                                       "path_entities": []}  # fmt: skip
    totals: dict[str, tuple[float, int]] = {}
    first_hops: dict[str, dict[int, float]] = {}
    for item_id in item_ids:
        i = context.index("item", item_id)
        if i is None:
            continue
        hop_nodes, hop_values = scorer.first_hop_contributions(u, i)
        first_hops[item_id] = by_via = dict(zip(hop_nodes.tolist(), hop_values.tolist(),
                                                strict=True))  # fmt: skip
        v, n, t = scorer.adjacent_pairs(u, i)
        totals[item_id] = (float(t.sum()), len(t))
        if not len(t):
            continue
        kinds = scorer.kind_of(n)
        # Co-user paths through one via item form one group: sum them, keep the best member.
        users = kinds == "user"
        vias, inverse = np.unique(v[users], return_inverse=True)
        group_sum = np.bincount(inverse, weights=t[users], minlength=len(vias))
        group_size = np.bincount(inverse, minlength=len(vias))
        order = np.lexsort((-t[users], inverse))  # by group, best member first
        first = order[np.searchsorted(inverse[order], np.arange(len(vias)))]
        best_user = n[users][first] if len(vias) else n[:0]
        other = ~users
        values = np.concatenate([group_sum, t[other]])
        firsts = np.array([by_via.get(int(x), 0.0) for x in np.concatenate([vias, v[other]])])
        top = np.lexsort((-values, -firsts))[:max_paths]
        for j in top:
            if j < len(vias):
                requests["path_co_users"].append({
                    "item_id": item_id, "via_id": context.node_id(int(vias[j])),
                    "other_id": context.node_id(int(best_user[j])),
                    "co_users": int(group_size[j])})  # fmt: skip
                continue
            k = np.flatnonzero(other)[j - len(vias)]
            via, node = context.node_id(int(v[k])), context.node_id(int(n[k]))
            if kinds[k] == "tag":
                requests["path_shared_tags"].append(
                    {"item_id": item_id, "via_id": via, "tag": node}
                )
            else:
                requests["path_entities"].append(
                    {"item_id": item_id, "via_id": via, "entity_id": node}
                )
    return requests, totals, first_hops


def _contributions(paths: list, context: PathContext) -> np.ndarray:
    """Exact contribution of each path (zeros without a LightGCN scorer)."""
    if not paths or context.scorer is None:
        return np.zeros(len(paths))
    contrib = np.zeros(len(paths))
    by_length: dict[int, list[int]] = {}
    for j, (kind, nodes, _, _) in enumerate(paths):
        if kind == "co_users":  # one path stands for all co-users of the via item
            idx = [context.index(n.kind, n.id) for n in nodes]
            if None not in (idx[0], idx[1], idx[3]):
                contrib[j] = context.scorer.group_contribution(idx[0], idx[3], idx[1], "user")[0]
            continue
        by_length.setdefault(len(nodes), []).append(j)
    for rows in by_length.values():
        idx = np.array([[context.index(n.kind, n.id) for n in paths[j][1]] for j in rows],
                       dtype=object)  # fmt: skip
        known = np.array([all(v is not None for v in row) for row in idx], dtype=bool)
        if known.any():
            contrib[np.array(rows)[known]] = context.scorer.contributions(
                idx[known].astype(np.int64)
            )
    return contrib
