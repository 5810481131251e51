"""The canonical frames every reader produces and every writer consumes.

All ids are strings. Frames are pandas DataFrames with exactly these columns (extra
columns are not allowed, missing optional values are NaN/None):

=============  ============================================================================
frame          columns
=============  ============================================================================
users          id
items          id, title, description (str or None)
tags           name (normalised: :func:`normalise_tag`)
interactions   user_id, item_id, kind ('rating' | 'click' | ...), rating (float, NaN if
               none), weight (float), ts (int unix seconds, -1 if unknown), split ('' or
               'train' / 'test' for datasets that ship a fixed split)
item_tags      item_id, tag, source ('genre' | 'user' | ...), count (int)
user_tags      user_id, item_id, tag, ts (int, -1 if unknown)
entities       id, name, type
triples        item_id, relation, entity_id
=============  ============================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

COLUMNS: dict[str, list[str]] = {
    "users": ["id"],
    "items": ["id", "title", "description"],
    "tags": ["name"],
    "interactions": ["user_id", "item_id", "kind", "rating", "weight", "ts", "split"],
    "item_tags": ["item_id", "tag", "source", "count"],
    "user_tags": ["user_id", "item_id", "tag", "ts"],
    "entities": ["id", "name", "type"],
    "triples": ["item_id", "relation", "entity_id"],
}

_SPACES = re.compile(r"\s+")


def normalise_tag(name: str) -> str:
    """Lower-case, trim, collapse inner whitespace: ``' Space  Horror'`` -> ``'space horror'``."""
    return _SPACES.sub(" ", str(name).strip().lower())


def empty_frame(name: str) -> pd.DataFrame:
    """An empty frame with the canonical columns of ``name``."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS[name]})


@dataclass
class Dataset:
    """One dataset as canonical frames, plus rows rejected under ``skip_bad``.

    Attributes:
        name: short name (``movielens``, ``synthetic``, ...).
        rejects: rows that failed validation when reading with ``skip_bad=True``; columns
            file, line, field, reason, raw.
    """

    name: str
    users: pd.DataFrame = field(default_factory=lambda: empty_frame("users"))
    items: pd.DataFrame = field(default_factory=lambda: empty_frame("items"))
    tags: pd.DataFrame = field(default_factory=lambda: empty_frame("tags"))
    interactions: pd.DataFrame = field(default_factory=lambda: empty_frame("interactions"))
    item_tags: pd.DataFrame = field(default_factory=lambda: empty_frame("item_tags"))
    user_tags: pd.DataFrame = field(default_factory=lambda: empty_frame("user_tags"))
    entities: pd.DataFrame = field(default_factory=lambda: empty_frame("entities"))
    triples: pd.DataFrame = field(default_factory=lambda: empty_frame("triples"))
    rejects: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["file", "line", "field", "reason", "raw"])
    )

    def frames(self) -> dict[str, pd.DataFrame]:
        """The canonical frames by name, in write order."""
        return {name: getattr(self, name) for name in COLUMNS}

    def check(self) -> None:
        """Raise ``ValueError`` if a frame lacks or adds canonical columns (a reader bug)."""
        for name, frame in self.frames().items():
            if list(frame.columns) != COLUMNS[name]:
                raise ValueError(
                    f"{self.name}.{name} has columns {list(frame.columns)}, "
                    f"expected {COLUMNS[name]}"
                )

    def summary(self) -> dict[str, int]:
        """Row counts per frame."""
        return {name: len(frame) for name, frame in self.frames().items()}
