"""``kgrec ingest``: read a dataset, validate it whole, embed texts, write it idempotently."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from kgrec.cli.context import CliContext, get
from kgrec.core.errors import InvalidParameter

app = typer.Typer(
    help="Load a dataset into the graph store.", no_args_is_help=True, rich_markup_mode="markdown"
)

SKIP_BAD = typer.Option(
    False, "--skip-bad", help="Skip bad rows, writing them to a rejects file, instead of stopping."
)
REJECTS = typer.Option(
    None, "--rejects", help="Rejects file (default: INPUT.rejects.csv, beside the input)."
)
RATING_RANGE = typer.Option(
    None,
    "--rating-range",
    metavar="LOW,HIGH",
    help="Ratings allowed, e.g. 1,10; 'any' allows every finite number "
    "(default: movielens 0.5,5; csv and recbole any; lightgcn has no ratings).",
)
ID_PREFIX = typer.Option(
    "", "--id-prefix", help="Put before every user, item and entity id (e.g. 'lg:')."
)


def _reader_options(rating_range: str | None, id_prefix: str) -> dict[str, Any]:
    """Reader keyword arguments from ``--rating-range`` and ``--id-prefix``; a reader's own
    default range applies when ``--rating-range`` is not given (the reader checks the range)."""
    options: dict[str, Any] = {"id_prefix": id_prefix}
    if rating_range is None:
        return options
    text = rating_range.strip()
    if text.lower() == "any":
        options["rating_range"] = None
        return options
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise InvalidParameter(
            f"--rating-range {rating_range!r} is not LOW,HIGH; write e.g. 0.5,5 or 'any'"
        ) from None
    options["rating_range"] = (low, high)
    return options


def summary_text(summary: dict[str, Any]) -> str:
    """An ingest summary (:func:`kgrec.app.ingest.ingest_dataset`) for a person."""
    lines = [
        f"ingested {summary['dataset']} into {summary['store']} in {summary['seconds']:.1f} s",
        f"  texts embedded: {summary['texts_embedded']}, "
        f"vectors written: {summary['embeddings_written']}",
        f"  nodes created/changed: {summary['nodes_changed']}, "
        f"relationships created/changed: {summary['relationships_changed']}",
    ]
    for name, step in summary["steps"].items():
        lines.append(
            f"  {name:<20} rows {step['rows']:>9,}  created {step['created']:>9,}  "
            f"updated {step['updated']:>9,}"
        )
    if summary["rejects"]:
        lines.append(f"  rejected rows: {summary['rejects']}")
    lines.append(f"  duplicate rows merged: {summary['duplicates_merged']}")
    return "\n".join(lines)


def run_ingest(cli: CliContext, dataset, rejects_path: Path | None = None) -> dict[str, Any]:
    """Ingest ``dataset`` with the invocation's settings; print and return the summary."""
    from kgrec.app.ingest import ingest_dataset

    summary = ingest_dataset(
        cli.settings,
        dataset,
        rejects_path,
        progress=cli.progress(),
        show_progress=cli.show_progress,
    )
    if "rejects_file" in summary:
        cli.info(f"{summary['rejects']} bad rows skipped, written to {summary['rejects_file']}")
    cli.emit(summary, summary_text(summary))
    return summary


def _ingest_folder(
    ctx: typer.Context,
    reader: Callable[..., Any],
    path: Path,
    skip_bad: bool,
    rejects: Path | None,
    rating_range: str | None,
    id_prefix: str,
) -> None:
    """Read a dataset folder with ``reader`` and ingest it."""
    from kgrec.app.ingest import rejects_file

    rejects_path = rejects_file(rejects, path, skip_bad)
    dataset = reader(path, skip_bad=skip_bad, **_reader_options(rating_range, id_prefix))
    run_ingest(get(ctx), dataset, rejects_path)


@app.command("movielens")
def movielens(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Folder with ratings.csv, movies.csv, tags.csv."),
    skip_bad: bool = SKIP_BAD,
    rejects: Path = REJECTS,
    rating_range: str = RATING_RANGE,
    id_prefix: str = ID_PREFIX,
) -> None:
    """GroupLens MovieLens CSV layout (ml-latest-small and friends)."""
    from kgrec.app.ingest import read_movielens

    _ingest_folder(ctx, read_movielens, path, skip_bad, rejects, rating_range, id_prefix)


@app.command("recbole")
def recbole(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Folder with NAME.inter [, NAME.item] (e.g. ml-100k)."),
    skip_bad: bool = SKIP_BAD,
    rejects: Path = REJECTS,
    rating_range: str = RATING_RANGE,
    id_prefix: str = ID_PREFIX,
) -> None:
    """RecBole atomic files (tab-separated NAME.inter and NAME.item; MovieLens 100K)."""
    from kgrec.app.ingest import read_recbole

    _ingest_folder(ctx, read_recbole, path, skip_bad, rejects, rating_range, id_prefix)


@app.command("lightgcn")
def lightgcn(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Folder with train.txt, test.txt [, kg_final.txt]."),
    skip_bad: bool = SKIP_BAD,
    rejects: Path = REJECTS,
    rating_range: str = RATING_RANGE,
    id_prefix: str = ID_PREFIX,
) -> None:
    """LightGCN / KGAT text layout (user item item ... per line; optional KG triples)."""
    from kgrec.app.ingest import read_lightgcn

    _ingest_folder(ctx, read_lightgcn, path, skip_bad, rejects, rating_range, id_prefix)


@app.command("csv")
def csv_(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Interaction files (.csv or .parquet)."),
    user_col: str = typer.Option("user_id", help="Column holding the user id."),
    item_col: str = typer.Option("item_id", help="Column holding the item id."),
    rating_col: str = typer.Option(None, help="Column holding a rating (optional)."),
    ts_col: str = typer.Option(None, help="Column holding a unix timestamp (optional)."),
    items: Path = typer.Option(None, help="Items file with id, title[, description, tags]."),
    skip_bad: bool = SKIP_BAD,
    rejects: Path = REJECTS,
    rating_range: str = RATING_RANGE,
    id_prefix: str = ID_PREFIX,
) -> None:
    """Generic CSV/Parquet interactions with a column mapping."""
    from kgrec.app.ingest import read_table, rejects_file

    mapping = {"user_id": user_col, "item_id": item_col}
    if rating_col:
        mapping["rating"] = rating_col
    if ts_col:
        mapping["ts"] = ts_col
    cli = get(ctx)
    options = _reader_options(rating_range, id_prefix)
    rejects_path = rejects_file(rejects, paths[0], skip_bad)
    dataset = read_table(paths, mapping, items=items, skip_bad=skip_bad, name="csv", **options)
    run_ingest(cli, dataset, rejects_path)


@app.command("synthetic")
def synthetic(
    ctx: typer.Context,
    users: int = typer.Option(500, "--users", help="Number of users."),
    items: int = typer.Option(1000, "--items", help="Number of items."),
    tags: int = typer.Option(40, "--tags", help="Number of tags."),
    interactions: int = typer.Option(20000, "--interactions", help="Number of interactions."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    id_prefix: str = ID_PREFIX,
) -> None:
    """A synthetic world: power-law popularity, users with latent tag tastes, texts from tags."""
    from kgrec.app.ingest import generate_synthetic

    cli = get(ctx)
    dataset = generate_synthetic(
        num_users=users,
        num_items=items,
        num_tags=tags,
        num_interactions=interactions,
        seed=seed,
        id_prefix=id_prefix,
    )
    run_ingest(cli, dataset)
