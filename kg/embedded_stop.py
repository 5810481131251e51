"""Stopping the embedded store's server: a clean shutdown (compacting first when worth
it), or, with ``force``, a kill of a process proven to be this store's server.

The server runs as :mod:`kgrec.kg.embedded` starts it; both hold the directory's start
lock (:func:`~kgrec.kg.embedded_files.store_lock`) exclusively while they start or stop it.
"""

from __future__ import annotations

import logging
import os
import signal
from contextlib import ExitStack
from pathlib import Path

from kgrec.core.errors import StoreLocked, StoreUnavailable
from kgrec.core.processes import wait_gone
from kgrec.core.settings import recovery_timeout_s, server_start_timeout_s
from kgrec.kg.embedded_aof import compact_if_grown, replay_progress
from kgrec.kg.embedded_files import (
    check_store_owner,
    read_password,
    remove_stale,
    socket_path,
    store_lock,
)
from kgrec.kg.embedded_socket import GONE, LOADING, OURS, SERVER, admin_client, probe, prove
from kgrec.kg.embedded_wait import await_server, lock_waiting, stale_message

log = logging.getLogger("kgrec.kg.embedded")


def stop_server(data_dir: Path, force: bool = False, timeout_s: float = 30.0) -> bool:
    """Shut the directory's server down cleanly (``force``: SIGKILL one that does not answer).

    Returns:
        True if a server was running and is now stopped.

    Raises:
        StoreLocked: the server did not stop within ``timeout_s``, or does not answer
            (without ``force``).
        StoreUnavailable: a foreign server answers on the socket; ``force`` and the pid file
            names a process that is not proven to be this store's server (nothing is killed).
    """
    if not data_dir.is_dir():
        return False
    check_store_owner(data_dir)
    waiting = lock_waiting(data_dir)
    limit = 1.0 if force else recovery_timeout_s() + server_start_timeout_s()
    with ExitStack() as locked:
        try:
            locked.enter_context(store_lock(data_dir, waiting=waiting, timeout_s=limit))
        except StoreLocked:
            if not force:
                raise
            # Another command holds the lock while it waits for the server (a replay, a
            # hang): --force goes ahead; that command sees its server gone.
        return stop_locked(data_dir, force, timeout_s)


def stop_locked(data_dir: Path, force: bool = False, timeout_s: float = 30.0) -> bool:
    """:func:`stop_server` for a caller that holds the exclusive :func:`store_lock`.

    A server that answers compacts first when worth it (:func:`compact_if_grown`), so the
    next start loads a snapshot instead of replaying the commands appended since. A server
    replaying its append-only file is waited for (``force``: killed, with a warning that the
    replay is lost). Only a process proven to be this store's server (its command line,
    socket and start time) is ever killed; a pid file that names no live server is removed.
    """
    import redis

    sock = socket_path(data_dir)
    found = prove(data_dir)
    if found is None or not found.is_server:
        if force and found is not None and found.state != GONE:
            raise StoreUnavailable(
                f"not killing pid {found.pid}: the pid file of {data_dir} names it, but it "
                f"{found.detail}, so it is not this store's server; no server of this store "
                "runs (any command clears the stale pid file)"
            )
        password = read_password(data_dir)
        if password is not None:
            probe(sock, password, data_dir)  # refuses a foreign server on the socket
        if found is not None:
            log.warning("%s", stale_message(data_dir, found))
            remove_stale(data_dir, sock)
        return False
    pid, password = found.pid, read_password(data_dir) or ""
    if force and found.state != SERVER:
        raise StoreUnavailable(
            f"not killing pid {pid}: kgrec did not record its start time, so it cannot prove "
            f"it is this store's server; check it with `ps -p {pid} -o args` and `kill {pid}`"
        )
    state = probe(sock, password, data_dir)
    if state == LOADING and force:
        replay = replay_progress(data_dir, pid)
        log.warning(
            "store %s is recovering (%s%% of its append-only file replayed): --force kills "
            "server pid %d and discards the replay; the next start replays it from the beginning",
            data_dir,
            replay.percent if replay else "?",
            pid,
        )
    elif state == LOADING:
        await_server(data_dir, sock, password, pid, started=False)
        state = OURS
    if state == OURS:
        client = admin_client(sock, password, data_dir)
        try:
            try:
                compact_if_grown(client, data_dir)
            except redis.RedisError as e:  # an optimisation: never block a stop
                log.warning("not compacting %s before stopping: %s", data_dir, e)
            client.shutdown()
        except redis.ConnectionError:
            pass  # the server closes the connection while shutting down
        finally:
            client.close()
    elif force:
        os.kill(pid, signal.SIGKILL)
    else:
        raise StoreLocked(
            f"server pid {pid} of {data_dir} does not answer on {sock} (busy with a long "
            f"query, or hung); kill it with `kgrec store stop --force --store {data_dir}`"
        )
    if not wait_gone(pid, timeout_s):
        raise StoreLocked(
            f"server pid {pid} for {data_dir} did not stop in {timeout_s:.0f} s; "
            f"kill it with `kgrec store stop --force --store {data_dir}`"
        )
    remove_stale(data_dir, sock)
    return True
