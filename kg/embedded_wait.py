"""The embedded store's server as commands see it: its state, waiting for it while it
starts, replays its append-only file after a crash (with progress on stderr) or does not
answer, and what a stale pid file means.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from kgrec.core.errors import StoreLocked, StoreRecovering, StoreUnavailable
from kgrec.core.processes import cpu_ticks
from kgrec.core.settings import recovery_timeout_s, server_start_timeout_s
from kgrec.kg.embedded_aof import Replay, replay_progress
from kgrec.kg.embedded_files import LOG_NAME, REPORT_EVERY_S, read_password, socket_path
from kgrec.kg.embedded_socket import BUSY, DOWN, GONE, LOADING, OURS, Holder, probe, prove

log = logging.getLogger("kgrec.kg.embedded")

#: How long to wait for a live server that does not answer before calling the store locked.
LOCK_WAIT_S = 10.0
#: A server that is starting, does not answer yet, makes no progress loading its files and
#: has used no CPU time for this long is hung (FalkorDB 4.16 can deadlock while it loads
#: the append-only files: all threads waiting on locks): it is killed and started again, up
#: to ``START_ATTEMPTS`` starts.
STALL_S = 10.0
#: A load shorter than this is a plain start, not worth a message.
QUIET_LOAD_S = 2.0


def stale_message(data_dir: Path, found: Holder) -> str:
    """What a pid file that names no live server of this store means."""
    if found.state == GONE:
        return (
            f"the server of {data_dir} (pid {found.pid}) had stopped without shutting down "
            f"(killed or crashed; see {data_dir / LOG_NAME}); removed its stale pid file"
        )
    return (
        f"the pid file of {data_dir} names pid {found.pid}, which {found.detail}: not this "
        "store's server, whose pid was reused after it stopped; removed the stale pid file"
    )


def report_replay(data_dir: Path, pid: int, replay: Replay, waited: float) -> None:
    log.warning(
        "store %s is recovering: %d%% loaded (server pid %d replays its append-only file, "
        "%.1f of %.1f MB; waited %.0f s); commands wait for it, nothing needs doing",
        data_dir,
        replay.percent,
        pid,
        replay.done / 2**20,
        replay.total / 2**20,
        waited,
    )


def lock_waiting(data_dir: Path) -> Callable[[float], None]:
    """What a command blocked on the start lock says: the replay's progress, if any."""

    def report(waited: float) -> None:
        found = prove(data_dir, record=False)
        replay = replay_progress(data_dir, found.pid) if found and found.is_server else None
        if found is not None and replay is not None:
            report_replay(data_dir, found.pid, replay, waited)
        elif waited >= LOCK_WAIT_S:
            log.warning(
                "waiting %.0f s for another kgrec process that starts or stops the server of %s",
                waited,
                data_dir,
            )

    return report


def await_server(data_dir: Path, sock: Path, password: str, pid: int, started: bool) -> int | None:
    """Wait for server ``pid`` to answer.

    Loading its append-only files counts as progress: it is waited for up to
    ``KGREC_RECOVERY_TIMEOUT``, with its progress on stderr; anything else up to
    ``KGREC_START_TIMEOUT``.

    Returns:
        None once it answers; the pid of a server that hangs (alive, not answering, not
        loading and no CPU time for ``STALL_S``) that this call ``started``.

    Raises:
        StoreRecovering: still loading at the timeout.
        StoreLocked: a server this call did not start does not answer (or hangs).
        StoreUnavailable: the server died, or did not answer within the start timeout.
    """
    begun = time.monotonic()
    start_deadline = begun + server_start_timeout_s()
    recovery_deadline = begun + max(recovery_timeout_s(), server_start_timeout_s())
    ticks, progress, since, next_report = None, -1, begun, begun + QUIET_LOAD_S
    state = DOWN
    while True:
        found = prove(data_dir)
        if found is None and started and time.monotonic() < start_deadline:
            time.sleep(0.05)  # the server writes its pid file just before its socket
            continue
        if found is None or not found.is_server or found.pid != pid:
            raise StoreUnavailable(
                f"server pid {pid} for {data_dir} stopped while starting; see {data_dir / LOG_NAME}"
            )
        state = probe(sock, password, data_dir)
        if state == OURS:
            if started:
                log.info("started embedded FalkorDB in %s (socket %s)", data_dir, sock)
            return None
        now = time.monotonic()
        replay = replay_progress(data_dir, pid) if state == LOADING else None
        if replay is not None and now >= next_report:
            report_replay(data_dir, pid, replay, now - begun)
            next_report = now + REPORT_EVERY_S
        if now > (recovery_deadline if state == LOADING else start_deadline):
            give_up(data_dir, sock, pid, state, replay, now - begun, started)
        used = cpu_ticks(pid)
        done = replay.done if replay is not None else progress
        if (used is not None and used != ticks) or done != progress:
            ticks, progress, since = used, done, now
        elif now - since > STALL_S:
            if started:
                return pid
            give_up(data_dir, sock, pid, BUSY, None, now - begun, started)
        time.sleep(0.2)


def give_up(
    data_dir: Path,
    sock: Path,
    pid: int,
    state: str,
    replay: Replay | None,
    waited: float,
    started: bool,
) -> None:
    if state == LOADING:
        done = f"{replay.percent}% loaded" if replay is not None else "loading"
        raise StoreRecovering(
            f"store {data_dir} is still recovering: {done} after {waited:.0f} s (server pid "
            f"{pid} replays its append-only file and goes on); retry later, or wait longer "
            "with KGREC_RECOVERY_TIMEOUT=SECONDS (`kgrec store stop --force` would discard "
            "the replay)"
        )
    if started:
        raise StoreUnavailable(
            f"the embedded store in {data_dir} did not come up within "
            f"{server_start_timeout_s():.0f} s (KGREC_START_TIMEOUT); see {data_dir / LOG_NAME}"
        )
    raise StoreLocked(
        f"store directory {data_dir} is held by its server pid {pid}, which does not answer "
        f"on {sock} (busy with a long query, or hung); stop it with `kgrec store stop --force "
        f"--store {data_dir}` and retry"
    )


def server_state(data_dir: Path) -> dict[str, object]:
    """What runs for ``data_dir``: the pid file's process and what the socket says.

    Returns:
        ``pid`` (or None), ``state`` (``running``, ``recovering``, ``not answering``,
        ``stopped``; ``stale pid file`` when the pid file names no live server of this
        store) and, while recovering, ``loaded_percent``.
    """
    found = prove(data_dir, record=False)
    out: dict[str, object] = {"pid": found.pid if found else None, "state": "stopped"}
    if found is None:
        return out
    if not found.is_server:
        out["state"] = "stale pid file"
        return out
    replay = replay_progress(data_dir, found.pid)
    if replay is not None:
        out.update(state="recovering", loaded_percent=replay.percent)
        return out
    password = read_password(data_dir)
    state = probe(socket_path(data_dir), password, data_dir) if password else DOWN
    out["state"] = "running" if state == OURS else "not answering"
    return out
