"""``kgrec query``: run a named query of the analyst library, an analyst's own Cypher file,
or list the library. The output helpers here serve ``kgrec cypher`` too.

Stored text is data, not terminal input: in table and CSV output, control characters are
printed escaped (:func:`kgrec.cli.context.escape_controls`, as every command's terminal
output). CSV keeps tabs and line breaks inside quoted fields; the table escapes them too,
one row per line. JSON escapes them by itself.

Tables are for people: cells longer than :data:`MAX_CELL` characters are cut with ``…``
(CSV and JSON carry the full values) and ``ts`` columns (unix seconds) are shown as UTC
dates. Usage errors (an unknown query or parameter, a bad value, a file that is not UTF-8
text) exit with code 2.

Own statements (``query --file``, ``cypher``): a file or ``-`` (stdin) is read up to the
statement limit (64 KiB) and no further; ``EXPLAIN`` prints the plan, ``PROFILE`` the rows
and the plan, ``--write`` the rows and what changed. Rewrites the store needed to answer as
Neo4j does are named once on stderr (``warning: ...``). Every analyst statement runs under
``--timeout`` seconds (``KGREC_QUERY_TIMEOUT``, 30 by default; 0 for none).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from kgrec.cli.context import CliContext, escape_controls, get, table, utc_now
from kgrec.core.errors import InvalidParameter, QueryParameterError, WriteInReadMode

if TYPE_CHECKING:
    from kgrec.app.analyst import CypherResult

FORMATS = ("table", "csv", "json")
#: The widest cell a table shows; longer text is cut and ends with an ellipsis.
MAX_CELL = 60


def parse_params(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs of ``--param`` as a dict (a leading ``$`` on a key is dropped).

    Raises:
        QueryParameterError: a pair without ``=`` or without a key.
    """
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise QueryParameterError(f"--param {pair!r}: expected KEY=VALUE")
        params[key.strip().lstrip("$")] = value
    return params


def _listing(queries: list[dict[str, Any]]) -> str:
    lines = []
    for q in queries:
        lines.append(f"{q['name']}: {q['summary']}")
        for p in q["params"]:
            doc = f"  {p['doc']}" if p["doc"] else ""
            lines.append(f"    {p['signature']}{doc}")
    return "\n".join(lines)


def _cell(value: Any, keep_line_breaks: bool = False) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)  # ASCII-only: escapes controls itself
    if isinstance(value, str):
        return escape_controls(value, keep_line_breaks)
    return value


def is_timestamp_column(column: str) -> bool:
    """``ts`` and ``*_ts`` columns hold unix seconds."""
    return column == "ts" or column.endswith("_ts")


def _date(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    try:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return value


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_CELL:
        return value[: MAX_CELL - 1] + "…"
    return value


def table_cell(column: str, value: Any) -> Any:
    """A value as a table shows it: escaped, dates for timestamps, cut to MAX_CELL."""
    if is_timestamp_column(column):
        value = _date(value)
    return _shorten(_cell(value))


def print_rows(
    cli: CliContext, rows: list[dict[str, Any]], fmt: str, columns: list[str] | None = None
) -> None:
    """Rows on stdout as a table, CSV or JSON (``--json`` wins).

    Args:
        cli: the command's context.
        rows: the result.
        fmt: ``table`` | ``csv`` | ``json``.
        columns: the declared columns, for the header of an empty CSV result.
    """
    if cli.json or fmt == "json":
        typer.echo(json.dumps(rows, default=str))
    elif fmt == "csv":
        out = io.StringIO()
        fields = list(rows[0]) if rows else list(columns or [])
        if fields:
            writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(
                {k: _cell(v, keep_line_breaks=True) for k, v in r.items()} for r in rows
            )
        typer.echo(out.getvalue(), nl=False)
    else:
        typer.echo(table([{k: table_cell(k, v) for k, v in r.items()} for r in rows]))


def read_statement(path: Path | str) -> str:
    """The text of a Cypher file, or of stdin for ``-``, read up to the statement limit.

    At most the limit plus one byte is read, so an endless file (``/dev/zero``) costs no
    more than a long one.

    Raises:
        InvalidParameter: the file does not exist, is a directory, cannot be read, is
            longer than the limit, or is not UTF-8 text (names the first bad byte).
    """
    from kgrec.app.analyst import MAX_TEXT_BYTES as limit

    source = "stdin" if str(path) == "-" else str(path)
    try:
        if source == "stdin":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(limit + 1)
    except IsADirectoryError:
        raise InvalidParameter("a directory, not a Cypher file", path=path) from None
    except OSError as e:
        raise InvalidParameter(f"cannot read it ({e.strerror})", path=path) from None
    if len(data) > limit:
        raise InvalidParameter(
            f"longer than {limit:,} bytes, the most a statement may be; pass long lists of "
            "values as a $parameter",
            path=source,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidParameter(
            f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); save the "
            "statement as UTF-8",
            path=path,
        ) from None


def check_format(fmt: str) -> None:
    """Refuse an unknown ``--format`` (a usage error, exit 2)."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="--format")


@contextmanager
def read_only_hint() -> Iterator[None]:
    """A write refused in read mode says how to allow it."""
    try:
        yield
    except WriteInReadMode as e:
        raise WriteInReadMode(
            "the statement writes, and own Cypher runs read-only; pass --write to let it "
            "change the graph"
        ) from e


def timeout_option() -> Any:
    """``--timeout SECONDS`` for commands that run an analyst's statement."""
    return typer.Option(
        None,
        "--timeout",
        help="Seconds the store lets the statement run (env KGREC_QUERY_TIMEOUT, default "
        "30; 0: no limit).",
    )


def query(
    ctx: typer.Context,
    name: str = typer.Argument(None, help="Query name (see --list)."),
    param: list[str] = typer.Option(
        None, "--param", "-p", help="A parameter as KEY=VALUE (repeatable)."
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json."),
    list_: bool = typer.Option(False, "--list", help="List the queries with their parameters."),
    file: str = typer.Option(
        None,
        "--file",
        help="Run your own Cypher file instead, - for stdin (read-only unless --write).",
    ),
    write: bool = typer.Option(False, "--write", help="Let --file's statement write."),
    timeout: float = timeout_option(),
) -> None:
    """Run the named Cypher query NAME of the library, or your own statement (--file).

    Parameters of your own statement are STRINGs unless the key names a type:
    ``-p k:INTEGER=5``, ``-p ids:LIST=a,b``.
    """
    from kgrec.app.analyst import check_query, list_queries, run_query

    cli = get(ctx)
    if list_ or (name is None and file is None):
        queries = list_queries()
        cli.emit(queries, _listing(queries))
        return
    check_format(fmt)
    if file is not None:
        if name is not None:
            raise typer.BadParameter("give a query NAME or --file, not both", param_hint="--file")
        text = read_statement(file)
        name = "stdin" if file == "-" else Path(file).name
        run_cypher_text(cli, text, param or [], fmt, write, name, timeout)
        return
    params = parse_params(param or [])  # usage errors (exit 2) before the store is opened
    columns = check_query(name, params)
    limit = _timeout(timeout)
    with cli.store() as store:
        rows = run_query(store, name, params, limit)
    print_rows(cli, rows, fmt, columns)


def _timeout(given: float | None) -> float | None:
    """``--timeout`` resolved (flag, env, default), None for no limit; checked before the
    store is opened."""
    from kgrec.core.settings import query_timeout_s

    return query_timeout_s(given)


def run_cypher_text(
    cli: CliContext,
    text: str,
    pairs: list[str],
    fmt: str,
    write: bool,
    name: str,
    timeout: float | None = None,
) -> None:
    """Run an analyst's own statement and print what it gave (``query --file``,
    ``cypher``): rows, the plan under EXPLAIN / PROFILE, the counters under ``--write``."""
    from kgrec.app.analyst import own_query, run_own

    params = parse_params(pairs)
    own_query(text, params, write, name)  # usage errors (exit 2) before the store is opened
    limit = _timeout(timeout)
    with cli.store() as store, read_only_hint():
        result = run_own(store, text, params, write, name, limit)
    print_result(cli, result, fmt)


def warn(cli: CliContext, message: str) -> None:
    """A warning on stderr, even under ``--quiet``; a JSON line under ``--json``."""
    if cli.json:
        message = json.dumps({"time": utc_now(), "level": "warning", "message": message})
    else:
        message = f"warning: {message}"
    typer.echo(escape_controls(message, keep_line_breaks=True), err=True)


def print_result(cli: CliContext, result: CypherResult, fmt: str) -> None:
    """An own statement's outcome on stdout.

    JSON: the rows as a list, or, with a plan or counters, one object ``{rows, plan,
    counters}`` (the keys that apply). Table: the rows, then the plan (one operator a line),
    then what changed. CSV: the rows on stdout; plan and changes on stderr.
    """
    for notice in result.notices:
        warn(cli, notice)
    plan_lines = result.plan.lines() if result.plan is not None else []
    changed = result.counters.summary() if result.counters is not None else None
    if cli.json or fmt == "json":
        if result.plan is None and result.counters is None:
            typer.echo(json.dumps(result.rows, default=str))
            return
        doc: dict[str, Any] = {"rows": result.rows}
        if result.plan is not None:
            doc["plan"] = result.plan.as_dict()
        if result.counters is not None:
            doc["counters"] = result.counters.as_dict()
        typer.echo(json.dumps(doc, default=str))
        return
    explain_only = not result.ran
    if fmt == "csv":
        if not explain_only:
            print_rows(cli, result.rows, fmt)
        for line in plan_lines + ([changed] if changed else []):
            typer.echo(escape_controls(line), err=True)
        return
    if not explain_only:
        print_rows(cli, result.rows, fmt)
    if plan_lines:
        gap = "" if explain_only else "\n"
        typer.echo(gap + "\n".join(escape_controls(line) for line in plan_lines))
    if changed:
        typer.echo(changed)
