"""The one propagation operator against PyG's LGConv, and its gradient."""

from __future__ import annotations

import torch
from torch_geometric.nn import LGConv

from kgrec.gnn.propagation import adjacency_csr, layer_mean, layer_states, normalised_adjacency


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
