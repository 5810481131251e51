"""Read the graph back as canonical frames plus text-embedding matrices, page by page.

Training reads the store through this module only. Every read is paged by node id
(``UNWIND $ids ... MATCH``), so memory on both sides stays bounded and the same statements
run against Neo4j and the embedded store. Edges come one relationship type per statement
with only the columns their frame needs; user pages grow until each returns about
:data:`PAGE_ROWS` rows, so a million edges take a few dozen round trips. On the embedded
store rows are received as the server sends them (:meth:`FalkorStore.run_plain`) and turned
into columns at once, instead of parsing every value into a row dict.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from kgrec.core.dataset import COLUMNS
from kgrec.core.progress import Progress
from kgrec.kg.catalogue import READS
from kgrec.kg.falkordb_store import FalkorStore
from kgrec.kg.store import GraphStore

log = logging.getLogger(__name__)

#: Ids per page of items, tags and entities, and the first page of users.
PAGE = 5000
#: Rows one page of user edges aims at; the next page's users follow from the last ones'.
PAGE_ROWS = 250_000
#: The most users in one page.
MAX_USERS_PER_PAGE = 200_000


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


def _rows(
    store: GraphStore, name: str, params: dict[str, Any], vectors: bool = False
) -> list[list[Any]]:
    """Rows of the read statement ``name`` as value lists in its RETURN order."""
    text = READS.get(name).text
    if isinstance(store, FalkorStore):
        return store.run_plain(text, params, exact_vectors=vectors)
    return [list(row.values()) for row in store.run(text, params)]


def _frame(rows: list[list[Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows as a frame, built column by column (much faster than row by row)."""
    if not rows:
        return pd.DataFrame(rows, columns=list(columns))
    data = zip(*rows, strict=True)
    return pd.DataFrame({c: list(v) for c, v in zip(columns, data, strict=True)})


def _pages(ids: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _paged(
    store: GraphStore,
    name: str,
    ids: list[str],
    page_size: int,
    columns: Sequence[str],
    progress: Progress | None,
    vectors: bool = False,
    key: str = "ids",
) -> pd.DataFrame:
    """Every row of ``name`` over ``ids`` (its parameter ``key``) in pages of ``page_size``."""
    rows: list[list[Any]] = []
    done = 0
    if progress and ids:
        progress(name, 0, len(ids))
    for page in _pages(ids, page_size):
        rows += _rows(store, name, {key: page}, vectors)
        done += len(page)
        if progress:
            progress(name, done, len(ids))
    return _frame(rows, columns)


def _user_pages(
    store: GraphStore,
    name: str,
    ids: list[str],
    first: int,
    columns: Sequence[str],
    progress: Progress | None,
) -> pd.DataFrame:
    """Every row of ``name`` over the users ``ids``, in pages sized to :data:`PAGE_ROWS`.

    The next page is read while the last one is turned into columns, so the store's work
    and this process's overlap.
    """
    parts: list[pd.DataFrame] = []
    done = rows = 0
    if progress and ids:
        progress(name, 0, len(ids))
    with ThreadPoolExecutor(max_workers=1) as reader:
        page = ids[:first]
        pending = reader.submit(_rows, store, name, {"ids": page}) if page else None
        while pending is not None:
            got = pending.result()
            done += len(page)
            rows += len(got)
            size = int(min(MAX_USERS_PER_PAGE, max(first, PAGE_ROWS * done / max(rows, 1))))
            page = ids[done : done + size]
            pending = reader.submit(_rows, store, name, {"ids": page}) if page else None
            parts.append(_frame(got, columns))
            if progress:
                progress(name, done, len(ids))
    if not parts:
        return _frame([], columns)
    return pd.concat(parts, ignore_index=True)


def _numbers(values: pd.Series, fill: float | None = None, dtype: Any = float) -> np.ndarray:
    """A column of numbers (the embedded store sends floats as text); nulls -> ``fill``."""
    out = pd.to_numeric(values)
    if fill is not None:
        out = out.fillna(fill)
    return out.astype(dtype).to_numpy()


def _strings(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=object)


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Edge rows in key order: the engines return them in their own storage order."""
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _stack(vectors: list[Any]) -> np.ndarray | None:
    """Equal-length vectors as a float32 matrix; None when some are missing."""
    if not vectors or any(v is None for v in vectors):
        return None
    dim = len(vectors[0])
    if isinstance(vectors[0][0] if dim else None, str) and all(len(v) == dim for v in vectors):
        # the embedded store's digits: one C parse of the joined text, not one per value
        flat = np.fromstring(",".join(chain.from_iterable(vectors)), dtype=np.float64, sep=",")
        return flat.reshape(len(vectors), dim).astype(np.float32)
    return np.asarray(vectors, dtype=np.float64).astype(np.float32)


def export_graph(
    store: GraphStore,
    page_size: int = PAGE,
    progress: Progress | None = None,
) -> GraphExport:
    """Read every node and relationship of the data model, in pages of ids.

    Node frames are sorted by id and edge frames by their keys, so the export of an
    unchanged graph is identical from one run to the next and on either backend (stable
    index maps for the models).

    Args:
        page_size: ids per page of items, tags and entities, and users in the first page
            of user edges (later pages aim at :data:`PAGE_ROWS` rows).
        progress: called with (statement, ids read so far, total ids).
    """
    ids: dict[str, list[str]] = {"User": [], "Item": [], "Tag": [], "Entity": []}
    for label, node_id in _rows(store, "export_node_ids", {}):
        ids[label].append(node_id)
    for values in ids.values():
        values.sort()

    items = _paged(
        store,
        "export_items",
        ids["Item"],
        page_size,
        ["id", "title", "description", "embedding"],
        progress,
        vectors=True,
    )
    items = items.sort_values("id", kind="stable").reset_index(drop=True)
    tags = _paged(
        store,
        "export_tags",
        ids["Tag"],
        page_size,
        ["name", "embedding"],
        progress,
        vectors=True,
        key="names",
    )
    tags = tags.sort_values("name", kind="stable").reset_index(drop=True)
    entities = _paged(
        store, "export_entities", ids["Entity"], page_size, COLUMNS["entities"], progress
    )

    inter = _user_pages(
        store,
        "export_interactions",
        ids["User"],
        page_size,
        ["user_id", "item_id", "kind", "rating", "weight", "ts", "split"],
        progress,
    )
    interactions = pd.DataFrame(
        {
            "user_id": _strings(inter["user_id"]),
            "item_id": _strings(inter["item_id"]),
            "kind": _strings(inter["kind"]),
            "rating": _numbers(inter["rating"]),
            "weight": _numbers(inter["weight"]),
            "ts": _numbers(inter["ts"], -1, np.int64),
            "split": inter["split"].fillna("").to_numpy(dtype=object),
        }
    )
    tagged = _user_pages(
        store,
        "export_user_tags",
        ids["User"],
        page_size,
        ["user_id", "item_id", "tag", "ts"],
        progress,
    )
    user_tags = pd.DataFrame(
        {
            "user_id": _strings(tagged["user_id"]),
            "item_id": _strings(tagged["item_id"]),
            "tag": _strings(tagged["tag"]),
            "ts": _numbers(tagged["ts"], -1, np.int64),
        }
    )
    has_tag = _paged(
        store,
        "export_item_tags",
        ids["Item"],
        page_size,
        ["item_id", "tag", "source", "count"],
        progress,
    )
    item_tags = pd.DataFrame(
        {
            "item_id": _strings(has_tag["item_id"]),
            "tag": _strings(has_tag["tag"]),
            "source": _strings(has_tag["source"]),
            "count": _numbers(has_tag["count"], 1, np.int64),
        }
    )
    related = _paged(
        store,
        "export_triples",
        ids["Item"],
        page_size,
        ["item_id", "relation", "entity_id"],
        progress,
    )
    triples = pd.DataFrame(
        {
            "item_id": _strings(related["item_id"]),
            "relation": _strings(related["relation"]),
            "entity_id": _strings(related["entity_id"]),
        }
    )

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
