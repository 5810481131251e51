"""Median training-epoch time on synthetic data at several interaction counts.

    python benchmarks/train_epoch.py                      # 100k, 1M, 5M; LightGCN+text
    python benchmarks/train_epoch.py --sizes 100000 --model mf --device cpu
    python benchmarks/train_epoch.py --propagation --sizes 100000   # spmm vs PyG LGConv
    python benchmarks/train_epoch.py --max-steps 0 --timed-steps 20  # uncapped, 20 steps timed
    python benchmarks/train_epoch.py --sizes 1000000 5000000 --profile 3  # where steps go
    python benchmarks/train_epoch.py --sizes 5000000 --propagation --block-mib 2 4 8 16
    python benchmarks/train_epoch.py --sizes 1000000 5000000 --epochs 1 --timed-steps 2 --sampler
    python benchmarks/train_epoch.py --sizes 1000000 5000000 --paired 7 --warmup 2  # in turns
    for r in 1 2 3; do for heap in default retained; do                 # A/B, fresh processes
        python benchmarks/train_epoch.py --sizes 5000000 --timed-steps 6 --heap $heap; done; done

Each epoch is a pass over the training interactions in mini-batches with one full graph
propagation per batch, sized as the trainer sizes them (``TrainConfig.batch_size_for``: at
most ``--max-steps`` steps); no validation runs inside the timed epochs. The minor page
faults and system seconds are this process's over a size's whole run (model build and
warm-up included) divided by its epochs; the peak resident memory is the process's so far.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import resource
import statistics
import sys
import time
from collections.abc import Iterator

import numpy as np
import torch


def synthetic_tensors(num_interactions: int, seed: int = 0, text_dim: int = 384):
    """A synthetic world sized from ``num_interactions`` with tag-correlated text vectors."""
    from kgrec.gnn.data import GraphTensors
    from kgrec.loaders.synthetic import generate_synthetic

    num_users = max(200, num_interactions // 50)
    num_items = max(500, num_interactions // 25)
    ds = generate_synthetic(num_users, num_items, 100, num_interactions, seed)
    rng = np.random.default_rng(seed)
    tag_vec = rng.normal(size=(len(ds.tags), text_dim)).astype(np.float32)
    item_pos = {item: k for k, item in enumerate(ds.items["id"])}
    tag_pos = {name: k for k, name in enumerate(ds.tags["name"])}
    rows = ds.item_tags["item_id"].map(item_pos).to_numpy()
    cols = ds.item_tags["tag"].map(tag_pos).to_numpy()
    items = 0.3 * rng.normal(size=(len(ds.items), text_dim)).astype(np.float32)
    np.add.at(items, rows, tag_vec[cols])
    items /= np.linalg.norm(items, axis=1, keepdims=True)
    return GraphTensors.from_dataset(ds, items, tag_vec)


def trainer_run(tensors, model: str, batch_size: int, max_steps: int):
    """``(split, net, batch, training)``: the temporal split, ``model`` built on its training
    interactions, the batch size the trainer gives them (``TrainConfig.batch_size_for``), and
    ``training(idx)``, a split that trains on ``idx`` with no validation (no evaluation inside
    the timed epochs)."""
    from kgrec.gnn.models.registry import build_model
    from kgrec.gnn.training.config import TrainConfig
    from kgrec.gnn.training.splits import Split, temporal_split

    split = temporal_split(tensors)
    net = build_model(model, tensors, split.train)
    batch = TrainConfig(batch_size=batch_size, max_steps=max_steps).batch_size_for(len(split.train))

    def training(idx: torch.Tensor) -> Split:
        return Split(split.kind, idx, split.val[:0], split.test)

    return split, net, batch, training


def time_epochs(
    tensors,
    model: str,
    epochs: int,
    batch_size: int,
    device: str,
    amp: bool,
    warmup: int = 1,
    max_steps: int = 20,
    timed_steps: int = 0,
) -> tuple[float, int, int, int]:
    """``(median epoch seconds, training interactions, batch size, steps per epoch)``.

    ``batch_size`` and ``max_steps`` are the trainer's (:class:`~kgrec.gnn.TrainConfig`):
    the batch is ``TrainConfig.batch_size_for`` of the training interactions. With
    ``timed_steps`` > 0 and an epoch longer than that, each timed "epoch" runs only
    ``timed_steps`` steps of that batch size (over the full graph: every step costs the
    same) and the time is scaled to the full number of steps: for an uncapped epoch that
    takes many minutes.

    The first ``warmup`` epochs are run and not counted: a fresh process pays for first-touch
    page faults and allocator growth there (several times a steady epoch in a small VM).
    """
    from kgrec.gnn.training.train import fit

    split, net, batch, training = trainer_run(tensors, model, batch_size, max_steps)
    steps = -(-len(split.train) // batch)
    timed = split.train
    if 0 < timed_steps < steps:  # same graph and step cost, fewer steps: scale up afterwards
        pick = torch.randperm(len(split.train))[: timed_steps * batch]
        timed = split.train[pick].sort().values
    history = fit(
        net,
        tensors,
        training(timed),
        epochs=warmup + epochs,
        batch_size=batch,
        max_steps=0,
        device=device,
        amp=amp,
    )
    scale = steps / -(-len(timed) // batch)
    sec = statistics.median(history.epoch_seconds[warmup:]) * scale
    return sec, len(split.train), batch, steps


def time_paired(
    sizes: list[int],
    rounds: int,
    model: str,
    batch_size: int,
    device: str,
    warmup: int = 2,
    max_steps: int = 20,
) -> dict[int, list[float]]:
    """Full-epoch seconds of each size, the sizes taking turns in one process:
    ``{size: [seconds of round 0, round 1, ...]}``.

    Every world and model stays in memory; each round trains one epoch of every size with
    :func:`~kgrec.gnn.training.train.fit` (the trainer's batch size, no validation), the order
    reversed every other round, so a slow spell of the machine hits the sizes alike and a
    round's ratio is a paired measurement. Each model first trains ``warmup`` untimed
    epochs.
    """
    from kgrec.gnn.training.train import fit

    runs = []
    for size in sizes:
        tensors = synthetic_tensors(size)
        split, net, batch, training = trainer_run(tensors, model, batch_size, max_steps)
        no_val = training(split.train)
        if warmup:
            fit(net, tensors, no_val, epochs=warmup, batch_size=batch, max_steps=0, device=device)
        runs.append((size, net, tensors, no_val, batch))
    seconds: dict[int, list[float]] = {size: [] for size in sizes}
    for r in range(rounds):
        for size, net, tensors, no_val, batch in runs if r % 2 == 0 else runs[::-1]:
            history = fit(
                net, tensors, no_val, epochs=1, batch_size=batch, max_steps=0, device=device
            )
            seconds[size].append(history.epoch_seconds[0])
    return seconds


def print_paired(seconds: dict[int, list[float]]) -> None:
    """Each round's epoch seconds and the ratio of the largest size to the smallest, then
    the medians: of each size's epochs and of the rounds' ratios."""
    small, large = min(seconds), max(seconds)
    ratios = [b / a for a, b in zip(seconds[small], seconds[large], strict=True)]
    sizes = "".join(f"{size:>14,}" for size in seconds)
    print(f"paired epochs (s){sizes} {f'{large:,}/{small:,}':>18}")
    for r, ratio in enumerate(ratios):
        row = "".join(f"{seconds[size][r]:>14.3f}" for size in seconds)
        print(f"{f'round {r}':>17}{row} {ratio:>17.2f}x")
    row = "".join(f"{statistics.median(seconds[size]):>14.3f}" for size in seconds)
    print(f"{'median':>17}{row} {statistics.median(ratios):>17.2f}x (median of the ratios)")


def time_propagation(
    tensors, device: str, repeats: int = 5, block_mib: tuple[float, ...] = ()
) -> list[tuple[str, float]]:
    """Seconds per 3-layer forward + backward: CSR spmm layer by layer vs COO vs PyG
    ``LGConv``, and the trainer's :func:`~kgrec.gnn.models.propagation.layer_mean` over the whole
    CSR matrix and (once the states outgrow a block) over the model's column blocks
    (:meth:`~kgrec.gnn.models.lightgcn.LightGCN.propagation_operator`: by node type, rows in
    segments), and over the blocks by node type :func:`~kgrec.gnn.models.propagation.column_blocks`
    makes with each block size of ``block_mib`` (MiB of state rows a block reads)."""
    from torch_geometric.nn import LGConv

    from kgrec.gnn.models.lightgcn import LightGCN
    from kgrec.gnn.models.propagation import ColumnBlocks, column_blocks, layer_mean, sym_spmm
    from kgrec.gnn.training.splits import temporal_split

    dev = torch.device(device)
    model = LightGCN.from_tensors(tensors, temporal_split(tensors).train).to(dev)
    n = model.num_nodes
    csr = model.propagation_matrix()
    coo = csr.to_sparse_coo()
    edge_index = model.adj_index
    conv = LGConv(normalize=True).to(dev)
    x = torch.randn(n, 64, device=dev, requires_grad=True)

    def run_csr():
        h = x
        for _ in range(3):
            h = sym_spmm(csr, h)
        return h

    def run_coo():
        h = x
        for _ in range(3):
            h = torch.sparse.mm(coo, h)
        return h

    blocks = model.propagation_operator()  # the trainer's (64 = the model's dimension)

    def run_mean(operator):
        return lambda: layer_mean(operator, x, 3)

    def run_lgconv():
        h = x
        for _ in range(3):
            h = conv(h, edge_index)
        return h

    runs = [
        ("torch CSR spmm", run_csr),
        ("torch COO sparse.mm", run_coo),
        ("PyG LGConv(edge_index)", run_lgconv),
        (
            "layer_mean, whole CSR" + ("" if isinstance(blocks, ColumnBlocks) else " (used)"),
            run_mean(csr),
        ),
    ]
    if isinstance(blocks, ColumnBlocks):
        name = f"{blocks.num_column_blocks} blocks by node type (used)"
        runs.append((f"layer_mean, {name}", run_mean(blocks)))
    for mib in block_mib:
        op = column_blocks(csr, 64, list(model.offsets.values()), int(mib * 2**20))
        k = op.num_column_blocks if isinstance(op, ColumnBlocks) else 1
        runs.append((f"layer_mean, {mib:g} MiB blocks by type ({k})", run_mean(op)))
    out = []
    for name, fn in runs:
        times = []
        for _ in range(repeats + 1):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn().sum().backward()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        out.append((name, statistics.median(times[1:])))
    return out


def time_sampler(
    tensors, batch_size: int, max_steps: int, repeats: int = 5
) -> tuple[int, int, float, float]:
    """``(batch, keys, draw ms, check ms)``: medians of ``repeats`` negative draws
    (:meth:`~kgrec.gnn.training.sampling.NegativeSampler.sample`) and membership checks
    (:meth:`~kgrec.gnn.training.sampling.NegativeSampler.is_positive`) for one batch of the
    trainer's size over all training interactions, after one untimed draw."""
    from kgrec.gnn.training.config import TrainConfig
    from kgrec.gnn.training.sampling import NegativeSampler
    from kgrec.gnn.training.splits import temporal_split

    edges = tensors.edge_index[:, temporal_split(tensors).train]
    batch = TrainConfig(batch_size=batch_size, max_steps=max_steps).batch_size_for(edges.size(1))
    sampler = NegativeSampler(edges, tensors.num_items, generator=torch.Generator().manual_seed(0))
    draws, checks = [], []
    for _ in range(repeats + 1):
        users = edges[0, torch.randint(edges.size(1), (batch,))]
        t0 = time.perf_counter()
        neg = sampler.sample(users)
        t1 = time.perf_counter()
        sampler.is_positive(users, neg)
        t2 = time.perf_counter()
        draws.append(t1 - t0)
        checks.append(t2 - t1)
    draw, check = statistics.median(draws[1:]), statistics.median(checks[1:])
    return batch, edges.size(1), draw * 1000, check * 1000


@contextlib.contextmanager
def trainer_heap(choice: str) -> Iterator[None]:
    """``retained``: the trainer as it is; ``default``: its CPU steps without
    :func:`~kgrec.core.memory.retained_heap` (glibc's settings), for the A/B."""
    import kgrec.gnn.training.train as train

    original = train.retained_heap
    if choice == "default":
        train.retained_heap = lambda: contextlib.nullcontext(False)
    try:
        yield
    finally:
        train.retained_heap = original


def print_profile(tensors, args: argparse.Namespace, device: str) -> None:
    """The operators of ``args.profile`` training steps of the trainer's batch size (one
    epoch over that many batches, after an unrecorded warm-up epoch), by self CPU time, in
    milliseconds per step; the model is built outside the recording."""
    from torch.profiler import ProfilerActivity, profile

    from kgrec.gnn.training.train import fit

    split, net, batch, training = trainer_run(tensors, args.model, args.batch_size, args.max_steps)
    pick = torch.randperm(len(split.train))[: args.profile * batch]
    steps = training(split.train[pick].sort().values)

    def one_epoch() -> None:
        fit(
            net,
            tensors,
            steps,
            epochs=1,
            batch_size=batch,
            max_steps=0,
            device=device,
            amp=args.amp,
        )

    one_epoch()  # warm-up
    activities = [ProfilerActivity.CPU]
    if device.startswith("cuda"):
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        one_epoch()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    print(
        f"    profile of {args.profile} steps of {batch:,}: {total / 1e3 / args.profile:.1f} "
        "ms a step (self CPU time)"
    )
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:12]:
        print(
            f"    {e.key:<36} {e.self_cpu_time_total / 1e3 / args.profile:9.1f} ms a step "
            f"({e.count} calls)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    parser.add_argument("--model", default="lightgcn", choices=["lightgcn", "graphsage", "mf"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    from kgrec.gnn.training.config import TrainConfig

    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument(
        "--max-steps",
        type=int,
        default=TrainConfig.max_steps,
        help="the trainer's cap on steps per epoch (0: none, batch-size fixed)",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument(
        "--timed-steps",
        type=int,
        default=0,
        help="time only this many steps per epoch and scale to a full epoch",
    )
    parser.add_argument(
        "--propagation",
        action="store_true",
        help="also time one propagation with each sparse backend",
    )
    parser.add_argument(
        "--block-mib",
        type=float,
        nargs="*",
        default=(),
        metavar="MIB",
        help="with --propagation, also time layer_mean over blocks by node type of MIB MiB",
    )
    parser.add_argument(
        "--sampler",
        action="store_true",
        help="also time one negative draw and one check for a batch of the trainer's size",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="STEPS",
        help="also profile this many steps per size (torch.profiler; operators by self time)",
    )
    parser.add_argument(
        "--paired",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="instead: the sizes take turns in one process, ROUNDS full epochs each after "
        "--warmup, and each round's ratio of the largest size's epoch to the smallest's",
    )
    parser.add_argument(
        "--heap",
        choices=["retained", "default"],
        default="retained",
        help="retained: as the trainer runs on the CPU (kgrec.core.memory.retained_heap); "
        "default: glibc's allocator settings (the trainer's retained_heap disabled)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from kgrec.core.device import resolve_device

    device = resolve_device(args.device)
    name = (
        torch.cuda.get_device_name()
        if device.startswith("cuda")
        else f"cpu x{torch.get_num_threads()} threads"
    )
    counted = f"rounds={args.paired}" if args.paired else f"epochs={args.epochs}"
    print(
        f"model={args.model} batch>={args.batch_size} max-steps={args.max_steps} "
        f"{counted} (+{args.warmup} warm-up) device={name} heap={args.heap}"
    )
    if args.paired:
        from kgrec.core.memory import retained_heap

        heap = retained_heap() if args.heap == "retained" else contextlib.nullcontext()
        with heap:  # as one long fit: freed memory stays in the process between the turns
            seconds = time_paired(
                args.sizes,
                args.paired,
                args.model,
                args.batch_size,
                device,
                args.warmup,
                args.max_steps,
            )
        print_paired(seconds)
        return 0
    print(
        f"{'interactions':>12} {'users':>8} {'items':>8} {'train':>10} {'batch':>8} "
        f"{'steps':>6} {'median epoch s':>15} {'gen s':>7} {'faults/epoch':>13} "
        f"{'sys s/epoch':>11} {'peak RSS GB':>11}"
    )
    with trainer_heap(args.heap):
        for size in args.sizes:
            t0 = time.perf_counter()
            tensors = synthetic_tensors(size)
            gen = time.perf_counter() - t0
            before = resource.getrusage(resource.RUSAGE_SELF)
            sec, n_train, batch, steps = time_epochs(
                tensors,
                args.model,
                args.epochs,
                args.batch_size,
                device,
                args.amp,
                args.warmup,
                args.max_steps,
                args.timed_steps,
            )
            after, runs = resource.getrusage(resource.RUSAGE_SELF), args.warmup + args.epochs
            faults = (after.ru_minflt - before.ru_minflt) / runs  # warm-up and model build included
            system = (after.ru_stime - before.ru_stime) / runs
            print(
                f"{size:>12,} {tensors.num_users:>8,} {tensors.num_items:>8,} {n_train:>10,} "
                f"{batch:>8,} {steps:>6} {sec:>15.3f} {gen:>7.1f} {faults:>13,.0f} {system:>11.2f} "
                f"{after.ru_maxrss / 2**20:>11.2f}"
                + (" (scaled from timed-steps)" if 0 < args.timed_steps < steps else ""),
                flush=True,
            )
            if args.sampler:
                batch, keys, draw, check = time_sampler(tensors, args.batch_size, args.max_steps)
                print(
                    f"    negative sampler, a batch of {batch:,} against {keys:,} keys: "
                    f"draw {draw:.1f} ms, check {check:.1f} ms (medians of 5)"
                )
            if args.profile:
                print_profile(tensors, args, device)
            if args.propagation:
                for backend, s in time_propagation(tensors, device, block_mib=args.block_mib):
                    print(f"    propagation 3 layers fwd+bwd, {backend:<36} {s * 1000:9.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
