"""Shared validation helpers for the dataset readers.

Readers load a whole file, check every row column by column with vectorised tests, and
collect one issue per bad row (the first check it fails). Nothing is returned until every
file has been checked: in strict mode the earliest issue of a file is raised as a
:class:`~kgrec.errors.DatasetError`; with ``skip_bad`` the issues become ``Dataset.rejects``
rows and the bad rows are dropped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from kgrec.errors import DatasetError
from kgrec.loaders.frames import COLUMNS, Dataset

REJECT_COLUMNS = ["file", "line", "field", "reason", "raw"]
_INT = r"\s*[+-]?\d{1,18}\s*"
_BAD_BYTES = re.compile("[\udc80-\udcff]")
_MAX_SHOWN = 40


def shown(value: object) -> str:
    """A value as a short, single-line ``repr`` for error messages."""
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return repr(text)


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


def encoding_reason(text: str) -> str:
    """The reason reported for a field holding bytes that are not UTF-8."""
    bad = _BAD_BYTES.search(text)
    byte = ord(bad.group()) - 0xDC00 if bad else 0
    return f"bytes are not valid UTF-8 (0x{byte:02x}); re-save the file as UTF-8"


def has_bad_bytes(text: str) -> bool:
    """Whether ``text`` holds bytes that were not valid UTF-8."""
    return _BAD_BYTES.search(text) is not None


def conform(ds: Dataset) -> Dataset:
    """Give every frame its canonical dtypes: ts/count int64, rating/weight float64, others
    object (Python strings, None for missing), with a fresh index; then ``ds.check()``."""
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
            columns[col] = values.reset_index(drop=True)
        setattr(ds, name, pd.DataFrame(columns))
    ds.check()
    return ds


class Issues:
    """Rejected rows of all files of one dataset, in the ``Dataset.rejects`` layout."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, path: Path, line: int, field: str | None, reason: str, raw: str) -> None:
        """Record one bad row."""
        raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        self.rows.append(
            {"file": str(path), "line": line, "field": field, "reason": reason, "raw": raw}
        )

    def settle(self, since: int, skip_bad: bool) -> None:
        """Raise the earliest issue recorded after index ``since`` unless ``skip_bad``."""
        if skip_bad or len(self.rows) <= since:
            return
        first = min(self.rows[since:], key=lambda r: (r["file"], r["line"]))
        reason = f"{first['reason']} (--skip-bad, or skip_bad=True in Python, skips bad rows)"
        raise DatasetError(reason, first["file"], first["line"], first["field"])

    def frame(self) -> pd.DataFrame:
        """The issues as a rejects frame sorted by file and line."""
        frame = pd.DataFrame(self.rows, columns=REJECT_COLUMNS)
        frame["line"] = frame["line"].astype(np.int64)
        frame["field"] = pd.Series([r["field"] for r in self.rows], dtype=object)
        return frame.sort_values(["file", "line"], kind="stable").reset_index(drop=True)


class Table:
    """Columns of one file plus the bookkeeping to reject rows.

    Attributes:
        path: the file.
        columns: the file's columns by name, as pandas Series aligned with the rows.
        lines: the 1-based line (CSV) or row number (Parquet, header counted) of each row.
        bad: rows rejected so far.
    """

    def __init__(
        self,
        path: Path,
        columns: dict[str, pd.Series],
        lines: np.ndarray,
        raw: Callable[[int], str],
        issues: Issues,
    ) -> None:
        self.path = path
        self.columns = columns
        self.lines = lines
        self.raw = raw
        self.issues = issues
        self.bad = np.zeros(len(lines), dtype=bool)

    def __len__(self) -> int:
        return len(self.lines)

    def flag(self, mask: np.ndarray, field: str | None, reason: Callable[[int], str]) -> None:
        """Reject rows in ``mask`` not rejected yet; ``reason(i)`` words row ``i``'s issue."""
        new = np.flatnonzero(np.asarray(mask, dtype=bool) & ~self.bad)
        for i in new:
            self.issues.add(self.path, int(self.lines[i]), field, reason(int(i)), self.raw(int(i)))
        self.bad[new] = True

    def ints(self, name: str) -> np.ndarray:
        """Check that column ``name`` holds integers; returns them (0 where bad)."""
        col = self.columns[name]
        if pd.api.types.is_integer_dtype(col.dtype):
            ok = col.notna().to_numpy()
        elif pd.api.types.is_float_dtype(col.dtype):
            floats = col.to_numpy(dtype=np.float64)
            ok = np.isfinite(floats) & (floats == np.round(floats))
        else:
            ok = col.astype(str).str.fullmatch(_INT).fillna(False).to_numpy(dtype=bool)
            ok = ok & col.notna().to_numpy()
        values = np.zeros(len(col), dtype=np.int64)
        values[ok] = pd.to_numeric(col[ok]).astype(np.int64).to_numpy()
        self.flag(~ok, name, lambda i: f"{name} {shown(col.iat[i])} is not an integer")
        return values

    def floats(self, name: str, low: float | None = None, high: float | None = None) -> np.ndarray:
        """Check that column ``name`` holds finite numbers in ``[low, high]``; returns them."""
        col = self.columns[name]
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(values)
        self.flag(~ok, name, lambda i: f"{name} {shown(col.iat[i])} is not a number")
        if low is not None and high is not None:
            out = ok & ((values < low) | (values > high))
            self.flag(
                out, name, lambda i: f"{name} {values[i]:g} is out of range {low:g} to {high:g}"
            )
        return values

    def known(self, name: str, ids: np.ndarray, universe: pd.Index, where: str) -> None:
        """Reject rows whose id in column ``name`` is not in ``universe`` (named ``where``)."""
        missing = ~pd.Series(ids, dtype=object).isin(universe).to_numpy(dtype=bool)
        self.flag(missing, name, lambda i: f"{name} {ids[i]} is an unknown item: not in {where}")

    def strings(self, name: str) -> np.ndarray:
        """Column ``name`` as an object array of str ('' for missing values)."""
        col = self.columns[name]
        return col.fillna("").astype(str).to_numpy(dtype=object)


def read_csv_table(path: Path, required: Sequence[str], issues: Issues) -> Table:
    """Parse a CSV file with a header into a :class:`Table` and run the structural checks.

    Checks: the header names every ``required`` column (raises at line 1, field = the missing
    column); every row has as many fields as the header (a truncated or broken line); no
    field holds bytes that are not UTF-8. Blank lines are ignored.

    Args:
        path: the CSV file.
        required: columns the header must name (others are kept and ignored by callers).
        issues: where rejected rows go.

    Raises:
        DatasetError: missing or unreadable file, empty file, bad header.
    """
    text, had_bad_bytes = read_text(path)
    physical = text.split("\n")
    reader = csv.reader((line + "\n" for line in physical), strict=False)
    try:
        header = next(reader)
    except StopIteration:
        header = []
    except csv.Error as exc:
        raise DatasetError(f"unreadable header: {exc}", path, 1) from None
    if not header or header == [""]:
        raise DatasetError(f"empty file: expected a header naming {','.join(required)}", path, 1)
    header = [h.strip() for h in header]
    if had_bad_bytes and has_bad_bytes(",".join(header)):
        raise DatasetError(encoding_reason(",".join(header)), path, 1)
    for name in required:
        if name not in header:
            raise DatasetError(
                f"header lacks column '{name}' (found {','.join(header)})", path, 1, name
            )
    rows: list[list[str]] = []
    starts: list[int] = []
    ends: list[int] = []
    start = reader.line_num + 1
    try:
        for row in reader:
            if row:
                rows.append(row)
                starts.append(start)
                ends.append(reader.line_num)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(f"broken CSV: {exc}", path, start) from None
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
    table = Table(path, columns, lines, raw, issues)
    table.flag(
        wrong,
        None,
        lambda i: (
            f"expected {width} fields ({','.join(header)}), found {counts[i]}; "
            "the line is broken or the file truncated"
        ),
    )
    if had_bad_bytes:
        for name, col in columns.items():
            mask = col.str.contains(_BAD_BYTES, regex=True).to_numpy(dtype=bool)
            table.flag(mask, name, lambda i, col=col: encoding_reason(col.iat[i]))
            if mask.any():
                columns[name] = col.where(~mask, "")
    return table
