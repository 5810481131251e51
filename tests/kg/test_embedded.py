"""The embedded FalkorDB server: socket only, persistence, reuse, recovery, locking."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from kgrec.core.errors import StoreUnavailable
from kgrec.kg import embedded, embedded_wait, open_store


def _server_pid(directory) -> int:
    pid = embedded.read_pid(directory)
    assert pid is not None and embedded.pid_alive(pid)
    return pid


def test_listens_on_unix_socket_only(tmp_path):
    with open_store(str(tmp_path), create=True) as store:
        pid = _server_pid(tmp_path)
        assert store.socket.exists()
        inet = psutil.Process(pid).net_connections(kind="inet")
        assert inet == [], f"server has TCP/UDP sockets: {inet}"
        assert store.run("RETURN 1 AS one") == [{"one": 1}]


def test_data_persists_after_clean_shutdown(tmp_path):
    with open_store(str(tmp_path), create=True) as store:
        store.write("CREATE (:User {id: $id})", {"id": "u-1"})
        pid = _server_pid(tmp_path)
    assert not embedded.pid_alive(pid), "last client out should stop the server"
    assert not (tmp_path / embedded.SOCKET_NAME).exists()
    with open_store(str(tmp_path)) as store:
        assert store.run("MATCH (u:User) RETURN u.id AS id") == [{"id": "u-1"}]


def test_second_process_reuses_running_server(tmp_path):
    with open_store(str(tmp_path), create=True) as store:
        assert store.started_server
        pid = _server_pid(tmp_path)
        store.write("CREATE (:Item {id: 'x'})")
        code = (
            "import sys; from kgrec.kg import open_store;"
            f"s = open_store({str(tmp_path)!r});"
            "n = s.run('MATCH (i:Item) RETURN count(i) AS n')[0]['n'];"
            "print(int(s.started_server), n); s.close()"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["0", "1"]
        assert _server_pid(tmp_path) == pid, "the other process must not stop a shared server"
        assert store.run("RETURN 2 AS two") == [{"two": 2}]


def test_recovers_from_a_dead_servers_lock(tmp_path, caplog):
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / embedded.PID_NAME).write_text(str(dead.pid))
    (tmp_path / embedded.SOCKET_NAME).write_text("")
    with open_store(str(tmp_path)) as store:
        assert store.run("RETURN 1 AS one") == [{"one": 1}]
    assert "had stopped without shutting down" in caplog.text
    assert "removed its stale pid file" in caplog.text


def test_long_directory_paths_get_a_short_socket(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with open_store(str(deep), create=True) as store:
        assert len(str(store.socket)) <= 107
        assert store.run("RETURN 3 AS three") == [{"three": 3}]


def test_keep_running_marker_outlives_clients(tmp_path):
    from typer.testing import CliRunner

    from kgrec.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["--store", str(tmp_path), "store", "start"])
    assert result.exit_code == 0, result.output
    pid = _server_pid(tmp_path)
    with open_store(str(tmp_path)) as store:
        store.run("RETURN 1")
    assert embedded.pid_alive(pid)
    result = runner.invoke(app, ["--store", str(tmp_path), "store", "stop"])
    assert result.exit_code == 0, result.output
    deadline = time.monotonic() + 5
    while embedded.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not embedded.pid_alive(pid)
    assert os.listdir(tmp_path)  # data stays


def test_relative_store_paths_resolve_against_the_working_directory(tmp_path, monkeypatch):
    from kgrec.core.settings import Settings

    monkeypatch.chdir(tmp_path)
    assert Settings.resolve(store="./mystore").store == str(tmp_path / "mystore")
    assert Settings.resolve(store="file://mystore").store == str(tmp_path / "mystore")
    assert Settings.resolve(store="neo4j://h:7687").store == "neo4j://h:7687"
    with open_store("./mystore", create=True) as store:
        assert store.uri == str(tmp_path / "mystore")
        store.write("CREATE (:User {id: 'rel'})")
    monkeypatch.chdir(tmp_path / "mystore")
    with open_store("../mystore") as store:
        assert store.run("MATCH (u:User) RETURN u.id AS id") == [{"id": "rel"}]


@pytest.mark.parametrize("uri", ["./mystore", "file://mystore", "sub/../mystore", "mystore/"])
def test_a_store_uri_names_one_absolute_directory(tmp_path, monkeypatch, uri):
    from kgrec.kg.store import store_directory

    monkeypatch.chdir(tmp_path)
    assert store_directory(uri) == tmp_path / "mystore"


@pytest.mark.parametrize(
    ("uri", "message"),
    [("neo4j://h:7687", "is a Neo4j server"), ("s3://bucket/kg", "unsupported store URI")],
)
def test_a_uri_that_names_no_directory_is_refused(uri, message):
    from kgrec.kg.store import store_directory

    with pytest.raises(StoreUnavailable, match=message):
        store_directory(uri)


def test_reading_a_folder_without_a_store_is_refused_and_creates_nothing(tmp_path):
    missing = tmp_path / "mistyped"
    with pytest.raises(StoreUnavailable) as err:
        open_store(str(missing))
    assert f"no kgrec store at {missing}" in str(err.value)
    assert "kgrec ingest" in str(err.value)
    assert not missing.exists(), "a reading open must not create the folder"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StoreUnavailable, match="no kgrec store"):
        open_store(str(empty))
    assert os.listdir(empty) == []


def test_creating_a_store_in_a_folder_of_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreUnavailable, match="not empty") as err:
        open_store(str(tmp_path), create=True)
    assert "notes.txt" in str(err.value)
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_cli_reading_commands_refuse_a_missing_store(tmp_path):
    from typer.testing import CliRunner

    from kgrec.cli.main import app

    missing = tmp_path / "nope"
    for command in (["stats"], ["query", "cold_items"], ["similar", "1"]):
        result = CliRunner().invoke(app, ["--store", str(missing), *command])
        assert isinstance(result.exception, StoreUnavailable), (command, result.output)
        assert "no kgrec store" in str(result.exception)
    assert not missing.exists()


def test_store_start_creates_the_store(tmp_path):
    from typer.testing import CliRunner

    from kgrec.cli.main import app

    runner = CliRunner()
    target = tmp_path / "new"
    result = runner.invoke(app, ["--store", str(target), "store", "start"])
    assert result.exit_code == 0, result.output
    assert embedded.holds_store(target)
    result = runner.invoke(app, ["--store", str(target), "store", "stop"])
    assert result.exit_code == 0, result.output
    with open_store(str(target)) as store:  # an existing, never-written store opens
        assert store.run("RETURN 1 AS one") == [{"one": 1}]


def test_a_start_that_hangs_is_killed_and_started_again(tmp_path, monkeypatch, caplog):
    """A server that stops making progress while it starts (FalkorDB can deadlock loading
    its files) is killed and started again; the store opens with its data."""
    import signal

    with open_store(str(tmp_path), create=True) as store:
        store.write("CREATE (:User {id: $id})", {"id": "u-1"})
    monkeypatch.setenv("KGREC_START_TIMEOUT", "40")  # the hang must not just run out the clock
    monkeypatch.setattr(embedded_wait, "STALL_S", 1.0)
    launch, stopped = embedded._launch, []

    def launch_then_freeze_the_first(*args):
        launch(*args)
        if not stopped:  # the first server: frozen once its pid file is written
            deadline = time.monotonic() + 10
            while embedded.read_pid(tmp_path) is None and time.monotonic() < deadline:
                time.sleep(0.01)
            stopped.append(embedded.read_pid(tmp_path))
            os.kill(stopped[0], signal.SIGSTOP)

    monkeypatch.setattr(embedded, "_launch", launch_then_freeze_the_first)
    try:
        with caplog.at_level("WARNING", logger="kgrec.kg.embedded"), open_store(str(tmp_path)) as s:
            assert s.run("MATCH (u:User) RETURN u.id AS id") == [{"id": "u-1"}]
            assert _server_pid(tmp_path) != stopped[0]
        assert not embedded.pid_alive(stopped[0])
    finally:  # never leave a frozen server behind, whatever failed
        for pid in stopped:
            if embedded.pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert "hung while loading its data" in caplog.text and str(stopped[0]) in caplog.text
