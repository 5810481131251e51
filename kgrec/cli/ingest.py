"""``kgrec ingest``: read a dataset, validate it whole, embed texts, write it idempotently."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from kgrec.cli.context import CliContext, get
from kgrec.core.dataset import Dataset
from kgrec.core.errors import InvalidParameter, KgrecError
from kgrec.loaders.validate import check_rating_range

app = typer.Typer(help="Load a dataset into the graph store.", no_args_is_help=True)

SKIP_BAD = typer.Option(
    False, "--skip-bad", help="Skip bad rows, writing them to a rejects file, instead of stopping."
)
REJECTS = typer.Option(None, "--rejects", help="Rejects file (default: <input>.rejects.csv).")
RATING_RANGE = typer.Option(
    None,
    "--rating-range",
    metavar="LOW,HIGH",
    help="Ratings allowed, e.g. 1,10; 'any' allows every finite number "
    "(default: movielens 0.5,5; csv any; lightgcn has no ratings).",
)
ID_PREFIX = typer.Option(
    "", "--id-prefix", help="Put before every user, item and entity id (e.g. 'lg:')."
)


def _reader_options(rating_range: str | None, id_prefix: str) -> dict:
    """Reader keyword arguments from ``--rating-range`` and ``--id-prefix``; a reader's own
    default range applies when ``--rating-range`` is not given."""
    options: dict = {"id_prefix": id_prefix}
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
    options["rating_range"] = check_rating_range((low, high))
    return options


def run_ingest(
    cli: CliContext, dataset: Dataset, rejects_path: Path | None = None, emit: bool = True
) -> dict:
    """Write ``dataset`` through the configured store and embedding model; print a summary
    (unless ``emit`` is false) and return it."""
    from kgrec.app.ingest import ingest
    from kgrec.loaders.embeddings import TextEmbedder

    if len(dataset.rejects) and rejects_path is not None:
        try:
            dataset.rejects.to_csv(rejects_path, index=False)
        except OSError as exc:
            raise KgrecError(
                f"cannot write the rejects file {rejects_path}: {exc.strerror}; "
                "pass another --rejects file"
            ) from None
        cli.info(f"{len(dataset.rejects)} bad rows skipped, written to {rejects_path}")
    embedder = TextEmbedder(cli.settings.embedding_model, cache_dir=cli.settings.cache_dir)
    try:
        with cli.store(create=True) as store:
            report = ingest(
                dataset, store, embedder, progress=cli.progress(), show_progress=cli.show_progress
            )
    finally:
        embedder.close()
    summary = report.as_dict()
    summary["store"] = cli.settings.store
    summary["duplicates_merged"] = dataset.duplicates_merged
    if rejects_path is not None and len(dataset.rejects):
        summary["rejects_file"] = str(rejects_path)
    lines = [
        f"ingested {dataset.name} into {cli.settings.store} in {report.seconds:.1f} s",
        f"  texts embedded: {report.texts_embedded}, vectors written: {report.embeddings_written}",
        f"  nodes created/changed: {report.nodes_changed}, "
        f"relationships created/changed: {report.relationships_changed}",
    ]
    for name, step in report.steps.items():
        lines.append(
            f"  {name:<20} rows {step.rows:>9,}  created {step.created:>9,}  "
            f"updated {step.updated:>9,}"
        )
    if report.rejects:
        lines.append(f"  rejected rows: {report.rejects}")
    lines.append(f"  duplicate rows merged: {dataset.duplicates_merged}")
    if emit:
        cli.emit(summary, "\n".join(lines))
    return summary


def _rejects_path(given: Path | None, source: Path, skip_bad: bool) -> Path | None:
    """The rejects file under ``--skip-bad`` (else None): as given, else ``<input
    name>.rejects.csv`` in the working directory (input folders such as a shared dataset may
    be read-only). Checked before anything is read or written: its folder must exist and be
    writable.

    Raises:
        InvalidParameter: the file cannot be written there.
    """
    if not skip_bad:
        return None
    path = given if given is not None else Path.cwd() / f"{source.name}.rejects.csv"
    folder = path.parent
    if path.is_dir():
        raise InvalidParameter("--rejects names a folder; give a file name in it", path)
    if not folder.is_dir():
        raise InvalidParameter(
            f"the --rejects folder {folder} does not exist; create it (mkdir -p {folder}) "
            "or pass another --rejects file",
            path,
        )
    if not os.access(folder, os.W_OK):
        raise InvalidParameter(
            f"the --rejects folder {folder} is not writable; pass another --rejects file", path
        )
    return path


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
    from kgrec.loaders.movielens import read_movielens

    cli = get(ctx)
    options = _reader_options(rating_range, id_prefix)
    rejects_path = _rejects_path(rejects, path, skip_bad)
    dataset = read_movielens(path, skip_bad=skip_bad, **options)
    run_ingest(cli, dataset, rejects_path)


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
    from kgrec.loaders.lightgcn import read_lightgcn

    cli = get(ctx)
    options = _reader_options(rating_range, id_prefix)
    rejects_path = _rejects_path(rejects, path, skip_bad)
    dataset = read_lightgcn(path, skip_bad=skip_bad, **options)
    run_ingest(cli, dataset, rejects_path)


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
    from kgrec.loaders.tabular import read_table

    mapping = {"user_id": user_col, "item_id": item_col}
    if rating_col:
        mapping["rating"] = rating_col
    if ts_col:
        mapping["ts"] = ts_col
    cli = get(ctx)
    options = _reader_options(rating_range, id_prefix)
    rejects_path = _rejects_path(rejects, paths[0], skip_bad)
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
    from kgrec.loaders.synthetic import generate_synthetic

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
