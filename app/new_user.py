r"""Someone the model has never seen: a vector from the items they liked and from a text.

Each *anchor* (a liked item, or one of the items whose text embedding is nearest to the
description) has a vector :math:`x_a`: for a history model (``ease``) the user vector of a
history holding that item alone (what choosing it leads to), otherwise the item's learned
embedding. The two sources are combined with equal weight:

.. math::
    e = \frac{v_L}{\|v_L\|} + \frac{v_T}{\|v_T\|},\qquad
    v_L = \frac{1}{|L|}\sum_{a \in L} x_a,\qquad
    v_T = \frac{\sum_{a \in T} s_a x_a}{\sum_{a \in T} s_a}

(:math:`s_a` the text similarity; a missing source is left out). The score
:math:`e \cdot e_i = \sum_a c_a\, x_a \cdot e_i` splits exactly over the anchors, so each
recommendation tells how much of its score the liked items and the description carry (over
the positive terms, as every share, :mod:`kgrec.explain.reasons`), and names the anchor of
each source that carries most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kgrec.app.live import Catalogue
from kgrec.explain import wording

if TYPE_CHECKING:
    from kgrec.gnn.models.model import EmbeddingModel


@dataclass
class Anchors:
    """The anchors of a new user's vector (module docstring).

    Attributes:
        index: each anchor's row in the catalogue.
        source: ``liked`` or ``text``, per anchor.
        coef: :math:`c_a`, per anchor.
        vectors: :math:`x_a`, ``[n, d]``.
    """

    index: np.ndarray
    source: list[str]
    coef: np.ndarray
    vectors: np.ndarray

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources used, in the order ``liked``, ``text`` (empty: neither)."""
        return tuple(s for s in ("liked", "text") if s in self.source)

    def vector(self) -> np.ndarray:
        """:math:`e = \\sum_a c_a x_a`."""
        return self.coef @ self.vectors

    def terms(self, emb: np.ndarray) -> np.ndarray:
        """:math:`c_a x_a \\cdot e_i` for every anchor and every row of ``emb`` (``[n, N]``)."""
        return (self.coef[:, None] * self.vectors) @ emb.T


def anchor_vector(model: EmbeddingModel, cat: Catalogue, j: int) -> np.ndarray:
    """:math:`x_a` of the catalogue row ``j`` (module docstring)."""
    got = None
    if j < cat.num_trained:  # a history model: what a history of j leads to
        got = model.history_vector(np.array([j]), np.zeros(1, dtype=np.int64))
    if got is not None:
        return np.asarray(got[0], dtype=np.float64)
    return cat.emb[j].astype(np.float64)


def build_anchors(
    model: EmbeddingModel,
    cat: Catalogue,
    liked: Sequence[int],
    text_hits: Sequence[tuple[int, float]],
) -> Anchors:
    """The anchors of ``liked`` rows and of ``(row, similarity)`` text matches, weighted so
    that each source's part of the vector has unit length."""
    index: list[int] = []
    source: list[str] = []
    coefs: list[np.ndarray] = []
    vectors: list[np.ndarray] = []
    hits = [(j, s) for j, s in text_hits if s > 0]
    for name, rows, weights in (
        ("liked", list(liked), np.ones(len(liked))),
        ("text", [j for j, _ in hits], np.array([s for _, s in hits], dtype=np.float64)),
    ):
        if not rows:
            continue
        xs = np.stack([anchor_vector(model, cat, j) for j in rows])
        w = weights / weights.sum()
        norm = float(np.linalg.norm(w @ xs))
        if norm <= 0:
            continue
        index += rows
        source += [name] * len(rows)
        coefs.append(w / norm)
        vectors.append(xs)
    if not index:
        d = cat.emb.shape[1]
        return Anchors(np.zeros(0, dtype=np.int64), [], np.zeros(0), np.zeros((0, d)))
    return Anchors(
        np.array(index, dtype=np.int64), source, np.concatenate(coefs), np.concatenate(vectors)
    )


def new_user_note(
    anchors: Anchors, terms: np.ndarray, titles: dict[str, str], cat: Catalogue, text: str | None
) -> str:
    """The note of one recommendation: what the liked items and the description carry of
    its score (``terms``: each anchor's term of it), each source's top anchor named."""
    positive = np.maximum(terms, 0.0)
    basis = float(positive.sum())
    parts: dict[str, tuple[str, float]] = {}
    for name in anchors.sources:
        mine = np.array([s == name for s in anchors.source])
        best = int(np.flatnonzero(mine)[np.argmax(terms[mine])])
        item_id = cat.ids[int(anchors.index[best])]
        share = float(positive[mine].sum()) / basis if basis > 0 else 0.0
        parts[name] = (titles.get(item_id, item_id), share)
    liked_count = sum(1 for s in anchors.source if s == "liked")
    return wording.new_user_note(parts.get("liked"), parts.get("text"), text or "", liked_count)
