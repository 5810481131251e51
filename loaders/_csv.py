"""Shared validation helpers for the dataset readers.

Readers load a whole file, check every row column by column with vectorised tests, and
collect one issue per bad row (the first check it fails). Nothing is returned until every
file has been checked: in strict mode the earliest issue of a file is raised as a
:class:`~kgrec.core.errors.DatasetError`; with ``skip_bad`` the issues become ``Dataset.rejects``
rows and the bad rows are dropped.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from kgrec.core.dataset import COLUMNS, ID_COLUMNS, Dataset
from kgrec.core.errors import DatasetError
from kgrec.core.values import encoding_reason, has_bad_bytes, printable, shown
from kgrec.loaders._table import REJECT_COLUMNS, Issues, Table
from kgrec.loaders.validate import merge_duplicates

__all__ = [
    "CSV_FIELD_LIMIT",
    "ID_COLUMNS",
    "Issues",
    "REJECT_COLUMNS",
    "Table",
    "conform",
    "encoding_reason",
    "has_bad_bytes",
    "read_csv_table",
    "read_text",
    "shown",
]

#: Python's csv module refuses fields over this many characters; raised from its 128 KiB
#: default so that over-long values get a reason naming the limit that applies to them.
CSV_FIELD_LIMIT = 16 * 1024 * 1024
_BAD_BYTES = re.compile("[\udc80-\udcff]")


def _too_long(col: pd.Series, i: int) -> str:
    return (
        f"the field is {len(col.iat[i]):,} characters, over the CSV field limit of "
        f'{CSV_FIELD_LIMIT:,} (CSV_FIELD_LIMIT); is a quote (") left open?'
    )


def _encoding_reason_at(col: pd.Series, i: int) -> str:
    return encoding_reason(col.iat[i])


def read_text(path: Path) -> tuple[str, bool]:
    """Read a file as UTF-8 without failing on bad bytes.

    Args:
        path: the file.

    Returns:
        The text (bad bytes kept as lone surrogates, see ``surrogateescape``) and whether any
        bad bytes were found.

    Raises:
        DatasetError: the file is missing or unreadable.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError("file not found; check the dataset folder", path) from None
    except OSError as exc:
        raise DatasetError(f"cannot read file: {exc.strerror}", path) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape"), True


def _prefixed(values: pd.Series, prefix: str) -> pd.Series:
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    fresh = np.array([prefix + str(v) for v in uniques], dtype=object)
    return pd.Series(fresh[codes] if len(codes) else fresh[:0], dtype=object)


def conform(ds: Dataset, id_prefix: str = "") -> Dataset:
    """Finish a reader's dataset; every reader ends with it.

    Gives every frame its canonical dtypes (ts/count int64, rating/weight float64, others
    object: Python strings, None for missing) and a fresh index; puts ``id_prefix`` before
    every user, item and entity id (:data:`ID_COLUMNS`); settles duplicate interactions
    (:func:`~kgrec.loaders.validate.merge_duplicates`, counted in ``ds.duplicates_merged``);
    then runs ``ds.check()``.
    """
    for name, frame in ds.frames().items():
        columns = {}
        for col in COLUMNS[name]:
            values = frame[col]
            if col in ("ts", "count"):
                values = values.astype(np.int64)
            elif col in ("rating", "weight"):
                values = values.astype(np.float64)
            else:
                values = values.astype(object)
                if values.hasnans:
                    values = values.where(values.notna(), None)
            values = values.reset_index(drop=True)
            if id_prefix and col in ID_COLUMNS.get(name, ()):
                values = _prefixed(values, id_prefix)
            columns[col] = values
        setattr(ds, name, pd.DataFrame(columns))
    ds.interactions, merged = merge_duplicates(ds.interactions)
    ds.duplicates_merged += merged
    ds.check()
    return ds


@contextmanager
def _no_field_limit() -> Iterator[None]:
    """Lift the csv module's (process-wide) field size limit while a whole file, already in
    memory, is parsed; fields over ``CSV_FIELD_LIMIT`` are then refused by name."""
    old = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _parse_rows(
    path: Path, physical: list[str], issues: Issues, delimiter: str = ",", quoted: bool = True
) -> tuple[list[str], list[list[str]], list[int], list[int]]:
    """The header and the non-blank rows with their first and last physical line. A line the
    csv module cannot parse (a stray carriage return) becomes an issue of its own."""
    lines = (line + "\n" for line in physical)
    reader = csv.reader(
        lines,
        strict=False,
        delimiter=delimiter,
        quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
    )
    rows: list[list[str]] = []
    starts: list[int] = []
    ends: list[int] = []
    header: list[str] | None = None
    start = 1
    while True:
        try:
            for row in reader:
                if header is None:
                    header = row
                elif row:
                    rows.append(row)
                    starts.append(start)
                    ends.append(reader.line_num)
                start = reader.line_num + 1
            break
        except csv.Error as exc:
            reason = f"broken CSV: {exc}"
            if "new-line character" in str(exc):
                reason = "a carriage return (\\r) inside an unquoted field; quote or remove it"
            if header is None:
                raise DatasetError(f"unreadable header: {reason}", path, 1) from None
            raw = "\n".join(physical[start - 1 : reader.line_num])
            issues.add(path, start, None, reason, raw)
            start = reader.line_num + 1
    return header or [], rows, starts, ends


def read_csv_table(
    path: Path,
    required: Sequence[str],
    issues: Issues,
    *,
    delimiter: str = ",",
    quoted: bool = True,
    field_name: Callable[[str], str] | None = None,
) -> Table:
    """Parse a CSV file with a header into a :class:`Table` and run the structural checks.

    Checks: the header names every ``required`` column and no column twice (raises at line 1,
    field = the column at fault); every row has as many fields as the header (a truncated or
    broken line) and parses as CSV; no field holds bytes that are not UTF-8, a NUL character,
    or more than ``CSV_FIELD_LIMIT`` characters. Blank lines are ignored. A file that ends
    without a newline is marked (``Table.unterminated``) for the cut-short check of
    :meth:`Table.ints`.

    Args:
        path: the CSV file.
        required: columns the header must name (others are kept and ignored by callers).
        issues: where rejected rows go.
        delimiter: the field separator (``"\\t"`` for tab-separated files).
        quoted: fields may be quoted (``"a, b"``); False reads every character as data.
        field_name: maps each header name to the column's name (``'rating:float'`` ->
            ``'rating'``); the raw header is shown in errors.

    Raises:
        DatasetError: missing or unreadable file, empty file, bad header (a missing or a
            repeated column).
    """
    text, had_bad_bytes = read_text(path)
    physical = text.split("\n")
    with _no_field_limit():
        header, rows, starts, ends = _parse_rows(path, physical, issues, delimiter, quoted)
    if not header or header == [""]:
        raise DatasetError(f"empty file: expected a header naming {','.join(required)}", path, 1)
    header = [h.strip() for h in header]
    named = printable(",".join(header)).replace("\r", "\\r").replace("\n", "\\n")
    named = named if len(named) <= 120 else named[:117] + "..."
    if had_bad_bytes and has_bad_bytes(",".join(header)):
        raise DatasetError(encoding_reason(",".join(header)), path, 1)
    if field_name is not None:
        header = [field_name(h) for h in header]
    twice = next((h for n, h in enumerate(header) if h in header[:n]), None)
    if twice is not None:
        raise DatasetError(
            f"header names column {shown(twice)} twice (found {named}); rename or drop one, "
            "so that each value is read from one column",
            path,
            1,
            twice,
        )
    for name in required:
        if name not in header:
            raise DatasetError(
                f"header lacks column {shown(name)} (found {named})",
                path,
                1,
                name,
            )
    lines = np.asarray(starts, dtype=np.int64)
    ends_arr = np.asarray(ends, dtype=np.int64)

    def raw(i: int) -> str:
        return "\n".join(physical[lines[i] - 1 : ends_arr[i]]).rstrip("\r")

    width = len(header)
    counts = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    wrong = counts != width
    padded = [r if len(r) == width else [""] * width for r in rows] if wrong.any() else rows
    data = list(zip(*padded, strict=True)) if padded else [()] * width
    columns = {
        name: pd.Series(np.asarray(data[k], dtype=object), dtype=object)
        for k, name in enumerate(header)
    }
    # a file cut inside its last line ends without a newline
    unterminated = bool(rows) and not text.endswith("\n")
    table = Table(path, columns, lines, raw, issues, unterminated=unterminated)
    table.flag(
        wrong,
        None,
        lambda i: (
            f"expected {width} fields ({named}), found {counts[i]}; "
            "the line is broken or the file truncated"
        )[:300],
    )
    for name, col in columns.items() if len(text) > CSV_FIELD_LIMIT else ():
        if len(col) and col.str.len().max() > CSV_FIELD_LIMIT:
            table.flag(
                (col.str.len() > CSV_FIELD_LIMIT).to_numpy(dtype=bool),
                name,
                partial(_too_long, col),
            )
    for name, col in columns.items():
        if had_bad_bytes:
            mask = col.str.contains(_BAD_BYTES, regex=True).to_numpy(dtype=bool)
            table.flag(mask, name, partial(_encoding_reason_at, col))
            if mask.any():
                columns[name] = col = col.where(~mask, "")
        if "\x00" in text:
            table.storable(name, col.to_numpy(dtype=object), CSV_FIELD_LIMIT, "text")
    return table
