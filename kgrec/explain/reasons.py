r"""Reasons: the user's interactions grouped by what they share with a recommended item.

A model with an exact decomposition splits a score over the user's interactions,
:math:`\hat y_{ui} = \text{own} + \sum_{v \in N(u)} C(v)` (:mod:`kgrec.gnn.paths`). A
reason is a set of those interactions with something in common with the recommended item:

- ``tag``: the user's items that carry a tag the recommended item carries;
- ``entity``: the user's items linked to an entity the recommended item is linked to;
- ``item``: one interaction on its own.

Its contribution is the exact sum of its members' :math:`C(v)`, its share that sum over the
score, so "Aliens shares 'sci-fi' with 46 items you rated; together they carry 64% of its
score" is a statement about the model, not a heuristic. Reasons overlap (an item carries
several tags); :func:`union_share` gives what several reasons carry together, each
interaction counted once. Without a decomposition, reasons are ranked by their size and
carry no shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kgrec.explain import wording
from kgrec.explain.candidates import FEATURE_KIND, SharedFeatures, known_rating


@dataclass(frozen=True)
class ReasonItem:
    """One of the user's interactions inside a reason.

    Attributes:
        item_id, title: the item the user interacted with.
        rating: the user's rating of it (None: an interaction without a rating).
        contribution: :math:`C(v)`, what the score owes to this interaction (None without a
            decomposition).
    """

    item_id: str
    title: str
    rating: float | None
    contribution: float | None


@dataclass
class Reason:
    """A group of the user's interactions behind a recommendation (module docstring).

    Attributes:
        kind: ``tag`` | ``entity`` | ``item``.
        key: the tag's name, the entity's id, or the item's id.
        label: what a sentence calls it.
        items: the interactions in it, largest contribution first.
        contribution: the sum of their contributions (None without a decomposition).
        share: ``contribution / score`` (None without a decomposition).
        sentence: the reason told as one sentence.
        relation: an entity's relation to the recommended item.
        rated_well: how many of its interactions are rated at or above the user's mean.
    """

    kind: str
    key: str
    label: str
    items: list[ReasonItem]
    contribution: float | None
    share: float | None
    sentence: str = ""
    relation: str | None = None
    rated_well: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "label": self.label,
                "contribution": self.contribution, "share": self.share,
                "sentence": self.sentence, "relation": self.relation,
                "items": [{"item_id": m.item_id, "title": m.title, "rating": m.rating,
                           "contribution": m.contribution} for m in self.items]}  # fmt: skip


def union_share(reasons: Sequence[Reason], score: float) -> float | None:
    """What ``reasons`` carry together, each interaction counted once, over ``score``."""
    if not reasons or not score or any(r.contribution is None for r in reasons):
        return None
    members = {m.item_id: m.contribution or 0.0 for r in reasons for m in r.items}
    return sum(members.values()) / score


def user_mean_rating(history: Sequence[Mapping[str, Any]]) -> float | None:
    """The mean of the user's ratings (None: no ratings)."""
    ratings = [v for v in (known_rating(r.get("rating")) for r in history) if v is not None]
    return sum(ratings) / len(ratings) if ratings else None


def explain_reasons(
    features: SharedFeatures,
    history: Sequence[Mapping[str, Any]],
    titles: Mapping[str, str],
    scores: Mapping[str, float],
    contributions: Mapping[str, Mapping[str, float]] | None,
    max_reasons: int = 3,
) -> dict[str, list[Reason]]:
    """The best ``max_reasons`` reasons per item, by item id (largest share first).

    Args:
        features: the items' tags and entities and the user's items that carry them.
        history: the user's interactions (``user_items`` rows: ``item_id``, ``title``,
            ``rating``).
        titles, scores: item id -> title and the model's score, for each item to explain.
        contributions: item id -> :math:`C(v)` by the id of each of the user's items
            (:meth:`PathWeights.item_contributions`; None, or an item missing: reasons
            carry no shares).
    """
    by_id = {str(r["item_id"]): r for r in history}
    mean = user_mean_rating(history)
    out: dict[str, list[Reason]] = {}
    for item_id in titles:
        contrib = None if contributions is None else contributions.get(item_id)
        groups = [(FEATURE_KIND[f["relationship"]], f["key"], f["label"], f["relation"],
                   [v for v in features.carriers.get((FEATURE_KIND[f["relationship"]], f["key"]),
                                                     []) if v != item_id])
                  for f in features.of_item.get(item_id, [])]  # fmt: skip
        if contrib is not None:  # the interactions that carry most, each on its own
            best = sorted((v for v in contrib if v in by_id and v != item_id),
                          key=lambda v: -contrib[v])[:max_reasons]  # fmt: skip
            groups += [("item", v, str(by_id[v]["title"]), None, [v]) for v in best]
        reasons = [_reason(kind, key, label, relation, members, by_id, contrib,
                           scores.get(item_id, 0.0), mean, titles[item_id])
                   for kind, key, label, relation, members in groups if members]  # fmt: skip
        reasons.sort(key=lambda r: (-(r.contribution if r.contribution is not None
                                      else len(r.items)), r.kind, r.key))  # fmt: skip
        out[item_id] = reasons[:max_reasons]
    return out


def _reason(
    kind: str,
    key: str,
    label: str,
    relation: str | None,
    members: Sequence[str],
    history: Mapping[str, Mapping[str, Any]],
    contrib: Mapping[str, float] | None,
    score: float,
    mean: float | None,
    title: str,
) -> Reason:
    items = [ReasonItem(v, str(history[v]["title"]) if v in history else v,
                        known_rating(history[v].get("rating")) if v in history else None,
                        contrib.get(v, 0.0) if contrib is not None else None)
             for v in dict.fromkeys(members)]  # fmt: skip
    items.sort(key=lambda m: (-(m.contribution or 0.0), -(m.rating or 0.0), m.title))
    total = sum(m.contribution or 0.0 for m in items) if contrib is not None else None
    share = total / score if total is not None and score else None
    well = sum(1 for m in items if m.rating is not None and mean is not None and m.rating >= mean)
    reason = Reason(kind, key, label, items, total, share, relation=relation, rated_well=well)
    reason.sentence = wording.reason_sentence(reason, title, mean)
    return reason
