r"""The one propagation operator of the graph models: :math:`x^{(k+1)} = \hat A x^{(k)}` with
the symmetric normalised adjacency :math:`\hat A = D^{-1/2} A D^{-1/2}`.

LightGCN's forward pass, the exact path decomposition of its scores and the edge-removal
check of explanation faithfulness all build :math:`\hat A` with :func:`normalised_adjacency`
and step through it with :func:`layer_states` (or its layer mean, :func:`layer_mean`, which
training calls once per step), so they cannot drift apart.

Why not PyG's ``LGConv``: it propagates over an ``edge_index`` and normalises on every call;
the models here keep one pre-normalised CSR matrix on the device and reuse it for every layer,
every step and every explanation (a custom autograd op, :func:`sym_spmm`, uses the symmetry
for the backward pass). The maths is the same; a test checks both give the same states.

On the CPU, once the ``[N, d]`` states outgrow the last-level cache, a product's gathers
of neighbour rows miss it; :func:`column_blocks` then splits :math:`\hat A` into column
blocks whose slice of the states fits ``STATE_BLOCK_BYTES``, aligned to the node types,
and sums their products, each over the rows its block reaches (5M interactions, 300k
nodes, d = 64, one process: a 3-layer :func:`layer_mean` forward and backward in about
1.1-1.3 s over 12 blocks of 8 MiB by node type against 2.7 s whole; ``benchmarks/
train_epoch.py --sizes 1000000 5000000 --epochs 1 --timed-steps 2 --propagation
--block-mib 2 4 8 16``).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

#: The bytes of state rows one column block of :class:`ColumnBlocks` reads: a quarter of the
#: 32 MiB last-level cache of the 2-core CI machine. Blocks by node type, 3-layer
#: layer_mean forward and backward, one process (``benchmarks/train_epoch.py --sizes
#: 1000000 5000000 --epochs 1 --timed-steps 2 --propagation --block-mib 2 4 8 16``): see
#: benchmarks/README.md (epoch time) for the figures.
STATE_BLOCK_BYTES = 8 * 2**20


class _SymSpMM(torch.autograd.Function):
    """``adj @ x`` for a symmetric sparse ``adj``; the gradient is ``adj @ grad``."""

    @staticmethod
    def forward(ctx: Any, adj: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ctx.adj = adj
        return adj @ x

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, ctx.adj @ grad


def sym_spmm(adj: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``adj @ x`` with autograd for a symmetric sparse (CSR) ``adj``; only ``x`` gets a grad.

    Shapes:
        adj: ``[N, N]``; x: ``[N, d]``; output: ``[N, d]``.
    """
    return _SymSpMM.apply(adj, x)


def normalised_adjacency(edges: torch.Tensor, num_nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric ``D^-1/2 A D^-1/2`` of an undirected graph given by one direction of its edges.

    Shapes:
        edges: ``[2, m]`` node pairs (duplicates and self loops allowed, made unique).
        output: ``(index [2, nnz], value [nnz])``, coalesced, both directions.
    """
    both = torch.cat([edges, edges.flip(0)], dim=1)
    both = both[:, both[0] != both[1]]
    key = torch.unique(both[0] * num_nodes + both[1])
    index = torch.stack([key // num_nodes, key % num_nodes])
    deg = torch.bincount(index[0], minlength=num_nodes).float()
    inv = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
    return index, inv[index[0]] * inv[index[1]]


def adjacency_csr(
    index: torch.Tensor, value: torch.Tensor, num_nodes: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    r""":math:`\hat A` as a sparse CSR matrix ``[N, N]`` on ``device``.

    Its indices are int32 when they fit: the CPU kernel otherwise converts the int64 ones
    on every product (about a quarter of its time).
    """
    coo = torch.sparse_coo_tensor(
        index, value, (num_nodes, num_nodes), check_invariants=False
    ).coalesce()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "CSR support is in beta"
        csr = coo.to_sparse_csr()
        if max(num_nodes, csr.values().numel()) < 2**31:
            csr = torch.sparse_csr_tensor(
                csr.crow_indices().int(),
                csr.col_indices().int(),
                csr.values(),
                csr.shape,
                check_invariants=False,
            )
        return csr.to(device)


def layer_states(adj: torch.Tensor, x0: torch.Tensor, num_layers: int) -> list[torch.Tensor]:
    """``[x0, Â x0, ..., Â^K x0]``: the states after each of ``num_layers`` steps.

    Differentiable in ``x0`` (through :func:`sym_spmm`) when ``adj`` is a CSR matrix.

    Shapes:
        adj: ``[N, N]``; x0: ``[N, d]``; output: ``K + 1`` tensors ``[N, d]``.
    """
    states = [x0]
    for _ in range(num_layers):
        states.append(sym_spmm(adj, states[-1]))
    return states


class ColumnBlocks:
    r""":math:`\hat A` ``[N, N]`` as CSR blocks of consecutive columns: ``Â @ x`` is the sum
    of ``block @ x[start:stop]``, each of which gathers rows from one slice of ``x`` only.

    Each column block is cut further into row segments: within each range of
    ``row_bounds`` (the node types), the rows from its first to its last entry. A product
    then reads and writes only those rows of the output (a user block's products reach
    item rows alone), and a segment that is the first to reach its rows overwrites them
    instead of adding to them.

    Built by :func:`column_blocks`; :func:`layer_mean` takes it wherever it takes the CSR
    matrix (the products are the same up to float summation order). It holds a second copy
    of the matrix's entries (the CSR matrix stays for paths and explanations).

    Args:
        adj: the CSR matrix ``[N, N]``.
        column_bounds: ``0 = b_0 < ... < b_k = N``; block ``j`` holds columns
            ``[b_j, b_j+1)``.
        row_bounds: boundaries of the row ranges to segment by (default: one range).
    """

    def __init__(
        self, adj: torch.Tensor, column_bounds: list[int], row_bounds: list[int] | None = None
    ) -> None:
        n = adj.size(0)
        crow, col, value = adj.crow_indices().long(), adj.col_indices().long(), adj.values()
        rows = torch.repeat_interleave(torch.arange(n, device=adj.device), crow.diff())
        ranges = _ranges(row_bounds or [0, n])
        self.dtype, self.device = adj.dtype, adj.device
        #: ``(block, column start, row start, beta, zero first)``: the block covers columns
        #: ``[column start, + block.size(1))`` and rows ``[row start, + block.size(0))``;
        #: beta 0 overwrites those rows, and ``zero first`` lists the ``(start, stop)`` runs
        #: among them that no earlier segment wrote (zeroed before a beta-1 product).
        self.segments: list[tuple[torch.Tensor, int, int, float, list[tuple[int, int]]]] = []
        written = torch.zeros(n, dtype=torch.bool)
        for c0, c1 in _ranges(column_bounds):
            in_block = (col >= c0) & (col < c1)
            for r_lo, r_hi in ranges:
                keep = in_block & (rows >= r_lo) & (rows < r_hi)
                if not bool(keep.any()):
                    continue
                r = rows[keep]
                r0, r1 = int(r.min()), int(r.max()) + 1
                counts = torch.bincount(r - r0, minlength=r1 - r0)
                block_crow = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # "CSR support is in beta"
                    block = torch.sparse_csr_tensor(
                        block_crow.to(adj.crow_indices().dtype),
                        (col[keep] - c0).to(adj.col_indices().dtype),
                        value[keep],
                        (r1 - r0, c1 - c0),
                        check_invariants=False,
                    )
                seen = written[r0:r1]
                beta = 0.0 if not bool(seen.any()) else 1.0
                zero_first = _runs(~seen, r0) if beta else []
                written[r0:r1] = True
                self.segments.append((block, c0, r0, beta, zero_first))
        #: The ``(start, stop)`` row runs no segment writes, zeroed after the products.
        self.zero_after = _runs(~written, 0)

    @property
    def num_column_blocks(self) -> int:
        """How many column blocks the segments come from."""
        return len({c0 for _, c0, *_ in self.segments})

    def product_into(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``out = Â @ x`` (``out`` contiguous ``[N, d]``, not ``x``)."""
        for block, c0, r0, beta, zero_first in self.segments:
            for start, stop in zero_first:
                out[start:stop].zero_()
            rows = out[r0 : r0 + block.size(0)]
            torch.addmm(rows, block, x[c0 : c0 + block.size(1)], beta=beta, out=rows)
        for start, stop in self.zero_after:
            out[start:stop].zero_()
        return out

    def __matmul__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype).contiguous()
        return self.product_into(torch.empty_like(x), x)


def _ranges(bounds: list[int]) -> list[tuple[int, int]]:
    """The non-empty ``[start, stop)`` between consecutive ``bounds``."""
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _runs(mask: torch.Tensor, offset: int) -> list[tuple[int, int]]:
    """The maximal ``[start, stop)`` runs of True in ``mask``, shifted by ``offset``."""
    idx = torch.nonzero(mask).flatten()
    if idx.numel() == 0:
        return []
    cut = torch.nonzero(idx.diff() > 1).flatten()
    starts = torch.cat([idx[:1], idx[cut + 1]]).tolist()
    stops = torch.cat([idx[cut] + 1, idx[-1:] + 1]).tolist()
    return [(a + offset, b + offset) for a, b in zip(starts, stops, strict=True)]


def _even_bounds(start: int, stop: int, parts: int) -> list[int]:
    """``parts + 1`` boundaries splitting ``[start, stop)`` into near-equal ranges."""
    return torch.linspace(start, stop, parts + 1).round().long().tolist()


def column_blocks(
    adj: torch.Tensor,
    dim: int,
    type_bounds: list[int] | None = None,
    block_bytes: int | None = None,
) -> torch.Tensor | ColumnBlocks:
    """``adj`` for products with ``[N, dim]`` states: on the CPU, once the states outgrow
    ``block_bytes`` (default ``STATE_BLOCK_BYTES``), :class:`ColumnBlocks` that split each
    range of ``type_bounds`` (the node types, default one range) into
    ``ceil(rows * dim * 4 / block_bytes)`` column blocks and segment their rows by the same
    ranges; ``adj`` itself on a GPU or when the states fit one block (the split would only
    add passes)."""
    if adj.layout != torch.sparse_csr or adj.device.type != "cpu":
        return adj
    n, size = adj.size(0), adj.values().element_size()
    block_bytes = STATE_BLOCK_BYTES if block_bytes is None else block_bytes
    if n * dim * size <= block_bytes:
        return adj
    type_bounds = sorted(set(type_bounds or []) | {0, n})
    bounds = [0]
    for start, stop in _ranges(type_bounds):
        bounds += _even_bounds(start, stop, math.ceil((stop - start) * dim * size / block_bytes))[
            1:
        ]
    return ColumnBlocks(adj, bounds, type_bounds)


class _LayerMean(torch.autograd.Function):
    """``mean_k Â^k x`` for a symmetric ``Â``: the operator is self-adjoint, so the backward
    pass applies it to the gradient (one graph node, no stored intermediate states)."""

    @staticmethod
    def forward(
        ctx: Any, adj: torch.Tensor | ColumnBlocks, x: torch.Tensor, num_layers: int
    ) -> torch.Tensor:
        ctx.adj, ctx.num_layers = adj, num_layers
        return _mean_of_powers(adj, x, num_layers)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor, None]:
        return None, _mean_of_powers(ctx.adj, grad.contiguous(), ctx.num_layers), None


def _mean_of_powers(
    adj: torch.Tensor | ColumnBlocks, x: torch.Tensor, num_layers: int
) -> torch.Tensor:
    """Three buffers for any ``num_layers``: each product is written into one of two state
    buffers (``addmm(out=)``, faster on the CPU than ``adj @ x`` into a new tensor, which at
    millions of nodes also pays the page faults of a fresh allocation every layer)."""
    total = x.clone()
    if num_layers == 0:
        return total
    if isinstance(adj, torch.Tensor) and (adj.layout != torch.sparse_csr or x.dtype != adj.dtype):
        state = x
        for _ in range(num_layers):
            state = adj @ state
            total += state
        return total.div_(num_layers + 1)
    buffers = [torch.empty_like(total) for _ in range(min(num_layers, 2))]
    state = x
    for k in range(num_layers):
        out = buffers[k % len(buffers)]
        if isinstance(adj, ColumnBlocks):
            adj.product_into(out, state)
        else:
            torch.addmm(out, adj, state, beta=0.0, out=out)
        total += out
        state = out
    return total.div_(num_layers + 1)


def layer_mean(adj: torch.Tensor | ColumnBlocks, x0: torch.Tensor, num_layers: int) -> torch.Tensor:
    r""":math:`\frac{1}{K+1}\sum_{k=0}^{K} \hat A^k x_0`, the mean of :func:`layer_states`.

    The same sum as ``torch.stack(layer_states(adj, x0, K)).mean(0)`` up to float rounding,
    as one autograd node: the backward pass is the same operator on the gradient (``adj``
    symmetric), about twice as fast as stepping back through each layer.

    Shapes:
        adj: ``[N, N]`` symmetric CSR (or its :func:`column_blocks`); x0: ``[N, d]``;
        output: ``[N, d]``.
    """
    return _LayerMean.apply(adj, x0, num_layers)
