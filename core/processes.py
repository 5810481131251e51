"""Processes by pid, from ``/proc``: liveness, identity (command line, start time, owner),
CPU time and the files a process reads. Shared by the embedded store's lock and the model
directory's cleanup."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (field 3, the state, on).

    Raises:
        OSError: no ``/proc`` or no such process.
    """
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[-1].split()


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return _stat_fields(pid)[0] != "Z"
    except OSError:
        return True


def cpu_ticks(pid: int) -> int | None:
    """The CPU time (user + system, in clock ticks) process ``pid`` has used, from
    ``/proc``; None where there is no ``/proc`` or no such process."""
    try:
        fields = _stat_fields(pid)
        return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
    except (OSError, ValueError, IndexError):
        return None


def start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot, ``/proc/PID/stat`` field 22).

    With the pid it names one process for the life of the machine: a pid that is reused
    by a later process gets another start time. None where unknown.
    """
    try:
        return int(_stat_fields(pid)[19])
    except (OSError, ValueError, IndexError):
        return None


def command_line(pid: int) -> list[str] | None:
    """The arguments of process ``pid`` as it shows them (``/proc/PID/cmdline``; a server
    that sets its process title shows the title), or None where unknown."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def owner_uid(pid: int) -> int | None:
    """The uid that owns process ``pid``, or None where unknown."""
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def read_offsets(pid: int, folder: Path) -> dict[Path, int]:
    """The files under ``folder`` that ``pid`` has open for reading, with how far it has
    read each (``/proc/PID/fdinfo``: ``pos``). Empty where unknown."""
    found: dict[Path, int] = {}
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return found
    for fd in fds:
        try:
            target = Path(os.readlink(f"{fd_dir}/{fd}"))
            if target.parent != folder:
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as fh:
                info = dict(line.split(":", 1) for line in fh if ":" in line)
            if int(info["flags"].strip(), 8) & os.O_ACCMODE != os.O_RDONLY:
                continue
            found[target] = int(info["pos"].strip())
        except (OSError, KeyError, ValueError):
            continue
    return found


def wait_gone(pid: int, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for ``pid`` to exit; True when it is gone."""
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not pid_alive(pid)
