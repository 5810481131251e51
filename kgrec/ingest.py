"""Ingestion: canonical frames + text embeddings -> the graph store, idempotently.

Nothing is written before the whole dataset has been read and validated, so bad input
never leaves a half-written graph; a crash mid-write is repaired by running it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kgrec.kg.schema import ensure_schema, ensure_vector_index
from kgrec.kg.store import GraphStore
from kgrec.kg.writer import VECTOR_BATCH_SIZE, BatchWriter, StepReport, records
from kgrec.loaders.embeddings import TextEmbedder
from kgrec.loaders.frames import Dataset
from kgrec.loaders.text import item_texts, tag_texts, text_hash

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    """What one ingestion did.

    Attributes:
        steps: per write statement, rows sent and entities created / updated.
        texts_embedded: texts run through the model (cache misses).
        embeddings_written: item and tag vectors written to the store.
        embed_seconds: time spent in the embedding model (and its cache).
        rejects: rows skipped under ``skip_bad``.
        seconds: wall time of the write phase, including embedding.
    """

    dataset: str
    steps: dict[str, StepReport] = field(default_factory=dict)
    texts_embedded: int = 0
    embeddings_written: int = 0
    embed_seconds: float = 0.0
    rejects: int = 0
    seconds: float = 0.0

    @property
    def relationships_changed(self) -> int:
        rel_steps = ("merge_interactions", "merge_item_tags", "merge_user_tags", "merge_triples")
        return sum(
            self.steps[s].created + self.steps[s].updated for s in rel_steps if s in self.steps
        )

    @property
    def nodes_changed(self) -> int:
        node_steps = ("merge_users", "merge_items", "merge_tags", "merge_entities")
        return sum(
            self.steps[s].created + self.steps[s].updated for s in node_steps if s in self.steps
        )

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "seconds": round(self.seconds, 3),
            "texts_embedded": self.texts_embedded,
            "embeddings_written": self.embeddings_written,
            "embed_seconds": round(self.embed_seconds, 3),
            "nodes_changed": self.nodes_changed,
            "relationships_changed": self.relationships_changed,
            "rejects": self.rejects,
            "steps": {
                name: {
                    "rows": s.rows,
                    "created": s.created,
                    "updated": s.updated,
                    "seconds": round(s.seconds, 3),
                }
                for name, s in self.steps.items()
            },
        }


def _stale(state: list[dict], key: str, hashes: pd.Series) -> np.ndarray:
    """Mask of rows whose stored embedding was made from another text, or is missing."""
    stored = {r[key]: r["text_hash"] for r in state}
    return np.array([stored.get(k) != h for k, h in hashes.items()], dtype=bool)


def ingest(
    dataset: Dataset,
    store: GraphStore,
    embedder: TextEmbedder,
    progress: Progress | None = None,
    show_progress: bool = False,
) -> IngestReport:
    """Write ``dataset`` into ``store`` with text embeddings on items and tags.

    Args:
        dataset: validated canonical frames.
        store: the target store.
        embedder: embeds item and tag texts (with its cache).
        progress: called with (step, done, total) as batches are written.
        show_progress: show the embedding model's own progress bar.
    """
    dataset.check()
    start = time.perf_counter()
    report = IngestReport(dataset=dataset.name, rejects=len(dataset.rejects))
    writer = BatchWriter(store, progress)
    ensure_schema(store)

    items = dataset.items.copy()
    items["text"] = item_texts(items, dataset.item_tags)
    items["text_hash"] = items["text"].map(text_hash)
    tags = dataset.tags.copy()
    tags["text_hash"] = tag_texts(tags).map(text_hash)

    item_state = store.run(writer_query("item_embedding_state"))
    tag_state = store.run(writer_query("tag_embedding_state"))

    report.steps.update(
        writer.write_frames(
            [
                ("merge_users", dataset.users[["id"]]),
                ("merge_tags", tags[["name"]]),
                ("merge_items", items[["id", "title", "description", "text", "text_hash"]]),
                ("merge_entities", dataset.entities),
            ]
        )
    )

    embedded_before = embedder.num_embedded
    stale_items = items[_stale(item_state, "id", items.set_index("id")["text_hash"])]
    if len(stale_items):
        t0 = time.perf_counter()
        vectors = embedder.embed(stale_items["text"].tolist(), show_progress=show_progress)
        report.embed_seconds += time.perf_counter() - t0
        ensure_vector_index(store, "Item", "embedding", vectors.shape[1])
        rows = [
            {"id": i, "embedding": v, "text_hash": h}
            for i, v, h in zip(stale_items["id"], vectors, stale_items["text_hash"], strict=True)
        ]
        writer.write("set_item_embeddings", records(pd.DataFrame(rows)), VECTOR_BATCH_SIZE)
        report.embeddings_written += len(rows)
    stale_tags = tags[_stale(tag_state, "name", tags.set_index("name")["text_hash"])]
    if len(stale_tags):
        t0 = time.perf_counter()
        vectors = embedder.embed(tag_texts(stale_tags).tolist(), show_progress=show_progress)
        report.embed_seconds += time.perf_counter() - t0
        rows = [
            {"name": n, "embedding": v, "text_hash": h}
            for n, v, h in zip(stale_tags["name"], vectors, stale_tags["text_hash"], strict=True)
        ]
        writer.write("set_tag_embeddings", records(pd.DataFrame(rows)), VECTOR_BATCH_SIZE)
        report.embeddings_written += len(rows)
    report.texts_embedded = embedder.num_embedded - embedded_before

    report.steps.update(
        writer.write_frames(
            [
                ("merge_interactions", dataset.interactions),
                ("merge_item_tags", dataset.item_tags),
                ("merge_user_tags", dataset.user_tags),
                ("merge_triples", dataset.triples),
            ]
        )
    )
    compact = getattr(store, "compact", None)
    if compact and (report.nodes_changed or report.relationships_changed):
        compact()
    report.seconds = time.perf_counter() - start
    return report


def writer_query(name: str) -> str:
    """The text of a read statement of the write catalogue."""
    from kgrec.kg.writer import WRITES

    return WRITES.get(name).text
