"""How good are the explanations? Coverage, path length, reason shares and faithfulness.

Reasons (:mod:`kgrec.explain.reasons`): the share of the score the top reason carries, what
the top three carry together (each interaction once), and how often the top reason's
interactions are rated at or above the user's mean rating.

What a reader sees (targets in brackets): per item, the sum of the shares its reasons show
(max and mean; <= 100%: the reasons are disjoint shares of the positive terms); the share of
reasons that rest on an interaction rated below the user's mean (0%: such interactions are
never told as support); the number of distinct headline reasons in one list of ``k``
(mean and min; >= 5 for ``k = 10``); and how many explanations carry ``explained_share``.

Faithfulness: remove the interactions an explanation points at from the user's history,
recompute the score without retraining, and compare the drop with removing as many random
other interactions of the same user. For the top reason, all its interactions; for the top
path, its first interaction. Faithful explanations point at what the score rests on, so the
first drop should be clearly larger on average. The score without some interactions is
exact for a model whose user vectors are a function of the history (``ease``:
:meth:`~kgrec.gnn.models.model.EmbeddingModel.history_vector` of what remains) and is the
model's :meth:`~kgrec.gnn.models.model.EmbeddingModel.score_without` otherwise (LightGCN: a
full propagation over the reduced graph, degrees re-normalised).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from kgrec.core.errors import KgrecError
from kgrec.explain.reasons import union_share, user_mean_rating
from kgrec.explain.types import Recommendations
from kgrec.explain.weights import PathWeights
from kgrec.gnn.models.model import EmbeddingModel
from kgrec.kg.store import GraphStore
from kgrec.queries.runner import run_query

log = logging.getLogger(__name__)

#: ``score_without(user_id, item_id, removed_item_ids) -> score``.
ScoreWithout = Callable[[str, str, Sequence[str]], float]


@dataclass
class QualityReport:
    """Explanation quality over a sample of users (see the module docstring).

    Shares are medians over the recommendations; drops are means over the pairs; the
    reader's measures are as the module docstring says (shares as fractions).
    """

    users: int
    recommendations: int
    coverage: float
    mean_path_length: float
    median_top_reason_share: float
    median_top3_reasons_share: float
    top_reason_rated_well: float
    max_shown_share_sum: float
    mean_shown_share_sum: float
    reasons_below_mean: float
    mean_distinct_reasons: float
    min_distinct_reasons: int
    explained_share_filled: float
    reason_pairs: int
    mean_drop_top_reason: float
    mean_drop_random_reason: float
    top_reason_beats_random: float
    faithfulness_pairs: int
    mean_drop_top_path: float
    mean_drop_random: float
    top_beats_random: float

    def as_dict(self) -> dict[str, float]:
        """The measures by name."""
        return dict(self.__dict__)

    def targets(self, k: int = 10) -> dict[str, dict[str, Any]]:
        """The reader's measures against their targets: ``{measure: {target, value, met}}``.

        The sum of the shares shown for an item at most 100%, no reason resting on an
        interaction rated below the user's mean, and at least ``k / 2`` distinct headline
        reasons per list of ``k`` on average (5 for a list of 10).
        """
        bounds = (
            ("max_shown_share_sum", "<=", 1.0),
            ("reasons_below_mean", "<=", 0.0),
            ("mean_distinct_reasons", ">=", k / 2),
        )
        out: dict[str, dict[str, Any]] = {}
        for name, op, bound in bounds:
            value = float(getattr(self, name))
            met = value <= bound + 1e-9 if op == "<=" else value >= bound
            out[name] = {"target": f"{op} {bound:g}", "value": value, "met": met}
        return out


class ExplainedRecommender(Protocol):
    """What the measures need of a recommender (:class:`kgrec.Recommender` has it)."""

    @property
    def user_ids(self) -> Sequence[str]:
        """The users the model knows."""
        ...

    @property
    def weights(self) -> PathWeights | None:
        """The exact path weights (None: the model has no decomposition)."""
        ...

    @property
    def model(self) -> EmbeddingModel:
        """The live model."""
        ...

    @property
    def store(self) -> GraphStore:
        """The graph store."""
        ...

    @property
    def item_ids(self) -> Sequence[str]:
        """The items served, in the order of :attr:`item_emb`."""
        ...

    @property
    def item_emb(self) -> np.ndarray:
        """The items' vectors."""
        ...

    def recommend(self, user_id: str, k: int = 10, explain: bool = True) -> Recommendations:
        """The ``k`` best items for a user, explained."""
        ...


def score_without(rec: ExplainedRecommender) -> ScoreWithout:
    """How the live model scores a user's item once some of the user's interactions are
    gone, without retraining (module docstring).

    Raises:
        KgrecError: the live model has no exact decomposition to test.
    """
    model, weights = rec.model, rec.weights
    if weights is None:
        raise KgrecError(
            f"explanation quality needs a model with an exact decomposition "
            f"(ease, lightgcn), not {type(model).__name__}"
        )
    item_index = {v: j for j, v in enumerate(rec.item_ids)}
    by_history: list[bool] = []  # the model's user vectors are a function of the history

    def score(user_id: str, item_id: str, removed: Sequence[str]) -> float:
        if not by_history or by_history[0]:  # the first call tells
            gone = set(removed)
            rows = [
                r
                for r in run_query(rec.store, "user_items", {"user_id": user_id})
                if r["item_id"] in item_index and r["item_id"] not in gone
            ]
            got = model.history_vector_of_rows(rows, item_index)
            by_history[:] = [got is not None]
            if got is not None:
                return float(np.asarray(got[0]) @ rec.item_emb[item_index[item_id]])
        u, i = weights.node("user", user_id), weights.node("item", item_id)
        nodes = [weights.node("item", v) for v in removed]
        if u is None or i is None:
            raise KgrecError(f"user {user_id!r} or item {item_id!r} is not in the model")
        value = model.score_without(u, i, [n for n in nodes if n is not None])
        if value is None:
            raise KgrecError(
                f"explanation quality has no score without interactions for {type(model).__name__}"
            )
        return value

    return score


def explanation_quality(
    rec: ExplainedRecommender,
    num_users: int = 50,
    k: int = 10,
    seed: int = 0,
    show_progress: bool = False,
) -> QualityReport:
    """Measure coverage, path length, reason shares and faithfulness over ``num_users``
    users the model knows.

    Args:
        rec: an open :class:`kgrec.Recommender` whose live model has an exact
            decomposition (``ease``, ``lightgcn``).

    Raises:
        KgrecError: the live model has no exact decomposition.
    """
    from tqdm.auto import tqdm

    without = score_without(rec)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(rec.user_ids), size=min(num_users, len(rec.user_ids)), replace=False)
    total = covered = 0
    lengths: list[int] = []
    top_shares: list[float] = []
    top3_shares: list[float] = []
    rated_well: list[bool] = []
    shown_sums: list[float] = []
    reasons_told = reasons_below = filled = 0
    distinct: list[int] = []
    drops: dict[str, list[float]] = {
        "reason": [],
        "reason_random": [],
        "path": [],
        "path_random": [],
    }
    for u in tqdm(sample, desc="users", disable=not show_progress):
        user_id = rec.user_ids[u]
        history = run_query(rec.store, "user_items", {"user_id": user_id})
        known = sorted({r["item_id"] for r in history} & set(rec.item_ids))
        mean = user_mean_rating(history)
        headlines: set[tuple[str, str]] = set()
        for r in rec.recommend(user_id, k=k, explain=True):
            total += 1
            ex = r.explanation
            if ex is None:
                continue
            covered += bool(ex.paths or ex.reasons)
            filled += ex.explained_share is not None
            if ex.reasons:
                headlines.add((ex.reasons[0].kind, ex.reasons[0].key))
                if all(x.share is not None for x in ex.reasons):
                    shown_sums.append(float(sum(x.share or 0.0 for x in ex.reasons)))
            for x in ex.reasons:
                reasons_told += 1
                reasons_below += any(
                    m.rating is not None and mean is not None and m.rating < mean for m in x.items
                )
            if ex.paths:
                lengths.append(len(ex.paths[0].nodes) - 1)
            if ex.reasons and ex.reasons[0].share is not None:
                top = ex.reasons[0]
                top_shares.append(float(top.share or 0.0))
                top3_shares.append(float(union_share(ex.reasons[:3], ex.share_basis) or 0.0))
                ratings = [m.rating for m in top.items if m.rating is not None]
                if ratings and mean is not None:
                    rated_well.append(float(np.mean(ratings)) >= mean)
                members = [m.item_id for m in top.items if m.item_id in known]
                _compare(
                    without,
                    user_id,
                    r.item_id,
                    r.score,
                    members,
                    known,
                    rng,
                    drops["reason"],
                    drops["reason_random"],
                )
            if ex.paths and ex.paths[0].nodes[1].kind == "item":
                via = ex.paths[0].nodes[1].id
                if via in known:
                    _compare(
                        without,
                        user_id,
                        r.item_id,
                        r.score,
                        [via],
                        known,
                        rng,
                        drops["path"],
                        drops["path_random"],
                    )

        distinct.append(len(headlines))

    def mean_of(values: list[float]) -> float:
        return float(np.mean(values)) if values else 0.0

    def beats(a: list[float], b: list[float]) -> float:
        return float((np.array(a) > np.array(b)).mean()) if a else 0.0

    return QualityReport(
        users=len(sample),
        recommendations=total,
        coverage=covered / total if total else 0.0,
        mean_path_length=mean_of([float(n) for n in lengths]),
        median_top_reason_share=float(np.median(top_shares)) if top_shares else 0.0,
        median_top3_reasons_share=float(np.median(top3_shares)) if top3_shares else 0.0,
        top_reason_rated_well=mean_of([float(x) for x in rated_well]),
        max_shown_share_sum=max(shown_sums, default=0.0),
        mean_shown_share_sum=mean_of(shown_sums),
        reasons_below_mean=reasons_below / reasons_told if reasons_told else 0.0,
        mean_distinct_reasons=mean_of([float(n) for n in distinct]),
        min_distinct_reasons=min(distinct, default=0),
        explained_share_filled=filled / total if total else 0.0,
        reason_pairs=len(drops["reason"]),
        mean_drop_top_reason=mean_of(drops["reason"]),
        mean_drop_random_reason=mean_of(drops["reason_random"]),
        top_reason_beats_random=beats(drops["reason"], drops["reason_random"]),
        faithfulness_pairs=len(drops["path"]),
        mean_drop_top_path=mean_of(drops["path"]),
        mean_drop_random=mean_of(drops["path_random"]),
        top_beats_random=beats(drops["path"], drops["path_random"]),
    )


def _compare(
    without: ScoreWithout,
    user_id: str,
    item_id: str,
    score: float,
    members: list[str],
    known: list[str],
    rng: np.random.Generator,
    top: list[float],
    random: list[float],
) -> None:
    """Append the drop from removing ``members`` and from as many random other items."""
    others = [v for v in known if v not in set(members)]
    if not members or len(others) < len(members):
        return
    picked = [others[j] for j in rng.choice(len(others), size=len(members), replace=False)]
    top.append(score - without(user_id, item_id, members))
    random.append(score - without(user_id, item_id, picked))
