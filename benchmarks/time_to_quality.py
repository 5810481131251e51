"""Training time until LightGCN+text's validation Recall@20 reaches its plateau, ml-latest-small.

    python benchmarks/time_to_quality.py                    # seeds 0 1 2, the trainer's defaults
    python benchmarks/time_to_quality.py --max-steps 5      # as if the data were 4x larger

The data is what ``kgrec train`` trains on (read, ingested with its text vectors into an
embedded store, exported; see ``compare_models.py``), split as the job splits it (temporal,
validation carved from training). Each seed trains with validation Recall@20 after every
epoch and early stopping (``--patience`` evaluations). The plateau of a run is the first
epoch whose validation Recall@20 is within ``--within`` (relative) of the run's best; the
table gives, per seed and as medians, the training seconds up to it (epochs only), the wall
seconds (with the evaluations) and the best value. The script only uses what every version
of the trainer offers, so it can time an older checkout too (put that checkout first on
``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path


def run_seed(tensors, seed: int, epochs: int, patience: int, within: float, **config) -> dict:
    """One training run; the plateau's epoch, training and wall seconds, the best value."""
    from kgrec.gnn.models.registry import build_model
    from kgrec.gnn.training.splits import make_split
    from kgrec.gnn.training.train import fit, seed_everything

    split = make_split(tensors, "temporal", seed=seed)
    seed_everything(seed)
    model = build_model("lightgcn", tensors, split.train)
    walls: list[float] = []
    start = time.perf_counter()
    history = fit(
        model,
        tensors,
        split,
        epochs=epochs,
        eval_every=1,
        patience=patience,
        seed=seed,
        device="cpu",
        callback=lambda *_: walls.append(time.perf_counter() - start),
        **config,
    )
    vals = [v if v is not None else float("-inf") for v in history.val_metric]
    best = max(vals)
    plateau = next(e for e, v in enumerate(vals) if v >= (1 - within) * best)
    return {
        "seed": seed,
        "best_val": best,
        "best_epoch": history.best_epoch + 1,
        "plateau_epoch": plateau + 1,
        "train_s": sum(history.epoch_seconds[: plateau + 1]),
        "wall_s": walls[plateau],
        "s_per_epoch": history.seconds_per_epoch(),
        "epochs_run": history.epochs,
    }


def _row(name: str, r: dict) -> str:
    return (
        f"{name:>4} {r['best_val']:>13.4f} {r['best_epoch']:>7.0f} "
        f"{r['plateau_epoch']:>10.0f} {r['train_s']:>8.1f} {r['wall_s']:>7.1f} "
        f"{r['s_per_epoch']:>7.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from compare_models import DEFAULT_DATA, movielens_tensors

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=150, help="at most this many per run")
    parser.add_argument("--patience", type=int, default=20)
    parser.add_argument("--within", type=float, default=0.01, help="plateau: best x (1 - this)")
    parser.add_argument("--max-steps", type=int, help="TrainConfig.max_steps (default: its own)")
    parser.add_argument("--label", default="", help="a name for this run in the output")
    cache = Path(os.environ.get("KGREC_CACHE_DIR", "/tmp/kgrec-cache"))
    parser.add_argument("--cache-dir", type=Path, default=cache)
    parser.add_argument("--store", type=Path, help="default: CACHE_DIR/ttq-store")
    parser.add_argument("--json", type=Path, help="also append the runs here, one per line")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import torch

    store = args.store or args.cache_dir / "ttq-store"
    tensors = movielens_tensors(args.data, store, args.cache_dir)
    config = {} if args.max_steps is None else {"max_steps": args.max_steps}
    threads = torch.get_num_threads()
    print(
        f"{args.label or 'run'}: {tensors.num_interactions:,} interactions, {threads} threads, "
        f"plateau within {args.within:.0%} of the best"
    )
    print(
        f"{'seed':>4} {'best val R@20':>13} {'best ep':>7} {'plateau ep':>10} "
        f"{'train s':>8} {'wall s':>7} {'s/epoch':>7}"
    )
    keys = ("best_val", "best_epoch", "plateau_epoch", "train_s", "wall_s", "s_per_epoch")
    runs = []
    for seed in args.seeds:
        r = run_seed(tensors, seed, args.epochs, args.patience, args.within, **config)
        runs.append(r)
        print(_row(str(seed), r), flush=True)
        if args.json:
            with args.json.open("a") as fh:
                fh.write(json.dumps({"label": args.label, **config, **r}) + "\n")
    print(_row("med", {k: statistics.median(r[k] for r in runs) for k in keys}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
