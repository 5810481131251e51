"""Served explanations a reader can believe, on the real stores and both models with an
exact decomposition: plain percentages, disjoint reasons of supporting interactions whose
shares add up to at most 100%, distinct headlines along a list, shares and path terms
filled for ``ease`` too, and a new user served from both liked items and a text."""

from __future__ import annotations

import re

import pytest

from kgrec import Recommender
from kgrec.explain.reasons import DISTINCT_WITHIN, user_mean_rating
from kgrec.queries.runner import run_query

MODELS = ("ease", "lightgcn")
EXPONENT = re.compile(r"\de[+-]\d")


@pytest.fixture(scope="module", params=MODELS)
def model_name(request) -> str:
    return request.param


@pytest.fixture
def world(model_name, recommender_world):
    return recommender_world(model_name)


@pytest.fixture()
def rec(world):
    (uri, models), _ = world
    r = Recommender.open(uri, models)
    yield r
    r.close()


def _texts(ex) -> list[str]:
    return [
        ex.sentence,
        ex.note,
        ex.other_sentence,
        *(r.sentence for r in ex.reasons),
        *(p.sentence + p.shares_text() for p in ex.paths),
    ]


def test_served_reasons_are_disjoint_supported_and_distinct(rec, world):
    _, dataset = world
    checked = 0
    for user in dataset.users["id"].iloc[:8]:
        mean = user_mean_rating(run_query(rec.store, "user_items", {"user_id": user}))
        recs = rec.recommend(user, k=10)
        used: set[tuple[str, str]] = set()
        for r in recs:
            ex = r.explanation
            assert not any(EXPONENT.search(t) for t in _texts(ex)), _texts(ex)
            assert ex.share_basis is not None and ex.share_basis > 0
            assert ex.explained_share is not None and 0.0 <= ex.explained_share <= 1.0
            assert all(p.share is not None for p in ex.paths)
            members = [m.item_id for x in ex.reasons for m in x.items]
            assert len(members) == len(set(members)), "an interaction told in two reasons"
            shares = [x.share for x in ex.reasons]
            assert all(s is not None and 0.0 < s <= 1.0 for s in shares)
            assert sum(shares) == pytest.approx(ex.reasons_share or 0.0)
            assert (ex.reasons_share or 0.0) <= 1.0 + 1e-9
            assert ex.other_share == pytest.approx(1.0 - (ex.reasons_share or 0.0))
            for x in ex.reasons:
                assert all(m.contribution > 0 for m in x.items)
                assert all(m.rating is None or mean is None or m.rating >= mean for m in x.items)
            if not ex.reasons:
                continue
            head = ex.reasons[0]
            if (head.kind, head.key) in used:  # repeated: no unused reason came close
                fresh = [x for x in ex.reasons[1:] if (x.kind, x.key) not in used]
                assert all(x.share * DISTINCT_WITHIN < head.share for x in fresh)
            used.add((head.kind, head.key))
            checked += 1
    assert checked


def test_paths_of_a_history_model_carry_their_interactions_terms(rec, world):
    """``ease`` has no walks: each path carries the share of the interaction it leaves
    through, divided among that interaction's paths; none reads 0 when the interaction
    carries something, and their sum never passes the interaction's term."""
    if rec.model.name != "ease":
        pytest.skip("LightGCN paths carry walk terms (tests/app/test_recommender.py)")
    _, dataset = world
    user = dataset.users["id"].iloc[1]
    checked = 0
    for r in rec.recommend(user, k=5):
        ex = rec.explain(user, r.item_id)
        owed = ex.decomposition.interactions
        by_via: dict[str, float] = {}
        for p in ex.paths:
            via = p.nodes[1].id
            if p.nodes[1].kind != "item":
                continue
            assert p.share == pytest.approx(p.contribution / ex.share_basis, rel=1e-6)
            if owed.get(via, 0.0) > 0:
                assert p.contribution > 0
                checked += 1
            by_via[via] = by_via.get(via, 0.0) + p.contribution
        for via, total in by_via.items():
            assert abs(total) <= abs(owed.get(via, 0.0)) * (1 + 1e-6) + 1e-12
    assert checked


def test_a_new_user_is_served_from_liked_items_and_text(rec, world):
    _, dataset = world
    liked = [str(dataset.items["id"].iloc[0])]
    tag = dataset.item_tags["tag"].iloc[5]
    text = f"a story about {tag}"
    both = rec.recommend_for_new_user(liked_item_ids=liked, text=text, k=5)
    only_liked = rec.recommend_for_new_user(liked_item_ids=liked, k=5)
    only_text = rec.recommend_for_new_user(text=text, k=5)
    assert both.based_on == ("liked", "text")
    assert only_liked.based_on == ("liked",) and only_text.based_on == ("text",)
    assert rec.recommend_for_new_user(k=2).based_on == ()
    assert all(f"described '{text}'" in r.explanation.note for r in both)
    assert all(r.explanation.note.startswith("Because you liked") for r in only_liked)
    # the user vector is the sum of two unit-length parts, one per source, so every item's
    # score is the sum of its scores from each source alone: the text counts as much
    every = len(dataset.items)
    scores = {
        r.item_id: r.score
        for r in rec.recommend_for_new_user(liked_item_ids=liked, text=text, k=every)
    }
    from_liked = {
        r.item_id: r.score for r in rec.recommend_for_new_user(liked_item_ids=liked, k=every)
    }
    from_text = {r.item_id: r.score for r in rec.recommend_for_new_user(text=text, k=every)}
    assert set(scores) == set(from_liked) and len(scores) == every - 1
    for item, score in scores.items():
        assert score == pytest.approx(from_liked[item] + from_text[item], rel=1e-5, abs=1e-6)
    assert not {r.item_id for r in both} & set(liked)
