"""Rows of one input file and the issues of a dataset's files, for the readers.

A :class:`Table` holds a file's columns and rejects rows through vectorised checks
(:meth:`Table.flag`); :class:`Issues` gathers the rejected rows of every file and raises the
earliest one unless the reader runs with ``skip_bad``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from kgrec.core.dataset import MAX_KEY_BYTES, MAX_TEXT_BYTES, normalise_tag
from kgrec.core.errors import DatasetError
from kgrec.core.values import fault_reason, printable, shown, string_faults, utf8_size

REJECT_COLUMNS = ["file", "line", "field", "reason", "raw"]
_INT = r"[ \t]*[+-]?[0-9]{1,18}[ \t]*"


class Issues:
    """Rejected rows of all files of one dataset, in the ``Dataset.rejects`` layout."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, path: Path, line: int, field: str | None, reason: str, raw: str) -> None:
        """Record one bad row."""
        raw = printable(raw)
        self.rows.append(
            {"file": str(path), "line": line, "field": field, "reason": reason, "raw": raw}
        )

    def settle(self, since: int, skip_bad: bool) -> None:
        """Raise the earliest issue recorded after index ``since`` unless ``skip_bad``."""
        if skip_bad or len(self.rows) <= since:
            return
        first = min(self.rows[since:], key=lambda r: (r["file"], r["line"]))
        reason = f"{first['reason']} (--skip-bad, or skip_bad=True in Python, skips bad rows)"
        reason = reason.replace("\r", "\\r").replace("\n", "\\n")  # one line, always
        raise DatasetError(
            reason, cast(str, first["file"]), cast(int, first["line"]), cast(str, first["field"])
        )

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
        unterminated: the file ends without a newline (a CSV file cut inside its last line
            looks so; :meth:`ints` then checks the last row's last field).
    """

    def __init__(
        self,
        path: Path,
        columns: dict[str, pd.Series],
        lines: np.ndarray,
        raw: Callable[[int], str],
        issues: Issues,
        unterminated: bool = False,
    ) -> None:
        self.path = path
        self.unterminated = unterminated
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
        """Check that column ``name`` holds integers of at most 18 digits; returns them (0 where
        bad)."""
        col = self.columns[name]
        if pd.api.types.is_integer_dtype(col.dtype):
            ok = col.notna().to_numpy()
        elif pd.api.types.is_float_dtype(col.dtype):
            floats = col.to_numpy(dtype=np.float64)
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(floats) & (floats == np.round(floats)) & (np.abs(floats) < 1e18)
        else:
            ok = col.astype(str).str.fullmatch(_INT).fillna(False).to_numpy(dtype=bool)
            ok = ok & col.notna().to_numpy()
        values = np.zeros(len(col), dtype=np.int64)
        values[ok] = pd.to_numeric(col[ok]).astype(np.int64).to_numpy()
        self.flag(
            ~ok, name, lambda i: f"{name} {shown(col.iat[i])} is not an integer (at most 18 digits)"
        )
        self._cut_short(name)
        return values

    def _cut_short(self, name: str) -> None:
        """Reject the last row when the file looks cut inside it: the file ends without a
        newline, ``name`` is its last column and the last row's integer has fewer digits
        than every other row's (at least two others): a timestamp cut to ``'9'``."""
        last = len(self) - 1
        if not self.unterminated or last < 2 or list(self.columns)[-1] != name:
            return
        col = self.columns[name]
        digits = col.astype(str).str.strip().str.lstrip("+-").str.len().to_numpy()
        others = digits[:last][~self.bad[:last]]
        if len(others) < 2 or digits[last] >= others.min():
            return
        mask = np.zeros(len(self), dtype=bool)
        mask[last] = True
        self.flag(
            mask,
            name,
            lambda i: (
                f"{name} {shown(col.iat[i])} has {digits[i]} digits where every other row has "
                f"at least {others.min()}, and the file ends without a newline: it looks cut "
                "short; complete the last line or fetch the file again"
            ),
        )

    def floats(self, name: str, bounds: tuple[float, float] | None = None) -> np.ndarray:
        """Check that column ``name`` holds finite numbers, within ``bounds`` (low, high) when
        given; returns them."""
        col = self.columns[name]
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
        parsed = ~np.isnan(values)
        self.flag(~parsed, name, lambda i: f"{name} {shown(col.iat[i])} is not a number")
        self.flag(
            ~np.isfinite(values),
            name,
            lambda i: f"{name} {shown(col.iat[i])} is not a number: nan and infinities are refused",
        )
        if bounds is not None:
            low, high = bounds
            out = (values < low) | (values > high)
            self.flag(
                out,
                name,
                lambda i: (
                    f"{name} {values[i]:g} is out of range {low:g} to {high:g}; "
                    "fix the value, or give the data's scale as rating_range (--rating-range)"
                ),
            )
        return values

    def storable(
        self, name: str, values: np.ndarray, limit: int | None, kind: str = "text"
    ) -> None:
        """Reject rows whose value (of column ``name``) the stores cannot take: NUL, not
        encodable as UTF-8, or (unless ``limit`` is None) over ``limit`` UTF-8 bytes;
        ``kind`` ('key' or 'text') words the limit."""
        mask = string_faults(values, limit)
        if mask is not None:
            self.flag(mask, name, lambda i: fault_reason(name, values[i], limit, kind))

    def keys(self, name: str, values: np.ndarray, prefix: str = "") -> None:
        """:meth:`storable` for indexed keys (ids, tag names): at most ``MAX_KEY_BYTES``
        UTF-8 bytes once ``prefix`` (the reader's ``id_prefix``) is put before them."""
        limit = MAX_KEY_BYTES - utf8_size(prefix)
        mask = string_faults(values, limit)
        if mask is not None:
            self.flag(
                mask, name, lambda i: fault_reason(name, prefix + values[i], MAX_KEY_BYTES, "key")
            )

    def tag_lists(self, name: str, separator: str, drop: str = "") -> list[list[str]]:
        """Column ``name`` split at ``separator`` into normalised tag names (first
        occurrences, without empty names and ``drop``); rejects over-long fields and tags."""
        values = self.texts(name)
        split = (dict.fromkeys(map(normalise_tag, str(v).split(separator))) for v in values)
        lists = [[t for t in tags if t and t != drop] for tags in split]
        flat = np.array([t for tags in lists for t in tags], dtype=object)
        mask = string_faults(flat, MAX_KEY_BYTES)
        if mask is not None:
            owner = np.repeat(np.arange(len(lists)), [len(tags) for tags in lists])
            first: dict[int, str] = {}
            for row, tag in zip(owner[mask], flat[mask], strict=True):
                first.setdefault(int(row), tag)
            rows = np.zeros(len(lists), dtype=bool)
            rows[list(first)] = True
            self.flag(rows, name, lambda i: fault_reason(f"{name} tag", first[i], MAX_KEY_BYTES))
        return lists

    def texts(self, name: str) -> np.ndarray:
        """Column ``name`` as str ('' for missing), rejecting values over ``MAX_TEXT_BYTES``."""
        values = self.strings(name)
        self.storable(name, values, MAX_TEXT_BYTES, "text")
        return values

    def known(self, name: str, ids: np.ndarray, universe: pd.Index, where: str) -> None:
        """Reject rows whose id in column ``name`` is not in ``universe`` (named ``where``)."""
        missing = ~pd.Series(ids, dtype=object).isin(universe).to_numpy(dtype=bool)
        self.flag(
            missing, name, lambda i: f"{name} {shown(ids[i])} is an unknown item: not in {where}"
        )

    def strings(self, name: str) -> np.ndarray:
        """Column ``name`` as an object array of str ('' for missing values)."""
        col = self.columns[name]
        return col.fillna("").astype(str).to_numpy(dtype=object)
