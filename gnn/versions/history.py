"""``MODEL_DIR/history.jsonl``: one fsynced line per event (promoted, rollback, rejected),
read back oldest first, a damaged line skipped with a warning."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kgrec.core.files import FILE_MODE
from kgrec.gnn.versions.layout import HISTORY_FILE, ensure_model_dir

log = logging.getLogger("kgrec.gnn.versions")


def record_event(
    model_dir: str | Path, version: str, event: str, reason: str = "", previous: str | None = None
) -> None:
    """Append ``{version, event, time, reason, previous}`` to ``MODEL_DIR/history.jsonl``
    (fsynced).

    Events: ``promoted`` and ``rollback`` (by :func:`promote`; ``previous`` is the version
    that was live) and ``rejected`` (a job kept the live model; ``reason`` says why).
    :func:`list_versions` reads them back.
    """
    path = ensure_model_dir(model_dir) / HISTORY_FILE
    line = json.dumps(
        {
            "version": version,
            "event": event,
            "reason": reason,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "previous": previous,
        }
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    with open(fd, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def history(model_dir: str | Path) -> list[dict[str, Any]]:
    """The events of ``history.jsonl``, oldest first. A line that is not UTF-8 JSON naming a
    version is skipped with one warning (its line number), never an exception."""
    path = Path(model_dir) / HISTORY_FILE
    try:
        data = path.read_bytes()
    except OSError:
        return []
    out, bad = [], []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            bad.append(number)
            continue
        if isinstance(event, dict) and isinstance(event.get("version"), str):
            out.append(event)
        else:
            bad.append(number)
    if bad:
        lines = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        log.warning(
            "%s: skipped %d line(s) that are not UTF-8 JSON events (line %s)", path, len(bad), lines
        )
    return out


def _events(model_dir: Path) -> dict[str, dict[str, Any]]:
    """The last event of each version in ``history.jsonl``."""
    return {event["version"]: event for event in history(model_dir)}
