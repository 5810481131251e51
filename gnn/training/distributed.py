r"""Data-parallel training: :class:`~torch.nn.parallel.DistributedDataParallel` over processes
on one machine (``TrainConfig.nproc``, ``kgrec train --nproc N``) or over several machines
(``torchrun``).

With full-graph propagation every process computes the same forward pass; what is split is
the batch. Every process draws the same global batch order and the same negatives (one
generator seeded with ``TrainConfig.seed``), takes its shard of each batch
(:meth:`Group.shard`), and scales its loss by the number of processes over the global batch
length, so the gradients DDP averages are those of single-process training with the same
global batch, up to float summation order. Rank 0 evaluates on validation and broadcasts
the value (:meth:`Group.broadcast`), so every process takes the same early-stopping
decision. Backend: NCCL with CUDA devices (one per process), gloo on CPUs.

:func:`fit_parallel` starts the processes (``torch.multiprocessing``, spawn) and brings the
trained weights back into the caller's model; under ``torchrun``, call :func:`init_from_env`
in each process and then :func:`kgrec.gnn.fit` as usual (see docs/training.md).
"""

from __future__ import annotations

import copy
import os
import socket
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist

from kgrec.core.device import resolve_device

__all__ = ["Group", "current", "fit_parallel", "init_from_env", "is_main"]

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.models.model import EmbeddingModel
    from kgrec.gnn.training.config import TrainConfig
    from kgrec.gnn.training.splits import Split
    from kgrec.gnn.training.train import Callback, History


@dataclass(frozen=True)
class Group:
    """This process's place in the default process group (more than one process).

    Attributes:
        rank: this process, ``0 <= rank < world_size``. world_size: the processes.
        device: the training device of this process.
    """

    rank: int
    world_size: int
    device: torch.device

    def shard(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Every ``world_size``-th entry from ``rank`` on, of each tensor (the same cut)."""
        return tuple(t[self.rank :: self.world_size] for t in tensors)

    def broadcast(self, value: float) -> float:
        """Rank 0's ``value`` on every process."""
        t = torch.tensor([value], device=self.device, dtype=torch.float64)
        dist.broadcast(t, src=0)
        return float(t.item())

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the processes."""
        t = torch.tensor([value], device=self.device, dtype=torch.float64)
        dist.all_reduce(t)
        return float(t.item()) / self.world_size

    def wrap(self, model: EmbeddingModel) -> torch.nn.Module:
        """``model`` under DDP: gradients all-reduced; buffers (the graph) are not
        broadcast, every process built the same."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        with warnings.catch_warnings():  # "broadcast_buffers is deprecated" (torch 2.13)
            warnings.simplefilter("ignore", FutureWarning)
            return DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)


def current(device: torch.device | None = None) -> Group | None:
    """The :class:`Group` of this process, or None without a process group of 2 or more."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    return Group(dist.get_rank(), dist.get_world_size(), device or torch.device("cpu"))


def backend_for(device: str) -> str:
    """``nccl`` for CUDA devices, ``gloo`` otherwise."""
    return "nccl" if device.startswith("cuda") else "gloo"


def local_device(device: str, local_rank: int) -> str:
    """The device of the process ``local_rank`` on its machine: its own GPU under CUDA."""
    resolved = resolve_device(device)
    if resolved.startswith("cuda"):
        return f"cuda:{local_rank % torch.cuda.device_count()}"
    return resolved


def init_from_env(device: str = "auto") -> str | None:
    """Join the process group ``torchrun`` describes (``RANK``, ``WORLD_SIZE``,
    ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``).

    Returns:
        This process's device (pass it as ``TrainConfig.device``), or None outside a
        ``torchrun`` of 2 or more processes.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) < 2:
        return None
    dev = local_device(device, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        if dev.startswith("cuda"):
            torch.cuda.set_device(dev)
        dist.init_process_group(backend_for(dev))
    return dev


def is_main() -> bool:
    """Whether this process evaluates, saves and promotes (rank 0, or no group)."""
    return not dist.is_initialized() or dist.get_rank() == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fit_parallel(
    model: EmbeddingModel,
    tensors: GraphTensors,
    split: Split,
    config: TrainConfig,
    *,
    show_progress: bool = False,
    callback: Callback | None = None,
) -> History:
    """:func:`kgrec.gnn.fit` in ``config.nproc`` processes on this machine.

    The processes start from ``model``'s weights; rank 0's trained weights (the best on
    validation) are loaded back into ``model``, which ends on ``config.device`` in eval mode.
    ``callback`` runs here after training, once per epoch, with each epoch's values.

    Returns:
        Rank 0's :class:`~kgrec.gnn.training.train.History`.
    """
    import torch.multiprocessing as mp

    nproc = config.nproc
    threads = max(1, torch.get_num_threads() // nproc)
    with tempfile.TemporaryDirectory(prefix="kgrec-ddp-") as tmp:
        result = Path(tmp) / "rank0.pt"
        model_cpu = model.cpu()
        mp.start_processes(
            _worker,
            args=(
                nproc,
                _free_port(),
                threads,
                model_cpu,
                tensors,
                split,
                config,
                result,
                show_progress,
            ),
            nprocs=nproc,
            join=True,
            start_method="spawn",
        )
        state, history = torch.load(result, weights_only=False)
    model.load_state_dict(state)
    model.to(resolve_device(config.device)).eval()
    if callback is not None:
        for epoch, (loss, val) in enumerate(zip(history.loss, history.val_metric, strict=True)):
            callback(epoch, loss, val)
    return history


def _worker(
    rank: int,
    nproc: int,
    port: int,
    threads: int,
    model: EmbeddingModel,
    tensors: GraphTensors,
    split: Split,
    config: TrainConfig,
    result: Path,
    show_progress: bool,
) -> None:
    """One process of :func:`fit_parallel`."""
    from kgrec.gnn.training.train import fit

    model = copy.deepcopy(model)  # its tensors arrived in memory shared by every process
    torch.set_num_threads(threads)
    dev = local_device(config.device, rank)
    if dev.startswith("cuda"):
        torch.cuda.set_device(dev)
    dist.init_process_group(
        backend_for(dev), init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=nproc
    )
    try:
        history = fit(
            model,
            tensors,
            split,
            config.replace(nproc=1, device=dev),
            show_progress=show_progress and rank == 0,
        )
        if rank == 0:
            torch.save((model.cpu().state_dict(), history), result)
        dist.barrier()
    finally:
        dist.destroy_process_group()
