"""The Python API: path-explained recommendations from the live model and the graph store.

    >>> from kgrec import Recommender
    >>> with Recommender.open() as rec:                      # default store and live model
    ...     for r in rec.recommend("1", k=5):
    ...         print(r.rank, r.title, r.explanation.sentence)

Scores come from the live model's embeddings, held in memory; explanation paths come from
the store (Cypher) and are weighted by the model (:mod:`kgrec.gnn.paths`).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from kgrec.core.dataset import normalise_tag
from kgrec.core.errors import KgrecError, UnknownIdError, UnknownTagError
from kgrec.core.ranking import top_k
from kgrec.core.settings import Settings
from kgrec.explain import wording
from kgrec.explain.explanations import explain_items
from kgrec.explain.types import Explanation, Recommendation, Recommendations
from kgrec.explain.weights import PathWeights
from kgrec.kg.store import GraphStore
from kgrec.queries.runner import run_query

if TYPE_CHECKING:
    from kgrec.gnn.model import EmbeddingModel

log = logging.getLogger(__name__)


class Recommender:
    """Recommendations, explanations and similar items for one store and its live model.

    Args:
        store: an open store (closed by :meth:`close`).
        model_dir: the model root holding ``live``.
        embedding_model: text model for :meth:`recommend_for_new_user` with ``text``.
        cache_dir: embedding cache.

    Attributes:
        version: the live model version's name (``Recommendations.model_version``).
        user_ids, item_ids: the model's ids, in its local index order.
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
    ) -> None:
        from threadpoolctl import threadpool_limits

        from kgrec.gnn.checkpoint import load_live

        # Small matrix products per request: one BLAS thread each. With torch loaded, a
        # multi-threaded OpenBLAS fights torch's OpenMP pool and a 9k x 64 product takes
        # 8 ms instead of 0.1 ms; concurrency comes from callers instead.
        self._blas_limit = threadpool_limits(1, user_api="blas")
        self.store = store
        self.live = load_live(model_dir)
        self.version: str = self.live.version_dir.name
        maps = self.live.id_maps
        self.user_ids: list[str] = list(maps["users"])
        self.item_ids: list[str] = list(maps["items"])
        self._users = {v: j for j, v in enumerate(self.user_ids)}
        self._items = {v: j for j, v in enumerate(self.item_ids)}
        self._tags = {normalise_tag(t): t for t in maps["tags"]}
        self.user_emb = self.live.user_embeddings.numpy().astype(np.float32)
        self.item_emb = self.live.item_embeddings.numpy().astype(np.float32)
        norms = np.linalg.norm(self.item_emb, axis=1, keepdims=True)
        self._item_unit = self.item_emb / np.maximum(norms, 1e-12)
        self.model = cast("EmbeddingModel", self.live.model())
        scorer = self.model.path_scorer()  # None: the model has no exact path decomposition
        self.weights = PathWeights(scorer, maps) if scorer is not None else None
        self.item_text: np.ndarray | None = None
        text = getattr(self.model, "item_text", None) if getattr(self.model, "use_text", False) \
            else None  # fmt: skip
        if scorer is not None and text is not None:  # for notes on items no path reaches
            self.item_text = text.detach().cpu().numpy()
        popularity = {r["item_id"]: r["interactions"] for r in run_query(store, "item_popularity")}
        self.popularity = np.array([popularity.get(i, 0) for i in self.item_ids], dtype=np.int64)
        counts = run_query(store, "count_entities")[0]["n"]
        self._skip = () if counts else ("explain_entities",)
        self._embedding_model, self._cache_dir = embedding_model, cache_dir
        self._embedder: Any = None

    @classmethod
    def open(cls, store: str | None = None, model_dir: str | Path | None = None,
             graph: str | None = None) -> Recommender:  # fmt: skip
        """Open on a store URI and model directory (CLI flags > ``KGREC_*`` env > defaults)."""
        from kgrec.app.store import opened

        settings = Settings.resolve(store=store, graph=graph, model_dir=model_dir)
        handle = opened(settings)
        try:
            return cls(handle, settings.model_dir, settings.embedding_model, settings.cache_dir)
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

    def _item_local(self, item_id: str) -> int:
        j = self._items.get(str(item_id))
        if j is None:
            known = run_query(self.store, "item_exists", {"id": str(item_id)})
            where = "is in the store but not in the live model (retrain with `kgrec train`)" \
                if known else "is not in the store"  # fmt: skip
            raise UnknownIdError(f"unknown item {item_id!r}: it {where}")
        return j

    # scoring ------------------------------------------------------------------------------
    def _user_vector(
        self, user_id: str, history: list[dict[str, Any]]
    ) -> tuple[np.ndarray | None, str]:
        """The user's embedding: the model's, a fold-in of their items, or None (no data)."""
        j = self._users.get(str(user_id))
        if j is not None:
            return self.user_emb[j], "model"
        liked = [self._items[r["item_id"]] for r in history if r["item_id"] in self._items]
        if liked:
            return self.item_emb[liked].mean(0), "fold-in"
        return None, "popular"

    def _rank(self, scores: np.ndarray, k: int, banned: Iterable[int]) -> list[int]:
        top, _ = top_k(scores[None].astype(np.float64), k, [sorted(banned)])
        return [int(j) for j in top[0] if j >= 0]

    def _allowed_items(self, tags: Sequence[str]) -> np.ndarray:
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
        return np.array(sorted({self._items[r["item_id"]] for r in rows
                                if r["item_id"] in self._items}), dtype=np.int64)  # fmt: skip

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
            user_id: a user in the store (a user the model has not seen is folded in from
                their interactions; one without interactions gets popular items).
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
            KgrecError: ``k`` is negative.
        """
        return self.recommend_many([user_id], k, explain, exclude_seen, tags,
                                   exclude_items)[str(user_id)]  # fmt: skip

    def recommend_many(
        self,
        user_ids: Sequence[str],
        k: int = 10,
        explain: bool = True,
        exclude_seen: bool = True,
        tags: Sequence[str] | None = None,
        exclude_items: Sequence[str] | None = None,
    ) -> dict[str, Recommendations]:
        """:meth:`recommend` for many users at once, scored in one matrix product.

        Args and Raises as :meth:`recommend`; the filters apply to every user.

        Returns:
            ``{user_id: Recommendations}`` in the order of ``user_ids`` (ids as strings).
        """
        if k < 0:
            raise KgrecError(f"k must be >= 0, got {k}")
        users = list(dict.fromkeys(str(u) for u in user_ids))
        histories = [self._user_history(u) for u in users]
        allowed = self._allowed_items(tags) if tags else None
        excluded = [self._items[str(i)] for i in exclude_items or () if str(i) in self._items]
        vectors, sources, banned = [], [], []
        for user_id, history in zip(users, histories, strict=True):
            vector, source = self._user_vector(user_id, history)
            vectors.append(vector)
            sources.append(source)
            seen = [self._items[r["item_id"]] for r in history if r["item_id"] in self._items]
            banned.append(np.array((seen if exclude_seen else []) + excluded, dtype=np.int64))
        scores = np.tile(self.popularity.astype(np.float64), (len(users), 1))
        rows = [n for n, v in enumerate(vectors) if v is not None]
        if rows:
            scores[rows] = np.stack([v for v in vectors if v is not None]) @ self.item_emb.T
        if allowed is not None:
            outside = np.ones(len(self.item_ids), dtype=bool)
            outside[allowed] = False
            scores[:, outside] = -np.inf
        top, _ = top_k(scores, k, banned)
        kept = [[int(j) for j in row if j >= 0] for row in top]
        titles = self._titles(self.item_ids[j] for row in kept for j in row)
        out: dict[str, Recommendations] = {}
        for n, user_id in enumerate(users):
            recs = Recommendations((
                Recommendation(rank, self.item_ids[j],
                               titles.get(self.item_ids[j], self.item_ids[j]),
                               float(scores[n, j]))
                for rank, j in enumerate(kept[n], start=1)
            ), model_version=self.version)  # fmt: skip
            if explain and recs:
                explanations = self._explain_many(user_id, histories[n], recs, sources[n])
                for r in recs:
                    r.explanation = explanations[r.item_id]
            out[user_id] = recs
        return out

    def explain(self, user_id: str, item_id: str) -> Explanation:
        """Why the model scores ``item_id`` as it does for ``user_id`` (any pair).

        With an exact path decomposition and a user the model knows, the explanation also
        carries the score's exact split (``decomposition``).

        Raises:
            UnknownIdError: the user or the item is unknown.
        """
        history = self._user_history(user_id)
        j = self._item_local(item_id)
        vector, source = self._user_vector(user_id, history)
        score = float(self.item_emb[j] @ vector) if vector is not None \
            else float(self.popularity[j])  # fmt: skip
        title = self._titles([str(item_id)]).get(str(item_id), str(item_id))
        rec = Recommendation(0, str(item_id), title, score)
        explanation = self._explain_many(str(user_id), history, [rec], source)[str(item_id)]
        if self.weights is not None and source == "model":
            u = self.weights.node("user", str(user_id))
            i = self.weights.node("item", str(item_id))
            if u is not None and i is not None:
                explanation.decomposition = self.weights.decompose(u, i, score)
        return explanation

    def _explain_many(
        self,
        user_id: str,
        history: list[dict[str, Any]],
        recs: Sequence[Recommendation],
        source: str,
    ) -> dict[str, Explanation]:
        titles = {r.item_id: r.title for r in recs}
        scores = {r.item_id: r.score for r in recs}
        weights = self.weights if source == "model" else None
        out = explain_items(self.store, user_id, titles, scores, weights, skip=self._skip)
        for ex in out.values():
            if source == "popular":
                ex.note = wording.popular_note(
                    ex.title, int(self.popularity[self._items[ex.item_id]])
                )
            elif ex.paths:
                ex.note = wording.paths_note(ex, folded_in=source == "fold-in")
            else:
                ex.note = wording.no_path_note(ex.title, self._nearest_rated(ex.item_id, history))
        return out

    def _nearest_rated(
        self, item_id: str, history: list[dict[str, Any]]
    ) -> tuple[str, float] | None:
        """The rated item whose text embedding is closest to ``item_id``'s, and the cosine."""
        rated = [(r["item_id"], r["title"]) for r in history if r["item_id"] in self._items]
        if self.item_text is None or not rated or item_id not in self._items:
            return None
        target = self.item_text[self._items[item_id]]
        vectors = self.item_text[[self._items[i] for i, _ in rated]]
        sims = (
            vectors
            @ target
            / np.maximum(np.linalg.norm(vectors, axis=1) * np.linalg.norm(target), 1e-12)
        )
        best = int(np.argmax(sims))
        return rated[best][1], float(sims[best])

    def similar_items(self, item_id: str, k: int = 10) -> list[dict[str, Any]]:
        """The ``k`` items closest to ``item_id`` by cosine of the live model's learned item
        embeddings (the GNN's output, not the text embeddings), best first.

        Returns:
            ``[{"item_id", "title", "similarity"}]``; the item itself is left out.

        Raises:
            UnknownIdError: the item is not in the live model.
        """
        j = self._item_local(item_id)
        sims = self._item_unit @ self._item_unit[j]
        top = self._rank(sims, k, [j])
        titles = self._titles(self.item_ids[t] for t in top)
        return [{"item_id": self.item_ids[t], "title": titles.get(self.item_ids[t]),
                 "similarity": float(sims[t])} for t in top]  # fmt: skip

    def recommend_for_new_user(
        self,
        liked_item_ids: Sequence[str] | None = None,
        text: str | None = None,
        k: int = 10,
    ) -> Recommendations:
        """Recommendations for someone the model has never seen.

        The user vector is the mean model embedding of the liked items and, with ``text``,
        of the 20 items whose text embedding is nearest to it (vector index). With neither,
        the most popular items. Explanations name the liked item or the text behind each.

        Raises:
            UnknownIdError: a liked item is unknown.
        """
        liked = [self._item_local(i) for i in liked_item_ids or ()]
        anchors: list[tuple[int, float, str]] = [(j, 1.0, "liked") for j in liked]
        if text:
            from kgrec.kg.vector import vector_search

            query = self._text_embedder().embed([text])[0]
            for hit in vector_search(self.store, query.tolist(), 20):
                if hit["id"] in self._items:
                    anchors.append((self._items[hit["id"]], float(hit["similarity"]), "text"))
        if anchors:
            weights = np.array([w for _, w, _ in anchors])
            vector = (self.item_emb[[j for j, _, _ in anchors]] * weights[:, None]).sum(0)
            scores = self.item_emb @ (vector / weights.sum())
        else:
            scores = self.popularity.astype(float)
        top = self._rank(scores, k, liked)
        ids = [self.item_ids[j] for j in top]
        titles = self._titles(ids + [self.item_ids[j] for j, _, _ in anchors])
        out = Recommendations(model_version=self.version)
        for rank, j in enumerate(top, start=1):
            item_id = ids[rank - 1]
            ex = Explanation("", item_id, titles.get(item_id, item_id), float(scores[j]))
            ex.note = self._new_user_note(j, anchors, titles, text)
            out.append(Recommendation(rank, item_id, ex.title, ex.score, ex))
        return out

    def _new_user_note(
        self,
        j: int,
        anchors: list[tuple[int, float, str]],
        titles: dict[str, str],
        text: str | None,
    ) -> str:
        if not anchors:
            return wording.new_user_popular_note(int(self.popularity[j]))
        sims = [(float(self._item_unit[a] @ self._item_unit[j]), a, why) for a, _, why in anchors]
        sim, a, why = max(sims)
        name = titles.get(self.item_ids[a], self.item_ids[a])
        if why == "text":
            return wording.new_user_text_note(name, sim, text or "")
        return wording.new_user_liked_note(name, sim)

    def _text_embedder(self) -> Any:
        if self._embedder is None:
            from kgrec.loaders.embeddings import TextEmbedder

            self._embedder = TextEmbedder(self._embedding_model, cache_dir=self._cache_dir)
        return self._embedder
