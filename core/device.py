"""Which device a computation runs on (torch is imported only when asked to choose)."""

from __future__ import annotations

from typing import Any


def resolve_device(device: Any = "auto") -> str:
    """``'auto'`` -> ``'cuda'`` when a GPU is present, else ``'cpu'``; anything else as given.

    Args:
        device: ``'auto'``, ``'cpu'``, ``'cuda'``, ``'cuda:1'`` or a ``torch.device``.

    Returns:
        The device name, usable by ``torch.device`` and by sentence-transformers.
    """
    name = str(device)
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
