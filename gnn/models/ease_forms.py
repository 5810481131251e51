r"""How :class:`~kgrec.gnn.models.ease.EASE` is solved: dense or low-rank, its rank chosen on
validation, and what a fit costs in memory before it starts.

Two forms give the same kind of factors :math:`B \approx PQ^\top` (``[I, d]`` each), whose
leading ``k`` columns are the rank-``k`` model for every ``k`` (nested prefixes):

- ``dense`` (:func:`dense_factors`): EASE's closed form :math:`B` (``[I, I]``,
  :func:`~kgrec.gnn.models.ease.ease_weights`), then its truncated SVD :math:`B \approx U_d S_d
  V_d^\top`: :math:`P = U_d S_d`, :math:`Q = V_d`. Memory :math:`\sim 8 I^2` bytes, time
  :math:`\sim I^3`.
- ``lowrank`` (:func:`lowrank_factors`): no ``items x items`` matrix. With the Gram matrix
  :math:`G = X^\top X = V\Lambda V^\top`, EASE's inverse is
  :math:`\lambda(G + \lambda I)^{-1} = I - V S V^\top`, :math:`S = \Lambda/(\Lambda+\lambda)`,
  so its weights off the diagonal are exactly

  .. math:: B_{vi} = \frac{(V S V^\top)_{vi}}{1 - (V S V^\top)_{ii}}\qquad (v \ne i).

  Keeping the top ``k`` eigenpairs (a randomized subspace iteration that touches :math:`G`
  only through the sparse products :math:`X^\top(XM)`, in user chunks) gives
  :math:`P = V_k S_k` and :math:`Q = V_k\,\mathrm{diag}(d)`, with
  :math:`d_i = 1/(1 - \sum_{j\le k} V_{ij}^2 S_j - t_i)` and :math:`t_i = r_i/(\Lambda_{k+1}
  + \lambda)`, a lower bound of the discarded spectrum's share of the diagonal through the
  residual :math:`r_i = G_{ii} - \sum_{j\le k} V_{ij}^2\Lambda_j` (exact: :math:`G_{ii}` is the
  item's count). At ``k = I`` this is EASE itself on every item outside the user's history
  (the history's own items, which ranking masks, get a self-score that EASE's
  :math:`\mathrm{diag}(B) = 0` removes). Memory :math:`\sim` ``nnz`` plus a few ``[I, k]``
  and ``[U, k]`` arrays; time linear in ``nnz`` and ``I``.

The rank is chosen on validation (:func:`validation_recall`): one fit at the largest
candidate, then every candidate prefix scored by Recall@20 on the validation interactions of
a seeded sample of users. :func:`ease_memory_bytes` predicts a fit's peak memory,
:func:`choose_form` picks the form that fits a budget (a share of the memory available now,
:func:`memory_budget`), and :func:`candidate_ranks` drops ranks that would not fit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from kgrec.core.errors import InvalidParameter
from kgrec.core.memory import available_memory_bytes

log = logging.getLogger(__name__)

#: The forms of :class:`~kgrec.gnn.models.ease.EASE` (``auto``: :func:`choose_form`).
FORMS = ("auto", "dense", "lowrank")
#: Candidate ranks chosen among on validation (capped by the catalogue and memory).
RANKS = (64, 128, 256, 512, 1024)
#: The share of available memory a fit may plan to use (:func:`memory_budget`).
MEMORY_SHARE = 0.6
#: Users whose validation Recall@20 chooses the rank (a seeded sample above this).
MAX_EVAL_USERS = 5000
#: Subspace iterations of the low-rank eigensolver (each squares the spectral gap of G).
LOWRANK_ITERATIONS = 2
#: Power iterations of the dense form's randomized SVD of B.
DENSE_ITERATIONS = 2
#: A stage of a fit: ``progress(stage, seconds since the fit started)``.
Progress = Callable[[str, float], None]

_F32 = 4
_CHUNK_BYTES = 256 * 2**20  # the largest dense temporary a chunked product makes


def memory_budget(share: float = MEMORY_SHARE) -> int:
    """``share`` of the memory available now (:func:`~kgrec.core.memory.available_memory_bytes`;
    8 GiB when it is unknown), and no more than ``KGREC_MEMORY_LIMIT`` when it is set (the
    limit the job's plan holds the whole job to)."""
    from kgrec.core.settings import memory_limit_bytes

    avail = available_memory_bytes()
    budget = int(share * (avail if avail is not None else 8 * 2**30))
    limit = memory_limit_bytes()
    return budget if limit is None else min(budget, limit)


def oversampled(rank: int, num_items: int) -> int:
    """Columns the solvers compute for ``rank`` (10% and at least 16 more, for the accuracy
    of the last ones), at most ``num_items``."""
    return min(num_items, rank + max(16, rank // 10))


def ease_memory_bytes(
    num_users: int, num_items: int, nnz: int, form: str, rank: int, feature_dim: int = 0
) -> int:
    """The predicted peak memory (bytes) of one :meth:`EASE.solve
    <kgrec.gnn.models.ease.EASE.solve>` at ``rank`` (the largest candidate when the rank is chosen).

    Counted: the interactions as sparse matrices (``X``, ``X^T`` and the history, about 48
    bytes an interaction); for ``dense`` two ``[I, I]`` float32 matrices at once (the Gram
    matrix and its Cholesky factor, then the factor and the inverse that becomes ``B``); for
    ``lowrank`` five ``[I, q]`` float32 arrays (basis, product, QR, eigenvectors, factors,
    ``q`` = :func:`oversampled` rank); the ``[U, rank]`` user embeddings; the chunked
    temporaries; the new-item map's features (``[I, feature_dim]``, float32 and float64) and
    targets (the ``[I, rank]`` item factors, twice in float64) beside the two factors.
    An ill-conditioned Gram matrix (a tiny ``lam``) is solved again in float64, which needs
    about 2.5 times the ``dense`` figure.

    Args:
        num_users, num_items: the sizes. nnz: training interactions.
        form: ``dense`` or ``lowrank``. rank: the factorisation's rank.
        feature_dim: text dimensions plus tags of the new-item map (0: not counted).

    Raises:
        InvalidParameter: ``form`` is not ``dense`` or ``lowrank``.
    """
    q = oversampled(rank, num_items)
    common = 48 * nnz + _F32 * num_users * rank + 2 * _CHUNK_BYTES
    common += 12 * num_items * feature_dim + 24 * num_items * min(rank, num_items)
    if form == "dense":
        return common + 2 * _F32 * num_items**2 + 4 * _F32 * num_items * q
    if form == "lowrank":
        return common + 5 * _F32 * num_items * q
    raise InvalidParameter(
        f"unknown EASE form {form!r} for a memory estimate; choose dense or lowrank", field="form"
    )


def choose_form(
    num_users: int,
    num_items: int,
    nnz: int,
    rank: int = RANKS[-1],
    budget: int | None = None,
    feature_dim: int = 0,
) -> str:
    """``dense`` when its predicted peak (:func:`ease_memory_bytes`) fits ``budget`` bytes
    (default :func:`memory_budget`), else ``lowrank``: memory linear in the catalogue."""
    limit = memory_budget() if budget is None else budget
    dense = ease_memory_bytes(num_users, num_items, nnz, "dense", rank, feature_dim)
    return "dense" if dense <= limit else "lowrank"


def candidate_ranks(
    num_users: int,
    num_items: int,
    nnz: int,
    form: str,
    ranks: Sequence[int] = RANKS,
    budget: int | None = None,
    feature_dim: int = 0,
) -> list[int]:
    """The ranks of ``ranks`` to choose among: each capped at ``num_items``, those whose fit
    fits ``budget`` (default :func:`memory_budget`); the smallest one always stays.

    Raises:
        InvalidParameter: ``ranks`` is empty or holds a rank below 1.
    """
    if not ranks or min(ranks) < 1:
        raise InvalidParameter(
            f"ranks must be positive and not empty, got {list(ranks)}", field="ranks"
        )
    limit = memory_budget() if budget is None else budget
    capped = sorted({min(int(r), num_items) for r in ranks})
    fits = [
        r
        for r in capped
        if ease_memory_bytes(num_users, num_items, nnz, form, r, feature_dim) <= limit
    ]
    return fits or capped[:1]


class Stages:
    """Logs each stage of a fit with the seconds since it started, and tells ``progress``."""

    def __init__(self, progress: Progress | None = None, prefix: str = "EASE") -> None:
        self.progress, self.prefix, self.start = progress, prefix, time.perf_counter()

    def __call__(self, stage: str) -> None:
        elapsed = time.perf_counter() - self.start
        log.info("%s: %s (%.1f s)", self.prefix, stage, elapsed)
        if self.progress is not None:
            self.progress(stage, elapsed)


@dataclass
class Factors:
    """The factors of every rank up to :attr:`rank`: :meth:`prefix` gives rank ``k``'s.

    Attributes:
        left: ``[I, q]``, :math:`P` of the largest rank (its first ``k`` columns are rank
            ``k``'s). right: ``[I, q]``, :math:`Q` before the column scaling.
        eigenvalues, counts, lam: for ``lowrank``, :math:`\\Lambda` (descending), the items'
            counts :math:`G_{ii}` and :math:`\\lambda` that make :math:`d`; None for ``dense``.
        full: for ``dense``, :math:`B` itself: rank ``I`` is ``(B, identity)``.
    """

    left: torch.Tensor
    right: torch.Tensor
    eigenvalues: torch.Tensor | None = None
    counts: torch.Tensor | None = None
    lam: float = 0.0
    full: torch.Tensor | None = None

    @property
    def rank(self) -> int:
        return int(self.left.size(1))

    @property
    def identity(self) -> bool:
        """``left`` is :math:`B` and ``right`` the identity (only the full rank is known)."""
        return self.full is not None and self.left is self.full

    def scale(self, k: int) -> torch.Tensor | None:
        """:math:`d` of rank ``k`` (``[I]``; None: no scaling)."""
        if self.eigenvalues is None or self.counts is None:
            return None
        w = self.eigenvalues.double()
        v2 = self.right[:, :k].double().pow(2)
        shrunk = v2 @ (w[:k] / (w[:k] + self.lam))
        residual = (self.counts.double() - v2 @ w[:k]).clamp(min=0.0)
        tail = residual / (float(w[min(k, len(w) - 1)]) + self.lam)
        floor = self.lam / (self.counts.double() + self.lam)  # lambda P_ii >= lam/(G_ii+lam)
        return (1.0 / torch.maximum(1.0 - shrunk - tail, floor)).float()

    def prefix(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(P, Q)`` of rank ``k`` (``[I, k]`` each); for ``dense`` at ``k >= I``,
        ``(B, identity)``."""
        num_items = self.left.size(0)
        if self.full is not None and k >= num_items:
            return self.full, torch.eye(num_items)
        d = self.scale(k)
        right = self.right[:, :k] if d is None else self.right[:, :k] * d[:, None]
        return self.left[:, :k].contiguous(), right.contiguous()


def dense_gram(matrix: sp.csr_matrix, block: int = 2048) -> torch.Tensor:
    """:math:`X^\\top X` as a dense float32 ``[I, I]`` tensor, filled ``block`` item columns
    at a time from sparse products (never a sparse ``[I, I]`` matrix at once).

    Shapes:
        matrix: ``[U, I]``; output: ``[I, I]``.
    """
    num_items = matrix.shape[1]
    csc = matrix.tocsc()
    xt = matrix.T.tocsr()
    gram = torch.empty(num_items, num_items)
    for lo in range(0, num_items, block):
        hi = min(num_items, lo + block)
        part = (xt @ csc[:, lo:hi]).toarray()
        gram[:, lo:hi] = torch.from_numpy(np.asarray(part, dtype=np.float32))
    return gram


def dense_factors(weights: torch.Tensor, q: int, smallest: int | None = None) -> Factors:
    """:math:`B \\approx (U_d S_d) V_d^\\top`, the top ``q`` singular triplets of ``weights``
    (randomized, seeded by torch's global generator; exact when ``q`` is most of ``I``).
    When ``smallest`` (the smallest rank wanted, default ``q``) is ``I``, no SVD: only
    :math:`B` itself with the identity.

    Shapes:
        weights: ``[I, I]``; factors: ``[I, min(q, I)]``.
    """
    num_items = weights.size(0)
    q = min(q, num_items)
    if (q if smallest is None else smallest) >= num_items:
        return Factors(weights, torch.eye(num_items), full=weights)
    if 2 * q >= num_items:
        u, s, vh = torch.linalg.svd(weights.double(), full_matrices=False)
        return Factors((u[:, :q] * s[:q]).float(), vh[:q].T.float().contiguous(), full=weights)
    u, s, v = torch.svd_lowrank(weights, q=q, niter=DENSE_ITERATIONS)
    return Factors((u * s).contiguous(), v.contiguous(), full=weights)


def gram_product(matrix: sp.csr_matrix, xt: sp.csr_matrix, m: np.ndarray) -> np.ndarray:
    """:math:`X^\\top (X M)` in user chunks (never a dense ``[U, q]``).

    Shapes:
        matrix: ``[U, I]``; xt: its transpose; m: ``[I, q]``; output: ``[I, q]`` float32.
    """
    num_users = matrix.shape[0]
    chunk = max(1, _CHUNK_BYTES // (_F32 * max(m.shape[1], 1)))
    if chunk >= num_users:
        return np.asarray(xt @ (matrix @ m), dtype=np.float32)
    out = np.zeros((matrix.shape[1], m.shape[1]), dtype=np.float32)
    xt_csc = xt.tocsc()
    for lo in range(0, num_users, chunk):
        hi = min(num_users, lo + chunk)
        out += xt_csc[:, lo:hi] @ (matrix[lo:hi] @ m)
    return out


def lowrank_factors(
    matrix: sp.csr_matrix,
    lam: float,
    q: int,
    generator: torch.Generator,
    iterations: int = LOWRANK_ITERATIONS,
    stages: Stages | None = None,
) -> Factors:
    """The low-rank form's factors (module docstring) from the top ``q`` eigenpairs of
    :math:`G = X^\\top X`: randomized subspace iteration on :math:`G` through sparse products,
    then Rayleigh-Ritz in float64; a dense eigendecomposition when ``q`` is most of ``I``.

    Shapes:
        matrix: ``[U, I]`` binary; factors: ``[I, q]``.
    """
    num_items = matrix.shape[1]
    counts = torch.from_numpy(np.asarray(matrix.sum(0), dtype=np.float64).ravel())
    if 2 * q >= num_items:
        w, v = torch.linalg.eigh(dense_gram(matrix).double())
        w, v = w.flip(0)[:q].clamp(min=0.0), v.flip(1)[:, :q].float().contiguous()
    else:
        xt = matrix.T.tocsr()
        basis = torch.randn(num_items, q, generator=generator)
        product = torch.from_numpy(gram_product(matrix, xt, basis.numpy()))
        for step in range(iterations):
            basis = torch.linalg.qr(product).Q
            product = torch.from_numpy(gram_product(matrix, xt, basis.numpy()))
            if stages is not None:
                stages(f"subspace iteration {step + 1} of {iterations} (rank {q})")
        basis = torch.linalg.qr(product).Q
        product = torch.from_numpy(gram_product(matrix, xt, basis.numpy()))
        small = (basis.T @ product).double()
        w, z = torch.linalg.eigh((small + small.T) / 2)
        w, z = w.flip(0).clamp(min=0.0), z.flip(1)
        v = (basis @ z.float()).contiguous()
        del product
    s = w / (w + lam)
    left = (v * s.float()).contiguous()
    return Factors(left, v, w, counts, lam)


def validation_recall(
    factors: Factors,
    history: sp.csr_matrix,
    seen: sp.csr_matrix,
    truth: sp.csr_matrix,
    ranks: Sequence[int],
    users: np.ndarray,
    k: int = 20,
) -> dict[int, float]:
    """Recall@``k`` of every rank in ``ranks`` (each at most :attr:`Factors.rank`) over
    ``users``: each user's items in ``seen`` masked, ``truth`` to find. The prefixes share
    one pass over the users (scores grow rank by rank).

    Shapes:
        history, seen, truth: ``[U, I]`` (weights, masked items, validation items).
    """
    ranks = sorted(ranks)
    num_items = history.shape[1]
    left = factors.left.numpy()
    scales = {r: factors.scale(r) for r in ranks}
    found = dict.fromkeys(ranks, 0.0)
    chunk = max(1, _CHUNK_BYTES // (_F32 * num_items))
    kk = min(k, num_items)
    for lo in range(0, len(users), chunk):
        rows = users[lo : lo + chunk]
        emb = torch.from_numpy(np.asarray(history[rows] @ left, dtype=np.float32))
        mask = torch.from_numpy(seen[rows].toarray() > 0)
        want = torch.from_numpy(truth[rows].toarray() > 0)
        n_rel = want.sum(1).clamp(min=1).float()
        raw = torch.zeros(len(rows), num_items)
        done = 0
        for r in ranks:
            if factors.identity:
                raw = emb
            else:
                raw += emb[:, done:r] @ factors.right[:, done:r].T
            done = r
            d = scales[r]
            scores = raw if d is None else raw * d
            scores = scores.masked_fill(mask, float("-inf"))
            top = torch.topk(scores, kk, dim=1).indices
            found[r] += float((want.gather(1, top).sum(1) / n_rel).sum())
    return {r: found[r] / max(len(users), 1) for r in ranks}


def holdout(users: np.ndarray, ts: np.ndarray, share: float = 0.1) -> np.ndarray:
    """True for each user's latest ``floor(share * n)`` interactions (by ``ts``, then
    order): a validation part carved from training data when none is given.

    Shapes:
        users, ts: ``[n]``; output: ``[n]`` bool.
    """
    from kgrec.gnn.models.recency import positions_from_end

    later = positions_from_end(users, ts)
    counts = np.bincount(users, minlength=int(users.max()) + 1 if len(users) else 0)
    return later < np.floor(share * counts[users] + 1e-9)
