"""``kgrec bench``: models against baselines, and the quality of explanations."""

from __future__ import annotations

import typer

from kgrec.app import SPLIT_KINDS, TrainConfig
from kgrec.cli.context import get

app = typer.Typer(
    help="Measure models and explanations on the store's data.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


@app.command("models")
def models(
    ctx: typer.Context,
    split: str = typer.Option(TrainConfig.split, "--split", help=f"{' | '.join(SPLIT_KINDS)}."),
    epochs: int = typer.Option(
        TrainConfig.epochs, "--epochs", min=1, help="Maximum epochs per model."
    ),
    seeds: list[int] = typer.Option([0, 1, 2], "--seed", help="Seeds (repeat the option)."),
    device: str = typer.Option(TrainConfig.device, "--device", help="auto | cpu | cuda."),
    refit: bool = typer.Option(
        True,
        "--refit/--no-refit",
        help="Refit the setting chosen on validation on train + validation before the test.",
    ),
) -> None:
    """Baselines vs models on one split, every choice made on validation: Recall@20, NDCG@20
    (mean and spread over seeds), coverage, time."""
    from kgrec.app.evaluation import compare_models

    cli = get(ctx)
    with cli.store() as store:
        rows, text = compare_models(store, split, epochs, seeds, device, cli.show_progress, refit)
    cli.emit(rows, text)


@app.command("explain")
def explain(
    ctx: typer.Context,
    users: int = typer.Option(50, "--users", min=1, help="Users sampled."),
    k: int = typer.Option(10, "--k", min=1, help="Recommendations per user."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> None:
    """Coverage, path length, reason shares and faithfulness of the live model's
    explanations, and what a reader sees against its targets: the sum of the shares shown
    per item (<= 100%), reasons resting on items rated below the user's average (0%),
    distinct headline reasons per list (>= k/2)."""
    from kgrec.app.evaluation import explanation_quality

    cli = get(ctx)
    result = explanation_quality(cli.settings, users, k, seed, cli.show_progress)
    targets = result.get("targets", {})
    lines = [
        f"{key:<28}{value:.4f}" if isinstance(value, float) else f"{key:<28}{value}"
        for key, value in result.items()
        if key != "targets"
    ]
    if targets:
        lines += ["", "targets:"]
        lines += [
            f"  {name:<26}{t['value']:.4f} {t['target']:<8}{'met' if t['met'] else 'MISSED'}"
            for name, t in targets.items()
        ]
    cli.emit(result, "\n".join(lines))
