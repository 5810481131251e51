"""Parameter binding for catalogue queries: declared defaults, type checks, CLI coercion.

A parameter's doc in a ``.cypher`` header may end with ``(default VALUE)``; ``VALUE`` is read
like a command-line string of the declared type (``null`` means no value)::

    //   $k    INTEGER  rows to return (default 10)
    //   $tag  STRING   only pairs with this tag; null for all pairs (default null)

A parameter without a default is required.

Values are checked before they reach the store, so a bad one stops with a
:class:`~kgrec.core.errors.QueryParameterError` naming the parameter, the value and the fix
instead of an engine error, a traceback or a silently empty result:

- ``FLOAT`` (also inside ``LIST``, ``MAP`` and ``VECTOR`` values): finite; ``inf`` and
  ``nan`` are refused.
- ``INTEGER`` (also nested): within the signed 64-bit range the stores hold.
- Row counts: an ``INTEGER`` parameter the body uses as ``LIMIT $p`` or as the end of a
  slice ``[..$p]`` must be ``1..1,000,000`` (:data:`MAX_ROWS`). The body decides, not the
  name, so a header needs no extra annotation.
- ``MAP`` keys (also in maps inside lists): plain identifiers ``[A-Za-z_][A-Za-z0-9_]*``.
- ``STRING`` (also nested): no NUL character.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from kgrec.core.errors import QueryParameterError
from kgrec.kg.catalogue import CypherQuery, Param

_DEFAULT = re.compile(r"\(default\s+(.+?)\)\s*$")
_ROW_COUNT = re.compile(r"\bLIMIT\s+\$(\w+)|\[\s*\.\.\s*\$(\w+)\s*\]", re.I)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_ROWS = 1_000_000
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
MISSING = object()


class _Invalid(ValueError):
    """A value that cannot be read as the declared type.

    Args:
        value: the value at fault.
        reason: why, when more than "not of the type" (appended to the message).
        fix: what to pass instead.
    """

    def __init__(self, value: Any, reason: str = "", fix: str = "") -> None:
        super().__init__(value)
        self.reason = reason
        self.fix = fix


def default_of(param: Param) -> Any:
    """The declared default of ``param`` (``None`` for ``null``), or :data:`MISSING`."""
    m = _DEFAULT.search(param.doc)
    if not m:
        return MISSING
    text = m.group(1).strip()
    if text.lower() == "null":
        return None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return convert(param.type, text)


def describe(param: Param) -> str:
    """``$k INTEGER = 10`` or ``$tag STRING`` (required)."""
    default = default_of(param)
    if default is MISSING:
        return f"${param.name} {param.type}"
    return f"${param.name} {param.type} = {json.dumps(default)}"


def convert(type_: str, value: Any) -> Any:
    """``value`` as the declared Cypher type; strings are parsed as a command line gives them.

    Raises:
        _Invalid: the value cannot be read as ``type_``.
    """
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict, str)):
        value = value.item()  # numpy scalar
    reader = _READERS.get(type_)
    if reader is None:
        raise _Invalid(type_)
    return reader(value)


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids are strings in the graph
    raise _Invalid(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError as e:
            raise _Invalid(value) from e
    raise _Invalid(value)


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Invalid(value)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError as e:
            raise _Invalid(value) from e
    if isinstance(value, (int, float)):
        try:
            out = float(value)
        except OverflowError as e:  # an int beyond the float range
            raise _Invalid(value, "beyond the range of a FLOAT", "pass a finite number") from e
        if not math.isfinite(out):
            raise _Invalid(value, "infinity and NaN are not finite numbers", "pass a finite number")
        return out
    raise _Invalid(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _Invalid(value)


def _json(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as e:
        raise _Invalid(value) from e


def _list(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    if hasattr(value, "tolist") and not isinstance(value, str):
        return list(value.tolist())
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            out = _json(text)
            if isinstance(out, list):
                return out
            raise _Invalid(value)
        return [part.strip() for part in text.split(",") if part.strip()]  # a,b,c
    raise _Invalid(value)


def _map(value: Any) -> dict:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        out = _json(value.strip())
        if isinstance(out, dict):
            return out
    raise _Invalid(value)


def _vector(value: Any) -> list[float]:
    items = _list(value)
    try:
        return [_float(x) for x in items]
    except _Invalid as e:
        raise _Invalid(value, e.reason, e.fix) from e


_READERS = {
    "STRING": _string,
    "INTEGER": _integer,
    "FLOAT": _float,
    "BOOLEAN": _boolean,
    "LIST": _list,
    "MAP": _map,
    "VECTOR": _vector,
}


def _check_nested(value: Any) -> None:
    """Refuse what no store accepts inside a value: non-finite floats, integers beyond 64
    bits, map keys that are not identifiers, strings with NUL."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Invalid(
                value, f"it holds {value}, which is not a finite number", "use finite numbers"
            )
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise _Invalid(
                value,
                f"it holds {value}, beyond the signed 64-bit range",
                f"use integers in {INT64_MIN}..{INT64_MAX}",
            )
    elif isinstance(value, str):
        if "\x00" in value:
            raise _Invalid(value, "it holds a NUL character", "remove it")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not _IDENTIFIER.fullmatch(key):
                raise _Invalid(
                    value,
                    f"map key {key!r} is not a plain identifier (letters, "
                    "digits and _, not starting with a digit)",
                    "rename the key",
                )
            _check_nested(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_nested(item)


def row_count_params(query: CypherQuery) -> set[str]:
    """Parameters the body uses as a row count: ``LIMIT $p`` or a slice end ``[..$p]``."""
    code = "\n".join(line.split("//", 1)[0] for line in query.body.splitlines())
    return {a or b for a, b in _ROW_COUNT.findall(code)}


def _check(query: CypherQuery, param: Param, value: Any) -> None:
    """Range checks after conversion (see the module docstring)."""
    _check_nested(value)
    if param.type == "INTEGER" and param.name in row_count_params(query):
        if not 1 <= value <= MAX_ROWS:
            raise _Invalid(
                value,
                f"it limits the rows returned and must be 1..{MAX_ROWS:,}",
                f"pass a count such as {param.name}=10",
            )


def bind(query: CypherQuery, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameter map to send with ``query``: values converted, defaults filled.

    Args:
        query: the parsed query.
        params: values by name (a leading ``$`` is ignored); strings are parsed as the
            declared type (``'10'`` for INTEGER, ``'true'``, JSON or ``a,b`` for LIST, JSON
            for MAP).

    Raises:
        QueryParameterError: a parameter is unknown, missing, or not of the declared type.
    """
    given = {str(k).lstrip("$"): v for k, v in (params or {}).items()}
    declared = {p.name: p for p in query.params}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        accepted = ", ".join(f"${n}" for n in declared) or "none"
        raise QueryParameterError(
            f"query {query.name!r}: unknown parameter ${unknown[0]}; accepted: {accepted}"
        )
    bound: dict[str, Any] = {}
    for name, param in declared.items():
        if name not in given:
            default = default_of(param)
            if default is MISSING:
                doc = f" ({param.doc})" if param.doc else ""
                raise QueryParameterError(
                    f"query {query.name!r}: missing parameter ${name} {param.type}{doc}; "
                    f"pass it as {name}=VALUE"
                )
            bound[name] = default
            continue
        value = given[name]
        if value is None and default_of(param) is None:
            bound[name] = None
            continue
        try:
            bound[name] = convert(param.type, value)
            _check(query, param, bound[name])
        except _Invalid as e:
            detail = f": {e.reason}" if e.reason else ""
            fix = e.fix or f"pass {name}=VALUE as {_EXAMPLES.get(param.type, param.type)}"
            default = default_of(param)
            if default not in (MISSING, None) and f"{name}=" not in fix:
                fix += f" (default {name}={default})"
            raise QueryParameterError(
                f"query {query.name!r}: parameter ${name} expects {param.type}, got "
                f"{value!r}{detail}; {fix}"
            ) from e
    return bound


_EXAMPLES = {
    "STRING": "text",
    "INTEGER": "a whole number (10)",
    "FLOAT": "a number (4.5)",
    "BOOLEAN": "true or false",
    "LIST": "a,b,c or a JSON list",
    "MAP": "a JSON object",
    "VECTOR": "a JSON list of numbers",
}
