r"""EASE's closed-form fit and its cost (:class:`~kgrec.gnn.models.ease.EASE`).

The closed form :math:`B` (:func:`ease_weights`), the binary interaction matrix it is solved
on (:func:`binary_matrix`), the new-item ridge map (:func:`ridge_map`, :func:`item_features`),
the fit of an :class:`~kgrec.gnn.models.ease.EASE` model (:func:`solve`: the form, the rank
chosen on validation, the factors and the new-item map) and the cost of one fit
(:func:`fit_cost`, :mod:`kgrec.gnn.training.plan`). The model and its serving-time methods
live in :mod:`kgrec.gnn.models.ease`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import torch

from kgrec.gnn.models.ease_forms import (
    LOWRANK_ITERATIONS,
    MAX_EVAL_USERS,
    MEMORY_SHARE,
    RANKS,
    Factors,
    Progress,
    Stages,
    candidate_ranks,
    choose_form,
    dense_factors,
    dense_gram,
    ease_memory_bytes,
    holdout,
    lowrank_factors,
    memory_budget,
    oversampled,
    validation_recall,
)

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.models.ease import EASE
    from kgrec.gnn.training.plan import FitCost, GraphSize

RESIDUAL_TOLERANCE = 1e-4


def ease_weights(matrix: sp.csr_matrix, lam: float) -> torch.Tensor:
    """EASE's closed form: :math:`P = (X^\\top X + \\lambda I)^{-1}`,
    :math:`B_{ij} = -P_{ij}/P_{jj}`, :math:`B_{jj} = 0`.

    :math:`P` is solved in float32 (half the time of float64 on the CPU) and checked on
    a few of its columns; when their residual :math:`\\|GP - I\\|` exceeds
    ``RESIDUAL_TOLERANCE`` (an ill-conditioned Gram matrix) it is solved again in float64.
    At most two ``[I, I]`` float32 matrices live at once (the Gram matrix becomes its
    Cholesky factor in place, the inverse becomes :math:`B` in place); the float64 retry
    needs five.

    Shapes:
        matrix: ``[U, I]`` (binary user-item); output: ``[I, I]`` float32.
    """
    gram = dense_gram(matrix)
    gram.diagonal().add_(lam)
    inverse = _checked_float32_inverse(gram)
    del gram
    if inverse is None:
        wide = dense_gram(matrix).double()
        wide.diagonal().add_(lam)
        torch.linalg.cholesky(wide, out=wide)
        inverse = torch.cholesky_inverse(wide)
        del wide
    inverse /= -inverse.diagonal()
    inverse.diagonal().zero_()
    return inverse.float()


def _checked_float32_inverse(gram: torch.Tensor, probes: int = 16) -> torch.Tensor | None:
    """The inverse of the float32 SPD ``gram``, or None when its Cholesky factorisation
    fails or the largest residual of ``probes`` seeded columns, :math:`|G P_{:,j} - e_j|`
    (computed as :math:`L(L^\\top P_{:,j})`), exceeds ``RESIDUAL_TOLERANCE``. ``gram`` is
    overwritten by its Cholesky factor."""
    info = torch.zeros((), dtype=torch.int32)
    chol, info = torch.linalg.cholesky_ex(gram, out=(gram, info))
    if int(info) != 0:
        return None
    inverse = torch.cholesky_inverse(chol)
    cols = torch.randperm(gram.size(0), generator=torch.Generator().manual_seed(0))[:probes]
    residual = chol @ (chol.T @ inverse[:, cols])
    residual[cols, torch.arange(len(cols))] -= 1.0
    return inverse if float(residual.abs().max()) <= RESIDUAL_TOLERANCE else None


def ridge_map(
    features: torch.Tensor, targets: torch.Tensor, alpha: float
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The centred ridge regression of ``targets`` on ``features``: ``(W, b)`` with
    ``targets ~ features @ W + b`` and :math:`\alpha\|W\|^2` (the intercept is free).

    Shapes:
        features: ``[n, f]``; targets: ``[n, d]``; output: ``([f, d], [d])`` float32.
    """
    x, y = features.double(), targets.double()
    mx, my = x.mean(0), y.mean(0)
    xc = x - mx
    gram = xc.T @ xc
    gram.diagonal().add_(alpha)
    weight = torch.linalg.solve(gram, xc.T @ (y - my))
    return weight.float(), (my - mx @ weight).float()


def item_features(
    text: torch.Tensor | None, item_tags: torch.Tensor, num_items: int, num_tags: int
) -> torch.Tensor:
    """An item's features for :func:`ridge_map`: its text vector, then its tags one-hot,
    scaled to unit norm (an item without tags has zeros there).

    Shapes:
        text: ``[n, text_dim]`` (None: no text part); item_tags: ``[2, m]``
        ``(item, tag)``; output: ``[n, text_dim + num_tags]``.
    """
    tags = torch.zeros(num_items, num_tags, dtype=torch.float32)
    if item_tags.numel():
        tags[item_tags[0].cpu(), item_tags[1].cpu()] = 1.0
        tags /= tags.sum(1, keepdim=True).clamp(min=1.0).sqrt()
    if text is None:
        return tags
    return torch.cat([text.detach().cpu().float(), tags], 1)


def binary_matrix(edges: torch.Tensor, num_users: int, num_items: int) -> sp.csr_matrix:
    """The binary ``[U, I]`` matrix of ``(user, item)`` edges (float32 CSR)."""
    e = edges.cpu().numpy()
    mat = sp.csr_matrix(
        (np.ones(e.shape[1], np.float32), (e[0], e[1])), shape=(num_users, num_items)
    )
    mat.data[:] = 1.0
    return mat


def solve(
    model: EASE,
    tensors: GraphTensors,
    train_idx: torch.Tensor,
    val_idx: torch.Tensor | None = None,
    *,
    progress: Progress | None = None,
) -> None:
    """Fit ``model`` on the interactions ``train_idx``: the form (``auto``: the dense form when
    its predicted peak fits the memory budget, else the low-rank one), then, without a
    fixed ``rank``, one factorisation at the largest candidate rank that fits, whose
    nested prefixes are scored by Recall@20 on ``val_idx`` (none given: each user's
    latest 10% of ``train_idx``, held out of that factorisation, which is then solved
    again on all of ``train_idx`` at the chosen rank). The config then holds the form
    and rank used. Seeded by torch's global generator
    (:func:`kgrec.gnn.training.train.seed_everything`).

    Args:
        tensors: the data. train_idx: the interactions to fit.
        val_idx: validation interactions that choose the rank.
        progress: told each stage and the seconds since the fit started (each is
            logged too).
    """
    stages = Stages(progress)
    seed = int(torch.randint(0, 2**62, (1,)))
    gen = torch.Generator().manual_seed(seed)
    edges = tensors.edge_index[:, train_idx]
    ratings = tensors.rating[train_idx].numpy()
    known = ratings[~np.isnan(ratings)]
    model.rating_scale = float(known.max()) if len(known) and known.max() > 0 else 1.0
    num_users, num_items, nnz = model.num_users, model.num_items, int(edges.size(1))
    text_dim = 0 if tensors.item_text is None else int(tensors.item_text.size(1))
    feature_dim = text_dim + model.num_tags
    budget = memory_budget() if model.memory_budget is None else model.memory_budget
    wanted = model.rank if model.rank is not None else min(max(model.ranks), num_items)
    form = model.form
    if form == "auto":
        form = choose_form(num_users, num_items, nnz, wanted, budget, feature_dim)
    ranks = (
        [model.rank]
        if model.rank is not None
        else candidate_ranks(num_users, num_items, nnz, form, model.ranks, budget, feature_dim)
    )
    peak = ease_memory_bytes(num_users, num_items, nnz, form, max(ranks), feature_dim)
    stages(
        f"{form} form, rank {ranks[0] if len(ranks) == 1 else f'of {ranks}'}: "
        f"{num_items} items, {nnz} interactions, predicted peak "
        f"{peak / 2**30:.2f} GiB of a {budget / 2**30:.2f} GiB budget"
    )
    factors = None
    model.validation = {}
    rank = ranks[0]
    if len(ranks) > 1:
        rank, factors = _choose_rank(model, tensors, train_idx, val_idx, form, ranks, gen, stages)
    if factors is None:
        factors = _factorise(model, edges, form, [rank], gen, stages)
    left, right = factors.prefix(rank)
    del factors
    model.form, model.rank = form, rank
    dev = model.item_factors.device
    model.history_factors = left.contiguous().to(dev)
    model.item_factors = right.contiguous().to(dev)
    model.set_history(edges, tensors.ts[train_idx], tensors.rating[train_idx])
    model.fit_item_map(tensors, edges)
    stages(f"solved: {form} form, rank {rank}")


def _factorise(
    model: EASE,
    edges: torch.Tensor,
    form: str,
    ranks: Sequence[int],
    gen: torch.Generator,
    stages: Stages,
) -> Factors:
    """The factors of ``form`` on the interactions ``edges`` for every rank of
    ``ranks``."""
    matrix = binary_matrix(edges, model.num_users, model.num_items)
    q = oversampled(max(ranks), model.num_items)
    if form == "dense":
        weights = ease_weights(matrix, model.lam)
        stages(f"dense EASE weights ({model.num_items} x {model.num_items})")
        factors = dense_factors(weights, q, min(ranks))
    else:
        factors = lowrank_factors(matrix, model.lam, q, gen, stages=stages)
    stages(f"{form} factors of rank {factors.rank}")
    return factors


def _choose_rank(
    model: EASE,
    tensors: GraphTensors,
    train_idx: torch.Tensor,
    val_idx: torch.Tensor | None,
    form: str,
    ranks: Sequence[int],
    gen: torch.Generator,
    stages: Stages,
) -> tuple[int, Factors | None]:
    """The rank of ``ranks`` best on validation Recall@20 (ties: the smaller), and the
    factors to take its prefix from when they were fitted on all of ``train_idx``."""
    given = val_idx is not None and len(val_idx) > 0
    fit_idx, held_idx = train_idx, val_idx
    if not given:
        users = tensors.edge_index[0, train_idx].numpy()
        held = torch.from_numpy(holdout(users, tensors.ts[train_idx].numpy()))
        fit_idx, held_idx = train_idx[~held], train_idx[held]
    assert held_idx is not None
    if len(held_idx) == 0:
        return max(ranks), None
    shape = (model.num_users, model.num_items)
    edges = tensors.edge_index[:, fit_idx]
    factors = _factorise(model, edges, form, ranks, gen, stages)
    weight = model._weights(edges, tensors.ts[fit_idx], tensors.rating[fit_idx]).numpy()
    e = edges.numpy()
    history = sp.csr_matrix((weight, (e[0], e[1])), shape=shape, dtype=np.float32)
    seen = binary_matrix(edges, *shape)
    truth = binary_matrix(tensors.edge_index[:, held_idx], *shape)
    users = np.unique(tensors.edge_index[0, held_idx].numpy())
    rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=gen)))
    if len(users) > MAX_EVAL_USERS:
        users = np.sort(rng.choice(users, MAX_EVAL_USERS, replace=False))
    model.validation = validation_recall(factors, history, seen, truth, ranks, users)
    best = max(ranks, key=lambda r: (model.validation[r], -r))
    where = "validation" if given else "the latest 10% of each history"
    stages(
        "rank "
        + str(best)
        + " of "
        + ", ".join(f"{r}: {v:.4f}" for r, v in model.validation.items())
        + f" (Recall@20 on {where}, {len(users)} users)"
    )
    return best, (factors if given else None)


def fit_item_map(model: EASE, tensors: GraphTensors, edges: torch.Tensor) -> None:
    """Fit the new-item map (:func:`ridge_map`) on the items with training interactions
    ``edges`` (``(user, item)``)."""
    features = item_features(
        tensors.item_text, tensors.item_tag_index, model.num_items, model.num_tags
    )
    trained = torch.bincount(edges[1].cpu(), minlength=model.num_items) > 0
    dev = model.item_factors.device
    if not trained.any():
        model.feature_map = torch.zeros(features.size(1), model.dim, device=dev)
        model.feature_bias = torch.zeros(model.dim, device=dev)
        return
    weight, bias = ridge_map(features[trained], model.item_factors.cpu()[trained], model.item_alpha)
    model.feature_map, model.feature_bias = weight.to(dev), bias.to(dev)


def fit_cost(size: GraphSize, options: dict[str, Any], budget_bytes: int | None = None) -> FitCost:
    """One :func:`solve` at ``size`` (:mod:`kgrec.gnn.training.plan`): the form ``auto`` would
    choose within ``budget_bytes`` (:func:`~kgrec.gnn.models.ease_forms.choose_form`), the
    largest candidate rank that fits, and the peak memory of
    :func:`~kgrec.gnn.models.ease_forms.ease_memory_bytes`. The arithmetic counts the
    factorisation (dense: the Cholesky inverse, :math:`\\sim I^3`, and a truncated SVD;
    lowrank: subspace iterations through :math:`X^\\top(XM)`, linear in the
    interactions), the validation scoring that chooses the rank and the new-item map."""
    from kgrec.gnn.training.plan import BUDGET_SHARE, FitCost

    users, items, nnz = size.num_users, size.num_items, size.num_interactions
    ranks = tuple(options.get("ranks") or RANKS)
    features = size.text_dim + size.num_tags
    form = str(options.get("form", "auto"))
    limit = options.get("memory_budget") or memory_budget()
    if budget_bytes is not None:  # the job's own limit, of which the fit gets its share
        limit = min(int(limit), int(MEMORY_SHARE / BUDGET_SHARE * budget_bytes))
    if form == "auto":
        form = choose_form(users, items, nnz, max(ranks), limit, features)
    rank = max(candidate_ranks(users, items, nnz, form, ranks, limit, features))
    q = oversampled(rank, items)
    peak = ease_memory_bytes(users, items, nnz, form, rank, features)
    rounds = 2 * LOWRANK_ITERATIONS + 2
    if form == "dense":
        dense = float(items) ** 3 + 2.0 * rounds * items * items * q
        sparse = 2.0 * nnz * nnz / max(users, 1)  # the Gram matrix X^T X
        fix = "the lowrank form (memory linear in the catalogue) is chosen by default"
    else:
        dense = 10.0 * items * q * q
        sparse = 4.0 * rounds * nnz * q
        fix = "choose smaller ranks (model option ranks=(64, 128, 256))"
    dense += 2.0 * min(users, MAX_EVAL_USERS) * items * q  # the validation scoring
    dense += 2.0 * items * features * features + float(features) ** 3  # new-item map
    return FitCost(
        f"{form} EASE, rank chosen on validation up to {rank}", peak, dense, sparse, fix=fix
    )
