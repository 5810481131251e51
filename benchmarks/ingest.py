"""Ingestion benchmark: ml-latest-small wall time (cold / warm embedding cache), write rates.

Each repeat ingests into an empty store, as ``kgrec ingest movielens`` does (read +
validate, embed, write, compact): a fresh embedded store directory, or with ``--store
bolt://...`` the Neo4j database wiped first (credentials from NEO4J_USER / NEO4J_PASSWORD).
"Cold" starts from an empty embedding cache and a new process-level model load; "warm"
reuses the cache filled by the cold run. Relationship and node write rates come from the
synthetic generator (no embedding work in the timed step). Reports medians.

    python benchmarks/ingest.py [--data ../shared/datasets/ml-latest-small] [--repeats 3]
                                [--store bolt://127.0.0.1:7687]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed_cli(args: list[str], env_cache: Path) -> tuple[float, dict]:
    """Run ``kgrec --json ARGS`` in a fresh process; return wall seconds and its summary."""
    import os

    env = {**os.environ, "KGREC_CACHE_DIR": str(env_cache)}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "kgrec.cli.main", "--json", "--quiet", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return time.perf_counter() - start, json.loads(out.stdout)


def empty_store(target: str | None, tmp: Path, name: str) -> str:
    """The URI of an empty store: a new directory, or the server's database wiped."""
    from kgrec.kg import is_server_uri, open_store

    if target is None or not is_server_uri(target):
        return str(tmp / name)
    with open_store(target) as store:
        store.drop()
    return target


def write_rates(repeats: int, target: str | None) -> dict:
    """Node and relationship writes per second on synthetic data (batched UNWIND MERGE)."""
    from kgrec.kg import open_store
    from kgrec.kg.schema import ensure_schema
    from kgrec.kg.writer import BatchWriter, records
    from kgrec.loaders.synthetic import generate_synthetic

    ds = generate_synthetic(
        num_users=5000, num_items=20000, num_tags=100, num_interactions=300_000, seed=1
    )
    items = ds.items
    dataset = {"dataset": ds.name}
    node_rates, rel_rates = [], []
    for _ in range(repeats):
        with (
            tempfile.TemporaryDirectory() as d,
            open_store(empty_store(target, Path(d), "rates"), create=True) as store,
        ):
            ensure_schema(store)
            w = BatchWriter(store)
            users = w.write("merge_users", records(ds.users))
            item_step = w.write(
                "merge_items", records(items[["id", "title", "description"]]), params=dataset
            )
            w.write("merge_tags", records(ds.tags))
            node_rates.append((users.rows + item_step.rows) / (users.seconds + item_step.seconds))
            rows = records(ds.interactions)
            step = w.write("merge_interactions", rows)
            rel_rates.append(step.rows / step.seconds)
    return {
        "node_writes_per_s": statistics.median(node_rates),
        "relationship_writes_per_s": statistics.median(rel_rates),
        "relationships": len(ds.interactions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared/datasets/ml-latest-small"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--store", default=None, help="bolt://... (its database is wiped!); default: embedded"
    )
    args = parser.parse_args()

    cold, warm, embed_rates = [], [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            seconds, summary = timed_cli(
                ["--store", empty_store(args.store, tmp, "cold"), "ingest", "movielens", args.data],
                tmp / "cache",
            )
            cold.append(seconds)
            embed_rates.append(summary["texts_embedded"] / summary["embed_seconds"])
            seconds, summary = timed_cli(
                ["--store", empty_store(args.store, tmp, "warm"), "ingest", "movielens", args.data],
                tmp / "cache",
            )
            assert summary["texts_embedded"] == 0
            warm.append(seconds)
    result = {
        "dataset": args.data,
        "store": args.store or "embedded",
        "repeats": args.repeats,
        "cold_cache_wall_s": statistics.median(cold),
        "warm_cache_wall_s": statistics.median(warm),
        "texts_embedded_per_s": statistics.median(embed_rates),
        **write_rates(args.repeats, args.store),
    }
    for key, value in result.items():
        print(f"{key:<28}{value:,.1f}" if isinstance(value, float) else f"{key:<28}{value}")


if __name__ == "__main__":
    main()
