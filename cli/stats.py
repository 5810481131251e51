"""``kgrec stats`` and ``kgrec similar``: what the graph holds, and an item's neighbours."""

from __future__ import annotations

import typer

from kgrec.cli.context import get, table


def stats(ctx: typer.Context) -> None:
    """Counts of users, items, tags, entities, interactions, links, and index status."""
    from kgrec.app.analyst import graph_stats

    cli = get(ctx)
    with cli.store() as store:
        result = graph_stats(store)
    counts = {k: v for k, v in result.items() if k != "indexes"}
    text = "\n".join(f"{k:<14}{v:>12,}" for k, v in counts.items())
    text += "\n\nindexes\n" + table(
        result["indexes"], ["label", "property", "kind", "state", "dimension"]
    )
    cli.emit(result, text)


#: What ``kgrec similar --by`` ranks by.
BY = ("text", "model")


def similar(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="Item id."),
    k: int = typer.Option(10, "--k", "-k", min=1, help="Neighbours to return."),
    by: str = typer.Option(
        "text",
        "--by",
        help="text: the items' text embeddings (vector index, no model needed); model: the "
        "live model's learned item vectors (as Recommender.similar_items).",
    ),
) -> None:
    """Items nearest to ITEM, by text embedding (vector index) or by the live model.

    Rows {item_id, title, text_similarity} (model_similarity with --by model): the shape
    Recommender.similar_items returns.
    """
    cli = get(ctx)
    if by not in BY:
        raise typer.BadParameter(f"choose one of {', '.join(BY)}", param_hint="--by")
    if by == "model":
        from kgrec.app.recommender import Recommender

        settings = cli.settings
        with Recommender.open(settings.store, settings.model_dir, settings.graph) as rec:
            rows = rec.similar_items(item, k, by="model")
    else:
        from kgrec.app.analyst import similar_by_text

        with cli.store() as store:
            rows = similar_by_text(store, item, k)
    cli.emit(rows, table(rows, ["item_id", "title", f"{by}_similarity"]))
