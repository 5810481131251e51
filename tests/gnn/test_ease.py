"""EASE with a recency-weighted history: the closed form, its factorisation, the exact split
of a score over a user's interactions, and histories that change without a refit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec.core.errors import InvalidParameter
from kgrec.gnn.baselines import ALS
from kgrec.gnn.ease import EASE, binary_matrix, ease_weights
from kgrec.gnn.evaluate import evaluate
from kgrec.gnn.recency import positions_from_end, recency_weights
from kgrec.gnn.splits import temporal_split
from kgrec.gnn.train import fit, seed_everything


def test_ease_weights_solve_the_constrained_least_squares_problem():
    """B = argmin |X - XB|^2 + lam |B|^2 with diag(B) = 0, checked column by column with
    numpy's least squares on the columns other than j."""
    rng = np.random.default_rng(0)
    x = (rng.random((30, 8)) < 0.3).astype(np.float32)
    lam = 2.0
    b = ease_weights(binary_matrix(torch.from_numpy(np.argwhere(x).T.copy()), 30, 8), lam)
    for j in range(8):
        others = [c for c in range(8) if c != j]
        a = np.vstack([x[:, others], np.sqrt(lam) * np.eye(7)])
        y = np.concatenate([x[:, j], np.zeros(7)])
        want = np.linalg.lstsq(a, y, rcond=None)[0]
        np.testing.assert_allclose(b.numpy()[others, j], want, atol=1e-5)
        assert b[j, j] == 0


def test_an_ill_conditioned_gram_matrix_is_solved_in_float64():
    """Two identical item columns and a tiny lambda: float32 cannot invert the Gram matrix
    to the tolerance, so the weights come from float64 and match numpy's closed form."""
    from kgrec.gnn.ease import _checked_float32_inverse

    rng = np.random.default_rng(1)
    x = (rng.random((40, 6)) < 0.4).astype(np.float32)
    x[:, 5] = x[:, 4]
    lam = 1e-5
    matrix = binary_matrix(torch.from_numpy(np.argwhere(x).T.copy()), 40, 6)
    gram = torch.from_numpy(x.T @ x) + lam * torch.eye(6)
    assert _checked_float32_inverse(gram) is None
    p = np.linalg.inv(x.T.astype(np.float64) @ x + lam * np.eye(6))
    want = p / -np.diag(p)
    np.fill_diagonal(want, 0.0)
    np.testing.assert_allclose(ease_weights(matrix, lam).numpy(), want, rtol=1e-4, atol=1e-4)


def test_positions_count_the_later_interactions_of_the_same_user():
    users = np.array([0, 1, 0, 0, 1])
    ts = np.array([5, 1, 3, 5, 0])  # user 0: rows 2 (t=3), 0 and 3 (t=5, row order)
    assert positions_from_end(users, ts).tolist() == [1, 0, 2, 0, 1]
    edges = torch.from_numpy(np.stack([users, np.arange(5)]))
    w = recency_weights(edges, torch.tensor(ts), torch.tensor([0, 2, 3]), 0.5)
    assert w.tolist() == [0.5, 0.25, 1.0]
    with pytest.raises(InvalidParameter, match="decay"):
        recency_weights(edges, torch.tensor(ts), torch.arange(5), 0.0)


def test_a_score_splits_exactly_over_the_users_interactions(solved_ease):
    tensors, split, model = solved_ease
    scorer = model.path_scorer()
    for u, i in [(0, 3), (7, 50), (20, 199)]:
        v, c = scorer.first_hop_contributions(scorer.node("user", u), scorer.node("item", i))
        assert len(v) == int((tensors.edge_index[0, split.train] == u).sum())
        assert c.sum() == pytest.approx(model.score(u, i), rel=1e-5, abs=1e-7)


def test_the_user_vector_follows_a_changed_history_without_a_refit(solved_ease):
    tensors, split, model = solved_ease
    edges = tensors.edge_index[:, split.train]
    ts = tensors.ts[split.train]
    own = (edges[0] == 5).nonzero().flatten()
    items, times = edges[1, own].numpy(), ts[own].numpy()
    rates = tensors.rating[split.train][own].numpy()
    same, _ = model.history_vector(items, times, rates)
    np.testing.assert_allclose(same, model.final_embeddings()[0][5].numpy(), atol=1e-5)
    # one more interaction, the newest, unrated: its item's neighbours in B gain the most
    new_item = int(np.setdiff1d(np.arange(tensors.num_items), items)[0])
    grown, _ = model.history_vector(np.r_[items, new_item], np.r_[times, times.max() + 1],
                                    np.r_[rates, np.nan])  # fmt: skip
    item_vecs = model.final_embeddings()[1].numpy()
    gain = item_vecs @ (grown - same)
    factors = model.history_factors.numpy()
    np.testing.assert_allclose(gain, item_vecs @ (factors[new_item] + (0.8 - 1) * same),
                               rtol=1e-4, atol=1e-6)  # fmt: skip


def test_recency_beats_a_plain_history_when_tastes_drift():
    """Users who switch from one half of the catalogue to the other: the plain history
    still points at the old half, the recency-weighted one at the new."""
    import pandas as pd

    from kgrec.gnn.data import GraphTensors

    rng = np.random.default_rng(0)
    rows = []
    for u in range(60):
        old, new = (0, 40) if u % 2 else (40, 0)
        for t, lo in enumerate([old] * 12 + [new] * 6):
            rows.append((u, int(rng.integers(lo, lo + 40)), t))
    frame = pd.DataFrame(rows, columns=["u", "i", "t"]).drop_duplicates(["u", "i"])
    inter = pd.DataFrame({"user_id": frame.u.astype(str), "item_id": frame.i.astype(str),
                          "kind": "rating", "rating": np.nan, "weight": 1.0, "ts": frame.t,
                          "split": ""})  # fmt: skip
    users = pd.DataFrame({"id": [str(u) for u in range(60)]})
    items = pd.DataFrame({"id": [str(i) for i in range(80)], "title": "", "description": None})
    tensors = GraphTensors.from_frames(users, items, None, inter)
    split = temporal_split(tensors)
    recall = {}
    for decay in (1.0, 0.7):
        model = EASE.from_tensors(tensors, split.train, lam=10.0, decay=decay, rank=80)
        fit(model, tensors, split)
        recall[decay] = evaluate(model, tensors, split.train, split.test, split.val)["recall@20"]
    assert recall[0.7] > recall[1.0] + 0.05, recall


def test_als_beats_a_random_ranking(world):
    _, _, tensors = world
    split = temporal_split(tensors)
    als = ALS(tensors, split.train, factors=16, iterations=10)
    assert als.score_users(torch.tensor([0, 1])).shape == (2, tensors.num_items)
    got = evaluate(als, tensors, split.train, split.test, split.val)["recall@20"]
    assert got > 2 * 20 / tensors.num_items, got


def test_repr_names_items_rank_and_settings(solved_ease):
    assert repr(solved_ease[2]) == f"EASE({solved_ease[0].num_items}, 64, lam=50, decay=0.8)"


@pytest.fixture(scope="module")
def held_out_item(world):
    """EASE fitted without any interaction of one item: ``(tensors, model, item)``."""
    _, _, tensors = world
    split = temporal_split(tensors)
    counts = torch.bincount(tensors.edge_index[1, split.train], minlength=tensors.num_items)
    item = int(counts.argmax())  # the most chosen item: its factors say the most
    keep = split.train[tensors.edge_index[1, split.train] != item]
    seed_everything(0)
    model = EASE.from_tensors(tensors, keep, lam=50.0, rank=64)
    model.solve(tensors, keep)
    return tensors, model, item


def _tags_of(tensors, item: int) -> torch.Tensor:
    mask = tensors.item_tag_index[0] == item
    return torch.stack([torch.zeros(int(mask.sum()), dtype=torch.long),
                        tensors.item_tag_index[1, mask]])  # fmt: skip


def test_a_new_item_lands_near_its_text_neighbours(held_out_item):
    """The embedded item is closer (cosine, item factors) to the items whose text is most
    like its own than to those whose text is least like it."""
    tensors, model, item = held_out_item
    assert model.item_factors[item].abs().max() < 1e-6  # EASE alone cannot place it
    emb = model.embed_items(tensors.item_text[[item]], _tags_of(tensors, item))
    assert emb.shape == (1, model.rank)
    text = torch.nn.functional.normalize(tensors.item_text, dim=1)
    by_text = (text @ text[item]).argsort(descending=True)
    by_text = by_text[by_text != item]
    near, far = by_text[:10], by_text[-10:]
    cos = torch.nn.functional.cosine_similarity(emb, model.item_factors)
    assert cos[near].mean() > cos[far].mean() + 0.1, (cos[near].mean(), cos[far].mean())


def test_a_new_item_ranks_higher_for_the_users_who_chose_it(held_out_item):
    """Where the held-out item falls in each user's ranking of the trained items (the
    share of items it beats): higher for the users who chose it than for the others."""
    tensors, model, item = held_out_item
    emb = model.embed_items(tensors.item_text[[item]], _tags_of(tensors, item))[0]
    users, items = model.final_embeddings()
    beats = ((users @ emb)[:, None] > users @ items.T).float().mean(1)
    fan = torch.zeros(tensors.num_users, dtype=torch.bool)
    fan[tensors.edge_index[0, tensors.edge_index[1] == item]] = True
    assert beats[fan].mean() > beats[~fan].mean() + 0.05, (beats[fan].mean(), beats[~fan].mean())


def test_the_new_item_map_survives_a_save_and_an_older_state_gives_the_mean(held_out_item):
    tensors, model, item = held_out_item
    tags = _tags_of(tensors, item)
    want = model.embed_items(tensors.item_text[[item]], tags)
    clone = EASE.from_state(model.config(), model.state_dict())
    torch.testing.assert_close(clone.embed_items(tensors.item_text[[item]], tags), want)
    older = {k: v for k, v in model.state_dict().items() if not k.startswith("feature_")}
    old = EASE.from_state(model.config(), older)
    torch.testing.assert_close(old.embed_items(tensors.item_text[[item]], tags),
                               model.item_factors.mean(0, keepdim=True))  # fmt: skip
    with pytest.raises(InvalidParameter, match="dimensions"):
        model.embed_items(tensors.item_text[[item], :5], tags)


def test_ratings_scale_the_history_weights(solved_ease):
    """``linear``: a rating r of the data's top rating weighs r/top of an unrated or
    top-rated interaction; ``none`` ignores ratings."""
    tensors, _, model = solved_ease
    top = float(np.nanmax(tensors.rating.numpy()))
    assert model.rating_weight == "linear" and model.rating_scale == pytest.approx(top)
    w = model.history_weights(np.array([1, 2, 3]), np.array([top / 2, np.nan, top]))
    assert w == pytest.approx([0.8**2 * 0.5, 0.8, 1.0])
    plain = EASE(3, 4, rating_weight="none")
    assert plain.history_weights(np.array([1, 2]), np.array([1.0, 5.0])) == pytest.approx([0.8, 1])
    with pytest.raises(InvalidParameter, match="rating weight"):
        EASE(3, 4, rating_weight="squared")
