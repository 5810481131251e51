"""``kgrec train``: the retraining job an operator schedules (see docs/training.md for cron)."""

from __future__ import annotations

import sys

import typer

from kgrec.app import BUILTIN_MODELS, SPLIT_KINDS, TrainConfig
from kgrec.cli.context import get, utc_now
from kgrec.core.settings import DEFAULT_MODEL, DEFAULT_RECOMMENDATIONS, DEFAULT_STALE_SHARE


def _share(value: float | None) -> float | None:
    """--stale-share: a share in (0, 1] (a usage error otherwise)."""
    if value is not None and not 0.0 < value <= 1.0:
        raise typer.BadParameter(f"{value:g} is not in (0, 1]; give a share such as 0.05")
    return value


def train(
    ctx: typer.Context,
    model: str = typer.Option(DEFAULT_MODEL, "--model", help=f"{' | '.join(BUILTIN_MODELS)}."),
    epochs: int | None = typer.Option(
        None,
        "--epochs",
        min=1,
        help=f"Maximum epochs, early stopping on validation [{TrainConfig.epochs}].",
    ),
    split: str | None = typer.Option(
        None, "--split", help=f"{' | '.join(SPLIT_KINDS)} [{TrainConfig.split}]."
    ),
    tolerance: float | None = typer.Option(
        None,
        "--tolerance",
        help="Promote unless val Recall@20 falls more than this below live "
        f"[{TrainConfig.tolerance:g}].",
    ),
    seed: int | None = typer.Option(None, "--seed", help=f"Random seed [{TrainConfig.seed}]."),
    device: str | None = typer.Option(
        None, "--device", help=f"auto | cpu | cuda [{TrainConfig.device}]."
    ),
    nproc: int | None = typer.Option(
        None,
        "--nproc",
        min=1,
        help="Data-parallel training processes on this machine (DDP: one GPU each under "
        f"CUDA, else gloo on the CPUs) [{TrainConfig.nproc}].",
    ),
    recommendations: int = typer.Option(
        DEFAULT_RECOMMENDATIONS,
        "--recommendations",
        help="Top-k per user written to the store (0: none).",
    ),
    if_stale: bool = typer.Option(
        False, "--if-stale", help="Train only when the live model is stale (see below)."
    ),
    plan_only: bool = typer.Option(
        False,
        "--plan",
        help="Print the plan (model form, predicted peak memory and time against the memory "
        "this job may use) and exit without training: 0 when it fits, 1 when it does not.",
    ),
    stale_count: int = typer.Option(
        None, "--stale-count", min=1, help="--if-stale: stale after this many new interactions."
    ),
    stale_share: float = typer.Option(
        None,
        "--stale-share",
        callback=_share,
        help=f"--if-stale: stale after this share more, in (0, 1] [{DEFAULT_STALE_SHARE:g}].",
    ),
) -> None:
    """Export the graph, train, evaluate, and promote the model only if it did not regress.

    One train at a time per model directory (MODEL_DIR/.train.lock); an interrupted
    write-back of the live model is finished first.

    Defaults in brackets are those of kgrec.app.training.TrainConfig (a model may override
    some, e.g. GraphSAGE's learning rate); an option given here replaces them.

    With --if-stale it trains only when the interactions the store holds beyond those the
    live model was trained on reach --stale-count or --stale-share of them (or there is no
    live model); otherwise it says why and exits 0.

    With --nproc N, N processes on this machine share each batch (DistributedDataParallel);
    under torchrun (several GPUs or machines) every process runs this command and rank 0
    saves, promotes and reports (see docs/training.md).

    With --json the result is one line of JSON with a UTC "time"; with --json --quiet every
    line the command writes (the result, an error, a log line) is a JSON object with a
    "time", so `>> train.jsonl 2>&1` stays JSONL (see docs/training.md).

    Exit codes: 0 promoted (or not stale), 3 not promoted (regressed; live model kept),
    2 bad arguments, 1 error (live model kept; also: another train holds the lock, no data
    to train on).
    """
    from kgrec.app.training import is_follower, plan, staleness
    from kgrec.app.training import train as run

    cli = get(ctx)
    with cli.store() as store:
        if plan_only:
            planned = plan(store, model)
            cli.emit({**planned.as_dict(), "time": utc_now()}, planned.describe())
            if not planned.fits_memory:
                cli.info(planned.refusal())
                sys.exit(1)
            return
        if if_stale:
            state = staleness(store, cli.settings.model_dir, stale_count, stale_share)
            if not state["stale"]:
                cli.emit(
                    {**state, "training": False, "time": utc_now()},
                    f"not training: {state['reason']}",
                )
                return
            cli.info(f"training: {state['reason']}")
        given = {
            "epochs": epochs,
            "split": split,
            "tolerance": tolerance,
            "seed": seed,
            "device": device,
            "nproc": nproc,
        }
        result, written = run(
            store,
            cli.settings.model_dir,
            model=model,
            recommendations_k=recommendations,
            **{k: v for k, v in given.items() if v is not None},
            show_progress=cli.show_progress,
            progress=cli.progress(),
            on_plan=lambda planned: cli.info(planned.describe()),
        )
    if is_follower():  # a torchrun rank other than 0: rank 0 reports
        return
    payload = {
        **{k: v for k, v in result.metrics.items()},
        "promoted": result.promoted,
        "exit_code": result.exit_code,
        "version": result.version_dir.name if result.version_dir else None,
        "live_val_recall@20": (result.live_metrics or {}).get("val/recall@20"),
        "written": written,
        "time": utc_now(),
    }
    if cli.json:
        cli.emit(payload)
    else:
        keys = [
            "recall@10",
            "recall@20",
            "ndcg@10",
            "ndcg@20",
            "precision@20",
            "hit_rate@20",
            "mrr@20",
            "coverage@20",
            "novelty@20",
            "diversity@20",
            "val/recall@20",
            "epochs",
            "train_seconds",
            "seconds_per_epoch",
        ]
        lines = [f"{k:<22}{result.metrics[k]:.4f}" for k in keys if k in result.metrics]
        m = result.metrics
        if "aggregator/val_recall@20_best" in m:
            served = "served" if m["aggregator/served"] else "not served (no gain)"
            lines.append(
                f"cold-user aggregator (users with <= {m['aggregator/max_n']:.0f} "
                f"items): {served}; Recall@20 on "
                f"{m['aggregator/val_users']:.0f} users held out of a second fit "
                f"{m['aggregator/val_recall@20_best']:.4f} vs history vector "
                f"{m['aggregator/val_recall@20_history']:.4f} "
                f"({m['aggregator/seconds']:.1f} s)"
            )
        state = "promoted to live" if result.promoted else "NOT promoted (live model kept)"
        lines.append(f"version {payload['version']}: {state}")
        cli.emit(None, "\n".join(lines))
    sys.exit(result.exit_code)
