"""The shared pool that independent reads of one request run on (no store needed)."""

from __future__ import annotations

import os
import sys

import pytest

from kgrec.queries.runner import in_background


def test_work_runs_in_the_background_and_returns_its_result():
    assert in_background(sum, [1, 2, 3]).result(timeout=10) == 6


def test_errors_reach_the_caller():
    with pytest.raises(ZeroDivisionError):
        in_background(divmod, 1, 0).result(timeout=10)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_gets_a_pool_of_its_own():
    assert in_background(os.getpid).result(timeout=10) == os.getpid()  # the parent's pool
    pid = os.fork()
    if pid == 0:  # the child: the parent's threads are gone; a fresh pool must answer
        try:
            ok = in_background(os.getpid).result(timeout=10) == os.getpid()
        except BaseException:
            ok = False
        sys.stdout.flush()
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
