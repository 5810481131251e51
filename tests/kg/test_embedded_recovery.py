"""The embedded server after a crash: replays that are waited for, an append-only file that
stays short, pid files that never block or mislead, and `store stop --force` that kills only
this store's own server. Every test runs real servers and real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_runner import run_in_process
from typer.testing import CliRunner

from kgrec.core.errors import StoreLocked, StoreUnavailable
from kgrec.core.processes import start_time
from kgrec.kg import embedded, embedded_files, embedded_wait, open_store
from kgrec.kg.embedded_aof import aof_files

#: Statements that take a quiet 2-core machine about 0.6 s each, written and replayed alike:
#: the replay outlasts the 1 s a forced stop waits for the lock of a command waiting on it.
SLOW_WRITES = 8
SLOW_WRITE = "UNWIND range(1, 3000000) AS x WITH count(x) AS c CREATE (:Slow {c: c, pad: $pad})"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command, run in this process (see tests/support/cli_runner.py)."""
    return run_in_process(*args, env=env)


def _kill_server(directory: Path) -> int:
    pid = embedded.read_pid(directory)
    assert pid is not None and embedded.pid_alive(pid)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while embedded.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return pid


@pytest.fixture()
def crashed_mid_write(tmp_path) -> Path:
    """A store whose server was killed after writes it must replay for a few seconds:
    slow statements logged as statements (as older kgrec versions logged every write),
    each padded so the replay's progress is visible in the file offsets."""
    directory = tmp_path / "store"
    store = open_store(str(directory), create=True)
    conn = store._db.connection
    conn.execute_command("GRAPH.CONFIG", "SET", "EFFECTS_THRESHOLD", 2**31 - 1)
    conn.config_set("auto-aof-rewrite-percentage", 0)
    for _ in range(SLOW_WRITES):
        store.write(SLOW_WRITE, {"pad": "p" * 40_000})
    time.sleep(1.2)  # appendfsync everysec
    _kill_server(directory)
    store._db.connection.close()
    return directory


def _count_slow(store) -> int:
    return store.run("MATCH (n:Slow) RETURN count(n) AS n")[0]["n"]


def test_commands_wait_for_a_replay_and_say_how_far_it_got(crashed_mid_write, monkeypatch, caplog):
    """While the restarted server replays its append-only file, a command that starts it and
    a command that comes second both wait, saying "recovering: N% loaded", instead of
    failing at the start timeout with advice to --force."""
    directory = crashed_mid_write
    monkeypatch.setenv("KGREC_START_TIMEOUT", "2")  # shorter than the replay
    monkeypatch.setattr(embedded_wait, "QUIET_LOAD_S", 0.0)
    monkeypatch.setattr(embedded_wait, "REPORT_EVERY_S", 0.3)
    monkeypatch.setattr(embedded_files, "REPORT_EVERY_S", 0.3)
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kgrec.cli.main",
            "--store",
            str(directory),
            "cypher",
            "MATCH (n:Slow) RETURN count(n) AS n",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KGREC_START_TIMEOUT": "2"},
    )
    deadline = time.monotonic() + 30
    while embedded.read_pid(directory) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    with caplog.at_level("WARNING", logger="kgrec.kg.embedded"):
        with open_store(str(directory)) as store:
            assert _count_slow(store) == SLOW_WRITES
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert out.split()[-1] == str(SLOW_WRITES)
    progress = [r.getMessage() for r in caplog.records if "is recovering:" in r.getMessage()]
    assert progress, caplog.text
    assert all("% loaded" in line for line in progress)
    assert "--force" not in caplog.text + err


def test_stop_force_during_a_replay_warns_that_it_discards_it(
    crashed_mid_write, monkeypatch, caplog
):
    directory = crashed_mid_write
    monkeypatch.setenv("KGREC_START_TIMEOUT", "2")
    opener = threading.Thread(target=lambda: _open_quietly(directory), daemon=True)
    opener.start()
    deadline = time.monotonic() + 30
    state: dict[str, object] = {}
    while time.monotonic() < deadline:
        state = embedded.server_state(directory) if embedded.read_pid(directory) else {}
        if state.get("state") == "recovering":
            break
        time.sleep(0.05)
    assert state.get("state") == "recovering", state
    pid = state["pid"]
    assert isinstance(pid, int)
    with caplog.at_level("WARNING", logger="kgrec.kg.embedded"):
        assert embedded.stop_server(directory, force=True)  # what `store stop --force` runs
    assert "is recovering" in caplog.text and "discards the replay" in caplog.text
    assert not embedded.pid_alive(pid)
    opener.join(timeout=60)
    with open_store(str(directory)) as store:  # replayed again from the beginning: all there
        assert _count_slow(store) == SLOW_WRITES


def _open_quietly(directory: Path) -> None:
    try:
        with open_store(str(directory)):
            pass
    except StoreUnavailable:
        pass  # its server was killed under it


def test_writes_are_logged_as_effects_and_the_file_is_rewritten_during_long_writes(tmp_path):
    """A long write is snapshotted by the server as it goes, so a kill leaves a short tail,
    logged as effects (no statement re-run while loading), and the restart has every row."""
    directory = tmp_path / "store"
    store = open_store(str(directory), create=True)
    store.write("CREATE INDEX FOR (u:U) ON (u.id)")
    conn = store._db.connection
    rows = 2_000
    for start in range(0, 12 * rows, rows):
        batch = [{"id": f"u{i}", "text": f"{i:08d}" * 60} for i in range(start, start + rows)]
        store.write("UNWIND $rows AS r MERGE (u:U {id: r.id}) SET u.text = r.text", {"rows": batch})
    info = conn.info("persistence")
    assert info["aof_rewrites"] >= 1, "no snapshot during 12 batches of ~1 MB"
    time.sleep(1.2)
    _kill_server(directory)
    conn.close()
    tail = [p for p in aof_files(directory) if p.name.endswith(".incr.aof")]
    logged = b"".join(p.read_bytes() for p in tail)
    assert b"GRAPH.QUERY" not in logged.replace(b"CREATE INDEX", b"")  # effects only
    with open_store(str(directory)) as store:
        assert store.run("MATCH (u:U) RETURN count(u) AS n, sum(size(u.text)) AS t") == [
            {"n": 12 * rows, "t": 12 * rows * 480}
        ]


# -- pid files ---------------------------------------------------------------------------------


@pytest.fixture()
def stopped_store(tmp_path) -> Path:
    directory = tmp_path / "store"
    with open_store(str(directory), create=True) as store:
        store.write("CREATE (:User {id: 'u-1'})")
    assert embedded.read_pid(directory) is None
    return directory


@pytest.fixture()
def sleeper():
    proc = subprocess.Popen(["sleep", "600"])
    yield proc
    proc.kill()
    proc.wait()


def test_stop_force_refuses_a_pid_that_is_not_this_stores_server(stopped_store, sleeper):
    (stopped_store / embedded.PID_NAME).write_text(f"{sleeper.pid}\n")
    result = _cli("--store", str(stopped_store), "store", "stop", "--force")
    assert result.returncode == 1
    assert sleeper.poll() is None, "kgrec killed a process that is not its server"
    message = result.stderr.strip()
    assert "\n" not in message and f"not killing pid {sleeper.pid}" in message, message
    assert "sleep 600" in message
    assert embedded.holds_store(stopped_store) and (stopped_store / embedded.PID_NAME).exists()


def test_stop_force_refuses_this_stores_pid_with_another_start_time(stopped_store, sleeper):
    """A pid file whose start time is not the process's: the pid was reused."""
    with open_store(str(stopped_store)) as store:
        record = embedded.read_pid(stopped_store)
        assert record is not None and store.run("RETURN 1 AS one")
        text = (stopped_store / embedded.PID_NAME).read_text().split()
        assert len(text) == 2 and int(text[1]) == start_time(record), "start time not recorded"
        (stopped_store / embedded.PID_NAME).write_text(f"{record} {int(text[1]) - 1}\n")
        result = _cli("--store", str(stopped_store), "store", "stop", "--force")
        assert result.returncode == 1 and "not this store's server" in result.stderr
        assert embedded.pid_alive(record)
        (stopped_store / embedded.PID_NAME).write_text(" ".join(text))


def test_stop_force_kills_this_stores_hung_server(stopped_store, monkeypatch):
    monkeypatch.setattr(embedded_wait, "STALL_S", 1.0)
    runner = CliRunner()
    from kgrec.cli.main import app

    assert runner.invoke(app, ["--store", str(stopped_store), "store", "start"]).exit_code == 0
    pid = embedded.read_pid(stopped_store)
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(StoreLocked) as err:
            open_store(str(stopped_store))
        assert str(pid) in str(err.value) and "kgrec store stop --force" in str(err.value)
        result = _cli("--store", str(stopped_store), "store", "stop", "--force")
        assert result.returncode == 0, result.stderr
        assert not embedded.pid_alive(pid)
    finally:
        if embedded.pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    with open_store(str(stopped_store)) as store:
        assert store.run("MATCH (u:User) RETURN u.id AS id") == [{"id": "u-1"}]


def test_a_reused_pid_in_the_pid_file_is_stale_not_a_lock(stopped_store, sleeper, caplog):
    """The server died and its pid now belongs to another process: the next command starts
    the server (no 'held by server pid N ... --force'), and leaves that process alone."""
    (stopped_store / embedded.PID_NAME).write_text(f"{sleeper.pid}\n")
    status = _cli("--store", str(stopped_store), "--json", "store", "status")
    assert '"stale pid file"' in status.stdout, status.stdout
    with caplog.at_level("WARNING", logger="kgrec.kg.embedded"):
        with open_store(str(stopped_store)) as store:
            assert store.run("MATCH (u:User) RETURN u.id AS id") == [{"id": "u-1"}]
            assert embedded.read_pid(stopped_store) != sleeper.pid
    assert sleeper.poll() is None
    assert f"names pid {sleeper.pid}" in caplog.text and "not this store's server" in caplog.text
    assert "--force" not in caplog.text


def test_a_server_that_dies_under_a_client_neither_blocks_nor_misleads(stopped_store, caplog):
    """A server killed while a client uses it (as a query that crashes it would): the
    client's error is one line; status calls its pid file stale; the next command starts
    the server again, saying what happened, with no advice to --force."""
    store = open_store(str(stopped_store))
    pid = _kill_server(stopped_store)
    with pytest.raises(StoreUnavailable) as err:
        store.run("MATCH (u:User) RETURN count(u) AS n")
    assert "\n" not in str(err.value)
    store.close()
    status = _cli("--store", str(stopped_store), "--json", "store", "status")
    assert '"stale pid file"' in status.stdout and '"running": false' in status.stdout
    with caplog.at_level("WARNING", logger="kgrec.kg.embedded"):
        with open_store(str(stopped_store)) as again:
            assert again.run("MATCH (u:User) RETURN u.id AS id") == [{"id": "u-1"}]
    assert f"(pid {pid}) had stopped without shutting down" in caplog.text
    assert "--force" not in caplog.text and "held by" not in caplog.text


def test_stop_without_force_clears_a_dead_servers_pid_file(stopped_store):
    dead = subprocess.Popen(["true"])
    dead.wait()
    (stopped_store / embedded.PID_NAME).write_text(f"{dead.pid}\n")
    result = _cli("--store", str(stopped_store), "store", "stop")
    assert result.returncode == 0 and "no server was running" in result.stderr + result.stdout
    assert not (stopped_store / embedded.PID_NAME).exists()


def test_a_pid_file_naming_another_stores_server_is_not_killed(stopped_store, tmp_path):
    other = tmp_path / "other"
    with open_store(str(other), create=True) as store:
        pid = embedded.read_pid(other)
        assert pid is not None
        (stopped_store / embedded.PID_NAME).write_text(f"{pid} {start_time(pid)}\n")
        result = _cli("--store", str(stopped_store), "store", "stop", "--force")
        assert result.returncode == 1 and "not this store's server" in result.stderr
        assert embedded.pid_alive(pid) and store.run("RETURN 1 AS one") == [{"one": 1}]


def test_status_reads_a_replays_progress_from_proc(crashed_mid_write):
    """While it replays large statements the server answers no connection; `store status`
    reads how far it got from /proc, rising, below 100% until it is done, and exits 5
    (recovering) while it does."""
    directory = crashed_mid_write
    opener = threading.Thread(target=lambda: _open_quietly(directory), daemon=True)
    opener.start()
    seen: list[int] = []
    status_codes: dict[str, int] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and opener.is_alive():
        if embedded.read_pid(directory) is not None:
            state = embedded.server_state(directory)
            if state["state"] == "recovering":
                seen.append(int(state["loaded_percent"]))  # type: ignore[call-overload]
                if not status_codes:
                    status = _cli("--store", str(directory), "--json", "store", "status")
                    status_codes[json.loads(status.stdout)["state"]] = status.returncode
        time.sleep(0.05)
    opener.join(timeout=60)
    assert seen and all(0 <= p <= 99 for p in seen), seen
    assert seen == sorted(seen)
    assert status_codes == {"recovering": 5}, status_codes
