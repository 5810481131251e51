"""The embedded store's append-only file: what it holds, compaction, replay progress.

The server appends every write to ``appendonlydir/``; a start after a crash replays what was
appended since the last snapshot. Two settings keep that replay no slower than the writes:

* Writes are logged as their effects (FalkorDB's ``EFFECTS_THRESHOLD 0``: the nodes,
  relationships and properties a statement changed), not as the statement. Replaying a
  logged ``MERGE`` statement re-runs its lookups while the server loads, before its
  indexes are usable, so each row scanned the whole label: 0.5 MB of ingest written in
  6 s had not replayed after 3 minutes. Its effects replay in about a third of the
  server time the writes took.
* The file is kept short: the server rewrites it as a snapshot (an RDB preamble) by itself
  whenever the commands appended since the last one outgrow :data:`AUTO_REWRITE_MIN_BYTES`
  and :data:`AUTO_REWRITE_PERCENT` % of it, also in the middle of a long ingest; ingest,
  training and the last client out compact explicitly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kgrec.core.processes import read_offsets
from kgrec.kg.embedded_files import AOF_DIR_NAME, LOG_NAME

if TYPE_CHECKING:
    import redis

log = logging.getLogger("kgrec.kg.embedded")

MANIFEST_NAME = "appendonly.aof.manifest"
#: Appended commands below this size replay quickly enough on start; see compact_if_grown.
COMPACT_MIN_BYTES = 4 << 20
COMPACT_RATIO = 0.25
#: The server rewrites the file by itself once this much was appended since the snapshot
#: (and :data:`AUTO_REWRITE_PERCENT` % of it), so a crash in the middle of a long write
#: leaves at most about this much to replay.
AUTO_REWRITE_MIN_BYTES = 4 << 20
AUTO_REWRITE_PERCENT = 25


#: Arguments of the FalkorDB module: log every write as its effects (see above).
MODULE_ARGS = ("EFFECTS_THRESHOLD", "0")


def server_settings() -> list[tuple[str, str]]:
    """The server's append-only settings (its config file)."""
    return [
        ("appendonly", "yes"),
        ("appendfsync", "everysec"),
        # A rewrite writes the graph as an RDB snapshot (fast to load), then appends commands.
        ("aof-use-rdb-preamble", "yes"),
        ("auto-aof-rewrite-percentage", str(AUTO_REWRITE_PERCENT)),
        ("auto-aof-rewrite-min-size", str(AUTO_REWRITE_MIN_BYTES)),
        ("save", '""'),
    ]


# -- replay progress -------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    """How far a starting server has read its append-only files (bytes)."""

    done: int
    total: int

    @property
    def percent(self) -> int:
        """Whole percent read, at most 99: the server is still loading (it reads ahead of
        the statement it replays)."""
        return min(99, 100 * self.done // self.total) if self.total else 0


def aof_files(data_dir: Path) -> list[Path]:
    """The append-only files a start loads, in order (snapshot first), from the manifest."""
    aof_dir = data_dir / AOF_DIR_NAME
    try:
        lines = (aof_dir / MANIFEST_NAME).read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    files: list[tuple[int, Path]] = []
    for line in lines:
        fields = line.split()
        info = dict(zip(fields[::2], fields[1::2], strict=False))
        if "file" in info and info.get("type") in ("b", "i"):
            files.append((0 if info["type"] == "b" else 1, aof_dir / info["file"]))
    return [path for _, path in sorted(files, key=lambda f: f[0])]


def replay_progress(data_dir: Path, pid: int) -> Replay | None:
    """How far server ``pid`` has read its append-only files while it loads them, from
    ``/proc`` (the server answers nobody while it replays large commands); None when it is
    not loading them."""
    reading = read_offsets(pid, data_dir / AOF_DIR_NAME)
    if not reading:
        return None
    files = aof_files(data_dir)
    sizes = []
    for path in files:
        try:
            sizes.append(path.stat().st_size)
        except OSError:
            sizes.append(0)
    done = 0
    for path, size in zip(files, sizes, strict=True):
        if path in reading:
            done += min(size, reading[path])
            break
        done += size
    return Replay(done, sum(sizes))


# -- compaction ------------------------------------------------------------------------------


def compact(client: redis.Redis, data_dir: Path, timeout_s: float = 300.0) -> bool:
    """Rewrite the append-only file as a snapshot (BGREWRITEAOF) and wait for it.

    The rewrite writes the graph as an RDB preamble, which loads much faster than replaying
    the commands that built it. A rewrite already in progress (another writer compacting, or
    the server's own) is waited for, then one of ours runs, since that one may predate our
    writes. Compaction is an optimisation: a rewrite that fails or outlasts ``timeout_s`` is
    logged as a warning, never raised.

    Args:
        client: a redis client authenticated on the store's server.
        data_dir: the store directory (for messages).
        timeout_s: how long to wait for the rewrite(s) in all.

    Returns:
        True when a rewrite that started after this call finished successfully.

    Raises:
        redis.ConnectionError: the server is gone.
    """
    import redis

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.execute_command("BGREWRITEAOF")
        except redis.ResponseError as e:
            if "already in progress" not in str(e):
                log.warning("could not compact %s: %s", data_dir, e)
                return False
            log.debug("an AOF rewrite is already running in %s; waiting for it", data_dir)
            if not _wait_for_rewrite(client, data_dir, deadline):
                return False
            continue
        if not _wait_for_rewrite(client, data_dir, deadline):
            return False
        if client.info("persistence").get("aof_last_bgrewrite_status", "ok") != "ok":
            log.warning("compacting %s failed; see %s", data_dir, data_dir / LOG_NAME)
            return False
        return True


def _wait_for_rewrite(client: redis.Redis, data_dir: Path, deadline: float) -> bool:
    while time.monotonic() < deadline:
        info = client.info("persistence")
        if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
            return True
        time.sleep(0.1)
    log.warning("the AOF rewrite of %s is still running; the next start may be slow", data_dir)
    return False


def aof_growth(client: redis.Redis) -> tuple[int, int]:
    """``(base, appended)``: bytes of the last snapshot and of the commands appended since."""
    info = client.info("persistence")
    base = int(info.get("aof_base_size", 0))
    return base, max(0, int(info.get("aof_current_size", 0)) - base)


def compact_if_grown(
    client: redis.Redis,
    data_dir: Path,
    min_bytes: int = COMPACT_MIN_BYTES,
    ratio: float = COMPACT_RATIO,
) -> bool:
    """:func:`compact` once the appended commands exceed ``min_bytes`` and ``ratio`` x snapshot.

    Returns:
        True if it compacted.
    """
    base, appended = aof_growth(client)
    if appended < max(min_bytes, ratio * base):
        return False
    log.info("compacting %s: %d bytes appended to a %d-byte snapshot", data_dir, appended, base)
    return compact(client, data_dir)
