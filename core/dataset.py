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

Values the stores cannot take are refused by every reader and by :meth:`Dataset.validate`:
keys (ids, tag names, relation names: the columns in :data:`KEY_COLUMNS`) longer than
:data:`MAX_KEY_BYTES`, other text longer than :data:`MAX_TEXT_BYTES`, and any string holding a
NUL character or a character that is not encodable as UTF-8. Ids (:data:`ID_COLUMNS`) never
begin or end with whitespace: the readers trim it, and every other writer refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kgrec.core.errors import DatasetError
from kgrec.core.values import fault_reason, string_faults

#: The longest id, tag name or relation name, in UTF-8 bytes. The stores index these values,
#: and an indexed value of 4,096 bytes or more breaks the embedded store's index silently.
MAX_KEY_BYTES = 1024
#: The longest other text value (title, description, entity name...), in UTF-8 bytes.
MAX_TEXT_BYTES = 65_536

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

#: Columns whose values are indexed keys, limited to ``MAX_KEY_BYTES``.
KEY_COLUMNS: dict[str, list[str]] = {
    "users": ["id"],
    "items": ["id"],
    "tags": ["name"],
    "interactions": ["user_id", "item_id"],
    "item_tags": ["item_id", "tag"],
    "user_tags": ["user_id", "item_id", "tag"],
    "entities": ["id"],
    "triples": ["item_id", "relation", "entity_id"],
}

#: Columns holding user, item and entity ids: no leading or trailing whitespace.
ID_COLUMNS: dict[str, list[str]] = {
    "users": ["id"],
    "items": ["id"],
    "interactions": ["user_id", "item_id"],
    "item_tags": ["item_id"],
    "user_tags": ["user_id", "item_id"],
    "entities": ["id"],
    "triples": ["item_id", "entity_id"],
}

_SPACES = re.compile(r"\s+")


def padded(values: pd.Series) -> np.ndarray | None:
    """Which string values begin or end with whitespace (one pass over the distinct values;
    the rows only when one is); None when none does."""
    array = np.asarray(values, dtype=object)
    distinct = pd.unique(array) if len(array) else array
    if not any(isinstance(v, str) and v != v.strip() for v in distinct):
        return None
    return np.fromiter(
        (isinstance(v, str) and v != v.strip() for v in array), dtype=bool, count=len(array)
    )


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
        duplicates_merged: interaction rows dropped because another row had the same
            ``(user_id, item_id)``: the latest timestamp wins, on equal timestamps the last
            row in file order.
        rating_range: the scale of the ratings, ``(low, high)`` (MovieLens: 0.5 to 5), or
            None: any finite rating. Ingestion stores it, and every later write of a rating
            into the store is checked against it.
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
    duplicates_merged: int = 0
    rating_range: tuple[float, float] | None = None

    def frames(self) -> dict[str, pd.DataFrame]:
        """The canonical frames by name, in write order."""
        return {name: getattr(self, name) for name in COLUMNS}

    def check(self) -> None:
        """Check the canonical columns, then the values (:meth:`validate`).

        Raises:
            ValueError: a frame lacks or adds canonical columns (a reader bug).
            DatasetError: a value the stores cannot take, see :meth:`validate`.
        """
        for name, frame in self.frames().items():
            if list(frame.columns) != COLUMNS[name]:
                raise ValueError(
                    f"{self.name}.{name} has columns {list(frame.columns)}, "
                    f"expected {COLUMNS[name]}"
                )
        self.validate()

    def validate(self) -> None:
        """Refuse values the stores cannot take, for datasets built in Python.

        Checks every string column: keys (:data:`KEY_COLUMNS`) of at most
        :data:`MAX_KEY_BYTES` UTF-8 bytes, other text of at most :data:`MAX_TEXT_BYTES`, no NUL,
        no character that is not encodable as UTF-8; ids (:data:`ID_COLUMNS`) without leading
        or trailing whitespace; ratings and weights that are not infinite (a rating may be
        NaN: none given; a weight may not), and ratings within :attr:`rating_range`.

        Raises:
            DatasetError: naming the frame and column (``field``) and the first bad row's
                index label.
        """
        for name, frame in self.frames().items():
            for col in COLUMNS[name]:
                if col not in frame.columns:
                    continue
                values = frame[col]
                if col in ("rating", "weight"):
                    self._finite(name, col, values)
                elif col not in ("ts", "count"):
                    if col in ID_COLUMNS.get(name, ()):
                        self._unpadded(name, col, values)
                    key = col in KEY_COLUMNS[name]
                    limit = MAX_KEY_BYTES if key else MAX_TEXT_BYTES
                    mask = string_faults(values, limit)
                    if mask is not None:
                        pos = int(np.argmax(mask))
                        reason = fault_reason(col, values.iat[pos], limit, "key" if key else "text")
                        self._refuse(name, col, frame.index[pos], reason)

    def _unpadded(self, name: str, col: str, values: pd.Series) -> None:
        mask = padded(values)
        if mask is not None:
            pos = int(np.argmax(mask))
            value = values.iat[pos]
            reason = (
                f"{col} {value!r} begins or ends with whitespace, which the readers trim "
                f"from ids; pass {value.strip()!r}"
            )
            self._refuse(name, col, values.index[pos], reason)

    def _finite(self, name: str, col: str, values: pd.Series) -> None:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isinf(numbers) if col == "rating" else ~np.isfinite(numbers)
        if bad.any():
            pos = int(np.argmax(bad))
            reason = f"{col} {values.iat[pos]!r} is not a finite number"
            self._refuse(name, col, values.index[pos], reason)
        if col == "rating" and self.rating_range is not None and len(numbers):
            low, high = self.rating_range
            with np.errstate(invalid="ignore"):
                out = (numbers < low) | (numbers > high)
            if out.any():
                pos = int(np.argmax(out))
                reason = (
                    f"rating {numbers[pos]:g} is out of the dataset's range {low:g} to "
                    f"{high:g}; fix the value or widen rating_range"
                )
                self._refuse(name, col, values.index[pos], reason)

    def _refuse(self, name: str, col: str, label: object, reason: str) -> None:
        raise DatasetError(f"row {label!r} of {self.name}.{name}: {reason}", field=f"{name}.{col}")

    def summary(self) -> dict[str, int]:
        """Row counts per frame."""
        return {name: len(frame) for name, frame in self.frames().items()}
