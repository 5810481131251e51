"""The store's graph as training tensors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kgrec.core.progress import Progress
from kgrec.kg.export import export_graph
from kgrec.kg.store import GraphStore

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors

__all__ = ["load_tensors"]


def load_tensors(store: GraphStore, progress: Progress | None = None) -> GraphTensors:
    """The store's graph as :class:`kgrec.gnn.GraphTensors` (text vectors included)."""
    from kgrec.gnn.data import GraphTensors

    exported = export_graph(store, progress=progress)
    f = exported.frames
    return GraphTensors.from_frames(
        f["users"],
        f["items"],
        f["tags"],
        f["interactions"],
        f["item_tags"],
        f["triples"],
        f["entities"],
        exported.item_embeddings,
        exported.tag_embeddings,
    )
