"""``kgrec stats`` and ``kgrec similar``: what the graph holds, and text-embedding neighbours."""

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


def similar(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="Item id."),
    k: int = typer.Option(10, "--k", "-k", min=1, help="Neighbours to return."),
) -> None:
    """Items whose text embedding is nearest to ITEM's (vector index)."""
    from kgrec.app.analyst import similar_by_text

    cli = get(ctx)
    with cli.store() as store:
        rows = similar_by_text(store, item, k)
    cli.emit(rows, table(rows, ["id", "title", "similarity"]))
