"""Freshness: latency from ``record_interaction`` to the changed ``recommend()``, and the
accuracy of the fold-in on a replayed stream (ml-latest-small).

Latency: for ``--users`` users, record one unseen item and time ``record_interaction`` plus
the next ``recommend(k=10, explain=False)`` (which already reflects it); p50 / p99 over the
users, medians over ``--repeats``.

Accuracy: the store holds the interactions up to the ``--cut`` quantile of time, a model is
trained on them; the rest is replayed in time order through ``record_interactions``. The
first half of the stream is recorded before evaluation starts; each event of the second half
(``--events`` of them, evenly spaced) is predicted before it is recorded: Recall@20 (a hit)
and NDCG@20 of the next item for the fold-in, for no update (the trained user vector, or
popularity for users the model never saw) and for a full retrain on the data up to the
second half. Seen items are excluded in all three.

    .venv/bin/python benchmarks/freshness.py                       # embedded, the default model
    .venv/bin/python benchmarks/freshness.py --model lightgcn      # LightGCN's fold-in
    .venv/bin/python benchmarks/freshness.py --store bolt://127.0.0.1:7687 --epochs 200
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kgrec import Recommender
from kgrec.app.ingest import ingest, read_movielens
from kgrec.app.training import train
from kgrec.core.settings import DEFAULT_MODEL
from kgrec.kg import open_store
from kgrec.loaders.embeddings import TextEmbedder

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "ml-latest-small"


def _graph(store_uri, name):
    """The graph name for an embedded store; Neo4j serves its one default database."""
    return None if "://" in store_uri else name


def _load(store_uri, dataset, cut_ts, models, epochs, embedder, graph, model):
    store = open_store(store_uri, graph=_graph(store_uri, graph), create=True)
    if "://" in store_uri:
        store.drop()
    inter = dataset.interactions
    ingest(
        type(dataset)(
            dataset.name,
            dataset.users,
            dataset.items,
            dataset.tags,
            inter[inter["ts"] <= cut_ts],
            dataset.item_tags,
            dataset.user_tags,
            dataset.entities,
            dataset.triples,
        ),
        store,
        embedder,
    )
    train(store, models, model, epochs=epochs, seed=0, recommendations_k=0)
    return store


def _latency(rec, users, rng):
    out = []
    for user in users:
        recs = rec.recommend(user, k=10, explain=False)
        item = recs[int(rng.integers(len(recs)))].item_id
        t0 = time.perf_counter()
        rec.record_interaction(user, item, rating=5.0)
        after = rec.recommend(user, k=10, explain=False)
        out.append(1e3 * (time.perf_counter() - t0))
        assert item not in {r.item_id for r in after}
    return np.percentile(out, 50), np.percentile(out, 99)


def _rank_of(scores, target, banned):
    scores = scores.astype(np.float64).copy()
    scores[banned] = -np.inf
    # ties rank ahead of the target: an item a model cannot score (exactly 0 for ease when
    # nobody chose it in training) must not win over every item scored below 0
    return int((scores >= scores[target]).sum()) - 1


def _metrics(ranks):
    ranks = np.asarray(ranks)
    hit = ranks < 20
    ndcg = np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(hit.mean()), float(ndcg.mean())


def _replay(rec, retrained, stream, events):
    first, second = stream.iloc[: len(stream) // 2], stream.iloc[len(stream) // 2 :]
    rec.record_interactions(first[["user_id", "item_id", "rating", "ts"]])
    picks = set(np.linspace(0, len(second) - 1, min(events, len(second))).astype(int).tolist())
    ranks = {"fold-in": [], "no update": [], "retrain": []}
    for n, row in enumerate(second.itertuples(index=False)):
        if n in picks and row.item_id in rec._cat.index:
            history = rec._user_history(row.user_id) if _exists(rec, row.user_id) else []
            cat = rec._current()
            seen = [cat.index[h["item_id"]] for h in history if h["item_id"] in cat.index]
            target = cat.index[row.item_id]
            vector, _, _ = rec._user_vector(row.user_id, history, cat) if history else (None, 0, 0)
            fold = cat.emb @ vector if vector is not None else cat.popularity.astype(float)
            ranks["fold-in"].append(_rank_of(fold, target, seen))
            j = rec._users.get(row.user_id)
            base = cat.emb @ rec.user_emb[j] if j is not None else cat.popularity.astype(float)
            ranks["no update"].append(_rank_of(base, target, seen))
            rj, ri = retrained._users.get(row.user_id), retrained._cat.index.get(row.item_id)
            rseen = [
                retrained._cat.index[h["item_id"]]
                for h in history
                if h["item_id"] in retrained._cat.index
            ]
            if rj is not None and ri is not None:
                scores = retrained._cat.emb @ retrained.user_emb[rj]
            else:
                scores = retrained._cat.popularity.astype(float)
            ranks["retrain"].append(_rank_of(scores, ri, rseen) if ri is not None else 10**6)
        frame = pd.DataFrame(
            [{"user_id": row.user_id, "item_id": row.item_id, "rating": row.rating, "ts": row.ts}]
        )
        rec.record_interactions(frame)
    return {k: _metrics(v) for k, v in ranks.items()}, len(ranks["fold-in"])


def _exists(rec, user):
    from kgrec.queries.runner import run_query

    return bool(run_query(rec.store, "user_exists", {"id": str(user)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--store", default=None, help="bolt://... (default: embedded in --workdir)")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--cut", type=float, default=0.95, help="time quantile of the training data")
    ap.add_argument("--epochs", type=int, default=20, help="most epochs (trained models)")
    ap.add_argument("--model", default=DEFAULT_MODEL, help=f"the model [{DEFAULT_MODEL}]")
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--events", type=int, default=300)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="kgrec-fresh-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    dataset = read_movielens(args.data)
    inter = dataset.interactions.sort_values(["ts", "user_id", "item_id"], kind="stable")
    cut_ts = int(inter["ts"].quantile(args.cut))
    stream = inter[inter["ts"] > cut_ts]
    half_ts = int(stream["ts"].iloc[len(stream) // 2 - 1])
    embedder = TextEmbedder()
    uri = args.store or str(work / "store")
    store = _load(uri, dataset, cut_ts, work / "models", args.epochs, embedder, "fresh", args.model)
    store.close()
    rec = Recommender.open(uri, work / "models", graph=_graph(uri, "fresh"))
    rng = np.random.default_rng(0)
    users = [u for u in rec.user_ids[: args.users]]
    runs = [_latency(rec, users, rng) for _ in range(args.repeats)]
    p50, p99 = (float(np.median([r[k] for r in runs])) for k in (0, 1))
    # the full retrain sees the data up to the second half of the stream
    retrain_uri = args.store or str(work / "store-retrain")
    rstore = _load(
        retrain_uri,
        dataset,
        half_ts,
        work / "models-retrain",
        args.epochs,
        embedder,
        "retrain",
        args.model,
    )
    rstore.close()
    retrained = Recommender.open(
        retrain_uri, work / "models-retrain", graph=_graph(retrain_uri, "retrain")
    )
    if args.store:  # one Neo4j database: reload the cut data for the fold-in replay
        rec.close()
        _load(
            uri, dataset, cut_ts, work / "models", args.epochs, embedder, "fresh", args.model
        ).close()
        rec = Recommender.open(uri, work / "models", graph=_graph(uri, "fresh"))
    accuracy, evaluated = _replay(rec, retrained, stream, args.events)
    report = {
        "store": "neo4j" if args.store else "embedded",
        "latency_ms": {
            "p50": round(p50, 2),
            "p99": round(p99, 2),
            "users": len(users),
            "repeats": args.repeats,
        },
        "stream": {"train_until_ts": cut_ts, "replayed": len(stream), "evaluated": evaluated},
        "next_item@20": {
            k: {"recall": round(r, 4), "ndcg": round(n, 4)} for k, (r, n) in accuracy.items()
        },
    }
    print(json.dumps(report, indent=2))
    rec.close()
    retrained.close()
    embedder.close()
    if not math.isnan(p50) and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
