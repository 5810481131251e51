"""The embedded store's files: names, the pid record, the password, the start lock, modes.

Everything here is private to the user: the store directory is ``0700`` and the files in it
``0600``; a directory or file that belongs to another user is refused, never tightened and
used (``root`` could ``chmod`` it, but it would still be theirs).
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kgrec.core.errors import StoreLocked, StoreUnavailable
from kgrec.core.files import LockHolder, check_owner, pid_lock, private_dir, write_private

log = logging.getLogger("kgrec.kg.embedded")

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
_SERVER_FILES = (
    PID_NAME,
    LOG_NAME,
    KEEP_NAME,
    PASSWORD_NAME,
    CONFIG_NAME,
    LOCK_NAME,
    "appendonly.aof",
    "dump.rdb",
)
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux
#: While a command waits for the start lock, how often it says why (seconds).
REPORT_EVERY_S = 5.0


def socket_path(data_dir: Path) -> Path:
    """The server's socket: in the data directory, or under /tmp when that path is too long."""
    path = data_dir / SOCKET_NAME
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return fallback_socket_dir() / f"{digest}.sock"


def fallback_socket_dir() -> Path:
    """Where sockets of stores with long paths live: ``<tmp>/kgrec-<uid>``, private to the user."""
    return Path(tempfile.gettempdir()) / f"kgrec-{os.getuid()}"


def keep_running(data_dir: Path) -> bool:
    """True when the server should outlive its clients (`kgrec store start`)."""
    return (data_dir / KEEP_NAME).exists()


# -- the pid record ------------------------------------------------------------------------


@dataclass(frozen=True)
class PidRecord:
    """What ``falkordb.pid`` says: the server's pid and, once kgrec has seen it, its start
    time (``/proc/PID/stat`` field 22), which tells the server from a later process that
    got the same pid."""

    pid: int
    start: int | None


def read_pid_record(data_dir: Path) -> PidRecord | None:
    """The directory's pid record (``PID`` as the server writes it, ``PID START`` once
    kgrec recorded the start time), or None."""
    try:
        fields = (data_dir / PID_NAME).read_text().split()
        return PidRecord(int(fields[0]), int(fields[1]) if len(fields) > 1 else None)
    except (FileNotFoundError, ValueError, IndexError):
        return None


def read_pid(data_dir: Path) -> int | None:
    """The pid in the directory's pid file, or None."""
    record = read_pid_record(data_dir)
    return record.pid if record else None


def record_start(data_dir: Path, pid: int, start: int) -> None:
    """Add the start time of server ``pid`` to the pid file (atomically, ``0600``); the
    server removes the file when it shuts down."""
    write_private(data_dir / PID_NAME, f"{pid} {start}\n")


# -- the password and private files ----------------------------------------------------------


def read_password(data_dir: Path) -> str | None:
    """The store's server password, or None for a store that has none yet."""
    try:
        return (data_dir / PASSWORD_NAME).read_text().strip() or None
    except FileNotFoundError:
        return None


def holds_store(data_dir: Path) -> bool:
    """True when ``data_dir`` holds a kgrec store (its password, append-only file or pid)."""
    return any((data_dir / name).exists() for name in STORE_MARKERS)


def check_store_owner(data_dir: Path) -> None:
    """Refuse a store directory, or a server file in it, that another user owns.

    Raises:
        StoreUnavailable: names the path, its owner and the fix.
    """
    check_owner(data_dir, "store folder", StoreUnavailable)
    if not data_dir.is_dir():
        return
    for name in (*_SERVER_FILES, AOF_DIR_NAME):
        check_owner(data_dir / name, "store file", StoreUnavailable)


def tighten(data_dir: Path) -> None:
    """Make the store directory 0700 and its server files 0600; warn when they were not."""
    loose: list[str] = []

    def fix(path: Path, mode: int) -> None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
            return
        check_owner(path, "store file", StoreUnavailable)
        try:
            os.chmod(path, mode)
            loose.append(f"{path.name} {stat.S_IMODE(st.st_mode):04o}")
        except PermissionError:
            log.warning(
                "%s has mode %04o, open to other users; fix it with `chmod %o %s`",
                path,
                stat.S_IMODE(st.st_mode),
                mode,
                path,
            )

    fix(data_dir, 0o700)
    for name in _SERVER_FILES:
        fix(data_dir / name, 0o600)
    aof_dir = data_dir / AOF_DIR_NAME
    if aof_dir.is_dir() and not aof_dir.is_symlink():
        fix(aof_dir, 0o700)
        for child in aof_dir.iterdir():
            fix(child, 0o600)
    if loose:
        log.warning(
            "store %s was readable by other users (%s); made it private (0700/0600)",
            data_dir,
            ", ".join(loose),
        )


def remove_stale(data_dir: Path, sock: Path) -> None:
    """Remove what a server that is gone left behind: its socket, pid file and keep marker."""
    for path in (sock, data_dir / PID_NAME, data_dir / KEEP_NAME):
        path.unlink(missing_ok=True)


def refuse_foreign_contents(data_dir: Path) -> None:
    """Refuse to create a store in a folder that holds other files."""
    try:
        foreign = [
            p.name
            for p in data_dir.iterdir()
            if p.name not in _OWN_NAMES and not p.name.startswith(".")
        ]
    except FileNotFoundError:
        return
    except NotADirectoryError as e:
        raise StoreUnavailable(
            f"store path {data_dir} is a file, not a directory; choose a new or empty directory"
        ) from e
    if foreign:
        raise StoreUnavailable(
            f"{data_dir} holds no kgrec store but is not empty ({', '.join(sorted(foreign)[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}); choose a new or empty directory for the store"
        )


# -- the socket directory ------------------------------------------------------------------


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
    fix = (
        f"remove it (`rm -r {parent}`) and retry, or use a store path shorter than "
        f"{MAX_SOCKET_PATH - len(SOCKET_NAME) - 1} characters"
    )
    try:
        st = os.lstat(parent)
    except FileNotFoundError:
        if create:
            private_dir(parent)
        return
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


# -- the start lock ------------------------------------------------------------------------


@contextmanager
def store_lock(
    data_dir: Path,
    shared: bool = False,
    waiting: Callable[[float], None] | None = None,
    timeout_s: float | None = None,
) -> Iterator[None]:
    """Hold the directory's start lock: shared to connect, exclusive to start or stop.

    Args:
        waiting: called every :data:`REPORT_EVERY_S` seconds, with the seconds waited, while
            another process holds the lock (it is starting, recovering or stopping the server).
        timeout_s: give up after this long (None: wait as long as it takes).

    Raises:
        StoreLocked: the lock was not free within ``timeout_s``.
    """

    def busy(holder: LockHolder) -> StoreLocked:
        return StoreLocked(
            f"another kgrec process has held the start lock of {data_dir} for "
            f"{holder.waited_s:.0f} s (starting, recovering or stopping its server); "
            "retry later, or see `kgrec store status`"
        )

    with pid_lock(
        data_dir / LOCK_NAME,
        shared=shared,
        note=None,
        timeout_s=timeout_s,
        busy=busy,
        waiting=None if waiting is None else lambda holder: waiting(holder.waited_s),
        every_s=REPORT_EVERY_S,
    ):
        yield
