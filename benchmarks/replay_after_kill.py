"""Replay after a crash: ``kill -9`` of the embedded server in the middle of an ingest, then
the restart.

Runs ``kgrec ingest synthetic`` into a fresh store, kills the server with SIGKILL once
``--kill-at`` interactions are in the graph, and times a fresh ``kgrec cypher`` that counts
them: it starts the server, which first replays the append-only file. Reports the seconds
and server CPU seconds the writes took up to the kill, the server's load time from its log,
the append-only files left, and whether every interaction written came back. Target: the
replay takes no longer than the writes it replays.

    python benchmarks/replay_after_kill.py [--store /tmp/replay] [--interactions 250000]
        [--kill-at 240000] [--users 5000] [--items 5000] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from kgrec.core.processes import cpu_ticks
from kgrec.kg import embedded

COUNT = "MATCH ()-[e:INTERACTED]->() RETURN count(e) AS n"
TICKS = os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=Path("/tmp/kgrec-replay"))
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--interactions", type=int, default=250_000)
    ap.add_argument("--kill-at", type=int, default=240_000)
    ap.add_argument("--cache", type=Path, default=None, help="embedding cache (KGREC_CACHE_DIR)")
    args = ap.parse_args()
    store = args.store.absolute()
    shutil.rmtree(store, ignore_errors=True)
    env = {**os.environ, "KGREC_RECOVERY_TIMEOUT": "36000", "KGREC_START_TIMEOUT": "36000"}
    if args.cache:
        env["KGREC_CACHE_DIR"] = str(args.cache)
    cli = [sys.executable, "-m", "kgrec.cli.main", "--store", str(store)]
    ingest = subprocess.Popen(
        [
            *cli,
            "--quiet",
            "ingest",
            "synthetic",
            "--users",
            str(args.users),
            "--items",
            str(args.items),
            "--interactions",
            str(args.interactions),
        ],
        env={**env, "KGREC_KEEP_SERVER": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pid, first, cpu0, written = _kill_when_written(store, args.kill_at, ingest)
    writes_s = time.monotonic() - first
    writes_cpu = ((cpu_ticks(pid) or 0) - cpu0) / TICKS
    os.kill(pid, signal.SIGKILL)
    ingest.wait()
    files = {p.name: p.stat().st_size for p in sorted((store / "appendonlydir").iterdir())}
    start = time.monotonic()
    out = subprocess.run([*cli, "--json", "cypher", COUNT], env=env, capture_output=True, text=True)
    restart_s = time.monotonic() - start
    loaded = re.findall(
        r"DB loaded from append only file: ([\d.]+) seconds",
        (store / embedded.LOG_NAME).read_text(),
    )
    back = json.loads(out.stdout)[0]["n"] if out.returncode == 0 else out.stderr
    print(
        json.dumps(
            {
                "killed_at_interactions": written,
                "writes_s": round(writes_s, 1),
                "writes_server_cpu_s": round(writes_cpu, 2),
                "aof_files": files,
                "restart_command_s": round(restart_s, 1),
                "server_load_s": float(loaded[-1]) if loaded else None,
                "interactions_back": back,
                "all_back": back == written,
            },
            indent=1,
        )
    )


def _kill_when_written(
    store: Path, kill_at: int, ingest: subprocess.Popen[bytes]
) -> tuple[int, float, int, int]:
    """Wait for the first write, then for ``kill_at`` interactions; the server's pid, when
    the writes began, its CPU ticks then, and the interactions written."""
    import redis

    while not (store / "appendonlydir").exists() or embedded.read_pid(store) is None:
        if ingest.poll() is not None:
            raise SystemExit("the ingest ended before it wrote anything")
        time.sleep(0.05)
    pid = embedded.read_pid(store) or 0
    first, cpu0 = time.monotonic(), cpu_ticks(pid) or 0
    client = embedded.admin_client(
        embedded.socket_path(store), embedded.read_password(store), store
    )
    while True:
        try:
            reply = client.execute_command("GRAPH.RO_QUERY", "kgrec", COUNT)
            written = int(reply[1][0][0]) if reply[1] else 0
        except redis.ResponseError:  # no graph yet
            written = 0
        if written >= kill_at:
            return pid, first, cpu0, written
        if ingest.poll() is not None:
            raise SystemExit(f"the ingest ended at {written} interactions; lower --kill-at")
        time.sleep(0.2)


if __name__ == "__main__":
    main()
