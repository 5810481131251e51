"""Serving latency of ``Recommender.recommend(k=10)`` on ml-latest-small, on either store.

Prepares (once, cached in --workdir) an embedded store with ml-latest-small and a live model
trained by ``kgrec train`` (the default model, ``ease``; with ``--store bolt://...``: that
Neo4j database wiped when --workdir holds no model yet, ml-latest-small ingested, and a
model trained from it in --workdir), then
times ``recommend`` for a sample of users with 1 and 8 concurrent callers (threads sharing
one Recommender), with and without explanations. Prints p50/p95/p99 latency (ms) and
throughput (requests/s). Each configuration is repeated --repeats times; figures are
medians over repeats.

    python benchmarks/serve.py [--workdir /tmp/kgrec-bench] [--requests 300] [--repeats 3]
                               [--store bolt://127.0.0.1:7687]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared/datasets/ml-latest-small"


def prepare(workdir: Path, epochs: int, server: str | None) -> tuple[str, Path]:
    """An ingested store and a live model in ``workdir`` (reused when present)."""
    store = server or str(workdir / "store")
    models = workdir / ("models-neo4j" if server else "models")
    env = {**os.environ, "KGREC_CACHE_DIR": str(workdir / "cache")}
    kgrec = [sys.executable, "-m", "kgrec.cli.main", "--quiet", "--store", store]
    if server and not (models / "live").exists():
        from kgrec.kg import open_store

        with open_store(server) as wiped:  # only ml-latest-small in the graph
            wiped.drop()
    if server or not (workdir / "store" / "appendonlydir").exists():
        subprocess.run([*kgrec, "ingest", "movielens", str(DATA)], check=True, env=env)
    if not (models / "live").exists():
        subprocess.run(
            [*kgrec, "--model-dir", str(models), "train", "--epochs", str(epochs)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    return store, models


def run(rec, users: list[str], callers: int, explain: bool) -> tuple[np.ndarray, float]:
    """Latencies (ms) of one recommend call per user, and requests per second."""

    def one(user: str) -> float:
        start = time.perf_counter()
        rec.recommend(user, k=10, explain=explain)
        return (time.perf_counter() - start) * 1000

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=callers) as pool:
        latencies = np.array(list(pool.map(one, users)))
    return latencies, len(users) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/kgrec-bench")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument(
        "--store", default=None, help="bolt://... (wiped on first use!); default: embedded"
    )
    args = parser.parse_args()

    from kgrec.app.recommender import Recommender

    store, models = prepare(Path(args.workdir), args.epochs, args.store)
    print(f"store: {args.store or 'embedded'}")
    with Recommender.open(store, models) as rec:
        rng = np.random.default_rng(0)
        users = list(rng.choice(rec.user_ids, size=args.requests, replace=True))
        run(rec, users[:20], 1, True)  # warm-up: connections, caches, lazy imports
        print(
            f"{'explain':<8}{'callers':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'req/s':>10}"
        )
        for explain in (True, False):
            for callers in (1, 8):
                stats = []
                for _ in range(args.repeats):
                    lat, rps = run(rec, users, callers, explain)
                    stats.append((*np.percentile(lat, [50, 95, 99]), rps))
                p50, p95, p99, rps = (statistics.median(s[j] for s in stats) for j in range(4))
                print(f"{explain!s:<8}{callers:>8}{p50:>10.1f}{p95:>10.1f}{p99:>10.1f}{rps:>10.1f}")


if __name__ == "__main__":
    main()
