"""Reader and downloader for the GroupLens MovieLens CSV layout (``ml-latest``, ``ml-25m``...).

Files read from the dataset folder:

- ``movies.csv``: ``movieId,title,genres`` (genres pipe-separated; ``(no genres listed)``
  means none). Genres become tags with source ``'genre'``.
- ``ratings.csv``: ``userId,movieId,rating,timestamp``.
- ``tags.csv`` (optional): ``userId,movieId,tag,timestamp``; each application becomes a
  ``user_tags`` row, and per item the applications of one normalised tag become one
  ``item_tags`` row with source ``'user'`` and ``count`` = number of applications.

``links.csv`` is ignored. Every file is validated before anything is returned. Several
ratings of one user for one movie are merged: the latest timestamp wins, on equal timestamps
the last row (``Dataset.duplicates_merged`` counts the dropped rows).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from kgrec.core.dataset import Dataset, normalise_tag
from kgrec.core.errors import DatasetError
from kgrec.loaders._csv import Issues, Table, conform, read_csv_table
from kgrec.loaders.validate import check_prefix, check_rating_range

log = logging.getLogger(__name__)

DEFAULT_URL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
NO_GENRES = "(no genres listed)"
RATING_RANGE = (0.5, 5.0)


def _ids(table: Table, column: str, prefix: str) -> np.ndarray:
    """Integer ids of ``column`` as canonical strings (``'007'`` -> ``'7'``), unprefixed."""
    ids = table.ints(column).astype(str).astype(object)
    table.keys(column, ids, prefix)
    return ids


def read_movielens(
    path: str | Path,
    *,
    skip_bad: bool = False,
    rating_range: tuple[float, float] | None = RATING_RANGE,
    id_prefix: str = "",
) -> Dataset:
    """Read a MovieLens dataset folder into canonical frames.

    Args:
        path: the folder holding ``movies.csv``, ``ratings.csv`` and optionally ``tags.csv``.
        skip_bad: collect bad rows in ``Dataset.rejects`` and drop them instead of raising.
            Header errors and missing files raise either way.
        rating_range: the lowest and highest rating allowed; MovieLens' own scale
            (0.5, 5.0) by default; None allows any finite number.
        id_prefix: put before every user and item id (``'ml:'``), to keep datasets apart in
            one store; tag names are not prefixed.

    Returns:
        The dataset named ``'movielens'``. Users are every user that rated or tagged.

    Raises:
        DatasetError: a missing file, a bad header, or (unless ``skip_bad``) a bad row: wrong
            number of fields, bytes that are not UTF-8, a NUL character, a non-integer id or
            timestamp, a rating that is not a finite number in ``rating_range``, a title over
            ``MAX_TEXT_BYTES`` or a tag over ``MAX_KEY_BYTES``, or a rating or tag naming a
            movieId absent from movies.csv. The error names the file, its 1-based line and
            the field. ``InvalidParameter`` (a DatasetError) for a bad ``rating_range`` or
            ``id_prefix``.
    """
    bounds = check_rating_range(rating_range)
    prefix = check_prefix(id_prefix)
    root = Path(path)
    if not root.is_dir():
        raise DatasetError("dataset folder not found", root)
    issues = Issues()

    movies = read_csv_table(root / "movies.csv", ["movieId", "title", "genres"], issues)
    movie_ids = _ids(movies, "movieId", prefix)
    titles = movies.texts("title")
    genres = movies.tag_lists("genres", "|", NO_GENRES)
    seen = pd.Series(movie_ids).where(~movies.bad)
    dup = (seen.duplicated() & seen.notna()).to_numpy()
    movies.flag(dup, "movieId", lambda i: f"movieId {movie_ids[i]} is listed twice")
    issues.settle(0, skip_bad)
    good_movies = ~movies.bad
    catalogue = pd.Index(movie_ids[good_movies])

    mark = len(issues.rows)
    ratings = read_csv_table(
        root / "ratings.csv", ["userId", "movieId", "rating", "timestamp"], issues
    )
    r_users = _ids(ratings, "userId", prefix)
    r_items = _ids(ratings, "movieId", prefix)
    r_values = ratings.floats("rating", bounds)
    r_ts = ratings.ints("timestamp")
    ratings.known("movieId", r_items, catalogue, "movies.csv")
    issues.settle(mark, skip_bad)

    tags_path = root / "tags.csv"
    tags: Table | None = None
    if tags_path.exists():
        mark = len(issues.rows)
        tags = read_csv_table(tags_path, ["userId", "movieId", "tag", "timestamp"], issues)
        t_users = _ids(tags, "userId", prefix)
        t_items = _ids(tags, "movieId", prefix)
        t_names = np.array([normalise_tag(t) for t in tags.strings("tag")], dtype=object)
        t_ts = tags.ints("timestamp")
        tags.known("movieId", t_items, catalogue, "movies.csv")
        tags.flag(t_names == "", "tag", lambda i: "tag is empty")
        tags.keys("tag", t_names)
        issues.settle(mark, skip_bad)
    else:
        log.info("%s: no tags.csv, reading without user tags", root)

    ds = Dataset(name="movielens", rating_range=bounds)
    ds.items = pd.DataFrame(
        {
            "id": movie_ids[good_movies],
            "title": [t if t.strip() else None for t in titles[good_movies]],
            "description": None,
        }
    )
    genre_rows = [
        (item, name)
        for item, names, good in zip(movie_ids, genres, good_movies, strict=True)
        if good
        for name in names
    ]
    genre_tags = pd.DataFrame(genre_rows, columns=["item_id", "tag"], dtype=object)
    genre_tags["source"] = "genre"
    genre_tags["count"] = np.int64(1)

    keep = ~ratings.bad
    ds.interactions = pd.DataFrame(
        {
            "user_id": r_users[keep],
            "item_id": r_items[keep],
            "kind": "rating",
            "rating": r_values[keep],
            "weight": r_values[keep],
            "ts": r_ts[keep],
            "split": "",
        }
    )
    user_ids = [r_users[keep]]
    item_tag_frames = [genre_tags]
    if tags is not None:
        keep = ~tags.bad
        ds.user_tags = pd.DataFrame(
            {
                "user_id": t_users[keep],
                "item_id": t_items[keep],
                "tag": t_names[keep],
                "ts": t_ts[keep],
            }
        )
        user_ids.append(t_users[keep])
        counted = (
            ds.user_tags.groupby(["item_id", "tag"], sort=False).size().reset_index(name="count")
        )
        counted.insert(2, "source", "user")
        counted["count"] = counted["count"].astype(np.int64)
        item_tag_frames.append(counted)
    ds.item_tags = pd.concat(item_tag_frames, ignore_index=True)
    ds.tags = pd.DataFrame({"name": sorted(set(ds.item_tags["tag"]))}, dtype=object)
    users = pd.unique(np.concatenate(user_ids))
    ds.users = pd.DataFrame({"id": sorted(users, key=int)}, dtype=object)
    ds.rejects = issues.frame()
    conform(ds, prefix)
    log.info("read %s: %s", root, ds.summary())
    return ds


def fetch_movielens(
    dest_dir: str | Path, url: str = DEFAULT_URL, sha256: str | None = None
) -> Path:
    """Download a GroupLens zip archive, check it and unpack it.

    Args:
        dest_dir: folder to unpack into (created if needed).
        url: the archive's address (any scheme ``urllib`` opens, ``file://`` included).
        sha256: expected hex digest of the archive; checked when given.

    Returns:
        The unpacked dataset folder (the archive's top folder, or ``dest_dir``).

    Raises:
        DatasetError: the download failed, the checksum differs, or the archive is unusable.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / (Path(urllib.parse.urlparse(url).path).name or "movielens.zip")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, archive.open("wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except (OSError, ValueError) as exc:
        archive.unlink(missing_ok=True)
        raise DatasetError(f"download failed: {exc}; check the URL and the network", url) from None
    if sha256 is not None and digest.hexdigest().lower() != sha256.strip().lower():
        archive.unlink(missing_ok=True)
        raise DatasetError(
            f"SHA-256 mismatch: expected {sha256.strip().lower()}, got {digest.hexdigest()}; "
            "the download is corrupt or the URL points at another file",
            url,
        )
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            for name in names:
                target = (dest / name).resolve()
                if not target.is_relative_to(dest.resolve()):
                    raise DatasetError(f"archive member {name!r} escapes the folder", archive)
            zf.extractall(dest)
    except zipfile.BadZipFile:
        raise DatasetError("not a zip archive", archive) from None
    finally:
        archive.unlink(missing_ok=True)
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    folder = dest / tops.pop() if len(tops) == 1 else dest
    shutil.rmtree(dest / "__MACOSX", ignore_errors=True)
    log.info("fetched %s into %s", url, folder)
    return folder
