"""EASE with a recency-weighted history: the closed form, its factorisation, the exact split
of a score over a user's interactions, and histories that change without a refit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec.core.errors import InvalidParameter
from kgrec.gnn.models.baselines import ALS
from kgrec.gnn.models.ease import EASE, binary_matrix, ease_weights
from kgrec.gnn.models.recency import positions_from_end, recency_weights
from kgrec.gnn.training.evaluate import evaluate
from kgrec.gnn.training.splits import temporal_split
from kgrec.gnn.training.train import fit, seed_everything


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
    from kgrec.gnn.models.ease import _checked_float32_inverse

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
    grown, _ = model.history_vector(
        np.r_[items, new_item], np.r_[times, times.max() + 1], np.r_[rates, np.nan]
    )
    item_vecs = model.final_embeddings()[1].numpy()
    gain = item_vecs @ (grown - same)
    factors = model.history_factors.numpy()
    np.testing.assert_allclose(
        gain, item_vecs @ (factors[new_item] + (0.8 - 1) * same), rtol=1e-4, atol=1e-6
    )


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
    inter = pd.DataFrame(
        {
            "user_id": frame.u.astype(str),
            "item_id": frame.i.astype(str),
            "kind": "rating",
            "rating": np.nan,
            "weight": 1.0,
            "ts": frame.t,
            "split": "",
        }
    )
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
    return torch.stack(
        [torch.zeros(int(mask.sum()), dtype=torch.long), tensors.item_tag_index[1, mask]]
    )


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
    torch.testing.assert_close(
        old.embed_items(tensors.item_text[[item]], tags), model.item_factors.mean(0, keepdim=True)
    )
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


# forms and ranks ----------------------------------------------------------------------------
def _fitted(tensors, split, **options) -> EASE:
    seed_everything(0)
    model = EASE.from_tensors(tensors, split.train, lam=50.0, **options)
    model.solve(tensors, split.train, split.val)
    return model


def _unseen_scores(model: EASE, tensors, split) -> torch.Tensor:
    """Every user's scores with their own training items set to 0 (EASE's diagonal)."""
    scores = model.score_users(torch.arange(tensors.num_users)).clone()
    edges = tensors.edge_index[:, split.train]
    scores[edges[0], edges[1]] = 0.0
    return scores


def test_the_lowrank_form_at_full_rank_is_ease_on_every_unseen_item(world):
    """All eigenpairs of X^T X: V S V^T diag(d) equals EASE's B off the diagonal."""
    _, _, tensors = world
    split = temporal_split(tensors)
    dense = _fitted(tensors, split, form="dense", rank=tensors.num_items)
    low = _fitted(tensors, split, form="lowrank", rank=tensors.num_items)
    assert dense.identity_items and not low.identity_items
    want = _unseen_scores(dense, tensors, split)
    torch.testing.assert_close(
        _unseen_scores(low, tensors, split), want, rtol=2e-3, atol=2e-3 * float(want.abs().max())
    )


def test_the_lowrank_form_ranks_like_the_dense_form_at_a_high_rank(world):
    """Rank 128 of 200 items: both forms' validation Recall@20 within 0.02 of full-rank
    EASE, and their top-20 lists mostly the same."""
    _, _, tensors = world
    split = temporal_split(tensors)
    full = _fitted(tensors, split, form="dense", rank=tensors.num_items)
    recall = {}
    tops = {}
    for form in ("dense", "lowrank"):
        model = _fitted(tensors, split, form=form, rank=128)
        assert (model.form, model.rank, model.dim) == (form, 128, 128)
        recall[form] = evaluate(model, tensors, split.train, split.val)["recall@20"]
        tops[form] = _unseen_scores(model, tensors, split).topk(20).indices
    base = evaluate(full, tensors, split.train, split.val)["recall@20"]
    assert abs(recall["dense"] - base) < 0.02 and abs(recall["lowrank"] - base) < 0.02, (
        recall,
        base,
    )
    pairs = zip(tops["dense"].numpy(), tops["lowrank"].numpy(), strict=True)
    overlap = np.mean([len(np.intersect1d(a, b)) / 20 for a, b in pairs])
    assert overlap > 0.8, overlap


def cluster_world(
    num_clusters: int, num_items: int = 256, num_users: int = 400, per_user: int = 14, seed: int = 0
):
    """Users who each choose among one cluster's items only: ``num_clusters`` blocks, so
    a rank below ``num_clusters`` cannot tell some clusters apart."""
    import pandas as pd

    from kgrec.gnn.data import GraphTensors

    rng = np.random.default_rng(seed)
    size = num_items // num_clusters
    rows = []
    for u in range(num_users):
        first = int(rng.integers(num_clusters)) * size
        for t, i in enumerate(first + rng.choice(size, min(per_user, size), replace=False)):
            rows.append((u, int(i), t))
    frame = pd.DataFrame(rows, columns=["u", "i", "t"])
    inter = pd.DataFrame(
        {
            "user_id": frame.u.astype(str),
            "item_id": frame.i.astype(str),
            "kind": "rating",
            "rating": np.nan,
            "weight": 1.0,
            "ts": frame.t,
            "split": "",
        }
    )
    users = pd.DataFrame({"id": [str(u) for u in range(num_users)]})
    items = pd.DataFrame(
        {"id": [str(i) for i in range(num_items)], "title": "", "description": None}
    )
    return GraphTensors.from_frames(users, items, None, inter)


@pytest.mark.parametrize("form", ["dense", "lowrank"])
def test_the_rank_chosen_on_validation_is_as_large_as_the_data_needs(form):
    """16 clusters: rank 4 mixes them (a quarter of the users get another cluster's items),
    so validation picks 16 or more; the choice is the best prefix of one fit."""
    tensors = cluster_world(16)
    split = temporal_split(tensors)
    seed_everything(0)
    model = EASE.from_tensors(
        tensors, split.train, lam=10.0, decay=1.0, form=form, ranks=(4, 16, 64)
    )
    fit(model, tensors, split)
    assert set(model.validation) == {4, 16, 64}
    assert model.validation[model.rank] == max(model.validation.values())
    assert model.dim == model.rank and model.config()["rank"] == model.rank
    assert model.rank >= 16 and model.validation[4] < model.validation[model.rank] - 0.3, (
        model.validation
    )
    got = evaluate(model, tensors, split.train, split.val)["recall@20"]
    assert got == pytest.approx(model.validation[model.rank], abs=1e-4)


def test_without_validation_the_rank_is_chosen_on_the_latest_interactions(world):
    """No validation given: each history's latest 10% choose the rank; the fit is then on
    every training interaction (the same histories as a fit with validation)."""
    _, _, tensors = world
    split = temporal_split(tensors)
    seed_everything(0)
    model = EASE.from_tensors(tensors, split.train, form="lowrank", ranks=(8, 64))
    model.solve(tensors, split.train)
    assert set(model.validation) == {8, 64} and model.rank in (8, 64)
    assert model.history_index.size(1) == len(split.train)


def test_auto_takes_the_lowrank_form_when_the_dense_one_does_not_fit_the_budget(world):
    from kgrec.gnn.models.ease_forms import choose_form, ease_memory_bytes

    _, _, tensors = world
    split = temporal_split(tensors)
    sizes = (tensors.num_users, tensors.num_items, len(split.train))
    dense = ease_memory_bytes(*sizes, "dense", 64)
    low = ease_memory_bytes(*sizes, "lowrank", 64)
    assert choose_form(*sizes, 64, budget=dense) == "dense"
    assert choose_form(*sizes, 64, budget=dense - 1) == "lowrank"
    stages = []
    tight = _fitted(tensors, split, ranks=(32, 64), memory_budget=(dense + low) // 2)
    roomy = EASE.from_tensors(tensors, split.train, lam=50.0, ranks=(32, 64), memory_budget=1 << 40)
    roomy.solve(tensors, split.train, split.val, progress=lambda s, t: stages.append((s, t)))
    assert (tight.form, roomy.form) == ("lowrank", "dense")
    assert (
        stages[0][0].startswith("dense form")
        and stages[-1][0] == f"solved: dense form, rank {roomy.rank}"
    )
    assert [t for _, t in stages] == sorted(t for _, t in stages)


def test_memory_grows_linearly_with_the_catalogue_in_the_lowrank_form():
    """Equal steps of catalogue: equal steps of memory in the lowrank form, growing steps in
    the dense one; ranks that do not fit the budget are dropped."""
    from kgrec.gnn.models.ease_forms import candidate_ranks, ease_memory_bytes

    def steps(form: str) -> list[int]:
        sizes = [ease_memory_bytes(10_000, n, 500_000, form, 512) for n in (20_000, 40_000, 60_000)]
        return [sizes[1] - sizes[0], sizes[2] - sizes[1]]

    low, dense = steps("lowrank"), steps("dense")
    assert low[0] == low[1] > 0
    assert dense[1] > 1.5 * dense[0] and dense[0] > 10 * low[0]
    budget = ease_memory_bytes(10_000, 40_000, 500_000, "lowrank", 256)
    assert candidate_ranks(10_000, 40_000, 500_000, "lowrank", budget=budget) == [64, 128, 256]
    assert candidate_ranks(10_000, 100, 500_000, "lowrank", budget=budget) == [64, 100]
    assert candidate_ranks(10_000, 40_000, 500_000, "dense", budget=1) == [64]
    with pytest.raises(InvalidParameter, match="form"):
        ease_memory_bytes(1, 1, 1, "sparse", 1)
    with pytest.raises(InvalidParameter, match="form"):
        EASE(3, 4, form="sparse")


@pytest.mark.parametrize("form", ["dense", "lowrank"])
def test_both_forms_save_and_load_with_their_rank(world, form, tmp_path):
    import json

    from kgrec.gnn.versions import load_version, save_version

    _, _, tensors = world
    split = temporal_split(tensors)
    model = _fitted(tensors, split, form=form, ranks=(16, 48))
    config = json.loads(json.dumps(model.config()))
    assert (config["form"], config["rank"]) == (form, model.rank)
    version = save_version(
        tmp_path, model, "ease", config={}, id_maps=tensors.id_maps(), metrics={}
    )
    clone = load_version(version).model()
    assert (clone.form, clone.rank, clone.dim) == (form, model.rank, model.rank)
    users = torch.arange(9)
    torch.testing.assert_close(clone.score_users(users), model.score_users(users))
    old = {k: v for k, v in config.items() if k not in ("form", "ranks", "memory_budget")}
    before = EASE.from_state(old, model.state_dict())  # saved before forms: dense
    assert before.form == "dense" and before.rank == model.rank
    torch.testing.assert_close(before.score_users(users), model.score_users(users))


def test_the_refit_keeps_the_form_and_rank_chosen_on_validation(tensors):
    from kgrec.gnn.training.splits import temporal_split

    split = temporal_split(tensors)
    torch.manual_seed(0)
    chosen = EASE.from_tensors(tensors, split.train, lam=50.0, ranks=(8, 16, 32))
    assert chosen.refit_options() == {}  # nothing chosen before a solve
    chosen.solve(tensors, split.train, split.val)
    assert len(chosen.validation) == 3  # every candidate was scored
    options = chosen.refit_options()
    assert options == {"form": chosen.form, "rank": chosen.rank}
    train_val = torch.cat([split.train, split.val]).sort().values
    refit = EASE.from_tensors(tensors, train_val, lam=50.0, ranks=(8, 16, 32), **options)
    refit.solve(tensors, train_val)
    assert refit.validation == {} and (refit.form, refit.rank) == (chosen.form, chosen.rank)
