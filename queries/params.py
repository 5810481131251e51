"""Parameter binding for catalogue queries: declared defaults, type checks, CLI coercion.

A parameter's doc in a ``.cypher`` header may end with ``(default VALUE)``; ``VALUE`` is read
like a command-line string of the declared type (``null`` means no value)::

    //   $k    INTEGER  rows to return (default 10)
    //   $tag  STRING   only pairs with this tag; null for all pairs (default null)

A parameter without a default is required.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from kgrec.errors import QueryParameterError
from kgrec.kg.catalogue import CypherQuery, Param

_DEFAULT = re.compile(r"\(default\s+(.+?)\)\s*$")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
MISSING = object()


class _Invalid(ValueError):
    """A value that cannot be read as the declared type."""


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
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError as e:
            raise _Invalid(value) from e
        if math.isnan(out):
            raise _Invalid(value)
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
        raise _Invalid(value) from e


_READERS = {
    "STRING": _string,
    "INTEGER": _integer,
    "FLOAT": _float,
    "BOOLEAN": _boolean,
    "LIST": _list,
    "MAP": _map,
    "VECTOR": _vector,
}


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
        except _Invalid as e:
            raise QueryParameterError(
                f"query {query.name!r}: parameter ${name} expects {param.type}, got {value!r}"
            ) from e
    return bound
