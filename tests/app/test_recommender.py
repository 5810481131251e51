"""The public API against the real stores and tiny trained models: the default ``ease``
and LightGCN, each with its exact decomposition."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec import InvalidParameter, KgrecError, Recommender, UnknownIdError, UnknownTagError

MODELS = ("ease", "lightgcn")


@pytest.fixture(scope="module", params=MODELS)
def model_name(request) -> str:
    """Each model in turn; module-scoped, so the tests run grouped by model and the one
    Neo4j database is loaded once per model rather than once per test."""
    return request.param


@pytest.fixture
def world(model_name, recommender_world):
    """The world with each model in turn."""
    return recommender_world(model_name)


@pytest.fixture
def lightgcn_world(recommender_world):
    """The world with a LightGCN (walk-level decomposition)."""
    return recommender_world("lightgcn")


def _open(world):
    (uri, models), _ = world
    r = Recommender.open(uri, models)
    yield r
    r.close()


@pytest.fixture()
def rec(world):
    yield from _open(world)


@pytest.fixture()
def lightgcn_rec(lightgcn_world):
    yield from _open(lightgcn_world)


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
        keys = [(p.interaction_share, p.share or 0.0) for p in ex.paths]
        assert keys == sorted(keys, reverse=True)  # by the interaction's share, then own
        for p in ex.paths:
            assert p.nodes[0].id == user and p.nodes[-1].id == r.item_id
            assert len(p.relationships) == len(p.nodes) - 1 <= 3
            assert p.sentence.endswith(".")
    assert any(r.explanation.paths for r in recs)


def test_path_shares_are_the_models_own_decomposition(lightgcn_rec, lightgcn_world):
    rec, (_, dataset) = lightgcn_rec, lightgcn_world
    user = dataset.users["id"].iloc[1]
    weights = rec.weights
    checked = 0
    for r in rec.recommend(user, k=5):
        for p in r.explanation.paths:
            walk = [weights.node(n.kind, n.id) for n in p.nodes]
            if None in walk:
                continue
            if p.kind == "co_users":  # stands for every user who chose both items
                term = weights.scorer.group_contribution(walk[0], walk[-1], walk[1], "user")[0]
            else:
                term = weights.scorer.pair_terms(walk[0], walk[-1], [walk[1]], [walk[-2]])[0]
            assert p.contribution == pytest.approx(term, rel=1e-6)
            basis = r.explanation.share_basis  # the positive terms of the score
            assert p.share == pytest.approx(p.contribution / basis, rel=1e-6)
            first = weights.first_hops(walk[0], walk[-1]).get(walk[1], 0.0)
            assert p.interaction_share == pytest.approx(first / basis, rel=1e-6)
            checked += p.contribution != 0
    assert checked, "some path should carry part of a score"


def test_shares_sum_exactly_to_the_score_both_ways(lightgcn_rec, lightgcn_world):
    """Own states + the user's edges, and own states + joined + unjoined walk pairs, each
    add up to the served score; the own states are checked against the model's own
    initial states."""
    rec, (_, dataset) = lightgcn_rec, lightgcn_world
    user = dataset.users["id"].iloc[4]
    model = rec.model
    scale = model.num_layers + 1
    x0 = model.initial_states().detach().numpy().astype(np.float64) / scale
    final = rec.weights.scorer.final
    u = rec.weights.node("user", user)
    trained = set(rec.weights.neighbour_items(user))
    for r in rec.recommend(user, k=3):
        ex = rec.explain(user, r.item_id)
        parts = ex.decomposition
        assert ex.score == pytest.approx(r.score, rel=1e-6)
        assert parts is not None and parts.score == ex.score
        i = rec.weights.node("item", r.item_id)
        assert parts.user_own == pytest.approx(float(x0[u] @ final[i]), rel=1e-6, abs=1e-9)
        assert set(parts.interactions) == trained
        by_edges = parts.user_own + sum(parts.interactions.values())
        assert by_edges == pytest.approx(r.score, rel=1e-4)
        by_walks = parts.own_states + parts.paths + parts.unjoined
        assert by_walks == pytest.approx(r.score, rel=1e-4)
        own_i = x0[i]
        from_user = final[u] - x0[u]
        assert parts.own_states == pytest.approx(
            float(x0[u] @ final[i] + from_user @ own_i), rel=1e-6, abs=1e-9
        )
        terms = [parts.user_own, *parts.interactions.values()]
        assert ex.share_basis == pytest.approx(sum(max(t, 0.0) for t in terms), rel=1e-4)
        vias = {rec.weights.node_id(int(v)) for v in rec.weights.scorer.adjacent_pairs(u, i)[0]}
        joined = sum(max(parts.interactions.get(v, 0.0), 0.0) for v in vias)
        assert ex.explained_share == pytest.approx(joined / ex.share_basis, rel=1e-6)
        assert 0.0 <= ex.explained_share <= 1.0
        assert r.explanation.explained_share == pytest.approx(ex.explained_share, rel=1e-5)
        for p in ex.paths:
            if p.nodes[1].kind == "item" and p.nodes[1].id in trained:
                owed = parts.interactions[p.nodes[1].id]
                assert p.interaction_share == pytest.approx(owed / ex.share_basis, rel=1e-6)


def test_score_matches_model(rec, world):
    _, dataset = world
    user = dataset.users["id"].iloc[2]
    recs = rec.recommend(user, k=1, explain=False)
    r = recs[0]
    u, i = rec.user_ids.index(user), rec.item_ids.index(r.item_id)
    assert r.score == pytest.approx(float(rec.model.score(u, i)), rel=1e-4)
    assert r.explanation is None
    assert recs.model_version == rec.live.version_dir.name == rec.version


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
    for k in (0, -1, 2.5, True):
        with pytest.raises(InvalidParameter, match="k must be an integer >= 1"):
            rec.recommend(user, k=k)


def test_user_without_interactions_gets_popular_items(rec):
    recs = rec.recommend("idle", k=5)
    assert len(recs) == 5
    pops = [int(rec.popularity[rec.item_ids.index(r.item_id)]) for r in recs]
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


def test_an_unknown_tag_is_named_with_close_matches(rec, world):
    _, dataset = world
    user = dataset.users["id"].iloc[3]
    tag = str(dataset.item_tags["tag"].iloc[0])
    typo = tag[:-1] + ("x" if tag[-1] != "x" else "y")
    with pytest.raises(UnknownTagError, match=repr(typo)) as caught:
        rec.recommend(user, k=5, tags=[tag, typo])
    assert caught.value.tag == typo and tag.lower() in caught.value.close_matches
    with pytest.raises(UnknownTagError, match="no known tag is spelled like it"):
        rec.recommend(user, k=5, tags=["0123456789qwerty"])


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


def test_recommend_many_equals_one_by_one(rec, world):
    _, dataset = world
    users = [*dataset.users["id"].iloc[:6], "idle"]
    tag = dataset.item_tags["tag"].value_counts().index[0]
    exclude = [dataset.items["id"].iloc[0]]
    for options in ({}, {"tags": [tag], "exclude_items": exclude}, {"exclude_seen": False}):
        batch = rec.recommend_many(users, k=7, explain=False, **options)
        assert list(batch) == users
        for user in users:
            alone = rec.recommend(user, k=7, explain=False, **options)
            assert [r.item_id for r in batch[user]] == [r.item_id for r in alone]
            assert [r.score for r in batch[user]] == pytest.approx([r.score for r in alone])
            assert batch[user].model_version == alone.model_version == rec.version
    explained = rec.recommend_many(users[:2], k=3)
    for user in users[:2]:
        alone = rec.recommend(user, k=3)
        for batched, single in zip(explained[user], alone, strict=True):
            a, b = batched.explanation, single.explanation
            assert [p.sentence for p in a.paths] == [p.sentence for p in b.paths]
            assert [p.share for p in a.paths] == pytest.approx([p.share for p in b.paths])
            assert (a.num_paths, a.note) == (b.num_paths, b.note)


def test_similar_items(rec, world):
    _, dataset = world
    item = dataset.items["id"].iloc[0]
    sims = rec.similar_items(item, k=5)
    assert len(sims) == 5 and item not in {s["item_id"] for s in sims}
    values = [s["model_similarity"] for s in sims]
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
    pops = [int(rec.popularity[rec.item_ids.index(r.item_id)]) for r in popular]
    assert pops == sorted(rec.popularity.tolist(), reverse=True)[:3]
    with pytest.raises(UnknownIdError):
        rec.recommend_for_new_user(liked_item_ids=["nope"])


def test_edge_removal_recomputes_the_models_scores(lightgcn_rec):
    rec = lightgcn_rec
    from kgrec.gnn.inductive.foldin import EdgeRemover

    weights = rec.weights
    remover = EdgeRemover(rec.model)
    users = [weights.node("user", rec.user_ids[j]) for j in (0, 1, 2, 3)]
    items = [weights.node("item", rec.item_ids[j]) for j in (0, 5, 7, 11)]
    untouched = remover.scores_without(-1, -1, users, items)  # no such edge: nothing removed
    expected = [
        float(rec.user_emb[u] @ rec.item_emb[i])
        for u, i in zip((0, 1, 2, 3), (0, 5, 7, 11), strict=True)
    ]
    assert untouched == pytest.approx(expected, rel=1e-4, abs=1e-5)
    user = rec.user_ids[0]
    liked = weights.neighbour_items(user)[0]
    node_u, node_v = weights.node("user", user), weights.node("item", liked)
    after = remover.scores_without(node_u, node_v, [node_u], [node_v])[0]
    before = float(rec.user_emb[0] @ rec.item_emb[rec.item_ids.index(liked)])
    assert after != pytest.approx(before, rel=1e-6)


def test_explanations_are_faithful(rec):
    """Removing the interaction behind the top path lowers the score clearly more than
    removing a random other one of the same user (docs/recommendations.md); for a history model
    (``ease``) the same holds for all the interactions of the top reason against as many
    random ones."""
    from kgrec.explain.quality import explanation_quality

    report = explanation_quality(rec, num_users=20, k=5, seed=1)
    assert report.users == 20 and report.recommendations == 100
    assert report.coverage == 1.0 and 2 <= report.mean_path_length <= 3
    assert report.faithfulness_pairs >= 50
    assert report.mean_drop_top_path > 0
    assert report.mean_drop_top_path >= 1.25 * report.mean_drop_random
    assert report.top_beats_random >= 0.9
    assert 0 < report.median_top_reason_share <= report.median_top3_reasons_share
    assert report.max_shown_share_sum <= 1.0 + 1e-9 and report.reasons_below_mean == 0.0
    assert report.explained_share_filled == 1.0
    assert report.reason_pairs >= 30
    if rec.model.name == "ease":  # exact without the group; LightGCN re-normalises degrees
        assert report.mean_drop_top_reason >= 1.25 * max(report.mean_drop_random_reason, 0.0)
        assert report.top_reason_beats_random >= 0.8


def test_reasons_are_exact_sums_of_the_users_interactions(rec, world):
    """Each reason's share is the sum of its interactions' exact terms C(v) over the score;
    its interactions share its tag with the item; reasons come largest first; no sentence
    names another user."""
    _, dataset = world
    tags = dataset.item_tags.groupby("item_id")["tag"].apply(set).to_dict()
    user = dataset.users["id"].iloc[6]
    checked = 0
    for r in rec.recommend(user, k=5):
        ex = rec.explain(user, r.item_id)
        parts = ex.decomposition
        assert parts is not None and ex.reasons
        assert [x.share for x in ex.reasons] == sorted((x.share for x in ex.reasons), reverse=True)
        assert ex.sentence == ex.reasons[0].sentence
        for reason in ex.reasons:
            members = [m.item_id for m in reason.items]
            owed = sum(parts.interactions[v] for v in members)
            assert reason.contribution == pytest.approx(owed, rel=1e-6, abs=1e-9)
            assert reason.share == pytest.approx(owed / ex.share_basis, rel=1e-6)
            if reason.kind == "tag":
                assert all(reason.key in tags.get(v, set()) for v in members)
                assert reason.key in tags[r.item_id]
                checked += 1
            assert "%" in reason.sentence and "user " not in reason.sentence
        for p in ex.paths:
            assert "user " not in p.sentence
    assert checked


def test_an_item_the_user_rated_is_explained_with_their_own_rating(rec, world):
    _, dataset = world
    user = dataset.users["id"].iloc[2]
    inter = dataset.interactions
    row = inter.loc[inter["user_id"] == user].iloc[0]
    ex = rec.explain(user, row["item_id"])
    assert ex.seen and ex.own_rating == pytest.approx(float(row["rating"]))
    assert ex.sentence.startswith(f"You rated {ex.title} {float(row['rating']):.1f} yourself.")
    assert row["item_id"] not in {m.item_id for x in ex.reasons for m in x.items}
