"""Private files and folders: what kgrec writes for one user is readable by that user alone.

Also the two mechanisms every layer that keeps files shares: :func:`write_private` (a
whole, durable, private file) and :func:`pid_lock` (an ``flock`` that names its holder).
"""

from __future__ import annotations

import errno
import fcntl
import math
import os
import pwd
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kgrec.core.errors import ForeignOwner, KgrecError

DIR_MODE, FILE_MODE = 0o700, 0o600


def check_owner(path: Path, what: str = "folder", error: type[KgrecError] = ForeignOwner) -> None:
    """Refuse ``path`` (followed if a link) when another user owns it: kgrec keeps what it
    writes private to one user, and a folder of someone else's stays theirs even after a
    ``chmod`` (``root`` can read anything, so the owner is compared, not the access).

    Raises:
        ForeignOwner: (or ``error``) names the path, its owner and the fix.
    """
    try:
        uid = os.stat(path).st_uid
    except (FileNotFoundError, NotADirectoryError):
        return
    me = os.getuid()
    if uid != me:
        try:
            owner = f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
        except KeyError:
            owner = f"uid {uid}"
        raise error(
            f"{what} {path} belongs to {owner}, not to you (uid {me}); kgrec uses only "
            f"files of its own user: use one of your own, or have its owner hand it "
            f"over with `chown -R {me} {path}`"
        )


def private_dir(path: Path) -> Path:
    """Create ``path`` (parents as usual) as a ``0700`` folder whatever the umask; an
    existing folder is left as it is, unless another user owns it.

    Raises:
        ForeignOwner: ``path`` exists and belongs to another user.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        check_owner(path)
        return path
    os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask; chmod is not
    return path


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries (a rename or a removal in it), to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: str | bytes | Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` whole or not at all, as a ``0600`` file whatever the umask, and make
    it durable: a temporary file in the same folder is written and fsynced, renamed over
    ``path``, then the folder is fsynced. A process killed at any point leaves the old
    file or the new one, never a part.

    Args:
        data: the text (UTF-8), the bytes, or a function that writes into the open binary
            file (``lambda fh: torch.save(obj, fh)``).

    Returns:
        ``path``.

    Raises:
        OSError: the folder is missing or not writable (the temporary file is removed).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)  # mkstemp's mode is masked by the umask
            if isinstance(data, str):
                fh.write(data.encode())
            elif isinstance(data, bytes):
                fh.write(data)
            else:
                data(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_path(path.parent)
    return path


@dataclass(frozen=True)
class LockHolder:
    """Who holds a :func:`pid_lock`, as its file says, and how long the caller has waited."""

    pid: int | None
    """The holder's pid, or None when the file names none."""
    note: str
    """What the holder wrote after its pid (``kgrec train``), or ``""``."""
    waited_s: float


def _lock_holder(fd: int, waited_s: float) -> LockHolder:
    pid, _, note = os.pread(fd, 4096, 0).decode(errors="replace").strip().partition(" ")
    return LockHolder(int(pid) if pid.isdigit() else None, note.strip(), waited_s)


def _try_flock(fd: int, kind: int) -> bool:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        return False
    return True


@contextmanager
def pid_lock(
    path: Path,
    *,
    shared: bool = False,
    note: str | None = "",
    timeout_s: float | None = None,
    busy: Callable[[LockHolder], KgrecError] | None = None,
    waiting: Callable[[LockHolder], None] | None = None,
    every_s: float | None = None,
) -> Iterator[Path]:
    """Hold an ``flock`` on ``path`` (a ``0600`` file, created when missing) for the block.

    The kernel releases the lock when the process ends, however it ends, so a killed
    process never leaves a stale lock. An exclusive holder writes its pid (and ``note``)
    into the file, so another process can say whom it waits for.

    Args:
        shared: a shared lock (many holders) instead of an exclusive one.
        note: written after the pid by an exclusive holder; None: the file is not written.
        timeout_s: give up after this long (0: at once; None: wait as long as it takes).
        busy: builds the error raised on giving up (default: a :class:`KgrecError` naming
            the holder's pid).
        waiting: called with the holder while the caller waits: once, as soon as the lock
            is found held; or, with ``every_s``, every ``every_s`` seconds (first after
            ``every_s``).

    Yields:
        ``path``.

    Raises:
        KgrecError: what ``busy`` builds, when the lock was not free within ``timeout_s``.
    """
    kind = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        if not _try_flock(fd, kind):
            _wait_for(fd, kind, path, timeout_s, busy, waiting, every_s)
        if not shared and note is not None:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {note}".strip().encode() + b"\n", 0)
        yield path
    finally:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)  # also for a child forked inside the block
        finally:
            os.close(fd)


def _wait_for(
    fd: int,
    kind: int,
    path: Path,
    timeout_s: float | None,
    busy: Callable[[LockHolder], KgrecError] | None,
    waiting: Callable[[LockHolder], None] | None,
    every_s: float | None,
) -> None:
    """Wait for a lock :func:`pid_lock` found held, reporting and giving up as told."""
    started = time.monotonic()
    next_report = started if every_s is None else started + every_s
    if waiting is None:
        next_report = math.inf
    while True:
        now = time.monotonic()
        if timeout_s is not None and now - started >= timeout_s:
            holder = _lock_holder(fd, now - started)
            if busy is not None:
                raise busy(holder)
            raise KgrecError(
                f"another process (pid {holder.pid or 'unknown'}) holds {path}; retry when "
                "it has finished"
            )
        if waiting is not None and now >= next_report:
            waiting(_lock_holder(fd, now - started))
            next_report = math.inf if every_s is None else now + every_s
        if timeout_s is None and next_report == math.inf:
            fcntl.flock(fd, kind)  # nothing more to say: block until it is free
            return
        time.sleep(0.1)
        if _try_flock(fd, kind):
            return
