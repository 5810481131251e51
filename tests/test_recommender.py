"""The public API against the real embedded store and a tiny trained LightGCN."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec.app.ingest import ingest
from kgrec.app.recommender import Recommender
from kgrec.app.training import train
from kgrec.core.errors import KgrecError, UnknownIdError
from kgrec.loaders import generate_synthetic


@pytest.fixture
def world(backend, store_pool, tmp_path_factory, embedder):
    """A synthetic world in a store of each backend, a trained live model, and one idle user:
    ``((store uri, model dir), dataset)``."""
    dataset = generate_synthetic(num_users=60, num_items=90, num_tags=15,
                                 num_interactions=1500, seed=5)  # fmt: skip

    def load(store, uri):
        models = tmp_path_factory.mktemp("rec-models")
        ingest(dataset, store, embedder)
        result, _ = train(store, models, epochs=6, seed=0, device="cpu")
        assert result.promoted, result.error
        store.write("MERGE (:User {id: 'idle'})")
        return models

    uri, _, models = store_pool.loaded(backend, "recommender-world", load)
    return (uri, models), dataset


@pytest.fixture()
def rec(world):
    (uri, models), _ = world
    r = Recommender.open(uri, models)
    yield r
    r.close()


def _seen(dataset, user_id):
    inter = dataset.interactions
    return set(inter.loc[inter["user_id"] == user_id, "item_id"])


def test_recommend_ranks_unseen_items_with_explanations(rec, world):
    _, dataset = world
    user = dataset.users["id"].iloc[0]
    recs = rec.recommend(user, k=10)
    assert [r.rank for r in recs] == list(range(1, 11))
    scores = [r.score for r in recs]
    assert scores == sorted(scores, reverse=True)
    assert not {r.item_id for r in recs} & _seen(dataset, user)
    for r in recs:
        ex = r.explanation
        assert ex.paths or ex.note.startswith("No path of up to 3 hops")
        keys = [(p.interaction_share, p.share) for p in ex.paths]
        assert keys == sorted(keys, reverse=True)  # by the interaction's share, then own
        for p in ex.paths:
            assert p.nodes[0].id == user and p.nodes[-1].id == r.item_id
            assert len(p.relationships) == len(p.nodes) - 1 <= 3
            assert p.sentence.endswith(".")
    assert any(r.explanation.paths for r in recs)


def test_path_shares_are_the_models_own_decomposition(rec, world):
    _, dataset = world
    user = dataset.users["id"].iloc[1]
    checked = 0
    for r in rec.recommend(user, k=5):
        for p in r.explanation.paths:
            walk = [rec._node_index(n.kind, n.id) for n in p.nodes]
            if None in walk:
                continue
            if p.kind == "co_users":  # stands for every user who chose both items
                term = rec.scorer.group_contribution(walk[0], walk[-1], walk[1], "user")[0]
            else:
                term = rec.scorer.pair_terms(walk[0], walk[-1], [walk[1]], [walk[-2]])[0]
            assert p.contribution == pytest.approx(term, rel=1e-6)
            assert p.share == pytest.approx(p.contribution / r.score, rel=1e-6)
            hops, owed = rec.scorer.first_hop_contributions(walk[0], walk[-1])
            first = dict(zip(hops.tolist(), owed.tolist(), strict=True)).get(walk[1], 0.0)
            assert p.interaction_share == pytest.approx(first / r.score, rel=1e-6)
            checked += p.contribution != 0
    assert checked, "some path should carry part of a score"


def test_score_matches_model(rec, world):
    _, dataset = world
    user = dataset.users["id"].iloc[2]
    r = rec.recommend(user, k=1, explain=False)[0]
    u, i = rec._index["user"][user], rec._index["item"][r.item_id]
    assert r.score == pytest.approx(float(rec.live.model().score(u, i)), rel=1e-4)
    assert r.explanation is None


def test_unknown_user_and_item(rec, world):
    with pytest.raises(UnknownIdError, match="unknown user 'nobody'"):
        rec.recommend("nobody")
    _, dataset = world
    with pytest.raises(UnknownIdError, match="unknown item 'nothing'"):
        rec.explain(dataset.users["id"].iloc[0], "nothing")
    with pytest.raises(KgrecError):
        rec.recommend(dataset.users["id"].iloc[0], k=-1)


def test_k_larger_than_the_catalogue(rec, world):
    _, dataset = world
    user = dataset.users["id"].iloc[0]
    recs = rec.recommend(user, k=10_000, explain=False)
    assert len(recs) == len(dataset.items) - len(_seen(dataset, user))
    assert len(rec.recommend(user, k=0)) == 0


def test_user_without_interactions_gets_popular_items(rec):
    recs = rec.recommend("idle", k=5)
    assert len(recs) == 5
    pops = [int(rec.popularity[rec._index["item"][r.item_id]]) for r in recs]
    assert pops == sorted(pops, reverse=True) and pops[0] == rec.popularity.max()
    assert recs[0].explanation.note.startswith("No interactions yet")


def test_filters(rec, world):
    _, dataset = world
    user = dataset.users["id"].iloc[3]
    tag = dataset.item_tags["tag"].value_counts().index[0]
    tagged = set(dataset.item_tags.loc[dataset.item_tags["tag"] == tag, "item_id"])
    recs = rec.recommend(user, k=5, tags=[tag.upper()], explain=False)
    assert recs and {r.item_id for r in recs} <= tagged
    first = rec.recommend(user, k=3, explain=False)
    again = rec.recommend(user, k=3, explain=False, exclude_items=[first[0].item_id])
    assert first[0].item_id not in {r.item_id for r in again}
    seen = rec.recommend(user, k=len(dataset.items), explain=False, exclude_seen=False)
    assert _seen(dataset, user) <= {r.item_id for r in seen}


def test_explain_any_pair_and_conversions(rec, world):
    _, dataset = world
    user = dataset.users["id"].iloc[0]
    seen_item = sorted(_seen(dataset, user))[0]
    ex = rec.explain(user, seen_item)
    assert ex.item_id == seen_item and np.isfinite(ex.score)
    recs = rec.recommend(user, k=4)
    frame = recs.to_frame()
    assert list(frame["rank"]) == [1, 2, 3, 4]
    assert {"item_id", "title", "score", "explanation", "explained_share"} <= set(frame.columns)
    with_paths = next(r for r in recs if r.explanation.paths)
    graph = with_paths.explanation.to_networkx()
    assert f"user:{user}" in graph and f"item:{with_paths.item_id}" in graph
    types = {d["type"] for _, _, d in graph.edges(data=True)}
    assert types <= {"INTERACTED", "HAS_TAG", "TAGGED", "RELATED"} and types


def test_similar_items(rec, world):
    _, dataset = world
    item = dataset.items["id"].iloc[0]
    sims = rec.similar_items(item, k=5)
    assert len(sims) == 5 and item not in {s["item_id"] for s in sims}
    values = [s["similarity"] for s in sims]
    assert values == sorted(values, reverse=True)


def test_new_user(rec, world):
    _, dataset = world
    liked = list(dataset.items["id"].iloc[:3])
    recs = rec.recommend_for_new_user(liked_item_ids=liked, k=5)
    assert len(recs) == 5 and not {r.item_id for r in recs} & set(liked)
    assert recs[0].explanation.note.startswith("Because you liked")
    tag = dataset.item_tags["tag"].iloc[0]
    by_text = rec.recommend_for_new_user(text=f"a story about {tag}", k=5)
    assert len(by_text) == 5 and "match your description" in by_text[0].explanation.note
    popular = rec.recommend_for_new_user(k=3)
    pops = [int(rec.popularity[rec._index["item"][r.item_id]]) for r in popular]
    assert pops == sorted(rec.popularity.tolist(), reverse=True)[:3]
    with pytest.raises(UnknownIdError):
        rec.recommend_for_new_user(liked_item_ids=["nope"])


def test_edge_removal_recomputes_the_models_scores(rec):
    from kgrec.explain.quality import EdgeRemover, _neighbour_items

    remover = EdgeRemover(rec.live.model())
    users, items = [0, 1, 2, 3], [0, 5, 7, 11]
    untouched = remover.scores_without(-1, -1, users, items)  # no such edge: nothing removed
    expected = [float(rec.user_emb[u] @ rec.item_emb[i]) for u, i in zip(users, items, strict=True)]
    assert untouched == pytest.approx(expected, rel=1e-4, abs=1e-5)
    v = _neighbour_items(rec, 0)[0]
    node_u, node_v = rec.scorer.node("user", 0), rec.scorer.node("item", v)
    after = remover.scores_without(node_u, node_v, [0], [v])[0]
    assert after != pytest.approx(float(rec.user_emb[0] @ rec.item_emb[v]), rel=1e-6)


def test_explanation_quality_report(rec):
    from kgrec.explain.quality import explanation_quality

    report = explanation_quality(rec, num_users=6, k=4, seed=1)
    assert report.users == 6 and report.recommendations == 24
    assert 0 < report.coverage <= 1 and 1 <= report.mean_path_length <= 3
    assert report.faithfulness_pairs > 0
    assert 0 <= report.top_beats_random <= 1
