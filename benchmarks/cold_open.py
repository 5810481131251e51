"""Cold-open benchmark: CLI commands on the embedded store after training, server stopped.

Ingests ml-latest-small into a store (a temporary one, or ``--store DIR``: reused when it
already holds a store), trains briefly (``kgrec train --epochs N``), stops the server, then
times ``RUNS`` cold runs each of ``kgrec recommend 1 --k 10`` and ``kgrec --json stats``,
every one a fresh process with the server stopped before it, so each pays the server start
and the load of the append-only file. Reports medians, the floor (``kgrec --version``) and
the size of the append-only files. Targets: recommend < 3 s, stats < 2 s.

    python benchmarks/cold_open.py [--data ../shared/datasets/ml-latest-small] [--runs 5]
        [--epochs 5] [--store DIR] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"recommend": 3.0, "stats": 2.0}


def kgrec(store: Path, *args: str, env: dict, check: bool = True) -> tuple[float, str]:
    """Run ``kgrec --store STORE ARGS`` in a fresh process; wall seconds and stdout."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "kgrec.cli.main", "--quiet", "--store", str(store), *args],
        capture_output=True,
        text=True,
        env=env,
    )
    seconds = time.perf_counter() - start
    if check and out.returncode != 0:
        raise SystemExit(f"kgrec {' '.join(args)} failed ({out.returncode}): {out.stderr}")
    return seconds, out.stdout


def aof_sizes(store: Path) -> dict[str, int]:
    """Bytes of the snapshot (base) and of the appended commands (incr) on disk."""
    sizes = {"base_bytes": 0, "incr_bytes": 0}
    for path in (store / "appendonlydir").glob("*"):
        if ".base." in path.name:
            sizes["base_bytes"] += path.stat().st_size
        elif ".incr." in path.name:
            sizes["incr_bytes"] += path.stat().st_size
    return sizes


def run(store: Path, args: argparse.Namespace, env: dict) -> dict:
    from kgrec.kg.embedded import holds_store

    setup: dict[str, float] = {}
    if not holds_store(store):
        setup["ingest_s"], _ = kgrec(store, "ingest", "movielens", args.data, env=env)
    if not args.no_train:
        seconds, _ = kgrec(store, "train", "--epochs", str(args.epochs), env=env, check=False)
        setup["train_s"] = seconds
    kgrec(store, "store", "stop", env=env)
    commands = {
        "recommend": ["recommend", args.user, "--k", "10"],
        "stats": ["--json", "stats"],
        "floor": ["--version"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            kgrec(store, "store", "stop", env=env)
            seconds, _ = kgrec(store, *command, env=env)
            times[name].append(seconds)
    result = {
        "store": str(store),
        "runs": args.runs,
        **{k: round(v, 2) for k, v in setup.items()},
        **aof_sizes(store),
    }
    for name, values in times.items():
        result[f"{name}_median_s"] = round(statistics.median(values), 3)
        result[f"{name}_runs_s"] = [round(v, 3) for v in values]
    for name, target in TARGETS.items():
        result[f"{name}_target_met"] = result[f"{name}_median_s"] < target
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared/datasets/ml-latest-small"))
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        help="store folder to use (reused when it holds a store)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="embedding cache (default: KGREC_CACHE_DIR or kgrec's)",
    )
    parser.add_argument("--epochs", type=int, default=5, help="training epochs")
    parser.add_argument("--no-train", action="store_true", help="time the store as it is")
    parser.add_argument("--runs", type=int, default=5, help="cold runs per command")
    parser.add_argument("--user", default="1", help="user to recommend for")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if k != "KGREC_KEEP_SERVER"}
    if args.cache:
        env["KGREC_CACHE_DIR"] = str(args.cache)
    if args.store is not None:
        result = run(args.store.absolute(), args, env)
    else:
        with tempfile.TemporaryDirectory(prefix="kgrec-cold-") as tmp:
            result = run(Path(tmp) / "store", args, env)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:<24}{value}")


if __name__ == "__main__":
    main()
