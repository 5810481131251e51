"""``kgrec demo``: the whole path on synthetic data, offline, in its own store directory."""

from __future__ import annotations

from pathlib import Path

import typer

from kgrec.cli.context import CliContext, get, table
from kgrec.config import Settings, data_home


def demo(
    ctx: typer.Context,
    directory: Path = typer.Option(
        None, "--dir", help="Store directory for the demo (default: <data home>/demo)."
    ),
    users: int = typer.Option(300, "--users", help="Synthetic users."),
    items: int = typer.Option(600, "--items", help="Synthetic items."),
    interactions: int = typer.Option(12000, "--interactions", help="Synthetic interactions."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> None:
    """Generate a synthetic world, ingest it, and show similar items by text embedding."""
    from kgrec.cli.ingest import run_ingest
    from kgrec.kg.vector import similar_items
    from kgrec.loaders.synthetic import generate_synthetic

    parent = get(ctx)
    directory = directory or data_home() / "demo"
    cli = CliContext(
        settings=Settings.resolve(store=str(directory), graph=parent.settings.graph),
        json=parent.json,
        quiet=parent.quiet,
        debug=parent.debug,
    )
    cli.info(f"demo store: {directory}")
    dataset = generate_synthetic(
        num_users=users, num_items=items, num_tags=30, num_interactions=interactions, seed=seed
    )
    summary = run_ingest(cli, dataset, emit=not cli.json)
    item = dataset.items["id"].iloc[0]
    with cli.store() as store:
        neighbours = similar_items(store, item, 5)
    title = dataset.items["title"].iloc[0]
    if cli.json:
        cli.emit({"ingest": summary, "similar": {"item": item, "neighbours": neighbours}})
    else:
        cli.emit(None, f"\nitems most similar to {title!r} ({item}) by text:\n"
                 + table(neighbours, ["id", "title", "similarity"]))
