"""The Python API: path-explained recommendations from the live model and the graph store.

    >>> from kgrec import Recommender
    >>> with Recommender.open() as rec:                      # default store and live model
    ...     for r in rec.recommend("1", k=5):
    ...         print(r.rank, r.title, r.explanation.sentence)

Scores come from the live model's embeddings, held in memory; explanation paths come from
the store (Cypher) and are weighted by the model (:mod:`kgrec.gnn.models.paths`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kgrec.app.explaining import explain_served
from kgrec.app.live import Catalogue
from kgrec.app.served import ServedModel
from kgrec.core.checks import check_k
from kgrec.core.errors import InvalidParameter, KgrecError, UnknownIdError
from kgrec.core.ranking import top_k
from kgrec.core.settings import Settings
from kgrec.explain import wording
from kgrec.explain.candidates import SharedFeatures
from kgrec.explain.types import Explanation, Recommendation, Recommendations
from kgrec.explain.weights import PathWeights


class RecommendationBatch(dict[str, Recommendations]):
    """What :meth:`Recommender.recommend_many` answers: ``{user_id: Recommendations}`` for the
    users answered, and ``errors``, ``{user_id: error}`` for those that could not be (an
    unknown id), so one bad id does not fail the batch.
    """

    def __init__(self, errors: dict[str, KgrecError] | None = None) -> None:
        super().__init__()
        self.errors: dict[str, KgrecError] = dict(errors or {})

    def result(self, user_id: str) -> Recommendations:
        """The recommendations of ``user_id``, or its error raised."""
        if user_id in self.errors:
            raise self.errors[user_id]
        return self[user_id]


class Recommender(ServedModel):
    """Recommendations, explanations and similar items for one store and its live model.

    Behaviour recorded with :meth:`record_interaction` shows in the very next
    :meth:`recommend` without retraining: a user's vector is folded in over their current
    interactions (exactly for a history model such as ``ease``; LightGCN by
    :mod:`kgrec.gnn.inductive.foldin`), and items added with :meth:`add_item`
    get vectors from their text and tags. Other processes' changes are seen within
    ``refresh_seconds`` (a read of the store's change counter).

    Args:
        store: an open store (closed by :meth:`close`).
        model_dir: the model root holding ``live``.
        embedding_model: text model for :meth:`recommend_for_new_user` with ``text`` and
            for :meth:`add_item`.
        cache_dir: embedding cache.
        refresh_seconds: how often to read the store's change counter (0: every call).

    Attributes:
        version: the live model version's name (``Recommendations.model_version``).
        user_ids: the model's users, in its local index order.
        item_ids: the items served: the model's, then those added since.
        model: the live model.
        weights: the model's exact path weights (None: the model has no exact path
            decomposition).
    """

    @classmethod
    def open(
        cls,
        store: str | None = None,
        model_dir: str | Path | None = None,
        graph: str | None = None,
        refresh_seconds: float | None = None,
    ) -> Recommender:
        """Open on a store URI and model directory (CLI flags > ``KGREC_*`` env > defaults;
        ``refresh_seconds``: ``KGREC_REFRESH_SECONDS``, default 1)."""
        from kgrec.app.store import opened

        settings = Settings.resolve(
            store=store, graph=graph, model_dir=model_dir, refresh_seconds=refresh_seconds
        )
        handle = opened(settings)
        try:
            return cls(
                handle,
                settings.model_dir,
                settings.embedding_model,
                settings.cache_dir,
                settings.refresh_seconds,
            )
        except BaseException:
            handle.close()
            raise

    def __enter__(self) -> Recommender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Recommender({self.store.uri!r}, model={self.version!r})"

    # public API ---------------------------------------------------------------------------
    def recommend(
        self,
        user_id: str,
        k: int = 10,
        explain: bool = True,
        exclude_seen: bool = True,
        tags: Sequence[str] | None = None,
        exclude_items: Sequence[str] | None = None,
    ) -> Recommendations:
        """The ``k`` best items for a user, each with its explanation paths.

        Args:
            user_id: a user in the store. A user the model knows is scored with their
                trained vector, or, once interactions were recorded for them, with the
                vector folded in over all their current interactions; a user the model has
                not seen is folded in from their interactions; one without interactions
                gets popular items.
            k: how many; fewer come back when the catalogue (after filters) is smaller.
            explain: attach explanation paths.
            exclude_seen: leave out items the user already interacted with.
            tags: only items carrying at least one of these tags.
            exclude_items: item ids to leave out.

        Returns:
            Best first; ``model_version`` names the model the scores came from.

        Raises:
            UnknownIdError: the user is not in the store.
            UnknownTagError: a tag is on no item (the message names close matches).
            InvalidParameter: ``k`` is not an integer >= 1.
        """
        batch = self.recommend_many([user_id], k, explain, exclude_seen, tags, exclude_items)
        return batch.result(str(user_id))

    def recommend_many(
        self,
        user_ids: Sequence[str],
        k: int = 10,
        explain: bool = True,
        exclude_seen: bool = True,
        tags: Sequence[str] | None = None,
        exclude_items: Sequence[str] | None = None,
    ) -> RecommendationBatch:
        """:meth:`recommend` for many users at once, scored in one matrix product.

        Args as :meth:`recommend`; the filters apply to every user. An unknown user does not
        fail the batch: its error is in ``errors``, the others are answered.

        Returns:
            ``{user_id: Recommendations}`` for the users answered, in the order of
            ``user_ids`` (ids as strings); ``.errors``: ``{user_id: UnknownIdError}``.

        Raises:
            UnknownTagError, InvalidParameter: as :meth:`recommend` (they concern every
                user).
        """
        k = check_k(k)
        cat = self._current()
        errors: dict[str, KgrecError] = {}
        known: dict[str, list[dict[str, Any]]] = {}
        for user_id in dict.fromkeys(str(u) for u in user_ids):
            try:
                known[user_id] = self._user_history(user_id)
            except UnknownIdError as e:
                errors[user_id] = e
        users, histories = list(known), list(known.values())
        allowed = self._allowed_items(tags, cat) if tags else None
        if not users:
            return RecommendationBatch(errors=errors)
        excluded = [cat.index[str(i)] for i in exclude_items or () if str(i) in cat.index]
        vectors, sources, folds, banned = [], [], [], []
        for user_id, history in zip(users, histories, strict=True):
            vector, source, folded = self._user_vector(user_id, history, cat)
            vectors.append(vector)
            sources.append(source)
            folds.append(folded)
            seen = [cat.index[r["item_id"]] for r in history if r["item_id"] in cat.index]
            banned.append(np.array((seen if exclude_seen else []) + excluded, dtype=np.int64))
        scores = np.tile(cat.popularity.astype(np.float64), (len(users), 1))
        rows = [n for n, v in enumerate(vectors) if v is not None]
        if rows:
            scores[rows] = np.stack([v for v in vectors if v is not None]) @ cat.emb.T
        if allowed is not None:
            outside = np.ones(len(cat.ids), dtype=bool)
            outside[allowed] = False
            scores[:, outside] = -np.inf
        top, _ = top_k(scores, k, banned)
        kept = [[int(j) for j in row if j >= 0] for row in top]
        features = {  # explanations' features, read while the titles are
            user_id: SharedFeatures.reading(self.store, user_id, [cat.ids[j] for j in row])
            for user_id, row in zip(users, kept, strict=True)
            if explain and row
        }
        titles = self._titles(cat.ids[j] for row in kept for j in row)
        out = RecommendationBatch(errors=errors)
        for n, user_id in enumerate(users):
            recs = Recommendations(
                (
                    Recommendation(
                        rank, cat.ids[j], titles.get(cat.ids[j], cat.ids[j]), float(scores[n, j])
                    )
                    for rank, j in enumerate(kept[n], start=1)
                ),
                model_version=self.version,
            )
            if explain and recs:
                weights = self._weights_for(user_id, sources[n], folds[n])
                explanations = self._explain(
                    user_id, histories[n], recs, sources[n], weights, cat, features.get(user_id)
                )
                for r in recs:
                    r.explanation = explanations[r.item_id]
            out[user_id] = recs
        return out

    def explain(self, user_id: str, item_id: str) -> Explanation:
        """Why the model scores ``item_id`` as it does for ``user_id`` (any pair).

        With an exact path decomposition, the explanation also carries the score's exact
        split (``decomposition``): for a user the model knows, and for a folded-in user
        (their folded vector split over their current interactions; the items' side is the
        model's, as in the served score). None for a user folded in over items added after
        the model, and for such items.

        Raises:
            UnknownIdError: the user or the item is unknown.
        """
        cat = self._current()
        history = self._user_history(user_id)
        j = self._item_local(item_id, cat)
        vector, source, folded = self._user_vector(user_id, history, cat)
        score = float(cat.emb[j] @ vector) if vector is not None else float(cat.popularity[j])
        title = self._titles([str(item_id)]).get(str(item_id), str(item_id))
        rec = Recommendation(0, str(item_id), title, score)
        weights = self._weights_for(str(user_id), source, folded)
        explanation = self._explain(str(user_id), history, [rec], source, weights, cat)[
            str(item_id)
        ]
        if weights is not None:
            u = weights.node("user", str(user_id))
            i = weights.node("item", str(item_id))
            if u is not None and i is not None:
                explanation.decomposition = weights.decompose(u, i, score)
        return explanation

    def _explain(
        self,
        user_id: str,
        history: list[dict[str, Any]],
        recs: Sequence[Recommendation],
        source: str,
        weights: PathWeights | None,
        cat: Catalogue,
        features: SharedFeatures | None = None,
    ) -> dict[str, Explanation]:
        known = user_id in self._users
        return explain_served(
            self.store, user_id, history, recs, source, weights, cat, known, features
        )

    def similar_items(self, item_id: str, k: int = 10, by: str = "model") -> list[dict[str, Any]]:
        """The ``k`` items closest to ``item_id``, best first, the item itself left out.

        Args:
            by: ``"model"``: cosine of the live model's learned item embeddings (the GNN's
                output; for a history model such as ``ease``, between the items' vectors
                and the user vector of a history holding ``item_id`` alone: the items its
                choice leads to). ``"text"``: cosine of the items' text embeddings in the
                store's vector index (what ``kgrec similar`` ranks by unless ``--by model``).

        Returns:
            ``[{"item_id", "title", "model_similarity"}]`` (``"text_similarity"`` with
            ``by="text"``): the score is named for what it ranks by, the same shape as
            ``kgrec similar --json``.

        Raises:
            UnknownIdError: the item is not served (not in the live model, not added), or
                with ``by="text"`` has no text embedding.
            InvalidParameter: ``by`` is neither ``"model"`` nor ``"text"``.
        """
        k = check_k(k)
        if by == "text":
            from kgrec.app.analyst import similar_by_text

            return similar_by_text(self.store, item_id, k)
        if by != "model":
            raise InvalidParameter(f"by={by!r}: rank similar items by 'model' or 'text'")
        cat = self._current()
        j = self._item_local(item_id, cat)
        query = cat.unit[j]
        got = None
        if j < cat.num_trained:  # what a history of j leads to, for a history model
            got = self.model.history_vector(np.array([j]), np.zeros(1, dtype=np.int64))
        if got is not None:
            query = got[0] / max(float(np.linalg.norm(got[0])), 1e-12)
        sims = cat.unit @ query
        top = self._rank(sims, k, [j])
        titles = self._titles(cat.ids[t] for t in top)
        return [
            {
                "item_id": cat.ids[t],
                "title": titles.get(cat.ids[t]),
                "model_similarity": float(sims[t]),
            }
            for t in top
        ]

    def recommend_for_new_user(
        self,
        liked_item_ids: Sequence[str] | None = None,
        text: str | None = None,
        k: int = 10,
    ) -> Recommendations:
        """Recommendations for someone the model has never seen, from the items they liked
        and a description, both used when both are given.

        The liked items and the 20 items whose text embedding is nearest to ``text`` (vector
        index) are anchors; each source makes one part of the user vector, the two parts
        of equal length (:mod:`kgrec.app.new_user`). The score splits exactly over the
        anchors: each explanation's note says what the liked items and the description
        carry of it, and ``Recommendations.based_on`` names the sources used (``liked``,
        ``text``; empty: neither, the most popular items).

        Raises:
            UnknownIdError: a liked item is unknown.
        """
        from kgrec.app.new_user import build_anchors, new_user_note

        k = check_k(k)
        cat = self._current()
        liked = [self._item_local(i, cat) for i in liked_item_ids or ()]
        hits: list[tuple[int, float]] = []
        if text:
            from kgrec.kg.vector import vector_search

            query = self._text_embedder().embed([text])[0]
            hits = [
                (cat.index[hit["id"]], float(hit["similarity"]))
                for hit in vector_search(self.store, query.tolist(), 20)
                if hit["id"] in cat.index
            ]
        anchors = build_anchors(self.model, cat, liked, hits)
        terms = anchors.terms(cat.emb) if anchors.sources else None
        scores = terms.sum(0) if terms is not None else cat.popularity.astype(float)
        top = self._rank(scores, k, liked)
        ids = [cat.ids[j] for j in top]
        titles = self._titles(ids + [cat.ids[int(j)] for j in anchors.index])
        out = Recommendations(model_version=self.version, based_on=anchors.sources)
        for rank, j in enumerate(top, start=1):
            item_id = ids[rank - 1]
            ex = Explanation("", item_id, titles.get(item_id, item_id), float(scores[j]))
            ex.note = (
                wording.new_user_popular_note(int(cat.popularity[j]))
                if terms is None
                else new_user_note(anchors, terms[:, j], titles, cat, text)
            )
            out.append(Recommendation(rank, item_id, ex.title, ex.score, ex))
        return out
