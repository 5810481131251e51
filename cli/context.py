"""What every command shares: resolved settings, output mode, progress bars, the store.

Stored text is data, not terminal input: everything a command prints for a person (results,
messages, errors) passes through :func:`escape_controls`, so a title holding a terminal
escape sequence (``ESC[31m``), a bell, a carriage return, a C1 control or a Unicode
direction override (U+202E) cannot recolour, rewrite or reorder the terminal; it shows as
``\\x1b[31m``, ``\\x07``, ``\\u202e``. JSON output escapes them by itself.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from kgrec.core.progress import Progress, progress_bars
from kgrec.core.settings import Settings

if TYPE_CHECKING:
    from kgrec.app.store import GraphStore

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


#: Cc controls (C0, DEL, C1), and the bidirectional marks, embeddings, overrides and
#: isolates (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, U+061C).
_UNSAFE = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_ALL = re.compile(f"[{_UNSAFE}]")
_UNSAFE_BUT_BREAKS = re.compile(f"(?![\n\t])[{_UNSAFE}]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, keep_line_breaks: bool = False) -> str:
    """``text`` with control and bidirectional-control characters shown as escapes.

    Args:
        text: text that may hold stored values.
        keep_line_breaks: keep ``\\n`` and ``\\t`` (multi-line output, quoted CSV fields).
    """
    return (_UNSAFE_BUT_BREAKS if keep_line_breaks else _UNSAFE_ALL).sub(_escape_char, text)


def utc_now() -> str:
    """Now, UTC, ISO 8601 to the millisecond: ``2026-01-01T03:15:02.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLogFormatter(logging.Formatter):
    """A log record as one JSON object: ``{time, level, logger, message[, traceback]}``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line)


def configure_logging(debug: bool, json_lines: bool = False) -> None:
    """Timestamped log lines on stderr (stdout carries results only): warnings and errors,
    everything under ``--debug``; with ``json_lines`` one JSON object a line (``--json``),
    Python warnings included, so ``2>&1`` into a JSONL file stays JSONL."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLogFormatter() if json_lines else logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT)
    )
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, handlers=[handler], force=True
    )
    logging.captureWarnings(json_lines)


@dataclass
class CliContext:
    """Global options of one ``kgrec`` invocation."""

    settings: Settings = field(default_factory=Settings.resolve)
    json: bool = False
    quiet: bool = False
    debug: bool = False

    def apply(
        self,
        store: str | None = None,
        graph: str | None = None,
        model_dir: str | None = None,
        json: bool = False,
        quiet: bool = False,
        debug: bool = False,
    ) -> None:
        """Take the global options as parsed: resolve the settings, configure logging."""
        self.settings = Settings.resolve(store=store, graph=graph, model_dir=model_dir)
        self.json, self.quiet, self.debug = json, quiet, debug
        configure_logging(debug, json_lines=json)

    @property
    def show_progress(self) -> bool:
        """Progress bars on stderr: on unless ``--quiet`` (``--json`` keeps them)."""
        return not self.quiet

    def store(self, create: bool = False) -> GraphStore:
        """The configured store, open: ``with cli.store() as store:`` closes it.

        Args:
            create: create the embedded store when its directory holds none (ingest);
                reading commands leave it False, so a mistyped ``--store`` is an error.
        """
        from kgrec.app.store import opened

        return opened(self.settings, create=create)

    def progress(self) -> Progress | None:
        """A ``(step, done, total)`` callback drawing one bar per step on stderr (rows/s);
        None under ``--quiet``."""
        return progress_bars() if self.show_progress else None

    def info(self, message: str) -> None:
        """A message for a person on stderr, silent under ``--quiet``; under ``--json`` one
        JSON line ``{time, level: "info", message}``."""
        if self.quiet:
            return
        if self.json:
            message = json.dumps({"time": utc_now(), "level": "info", "message": message})
        typer.echo(escape_controls(message, keep_line_breaks=True), err=True)

    def emit(self, value: Any, text: str | None = None) -> None:
        """The command's result: one JSON document on one line under --json, else ``text``
        (or the value) on stdout."""
        if self.json:
            typer.echo(json.dumps(value, default=_jsonable))
        else:
            typer.echo(escape_controls(text if text is not None else str(value), True))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def get(ctx: typer.Context) -> CliContext:
    """The CliContext of this invocation (made on first use, kept on the root context)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext()
    return root.obj


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Rows as an aligned plain-text table, one row per line (cells escaped)."""
    if not rows:
        return "(no rows)"
    columns = columns or list(rows[0])
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if value is None:
        return ""
    return escape_controls(str(value))
