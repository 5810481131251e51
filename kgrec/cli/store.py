"""``kgrec store``: start, stop and inspect the embedded store's server."""

from __future__ import annotations

from pathlib import Path

import typer

from kgrec.cli.context import get

app = typer.Typer(help="Manage the embedded store's server.", no_args_is_help=True)


def _data_dir(ctx: typer.Context) -> Path:
    from kgrec.core.errors import KgrecError
    from kgrec.kg.store import is_server_uri

    store = get(ctx).settings.store
    if is_server_uri(store):
        raise KgrecError(f"{store} is a Neo4j server; `kgrec store` manages the embedded store")
    return Path(store.removeprefix("file://")).expanduser().absolute()


@app.command("start")
def start(ctx: typer.Context) -> None:
    """Start the server and leave it running (until `kgrec store stop`); creates the store."""
    from kgrec.kg.embedded import KEEP_NAME, ensure_server

    data_dir = _data_dir(ctx)
    sock, started = ensure_server(data_dir, create=True)
    (data_dir / KEEP_NAME).touch(mode=0o600)
    get(ctx).emit({"socket": str(sock), "started": started}, f"listening on {sock}")


@app.command("stop")
def stop(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Kill a server that does not answer."),
) -> None:
    """Shut the server down cleanly (its data is persisted first)."""
    from kgrec.kg.embedded import stop_server

    stopped = stop_server(_data_dir(ctx), force=force)
    get(ctx).emit({"stopped": stopped}, "stopped" if stopped else "no server was running")


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Whether a server runs for the store directory, its pid and socket."""
    from kgrec.kg.embedded import holds_store, pid_alive, ping, read_password, read_pid, socket_path

    data_dir = _data_dir(ctx)
    pid = read_pid(data_dir)
    sock = socket_path(data_dir)
    result = {
        "directory": str(data_dir),
        "store": holds_store(data_dir),
        "socket": str(sock),
        "pid": pid,
        "running": bool(pid and pid_alive(pid)),
        "answering": ping(sock, read_password(data_dir)) if holds_store(data_dir) else False,
    }
    get(ctx).emit(result, "\n".join(f"{k:<10}{v}" for k, v in result.items()))
