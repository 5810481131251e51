"""The store's side of the nightly job: export graph -> tensors, and the write-back.

Measures, on an existing store (``kgrec ingest synthetic ...`` first):

- ``export``: :func:`kgrec.app.training.load_tensors` (export plus tensors), edges per
  second of wall time and the CPU seconds of this process and of the embedded server (the
  machine's other load shows in wall time, not in CPU time);
- ``write-back`` (with ``--model-dir`` holding a live model): a first write-back into the
  store (everything differs from what it holds), a second of the same model (nothing
  differs), and with ``--changed`` a third after promoting a second version;
- ``index upkeep`` (``--index-upkeep N``): what a vector index costs a write that does not
  touch its property. ``SET i.model_version`` on ``N`` items, in rounds that alternate
  between the item text index present and dropped (rebuilt after); medians, and the ratio
  of each round's pair. On FalkorDB every vector index of a node's label re-inserts the
  node when any of its properties is set.

Usage::

    kgrec --store /tmp/s250 ingest synthetic --users 10000 --items 5000 --interactions 250000
    kgrec --store /tmp/s250 --model-dir /tmp/m250 train --model mf --epochs 1
    python benchmarks/store_io.py --store /tmp/s250 --model-dir /tmp/m250 --repeat 3
    python benchmarks/store_io.py --store /tmp/s250 --index-upkeep 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kgrec.core.processes import cpu_ticks
from kgrec.kg import open_store
from kgrec.kg.embedded import read_pid
from kgrec.kg.store import GraphStore

TICK = os.sysconf("SC_CLK_TCK")


def _measured(store: GraphStore, fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """``fn()`` and its wall seconds, this process's and the embedded server's CPU seconds."""
    pid = read_pid(Path(store.uri)) if store.dialect.name == "falkordb" else None
    server = cpu_ticks(pid) if pid else None
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    figures = {"wall_s": time.perf_counter() - wall, "client_cpu_s": time.process_time() - cpu}
    after = cpu_ticks(pid) if pid else None
    if server is not None and after is not None:
        figures["server_cpu_s"] = (after - server) / TICK
    return out, {k: round(v, 3) for k, v in figures.items()}


def export(store: GraphStore, repeat: int) -> dict[str, Any]:
    from kgrec.app.training import load_tensors
    from kgrec.gnn.data import GraphTensors  # noqa: F401  (torch's import is not the export's)

    runs = []
    for _ in range(repeat):
        tensors, figures = _measured(store, lambda: load_tensors(store))
        runs.append(figures)
    edges = int(
        tensors.num_interactions
        + tensors.item_tag_index.shape[1]
        + tensors.item_entity_index.shape[1]
    )
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    cpu = median["client_cpu_s"] + median.get("server_cpu_s", 0.0)
    return {
        "edges": edges,
        **median,
        "edges_per_s": round(edges / median["wall_s"]),
        "edges_per_cpu_s": round(edges / cpu),
    }


def write_back(store: GraphStore, model_dir: Path, changed: bool) -> dict[str, Any]:
    from kgrec.app.training import load_tensors
    from kgrec.app.training import write_back as run

    tensors = load_tensors(store)
    out: dict[str, Any] = {}
    steps = ["first", "unchanged"]
    for step in steps:
        if step == "first":  # forget the record, so everything is written as a first time
            store.write("MATCH (s:ModelState {key: 'write_back'}) SET s.written = null")
        summary, figures = _measured(store, lambda: run(store, model_dir, tensors))
        out[step] = {
            **figures,
            **{
                k: summary.get(k)
                for k in ("written_users", "written_items", "written_recommendations")
            },
        }
    if changed:
        from kgrec.gnn.training.job import run_job

        run_job(tensors, model_dir, "mf", epochs=1, tolerance=1.0, seed=1, device="cpu")
        summary, figures = _measured(store, lambda: run(store, model_dir, tensors))
        out["changed"] = {
            **figures,
            **{
                k: summary.get(k)
                for k in ("written_users", "written_items", "written_recommendations")
            },
        }
    return out


def index_upkeep(store: GraphStore, items: int, rounds: int) -> dict[str, Any]:
    """Seconds of one ``SET i.model_version`` over ``items`` items with the items' vector
    indexes present and dropped, alternating for ``rounds`` rounds (the order flips each
    round)."""
    from kgrec.kg.schema import (
        VECTOR_INDEXES,
        await_indexes,
        drop_vector_index,
        ensure_vector_index,
    )
    from kgrec.kg.schema import vector_index as find_index

    present = {
        prop: int(found["dimension"])
        for label, prop in VECTOR_INDEXES
        if label == "Item" and (found := find_index(store, label, prop)) is not None
    }
    if not present:
        raise SystemExit("the store's items carry no vector index: ingest with text first")
    ids = [r["id"] for r in store.run("MATCH (i:Item) RETURN i.id AS id LIMIT $n", {"n": items})]
    statement = "UNWIND $ids AS id MATCH (i:Item {id: id}) SET i.model_version = $v"
    times: dict[str, list[float]] = {"indexed": [], "unindexed": []}
    indexed = True

    def switch(to_indexed: bool) -> None:
        for prop, dim in present.items():
            if to_indexed:
                ensure_vector_index(store, "Item", prop, dim)
            else:
                drop_vector_index(store, "Item", prop)
        await_indexes(store)

    try:
        for r in range(rounds):
            for arm in ("indexed", "unindexed") if r % 2 == 0 else ("unindexed", "indexed"):
                if (arm == "indexed") != indexed:
                    indexed = arm == "indexed"
                    switch(indexed)
                params = {"ids": ids, "v": arm}
                _, figures = _measured(store, lambda p=params: store.write(statement, p))
                times[arm].append(figures["wall_s"])
    finally:
        if not indexed:
            switch(True)
        store.write(
            "MATCH (i:Item) WHERE i.model_version IN $arms REMOVE i.model_version",
            {"arms": list(times)},
        )
    ratios = sorted(
        a / max(b, 1e-9) for a, b in zip(times["indexed"], times["unindexed"], strict=True)
    )
    return {
        "items": len(ids),
        "indexes": {prop: dim for prop, dim in present.items()},
        "indexed_s": round(statistics.median(times["indexed"]), 3),
        "unindexed_s": round(statistics.median(times["unindexed"]), 3),
        "ratio_median": round(statistics.median(ratios), 2),
        "ratio_range": [round(ratios[0], 2), round(ratios[-1], 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--graph", default="kgrec")
    parser.add_argument("--model-dir", type=Path, help="measure the write-back of its live model")
    parser.add_argument("--repeat", type=int, default=1, help="exports to take the median of")
    parser.add_argument(
        "--changed",
        action="store_true",
        help="also train and write back a changed model (mf, 1 epoch)",
    )
    parser.add_argument(
        "--index-upkeep",
        type=int,
        metavar="N",
        help="only time setting one property on N items with and without the text index",
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds of --index-upkeep")
    args = parser.parse_args()
    with open_store(args.store, args.graph) as store:
        if args.index_upkeep:
            print(json.dumps(index_upkeep(store, args.index_upkeep, args.rounds), indent=2))
            return
        report: dict[str, Any] = {"export": export(store, args.repeat)}
        if args.model_dir:
            report["write_back"] = write_back(store, args.model_dir, args.changed)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
