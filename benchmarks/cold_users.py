"""Users known by their first 1 to 5 interactions, on ml-latest-small: who ranks their next
items best? Recall@20 and NDCG@20 per n and overall, means over seeds.

    python benchmarks/cold_users.py                      # seeds 0 1 2
    python benchmarks/cold_users.py --seeds 0 --no-lightgcn

Per seed, the users are split at random: 20% are cold test users, 20% cold validation
users, the rest warm. The models see the warm users only, on the project's temporal split
(their training part; LightGCN picks its epoch on their validation part), with the jobs'
default settings. A cold user is then known by their first ``n`` interactions in time
order (``n`` = 1..5; ml-latest-small users have 20 or more, so every cold user takes part
at every ``n``); the rest of their interactions are to be found, ranking every item with
the known ones masked. Methods, on the same users:

- popularity: training counts of the warm users;
- text profile: the mean text vector of the user's items against every item's (cosine);
- LightGCN fold-in: the user folded in over their items as an unseen user
  (:mod:`kgrec.gnn.inductive.foldin`, ``user=None``);
- ease mean item vector: the mean item-side vector of the user's items (the serving
  fallback of a model with neither a fold-in nor a history vector);
- ease history: ``EASE.user_vector`` with the model's own recency weights;
- ease history, rating-weighted (served): ``EmbeddingModel.history_vector``, recency and
  rating weights, what serving gives a user without an aggregator;
- ease + aggregator: :class:`kgrec.gnn.inductive.aggregator.HistoryAggregator` over ease's factors,
  trained on the warm users' training histories cut into support / query tasks; its
  learning rate and epoch are chosen on the cold validation users (mean Recall@20 over n);
- job: ease refitted on every non-test user (their training and validation interactions,
  as ``kgrec train`` refits), with its served history vector and what the job's own
  aggregator step (:func:`kgrec.gnn.inductive.aggregator_fit.fit_aggregator`, which holds its own
  validation users out of a second fit) decides to serve: the aggregator or that history vector.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_models import DEFAULT_DATA, movielens_tensors  # noqa: E402

MAX_N = 5
LRS = (0.003, 0.01)


def run(tensors, seed: int, args: argparse.Namespace) -> list[dict]:
    """One seed: rows ``{method, n, recall@20, ndcg@20, users}`` on the test users."""
    import torch

    from kgrec.gnn.inductive.aggregator import HistoryAggregator
    from kgrec.gnn.inductive.aggregator_fit import fit_aggregator
    from kgrec.gnn.inductive.foldin import FoldIn
    from kgrec.gnn.inductive.tasks import (
        first_items,
        ranking_metrics,
        ranking_of_scores,
        user_sequences,
    )
    from kgrec.gnn.models.ease import EASE
    from kgrec.gnn.models.lightgcn import LightGCN
    from kgrec.gnn.training.config import TrainConfig
    from kgrec.gnn.training.splits import Split, temporal_split
    from kgrec.gnn.training.train import fit, seed_everything

    split = temporal_split(tensors)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(tensors.num_users)
    n_test = n_val = int(0.2 * len(perm))
    test_users, val_users = perm[:n_test], perm[n_test : n_test + n_val]
    warm = np.ones(tensors.num_users, dtype=bool)
    warm[perm[: n_test + n_val]] = False
    edge_users = tensors.edge_index[0].numpy()
    train_w = split.train[torch.from_numpy(warm[edge_users[split.train.numpy()]])]
    val_w = split.val[torch.from_numpy(warm[edge_users[split.val.numpy()]])]
    warm_split = Split("temporal", train_w, val_w, split.test[:0])
    sequences = user_sequences(tensors.edge_index, tensors.ts)
    # the same sequences as interaction indices: the supports' times and ratings
    every = torch.arange(tensors.num_interactions)
    edge_sequences = user_sequences(torch.stack([tensors.edge_index[0], every]), tensors.ts)
    ts_all, rating_all = tensors.ts.numpy(), tensors.rating.numpy()
    train_edges = tensors.edge_index[:, train_w]
    popularity = torch.bincount(train_edges[1], minlength=tensors.num_items)
    text = torch.nn.functional.normalize(tensors.item_text.float(), dim=1)

    def served_history(model):
        """Scores of the history vector serving gives (recency and rating weights) for
        supports ``s`` whose interactions are ``e``."""

        def score(s, e):
            vectors = [
                model.history_vector(x, ts_all[ex], rating_all[ex])[0]
                for x, ex in zip(s, e, strict=True)
            ]
            return torch.from_numpy(np.stack(vectors)).float() @ model.item_factors.T

        return score

    t0 = time.perf_counter()
    seed_everything(seed)
    ease = EASE.from_tensors(tensors, train_w)
    fit(ease, tensors, warm_split, device="cpu")
    history, items_e = ease.history_factors, ease.item_factors
    log.info("seed %d: ease fitted in %.1f s", seed, time.perf_counter() - t0)

    methods = {
        "popularity": lambda s, e: popularity.double().expand(len(s), -1),
        "text profile": lambda s, e: (
            torch.stack([text[torch.as_tensor(x)].mean(0) for x in s]) @ text.T
        ),
        "ease mean item vector": lambda s, e: (
            torch.stack([items_e[torch.as_tensor(x)].mean(0) for x in s]) @ items_e.T
        ),
        "ease history": lambda s, e: (
            torch.from_numpy(
                np.stack([ease.user_vector(x, ease.history_weights(np.arange(len(x)))) for x in s])
            ).float()
            @ items_e.T
        ),
        # what serving computes: recency and rating weights (EmbeddingModel.history_vector)
        "ease history, rating-weighted (served)": served_history(ease),
    }
    if not args.no_lightgcn:
        t0 = time.perf_counter()
        seed_everything(seed)
        lgcn = LightGCN.from_tensors(tensors, train_w)
        config = TrainConfig.for_model("lightgcn", seed=seed, epochs=args.epochs, device="cpu")
        fit(lgcn, tensors, warm_split, config)
        fold = FoldIn.from_lightgcn(lgcn)
        items_l = lgcn.final_embeddings()[1].double()
        log.info("seed %d: lightgcn trained in %.1f s", seed, time.perf_counter() - t0)
        methods["LightGCN fold-in"] = lambda s, e: (
            torch.from_numpy(
                np.stack([fold.fold([fold.node("item", j) for j in x]).vector for x in s])
            )
            @ items_l.T
        )

    tasks = {n: first_items(sequences, test_users, n) for n in range(1, MAX_N + 1)}
    edge_tasks = {n: first_items(edge_sequences, test_users, n)[0] for n in tasks}  # aligned
    val_tasks = {n: first_items(sequences, val_users, n) for n in range(1, MAX_N + 1)}
    warm_sequences = user_sequences(train_edges, tensors.ts[train_w])

    def validate(model: HistoryAggregator) -> float:
        return float(
            np.mean(
                [
                    ranking_metrics(model.user_vectors(s), items_e, s, q)["recall@20"].mean()
                    for s, q in val_tasks.values()
                ]
            )
        )

    t0 = time.perf_counter()
    tried = []
    for lr in LRS:
        torch.manual_seed(seed)
        agg = HistoryAggregator(history, items_e, popularity, MAX_N, decay=ease.decay)
        trace = agg.fit(warm_sequences, epochs=args.agg_epochs, lr=lr, seed=seed, validate=validate)
        tried.append((max(trace), lr, int(np.argmax(trace)), agg))  # trace[0]: the start
    val_best, lr, epoch, agg = max(tried, key=lambda t: t[0])
    log.info(
        "seed %d: aggregator lr=%g epoch %d (val Recall@20 %.4f of %s) in %.1f s",
        seed,
        lr,
        epoch,
        val_best,
        [round(t[0], 4) for t in tried],
        time.perf_counter() - t0,
    )
    methods["ease + aggregator"] = lambda s, e: agg.user_vectors(s) @ items_e.T

    # what `kgrec train` ships: ease refitted on every non-test user's training and
    # validation interactions, and the job's own aggregator step (inductive/aggregator_fit.py)
    # deciding
    t0 = time.perf_counter()
    not_test = np.ones(tensors.num_users, dtype=bool)
    not_test[test_users] = False
    job_idx = torch.cat([split.train, split.val])
    job_idx = job_idx[torch.from_numpy(not_test[edge_users[job_idx.numpy()]])]
    seed_everything(seed)
    job_ease = EASE.from_tensors(tensors, job_idx)
    fit(job_ease, tensors, Split("temporal", job_idx, job_idx[:0], job_idx[:0]), device="cpu")
    job = fit_aggregator(job_ease, tensors, job_idx, seed=seed, epochs=args.agg_epochs)
    log.info("seed %d: the job's step: %s (%.1f s)", seed, job.reason, time.perf_counter() - t0)
    job_items = job_ease.item_factors
    job_history = served_history(job_ease)
    methods["job: ease history, rating-weighted"] = job_history
    methods["job: what `kgrec train` serves"] = (
        job_history
        if job.aggregator is None
        else lambda s, e: job.aggregator.user_vectors(s) @ job_items.T
    )

    rows = []
    for name, score in methods.items():
        for n, (support, query) in tasks.items():
            with torch.no_grad():
                got = ranking_of_scores(score(support, edge_tasks[n]), support, query)
            rows.append(
                {
                    "method": name,
                    "n": n,
                    "seed": seed,
                    "users": len(support),
                    "recall@20": got["recall@20"].mean(),
                    "ndcg@20": got["ndcg@20"].mean(),
                }
            )
    rows.append(
        {
            "method": "ease + aggregator",
            "n": 0,
            "seed": seed,
            "users": 0,
            "recall@20": np.nan,
            "ndcg@20": np.nan,
            "lr": lr,
            "epoch": epoch,
            "job_served": job.report["aggregator/served"],
            "job_val": job.report.get("aggregator/val_recall@20_best", np.nan),
            "job_val_history": job.report.get("aggregator/val_recall@20_history", np.nan),
        }
    )
    return rows


log = logging.getLogger("cold_users")


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MovieLens folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=200, help="LightGCN's maximum epochs")
    parser.add_argument("--agg-epochs", type=int, default=30, help="the aggregator's epochs")
    parser.add_argument("--no-lightgcn", action="store_true", help="skip LightGCN (slow)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("KGREC_CACHE_DIR", "/tmp/kgrec-cache")),
    )
    parser.add_argument(
        "--store",
        type=Path,
        default=Path(os.environ.get("KGREC_CACHE_DIR", "/tmp/kgrec-cache")) / "bench-store",
        help="the embedded store the MovieLens data is ingested into",
    )
    parser.add_argument("--csv", type=Path, help="also write every row here (after each seed)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    tensors = movielens_tensors(args.data, args.store, args.cache_dir)
    rows = []
    for seed in args.seeds:
        rows += run(tensors, seed, args)
        if args.csv:  # each seed as soon as it is done
            pd.DataFrame(rows).to_csv(args.csv, index=False)
    frame = pd.DataFrame(rows)
    chosen = frame[frame["n"] == 0]
    frame = frame[frame["n"] > 0]
    per_n = frame.groupby(["method", "n"], sort=False)[["recall@20", "ndcg@20"]].mean()
    overall = frame.groupby(["method", "seed"], sort=False)[["recall@20", "ndcg@20"]].mean()
    overall = overall.groupby("method", sort=False).agg(["mean", "std"])
    users = int(frame["users"].iloc[0])
    print(f"{users} cold test users per seed, seeds {args.seeds}; means over seeds")
    print(
        "| method | "
        + " | ".join(f"n={n}" for n in range(1, MAX_N + 1))
        + " | all n: Recall@20 | all n: NDCG@20 |"
    )
    print("| --- " * (MAX_N + 3) + "|")
    for method in per_n.index.get_level_values(0).unique():
        cells = [
            f"{per_n.loc[(method, n), 'recall@20']:.4f} / {per_n.loc[(method, n), 'ndcg@20']:.4f}"
            for n in range(1, MAX_N + 1)
        ]
        o = overall.loc[method]
        sd = lambda v: "" if np.isnan(v) else f" ± {v:.4f}"  # noqa: E731
        cells.append(f"{o[('recall@20', 'mean')]:.4f}{sd(o[('recall@20', 'std')])}")
        cells.append(f"{o[('ndcg@20', 'mean')]:.4f}{sd(o[('ndcg@20', 'std')])}")
        print(f"| {method} | " + " | ".join(cells) + " |")
    print("(cells per n: Recall@20 / NDCG@20)")
    for r in chosen.itertuples():
        print(
            f"  seed {r.seed}: aggregator lr={r.lr:g}, epoch {r.epoch:.0f} (on validation users); "
            f"the job's step: {'served' if r.job_served else 'not served'} (its validation "
            f"{r.job_val:.4f} vs history vector {r.job_val_history:.4f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
