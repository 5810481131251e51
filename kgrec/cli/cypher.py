"""``kgrec cypher``: run one Cypher statement of your own, read-only unless ``--write``."""

from __future__ import annotations

import typer

from kgrec.cli.context import get
from kgrec.cli.query import check_format, run_cypher_text


def cypher(
    ctx: typer.Context,
    statement: str = typer.Argument(..., help="One Cypher statement; values as $params."),
    param: list[str] = typer.Option(
        None, "--param", "-p", help="A parameter as KEY=VALUE or KEY:TYPE=VALUE (repeatable)."
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json."),
    write: bool = typer.Option(False, "--write", help="Let the statement change the graph."),
) -> None:
    """Run STATEMENT against the store, read-only unless --write.

    Values travel as parameters: ``kgrec cypher "MATCH (u:User {id: $id}) RETURN u" -p id=1``.
    A value is a STRING unless its key names a type: ``-p k:INTEGER=5``, ``-p ids:LIST=a,b``.
    """
    check_format(fmt)
    run_cypher_text(get(ctx), statement, param or [], fmt, write, "cypher")
