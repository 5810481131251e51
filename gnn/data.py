"""Canonical frames -> index tensors with stable id maps (:class:`GraphTensors`).

Node spaces are numbered by the row order of the ``users`` / ``items`` / ``tags`` /
``entities`` frames; ids that appear only in ``interactions`` / ``item_tags`` / ``triples``
are appended after them in order of first appearance, so every edge has both ends.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from kgrec.core.errors import InvalidParameter
from kgrec.core.files import write_private

if TYPE_CHECKING:
    from kgrec.core.dataset import Dataset

log = logging.getLogger(__name__)

SPLIT_CODES: dict[str, int] = {"": 0, "train": 1, "test": 2}
ID_MAPS_FILE = "id_maps.json"


def _id_list(base: pd.Series | None, *extra: pd.Series) -> list[str]:
    """Ids of ``base`` in row order, then unseen ids of ``extra`` in first-seen order."""
    values = [] if base is None else [str(v) for v in base.tolist()]
    for series in extra:
        values.extend(str(v) for v in series.tolist())
    return list(dict.fromkeys(values))


def _codes(values: pd.Series, ids: list[str]) -> np.ndarray:
    index = pd.Index(ids)
    codes = index.get_indexer(values.astype(str))
    return codes.astype(np.int64)


def _features(array: np.ndarray | None, rows: int, what: str) -> torch.Tensor | None:
    if array is None:
        return None
    arr = np.asarray(array, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] > rows:
        raise InvalidParameter(
            f"{what} must be [n, dim] with n <= {rows} rows, got {arr.shape}", field=what
        )
    if arr.shape[0] < rows:  # ids only seen in edges: zero vectors
        arr = np.vstack([arr, np.zeros((rows - arr.shape[0], arr.shape[1]), np.float32)])
    return torch.from_numpy(np.ascontiguousarray(arr))


@dataclass
class GraphTensors:
    """The graph as index tensors; an index is the position of the id in its list.

    Attributes:
        user_ids, item_ids, tag_names, entity_ids: the id maps.
        edge_index: interactions as ``(user_idx, item_idx)``, original row order, with
            duplicate (user, item) pairs dropped (first kept).
        ts: interaction unix seconds (-1 unknown). rating: NaN when none. weight: float.
        split: :data:`SPLIT_CODES` of the ``split`` column.
        item_tag_index: ``(item_idx, tag_idx)`` edges. item_entity_index: ``(item_idx,
            entity_idx)`` edges from triples.
        item_text, tag_text: text vectors aligned with ``item_ids`` / ``tag_names`` or None.

    Shapes:
        edge_index: ``[2, E]``; ts, rating, weight, split: ``[E]``;
        item_tag_index: ``[2, T]``; item_entity_index: ``[2, R]``;
        item_text: ``[num_items, text_dim]``; tag_text: ``[num_tags, text_dim]``.
    """

    user_ids: list[str]
    item_ids: list[str]
    tag_names: list[str]
    entity_ids: list[str]
    edge_index: torch.Tensor
    ts: torch.Tensor
    rating: torch.Tensor
    weight: torch.Tensor
    split: torch.Tensor
    item_tag_index: torch.Tensor
    item_entity_index: torch.Tensor
    item_text: torch.Tensor | None = None
    tag_text: torch.Tensor | None = None

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @property
    def num_tags(self) -> int:
        return len(self.tag_names)

    @property
    def num_entities(self) -> int:
        return len(self.entity_ids)

    @property
    def num_interactions(self) -> int:
        return int(self.edge_index.size(1))

    @classmethod
    def from_frames(
        cls,
        users: pd.DataFrame,
        items: pd.DataFrame,
        tags: pd.DataFrame | None,
        interactions: pd.DataFrame,
        item_tags: pd.DataFrame | None = None,
        triples: pd.DataFrame | None = None,
        entities: pd.DataFrame | None = None,
        item_embeddings: np.ndarray | None = None,
        tag_embeddings: np.ndarray | None = None,
    ) -> GraphTensors:
        """Build from canonical frames (see :mod:`kgrec.core.dataset`).

        Args:
            users, items, tags, interactions, item_tags, triples, entities: canonical frames;
                the optional ones may be None or empty.
            item_embeddings: float32 ``[len(items), dim]`` aligned with ``items`` rows.
            tag_embeddings: float32 ``[len(tags), dim]`` aligned with ``tags`` rows.

        Returns:
            The tensors; interactions with an unknown user or item are added to the id maps.
        """
        empty = pd.Series([], dtype=object)
        item_tags = (
            item_tags if item_tags is not None else pd.DataFrame({"item_id": empty, "tag": empty})
        )
        triples = (
            triples if triples is not None else pd.DataFrame({"item_id": empty, "entity_id": empty})
        )
        inter = interactions.drop_duplicates(["user_id", "item_id"], keep="first")
        if len(inter) < len(interactions):
            log.info("dropped %d duplicate interactions", len(interactions) - len(inter))
        user_ids = _id_list(users["id"], inter["user_id"])
        item_ids = _id_list(items["id"], inter["item_id"], item_tags["item_id"], triples["item_id"])
        tag_names = _id_list(tags["name"] if tags is not None else None, item_tags["tag"])
        entity_ids = _id_list(
            entities["id"] if entities is not None else None, triples["entity_id"]
        )
        edge_index = np.stack(
            [_codes(inter["user_id"], user_ids), _codes(inter["item_id"], item_ids)]
        )
        split = inter["split"].fillna("").map(lambda s: SPLIT_CODES.get(str(s), 0))
        it = np.stack([_codes(item_tags["item_id"], item_ids), _codes(item_tags["tag"], tag_names)])
        ie = np.stack(
            [_codes(triples["item_id"], item_ids), _codes(triples["entity_id"], entity_ids)]
        )
        it = np.unique(it.reshape(2, -1), axis=1) if it.size else it.reshape(2, 0)
        ie = np.unique(ie.reshape(2, -1), axis=1) if ie.size else ie.reshape(2, 0)
        return cls(
            user_ids=user_ids,
            item_ids=item_ids,
            tag_names=tag_names,
            entity_ids=entity_ids,
            edge_index=torch.from_numpy(edge_index.reshape(2, -1)),
            ts=torch.tensor(pd.to_numeric(inter["ts"]).fillna(-1).to_numpy(np.int64)),
            rating=torch.tensor(pd.to_numeric(inter["rating"]).to_numpy(np.float32)),
            weight=torch.tensor(pd.to_numeric(inter["weight"]).fillna(1.0).to_numpy(np.float32)),
            split=torch.tensor(split.to_numpy(np.int64)),
            item_tag_index=torch.from_numpy(np.ascontiguousarray(it, dtype=np.int64)),
            item_entity_index=torch.from_numpy(np.ascontiguousarray(ie, dtype=np.int64)),
            item_text=_features(item_embeddings, len(item_ids), "item_embeddings"),
            tag_text=_features(tag_embeddings, len(tag_names), "tag_embeddings"),
        )

    @classmethod
    def from_dataset(
        cls,
        ds: Dataset,
        item_embeddings: np.ndarray | None = None,
        tag_embeddings: np.ndarray | None = None,
    ) -> GraphTensors:
        """Build from a :class:`kgrec.core.dataset.Dataset` (see :meth:`from_frames`)."""
        return cls.from_frames(
            ds.users,
            ds.items,
            ds.tags,
            ds.interactions,
            ds.item_tags,
            ds.triples,
            ds.entities,
            item_embeddings,
            tag_embeddings,
        )

    def id_maps(self) -> dict[str, list[str]]:
        """``{'users': [...], 'items': [...], 'tags': [...], 'entities': [...]}``."""
        return {
            "users": list(self.user_ids),
            "items": list(self.item_ids),
            "tags": list(self.tag_names),
            "entities": list(self.entity_ids),
        }

    def save_id_maps(self, directory: str | Path) -> Path:
        """Write ``id_maps.json`` into ``directory`` (fsynced); returns its path."""
        return save_id_maps(self.id_maps(), directory)


def save_id_maps(maps: dict[str, list[str]], directory: str | Path) -> Path:
    """Write id maps as ``directory/id_maps.json`` (whole, private and fsynced)."""
    path = Path(directory) / ID_MAPS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_private(path, json.dumps({"version": 1, **maps}))


def load_id_maps(directory: str | Path) -> dict[str, list[str]]:
    """Read the id maps written by :func:`save_id_maps`."""
    with open(Path(directory) / ID_MAPS_FILE, encoding="utf-8") as fh:
        data = json.load(fh)
    return {k: [str(v) for v in data.get(k, [])] for k in ("users", "items", "tags", "entities")}
