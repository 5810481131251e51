"""``kgrec bench``: models against baselines, and the quality of explanations."""

from __future__ import annotations

import typer

from kgrec.cli.context import get

app = typer.Typer(help="Measure models and explanations on the store's data.",
                  no_args_is_help=True)  # fmt: skip


@app.command("models")
def models(
    ctx: typer.Context,
    split: str = typer.Option("temporal", "--split", help="temporal | random | fixed."),
    epochs: int = typer.Option(200, "--epochs", min=1, help="Maximum epochs per model."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
) -> None:
    """Baselines vs models on one split: Recall@20, NDCG@20, coverage, train time."""
    from kgrec.app.training import load_tensors
    from kgrec.gnn.bench import compare, format_table

    cli = get(ctx)
    with cli.store() as store:
        tensors = load_tensors(store)
    frame = compare(tensors, split=split, epochs=epochs, seed=seed, device=device,
                    show_progress=cli.show_progress)  # fmt: skip
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    cli.emit(rows, format_table(frame))


@app.command("explain")
def explain(
    ctx: typer.Context,
    users: int = typer.Option(50, "--users", min=1, help="Users sampled."),
    k: int = typer.Option(10, "--k", min=1, help="Recommendations per user."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> None:
    """Coverage, mean path length and faithfulness of explanations for the live model."""
    from kgrec.app.recommender import Recommender
    from kgrec.explain.quality import explanation_quality

    cli = get(ctx)
    s = cli.settings
    with Recommender.open(s.store, s.model_dir, s.graph) as rec:
        report = explanation_quality(rec, num_users=users, k=k, seed=seed,
                                     show_progress=cli.show_progress)  # fmt: skip
    result = report.as_dict()
    cli.emit(
        result,
        "\n".join(
            f"{key:<22}{value:.4f}" if isinstance(value, float) else f"{key:<22}{value}"
            for key, value in result.items()
        ),
    )
