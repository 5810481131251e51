"""The Python API: path-explained recommendations from the live model and the graph store.

    >>> from kgrec import Recommender
    >>> with Recommender.open() as rec:                      # default store and live model
    ...     for r in rec.recommend("1", k=5):
    ...         print(r.rank, r.title, r.explanation.sentence)

Scores come from the live model's embeddings, held in memory; explanation paths come from
the store (Cypher) and are weighted by the model (:mod:`kgrec.gnn.models.paths`).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from kgrec.app.explaining import explain_served
from kgrec.app.live import Catalogue, ChangePoll, build_catalogue, user_history
from kgrec.core.checks import check_k
from kgrec.core.dataset import normalise_tag
from kgrec.core.errors import InvalidParameter, KgrecError, UnknownIdError, UnknownTagError
from kgrec.core.ranking import top_k
from kgrec.core.settings import DEFAULT_REFRESH_SECONDS, Settings
from kgrec.explain import wording
from kgrec.explain.candidates import SharedFeatures
from kgrec.explain.types import Explanation, Recommendation, Recommendations
from kgrec.explain.weights import PathWeights
from kgrec.kg.store import GraphStore
from kgrec.queries.runner import run_query

if TYPE_CHECKING:
    import pandas as pd

    from kgrec.gnn.inductive.foldin import FoldedNode
    from kgrec.gnn.models.model import EmbeddingModel

log = logging.getLogger(__name__)


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


class Recommender:
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

    def __init__(
        self,
        store: GraphStore,
        model_dir: Path,
        embedding_model: str = "all-MiniLM-L6-v2",
        cache_dir: Path | None = None,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    ) -> None:
        from threadpoolctl import threadpool_limits

        from kgrec.app.behaviour import change_sequence

        # Small matrix products per request: one BLAS thread each. With torch loaded, a
        # multi-threaded OpenBLAS fights torch's OpenMP pool and a 9k x 64 product takes
        # 8 ms instead of 0.1 ms; concurrency comes from callers instead.
        self._blas_limit = threadpool_limits(1, user_api="blas")
        self.store = store
        self.model_dir = Path(model_dir)
        self._poll = ChangePoll(store, refresh_seconds, change_sequence(store))
        self._load_live()
        self._embedding_model, self._cache_dir = embedding_model, cache_dir
        self._embedder: Any = None

    def _load_live(self) -> None:
        """Load the live version and everything served from it (again after a promotion)."""
        from kgrec.gnn.versions import load_live

        live = load_live(self.model_dir)
        maps = live.id_maps
        model = cast("EmbeddingModel", live.model())
        scorer = model.path_scorer()  # None: the model has no exact path decomposition
        item_text: np.ndarray | None = None
        text = model.text_vectors()
        if scorer is not None and text is not None:  # for notes on items no path reaches
            item_text = text.detach().cpu().numpy()
        item_emb = live.item_embeddings.numpy().astype(np.float32)
        self.live, self.model, self.version = live, model, live.version_dir.name
        self.user_ids: list[str] = list(maps["users"])
        self._users = {v: j for j, v in enumerate(self.user_ids)}
        self._tags = {normalise_tag(t): t for t in maps["tags"]}
        self._tag_index = {t: j for j, t in enumerate(maps["tags"])}
        self.user_emb = live.user_embeddings.numpy().astype(np.float32)
        self.weights = PathWeights(scorer, maps) if scorer is not None else None
        self._trained = (list(maps["items"]), item_emb, item_text)
        self._cat = self._catalogue()

    # the served items -----------------------------------------------------------------
    def _catalogue(self) -> Catalogue:
        ids, emb, text = self._trained
        return build_catalogue(self.store, ids, emb, text, self.model, self._tag_index)

    def refresh(self) -> None:
        """Read the store's items added since the model and every item's popularity now
        (otherwise done at most every ``refresh_seconds`` when the change counter moved)."""
        from kgrec.app.behaviour import change_sequence

        seq = change_sequence(self.store)
        self._cat = self._catalogue()
        self._poll.seq = seq

    def _current(self) -> Catalogue:
        """The served items, refreshed first when another process changed the store; the
        live model, loaded again first when another version was promoted since (both read
        at most every ``refresh_seconds``)."""
        from kgrec.gnn.versions import live_version

        seq = self._poll.changed()
        if seq is not None:
            if live_version(self.model_dir) not in (None, self.version):
                self._load_live()
                log.info("serving the newly promoted model version %s", self.version)
            else:
                self._cat = self._catalogue()
            self._poll.seq = seq
        return self._cat

    @property
    def item_ids(self) -> list[str]:
        return self._cat.ids

    @property
    def item_emb(self) -> np.ndarray:
        """Item vectors, ``[len(item_ids), d]``."""
        return self._cat.emb

    @property
    def popularity(self) -> np.ndarray:
        """Interactions per item (``[len(item_ids)]``), as of the last refresh."""
        return self._cat.popularity

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

    def close(self) -> None:
        """Close the store and the text embedder; restore the BLAS thread limit."""
        self._blas_limit.restore_original_limits()
        if self._embedder is not None:
            self._embedder.close()
        self.store.close()

    def __enter__(self) -> Recommender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Recommender({self.store.uri!r}, model={self.version!r})"

    # lookups ------------------------------------------------------------------------------
    def _user_history(self, user_id: str) -> list[dict[str, Any]]:
        rows = run_query(self.store, "user_items", {"user_id": str(user_id)})
        if not rows and not run_query(self.store, "user_exists", {"id": str(user_id)}):
            raise UnknownIdError(
                f"unknown user {user_id!r}: not in the store; for someone new use "
                "recommend_for_new_user(liked_item_ids=..., text=...)"
            )
        return rows

    def _titles(self, item_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            return {}
        rows = run_query(self.store, "item_details", {"item_ids": ids})
        return {r["item_id"]: r["title"] for r in rows}

    def _item_local(self, item_id: str, cat: Catalogue) -> int:
        j = cat.index.get(str(item_id))
        if j is None:
            known = run_query(self.store, "item_exists", {"id": str(item_id)})
            where = (
                "is in the store but not in the live model (retrain with `kgrec train`)"
                if known
                else "is not in the store"
            )
            raise UnknownIdError(f"unknown item {item_id!r}: it {where}")
        return j

    # scoring ------------------------------------------------------------------------------
    def _user_vector(
        self, user_id: str, history: list[dict[str, Any]], cat: Catalogue
    ) -> tuple[np.ndarray | None, str, FoldedNode | None]:
        """The user's embedding and where it came from: ``model`` (trained), ``fold-in``
        (over their current interactions, by the model's
        :meth:`~kgrec.gnn.models.model.EmbeddingModel.fold_in_user`) or ``popular`` (no
        data: None)."""
        j = self._users.get(str(user_id))
        node = self.model.fold_in_user(user_history(cat, j, history))
        if node is not None:
            return node.vector, "fold-in", node
        if j is not None:
            return self.user_emb[j], "model", None
        return None, "popular", None

    def _weights_for(
        self, user_id: str, source: str, folded: FoldedNode | None
    ) -> PathWeights | None:
        """The exact path weights of the served score (None: there are none for it)."""
        if self.weights is None:
            return None
        if source == "model":
            return self.weights
        if folded is not None and not folded.extra:  # an added item has no node of the graph
            return self.weights.folded(str(user_id), folded)
        return None

    def _rank(self, scores: np.ndarray, k: int, banned: Iterable[int]) -> list[int]:
        top, _ = top_k(scores[None].astype(np.float64), k, [sorted(banned)])
        return [int(j) for j in top[0] if j >= 0]

    def _allowed_items(self, tags: Sequence[str], cat: Catalogue) -> np.ndarray:
        """Local indices of the items carrying at least one of ``tags``.

        Raises:
            UnknownTagError: a tag is neither known to the model nor on any item in the store.
        """
        names = [normalise_tag(t) for t in tags]
        for tag, name in zip(tags, names, strict=True):
            if name in self._tags or run_query(self.store, "items_with_tags", {"tags": [name]}):
                continue
            close = difflib.get_close_matches(name, list(self._tags), n=3)
            raise UnknownTagError(tag, [self._tags[c] for c in close])
        rows = run_query(self.store, "items_with_tags", {"tags": names})
        return np.array(
            sorted({cat.index[r["item_id"]] for r in rows if r["item_id"] in cat.index}),
            dtype=np.int64,
        )

    # recording ----------------------------------------------------------------------------
    def record_interaction(
        self,
        user_id: str,
        item_id: str,
        rating: float | None = None,
        ts: int | None = None,
        kind: str | None = None,
    ) -> dict[str, Any]:
        """Record that ``user_id`` interacted with ``item_id``; the next :meth:`recommend`
        for that user reflects it (no retraining).

        The store gets the interaction as ingestion would write it (the user is created
        when new; the item must exist; writing it again changes nothing). With LightGCN the
        user's vector is then folded in over all their current neighbours: their trained
        interactions plus every one recorded this way (:mod:`kgrec.gnn.inductive.foldin`).

        Args:
            rating: the rating (None: an implicit interaction). ts: unix seconds (default
                now). kind: default ``rating`` with a rating, else ``implicit``.

        Returns:
            ``{rows, created, updated, seq}`` (see :meth:`record_interactions`).

        Raises:
            DatasetError: a value is missing or cannot be stored (names the field and value).
            UnknownIdError: the item is not in the store.
        """
        from kgrec.app.behaviour import record_interaction

        return record_interaction(self.store, user_id, item_id, rating, ts, kind)

    def record_interactions(
        self, frame: pd.DataFrame, rating_range: tuple[float, float] | None = None
    ) -> dict[str, Any]:
        """Record many interactions at once (batched writes), as :meth:`record_interaction`.

        Args:
            frame: columns ``user_id``, ``item_id`` and optionally ``rating``, ``ts``,
                ``kind``, ``weight``; one row per interaction (for one user and item the
                latest ``ts`` wins, as in ingestion).
            rating_range: refuse ratings outside ``(low, high)``; None: any finite one.

        Returns:
            ``{rows, created, updated, seq}``: rows written, relationships created and
            changed, the store's change counter afterwards.

        Raises:
            DatasetError, InvalidParameter: a bad value or column (named in the message).
            UnknownIdError: an item is not in the store (nothing is written).
        """
        from kgrec.app.behaviour import record_interactions

        return record_interactions(self.store, frame, rating_range)

    def add_item(
        self, item_id: str, title: str, text: str | None = None, tags: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Add an item to the store (or update its title, text and tags) and serve it at
        once, with a vector the live model makes from its text and tags: LightGCN's text
        projection folded in over its tags, GraphSAGE's inductive embedding. A model that
        can do neither (MF) serves the item after the next training.

        Returns:
            ``{item_id, created, changed, seq, served}`` (``served``: it can be recommended
            now).

        Raises:
            DatasetError: an empty or unstorable id, title, text or tag.
        """
        from kgrec.app.behaviour import add_item

        out = add_item(self.store, self._text_embedder(), item_id, title, text, tags)
        self.refresh()
        out["served"] = str(item_id) in self._cat.index
        return out

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

    def _text_embedder(self) -> Any:
        if self._embedder is None:
            from kgrec.loaders.embeddings import TextEmbedder

            self._embedder = TextEmbedder(self._embedding_model, cache_dir=self._cache_dir)
        return self._embedder
