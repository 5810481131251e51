"""Progress bars date each step from its own start: a step announced with done = 0 does not
inherit the time spent before it (a write-back's first bar once showed the training's
minutes), and a step first reported after its first batch is dated from the previous call."""

from __future__ import annotations

import re
import time

import tqdm.std

from kgrec.core.progress import progress_bars


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _elapsed(text: str, step: str) -> str:
    """The elapsed time the last drawing of ``step``'s bar shows (``mm:ss``)."""
    found = re.findall(rf"{step}: 100%[^\[]*\[(\d\d:\d\d)<", text)
    assert found, text
    return found[-1]


def test_each_step_is_dated_from_its_own_start(monkeypatch, capsys):
    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    monkeypatch.setattr(tqdm.std, "time", clock)
    progress = progress_bars()
    progress("export", 0, 10)
    clock.now += 3
    progress("export", 10, 10)
    clock.now += 600  # ten minutes of training, reported by no bar
    progress("write", 0, 4)
    clock.now += 2
    progress("write", 4, 4)
    clock.now += 5
    progress("unannounced", 2, 2)  # first reported after its batch: dated from the last call
    err = capsys.readouterr().err
    assert _elapsed(err, "export") == "00:03"
    assert _elapsed(err, "write") == "00:02"
    assert _elapsed(err, "unannounced") == "00:05"
