"""Reader for RecBole's atomic files: ``NAME.inter`` and ``NAME.item`` (MovieLens 100K...).

The ``recbole`` wheel ships GroupLens' MovieLens 100K in this layout
(``recbole/dataset_example/ml-100k/``). Files are tab-separated, unquoted, with a header
of ``field:type`` names (``user_id:token``); the types are not needed and are ignored.

Files read from the dataset folder (``NAME`` is the stem of its one ``.inter`` file):

- ``NAME.inter`` (required): ``user_id``, ``item_id`` and optionally ``rating`` (a number)
  and ``timestamp`` (unix seconds; a fraction is cut off). With a rating, interactions have
  kind ``'rating'`` and weight = rating; without, kind ``'implicit'`` and weight 1.0. Without
  a timestamp, ts is -1.
- ``NAME.item`` (optional): ``item_id`` and optionally a title (``movie_title`` or
  ``title``), ``release_year`` (a year joins the title as MovieLens writes it:
  ``Toy Story (1995)``) and genres (``class`` or ``genre``: space-separated names, the name
  ``unknown`` meaning none), which become tags with source ``'genre'``. When the file is
  there, interactions naming items absent from it are rejected as unknown items.

``NAME.user``, ``NAME.kg`` and ``NAME.link`` are not read. Several rows for one (user, item)
are merged: the latest timestamp wins, on equal timestamps the last row
(``Dataset.duplicates_merged`` counts the dropped rows).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from kgrec.core.dataset import MAX_TEXT_BYTES, Dataset
from kgrec.core.errors import DatasetError, InvalidParameter
from kgrec.core.values import shown
from kgrec.loaders._csv import Issues, Table, conform, read_csv_table
from kgrec.loaders.validate import check_prefix, check_rating_range

log = logging.getLogger(__name__)

TITLE_FIELDS = ("movie_title", "title")
GENRE_FIELDS = ("class", "genre")
NO_GENRE = "unknown"
_YEAR = r"[0-9]{4}"


def _field(header: str) -> str:
    """``'rating:float'`` -> ``'rating'``."""
    return header.split(":", 1)[0].strip()


def _read(path: Path, required: list[str], issues: Issues) -> Table:
    return read_csv_table(path, required, issues, delimiter="\t", quoted=False, field_name=_field)


def _ids(table: Table, column: str, prefix: str) -> np.ndarray:
    """Non-empty tokens of ``column`` (trimmed, unprefixed); rejects empty and over-long ones."""
    values = np.array([v.strip() for v in table.strings(column)], dtype=object)
    table.flag(values == "", column, lambda i: f"{column} is empty")
    table.keys(column, values, prefix)
    return values


def _timestamps(table: Table, column: str) -> np.ndarray:
    """Unix seconds of ``column`` as int64 (fractions cut off); rejects non-numbers and values
    of 18 digits or more."""
    values = table.floats(column)
    with np.errstate(invalid="ignore"):
        huge = ~(np.abs(values) < 1e17)
    table.flag(huge, column, lambda i: f"{column} {values[i]:g} is not a unix time in seconds")
    return np.floor(np.where(huge, 0.0, values)).astype(np.int64)


def _inter_file(root: Path) -> Path:
    """The folder's one ``.inter`` file."""
    found = sorted(root.glob("*.inter"))
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise DatasetError(
            f"expected one NAME.inter file (RecBole atomic files), found {names}", root
        )
    return found[0]


def _first_present(table: Table, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in table.columns), None)


def read_recbole(
    path: str | Path,
    *,
    skip_bad: bool = False,
    rating_range: tuple[float, float] | None = None,
    id_prefix: str = "",
) -> Dataset:
    """Read a folder of RecBole atomic files into canonical frames.

    Args:
        path: the folder holding ``NAME.inter`` and optionally ``NAME.item``.
        skip_bad: collect bad rows in ``Dataset.rejects`` and drop them instead of raising.
            Header errors and missing files raise either way.
        rating_range: the lowest and highest rating allowed; None (the default) allows any
            finite number.
        id_prefix: put before every user and item id (``'ml100k:'``), to keep datasets apart
            in one store; tag names are not prefixed.

    Returns:
        The dataset, named after the files (``'ml-100k'``). Users are every user with an
        interaction; items are those of ``NAME.item``, or without it those interacted with
        (title None).

    Raises:
        DatasetError: a missing folder or ``.inter`` file, a header lacking a required field,
            or (unless ``skip_bad``) a bad row: wrong number of fields, bytes that are not
            UTF-8, a NUL character, an empty id, an id over ``MAX_KEY_BYTES``, a rating that
            is not a finite number (in ``rating_range``), a timestamp that is not a number of
            seconds, a title over ``MAX_TEXT_BYTES``, an item listed twice in ``NAME.item``
            or an interaction naming an item absent from it. The error names the file, its
            1-based line and the field. ``InvalidParameter`` (a DatasetError) for a bad
            ``rating_range`` or ``id_prefix``, or a ``rating_range`` for a file without
            ratings.
    """
    bounds = check_rating_range(rating_range)
    prefix = check_prefix(id_prefix)
    root = Path(path)
    if not root.is_dir():
        raise DatasetError("dataset folder not found", root)
    inter_path = _inter_file(root)
    name = inter_path.stem
    issues = Issues()

    item_path = root / f"{name}.item"
    items: pd.DataFrame | None = None
    genre_rows: list[tuple[str, str]] = []
    if item_path.exists():
        table = _read(item_path, ["item_id"], issues)
        ids = _ids(table, "item_id", prefix)
        title_field = _first_present(table, TITLE_FIELDS)
        raw_titles = table.strings(title_field) if title_field else np.full(len(ids), "", object)
        titles = np.array([t.strip() for t in raw_titles], dtype=object)
        if "release_year" in table.columns:
            years = pd.Series(table.strings("release_year")).str.strip()
            dated = (years.str.fullmatch(_YEAR) & (titles != "")).to_numpy(dtype=bool)
            titles[dated] = [f"{t} ({y})" for t, y in zip(titles[dated], years[dated], strict=True)]
        if title_field:
            table.storable(title_field, titles, MAX_TEXT_BYTES, "text")
        genre_field = _first_present(table, GENRE_FIELDS)
        genres = table.tag_lists(genre_field, " ", NO_GENRE) if genre_field else None
        seen = pd.Series(ids).where(~table.bad)
        dup = (seen.duplicated() & seen.notna()).to_numpy()
        table.flag(dup, "item_id", lambda i: f"item_id {shown(ids[i])} is listed twice")
        issues.settle(0, skip_bad)
        keep = ~table.bad
        items = pd.DataFrame(
            {"id": ids[keep], "title": [t or None for t in titles[keep]], "description": None}
        )
        if genres is not None:
            genre_rows = [
                (item, tag)
                for item, tags, good in zip(ids, genres, keep, strict=True)
                if good
                for tag in tags
            ]
    else:
        log.info("%s: no %s, items are named only by id", root, item_path.name)

    mark = len(issues.rows)
    table = _read(inter_path, ["user_id", "item_id"], issues)
    users = _ids(table, "user_id", prefix)
    item_ids = _ids(table, "item_id", prefix)
    rated = "rating" in table.columns
    if bounds is not None and not rated:
        raise InvalidParameter(
            f"rating_range {rating_range!r} needs a rating field; the header has none",
            inter_path,
            1,
            "rating",
        )
    ratings = table.floats("rating", bounds) if rated else np.full(len(users), np.nan)
    has_ts = "timestamp" in table.columns
    ts = _timestamps(table, "timestamp") if has_ts else np.full(len(users), -1, np.int64)
    if items is not None:
        table.known("item_id", item_ids, pd.Index(items["id"]), item_path.name)
    issues.settle(mark, skip_bad)
    keep = ~table.bad

    ds = Dataset(name=name, rating_range=bounds)
    ds.interactions = pd.DataFrame(
        {
            "user_id": users[keep],
            "item_id": item_ids[keep],
            "kind": "rating" if rated else "implicit",
            "rating": ratings[keep],
            "weight": ratings[keep] if rated else 1.0,
            "ts": ts[keep],
            "split": "",
        }
    )
    ds.users = pd.DataFrame({"id": pd.unique(users[keep])}, dtype=object)
    if items is None:
        items = pd.DataFrame({"id": pd.unique(item_ids[keep]), "title": None, "description": None})
    ds.items = items
    item_tags = pd.DataFrame(genre_rows, columns=["item_id", "tag"], dtype=object)
    item_tags["source"] = "genre"
    item_tags["count"] = np.int64(1)
    ds.item_tags = item_tags
    ds.tags = pd.DataFrame({"name": sorted(set(item_tags["tag"]))}, dtype=object)
    ds.rejects = issues.frame()
    conform(ds, prefix)
    log.info("read %s: %s", root, ds.summary())
    return ds
