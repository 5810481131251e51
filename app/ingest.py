"""Ingestion: canonical frames + text embeddings -> the graph store, idempotently.

Nothing is written before the whole dataset has been read and validated, so bad input
never leaves a half-written graph; a crash mid-write is repaired by running it again.

The readers are re-exported here, so the command line reaches every step of an ingest
through this module: read (:func:`read_movielens`, :func:`read_recbole`,
:func:`read_lightgcn`, :func:`read_table`, :func:`generate_synthetic`), check the rejects file
(:func:`rejects_file`), and write (:func:`ingest_dataset`, or :func:`ingest` on an open store).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kgrec.app.rating_scale import widen_rating_range
from kgrec.core.dataset import Dataset
from kgrec.core.errors import DatasetError, InvalidParameter
from kgrec.core.progress import Progress
from kgrec.core.settings import Settings
from kgrec.kg.schema import ensure_schema
from kgrec.kg.store import GraphStore
from kgrec.kg.vector import write_vectors
from kgrec.kg.writer import (
    DEFAULT_BATCH_SIZE,
    VECTOR_BATCH_SIZE,
    BatchWriter,
    StepReport,
    batches,
    records,
)
from kgrec.loaders.embeddings import TextEmbedder
from kgrec.loaders.lightgcn import read_lightgcn
from kgrec.loaders.movielens import read_movielens
from kgrec.loaders.recbole import read_recbole
from kgrec.loaders.synthetic import generate_synthetic
from kgrec.loaders.tabular import read_table
from kgrec.loaders.text import item_texts, tag_texts, text_hash

__all__ = [
    "IngestReport",
    "generate_synthetic",
    "ingest",
    "ingest_dataset",
    "read_lightgcn",
    "read_movielens",
    "read_recbole",
    "read_table",
    "rejects_file",
]

log = logging.getLogger(__name__)


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


def rejects_file(given: Path | None, source: Path, skip_bad: bool) -> Path | None:
    """Where ``skip_bad`` writes the rejected rows (None without it): ``given``, else
    ``<input name>.rejects.csv`` in the working directory (an input folder such as a shared
    dataset may be read-only). Call it before reading: the folder must exist and be writable.

    Raises:
        InvalidParameter: the file cannot be written there.
    """
    if not skip_bad:
        return None
    path = given if given is not None else Path.cwd() / f"{source.name}.rejects.csv"
    folder = path.parent
    if path.is_dir():
        raise InvalidParameter("--rejects names a folder; give a file name in it", path)
    if not folder.is_dir():
        raise InvalidParameter(
            f"the --rejects folder {folder} does not exist; create it (mkdir -p {folder}) "
            "or pass another --rejects file",
            path,
        )
    if not os.access(folder, os.W_OK):
        raise InvalidParameter(
            f"the --rejects folder {folder} is not writable; pass another --rejects file", path
        )
    return path


def ingest_dataset(
    settings: Settings,
    dataset: Dataset,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    show_progress: bool = False,
) -> dict[str, Any]:
    """The ``kgrec ingest`` job: write the rejected rows of ``dataset`` to ``rejects_path``,
    then ``dataset`` into the configured store (created when missing) with the configured
    embedding model and cache.

    Returns:
        :meth:`IngestReport.as_dict` with ``store``, ``duplicates_merged`` and, when rows
        were rejected and written, ``rejects_file``.

    Raises:
        DatasetError: the rejects file cannot be written (and what :func:`ingest` raises).
    """
    from kgrec.app.store import opened

    if len(dataset.rejects) and rejects_path is not None:
        try:
            dataset.rejects.to_csv(rejects_path, index=False)
        except OSError as exc:
            raise DatasetError(
                f"cannot write the rejects file: {exc.strerror}; pass another --rejects file",
                rejects_path,
            ) from None
    embedder = TextEmbedder(settings.embedding_model, cache_dir=settings.cache_dir)
    try:
        with opened(settings, create=True) as store:
            report = ingest(dataset, store, embedder, progress, show_progress)
    finally:
        embedder.close()
    summary = report.as_dict()
    summary["store"] = settings.store
    summary["duplicates_merged"] = dataset.duplicates_merged
    if rejects_path is not None and len(dataset.rejects):
        summary["rejects_file"] = str(rejects_path)
    return summary


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
    compact: bool = True,
) -> IngestReport:
    """Write ``dataset`` into ``store`` with text embeddings on items and tags.

    Catalogue properties the input does not carry (a null title, say) keep their stored
    value. Item texts are built from what the store holds after the write (title, every
    tag, description), so adding behaviour or tags never loses what another input gave.
    One ingest writes into a store at a time (:meth:`GraphStore.exclusive`); a second waits.

    Args:
        dataset: validated canonical frames.
        store: the target store.
        embedder: embeds item and tag texts (with its cache).
        progress: called with (step, done, total) as batches are written.
        show_progress: show the embedding model's own progress bar.
        compact: rewrite the embedded store's append-only file afterwards when something
            changed (off for small writes while serving).
    """
    dataset.check()
    with store.exclusive("ingest"):
        return _write(dataset, store, embedder, progress, show_progress, compact)


def _write(
    dataset: Dataset,
    store: GraphStore,
    embedder: TextEmbedder,
    progress: Progress | None,
    show_progress: bool,
    compact: bool = True,
) -> IngestReport:
    start = time.perf_counter()
    report = IngestReport(dataset=dataset.name, rejects=len(dataset.rejects))
    writer = BatchWriter(store, progress)
    ensure_schema(store)
    _warn_about_other_datasets(store, dataset)

    report.steps.update(
        writer.write_frames([("merge_users", dataset.users[["id"]]), ("merge_tags", dataset.tags)])
    )
    report.steps["merge_items"] = writer.write(
        "merge_items", records(dataset.items), params={"dataset": dataset.name}
    )
    report.steps.update(
        writer.write_frames(
            [
                ("merge_entities", dataset.entities),
                ("merge_interactions", dataset.interactions),
                ("merge_item_tags", dataset.item_tags),
                ("merge_user_tags", dataset.user_tags),
                ("merge_triples", dataset.triples),
            ]
        )
    )

    widen_rating_range(store, dataset)

    embedded_before = embedder.num_embedded
    touched = pd.unique(pd.concat([dataset.items["id"], dataset.item_tags["item_id"]]))
    report.embeddings_written += _embed_items(
        store, writer, embedder, touched, report, show_progress
    )
    tags = dataset.tags.copy()
    tags["text_hash"] = tag_texts(tags).map(text_hash)
    tag_state = store.run(writer_query("tag_embedding_state"))
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

    if compact and (
        report.nodes_changed or report.relationships_changed or report.embeddings_written
    ):
        store.compact()
    report.seconds = time.perf_counter() - start
    return report


def _embed_items(
    store: GraphStore,
    writer: BatchWriter,
    embedder: TextEmbedder,
    ids: np.ndarray,
    report: IngestReport,
    show_progress: bool,
) -> int:
    """Rebuild the texts of ``ids`` from the store; store changed texts, embed stale ones.

    Returns:
        The number of item vectors written.
    """
    sources = [
        row
        for batch in batches([str(i) for i in ids], DEFAULT_BATCH_SIZE)
        for row in store.run(writer_query("item_text_sources"), {"ids": batch})
    ]
    if not sources:
        return 0
    items = pd.DataFrame(
        {
            "id": [r["id"] for r in sources],
            "title": [r["title"] for r in sources],
            "description": [r["description"] for r in sources],
        }
    )
    item_tags = pd.DataFrame(
        [{"item_id": r["id"], **t} for r in sources for t in r["tags"]],
        columns=["item_id", "tag", "source", "count"],
    )
    items["text"] = item_texts(items, item_tags)
    items["text_hash"] = items["text"].map(text_hash)
    stored_text = np.array([r["text_hash"] for r in sources], dtype=object)
    stored_vector = np.array([r["embedding_hash"] for r in sources], dtype=object)
    has_text = (items["text"] != "").to_numpy()
    changed = items[has_text & (stored_text != items["text_hash"].to_numpy())]
    report.steps["set_item_texts"] = writer.write(
        "set_item_texts", records(changed[["id", "text", "text_hash"]])
    )
    stale = items[has_text & (stored_vector != items["text_hash"].to_numpy())]
    if not len(stale):
        return 0
    t0 = time.perf_counter()
    vectors = embedder.embed(stale["text"].tolist(), show_progress=show_progress)
    report.embed_seconds += time.perf_counter() - t0
    rows = [
        {"id": i, "embedding": [float(x) for x in v], "text_hash": h}
        for i, v, h in zip(stale["id"], vectors, stale["text_hash"], strict=True)
    ]
    write_vectors(store, "set_item_embeddings", "Item", "embedding", rows, vectors.shape[1])
    return len(rows)


def _warn_about_other_datasets(store: GraphStore, dataset: Dataset) -> None:
    """Warn when the dataset's item ids name items another dataset created."""
    ids = dataset.items["id"].astype(str).tolist()
    if not ids:
        return
    query = writer_query("items_of_other_datasets")
    counts: dict[str, int] = {}
    for batch in batches(ids, DEFAULT_BATCH_SIZE):
        for row in store.run(query, {"ids": batch, "dataset": dataset.name}):
            counts[row["dataset"]] = counts.get(row["dataset"], 0) + int(row["items"])
    if counts:
        found = ", ".join(f"{n:,} from '{name}'" for name, n in sorted(counts.items()))
        log.warning(
            "%s of the %s items of dataset '%s' already exist in the store (%s): their stored "
            "titles and texts are kept and this dataset's links are added to them; if they are "
            "different items, ingest with an id prefix (--id-prefix %s:) to keep them apart",
            f"{sum(counts.values()):,}",
            f"{len(ids):,}",
            dataset.name,
            found,
            dataset.name,
        )


def writer_query(name: str) -> str:
    """The text of one of the store's read statements that ingestion uses."""
    from kgrec.kg.writer import READS

    return READS.get(name).text
