"""``kgrec demo``: the whole path on synthetic data, offline, in its own store directory.

synthetic world -> ingest (with text embeddings) -> train the default model -> recommend
with explanations (reasons and paths) -> an HTML drawing of one explanation.
"""

from __future__ import annotations

from pathlib import Path

import typer

from kgrec.cli.context import CliContext, get, table
from kgrec.core.settings import Settings, data_home


def demo(
    ctx: typer.Context,
    directory: Path = typer.Option(
        None,
        "--dir",
        help="Directory for the demo's store, models and HTML (default: <data home>/demo).",
    ),
    users: int = typer.Option(300, "--users", help="Synthetic users."),
    items: int = typer.Option(600, "--items", help="Synthetic items."),
    interactions: int = typer.Option(12000, "--interactions", help="Synthetic interactions."),
    epochs: int = typer.Option(40, "--epochs", help="Maximum training epochs."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> None:
    """Generate a synthetic world, ingest it, train, and explain recommendations."""
    from kgrec.app.ingest import generate_synthetic, ingest_dataset
    from kgrec.app.recommender import Recommender
    from kgrec.app.training import train
    from kgrec.core.settings import DEFAULT_MODEL

    parent = get(ctx)
    directory = directory or data_home() / "demo"
    cli = CliContext(
        settings=Settings.resolve(
            store=str(directory / "store"),
            graph=parent.settings.graph,
            model_dir=directory / "models",
        ),
        json=parent.json,
        quiet=parent.quiet,
        debug=parent.debug,
    )
    cli.info(f"1/4 generating a synthetic world and ingesting it into {directory / 'store'}")
    dataset = generate_synthetic(
        num_users=users, num_items=items, num_tags=30, num_interactions=interactions, seed=seed
    )
    summary = ingest_dataset(
        cli.settings, dataset, progress=cli.progress(), show_progress=cli.show_progress
    )
    cli.info(
        f"    {summary['steps']['merge_interactions']['rows']:,} interactions, "
        f"{summary['texts_embedded']} texts embedded in {summary['seconds']:.1f} s"
    )

    cli.info(f"2/4 training the default model, {DEFAULT_MODEL}")
    with cli.store() as store:
        result, _ = train(
            store, cli.settings.model_dir, epochs=epochs, seed=seed, show_progress=cli.show_progress
        )
    metrics = {k: result.metrics[k] for k in ("recall@20", "ndcg@20") if k in result.metrics}
    state = "is live" if result.promoted else "was not promoted (the live model is better)"
    cli.info(
        "    test "
        + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())
        + f"; version {result.version_dir.name} {state}"
    )

    user = dataset.users["id"].iloc[0]
    cli.info(f"3/4 recommendations for user {user}, with the reason that carries most")
    html_path = directory / "explanation.html"
    with Recommender.open(cli.settings.store, cli.settings.model_dir) as rec:
        recs = rec.recommend(user, k=5, explain=True)
        top = recs[0].explanation
        html_path.write_text(top.to_html(), encoding="utf-8")
    cli.info(f"4/4 the explanation of the first one is drawn in {html_path}")
    if cli.json:
        cli.emit(
            {
                "ingest": summary,
                "metrics": result.metrics,
                "user": user,
                "recommendations": recs.to_dicts(),
                "html": str(html_path),
            }
        )
        return
    lines = [table([r.to_dict() for r in recs], ["rank", "item_id", "title", "score"]), ""]
    for r in recs:
        ex = r.explanation
        shares = f" {ex.paths[0].shares_text()}" if ex.paths and not ex.reasons else ""
        lines.append(f"{r.rank}. {r.title}: {ex.sentence}{shares}".rstrip())
    lines += ["", top.note, f"open {html_path} in a browser to see the paths"]
    cli.emit(None, "\n".join(lines))
