"""Read the graph back as canonical frames plus text-embedding matrices, page by page.

Training reads the store through this module only. Every read is paged by node id
(``UNWIND $ids ... MATCH``), so memory on the server side stays bounded and the same code
runs against Neo4j and the embedded store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kgrec.core.dataset import COLUMNS
from kgrec.core.progress import Progress
from kgrec.kg.catalogue import READS
from kgrec.kg.store import GraphStore

log = logging.getLogger(__name__)

PAGE = 2000


@dataclass
class GraphExport:
    """The graph as canonical frames (see :mod:`kgrec.core.dataset`) plus embeddings.

    Attributes:
        item_embeddings: ``[len(frames['items']), dim]`` text vectors in item row order, or
            None when some item has none.
        tag_embeddings: the same for tags.
    """

    frames: dict[str, pd.DataFrame]
    item_embeddings: np.ndarray | None
    tag_embeddings: np.ndarray | None


def _pages(ids: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Edge rows in key order: the engines return them in their own storage order."""
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _stack(vectors: list[Any]) -> np.ndarray | None:
    if not vectors or any(v is None for v in vectors):
        return None
    return np.asarray(vectors, dtype=np.float32)


def export_graph(
    store: GraphStore,
    page_size: int = PAGE,
    progress: Progress | None = None,
) -> GraphExport:
    """Read every node and relationship of the data model, in pages of ``page_size`` ids.

    Node frames are sorted by id and edge frames by their keys, so the export of an
    unchanged graph is identical from one run to the next and on either backend (stable
    index maps for the models).
    """
    ids: dict[str, list[str]] = {"User": [], "Item": [], "Tag": [], "Entity": []}
    for row in store.run(READS.get("export_node_ids").text):
        ids[row["label"]].append(row["id"])
    for values in ids.values():
        values.sort()

    def paged(name: str, key: str, label: str) -> list[dict[str, Any]]:
        text = READS.get(name).text
        rows: list[dict[str, Any]] = []
        total = len(ids[label])
        for page in _pages(ids[label], page_size):
            rows += store.run(text, {key: page})
            if progress:
                progress(name, min(len(rows), total) if label != "User" else 0, total)
        return rows

    items = pd.DataFrame(paged("export_items", "ids", "Item"), columns=[
        "id", "title", "description", "embedding"])  # fmt: skip
    items = items.sort_values("id", kind="stable").reset_index(drop=True)
    tags = pd.DataFrame(paged("export_tags", "names", "Tag"), columns=["name", "embedding"])
    tags = tags.sort_values("name", kind="stable").reset_index(drop=True)
    entities = pd.DataFrame(paged("export_entities", "ids", "Entity"), columns=COLUMNS["entities"])

    user_cols = ["rel", "user_id", "target", "kind", "rating", "weight", "ts", "split", "item_id"]
    user_edges = pd.DataFrame(paged("export_user_edges", "ids", "User"), columns=user_cols)
    item_edges = pd.DataFrame(paged("export_item_edges", "ids", "Item"), columns=[
        "rel", "item_id", "target", "source", "count", "relation"])  # fmt: skip

    inter = user_edges[user_edges["rel"] == "INTERACTED"].rename(columns={"target": "item_id_"})
    interactions = pd.DataFrame({
        "user_id": inter["user_id"].to_numpy(),
        "item_id": inter["item_id_"].to_numpy(),
        "kind": inter["kind"].to_numpy(),
        "rating": pd.to_numeric(inter["rating"]).astype(float).to_numpy(),
        "weight": pd.to_numeric(inter["weight"]).astype(float).to_numpy(),
        "ts": pd.to_numeric(inter["ts"]).fillna(-1).astype(np.int64).to_numpy(),
        "split": inter["split"].fillna("").to_numpy(),
    })  # fmt: skip
    tagged = user_edges[user_edges["rel"] == "TAGGED"]
    user_tags = pd.DataFrame({
        "user_id": tagged["user_id"].to_numpy(),
        "item_id": tagged["item_id"].to_numpy(),
        "tag": tagged["target"].to_numpy(),
        "ts": pd.to_numeric(tagged["ts"]).fillna(-1).astype(np.int64).to_numpy(),
    })  # fmt: skip
    has_tag = item_edges[item_edges["rel"] == "HAS_TAG"]
    item_tags = pd.DataFrame({
        "item_id": has_tag["item_id"].to_numpy(),
        "tag": has_tag["target"].to_numpy(),
        "source": has_tag["source"].to_numpy(),
        "count": pd.to_numeric(has_tag["count"]).fillna(1).astype(np.int64).to_numpy(),
    })  # fmt: skip
    related = item_edges[item_edges["rel"] == "RELATED"]
    triples = pd.DataFrame({
        "item_id": related["item_id"].to_numpy(),
        "relation": related["relation"].to_numpy(),
        "entity_id": related["target"].to_numpy(),
    })  # fmt: skip

    frames = {
        "users": pd.DataFrame({"id": ids["User"]}),
        "items": items[COLUMNS["items"]],
        "tags": tags[["name"]],
        "interactions": interactions.sort_values(
            ["user_id", "ts", "item_id"], kind="stable"
        ).reset_index(drop=True),
        "item_tags": _sorted(item_tags, ["item_id", "source", "tag"]),
        "user_tags": _sorted(user_tags, ["user_id", "item_id", "tag"]),
        "entities": entities.sort_values("id").reset_index(drop=True),
        "triples": _sorted(triples, ["item_id", "relation", "entity_id"]),
    }
    return GraphExport(
        frames=frames,
        item_embeddings=_stack(items["embedding"].tolist()),
        tag_embeddings=_stack(tags["embedding"].tolist()),
    )
