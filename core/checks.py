"""Checks of the values a write after ingestion carries (a recorded interaction, an added
item), so that it is refused or accepted exactly as ingestion would take it.

One rule for every writer:

- ids are strings or integers (an integral float, as pandas makes of an integer column with a
  gap, counts as its integer); a bool, a list or any other object is refused, and so is an id
  that begins or ends with whitespace (the readers trim it: the write would name another user
  or item than ingestion did);
- a rating is a number (a string such as ``"4"`` and a bool are refused), finite, and within
  the store's scale (:mod:`kgrec.app.rating_scale`); a weight is a finite number from 0 to
  :data:`MAX_WEIGHT`;
- a timestamp is whole unix seconds from 0 (or -1: unknown) to at most
  :data:`MAX_FUTURE_SECONDS` after now (a time in milliseconds is refused as such);
- a kind is a short word; a tag string is one tag; titles and texts are strings.

Every check raises :class:`~kgrec.core.errors.DatasetError` naming the field and the value.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from kgrec.core.dataset import normalise_tag
from kgrec.core.errors import DatasetError, InvalidParameter
from kgrec.core.values import is_missing, shown

__all__ = [
    "MAX_FUTURE_SECONDS",
    "MAX_WEIGHT",
    "check_id",
    "check_kind",
    "check_rating",
    "check_tags",
    "check_text",
    "check_ts",
    "check_weight",
]

#: How far past now a written timestamp may lie (clocks drift; a time far ahead would win
#: every later write of its user and item, since the latest timestamp wins).
MAX_FUTURE_SECONDS = 86_400
#: The largest weight an interaction may carry.
MAX_WEIGHT = 1e6
_KIND = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _refuse(field: str, value: Any, reason: str, row: int | None) -> DatasetError:
    where = "" if row is None else f"row {row}: "
    return DatasetError(f"{where}{field} {shown(value)} {reason}", field=field)


def _type_name(value: Any) -> str:
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real | np.number) and not isinstance(value, bool | np.bool_)


def check_id(value: Any, field: str, row: int | None = None) -> str:
    """An id as the stores hold it: ``7`` and ``7.0`` give ``'7'``; a string as given.

    Raises:
        DatasetError: missing or empty, not a string or an integer, or padded with
            whitespace.
    """
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        raise _refuse(field, value, "is missing; every write names its user and item", row)
    if isinstance(value, str):
        if value != value.strip():
            raise _refuse(
                field,
                value,
                "begins or ends with whitespace, which ingestion trims "
                f"from ids; pass {value.strip()!r}",
                row,
            )
        return value
    if isinstance(value, bool | np.bool_) or not _is_number(value):
        raise _refuse(
            field, value, f"is a {_type_name(value)}, not an id (ids are strings or integers)", row
        )
    number = float(value)
    if isinstance(value, numbers.Integral | np.integer):
        return str(int(value))
    if not math.isfinite(number) or not number.is_integer() or abs(number) >= 2**53:
        raise _refuse(field, value, "is not an id (ids are strings or integers)", row)
    return str(int(number))


def _number(value: Any, field: str, row: int | None) -> float:
    if isinstance(value, str):
        raise _refuse(field, value, "is not a number but a string; pass a number", row)
    if not _is_number(value):
        raise _refuse(field, value, f"is a {_type_name(value)}, not a number", row)
    number = float(value)
    if not math.isfinite(number):
        raise _refuse(field, value, "is not a number: nan and infinities are refused", row)
    return number


def check_rating(
    value: Any,
    scale: tuple[float, float] = (-math.inf, math.inf),
    row: int | None = None,
    missing_ok: bool = False,
) -> float | None:
    """A rating within ``scale`` (low, high), or None for no rating.

    Args:
        missing_ok: a NaN means no rating (pandas' missing value in a frame's column);
            otherwise only None does and a NaN is refused.

    Raises:
        DatasetError: not a number, not finite, or out of ``scale``.
    """
    if value is None or (missing_ok and is_missing(value)):
        return None
    number = _number(value, "rating", row)
    low, high = scale
    if not low <= number <= high:
        raise _refuse(
            "rating",
            value,
            f"is out of range {low:g} to {high:g} (the store's "
            "rating scale, set when its ratings were ingested); fix the value",
            row,
        )
    return number


def check_weight(value: Any, row: int | None = None) -> float:
    """A weight: a finite number from 0 to :data:`MAX_WEIGHT`.

    Raises:
        DatasetError: anything else.
    """
    number = _number(value, "weight", row)
    if not 0.0 <= number <= MAX_WEIGHT:
        raise _refuse("weight", value, f"is out of range 0 to {MAX_WEIGHT:g}", row)
    return number


def check_ts(value: Any, now: float, row: int | None = None) -> int:
    """A timestamp in whole unix seconds: -1 (unknown), or from 0 to
    :data:`MAX_FUTURE_SECONDS` after ``now``.

    Raises:
        DatasetError: not a whole number, negative (but -1), or too far in the future.
    """
    number = _number(value, "ts", row)
    if not number.is_integer() or number < -1:
        raise _refuse("ts", value, "is not a time in whole unix seconds (or -1: unknown)", row)
    if number > now + MAX_FUTURE_SECONDS:
        hint = (
            " (a time in milliseconds? divide by 1000)"
            if number / 1000 <= now + MAX_FUTURE_SECONDS
            else ""
        )
        raise _refuse(
            "ts",
            value,
            f"lies more than a day in the future{hint}; a time ahead "
            "of the clock would win every later write of this user and item",
            row,
        )
    return int(number)


def check_kind(value: Any, has_rating: bool, row: int | None = None) -> str:
    """The interaction's kind: given, else ``rating`` with a rating and ``implicit`` without.

    Raises:
        DatasetError: not a short word (letters, digits, ``_.:-``; at most 64), or
            ``rating`` without a rating.
    """
    if is_missing(value):
        return "rating" if has_rating else "implicit"
    if not isinstance(value, str) or not _KIND.fullmatch(value):
        raise _refuse(
            "kind",
            value,
            "is not a kind: a word of at most 64 letters, digits or "
            "_.:- such as 'rating', 'click' or 'implicit'",
            row,
        )
    if value == "rating" and not has_rating:
        raise _refuse("kind", value, "needs a rating; give one or use kind 'implicit'", row)
    return value


def check_text(value: Any, field: str, required: bool = False) -> str | None:
    """A title or text: a string (None or blank: not given, refused when ``required``).

    Raises:
        DatasetError: not a string, or missing when required.
    """
    if value is not None and not isinstance(value, str):
        raise _refuse(field, value, f"is a {_type_name(value)}, not text", None)
    if value is None or not value.strip():
        if required:
            raise _refuse(field, value, f"is empty; give the item a {field}", None)
        return None
    return value


def check_tags(tags: Any) -> list[str]:
    """Tag names, normalised, first occurrences: a string is one tag, None none.

    Raises:
        DatasetError: a tag that is not a string, or empty once normalised.
    """
    if tags is None:
        return []
    given: Iterable[Any] = [tags] if isinstance(tags, str) else tags
    if not isinstance(given, Iterable) or isinstance(given, bytes | dict):
        raise _refuse("tags", tags, f"is a {_type_name(tags)}; give a tag or a list of tags", None)
    names = []
    for tag in given:
        if not isinstance(tag, str):
            raise _refuse("tags", tag, f"is a {_type_name(tag)}, not a tag name", None)
        name = normalise_tag(tag)
        if not name:
            raise _refuse("tags", tag, "is an empty tag; drop it or give it a name", None)
        names.append(name)
    return list(dict.fromkeys(names))


def check_k(k: Any, name: str = "k") -> int:
    """A top-k: an integer of at least 1.

    Raises:
        InvalidParameter: anything else (a bool, a float, 0, a negative number).
    """
    if isinstance(k, bool | np.bool_) or not isinstance(k, numbers.Integral | np.integer) or k < 1:
        raise InvalidParameter(f"{name} must be an integer >= 1, got {shown(k)}", field=name)
    return int(k)


def check_share(share: Any, name: str = "share") -> float:
    """A share: a number in (0, 1].

    Raises:
        InvalidParameter: anything else.
    """
    if not _is_number(share) or not 0.0 < float(share) <= 1.0:
        raise InvalidParameter(
            f"{name} must be a number greater than 0 and at most 1, got {shown(share)}",
            field=name,
        )
    return float(share)
