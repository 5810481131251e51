"""The configured store: open it, and start, stop and inspect the embedded store's server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kgrec.core.errors import KgrecError
from kgrec.core.settings import Settings
from kgrec.kg import embedded
from kgrec.kg.store import GraphStore as GraphStore  # what opened() returns, for callers
from kgrec.kg.store import is_server_uri, open_store, store_directory


def opened(settings: Settings, create: bool = False) -> GraphStore:
    """The store ``settings`` name, open; use it as ``with opened(settings) as store:``
    (a store closes itself at the end of the block).

    Args:
        create: create the embedded store when its directory holds none (ingest); readers
            leave it False, so a mistyped store path is an error.
    """
    return open_store(settings.store, settings.graph, create=create)


def embedded_dir(settings: Settings) -> Path:
    """The embedded store's directory.

    Raises:
        KgrecError: the settings name a Neo4j server.
    """
    if is_server_uri(settings.store):
        raise KgrecError(
            f"{settings.store} is a Neo4j server; `kgrec store` manages the embedded store"
        )
    return store_directory(settings.store)


def start_server(data_dir: Path) -> dict[str, Any]:
    """Start the server (creating the store) and keep it running after the last client."""
    sock, started = embedded.ensure_server(data_dir, create=True)
    (data_dir / embedded.KEEP_NAME).touch(mode=0o600)
    return {"socket": str(sock), "started": started}


def stop_server(data_dir: Path, force: bool = False) -> bool:
    """Shut the server down cleanly (``force``: kill one that does not answer, or one that
    replays its append-only file, discarding the replay). Only a process proven to be this
    store's server is killed."""
    return embedded.stop_server(data_dir, force=force)


def server_status(data_dir: Path) -> dict[str, Any]:
    """Whether a server runs for ``data_dir``: its pid, socket, and whether it answers.

    ``state`` is ``running``, ``recovering`` (replaying its append-only file after a crash;
    ``loaded_percent`` says how far), ``not answering``, ``stopped``, or ``stale pid file``
    (the pid file names no live server of this store; the next command removes it).
    """
    holds = embedded.holds_store(data_dir)
    state = embedded.server_state(data_dir) if holds else {"pid": None, "state": "stopped"}
    return {
        "directory": str(data_dir),
        "store": holds,
        "socket": str(embedded.socket_path(data_dir)),
        **state,
        "running": state["state"] in ("running", "recovering", "not answering"),
        "answering": state["state"] == "running",
    }
