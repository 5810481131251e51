"""The ``kgrec`` command: the sub-commands, the global options, and one place errors are caught.

Exit codes: 0 done, 1 error, 2 usage error (a bad option or argument), 130 interrupted;
``kgrec train`` adds 3 (trained, not promoted).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import typer

# typer carries its own click; its exceptions are the ones a command line raises
from typer._click.exceptions import ClickException, NoArgsIsHelpError

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
from kgrec.cli.context import CliContext, escape_controls, get, utc_now
from kgrec.cli.options import GlobalOptionsGroup
from kgrec.core.errors import (
    InvalidParameter,
    KgrecError,
    QueryNotFound,
    QueryParameterError,
    QueryRefused,
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
    QueryRefused,
)

app = typer.Typer(
    name="kgrec",
    cls=GlobalOptionsGroup,
    help="Knowledge-graph recommendations with path explanations.\n\n"
    "The options below go before or after the command: kgrec stats --json.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",  # a docstring's wrapped lines flow as one paragraph
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
    get(ctx).apply(
        store=store_uri, graph=graph, model_dir=model_dir, json=json_out, quiet=quiet, debug=debug
    )


def exit_code(error: KgrecError) -> int:
    """2 for an impossible argument (an unknown model name, a statement refused before it
    reached the store), 1 for every other error."""
    return EXIT_USAGE if isinstance(error, USAGE_ERRORS) else EXIT_ERROR


def report_error(cli: CliContext, error: BaseException, message: str | None = None) -> None:
    """Without ``--json``: ``error: <message>`` on stderr. With ``--json``: the one document
    on stdout is ``{"error": {"type", "message"}, "time"}`` and stderr gets nothing more, so
    ``2>&1`` into a JSONL file stays JSONL."""
    message = str(error) if message is None else message
    if cli.json:
        payload = {"error": {"type": type(error).__name__, "message": message}, "time": utc_now()}
        typer.echo(json.dumps(payload))
    else:
        typer.echo(f"error: {escape_controls(message)}", err=True)


def json_requested(args: list[str]) -> bool:
    """``--json`` among the arguments (before a ``--``): errors raised before the global
    options are parsed (an unknown global option) are reported as JSON too."""
    return "--json" in (args[: args.index("--")] if "--" in args else args)


def _usage_error(cli: CliContext, error: ClickException) -> None:
    """A usage error (unknown option, missing argument, bad value) under ``--json``: one JSON
    document; otherwise click's own usage text on stderr."""
    if cli.json:
        report_error(cli, error, error.format_message())
        return
    from typer import rich_utils  # the framed usage error typer prints by itself

    rich_utils.rich_format_error(error)


def _no_help_without_args(command: Any) -> None:
    """Turn off ``no_args_is_help`` on ``command`` and every group under it."""
    command.no_args_is_help = False
    for sub in getattr(command, "commands", {}).values():
        _no_help_without_args(sub)


def main(args: list[str] | None = None) -> None:
    """Entry point: run the command; a KgrecError becomes one line and an exit code (with
    ``--debug``, its traceback). Under ``--json`` every outcome, a usage error or an
    unexpected exception included, is one JSON document on stdout."""
    argv = list(sys.argv[1:] if args is None else args)
    cli = CliContext()
    cli.json = json_requested(argv)
    command = typer.main.get_command(app)
    if cli.json:  # a bare group is a usage error ("Missing command."), not help on stdout
        _no_help_without_args(command)
    try:
        code = command.main(args=argv, prog_name="kgrec", obj=cli, standalone_mode=False)
    except KgrecError as error:
        if cli.debug:
            raise
        report_error(cli, error)
        sys.exit(exit_code(error))
    except NoArgsIsHelpError as error:  # a bare group prints its help
        error.show()
        sys.exit(EXIT_USAGE)
    except ClickException as error:
        _usage_error(cli, error)
        sys.exit(error.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        if cli.json:
            report_error(cli, KeyboardInterrupt(), "interrupted")
        else:
            typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # a bug: under --json still one document, traceback logged
        if not cli.json or cli.debug:
            raise
        logging.getLogger("kgrec").exception("unexpected %s", type(error).__name__)
        report_error(
            cli,
            error,
            f"unexpected {type(error).__name__}: {error}; rerun with --debug and report it",
        )
        sys.exit(EXIT_ERROR)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
