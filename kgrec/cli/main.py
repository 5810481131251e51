"""The ``kgrec`` command: the sub-commands, the global options, and one place errors are caught.

Exit codes: 0 done, 1 error, 2 usage error (a bad option or argument), 130 interrupted;
``kgrec train`` adds 3 (trained, not promoted).
"""

from __future__ import annotations

import json
import sys

import typer

from kgrec.cli import (
    bench,
    cypher,
    demo,
    ingest,
    interact,
    model,
    query,
    recommend,
    stats,
    store,
    train,
)
from kgrec.cli.context import CliContext, get
from kgrec.cli.options import GlobalOptionsGroup
from kgrec.core.errors import (
    InvalidParameter,
    KgrecError,
    QueryNotFound,
    QueryParameterError,
    UnknownModel,
)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: Errors in what was typed (exit 2, like an unknown option); every other error exits 1.
USAGE_ERRORS: tuple[type[KgrecError], ...] = (
    InvalidParameter,
    UnknownModel,
    QueryNotFound,
    QueryParameterError,
)

app = typer.Typer(
    name="kgrec",
    cls=GlobalOptionsGroup,
    help="Knowledge-graph recommendations with path explanations.\n\n"
    "The options below go before or after the command: kgrec stats --json.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(ingest.app, name="ingest")
app.add_typer(store.app, name="store")
app.add_typer(bench.app, name="bench")
app.add_typer(model.app, name="model")
app.command("stats")(stats.stats)
app.command("similar")(stats.similar)
app.command("train")(train.train)
app.command("recommend")(recommend.recommend)
app.command("explain")(recommend.explain)
app.command("interact")(interact.interact)
app.command("add-item")(interact.add_item)
app.command("query")(query.query)
app.command("cypher")(cypher.cypher)
app.command("demo")(demo.demo)


def _print_version(value: bool) -> None:
    if value:
        from kgrec import __version__

        typer.echo(f"kgrec {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    ctx: typer.Context,
    store_uri: str = typer.Option(
        None, "--store", help="neo4j://... / bolt://... or a directory (env KGREC_STORE)."
    ),
    graph: str = typer.Option(None, "--graph", help="Graph / database name (env KGREC_GRAPH)."),
    model_dir: str = typer.Option(
        None, "--model-dir", help="Trained models (env KGREC_MODEL_DIR)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print results as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or messages."),
    debug: bool = typer.Option(False, "--debug", help="Log debug details and tracebacks."),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version."
    ),
) -> None:
    """Knowledge-graph recommendations with path explanations.

    The options here may also be typed after the command: `kgrec stats --json`.
    """
    get(ctx).apply(store=store_uri, graph=graph, model_dir=model_dir, json=json_out,
                   quiet=quiet, debug=debug)  # fmt: skip


def exit_code(error: KgrecError) -> int:
    """2 for an impossible argument (an unknown model name too), 1 for every other error."""
    return EXIT_USAGE if isinstance(error, USAGE_ERRORS) else EXIT_ERROR


def report_error(cli: CliContext, error: KgrecError) -> None:
    """One line on stderr; with ``--json`` also ``{"error": {type, message}}`` on stdout."""
    if cli.json:
        typer.echo(json.dumps({"error": {"type": type(error).__name__, "message": str(error)}}))
    typer.echo(f"error: {error}", err=True)


def main(args: list[str] | None = None) -> None:
    """Entry point: run the command; a KgrecError becomes one line and an exit code (with
    ``--debug``, its traceback)."""
    cli = CliContext()
    try:
        app(args=args, prog_name="kgrec", obj=cli)  # usage errors: message, exit 2
    except KgrecError as error:
        if cli.debug:
            raise
        report_error(cli, error)
        sys.exit(exit_code(error))
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
