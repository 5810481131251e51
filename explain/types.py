"""The public result types: recommendations, their explanations and the paths behind them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kgrec.explain import wording

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd

    from kgrec.explain.reasons import Reason


@dataclass(frozen=True)
class Node:
    """A node on a path: ``kind`` is user / item / tag / entity."""

    kind: str
    id: str
    label: str


@dataclass(frozen=True)
class CandidatePath:
    """A path from the store, before weighting: what a sentence needs to tell it.

    Attributes:
        kind: ``co_users`` | ``shared_tag`` | ``user_tag`` | ``entity``.
        nodes: user first, recommended item last.
        relationships: relationship types between consecutive nodes.
        rating: the user's rating of ``nodes[1]`` (None: an interaction without rating).
        relation: the ``RELATED`` relation of an entity path.
        co_users: how many other users a ``co_users`` path stands for.
        tagged_title: the item a ``user_tag`` path's user tagged.
    """

    kind: str
    nodes: tuple[Node, ...]
    relationships: tuple[str, ...]
    rating: float | None = None
    relation: str | None = None
    co_users: int = 1
    tagged_title: str | None = None


@dataclass
class ExplanationPath:
    """One path from the user to the recommended item.

    Attributes:
        kind: ``co_users`` | ``shared_tag`` | ``user_tag`` | ``entity``. A ``co_users``
            path names one other user but stands for all who chose both items: its
            contribution is theirs together.
        nodes: user first, recommended item last.
        relationships: relationship types between consecutive nodes.
        contribution: the path's exact term of the model score (0 when the model's graph
            lacks one of its edges). A model without walks (``ease``) splits its score over
            the user's interactions only: each interaction's term :math:`C(v)` is divided
            evenly among the paths found that leave through it
            (:meth:`~kgrec.explain.weights.PathWeights.contributions`).
        share: ``contribution`` over the positive terms of the score
            (:attr:`Explanation.share_basis`; None without an exact decomposition).
        sentence: the path told as one sentence.
        interaction_share: the share of the score owed to the user's first edge on the path
            (the interaction with ``nodes[1]``, all walks through it:
            :meth:`~kgrec.gnn.models.paths.PathScorer.first_hop_contributions`), over the same
            positive terms; paths are ranked by it first, then by ``share``. None without an
            exact decomposition.
    """

    kind: str
    nodes: list[Node]
    relationships: list[str]
    contribution: float
    share: float | None
    sentence: str
    interaction_share: float | None = None

    def shares_text(self) -> str:
        """``[Alien: 4% of the score; this path: 1%]``, or ``''`` without shares."""
        return wording.shares_text(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "nodes": [{"kind": n.kind, "id": n.id, "label": n.label} for n in self.nodes],
            "relationships": list(self.relationships),
            "contribution": self.contribution,
            "share": self.share,
            "interaction_share": self.interaction_share,
            "sentence": self.sentence,
        }


@dataclass(frozen=True)
class ScoreDecomposition:
    """A user-item score split exactly two ways by the model's own propagation.

    ``user_own + sum(interactions.values()) == score`` (by the user's edges) and
    ``own_states + paths + unjoined == score`` (by walk pairs); see :mod:`kgrec.gnn.models.paths`.

    Attributes:
        score: the model's score.
        user_own: what the user's own initial state carries.
        interactions: what each edge of the user carries, by neighbour id (an item id).
        own_states: what the user's and the item's own initial states carry.
        paths: what every path of up to three hops of the model's graph carries together.
        unjoined: what neighbour pairs no such path joins carry.
    """

    score: float
    user_own: float
    interactions: dict[str, float]
    own_states: float
    paths: float
    unjoined: float


@dataclass
class Explanation:
    """Why ``item_id`` was scored ``score`` for ``user_id``.

    Attributes:
        reasons: the user's interactions grouped by what they share with the item, disjoint
            (each interaction in one reason at most), only interactions that support the
            item (a positive term, rated at or above the user's mean), the headline first
            (:mod:`kgrec.explain.reasons`; may be empty).
        reasons_share: what the reasons carry together (their shares add up to it, at most
            1; None without an exact decomposition).
        share_basis: what every share is taken over: the sum of the positive terms of the
            score's split over the user's interactions (the user's own term included), so
            shares lie in ``[0, 1]`` (None without an exact decomposition).
        other_share: ``1 - reasons_share``: the positive terms no reason names.
        against_share: what the negative terms take away, over ``share_basis``.
        paths: the best paths, highest share first (may be empty).
        explained_share: the share carried by the interactions the paths found leave
            through (all of them, not only those kept; for LightGCN every 3-hop path of the
            model's graph, otherwise shared tags and entities and the co-users found), each
            interaction once, over ``share_basis``. None without an exact decomposition.
        num_paths: how many paths were found.
        note: where the score came from when no path exists, else a short summary.
        seen: the user already interacted with the item.
        own_rating: their rating of it (None: not seen, or seen without a rating).
        decomposition: the exact split of the score (None without an exact path
            decomposition or for a user the model has not seen).
    """

    user_id: str
    item_id: str
    title: str
    score: float
    paths: list[ExplanationPath] = field(default_factory=list)
    explained_share: float | None = None
    num_paths: int = 0
    note: str = ""
    decomposition: ScoreDecomposition | None = None
    reasons: list[Reason] = field(default_factory=list)
    reasons_share: float | None = None
    share_basis: float | None = None
    other_share: float | None = None
    against_share: float | None = None
    seen: bool = False
    own_rating: float | None = None

    @property
    def sentence(self) -> str:
        """The top reason's sentence, else the top path's, else the note; first the user's
        own rating when they already rated the item."""
        text = (
            self.reasons[0].sentence
            if self.reasons
            else self.paths[0].sentence
            if self.paths
            else self.note
        )
        return f"{self.own_sentence} {text}".strip()

    @property
    def other_sentence(self) -> str:
        """What the reasons leave out ('The rest, 36%, comes from ...'), else ''."""
        if not self.reasons:
            return ""
        return wording.other_text(self.other_share, self.against_share)

    @property
    def own_sentence(self) -> str:
        """The user's own rating told ('You rated Aliens 4.5 yourself.'), else ''."""
        return wording.own_rating_text(self.title, self.own_rating) if self.seen else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "item_id": self.item_id,
            "title": self.title,
            "score": self.score,
            "sentence": self.sentence,
            "seen": self.seen,
            "own_rating": self.own_rating,
            "reasons": [r.to_dict() for r in self.reasons],
            "reasons_share": self.reasons_share,
            "other_share": self.other_share,
            "against_share": self.against_share,
            "share_basis": self.share_basis,
            "explained_share": self.explained_share,
            "num_paths": self.num_paths,
            "note": self.note,
            "paths": [p.to_dict() for p in self.paths],
        }

    def to_html(self, title: str | None = None) -> str:
        """The explanation drawn as one self-contained HTML page (:mod:`kgrec.explain.html`)."""
        from kgrec.explain.html import render_explanation_html

        return render_explanation_html(self, title)

    def to_networkx(self) -> nx.MultiDiGraph:
        """The explanation subgraph as a ``networkx.MultiDiGraph``.

        Nodes are ``"kind:id"`` with attributes kind, id, label; edges carry ``type`` and the
        ``share`` of the path they first appear on.
        """
        import networkx as nx

        graph = nx.MultiDiGraph(user_id=self.user_id, item_id=self.item_id, score=self.score)
        seen: set[tuple[str, str, str]] = set()
        for path in self.paths:
            for node in path.nodes:
                graph.add_node(
                    f"{node.kind}:{node.id}", kind=node.kind, id=node.id, label=node.label
                )
            pairs = zip(path.nodes[:-1], path.nodes[1:], strict=True)
            for (a, b), rel in zip(pairs, path.relationships, strict=True):
                src, dst = _direction(a, b)
                key = (src, dst, rel)
                if key not in seen:
                    seen.add(key)
                    graph.add_edge(src, dst, type=rel, share=path.share)
        return graph


_FORWARD = {("user", "item"), ("item", "tag"), ("user", "tag"), ("item", "entity")}


def _direction(a: Node, b: Node) -> tuple[str, str]:
    """Stored direction of a relationship between two path nodes."""
    src, dst = (a, b) if (a.kind, b.kind) in _FORWARD else (b, a)
    return f"{src.kind}:{src.id}", f"{dst.kind}:{dst.id}"


@dataclass
class Recommendation:
    """One recommended item; ``explanation`` is None when ``explain=False``."""

    rank: int
    item_id: str
    title: str
    score: float
    explanation: Explanation | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"rank": self.rank, "item_id": self.item_id, "title": self.title, "score": self.score}
        if self.explanation is not None:
            out["explanation"] = self.explanation.to_dict()
        return out


class Recommendations(list[Recommendation]):
    """A list of :class:`Recommendation` from one model version; converts to a DataFrame.

    Attributes:
        model_version: the model version directory's name the scores came from.
        based_on: for someone new, what the scores were made from: ``liked`` and/or
            ``text`` (empty: the most popular items; empty too for a known user).
    """

    def __init__(
        self,
        items: Iterable[Recommendation] = (),
        model_version: str | None = None,
        based_on: Sequence[str] = (),
    ) -> None:
        super().__init__(items)
        self.model_version = model_version
        self.based_on = tuple(based_on)

    def to_frame(self) -> pd.DataFrame:
        """One row per item: rank, item_id, title, score, explanation (the headline
        sentence), explained_share, reasons_share, num_paths."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "rank": r.rank,
                    "item_id": r.item_id,
                    "title": r.title,
                    "score": r.score,
                    "explanation": r.explanation.sentence if r.explanation else None,
                    "explained_share": r.explanation.explained_share if r.explanation else None,
                    "reasons_share": r.explanation.reasons_share if r.explanation else None,
                    "num_paths": r.explanation.num_paths if r.explanation else None,
                }
                for r in self
            ],
            columns=[
                "rank",
                "item_id",
                "title",
                "score",
                "explanation",
                "explained_share",
                "reasons_share",
                "num_paths",
            ],
        )

    def to_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self]
