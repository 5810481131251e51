"""Who listens on the embedded store's socket, proven before the password is sent.

A server is this store's when the pid file names it and the process proves it: it runs as
this user, its command line is ``redis-server`` on this store's socket, and its start time
is the one recorded when kgrec started it. A connection is trusted only when the socket's
peer credentials (``SO_PEERCRED``: pid and uid) are that process's; the password travels
only over such a connection, so a process squatting the socket never receives it.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgrec.core.errors import StoreUnavailable
from kgrec.core.processes import command_line, owner_uid, pid_alive, start_time
from kgrec.kg.embedded_aof import replay_progress
from kgrec.kg.embedded_files import (
    check_socket_dir,
    read_pid_record,
    record_start,
    socket_path,
)

if TYPE_CHECKING:  # redis is imported where it is used, so opening nothing stays fast
    import redis

log = logging.getLogger("kgrec.kg.embedded")

#: Probe results: nothing listens; this store's server answers; it replays its append-only
#: file; it is alive but does not answer (a long query, or hung).
DOWN, OURS, LOADING, BUSY = "down", "ours", "loading", "busy"
#: What the pid file names: this store's server (start time recorded), this store's server
#: from before start times were recorded, a process that is gone, another process.
SERVER, UNRECORDED, GONE, OTHER = "server", "unrecorded", "gone", "other"
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Holder:
    """The process the pid file names, and whether it is this store's server."""

    pid: int
    state: str
    detail: str = ""

    @property
    def is_server(self) -> bool:
        """True for this store's server (recorded or from before start times were recorded)."""
        return self.state in (SERVER, UNRECORDED)


def _is_server_title(args: list[str], sock: Path) -> bool:
    """True for ``redis-server`` listening on ``sock`` (its process title, or its arguments)."""
    title = " ".join(args)
    head, sep, rest = title.partition(" unixsocket:")
    return (
        bool(sep)
        and Path(head).name == "redis-server"
        and (rest == str(sock) or rest.startswith(f"{sock} "))
    )


def holder(data_dir: Path) -> Holder | None:
    """What the directory's pid file names, checked against ``/proc``; None without one."""
    record = read_pid_record(data_dir)
    if record is None:
        return None
    pid = record.pid
    args = command_line(pid) if pid_alive(pid) else None
    if args is None:
        return Holder(pid, GONE, "is gone")
    uid = owner_uid(pid)
    if uid is not None and uid != os.getuid():
        return Holder(pid, OTHER, f"belongs to uid {uid}")
    if not _is_server_title(args, socket_path(data_dir)):
        return Holder(pid, OTHER, f"runs `{' '.join(args)[:80]}`")
    if record.start is None:
        return Holder(pid, UNRECORDED, "not yet recorded")
    if start_time(pid) != record.start:
        return Holder(pid, OTHER, "started after the server that pid file recorded")
    return Holder(pid, SERVER)


def prove(data_dir: Path, record: bool = True) -> Holder | None:
    """:func:`holder`, with the start time recorded for a server that had none yet."""
    found = holder(data_dir)
    if record and found is not None and found.state == UNRECORDED:
        started = start_time(found.pid)
        if started is not None:
            record_start(data_dir, found.pid, started)
            found = Holder(found.pid, SERVER)
    return found


def peer(conn: socket.socket) -> tuple[int, int]:
    """``(pid, uid)`` of the process on the other end of a connected unix socket (Linux)."""
    pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return pid, uid


def verify_peer(conn: socket.socket, data_dir: Path) -> int:
    """Check that ``conn`` leads to this store's server; return its pid.

    Raises:
        StoreUnavailable: the peer runs as another user, or is not the process the pid
            file names and proves to be this store's server.
    """
    sock = socket_path(data_dir)
    pid, uid = peer(conn)
    if uid != os.getuid():
        raise squatter(sock, f"runs as uid {uid}, not as you (uid {os.getuid()})")
    found = prove(data_dir)
    if found is None or found.pid != pid or not found.is_server:
        named = (
            "there is no pid file"
            if found is None
            else f"the pid file names pid {found.pid}, which {found.detail or 'is the server'}"
        )
        raise squatter(sock, f"is pid {pid}, not this store's server ({named})")
    return pid


def squatter(sock: Path, why: str) -> StoreUnavailable:
    """The refusal of a process on the socket that is not this store's server."""
    return StoreUnavailable(
        f"the server on {sock} {why}; another process may be squatting the socket: stop it "
        f"or remove {sock}, and retry (the store's password was not sent)"
    )


def connect_check(data_dir: Path) -> Any:
    """A redis-py ``redis_connect_func``: prove the peer (:func:`verify_peer`), then send
    the password and the rest of the handshake. The check runs on every new connection."""

    def on_connect(connection: Any) -> None:
        verify_peer(connection._sock, data_dir)  # raises StoreUnavailable, never retried
        connection.on_connect()

    return on_connect


def admin_client(sock: Path, password: str | None, data_dir: Path) -> redis.Redis:
    """A plain redis client on the socket that proves the server before it sends the
    password, and fails at once instead of retrying."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(
        unix_socket_path=str(sock),
        password=password,
        socket_timeout=PROBE_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
        redis_connect_func=connect_check(data_dir),
    )


def probe(sock: Path, password: str | None, data_dir: Path) -> str:
    """Who answers on ``sock``: :data:`DOWN`, :data:`OURS`, :data:`LOADING` (ours,
    replaying its append-only file) or :data:`BUSY` (ours, alive, not answering).

    Raises:
        StoreUnavailable: a process answers that is not this store's server (another user's,
            one the pid file does not name, or one that does not know this store's
            password), or the socket directory is unsafe.
    """
    import redis

    check_socket_dir(sock)
    found = prove(data_dir)
    ours = found is not None and found.is_server
    # A loading server accepts no connection: each one would wait in its listen backlog
    # (and fill it), so its progress is read from /proc instead.
    if found is not None and ours and replay_progress(data_dir, found.pid) is not None:
        return LOADING
    if not sock.exists():
        return DOWN
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(PROBE_TIMEOUT_S)
        try:
            conn.connect(str(sock))
        except (ConnectionRefusedError, FileNotFoundError):
            return DOWN
        except OSError:  # a full backlog: a server that does not accept connections
            return BUSY if ours else DOWN
        if found is not None and found.state == GONE and peer(conn) == (found.pid, os.getuid()):
            # The server is dead; a child it forked (an append-only rewrite) still holds
            # its listening socket until it exits. Nothing answers there.
            return DOWN
        pid = verify_peer(conn, data_dir)
    if password is None:
        raise squatter(sock, "answers, but this store has no password yet")
    client = admin_client(sock, password, data_dir)
    try:
        if client.config_get("requirepass").get("requirepass") != password:
            raise squatter(sock, "does not require this store's password")
        client.ping()
        return OURS
    except redis.BusyLoadingError:
        return LOADING
    except redis.AuthenticationError as e:
        raise squatter(sock, "did not accept this store's password") from e
    except redis.ResponseError as e:
        if "LOADING" in str(e):
            return LOADING
        raise squatter(sock, f"answers unlike a kgrec server ({e})") from e
    except redis.TimeoutError:
        return BUSY
    except (redis.ConnectionError, OSError):
        return DOWN if not pid_alive(pid) else BUSY
    finally:
        client.close()
