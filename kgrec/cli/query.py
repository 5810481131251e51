"""``kgrec query``: run a named query of the analyst library, or list them.

Stored text is data, not terminal input: in table and CSV output, control characters
(terminal escape sequences such as ``ESC[31m``, carriage returns, C1 controls) and Unicode
direction overrides are printed escaped (``\\x1b[31m``), so a title cannot recolour or
rewrite the analyst's terminal. CSV keeps tabs and line breaks inside quoted fields; the
table escapes them too, one row per line. JSON escapes them by itself.
"""

from __future__ import annotations

import csv
import io
import json
import re

import typer

from kgrec.cli.context import get, table
from kgrec.core.errors import QueryParameterError

FORMATS = ("table", "csv", "json")


def _parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise QueryParameterError(f"--param {pair!r}: expected KEY=VALUE")
        params[key.strip().lstrip("$")] = value
    return params


def _listing(queries: list[dict]) -> str:
    lines = []
    for q in queries:
        lines.append(f"{q['name']}: {q['summary']}")
        for p in q["params"]:
            doc = f"  {p['doc']}" if p["doc"] else ""
            lines.append(f"    {p['signature']}{doc}")
    return "\n".join(lines)


_UNSAFE_TABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_CSV = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_char(match: re.Match) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, keep_line_breaks: bool = False) -> str:
    """``text`` with control and direction-override characters shown as escapes.

    Args:
        text: stored text.
        keep_line_breaks: keep ``\\n`` and ``\\t`` (CSV quotes fields that hold them).
    """
    pattern = _UNSAFE_CSV if keep_line_breaks else _UNSAFE_TABLE
    return pattern.sub(_escape_char, text)


def _cell(value, keep_line_breaks: bool = False):
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)  # ASCII-only: escapes controls itself
    if isinstance(value, str):
        return escape_controls(value, keep_line_breaks)
    return value


def query(
    ctx: typer.Context,
    name: str = typer.Argument(None, help="Query name (see --list)."),
    param: list[str] = typer.Option(
        None, "--param", "-p", help="A parameter as KEY=VALUE (repeatable)."
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json."),
    list_: bool = typer.Option(False, "--list", help="List the queries with their parameters."),
) -> None:
    """Run the named Cypher query NAME of the library (files in kgrec/queries/*.cypher)."""
    from kgrec.queries.runner import get_query, list_queries, run_query

    cli = get(ctx)
    if list_ or name is None:
        queries = list_queries()
        cli.emit(queries, _listing(queries))
        return
    if fmt not in FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="--format")
    params = _parse_params(param or [])
    get_query(name)  # QueryNotFound before the store is opened
    with cli.store() as store:
        rows = run_query(store, name, params)
    if cli.json or fmt == "json":
        typer.echo(json.dumps(rows, default=str))
    elif fmt == "csv":
        out = io.StringIO()
        columns = list(rows[0]) if rows else []
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _cell(v, keep_line_breaks=True) for k, v in r.items()} for r in rows)
        typer.echo(out.getvalue(), nl=False)
    else:
        typer.echo(table([{k: _cell(v) for k, v in r.items()} for r in rows]))
