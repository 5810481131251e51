"""Reasons a reader can believe: disjoint shares of the positive terms, support only from
interactions at or above the user's mean, distinct headlines along a list."""

from __future__ import annotations

import pytest

from kgrec.explain import wording
from kgrec.explain.candidates import SharedFeatures
from kgrec.explain.reasons import (
    ItemReasons,
    against_share,
    explain_reasons,
    share_basis,
    supports,
)

# The user's history: item id -> (title, rating). Mean rating 3.0.
HISTORY = {
    "a": ("Alien", 5.0),
    "b": ("Blade Runner", 4.5),
    "c": ("Cube", 1.0),
    "d": ("Dune", 3.0),
    "e": ("Event Horizon", 0.5),
    "f": ("Fargo", 4.0),
}
ROWS = [{"item_id": v, "title": t, "rating": r} for v, (t, r) in HISTORY.items()]


def _tag(key: str) -> dict:
    return {"relationship": "HAS_TAG", "key": key, "label": key, "relation": None}


def _features(of_item: dict[str, list[str]], carriers: dict[str, list[str]]) -> SharedFeatures:
    return SharedFeatures(
        {i: [_tag(t) for t in tags] for i, tags in of_item.items()},
        {("tag", t): vias for t, vias in carriers.items()},
    )


def _explain(features, contributions, items, within=2.0) -> dict[str, ItemReasons]:
    titles = {i: i.upper() for i in items}
    scores = {i: sum(contributions[i].values()) for i in items}
    return explain_reasons(features, ROWS, titles, scores, contributions, within=within)


def test_share_basis_is_the_sum_of_the_positive_terms():
    assert share_basis(0.5, {"a": 0.4, "b": -0.2, "c": 0.3}) == pytest.approx(0.7)
    # the rest of the score (the user's own term) counts when positive
    assert share_basis(0.9, {"a": 0.4, "b": -0.2, "c": 0.3}) == pytest.approx(1.1)
    assert share_basis(-0.1, {"a": -0.1}) is None
    assert share_basis(1.0, None) is None
    assert against_share(0.5, {"a": 0.4, "b": -0.2, "c": 0.3}, 0.7) == pytest.approx(0.2 / 0.7)


def test_supports_leaves_out_ratings_below_the_mean():
    assert supports(4.0, 3.0) and supports(3.0, 3.0) and supports(None, 3.0)
    assert not supports(2.5, 3.0)
    assert supports(1.0, None)


def test_reasons_are_disjoint_and_their_shares_add_up_to_at_most_one():
    """Three tags overlapping on a, b and f: each interaction is counted in one reason only,
    shares are over the positive terms (the negative e does not inflate them), and what is
    left is told as 'other'."""
    features = _features(
        {"x": ["sci-fi", "space", "thriller"]},
        {"sci-fi": ["a", "b", "c", "e"], "space": ["a", "b", "f"], "thriller": ["b", "f", "d"]},
    )
    contributions = {"x": {"a": 0.5, "b": 0.3, "c": 0.4, "d": 0.25, "e": -0.6, "f": 0.1}}
    told = _explain(features, contributions, ["x"])["x"]
    members = [m.item_id for r in told.reasons for m in r.items]
    assert len(members) == len(set(members)), "an interaction in two reasons"
    assert told.basis == pytest.approx(1.55)  # 0.5 + 0.3 + 0.4 + 0.25 + 0.1
    # space (a, b, f) first; thriller keeps only d; sci-fi has nothing left untold
    assert [(r.key, [m.item_id for m in r.items]) for r in told.reasons] == [
        ("space", ["a", "b", "f"]),
        ("thriller", ["d"]),
    ]
    shares = [r.share for r in told.reasons]
    assert all(0 < s <= 1 for s in shares)
    assert sum(shares) == pytest.approx(told.shown) and told.shown <= 1
    assert told.shown == pytest.approx(1.15 / 1.55)
    assert told.shown + told.other == pytest.approx(1.0)
    assert told.against == pytest.approx(0.6 / 1.55)
    for r in told.reasons:  # exact: the sum of the members' terms over the basis
        assert r.contribution == pytest.approx(sum(m.contribution for m in r.items))
        assert r.share == pytest.approx(r.contribution / 1.55)


def test_an_interaction_below_the_users_mean_is_never_support():
    """c (1.0) and e (0.5) carry the most but are rated below the user's mean (3.0): no
    reason names them, and their terms fall into 'other'."""
    features = _features({"x": ["horror"]}, {"horror": ["c", "e", "a"]})
    contributions = {"x": {"a": 0.1, "c": 0.9, "e": 0.8, "d": 0.05}}
    told = _explain(features, contributions, ["x"])["x"]
    named = {m.item_id for r in told.reasons for m in r.items}
    assert named == {"a", "d"}
    assert all(m.rating is None or m.rating >= 3.0 for r in told.reasons for m in r.items)
    assert told.other == pytest.approx(1 - 0.15 / 1.85)
    for r in told.reasons:
        assert "Cube" not in r.sentence and "Event Horizon" not in r.sentence


def test_headlines_stay_distinct_along_a_list_within_a_factor():
    """Every item's best reason is 'drama'; the second item leads with 'comedy' (within a
    factor 2 of 'drama'), the third keeps 'drama' (its best alternative, one interaction
    carrying a third of it, is too small)."""
    features = _features(
        {"x": ["drama", "comedy"], "y": ["drama", "comedy"], "z": ["drama", "comedy"]},
        {"drama": ["a", "b", "d"], "comedy": ["f"]},
    )
    contributions = {
        "x": {"a": 0.5, "b": 0.3, "f": 0.2},
        "y": {"a": 0.25, "b": 0.25, "f": 0.35},
        "z": {"a": 0.3, "b": 0.3, "d": 0.3, "f": 0.05},
    }
    out = _explain(features, contributions, ["x", "y", "z"])
    heads = [out[i].reasons[0].key for i in ("x", "y", "z")]
    assert heads == ["drama", "comedy", "drama"]
    assert [r.key for r in out["y"].reasons] == ["comedy", "drama"]  # disjoint still
    # within=1: only an exact tie moves the headline
    strict = _explain(features, contributions, ["x", "y", "z"], within=1.0)
    assert [strict[i].reasons[0].key for i in ("x", "y", "z")] == ["drama"] * 3


def test_without_contributions_reasons_are_sized_and_carry_no_shares():
    features = _features({"x": ["sci-fi", "space"]}, {"sci-fi": ["a", "b", "c"], "space": ["a"]})
    out = explain_reasons(features, ROWS, {"x": "X"}, {"x": 1.0}, None)["x"]
    assert [r.key for r in out.reasons] == ["sci-fi"]  # 'space' had only a, already told
    assert [m.item_id for m in out.reasons[0].items] == ["a", "b"]  # c is below the mean
    assert out.reasons[0].share is None and out.basis is None and out.other is None
    assert "%" not in out.reasons[0].sentence


def test_a_reason_after_the_headline_below_one_percent_is_left_to_other():
    features = _features({"x": ["sci-fi", "space"]}, {"sci-fi": ["a", "b"], "space": ["f"]})
    told = _explain(features, {"x": {"a": 0.6, "b": 0.395, "f": 0.005}}, ["x"])["x"]
    assert [r.key for r in told.reasons] == ["sci-fi"]
    assert told.other == pytest.approx(0.005)


def test_reason_sentences_print_plain_percentages():
    features = _features({"x": ["sci-fi"]}, {"sci-fi": ["a", "b"]})
    told = _explain(features, {"x": {"a": 30.0, "b": 0.0001, "d": 1e-9}}, ["x"])["x"]
    text = " ".join(r.sentence for r in told.reasons) + wording.other_text(told.other)
    assert "e+" not in text and "e-" not in text
    assert "100%" in text or "99%" in text
