"""Neo4j ingest with the driver's Bolt packing in Rust (``neo4j-rust-ext``) against its
pure-Python packing, alternating in one process on the same data.

Each repeat wipes the database and ingests the dataset (ml-latest-small by default) with a
warm embedding cache (an untimed first ingest fills it), so the timed step is reading,
validating and writing. Prints the median seconds of each packing, the per-repeat ratios
(Python / Rust) and their median and range.

    NEO4J_USER=neo4j NEO4J_PASSWORD=... python benchmarks/neo4j_packing.py \\
        --store bolt://127.0.0.1:7687 [--data ../shared/datasets/ml-latest-small] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def set_rust_packing(enabled: bool, saved: dict) -> None:
    """Make the driver's ``Packer`` pack with Rust or with its pure-Python ``_py_pack``
    (the driver picks one when its module loads; ingest writes far more than it reads, so
    only packing is switched)."""
    from neo4j._codec.packstream import v1

    if not saved:
        saved["pack"] = v1.Packer._pack
    if enabled and v1._rust_pack is None:
        raise SystemExit("neo4j-rust-ext is not installed: nothing to compare")

    def python_pack(self, data, dehydration_hooks=None):
        self._py_pack(data, dehydration_hooks)

    v1.Packer._pack = saved["pack"] if enabled else python_pack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="bolt://127.0.0.1:7687")
    parser.add_argument("--data", default=str(REPO.parent / "shared/datasets/ml-latest-small"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from kgrec.app.ingest import ingest
    from kgrec.kg import open_store
    from kgrec.loaders.embeddings import TextEmbedder
    from kgrec.loaders.movielens import read_movielens

    dataset = read_movielens(Path(args.data))
    saved: dict = {}
    with tempfile.TemporaryDirectory() as cache, open_store(args.store) as store:
        embedder = TextEmbedder(cache_dir=Path(cache))
        store.drop()
        ingest(dataset, store, embedder)  # untimed: fills the embedding cache
        seconds: dict[str, list[float]] = {"python": [], "rust": []}
        for _ in range(args.repeats):
            for packing in ("python", "rust"):
                set_rust_packing(packing == "rust", saved)
                store.drop()
                start = time.perf_counter()
                ingest(dataset, store, embedder)
                seconds[packing].append(time.perf_counter() - start)
                print(f"{packing:6s} {seconds[packing][-1]:7.1f} s", flush=True)
        set_rust_packing(True, saved)
        store.drop()
    ratios = [p / r for p, r in zip(seconds["python"], seconds["rust"], strict=True)]
    n = len(dataset.interactions)
    for packing, values in seconds.items():
        med = statistics.median(values)
        print(f"{packing}: median {med:.1f} s ({n / med:,.0f} interactions/s)")
    print(
        f"python / rust: median {statistics.median(ratios):.2f}x "
        f"(range {min(ratios):.2f}-{max(ratios):.2f}x over {len(ratios)} pairs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
