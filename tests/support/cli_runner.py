"""The ``kgrec`` command for tests: in this process (:func:`run_in_process`, the default) or
in a new interpreter (:func:`run_process`, for what only a process shows). Both return a
``subprocess.CompletedProcess`` with text stdout and stderr apart."""

from __future__ import annotations

import os
from pathlib import Path


def run_process(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None
):
    """The real ``kgrec`` entry point in a subprocess: a ``CompletedProcess`` (text); ``env``
    adds to the test's environment."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "kgrec.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=input,
    )


def run_in_process(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None
):
    """``kgrec.cli.main.main(args)`` in this process, as the entry point runs it: stdout and
    stderr captured apart, the exit code from ``SystemExit``, an uncaught exception printed
    as Python would (a traceback, exit 1). ``env`` and ``cwd`` hold for the call only; the
    logging set-up the command made is undone; ``input`` is its stdin. A ``CompletedProcess`` like
    :func:`run_process`'s, without a new interpreter's start (torch's import alone)."""
    import contextlib
    import io
    import logging
    import subprocess
    import sys
    import traceback
    import warnings

    from kgrec.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO((input or "").encode()), encoding="utf-8")
    saved_stdin = sys.stdin
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    code = 0
    try:
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin = stdin
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(),
        ):
            warnings.resetwarnings()
            try:
                main(list(args))
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
                if isinstance(stop.code, str):
                    print(stop.code, file=err)
            except BaseException:  # what the interpreter would print for an uncaught error
                traceback.print_exc(file=err)
                code = 1
    finally:
        sys.stdin = saved_stdin
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        logging.captureWarnings(False)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    return subprocess.CompletedProcess(["kgrec", *args], code, out.getvalue(), err.getvalue())
