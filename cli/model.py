"""``kgrec model``: the stored versions, the live one, and its write-back into the store.

- ``kgrec model list``: every version: when it was trained, its model and headline metrics,
  whether it is live, was promoted, rolled back to or rejected (and why), which are damaged
  (every file checked against the sha256s written when the version was saved).
- ``kgrec model status``: the live version, and whether the store holds its complete
  write-back (embeddings and RECOMMENDED edges of that version only).
- ``kgrec model repair``: finish an interrupted or mismatched write-back of the live model.
- ``kgrec model promote VERSION``: check every file of VERSION, make it live, write it back
  (an older version than the live one is recorded as a rollback).
- ``kgrec model rollback``: the same for the version that was live before the live one.
- ``kgrec model prune --keep N``: keep N versions (never removing the live one nor the last
  promoted; earlier live versions before unjudged ones before rejected ones), say which.

Exit codes: 0 done, 1 error (one line on stderr: a damaged file, another job holding the
model directory, an unknown version).
"""

from __future__ import annotations

from typing import Any

import typer

from kgrec.cli.context import get, table

app = typer.Typer(
    help="Model versions, the live model and its write-back.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def _fmt(value) -> str:
    return "" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _write_back_line(wb: dict) -> str:
    if wb["live_version"] is None:
        return "no live model"
    if wb["in_sync"]:
        return f"complete for the live version (finished {wb['finished']})"
    if wb["stored_version"] is None:
        state = "none recorded in the store"
    elif wb["stored_version"] != wb["live_version"]:
        done = "complete" if wb["complete"] else "incomplete"
        state = f"of version {wb['stored_version']} ({done}), not of the live version"
    else:
        state = f"INCOMPLETE: started {wb['started']} and never finished"
    return f"{state}; run `kgrec model repair`"


HEADLINE_METRICS = ("val/recall@20", "recall@20", "ndcg@20")


def decision(version: dict[str, Any]) -> str:
    """What became of ``version``: damaged (and how), else its status and, for a rejected
    one, why."""
    if version["problem"]:
        return f"damaged: {version['problem']}"
    reason = version["reason"]
    return f"{version['status']} ({reason})" if reason else version["status"]


def _promoted_text(out: dict[str, Any]) -> str:
    written = out["written"]
    verb = "rolled back to" if out["event"] == "rollback" else "promoted"
    return (
        f"{verb} {out['version']} (was {out['previous'] or 'none'}); wrote back "
        f"{written['users']} users, {written['items']} items, "
        f"{written['recommendations']} recommendations"
    )


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every stored version, oldest first: when, model, metrics, live / promoted / rolled
    back to / rejected, and damaged files (sha256s written at save)."""
    from kgrec.app.training import model_versions

    cli = get(ctx)
    versions = model_versions(cli.settings.model_dir)
    rows = [
        {
            "live": "*" if v["live"] else "",
            "version": v["version"],
            "created": v["created"],
            "model": v["model"] or "",
            **{name: _fmt(v[name]) for name in HEADLINE_METRICS},
            "status": decision(v),
        }
        for v in versions
    ]
    cli.emit(versions, table(rows) if rows else f"no versions in {cli.settings.model_dir}")


@app.command("status")
def status(ctx: typer.Context) -> None:
    """The live model (every file checked against the sha256s written at save) and whether
    the store holds its complete write-back."""
    from kgrec.app.training import model_status

    cli = get(ctx)
    with cli.store() as store:
        info = model_status(store, cli.settings.model_dir)
    live = info["live_version"] or "none (train one with `kgrec train`)"
    if info["live_model"]:
        recall = _fmt(info["live_val_recall@20"]) or "n/a"
        live += f" ({info['live_model']}, val Recall@20 {recall})"
    lines = [f"model dir   {info['model_dir']}", f"live        {live}"]
    if info["live_problem"]:
        lines.append(f"problem     {info['live_problem']}")
    lines.append(f"versions    {info['versions']}")
    lines.append(f"write-back  {_write_back_line(info['write_back'])}")
    cli.emit(info, "\n".join(lines))


RECOMMENDATIONS = typer.Option(
    None,
    "--recommendations",
    min=0,
    help="Top-k per user (default: what the last write-back used, else 20).",
)


@app.command("repair")
def repair(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Write back even when in sync."),
    recommendations: int = RECOMMENDATIONS,
) -> None:
    """Finish an interrupted or mismatched write-back of the live model into the store."""
    from kgrec.app.training import repair as run

    cli = get(ctx)
    with cli.store() as store:
        out = run(
            store, cli.settings.model_dir, k=recommendations, force=force, progress=cli.progress()
        )
    written, before = out["written"], out["status"]
    if written is None:
        live = before["live_version"]
        text = f"nothing to repair: the store holds the complete write-back of {live}"
    else:
        text = (
            f"wrote back {written['version']}: {written['users']} users, {written['items']} "
            f"items, {written['recommendations']} recommendations (before: "
            f"{_write_back_line(before).split(';')[0]})"
        )
    cli.emit(out, text)


@app.command("promote")
def promote(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="A version name (or a prefix only it has)."),
    recommendations: int = RECOMMENDATIONS,
) -> None:
    """Make VERSION live after checking every file, and write it back to the store.

    A version older than the live one is recorded as a rollback in history.jsonl."""
    from kgrec.app.training import promote_version

    cli = get(ctx)
    with cli.store() as store:
        out = promote_version(
            store, cli.settings.model_dir, version, k=recommendations, progress=cli.progress()
        )
    cli.emit(out, _promoted_text(out))


@app.command("rollback")
def rollback(ctx: typer.Context, recommendations: int = RECOMMENDATIONS) -> None:
    """Make the version that was live before the live one live again (checked, written
    back, recorded as a rollback in history.jsonl)."""
    from kgrec.app.training import promote_version

    cli = get(ctx)
    with cli.store() as store:
        out = promote_version(
            store, cli.settings.model_dir, None, k=recommendations, progress=cli.progress()
        )
    cli.emit(out, _promoted_text(out))


@app.command("prune")
def prune(
    ctx: typer.Context,
    keep: int = typer.Option(..., "--keep", min=1, help="How many versions stay."),
) -> None:
    """Delete all but KEEP versions and say which stayed and which went.

    The live version and the last promoted one always stay (even beyond KEEP); the other
    places go to versions that were live before, then unjudged ones, then rejected ones,
    newest first."""
    from kgrec.app.training import prune_versions

    cli = get(ctx)
    out = prune_versions(cli.settings.model_dir, keep)
    kept, removed = out["kept"], out["removed"]
    text = "\n".join(
        [
            f"kept {len(kept)}: " + (", ".join(kept) or "none"),
            f"removed {len(removed)}: " + (", ".join(removed) or "none"),
        ]
    )
    cli.emit(out, text)
