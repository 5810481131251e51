"""``kgrec store``: start, stop and inspect the embedded store's server."""

from __future__ import annotations

from pathlib import Path

import typer

from kgrec.cli.context import get

app = typer.Typer(
    help="Manage the embedded store's server.", no_args_is_help=True, rich_markup_mode="markdown"
)


def _data_dir(ctx: typer.Context) -> Path:
    from kgrec.app.store import embedded_dir

    return embedded_dir(get(ctx).settings)


@app.command("start")
def start(ctx: typer.Context) -> None:
    """Start the server and leave it running (until `kgrec store stop`); creates the store."""
    from kgrec.app.store import start_server

    out = start_server(_data_dir(ctx))
    get(ctx).emit(out, f"listening on {out['socket']}")


@app.command("stop")
def stop(
    ctx: typer.Context,
    force: bool = typer.Option(
        False,
        "--force",
        help="Kill this store's server when it does not answer, or while it replays its "
        "append-only file (discarding the replay). Only a process proven to be this store's "
        "server (command line, socket, start time) is killed; anything else is refused.",
    ),
) -> None:
    """Shut the server down cleanly (its data is persisted first); a server replaying its
    append-only file after a crash is waited for."""
    from kgrec.app.store import stop_server

    stopped = stop_server(_data_dir(ctx), force=force)
    get(ctx).emit({"stopped": stopped}, "stopped" if stopped else "no server was running")


#: ``kgrec store status`` exit codes, as ``scripts/neo4j.sh status``: stopped, running
#: without answering, or replaying its append-only file after a crash.
EXIT_STOPPED = 3
EXIT_NOT_ANSWERING = 4
EXIT_RECOVERING = 5


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Whether a server runs for the store directory, its pid and socket.

    Exit codes (as scripts/neo4j.sh status): 0 running and answering, 3 not running,
    4 running but not answering, 5 recovering (replaying its append-only file after a
    crash; commands wait for it).
    """
    from kgrec.app.store import server_status

    result = server_status(_data_dir(ctx))
    get(ctx).emit(result, "\n".join(f"{k:<10}{v}" for k, v in result.items()))
    if not result["running"]:
        raise typer.Exit(EXIT_STOPPED)
    if result["state"] == "recovering":
        raise typer.Exit(EXIT_RECOVERING)
    if not result["answering"]:
        raise typer.Exit(EXIT_NOT_ANSWERING)
