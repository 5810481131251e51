"""The store's side of the nightly job: export graph -> tensors, and the write-back.

Measures, on an existing store (``kgrec ingest synthetic ...`` first):

- ``export``: :func:`kgrec.app.training.load_tensors` (export plus tensors), edges per
  second of wall time and the CPU seconds of this process and of the embedded server (the
  machine's other load shows in wall time, not in CPU time);
- ``write-back`` (with ``--model-dir`` holding a live model): a first write-back into the
  store (everything differs from what it holds), a second of the same model (nothing
  differs), and with ``--changed`` a third after promoting a second version.

Usage::

    kgrec --store /tmp/s250 ingest synthetic --users 10000 --items 5000 --interactions 250000
    kgrec --store /tmp/s250 --model-dir /tmp/m250 train --model mf --epochs 1
    python benchmarks/store_io.py --store /tmp/s250 --model-dir /tmp/m250 --repeat 3
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
    args = parser.parse_args()
    with open_store(args.store, args.graph) as store:
        report: dict[str, Any] = {"export": export(store, args.repeat)}
        if args.model_dir:
            report["write_back"] = write_back(store, args.model_dir, args.changed)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
