r"""Reasons: the user's interactions grouped by what they share with a recommended item.

A model with an exact decomposition splits a score over the user's interactions,
:math:`\hat y_{ui} = \text{own} + \sum_{v \in N(u)} C(v)` (:mod:`kgrec.gnn.models.paths`). A
reason is a set of those interactions with something in common with the recommended item:

- ``tag``: the user's items that carry a tag the recommended item carries;
- ``entity``: the user's items linked to an entity the recommended item is linked to;
- ``item``: one interaction on its own.

**Shares.** Terms can be negative, so a share is taken over the *positive* terms of the
split, :math:`B = \max(\text{own}, 0) + \sum_v \max(C(v), 0)` (:func:`share_basis`): a
reason's share is the sum of its members' :math:`C(v)` over :math:`B`, always in
``[0, 1]``. What the negative terms take away is told apart (``against``).

**Only support, each term once.** A reason holds only interactions that support the item:
:math:`C(v) > 0` and rated at or above the user's own mean rating (or without a rating). An
interaction rated below the mean is never presented as support; it falls into "other".
Reasons are chosen greedily, the largest first, and each interaction joins at most one
reason (the one chosen first among those it belongs to), so the reasons of an item are
disjoint and their shares add up to at most 100%; the rest is :attr:`ItemReasons.other`.
A reason after the headline that carries less than ``MIN_SHARE`` (1%) is left to "other".

**Distinct along a list.** :func:`explain_reasons` reads the items in rank order; an item
whose best reason is already the headline of an item higher in the list leads with its
best unused reason instead, when that one carries at least ``1 / DISTINCT_WITHIN`` of the
best's share. Without a decomposition, reasons are ranked by their number of supporting
interactions and carry no shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
        share: ``contribution`` over the positive terms of the score (:func:`share_basis`;
            None without a decomposition).
        sentence: the reason told as one sentence.
        relation: an entity's relation to the recommended item.
        rated_well: how many of its interactions carry a rating (all of them at or above
            the user's mean: a reason holds supporting interactions only).
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
        return {
            "kind": self.kind,
            "key": self.key,
            "label": self.label,
            "contribution": self.contribution,
            "share": self.share,
            "sentence": self.sentence,
            "relation": self.relation,
            "items": [
                {
                    "item_id": m.item_id,
                    "title": m.title,
                    "rating": m.rating,
                    "contribution": m.contribution,
                }
                for m in self.items
            ],
        }


#: An item leads with a reason not already a headline higher in the list when that reason
#: carries at least 1 / DISTINCT_WITHIN of the best reason's share.
DISTINCT_WITHIN = 2.0
#: A reason after the headline is told only when it carries at least this share (with shares);
#: smaller ones are left to "other".
MIN_SHARE = 0.01
#: Reason kinds in the order ties are broken.
_KIND_ORDER = {"tag": 0, "entity": 1, "item": 2}


@dataclass
class ItemReasons:
    """One item's reasons and what they leave out, as shares of the positive terms.

    Attributes:
        reasons: disjoint, the headline first, the rest largest first.
        basis: the positive terms of the score (:func:`share_basis`; None: no shares).
        shown: what the reasons carry together (None without shares).
        other: ``1 - shown``: the positive terms no reason names (the user's own state,
            interactions rated below their mean, the ones no reason reached).
        against: what the negative terms take away, as a share of ``basis`` (>= 0).
    """

    reasons: list[Reason] = field(default_factory=list)
    basis: float | None = None
    shown: float | None = None
    other: float | None = None
    against: float | None = None


def share_basis(score: float, contributions: Mapping[str, float] | None) -> float | None:
    r"""The positive terms of ``score``'s split over the user's interactions.

    ``contributions`` holds :math:`C(v)` by item id; the rest of the score,
    ``score - sum(C)``, is the user's own term (and edges to anything but items):
    :math:`B = \max(\text{rest}, 0) + \sum_v \max(C(v), 0)`. None without contributions or
    when no term is positive.
    """
    if contributions is None:
        return None
    values = list(contributions.values())
    rest = float(score) - float(sum(values))
    total = max(rest, 0.0) + float(sum(c for c in values if c > 0))
    return total if total > 0 else None


def against_share(
    score: float, contributions: Mapping[str, float] | None, basis: float | None
) -> float | None:
    """What the negative terms take away, over ``basis`` (None without a basis)."""
    if contributions is None or not basis:
        return None
    values = list(contributions.values())
    rest = float(score) - float(sum(values))
    return (-min(rest, 0.0) - float(sum(c for c in values if c < 0))) / basis


def union_share(reasons: Sequence[Reason], basis: float | None) -> float | None:
    """What ``reasons`` carry together over ``basis``, each interaction counted once."""
    if not reasons or not basis or any(r.contribution is None for r in reasons):
        return None
    members = {m.item_id: m.contribution or 0.0 for r in reasons for m in r.items}
    return sum(members.values()) / basis


def user_mean_rating(history: Sequence[Mapping[str, Any]]) -> float | None:
    """The mean of the user's ratings (None: no ratings)."""
    ratings = [v for v in (known_rating(r.get("rating")) for r in history) if v is not None]
    return sum(ratings) / len(ratings) if ratings else None


def supports(rating: float | None, mean: float | None) -> bool:
    """An interaction may be told as support: no rating, or at or above the user's mean."""
    return rating is None or mean is None or rating >= mean


def explain_reasons(
    features: SharedFeatures,
    history: Sequence[Mapping[str, Any]],
    titles: Mapping[str, str],
    scores: Mapping[str, float],
    contributions: Mapping[str, Mapping[str, float]] | None,
    max_reasons: int = 3,
    within: float = DISTINCT_WITHIN,
) -> dict[str, ItemReasons]:
    """Up to ``max_reasons`` disjoint reasons per item, by item id (module docstring).

    Args:
        features: the items' tags and entities and the user's items that carry them.
        history: the user's interactions (``user_items`` rows: ``item_id``, ``title``,
            ``rating``).
        titles, scores: item id -> title and the model's score, for each item to explain,
            in rank order (the order the headlines are kept distinct in).
        contributions: item id -> :math:`C(v)` by the id of each of the user's items
            (:meth:`PathWeights.item_contributions`; None, or an item missing: reasons
            carry no shares).
        within: an unused reason leads when its share is at least ``1 / within`` of the
            best's (1: only on a tie).
    """
    by_id = {str(r["item_id"]): r for r in history}
    mean = user_mean_rating(history)
    rating = {v: known_rating(r.get("rating")) for v, r in by_id.items()}
    used: set[tuple[str, str]] = set()
    out: dict[str, ItemReasons] = {}
    for item_id in titles:
        contrib = None if contributions is None else contributions.get(item_id)
        score = scores.get(item_id, 0.0)
        basis = share_basis(score, contrib)
        eligible = {
            v
            for v in by_id
            if v != item_id
            and supports(rating[v], mean)
            and (contrib is None or contrib.get(v, 0.0) > 0)
        }
        groups = [
            (
                FEATURE_KIND[f["relationship"]],
                f["key"],
                f["label"],
                f["relation"],
                [
                    v
                    for v in features.carriers.get((FEATURE_KIND[f["relationship"]], f["key"]), [])
                    if v in eligible
                ],
            )
            for f in features.of_item.get(item_id, [])
        ]
        if contrib is not None:  # every supporting interaction may also stand on its own
            groups += [("item", v, str(by_id[v]["title"]), None, [v]) for v in sorted(eligible)]
        picked = _pick(groups, contrib, used, max_reasons, within)
        if picked:
            used.add((picked[0][0], picked[0][1]))
        reasons = [
            _reason(
                kind, key, label, relation, members, by_id, contrib, basis, mean, titles[item_id]
            )
            for kind, key, label, relation, members in picked
        ]
        reasons = reasons[:1] + [r for r in reasons[1:] if r.share is None or r.share >= MIN_SHARE]
        shown = union_share(reasons, basis) if basis else None
        out[item_id] = ItemReasons(
            reasons,
            basis,
            shown,
            None if shown is None else max(1.0 - shown, 0.0),
            against_share(score, contrib, basis),
        )
    return out


_Group = tuple[str, str, str, "str | None", list[str]]


def _pick(
    groups: Sequence[_Group],
    contrib: Mapping[str, float] | None,
    used: set[tuple[str, str]],
    max_reasons: int,
    within: float,
) -> list[_Group]:
    """Greedy disjoint reasons: each step takes the group whose members not yet taken carry
    most (without contributions: are most), the first step preferring a group not in
    ``used`` within a factor ``within``. Returns the groups with their untaken members."""
    taken: set[str] = set()
    picked: list[_Group] = []

    def value(members: Sequence[str]) -> float:
        rest = [v for v in members if v not in taken]
        return (
            float(sum(contrib.get(v, 0.0) for v in rest))
            if contrib is not None
            else float(len(rest))
        )

    while len(picked) < max_reasons:
        ranked = sorted(
            ((value(g[4]), g) for g in groups),
            key=lambda t: (-t[0], _KIND_ORDER.get(t[1][0], 3), t[1][1]),
        )
        ranked = [(val, g) for val, g in ranked if val > 0]
        if not ranked:
            break
        best_value, best = ranked[0]
        if not picked and (best[0], best[1]) in used:
            fresh = [
                g for val, g in ranked if (g[0], g[1]) not in used and val * within >= best_value
            ]
            best = fresh[0] if fresh else best
        members = [v for v in best[4] if v not in taken]
        taken.update(members)
        picked.append((best[0], best[1], best[2], best[3], members))
    return picked


def _reason(
    kind: str,
    key: str,
    label: str,
    relation: str | None,
    members: Sequence[str],
    history: Mapping[str, Mapping[str, Any]],
    contrib: Mapping[str, float] | None,
    basis: float | None,
    mean: float | None,
    title: str,
) -> Reason:
    items = [
        ReasonItem(
            v,
            str(history[v]["title"]) if v in history else v,
            known_rating(history[v].get("rating")) if v in history else None,
            contrib.get(v, 0.0) if contrib is not None else None,
        )
        for v in dict.fromkeys(members)
    ]
    items.sort(key=lambda m: (-(m.contribution or 0.0), -(m.rating or 0.0), m.title))
    total = sum(m.contribution or 0.0 for m in items) if contrib is not None else None
    share = total / basis if total is not None and basis else None
    rated = sum(1 for m in items if m.rating is not None)
    reason = Reason(kind, key, label, items, total, share, relation=relation, rated_well=rated)
    reason.sentence = wording.reason_sentence(reason, title, mean)
    return reason
