"""``kgrec stats`` and ``kgrec similar``: what the graph holds, and text-embedding neighbours."""

from __future__ import annotations

import typer

from kgrec.cli.context import get, table


def stats(ctx: typer.Context) -> None:
    """Counts of users, items, tags, entities, interactions, links, and index status."""
    from kgrec.kg.schema import list_indexes
    from kgrec.kg.writer import WRITES

    cli = get(ctx)
    with cli.store() as store:
        counts = store.run(WRITES.get("count_graph").text)[0]
        indexes = list_indexes(store)
    result = {**{k: int(v) for k, v in counts.items()}, "indexes": indexes}
    text = "\n".join(f"{k:<14}{v:>12,}" for k, v in counts.items())
    text += "\n\nindexes\n" + table(indexes, ["label", "property", "kind", "state", "dimension"])
    cli.emit(result, text)


def similar(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="Item id."),
    k: int = typer.Option(10, "--k", "-k", min=1, help="Neighbours to return."),
) -> None:
    """Items whose text embedding is nearest to ITEM's (vector index)."""
    from kgrec.kg.vector import similar_items

    cli = get(ctx)
    with cli.store() as store:
        rows = similar_items(store, item, k)
    cli.emit(rows, table(rows, ["id", "title", "similarity"]))
