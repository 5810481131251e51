"""``kgrec cypher``: run one Cypher statement of your own, read-only unless ``--write``."""

from __future__ import annotations

import typer

from kgrec.cli.context import get
from kgrec.cli.query import check_format, read_statement, run_cypher_text, timeout_option


def cypher(
    ctx: typer.Context,
    statement: str = typer.Argument(
        None, help="One Cypher statement; values as $params; - reads it from stdin."
    ),
    param: list[str] = typer.Option(
        None, "--param", "-p", help="A parameter as KEY=VALUE or KEY:TYPE=VALUE (repeatable)."
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json."),
    write: bool = typer.Option(False, "--write", help="Let the statement change the graph."),
    file: str = typer.Option(None, "--file", help="Read the statement from a file (- stdin)."),
    timeout: float = timeout_option(),
) -> None:
    """Run STATEMENT against the store, read-only unless --write.

    Values travel as parameters: ``kgrec cypher "MATCH (u:User {id: $id}) RETURN u" -p id=1``.
    A value is a STRING unless its key names a type: ``-p k:INTEGER=5``, ``-p ids:LIST=a,b``.
    ``EXPLAIN ...`` prints the plan and runs nothing; ``PROFILE ...`` runs it and prints the
    rows and the plan; ``--write`` prints what changed.
    """
    check_format(fmt)
    if (statement is None) == (file is None):
        raise typer.BadParameter(
            "give one STATEMENT (- for stdin) or --file", param_hint="STATEMENT"
        )
    name = "cypher"
    if file is not None or statement == "-":
        source = file if file is not None else "-"
        statement, name = read_statement(source), "stdin" if source == "-" else source
    run_cypher_text(get(ctx), statement, param or [], fmt, write, name, timeout)
