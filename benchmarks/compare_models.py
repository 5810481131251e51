"""Every method on one split of ml-latest-small (or another dataset), printed as a table.

    python benchmarks/compare_models.py                                 # ml-latest-small
    python benchmarks/compare_models.py --seeds 0 1 2 --csv out.csv     # 3 seeds, each row
    python benchmarks/compare_models.py --layout recbole --data DIR     # e.g. MovieLens 100K
    python benchmarks/compare_models.py --synthetic 100000 --methods MostPopular LightGCN+text
    python benchmarks/compare_models.py --ease-forms --no-store --seeds 0   # EASE's forms
    python benchmarks/compare_models.py --synthetic 550000 --ease-forms --seeds 0

The data goes the way of production data: read (``--layout movielens``: the GroupLens CSV
layout; ``recbole``: RecBole atomic files, as the ``recbole`` wheel ships ml-100k), ingested
(with all-MiniLM-L6-v2 item and tag vectors) into an embedded store, and exported as
GraphTensors, so the models see exactly what ``kgrec train`` sees. The store is ``--store``,
by default ``bench-store`` for ml-latest-small and ``bench-store-<folder name>`` for other
data, under the cache folder; one that already holds the data is reused (``--reingest``
writes it again). Every choice is made on validation (each method's grid,
every trained model's best epoch), the chosen setting is refitted on training + validation
and tested once (:mod:`kgrec.gnn.training.bench`); the table gives means and spreads over seeds.

``--ease-forms`` compares the default model's forms (:mod:`kgrec.gnn.models.ease_forms`) at the
default's settings: full-rank dense EASE, the default (``auto``: form by memory, rank on
validation), and the ``dense`` and ``lowrank`` forms with the rank on validation. A method
whose predicted peak memory (:func:`~kgrec.gnn.models.ease_forms.ease_memory_bytes`) exceeds the
budget (``--memory-share`` of the memory available) is skipped with a message, not killed.
The last line gives the process's peak RSS (run one method per process to read a method's).
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ml-latest-small"


LAYOUTS = ("movielens", "recbole")

#: ``--ease-forms``: EASE's forms at the default's settings (registered in the harness).
EASE_FORMS = {
    "EASE full rank (dense)": {"form": "dense", "rank": 1 << 30},
    "EASE default (auto)": {},
    "EASE dense (rank on val)": {"form": "dense"},
    "EASE lowrank (rank on val)": {"form": "lowrank"},
}


def register_ease_forms() -> list[str]:
    """Add :data:`EASE_FORMS` to the harness's methods; their names."""
    from kgrec.gnn.training import bench

    for name, options in EASE_FORMS.items():
        bench.ALL_METHODS[name] = bench.Method("ease", options, seeded=False)
    return list(EASE_FORMS)


def methods_that_fit(tensors, methods: list[str], share: float) -> list[str]:
    """``methods`` without the EASE-based ones whose fit would not fit ``share`` of the
    memory available now (each skipped with a message on stderr)."""
    from kgrec.gnn.models.ease_forms import RANKS, choose_form, ease_memory_bytes, memory_budget
    from kgrec.gnn.training import bench

    budget = memory_budget(share)
    nnz = int(tensors.num_interactions * 0.8)  # the training part, about
    text = 0 if tensors.item_text is None else tensors.item_text.size(1)
    sizes = (tensors.num_users, tensors.num_items, nnz)
    kept = []
    for name in methods:
        method = bench.ALL_METHODS[name]
        if method.model != "ease":
            kept.append(name)
            continue
        rank = min(method.options.get("rank", max(RANKS)), tensors.num_items)
        form = method.options.get("form", "auto")
        if form == "auto":
            form = choose_form(*sizes, rank, budget, text + tensors.num_tags)
        need = ease_memory_bytes(*sizes, form, rank, text + tensors.num_tags)
        if need > budget:
            print(
                f"skipping {name}: its fit ({form} form, rank {rank}) needs about "
                f"{need / 2**30:.1f} GiB, over the {budget / 2**30:.1f} GiB budget "
                f"({share:.0%} of the memory available); raise --memory-share or choose "
                "a method that chooses its rank",
                file=sys.stderr,
            )
            continue
        kept.append(name)
    return kept


def movielens_tensors(
    data: Path, store_dir: Path, cache_dir: Path, reingest: bool = False, layout: str = "movielens"
):
    """``data`` (read as ``layout``, one of :data:`LAYOUTS`) ingested into the embedded store
    ``store_dir`` (once), exported as tensors."""
    from kgrec.app.ingest import ingest
    from kgrec.app.training import load_tensors
    from kgrec.kg import open_store
    from kgrec.loaders import read_movielens, read_recbole
    from kgrec.loaders.embeddings import TextEmbedder

    reader = {"movielens": read_movielens, "recbole": read_recbole}[layout]

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    store = open_store(str(store_dir), create=True)
    try:
        tensors = load_tensors(store)
        if reingest or tensors.num_interactions == 0:
            embedder = TextEmbedder(cache_dir=cache_dir)
            try:
                ingest(reader(data), store, embedder)
            finally:
                embedder.close()
            tensors = load_tensors(store)
        return tensors
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    from kgrec.gnn.training.bench import ALL_METHODS, METHODS, compare, format_table, summarise
    from kgrec.gnn.training.config import TrainConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="dataset folder (default: ml-latest-small)")
    parser.add_argument(
        "--layout",
        default="movielens",
        choices=LAYOUTS,
        help="how --data is read: GroupLens CSV files or RecBole atomic files",
    )
    parser.add_argument(
        "--synthetic",
        type=int,
        default=0,
        help="use a synthetic world with this many interactions instead",
    )
    parser.add_argument(
        "--split", default=TrainConfig.split, choices=["temporal", "random", "fixed"]
    )
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument(
        "--methods", nargs="+", default=list(METHODS), choices=[*ALL_METHODS, *EASE_FORMS]
    )
    parser.add_argument("--device", default=TrainConfig.device)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-refit", action="store_true", help="test the validation-time model")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("KGREC_CACHE_DIR", "/tmp/kgrec-cache")),
    )
    parser.add_argument(
        "--store",
        type=Path,
        help="the embedded store the data is ingested into (default: see above)",
    )
    parser.add_argument("--reingest", action="store_true", help="ingest into --store again")
    parser.add_argument(
        "--no-store",
        action="store_true",
        help="read the data straight into tensors (no store, no text vectors)",
    )
    parser.add_argument("--csv", type=Path, help="also write the table here")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument(
        "--ease-forms",
        action="store_true",
        help="compare EASE's forms (full-rank dense, auto, dense, lowrank)",
    )
    parser.add_argument(
        "--memory-share",
        type=float,
        default=0.6,
        help="share of the available memory an EASE fit may use (else skipped)",
    )
    forms = register_ease_forms()
    args = parser.parse_args(argv)
    if args.ease_forms:
        args.methods = [m for m in args.methods if m not in METHODS] or forms
    if args.data is None and args.layout != "movielens":
        parser.error(f"--layout {args.layout} needs --data DIR")
    data = args.data or DEFAULT_DATA
    store = args.store or args.cache_dir / (
        "bench-store" if data == DEFAULT_DATA else f"bench-store-{data.resolve().name}"
    )
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    t0 = time.perf_counter()
    if args.synthetic:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from train_epoch import synthetic_tensors

        tensors = synthetic_tensors(args.synthetic, seed=args.seeds[0])
        source = f"synthetic({args.synthetic:,})"
    elif args.no_store:
        from kgrec.gnn.data import GraphTensors
        from kgrec.loaders import read_movielens, read_recbole

        reader = {"movielens": read_movielens, "recbole": read_recbole}[args.layout]
        tensors = GraphTensors.from_dataset(reader(data))
        source = f"{data} (no store, no text)"
    else:
        tensors = movielens_tensors(data, store, args.cache_dir, args.reingest, args.layout)
        source = str(data)
    print(
        f"data: {source}: {tensors.num_users} users, {tensors.num_items} items, "
        f"{tensors.num_tags} tags, {tensors.num_interactions} interactions "
        f"(loaded in {time.perf_counter() - t0:.1f}s); split={args.split}, "
        f"max epochs={args.epochs}, seeds={args.seeds}"
    )
    methods = methods_that_fit(tensors, args.methods, args.memory_share)
    table = compare(
        tensors,
        args.split,
        args.epochs,
        methods=methods,
        seeds=args.seeds,
        device=args.device,
        refit=not args.no_refit,
        show_progress=args.progress,
    )
    print(format_table(summarise(table)))
    print()
    print(format_table(table))
    for method, seed, notes in zip(table["method"], table["seed"], table["notes"], strict=True):
        if notes:
            print(f"  {method} (seed {seed}): {notes}")
    if args.csv:
        table.to_csv(args.csv, index=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS of this process: {peak:.2f} GiB; total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
