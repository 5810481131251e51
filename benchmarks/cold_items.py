"""Items no model saw: cold-item Recall@20 of ease, GraphSAGE and LightGCN from text and tags.

    python benchmarks/cold_items.py                          # 1,000 users, 2,000 items
    python benchmarks/cold_items.py --repeats 3 --holdout 0.1

A synthetic world (users with latent favourite tags, item texts built from their tags) is
embedded with all-MiniLM-L6-v2. Two disjoint shares of the items (``--holdout`` each: the
validation and the test items) are removed from training entirely (their interactions and
their tag edges); the models are fitted on the rest with the jobs' default settings, then
place the held-out items from text and tags alone, without retraining:

- ease: the ridge map from text and tags to its item factors (:meth:`EASE.embed_items`);
- GraphSAGE: its inductive embedding (:meth:`GraphSAGE.embed_items`);
- LightGCN: the text projection of the item's text, folded in over its tags
  (:mod:`kgrec.gnn.inductive.foldin`; what serving does with an added item).

Every user who chose a held-out item ranks all held-out items of that set; Recall@20 is
the share of the user's held-out items in the top 20. The settings of the new-item routes
(GraphSAGE's ``cold_dropout``, ease's ridge ``item_alpha``) are chosen on the validation
items, and the test items are scored with the chosen one. Printed beside them: a random
ranking (mean of 100 permutations) and text similarity to the user's training items.
"matched" restricts to users whose held-out items carry one of their favourite tags.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

DROPOUTS = (0.0, 0.2, 0.5, 0.8)
ALPHAS = (1.0, 10.0, 100.0)


def recall_at(scores: np.ndarray, truth: list[np.ndarray], k: int) -> float:
    """Mean over users of |top-k ∩ truth| / |truth|; ``scores`` is [users, cold items]."""
    from kgrec.core.ranking import top_k

    top, _ = top_k(scores, k)
    return float(np.mean([np.isin(t, row).mean() for row, t in zip(top, truth, strict=True)]))


class HeldOut:
    """One set of held-out items: their text, tag edges and the users who chose them."""

    def __init__(self, ds, prefs, ids, item_vec, id_pos, tag_pos, user_pos) -> None:
        self.ids = ids
        pos = {item: k for k, item in enumerate(ids)}
        links = ds.item_tags[ds.item_tags["item_id"].isin(pos)]
        self.text = torch.from_numpy(item_vec[[id_pos[i] for i in ids]])
        self.edges = torch.from_numpy(
            np.stack([links["item_id"].map(pos).to_numpy(), links["tag"].map(tag_pos).to_numpy()])
        )
        tags_of = links.groupby("item_id")["tag"].agg(set).to_dict()
        rows, sets, matched = [], [], []
        chosen = ds.interactions[ds.interactions["item_id"].isin(pos)]
        for user, group in chosen.groupby("user_id"):
            rows.append(user_pos[user])
            sets.append(group["item_id"].map(pos).to_numpy())
            favourite = set(prefs.get(user, [])[:2])
            matched.append(any(tags_of.get(i, set()) & favourite for i in group["item_id"]))
        self.rows, self.sets, self.matched = torch.tensor(rows), sets, np.array(matched)

    def recall(self, users: torch.Tensor, items: torch.Tensor, k: int) -> tuple[float, float]:
        """(all users, matched users) Recall@k of user vectors ``[U, d]`` against the
        held-out items' vectors ``[n, d]``."""
        scores = (users[self.rows].double() @ items.double().T).numpy()
        sub = [s for s, m in zip(self.sets, self.matched, strict=True) if m]
        return recall_at(scores, self.sets, k), recall_at(scores[self.matched], sub, k)


def run(args: argparse.Namespace, seed: int) -> dict[str, float]:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.inductive.foldin import FoldIn
    from kgrec.gnn.models.ease import EASE
    from kgrec.gnn.models.graphsage import GraphSAGE
    from kgrec.gnn.models.lightgcn import LightGCN
    from kgrec.gnn.training.config import TrainConfig
    from kgrec.gnn.training.splits import temporal_split
    from kgrec.gnn.training.train import fit, seed_everything
    from kgrec.loaders.embeddings import TextEmbedder
    from kgrec.loaders.synthetic import generate_synthetic_world
    from kgrec.loaders.text import item_texts, tag_texts

    ds, prefs = generate_synthetic_world(args.users, args.items, args.tags, args.interactions, seed)
    embedder = TextEmbedder(cache_dir=args.cache_dir)
    try:
        item_vec = embedder.embed(list(item_texts(ds.items, ds.item_tags)))
        tag_vec = embedder.embed(list(tag_texts(ds.tags)))
    finally:
        embedder.close()
    rng = np.random.default_rng(seed)
    ids = ds.items["id"].to_numpy()
    size = int(args.holdout * len(ids))
    picked = rng.choice(ids, size=2 * size, replace=False)
    val_ids, test_ids = picked[:size], picked[size:]
    cold = set(picked)
    keep = ~ds.items["id"].isin(cold).to_numpy()
    inter, links = ds.interactions, ds.item_tags
    warm = GraphTensors.from_frames(
        ds.users,
        ds.items[keep],
        ds.tags,
        inter[~inter["item_id"].isin(cold)],
        links[~links["item_id"].isin(cold)],
        item_embeddings=item_vec[keep],
        tag_embeddings=tag_vec,
    )
    split = temporal_split(warm)
    id_pos = {item: k for k, item in enumerate(ids)}
    tag_pos = {t: k for k, t in enumerate(warm.tag_names)}
    user_pos = {u: k for k, u in enumerate(warm.user_ids)}
    val, test = (
        HeldOut(ds, prefs, s, item_vec, id_pos, tag_pos, user_pos) for s in (val_ids, test_ids)
    )
    out: dict[str, float] = {
        "cold_items": len(test_ids),
        "users": len(test.rows),
        "matched_users": int(test.matched.sum()),
    }

    def trained(name: str, model):
        config = TrainConfig.for_model(
            name, epochs=args.epochs, seed=seed, device="cpu", patience=args.patience
        )
        t0 = time.perf_counter()
        fit(model, warm, split, config)
        out[f"{name}_seconds"] = time.perf_counter() - t0
        return model.eval()

    # GraphSAGE: cold_dropout chosen on the validation items
    tried = []
    for dropout in DROPOUTS:
        seed_everything(seed)
        model = trained(
            "graphsage", GraphSAGE.from_tensors(warm, split.train, cold_dropout=dropout)
        )
        users, _ = model.final_embeddings()
        tried.append(
            (
                val.recall(users, model.embed_items(val.text, val.edges), args.k)[0],
                dropout,
                test.recall(users, model.embed_items(test.text, test.edges), args.k),
            )
        )
        out[f"graphsage_val@{dropout:g}"] = tried[-1][0]
        out[f"graphsage@{dropout:g}"] = tried[-1][2][0]
    best = max(tried, key=lambda t: t[0])
    out["graphsage_dropout"] = best[1]
    out["graphsage"], out["graphsage_matched"] = best[2]

    # ease: the ridge weight of its new-item map chosen on the validation items
    seed_everything(seed)
    ease = trained("ease", EASE.from_tensors(warm, split.train))
    users, _ = ease.final_embeddings()
    tried = []
    for alpha in ALPHAS:
        ease.item_alpha = alpha
        ease.fit_item_map(warm, warm.edge_index[:, split.train])
        tried.append(
            (
                val.recall(users, ease.embed_items(val.text, val.edges), args.k)[0],
                alpha,
                test.recall(users, ease.embed_items(test.text, test.edges), args.k),
            )
        )
        out[f"ease_val@{alpha:g}"] = tried[-1][0]
    best = max(tried, key=lambda t: t[0])
    out["ease_alpha"] = best[1]
    out["ease"], out["ease_matched"] = best[2]

    # LightGCN: the text projection folded in over the item's tags
    seed_everything(seed)
    lgcn = trained("lightgcn", LightGCN.from_tensors(warm, split.train))
    fold = FoldIn.from_lightgcn(lgcn)
    users, _ = lgcn.final_embeddings()
    tags_of = [test.edges[1, test.edges[0] == j].tolist() for j in range(len(test_ids))]
    folded = torch.from_numpy(
        np.stack(
            [
                fold.fold(
                    [fold.node("tag", t) for t in tags_of[j]] if fold.tag_edges else [],
                    initial=fold.text_state(test.text[j].numpy()),
                ).vector
                for j in range(len(test_ids))
            ]
        )
    )
    out["lightgcn"], out["lightgcn_matched"] = test.recall(users, folded, args.k)

    # text similarity: the mean text vector of the user's training items vs the cold texts
    hist = torch.zeros(len(warm.user_ids), item_vec.shape[1])
    train_edges = warm.edge_index[:, split.train]
    hist.index_add_(0, train_edges[0], warm.item_text[train_edges[1]])
    out["text"], _ = test.recall(hist, test.text, args.k)
    shape = (len(test.rows), len(test_ids))
    out["random"] = float(
        np.mean([recall_at(rng.random(shape), test.sets, args.k) for _ in range(100)])
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--tags", type=int, default=40)
    parser.add_argument("--interactions", type=int, default=40000)
    parser.add_argument(
        "--holdout",
        type=float,
        default=0.1,
        help="share of items held out, for validation and again for test",
    )
    parser.add_argument("--epochs", type=int, default=60, help="maximum epochs (trained models)")
    parser.add_argument("--patience", type=int, default=10, help="early-stopping patience")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="seeds; medians are printed")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("KGREC_CACHE_DIR", "/tmp/kgrec-cache")),
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = []
    for seed in range(args.repeats):
        results.append(run(args, seed))
        print(
            f"seed {seed}: "
            + ", ".join(
                f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in results[-1].items()
            )
        )
    med = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(
        f"\nmedian of {args.repeats} seeds, {args.users} users, {args.items} items, "
        f"{args.interactions} interactions, {med['cold_items']:.0f} test items held out "
        f"(and as many validation items):"
    )
    print(
        f"  cold-item Recall@{args.k}  ease {med['ease']:.4f}  GraphSAGE "
        f"{med['graphsage']:.4f}  LightGCN text projection {med['lightgcn']:.4f}  "
        f"text similarity {med['text']:.4f}  random {med['random']:.4f}"
    )
    print(
        f"  users whose favourite tags are on their held-out items "
        f"({med['matched_users']:.0f}): ease {med['ease_matched']:.4f}  GraphSAGE "
        f"{med['graphsage_matched']:.4f}  LightGCN {med['lightgcn_matched']:.4f}"
    )
    chosen = [r["graphsage_dropout"] for r in results]
    print(
        "  GraphSAGE cold_dropout on validation items (median val / test Recall): "
        + ", ".join(
            f"{d:g}: {med[f'graphsage_val@{d:g}']:.4f} / {med[f'graphsage@{d:g}']:.4f}"
            for d in DROPOUTS
        )
        + f"; chosen per seed: {chosen}"
    )
    print(
        "  ease item_alpha on validation items (median val Recall): "
        + ", ".join(f"{a:g}: {med[f'ease_val@{a:g}']:.4f}" for a in ALPHAS)
        + f"; chosen per seed: {[r['ease_alpha'] for r in results]}"
    )
    print(
        "  training s: "
        + ", ".join(f"{m} {med[f'{m}_seconds']:.1f}" for m in ("graphsage", "ease", "lightgcn"))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
