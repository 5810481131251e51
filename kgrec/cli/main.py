"""The ``kgrec`` command: global options, the sub-commands, and one place errors are caught."""

from __future__ import annotations

import json
import logging
import sys

import typer

from kgrec.cli import bench, demo, ingest, model, query, recommend, stats, store, train
from kgrec.cli.context import CliContext
from kgrec.core.errors import KgrecError
from kgrec.core.settings import Settings

app = typer.Typer(
    name="kgrec",
    help="Knowledge-graph recommendations with path explanations.",
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
app.command("query")(query.query)
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
    """Knowledge-graph recommendations with path explanations."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = CliContext(
        settings=Settings.resolve(store=store_uri, graph=graph, model_dir=model_dir),
        json=json_out,
        quiet=quiet,
        debug=debug,
    )


def main() -> None:
    """Entry point: run the app; a KgrecError becomes one line on stderr and exit code 1."""
    try:
        app()
    except KgrecError as e:
        if "--debug" in sys.argv:
            raise
        if "--json" in sys.argv:
            payload = {"error": {"type": type(e).__name__, "message": str(e)}}
            typer.echo(json.dumps(payload))
        typer.echo(f"error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
