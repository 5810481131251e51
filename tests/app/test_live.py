"""Serving what was just recorded, without retraining: the fold-in of users, items added
while serving, explanations that still split the served score, and two serving processes
on one store."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec import Recommender, UnknownIdError


def _open(world, refresh_seconds=None):
    uri, graph, _, models, _ = world
    return Recommender.open(uri, models, graph=graph, refresh_seconds=refresh_seconds)


def _ranks(recs):  # item -> rank
    return {r.item_id: r.rank for r in recs}


def test_a_recorded_interaction_moves_the_next_recommendation(writable_world):
    _, _, _, _, dataset = writable_world
    with _open(writable_world) as rec:
        user = dataset.users["id"].iloc[3]
        before = rec.recommend(user, k=10_000, explain=False)
        target = before[len(before) // 2].item_id  # an item the model ranks in the middle
        unseen = _ranks(before)
        near = [s["item_id"] for s in rec.similar_items(target, k=100) if s["item_id"] in unseen]
        rec.record_interaction(user, target, rating=5.0)
        after = rec.recommend(user, k=10_000, explain=False)
        assert target not in _ranks(after)  # seen now
        assert len(after) == len(before) - 1
        b = {r.item_id: r.score for r in before}
        gain = {r.item_id: r.score - b[r.item_id] for r in after}
        assert np.mean([gain[i] for i in near[:5]]) > np.mean(list(gain.values()))
        top = rec.recommend(user, k=5)
        for r in top:
            ex = rec.explain(user, r.item_id)
            assert ex.score == pytest.approx(r.score, rel=1e-6)
            parts = ex.decomposition
            assert parts is not None and target in parts.interactions
            assert parts.user_own + sum(parts.interactions.values()) == pytest.approx(r.score)
            assert parts.own_states + parts.paths + parts.unjoined == pytest.approx(r.score)
            assert ex.share_basis and 0.0 <= ex.explained_share <= 1.0
        assert any("recorded after training" in r.explanation.note for r in top if r.explanation)


def test_a_user_new_to_the_store_is_served_from_their_first_interaction(writable_world):
    _, _, _, _, dataset = writable_world
    with _open(writable_world) as rec:
        with pytest.raises(UnknownIdError):
            rec.recommend("walk-in")
        liked = dataset.items["id"].iloc[10]
        rec.record_interaction("walk-in", liked, rating=4.0)
        recs = rec.recommend("walk-in", k=5)
        assert len(recs) == 5 and liked not in _ranks(recs)
        first = rec.explain("walk-in", recs[0].item_id)
        parts = first.decomposition
        assert parts is not None and set(parts.interactions) == {liked}
        assert parts.user_own == pytest.approx(0.0, abs=1e-6)  # no id embedding of their own
        assert sum(parts.interactions.values()) == pytest.approx(recs[0].score)
        assert "newer than the model" in recs[0].explanation.note or not recs[0].explanation.paths
        similar = {s["item_id"] for s in rec.similar_items(liked, k=20)}
        assert similar & set(_ranks(recs)), "a first interaction pulls its neighbours up"


def test_an_added_item_is_served_at_once_from_its_text_and_tags(writable_world):
    _, _, _, _, dataset = writable_world
    tags = dataset.item_tags.loc[dataset.item_tags["item_id"] == dataset.items["id"].iloc[0]]
    with _open(writable_world) as rec:
        with pytest.raises(UnknownIdError):
            rec.similar_items("fresh")
        out = rec.add_item("fresh", "Fresh Arrival", text="a new film", tags=tags["tag"].tolist())
        assert out["served"] and out["created"]
        near = [s["item_id"] for s in rec.similar_items("fresh", k=10)]
        assert len(near) == 10 and "fresh" not in near
        sharing = set(dataset.item_tags.loc[dataset.item_tags["tag"].isin(tags["tag"]), "item_id"])
        unit = rec._cat.unit
        sims = unit @ unit[rec._cat.index["fresh"]]
        inside = np.mean([sims[rec._cat.index[i]] for i in sharing])
        outside = np.mean(
            [sims[j] for i, j in rec._cat.index.items() if i not in sharing and i != "fresh"]
        )
        assert inside > outside, "its tags place it near the items that carry them"
        user = dataset.users["id"].iloc[0]
        all_items = rec.recommend(user, k=10_000, explain=False)
        assert "fresh" in _ranks(all_items)
        ex = rec.explain(user, "fresh")
        assert "added after the model was trained" in ex.note
        rec.record_interaction(user, "fresh")
        assert "fresh" not in _ranks(rec.recommend(user, k=10_000, explain=False))
        recs = rec.recommend(user, k=3)  # folded in over an item the graph lacks: no shares
        assert recs[0].explanation.explained_share is None
        assert rec.explain(user, recs[0].item_id).decomposition is None


def test_two_processes_on_one_store_see_each_others_writes(writable_world):
    _, _, _, _, dataset = writable_world
    user = dataset.users["id"].iloc[5]
    writer, polling, idle = (_open(writable_world, s) for s in (3600.0, 0.0, 3600.0))
    try:
        target = writer.recommend(user, k=1, explain=False)[0].item_id
        assert polling.recommend(user, k=1, explain=False)[0].item_id == target
        writer.record_interaction(user, target, rating=5.0)
        for other in (polling, idle):  # interactions are read per request: no delay at all
            assert target not in _ranks(other.recommend(user, k=10_000, explain=False))
        mine = writer.recommend(user, k=5, explain=False)
        assert [(r.item_id, r.score) for r in polling.recommend(user, k=5, explain=False)] == [
            (r.item_id, pytest.approx(r.score)) for r in mine
        ]
        writer.add_item("fresh", "Fresh Arrival", tags=[dataset.tags["name"].iloc[0]])
        assert polling.similar_items("fresh")  # its next call read the counter
        assert "fresh" in polling.item_ids
        with pytest.raises(UnknownIdError):
            idle.similar_items("fresh")  # its next read of the counter is not due yet
        idle._poll._next = 0.0  # the interval has passed
        assert len(idle.similar_items("fresh", k=3)) == 3
    finally:
        for rec in (writer, polling, idle):
            rec.close()


def test_a_history_model_serves_the_changed_history_exactly(history_world):
    """With ``ease`` a recorded interaction gives the user's vector of their new history
    (the model's own formula, no refit), and the explanation splits that score exactly
    over the interactions, the new one included."""
    _, _, store, _, dataset = history_world
    user = dataset.users["id"].iloc[3]
    with _open(history_world) as rec:
        before = rec.recommend(user, k=10_000, explain=False)
        target = before[len(before) // 2].item_id
        rec.record_interaction(user, target, rating=5.0)
        after = rec.recommend(user, k=10_000, explain=False)
        assert target not in _ranks(after)
        rows = [r for r in rec._user_history(user) if r["item_id"] in rec._cat.index]
        items = np.array([rec._cat.index[r["item_id"]] for r in rows])
        ratings = np.array([np.nan if r["rating"] is None else r["rating"] for r in rows])
        vector, _ = rec.model.history_vector(items, np.array([r["ts"] for r in rows]), ratings)
        expected = {rec.item_ids[j]: float(s) for j, s in enumerate(rec.item_emb @ vector)}
        for r in after[:20]:
            assert r.score == pytest.approx(expected[r.item_id], rel=1e-5, abs=1e-7)
        b = {r.item_id: r.score for r in before}
        assert any(r.score != pytest.approx(b[r.item_id]) for r in after[:20])
        top = rec.recommend(user, k=3)
        for r in top:
            parts = rec.explain(user, r.item_id).decomposition
            assert parts is not None and target in parts.interactions
            assert parts.user_own == pytest.approx(0.0, abs=1e-9)
            assert sum(parts.interactions.values()) == pytest.approx(r.score, rel=1e-5)
        assert all("recorded after training" in r.explanation.note for r in top)
        rec.record_interaction("walk-in", target, rating=4.0)
        first = rec.recommend("walk-in", k=3)
        parts = rec.explain("walk-in", first[0].item_id).decomposition
        assert parts is not None and set(parts.interactions) == {target}
        assert parts.interactions[target] == pytest.approx(first[0].score, rel=1e-5)


def test_a_running_recommender_serves_a_newly_promoted_version(history_world):
    from kgrec.app.training import train

    _, _, store, models, dataset = history_world
    user = dataset.users["id"].iloc[1]
    with (
        _open(history_world, refresh_seconds=0.0) as rec,
        _open(history_world, refresh_seconds=3600.0) as idle,
    ):
        first = rec.version
        assert rec.recommend(user, k=3).model_version == first
        result, _ = train(
            store, models, "ease", seed=0, device="cpu", tolerance=1.0, model_options={"lam": 50.0}
        )
        assert result.promoted and result.version_dir.name != first
        recs = rec.recommend(user, k=3)
        assert rec.version == recs.model_version == result.version_dir.name
        assert rec.model.lam == 50.0
        assert idle.recommend(user, k=3).model_version == first  # its next read is not due


@pytest.fixture
def movielens_live(backend, movielens_world, tmp_path):
    """ml-latest-small with a trained model (the default, a history model: the users below
    have 40-200 items, so the cold-user aggregator is not theirs) in a store this test
    writes to: ``(uri, graph, store, model dir, dataset)``."""
    uri, store, _ = movielens_world.writable(backend, tmp_path)
    yield uri, "kgrec", store, movielens_world.models, movielens_world.dataset
    if backend == "embedded":
        store.close()


def test_on_movielens_what_was_just_watched_pulls_its_neighbours_up(movielens_live):
    """For three real users, rate 5 a popular film the model ranks low for them: the films
    most similar to it (by the model's item vectors) gain rank and score, more than the
    catalogue does. Without the fold-in nothing would move."""
    _, _, _, _, dataset = movielens_live
    counts = dataset.interactions["user_id"].value_counts()
    users = sorted(counts[(counts >= 40) & (counts <= 200)].index, key=int)[:3]
    popular = dataset.interactions["item_id"].value_counts().index[:300].tolist()
    with _open(movielens_live) as rec:
        for user in users:
            before = rec.recommend(user, k=100_000, explain=False)
            ranks = _ranks(before)
            target = max((i for i in popular if i in ranks), key=ranks.get)  # ranked lowest
            near = [s["item_id"] for s in rec.similar_items(target, k=50) if s["item_id"] in ranks][
                :10
            ]
            rec.record_interaction(user, target, rating=5.0)
            after = rec.recommend(user, k=100_000, explain=False)
            moved = _ranks(after)
            assert target not in moved
            assert np.mean([moved[i] for i in near]) < np.mean([ranks[i] for i in near]), user
            b = {r.item_id: r.score for r in before}
            gain = {r.item_id: r.score - b[r.item_id] for r in after}
            assert np.mean([gain[i] for i in near]) > np.mean(list(gain.values())), user
