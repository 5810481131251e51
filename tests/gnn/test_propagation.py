"""The one propagation operator against PyG's LGConv, and its gradient."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.nn import LGConv

from kgrec.gnn.models import propagation
from kgrec.gnn.models.propagation import (
    ColumnBlocks,
    adjacency_csr,
    column_blocks,
    layer_mean,
    layer_states,
    normalised_adjacency,
)


def _graph(seed: int = 0, n: int = 40, m: int = 120) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, n, (2, m), generator=g)


def test_layer_states_equal_pyg_lgconv() -> None:
    n = 40
    edges = _graph()
    index, value = normalised_adjacency(edges, n)
    x0 = torch.randn(n, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ours = layer_states(adjacency_csr(index, value.double(), n), x0, 3)
    conv = LGConv(normalize=True)
    both = torch.cat([edges, edges.flip(0)], 1)
    both = torch.unique(both[:, both[0] != both[1]], dim=1)  # LGConv counts duplicates twice
    x = x0
    for k in range(1, 4):
        x = conv(x, both)
        torch.testing.assert_close(ours[k], x)


def test_gradient_of_the_symmetric_product_is_exact() -> None:
    n = 30
    index, value = normalised_adjacency(_graph(2, n, 80), n)
    adj = adjacency_csr(index, value.double(), n)
    dense = adj.to_dense()
    x0 = torch.randn(n, 4, dtype=torch.float64, requires_grad=True)
    torch.stack(layer_states(adj, x0, 2)).sum().backward()
    ones = torch.ones(n, 4, dtype=torch.float64)
    expected = ones + dense.T @ ones + dense.T @ dense.T @ ones
    torch.testing.assert_close(x0.grad, expected)


def test_layer_mean_and_its_gradient_equal_stepping_through_the_layers() -> None:
    n = 30
    index, value = normalised_adjacency(_graph(3, n, 90), n)
    adj = adjacency_csr(index, value.double(), n)
    x0 = torch.randn(n, 5, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(n, 5, dtype=torch.float64)
    stepped = torch.stack(layer_states(adj, x0, 3)).mean(0)
    (expected,) = torch.autograd.grad((stepped * weight).sum(), x0)
    fused = layer_mean(adj, x0, 3)
    (grad,) = torch.autograd.grad((fused * weight).sum(), x0)
    torch.testing.assert_close(fused, stepped)
    torch.testing.assert_close(grad, expected)


@pytest.mark.parametrize(
    ("bounds", "row_bounds"),
    [([0, 20, 41], None), ([0, 7, 20, 30, 41], None), ([0, 5, 13, 30, 41], [0, 13, 30, 41])],
)
def test_column_blocks_give_the_products_and_gradient_of_the_whole_matrix(
    bounds, row_bounds
) -> None:
    """Blocks of uneven sizes (41 nodes), some rows with no entry in a block."""
    n = 41
    index, value = normalised_adjacency(_graph(4, n, 100), n)
    adj = adjacency_csr(index, value.double(), n)
    blocks = ColumnBlocks(adj, bounds, row_bounds)
    assert blocks.num_column_blocks == len(bounds) - 1
    assert sum(b.values().numel() for b, *_ in blocks.segments) == adj.values().numel()
    x0 = torch.randn(n, 5, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(blocks @ x0.detach(), adj.to_dense() @ x0.detach())
    weight = torch.randn(n, 5, dtype=torch.float64)
    whole = layer_mean(adj, x0, 3)
    (expected,) = torch.autograd.grad((whole * weight).sum(), x0)
    split = layer_mean(blocks, x0, 3)
    (grad,) = torch.autograd.grad((split * weight).sum(), x0)
    torch.testing.assert_close(split, whole)
    torch.testing.assert_close(grad, expected)


def test_blocks_by_node_type_write_only_the_rows_they_reach() -> None:
    """Users 0-9, items 10-29, tags 30-33, node 34 isolated: a user block's products reach
    item rows alone, and every row of a buffer full of NaN is overwritten."""
    g = torch.Generator().manual_seed(6)
    users_items = torch.stack(
        [torch.randint(0, 10, (60,), generator=g), torch.randint(10, 30, (60,), generator=g)]
    )
    items_tags = torch.stack(
        [torch.randint(10, 30, (15,), generator=g), torch.randint(30, 34, (15,), generator=g)]
    )
    n, types = 35, [0, 10, 30, 35]
    index, value = normalised_adjacency(torch.cat([users_items, items_tags], 1), n)
    adj = adjacency_csr(index, value.double(), n)
    blocks = ColumnBlocks(adj, [0, 5, 10, 20, 30, 35], types)
    for block, c0, r0, *_ in blocks.segments:
        r1 = r0 + block.size(0)
        if c0 < 10:  # user columns
            assert 10 <= r0 and r1 <= 30
        assert any(lo <= r0 and r1 <= hi for lo, hi in zip(types[:-1], types[1:], strict=True))
    assert blocks.zero_after == [(34, 35)]
    x = torch.randn(n, 3, dtype=torch.float64)
    out = torch.full((n, 3), float("nan"), dtype=torch.float64)
    torch.testing.assert_close(blocks.product_into(out, x), adj.to_dense() @ x)


def test_states_are_split_only_once_they_outgrow_one_block(monkeypatch) -> None:
    n = 40
    index, value = normalised_adjacency(_graph(5, n, 120), n)
    adj = adjacency_csr(index, value, n)
    monkeypatch.setattr(propagation, "STATE_BLOCK_BYTES", n * 8 * 4)  # 40 rows of 8 floats
    assert column_blocks(adj, 8) is adj
    split = column_blocks(adj, 20)
    assert isinstance(split, ColumnBlocks) and split.num_column_blocks == 3  # ceil(20 / 8)
    by_type = column_blocks(adj, 20, [0, 10, 40])  # 10 rows: 1 block; 30 rows: ceil(15 / 8)
    assert isinstance(by_type, ColumnBlocks) and by_type.num_column_blocks == 3
    assert all(c0 + b.size(1) <= 10 or c0 >= 10 for b, c0, *_ in by_type.segments)
