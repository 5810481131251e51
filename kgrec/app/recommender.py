"""The Python API: path-explained recommendations from the live model and the graph store.

    >>> from kgrec import Recommender
    >>> with Recommender.open() as rec:                      # default store and live model
    ...     for r in rec.recommend("1", k=5):
    ...         print(r.rank, r.title, r.explanation.sentence)

Scores come from the live model's embeddings, held in memory; explanation paths come from
the store (Cypher) and are weighted by the model (:mod:`kgrec.gnn.paths`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kgrec.core.dataset import normalise_tag
from kgrec.core.errors import KgrecError, UnknownIdError
from kgrec.core.ranking import top_k
from kgrec.core.settings import Settings
from kgrec.explain.explanations import Explanation, PathContext, find_paths, percent
from kgrec.kg.store import GraphStore
from kgrec.queries.runner import run_query

log = logging.getLogger(__name__)


@dataclass
class Recommendation:
    """One recommended item; ``explanation`` is None when ``explain=False``."""

    rank: int
    item_id: str
    title: str
    score: float
    explanation: Explanation | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"rank": self.rank, "item_id": self.item_id, "title": self.title,
               "score": self.score}  # fmt: skip
        if self.explanation is not None:
            out["explanation"] = self.explanation.to_dict()
        return out


class Recommendations(list):
    """A list of :class:`Recommendation` that converts to a DataFrame."""

    def to_frame(self):
        """One row per item: rank, item_id, title, score, explanation, share, paths."""
        import pandas as pd

        return pd.DataFrame([
            {"rank": r.rank, "item_id": r.item_id, "title": r.title, "score": r.score,
             "explanation": r.explanation.sentence if r.explanation else None,
             "explained_share": r.explanation.explained_share if r.explanation else None,
             "num_paths": r.explanation.num_paths if r.explanation else None}
            for r in self
        ], columns=["rank", "item_id", "title", "score", "explanation", "explained_share",
                    "num_paths"])  # fmt: skip

    def to_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self]


class Recommender:
    """Recommendations, explanations and similar items for one store and its live model.

    Args:
        store: an open store (closed by :meth:`close`).
        model_dir: the model root holding ``live``.
        embedding_model: text model for :meth:`recommend_for_new_user` with ``text``.
        cache_dir: embedding cache.
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
        self.version = self.live.version_dir.name
        maps = self.live.id_maps
        self.user_ids, self.item_ids = maps["users"], maps["items"]
        self._index = {kind: {v: j for j, v in enumerate(maps[key])}
                       for kind, key in (("user", "users"), ("item", "items"), ("tag", "tags"),
                                         ("entity", "entities"))}  # fmt: skip
        self.user_emb = self.live.user_embeddings.numpy().astype(np.float32)
        self.item_emb = self.live.item_embeddings.numpy().astype(np.float32)
        norms = np.linalg.norm(self.item_emb, axis=1, keepdims=True)
        self._item_unit = self.item_emb / np.maximum(norms, 1e-12)
        self.scorer, self.item_text = None, None
        net = self.live.model()
        self.scorer = net.path_scorer()  # None: the model has no exact path decomposition
        if self.scorer is not None and getattr(net, "use_text", False):
            self.item_text = net.item_text.detach().cpu().numpy()
        popularity = {r["item_id"]: r["interactions"] for r in run_query(store, "item_popularity")}
        self.popularity = np.array([popularity.get(i, 0) for i in self.item_ids], dtype=np.int64)
        counts = store.run("MATCH (e:Entity) RETURN count(e) AS n")[0]["n"]
        self._skip = () if counts else ("explain_entities",)
        self._embedding_model, self._cache_dir, self._embedder = embedding_model, cache_dir, None
        self._node_ids = [*self.user_ids, *self.item_ids, *maps["tags"], *maps["entities"]]
        self._context = PathContext(self.scorer, self._node_index, self._node_ids.__getitem__)

    @classmethod
    def open(cls, store: str | None = None, model_dir: str | Path | None = None,
             graph: str | None = None) -> Recommender:  # fmt: skip
        """Open on a store URI and model directory (CLI flags > ``KGREC_*`` env > defaults)."""
        from kgrec.kg import open_store

        settings = Settings.resolve(store=store, graph=graph, model_dir=model_dir)
        handle = open_store(settings.store, settings.graph)
        try:
            return cls(handle, settings.model_dir, settings.embedding_model, settings.cache_dir)
        except BaseException:
            handle.close()
            raise

    def close(self) -> None:
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
    def _node_index(self, kind: str, node_id: str) -> int | None:
        local = self._index[kind].get(node_id)
        return None if local is None or self.scorer is None else self.scorer.node(kind, local)

    def _user_history(self, user_id: str) -> list[dict]:
        rows = run_query(self.store, "user_items", {"user_id": str(user_id)})
        if not rows and not self.store.run("MATCH (u:User {id: $id}) RETURN u.id AS id",
                                           {"id": str(user_id)}):  # fmt: skip
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
        j = self._index["item"].get(str(item_id))
        if j is None:
            known = self.store.run("MATCH (i:Item {id: $id}) RETURN i.id AS id",
                                   {"id": str(item_id)})  # fmt: skip
            where = "is in the store but not in the live model (retrain with `kgrec train`)" \
                if known else "is not in the store"  # fmt: skip
            raise UnknownIdError(f"unknown item {item_id!r}: it {where}")
        return j

    # scoring ------------------------------------------------------------------------------
    def _user_vector(self, user_id: str, history: list[dict]) -> tuple[np.ndarray | None, str]:
        """The user's embedding: the model's, a fold-in of their items, or None (no data)."""
        j = self._index["user"].get(str(user_id))
        if j is not None:
            return self.user_emb[j], "model"
        liked = [self._index["item"][r["item_id"]] for r in history
                 if r["item_id"] in self._index["item"]]  # fmt: skip
        if liked:
            return self.item_emb[liked].mean(0), "fold-in"
        return None, "popular"

    def _rank(self, scores: np.ndarray, k: int, banned: set[int],
              allowed: set[int] | None) -> list[int]:  # fmt: skip
        scores = scores.astype(np.float64, copy=True)
        if allowed is not None:
            mask = np.full(scores.shape, True)
            mask[list(allowed)] = False
            scores[mask] = -np.inf
        top, _ = top_k(scores[None], k, [sorted(banned)])
        return [int(j) for j in top[0] if j >= 0]

    def _filters(self, tags: Sequence[str] | None, exclude_items: Sequence[str] | None,
                 seen: Iterable[str]) -> tuple[set[int], set[int] | None]:  # fmt: skip
        banned = {self._index["item"][i] for i in seen if i in self._index["item"]}
        banned |= {self._index["item"][str(i)] for i in exclude_items or ()
                   if str(i) in self._index["item"]}  # fmt: skip
        allowed = None
        if tags:
            rows = run_query(self.store, "items_with_tags",
                             {"tags": [normalise_tag(t) for t in tags]})  # fmt: skip
            allowed = {self._index["item"][r["item_id"]] for r in rows
                       if r["item_id"] in self._index["item"]}  # fmt: skip
        return banned, allowed

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

        Raises:
            UnknownIdError: the user is not in the store.
            KgrecError: ``k`` is negative.
        """
        if k < 0:
            raise KgrecError(f"k must be >= 0, got {k}")
        history = self._user_history(user_id)
        vector, source = self._user_vector(user_id, history)
        seen = [r["item_id"] for r in history] if exclude_seen else []
        banned, allowed = self._filters(tags, exclude_items, seen)
        scores = self.item_emb @ vector if vector is not None else self.popularity.astype(float)
        top = self._rank(scores, k, banned, allowed)
        ids = [self.item_ids[j] for j in top]
        titles = self._titles(ids)
        out = Recommendations(
            Recommendation(rank, item_id, titles.get(item_id, item_id), float(scores[j]))
            for rank, (item_id, j) in enumerate(zip(ids, top, strict=True), start=1)
        )
        if explain and out:
            explanations = self._explain_many(str(user_id), history, out, source)
            for r in out:
                r.explanation = explanations[r.item_id]
        return out

    def explain(self, user_id: str, item_id: str) -> Explanation:
        """Why the model scores ``item_id`` as it does for ``user_id`` (any pair)."""
        history = self._user_history(user_id)
        j = self._item_local(item_id)
        vector, source = self._user_vector(user_id, history)
        score = float(self.item_emb[j] @ vector) if vector is not None \
            else float(self.popularity[j])  # fmt: skip
        title = self._titles([str(item_id)]).get(str(item_id), str(item_id))
        rec = Recommendation(0, str(item_id), title, score)
        return self._explain_many(str(user_id), history, [rec], source)[str(item_id)]

    def _explain_many(self, user_id: str, history: list[dict], recs: Sequence[Recommendation],
                      source: str) -> dict[str, Explanation]:  # fmt: skip
        titles = {r.item_id: r.title for r in recs}
        scores = {r.item_id: r.score for r in recs}
        context = self._context if source == "model" else PathContext(None, self._node_index)
        found = find_paths(self.store, user_id, list(titles), titles, context, scores,
                           skip=self._skip)  # fmt: skip
        out = {}
        for r in recs:
            paths, share, count = found.get(r.item_id, ([], None, 0))
            explanation = Explanation(user_id, r.item_id, r.title, r.score, paths, share, count)
            explanation.note = self._note(explanation, history, source)
            out[r.item_id] = explanation
        return out

    def _note(self, ex: Explanation, history: list[dict], source: str) -> str:
        """A plain account of where the score came from."""
        if source == "popular":
            pop = int(self.popularity[self._index["item"][ex.item_id]])
            return f"No interactions yet: {ex.title} is popular ({pop} interactions)."
        basis = "" if source == "model" else " (the user is newer than the model; folded in)"
        if ex.paths:
            if ex.explained_share is None:
                return f"{ex.num_paths} paths join you to {ex.title}{basis}."
            share = percent(ex.explained_share)
            return (
                f"{ex.num_paths} paths of up to 3 hops join you to {ex.title}; together "
                f"they account for {share} of its score{basis}."
            )
        nearest = self._nearest_rated(ex.item_id, history)
        if nearest:
            return (f"No path of up to 3 hops joins you to {ex.title}; its score comes from "
                    f"embedding similarity: its text is closest to {nearest[0]}, which you "
                    f"rated (cosine {nearest[1]:.2f}).")  # fmt: skip
        return (
            f"No path of up to 3 hops joins you to {ex.title}; its score comes from the "
            "similarity of learned embeddings."
        )

    def _nearest_rated(self, item_id: str, history: list[dict]) -> tuple[str, float] | None:
        rated = [(r["item_id"], r["title"]) for r in history if r["item_id"] in self._index["item"]]
        if self.item_text is None or not rated or item_id not in self._index["item"]:
            return None
        target = self.item_text[self._index["item"][item_id]]
        vectors = self.item_text[[self._index["item"][i] for i, _ in rated]]
        sims = (
            vectors
            @ target
            / np.maximum(np.linalg.norm(vectors, axis=1) * np.linalg.norm(target), 1e-12)
        )
        best = int(np.argmax(sims))
        return rated[best][1], float(sims[best])

    def similar_items(self, item_id: str, k: int = 10) -> list[dict[str, Any]]:
        """The ``k`` items closest to ``item_id`` in the live model's embedding space (cosine)."""
        j = self._item_local(item_id)
        sims = self._item_unit @ self._item_unit[j]
        top = self._rank(sims, k, {j}, None)
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
                if hit["id"] in self._index["item"]:
                    anchors.append((self._index["item"][hit["id"]], float(hit["similarity"]),
                                    "text"))  # fmt: skip
        if anchors:
            weights = np.array([w for _, w, _ in anchors])
            vector = (self.item_emb[[j for j, _, _ in anchors]] * weights[:, None]).sum(0)
            scores = self.item_emb @ (vector / weights.sum())
        else:
            scores = self.popularity.astype(float)
        top = self._rank(scores, k, set(liked), None)
        ids = [self.item_ids[j] for j in top]
        titles = self._titles(ids + [self.item_ids[j] for j, _, _ in anchors])
        out = Recommendations()
        for rank, j in enumerate(top, start=1):
            item_id = ids[rank - 1]
            ex = Explanation("", item_id, titles.get(item_id, item_id), float(scores[j]))
            ex.note = self._new_user_note(j, anchors, titles, text)
            out.append(Recommendation(rank, item_id, ex.title, ex.score, ex))
        return out

    def _new_user_note(self, j: int, anchors, titles: dict[str, str], text: str | None) -> str:
        if not anchors:
            return f"A popular item ({int(self.popularity[j])} interactions)."
        sims = [(float(self._item_unit[a] @ self._item_unit[j]), a, why) for a, _, why in anchors]
        sim, a, why = max(sims)
        name = titles.get(self.item_ids[a], self.item_ids[a])
        if why == "text":
            return (f"Close to {name} (similarity {sim:.2f}), one of the items that match "
                    f"your description '{text}'.")  # fmt: skip
        return f"Because you liked {name} (similarity {sim:.2f} in the model's embedding space)."

    def _text_embedder(self):
        if self._embedder is None:
            from kgrec.loaders.embeddings import TextEmbedder

            self._embedder = TextEmbedder(self._embedding_model, cache_dir=self._cache_dir)
        return self._embedder
