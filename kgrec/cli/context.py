"""What every command shares: resolved settings, output mode, progress bars, the store."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from kgrec.core.progress import Progress, progress_bars
from kgrec.core.settings import Settings

if TYPE_CHECKING:
    from kgrec.app.store import GraphStore

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def configure_logging(debug: bool) -> None:
    """Timestamped log lines on stderr (stdout carries results only): warnings and errors,
    everything under ``--debug``."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format=LOG_FORMAT,
        datefmt=LOG_DATE_FORMAT,
        stream=sys.stderr,
        force=True,
    )


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
        configure_logging(debug)

    @property
    def show_progress(self) -> bool:
        return not (self.json or self.quiet)

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
        None under ``--quiet`` or ``--json``."""
        return progress_bars() if self.show_progress else None

    def info(self, message: str) -> None:
        """A message for a person: stderr, silent under --quiet or --json."""
        if not (self.quiet or self.json):
            typer.echo(message, err=True)

    def emit(self, value: Any, text: str | None = None) -> None:
        """The command's result: JSON under --json, else ``text`` (or the value) on stdout."""
        if self.json:
            typer.echo(json.dumps(value, default=_jsonable))
        else:
            typer.echo(text if text is not None else str(value))


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
    """Rows as an aligned plain-text table."""
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
    return str(value)
