"""Reader for generic interaction tables (CSV or Parquet) with a column mapping.

``mapping`` maps canonical names to the file's column names:

- ``user_id``, ``item_id`` (required);
- ``rating`` (optional; without it interactions are implicit with weight 1.0);
- ``ts`` (optional; integer unix seconds or a Parquet timestamp; -1 when absent);
- ``title`` and ``tags`` (optional item attributes repeated on interaction rows; tags are
  ``|``-separated and become ``item_tags`` with source ``'genre'``).

An optional items file (``items=``) holds ``id`` and optionally ``title``, ``description``,
``tags``; ``items_mapping`` renames them. When it is given, interactions naming items absent
from it are rejected as unknown items.

Line numbers in errors are physical CSV lines, or for Parquet the 1-based row number plus one
for the header (so the first data row is line 2 in both).

Items named only by id (no items file, no title column) get ``title=None`` and
``description=None``: not given, so a writer keeps what the store already holds. Several rows
for one (user, item) are merged: the latest timestamp wins, on equal timestamps the last row
in file order (``Dataset.duplicates_merged`` counts the dropped rows).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kgrec.core.dataset import Dataset
from kgrec.core.errors import DatasetError, InvalidParameter
from kgrec.core.values import shown
from kgrec.loaders._csv import Issues, Table, conform, read_csv_table
from kgrec.loaders.validate import check_prefix, check_rating_range

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

INTERACTION_KEYS = ("user_id", "item_id", "rating", "ts", "title", "tags")
ITEM_KEYS = ("id", "title", "description", "tags")
TAG_SEPARATOR = "|"


def _load(path: Path, mapping: Mapping[str, str], optional: Sequence[str], issues: Issues) -> Table:
    """Read ``path`` (by suffix) requiring the mapped columns; adds ``optional`` if present."""
    required = list(mapping.values())
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        table = read_csv_table(path, required, issues)
    elif suffix in (".parquet", ".pq"):
        table = _read_parquet(path, required, optional, issues)
    else:
        raise DatasetError(f"unsupported file type {suffix!r}; use .csv or .parquet", path)
    return table


def _read_parquet(
    path: Path, required: Sequence[str], optional: Sequence[str], issues: Issues
) -> Table:
    import pyarrow.parquet as pq

    if not path.exists():
        raise DatasetError("file not found; check the path", path)
    try:
        schema = pq.read_schema(path)
        schema_names = schema.names
        for name in required:
            if name not in schema_names:
                raise DatasetError(
                    f"lacks column '{name}' (found {','.join(schema_names)})", path, 1, name
                )
        wanted = list(dict.fromkeys([*required, *(c for c in optional if c in schema_names)]))
        for name in wanted:
            _check_parquet_column(path, schema, name)
        frame = pq.read_table(path, columns=wanted).to_pandas()
    except (OSError, ValueError) as exc:
        raise DatasetError(f"unreadable Parquet file: {exc}", path) from None
    columns = {name: frame[name].reset_index(drop=True) for name in wanted}
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)

    def raw(i: int) -> str:
        return ", ".join(f"{k}={v.iat[i]}" for k, v in columns.items())

    table = Table(path, columns, lines, raw, issues)
    for name, col in columns.items():
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            table.storable(name, col.to_numpy(dtype=object), None, "text")
    return table


def _check_parquet_column(path: Path, schema: pa.Schema, name: str) -> None:
    """Refuse a column named twice or holding nested values (lists, structs, maps) or
    bytes: every value read from a file is one plain number, string or time per row."""
    import pyarrow as pa

    if schema.names.count(name) > 1:
        raise DatasetError(
            f"column {shown(name)} appears {schema.names.count(name)} times; rename or drop "
            "all but one, so that each value is read from one column",
            path,
            1,
            name,
        )
    kind = schema.field(name).type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        raise DatasetError(
            f"column {shown(name)} holds {kind} values, not one plain value per row; "
            "flatten it (one row per value) or cast it to a string or number column",
            path,
            1,
            name,
        )


def _ids(table: Table, column: str, prefix: str) -> np.ndarray:
    """Non-empty ids of ``column`` as strings (unprefixed); integral floats lose their
    ``.0``. Rejects ids over ``MAX_KEY_BYTES`` once ``prefix`` is put before them."""
    col = table.columns[column]
    if pd.api.types.is_float_dtype(col.dtype):
        present = col.dropna()
        if ((present % 1 == 0) & (present.abs() < 2**53)).all():
            col = col.astype("Int64")
    values = col.astype(object).where(col.notna(), "").astype(str).str.strip()
    out = values.to_numpy(dtype=object)
    table.flag(out == "", column, lambda i: f"{column} is empty")
    table.keys(column, out, prefix)
    return out


def _missing(values: pd.Series) -> pd.Series:
    """Text values with blank or missing ones as None (not given)."""
    given = [v if isinstance(v, str) and v.strip() else None for v in values]
    return pd.Series(given, index=values.index, dtype=object)


def _timestamps(table: Table, column: str) -> np.ndarray:
    col = table.columns[column]
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        secs = (col - pd.Timestamp(0, tz=getattr(col.dt, "tz", None))) // pd.Timedelta(seconds=1)
        table.flag(col.isna().to_numpy(), column, lambda i: f"{column} is empty")
        return secs.fillna(0).astype(np.int64).to_numpy()
    return table.ints(column)


def read_table(
    path_or_paths: str | Path | Sequence[str | Path],
    mapping: Mapping[str, str],
    *,
    items: str | Path | None = None,
    items_mapping: Mapping[str, str] | None = None,
    skip_bad: bool = False,
    name: str = "table",
    rating_range: tuple[float, float] | None = None,
    id_prefix: str = "",
) -> Dataset:
    """Read interaction files (CSV or Parquet) and an optional items file.

    Args:
        path_or_paths: one interaction file or several with the same columns.
        mapping: canonical name -> file column, see the module docstring.
        items: optional items file (CSV or Parquet).
        items_mapping: canonical item name (id, title, description, tags) -> file column;
            by default ``id`` is required and the others are used when the header has them.
        skip_bad: collect bad rows in ``Dataset.rejects`` and drop them instead of raising.
        name: the dataset's name.
        rating_range: the lowest and highest rating allowed; None (the default) allows any
            finite number.
        id_prefix: put before every user and item id (``'shop:'``), to keep datasets apart
            in one store; tag names are not prefixed.

    Returns:
        The dataset; interactions have kind ``'rating'`` (weight = rating) when a rating
        column is mapped, else ``'implicit'`` (rating NaN, weight 1.0).

    Raises:
        InvalidParameter: (a ``ValueError`` and a ``DatasetError``) ``mapping`` lacks
            user_id/item_id or names unknown keys, no file is given, ``rating_range`` is
            impossible or given without a rating column, or ``id_prefix`` is impossible.
        DatasetError: a missing file, a missing column, or (unless ``skip_bad``) a bad row:
            an empty id, an id over ``MAX_KEY_BYTES``, a NUL character, a rating that is not
            a finite number (in ``rating_range``), a bad timestamp, text over
            ``MAX_TEXT_BYTES``, an unknown item. Errors name the file, line and field.
    """
    for key in ("user_id", "item_id"):
        if key not in mapping:
            raise InvalidParameter(f"mapping needs '{key}'; got {sorted(mapping)}")
    unknown = set(mapping) - set(INTERACTION_KEYS)
    if unknown:
        raise InvalidParameter(f"unknown mapping keys {sorted(unknown)}; use {INTERACTION_KEYS}")
    bounds = check_rating_range(rating_range)
    if bounds is not None and "rating" not in mapping:
        raise InvalidParameter(
            f"rating_range {rating_range!r} needs a rating column: map 'rating' (--rating-col)"
        )
    prefix = check_prefix(id_prefix)
    paths = [Path(path_or_paths)] if isinstance(path_or_paths, str | Path) else path_or_paths
    if not paths:
        raise InvalidParameter("no interaction files given")
    issues = Issues()
    catalogue = _read_items(Path(items), items_mapping, issues, skip_bad, prefix) if items else None

    parts = []
    for path in map(Path, paths):
        mark = len(issues.rows)
        table = _load(path, mapping, (), issues)
        users = _ids(table, mapping["user_id"], prefix)
        item_ids = _ids(table, mapping["item_id"], prefix)
        part: dict[str, object] = {"user_id": users, "item_id": item_ids}
        if "rating" in mapping:
            part["rating"] = table.floats(mapping["rating"], bounds)
        if "ts" in mapping:
            part["ts"] = _timestamps(table, mapping["ts"])
        if "title" in mapping:
            part["title"] = table.texts(mapping["title"])
        if "tags" in mapping:
            part["tags"] = table.tag_lists(mapping["tags"], TAG_SEPARATOR)
        if catalogue is not None:
            table.known(mapping["item_id"], item_ids, pd.Index(catalogue["id"]), str(items))
        issues.settle(mark, skip_bad)
        parts.append(pd.DataFrame(part)[~table.bad])
    rows = pd.concat(parts, ignore_index=True)

    ds = Dataset(name=name, rating_range=bounds)
    rating = rows["rating"].astype(np.float64) if "rating" in rows else np.nan
    ds.interactions = pd.DataFrame(
        {
            "user_id": rows["user_id"],
            "item_id": rows["item_id"],
            "kind": "rating" if "rating" in rows else "implicit",
            "rating": rating,
            "weight": rating if "rating" in rows else 1.0,
            "ts": rows["ts"].astype(np.int64) if "ts" in rows else np.int64(-1),
            "split": "",
        }
    )
    ds.users = pd.DataFrame({"id": pd.unique(rows["user_id"])}, dtype=object)
    if catalogue is None:
        firsts = rows.drop_duplicates("item_id")
        catalogue = pd.DataFrame(
            {
                "id": firsts["item_id"].to_numpy(object),
                "title": firsts["title"].to_numpy(object) if "title" in rows else None,
                "description": None,
                "tags": firsts["tags"].to_numpy(object) if "tags" in rows else None,
            }
        )
    catalogue["title"] = _missing(catalogue["title"])
    catalogue["description"] = _missing(catalogue["description"])
    ds.items = catalogue[["id", "title", "description"]].reset_index(drop=True)
    pairs = [
        (item, tag)
        for item, tags in zip(catalogue["id"], catalogue["tags"], strict=True)
        for tag in (tags or ())
    ]
    item_tags = pd.DataFrame(pairs, columns=["item_id", "tag"], dtype=object)
    item_tags["source"] = "genre"
    item_tags["count"] = np.int64(1)
    ds.item_tags = item_tags
    ds.tags = pd.DataFrame({"name": pd.unique(item_tags["tag"])}, dtype=object)
    ds.rejects = issues.frame()
    conform(ds, prefix)
    log.info("read %s: %s", [str(p) for p in paths], ds.summary())
    return ds


def _read_items(
    path: Path, mapping: Mapping[str, str] | None, issues: Issues, skip_bad: bool, prefix: str
) -> pd.DataFrame:
    """The items file as a frame with columns id, title, description (str or None), tags
    (lists of tag names); ids unprefixed."""
    if mapping is not None and "id" not in mapping:
        raise InvalidParameter(f"items_mapping needs 'id'; got {sorted(mapping)}")
    given = dict(mapping) if mapping is not None else {"id": "id"}
    optional = [k for k in ITEM_KEYS if k not in given]
    mark = len(issues.rows)
    table = _load(path, given, optional, issues)
    cols = {k: given.get(k, k) for k in ITEM_KEYS}
    ids = _ids(table, cols["id"], prefix)
    seen = pd.Series(ids).where(~table.bad)
    dup = (seen.duplicated() & seen.notna()).to_numpy()
    table.flag(dup, cols["id"], lambda i: f"{cols['id']} {shown(ids[i])} is listed twice")
    out: dict[str, object] = {"id": ids}
    for key in ("title", "description"):
        out[key] = table.texts(cols[key]) if cols[key] in table.columns else None
    tags = cols["tags"]
    out["tags"] = table.tag_lists(tags, TAG_SEPARATOR) if tags in table.columns else None
    issues.settle(mark, skip_bad)
    return pd.DataFrame(out)[~table.bad].reset_index(drop=True)
