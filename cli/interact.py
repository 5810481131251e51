"""``kgrec interact`` and ``kgrec add-item``: behaviour and catalogue recorded while serving,
seen by the next recommendation without retraining."""

from __future__ import annotations

import typer

from kgrec.cli.context import get


def interact(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="User id (created when new)."),
    item: str = typer.Argument(..., help="Item id (must be in the store)."),
    rating: float = typer.Option(None, "--rating", help="The rating (none: implicit)."),
    ts: int = typer.Option(None, "--ts", help="Unix seconds [now]."),
    kind: str = typer.Option(None, "--kind", help="Interaction kind [rating | implicit]."),
) -> None:
    """Record that USER interacted with ITEM; the next `kgrec recommend USER` reflects it.

    Checked as ingestion checks: ids as given (no surrounding spaces), a finite rating within
    the store's rating scale (set at ingest: MovieLens 0.5 to 5), a --ts in unix seconds no
    more than a day ahead. The latest timestamp wins: an interaction of USER with ITEM
    stored with a later --ts is kept. Idempotent: recording the same interaction again
    changes nothing.
    """
    from kgrec.app.behaviour import record_in_store

    cli = get(ctx)
    result = record_in_store(cli.settings, user, item, rating, ts, kind)
    changed = result["created"] + result["updated"]
    if changed:
        text = f"recorded {user} -> {item}"
    elif result["kept_newer"]:
        text = f"{user} -> {item} is stored with a later timestamp, which wins; nothing changed"
    else:
        text = f"{user} -> {item} was already recorded; nothing changed"
    cli.emit(result, text)


def add_item(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="Item id."),
    title: str = typer.Option(..., "--title", help="The item's title."),
    text: str = typer.Option(None, "--text", help="A description, embedded with the title."),
    tag: list[str] = typer.Option(None, "--tag", help="A tag (repeatable)."),
) -> None:
    """Add ITEM to the catalogue (or update its title, text and tags) and embed its text.

    Each --tag is one tag, normalised as ingestion does (lower case, single spaces).

    Serving processes recommend it without retraining, with a vector the live model makes
    from its text and tags (LightGCN, GraphSAGE).
    """
    from kgrec.app.behaviour import add_item_to_store

    cli = get(ctx)
    result = add_item_to_store(cli.settings, item, title, text, tag or [])
    state = "added" if result["created"] else ("updated" if result["changed"] else "unchanged")
    cli.emit(result, f"{state} item {item}")
