"""``kgrec recommend`` and ``kgrec explain``: the Python API from the shell."""

from __future__ import annotations

from pathlib import Path

import typer

from kgrec.cli.context import CliContext, escape_controls, get, table


def _open(cli: CliContext):
    from kgrec.app.recommender import Recommender

    return Recommender.open(cli.settings.store, cli.settings.model_dir, cli.settings.graph)


def _top_path_shares(ex) -> str:
    """The top path's shares after a sentence told from a path (a reason tells its own)."""
    return f" {ex.paths[0].shares_text()}" if ex.paths and not ex.reasons else ""


def _recommendations_text(recs, explain: bool) -> str:
    text = table([r.to_dict() for r in recs], ["rank", "item_id", "title", "score"])
    if not explain:
        return text
    lines = [text, ""]
    for r in recs:
        ex = r.explanation
        lines.append(f"{r.rank:>2}. {r.title}: {ex.sentence}{_top_path_shares(ex)}".rstrip())
    return "\n".join(lines)


def recommend(
    ctx: typer.Context,
    users: list[str] = typer.Argument(..., help="User ids (one or more)."),
    k: int = typer.Option(10, "--k", "-k", min=1, help="How many items per user."),
    explain: bool = typer.Option(False, "--explain", help="Show the top path of each item."),
    tag: list[str] = typer.Option(None, "--tag", help="Only items with this tag (repeatable)."),
    include_seen: bool = typer.Option(False, "--include-seen", help="Keep items already seen."),
) -> None:
    """Top-k items for each USER from the live model (with --explain: why, as paths).

    With --json, one user gives ``{user_id, model_version, recommendations}``; several give
    one object keyed by user id, each value that object, or ``{user_id, error: {type,
    message}}`` for a user that could not be answered (an unknown id): the others are still
    answered, and the command exits 1.
    """
    cli = get(ctx)
    users = list(dict.fromkeys(users))
    with _open(cli) as rec:
        results = rec.recommend_many(
            users, k=k, explain=explain or cli.json, exclude_seen=not include_seen, tags=tag or None
        )
    if len(users) == 1:
        results.result(users[0])  # its error, if any, is the command's
    if cli.json:
        payload = {
            user: {
                "user_id": user,
                "model_version": recs.model_version,
                "recommendations": recs.to_dicts(),
            }
            for user, recs in results.items()
        }
        for user, error in results.errors.items():
            payload[user] = {
                "user_id": user,
                "error": {"type": type(error).__name__, "message": str(error)},
            }
        cli.emit(payload[users[0]] if len(users) == 1 else {u: payload[u] for u in users})
    else:
        texts = [_recommendations_text(recs, explain) for recs in results.values()]
        if len(users) > 1:
            texts = [
                f"user {user} (model {recs.model_version})\n{text}"
                for (user, recs), text in zip(results.items(), texts, strict=True)
            ]
        cli.emit(None, "\n\n".join(texts))
        for error in results.errors.values():
            typer.echo(f"error: {escape_controls(str(error))}", err=True)
    if results.errors:
        raise typer.Exit(1)


def explain(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="User id."),
    item: str = typer.Argument(..., help="Item id."),
    html: Path = typer.Option(None, "--html", help="Also draw the explanation subgraph here."),
) -> None:
    """Why the live model scores ITEM as it does for USER: reasons and paths, with shares."""
    cli = get(ctx)
    with _open(cli) as rec:
        ex = rec.explain(user, item)
    if html is not None:
        html.write_text(ex.to_html(), encoding="utf-8")
        cli.info(f"wrote {html}")
    if cli.json:
        cli.emit(ex.to_dict())
        return
    lines = [f"user {user} -> {ex.title} ({item}): score {ex.score:.4f}", ex.note, ""]
    if ex.seen:
        lines.insert(1, ex.own_sentence)
    if ex.reasons:
        lines += ["reasons (your interactions, grouped by what they share with the item):"]
        lines += [f"{n:>2}. {r.sentence}" for n, r in enumerate(ex.reasons, start=1)]
        if ex.other_sentence:
            lines += [f"    {ex.other_sentence}"]
        lines += ["", "paths:"]
    for n, p in enumerate(ex.paths, start=1):
        lines.append(f"{n:>2}. {p.sentence} {p.shares_text()}".rstrip())
    cli.emit(None, "\n".join(lines))
