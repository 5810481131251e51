"""The shared file mechanisms: :func:`write_private` and :func:`pid_lock`."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from kgrec.core.errors import KgrecError, StoreLocked
from kgrec.core.files import LockHolder, pid_lock, write_private


@pytest.fixture
def open_umask():
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("text é", "text é".encode()),
        (b"\x00bytes", b"\x00bytes"),
        (lambda fh: fh.write(b"by a writer"), b"by a writer"),
    ],
)
def test_a_private_file_is_0600_whatever_the_umask(tmp_path, open_umask, data, expected):
    path = write_private(tmp_path / "f", data)
    assert path.read_bytes() == expected
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["f"]  # no temporary file left


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = write_private(tmp_path / "f", "old")

    def fail(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_private(path, fail)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["f"]


def test_a_write_into_a_missing_folder_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_private(tmp_path / "missing" / "f", "x")


def test_a_held_lock_names_its_holder_to_the_next(tmp_path):
    path = tmp_path / ".lock"
    with pid_lock(path, note="kgrec train"):
        assert path.read_text() == f"{os.getpid()} kgrec train\n"
        with pytest.raises(StoreLocked, match=f"pid {os.getpid()} .kgrec train."):
            with pid_lock(path, timeout_s=0, busy=lambda h: StoreLocked(f"pid {h.pid} ({h.note})")):
                pass
    with pid_lock(path, timeout_s=0):  # released at the end of the block
        pass


def test_shared_holders_share_and_keep_an_exclusive_one_out(tmp_path):
    path = tmp_path / ".lock"
    with pid_lock(path, shared=True), pid_lock(path, shared=True, timeout_s=0):
        with pytest.raises(KgrecError, match="holds"):
            with pid_lock(path, timeout_s=0):
                pass


def test_a_waiter_reports_then_gets_the_lock_when_it_is_freed(tmp_path):
    path = tmp_path / ".lock"
    seen: list[LockHolder] = []
    held, free = threading.Event(), threading.Event()

    def hold() -> None:
        with pid_lock(path, note="first"):
            held.set()
            free.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    threading.Timer(0.5, free.set).start()
    with pid_lock(path, waiting=seen.append):
        assert free.is_set()  # got it only once the first holder let go
    holder.join()
    assert [(h.pid, h.note) for h in seen] == [(os.getpid(), "first")]
