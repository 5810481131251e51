"""Checks of the string values the stores can hold, shared by every reader and by
:meth:`Dataset.validate`.

The graph stores index ids, tag names and relation names, and cannot hold every string:

- a NUL character (``\\x00``) fails mid-write, and a lone surrogate (a character that is not
  encodable as UTF-8) cannot be sent at all;
- an indexed value of 4,096 bytes or more breaks the embedded store's index silently, so keys
  are limited to ``MAX_KEY_BYTES`` (1,024) UTF-8 bytes and other text to ``MAX_TEXT_BYTES``.

:func:`string_faults` finds such values fast (one pass over the distinct values; the exact
rows only when something is wrong) and :func:`fault_reason` words the problem of one value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

_BAD_BYTES = re.compile("[\udc80-\udcff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MAX_SHOWN = 40


def is_missing(value: object) -> bool:
    """Whether a cell holds no value: None or a float NaN (how pandas and the stores give an
    absent rating, kind or id)."""
    return value is None or (isinstance(value, (float, np.floating)) and value != value)


def printable(text: str) -> str:
    """``text`` with bad bytes (``surrogateescape``) and lone surrogates as ``\\x..`` escapes,
    so that it can be written as UTF-8."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def shown(value: object) -> str:
    """A value as a short, single-line ``repr`` for error messages."""
    text = printable(str(value))
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return repr(text)


def encoding_reason(text: str) -> str:
    """The reason reported for a field holding bytes that are not UTF-8."""
    bad = _BAD_BYTES.search(text)
    byte = ord(bad.group()) - 0xDC00 if bad else 0
    return f"bytes are not valid UTF-8 (0x{byte:02x}); re-save the file as UTF-8"


def has_bad_bytes(text: str) -> bool:
    """Whether ``text`` holds bytes that were not valid UTF-8 (see ``surrogateescape``)."""
    return _BAD_BYTES.search(text) is not None


def utf8_size(text: str) -> int:
    """The length of ``text`` in UTF-8 bytes (lone surrogates count 3, as written)."""
    return len(text.encode("utf-8", "surrogatepass"))


def _faulty(value: object, limit: int | None) -> bool:
    if not isinstance(value, str):
        return False
    if _UNSTORABLE.search(value):
        return True
    return limit is not None and len(value) * 4 > limit and utf8_size(value) > limit


def string_faults(values: Sequence[object] | pd.Series, limit: int | None) -> np.ndarray | None:
    """Which values the stores cannot take: NUL, characters not encodable as UTF-8, or more
    than ``limit`` UTF-8 bytes (no size check when ``limit`` is None). Non-strings pass.

    Returns:
        A boolean mask aligned with ``values``, or None when every value is fine.
    """
    array = np.asarray(values, dtype=object)
    if len(array) == 0:
        return None
    distinct = [v for v in pd.unique(array) if isinstance(v, str)]
    joined = "".join(distinct)
    if "\x00" not in joined and not _has_surrogate(joined):
        if limit is None or max(map(len, distinct), default=0) * 4 <= limit:
            return None
        if max(map(utf8_size, distinct)) <= limit:
            return None
    mask = np.fromiter((_faulty(v, limit) for v in array), dtype=bool, count=len(array))
    return mask if mask.any() else None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def fault_reason(name: str, value: str, limit: int | None, kind: str = "key") -> str:
    """Why ``value`` (of field ``name``) cannot be stored, with the fix.

    Args:
        name: the field as the user knows it.
        value: a value :func:`string_faults` flagged.
        limit: the byte limit that applies.
        kind: ``'key'`` (ids, tag and relation names) or ``'text'``.
    """
    if "\x00" in value:
        at = value.index("\x00")
        return (
            f"{name} {shown(value)} holds a NUL character (\\x00) at position {at + 1}, "
            "which the graph store cannot hold; remove it"
        )
    if has_bad_bytes(value):
        return encoding_reason(value)
    bad = _UNSTORABLE.search(value)
    if bad is not None:
        return (
            f"{name} {shown(value)} holds {bad.group()!r} (a lone surrogate), which is not "
            "encodable as UTF-8; fix the text"
        )
    what = (
        "ids, tag and relation names may be at most {:,} UTF-8 bytes (MAX_KEY_BYTES)"
        if kind == "key"
        else "text fields may be at most {:,} UTF-8 bytes (MAX_TEXT_BYTES)"
    )
    return f"{name} {shown(value)} is {utf8_size(value):,} bytes; {what.format(limit)}: shorten it"
