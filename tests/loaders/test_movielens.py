"""MovieLens reader: the real ml-latest-small, every bad-input case, skip_bad and fetch."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kgrec.core.dataset import COLUMNS
from kgrec.core.errors import DatasetError
from kgrec.loaders.movielens import fetch_movielens, read_movielens

ML_SMALL = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "ml-latest-small"

MOVIES = (
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children\n"
    '2,"American President, The (1995)",Comedy|Drama|Romance\n'
    "3,Some Film (2000),(no genres listed)\n"
)
RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,1000\n1,2,3.5,1001\n2,3,5.0,1002\n"
TAGS = "userId,movieId,tag,timestamp\n3,1,Pixar,1003\n1,1, pixar ,1004\n2,2,politics,1005\n"


def write(root: Path, **files: str | bytes) -> Path:
    """Write the small dataset into ``root``, with ``files`` replacing or adding files."""
    root.mkdir(parents=True, exist_ok=True)
    contents = {"movies.csv": MOVIES, "ratings.csv": RATINGS, "tags.csv": TAGS}
    contents.update({".".join(name.rsplit("_", 1)): text for name, text in files.items()})
    for name, text in contents.items():
        data = text.encode("utf-8") if isinstance(text, str) else text
        (root / name).write_bytes(data)
    return root


def test_ml_latest_small_counts(canonical) -> None:
    assert ML_SMALL.is_dir(), f"real dataset missing at {ML_SMALL}"
    ds = read_movielens(ML_SMALL)
    canonical(ds)
    assert ds.summary()["users"] == 671
    assert ds.summary()["items"] == 9125
    assert ds.summary()["interactions"] == 100004
    assert ds.summary()["user_tags"] == 1296
    assert ds.rejects.empty
    genres = set(ds.item_tags.loc[ds.item_tags["source"] == "genre", "tag"])
    # movies.csv spells 20 genre values; one is '(no genres listed)', which is not a tag
    assert len(genres) == 19
    assert {"sci-fi", "film-noir", "imax", "children"} <= genres
    assert "(no genres listed)" not in set(ds.tags["name"])
    assert set(ds.item_tags["tag"]) == set(ds.tags["name"])
    assert ds.tags["name"].is_unique
    user_rows = ds.item_tags[ds.item_tags["source"] == "user"]
    assert user_rows["count"].sum() == 1296
    assert ds.users["id"].is_unique and ds.items["id"].is_unique
    assert set(ds.interactions["user_id"]) | set(ds.user_tags["user_id"]) == set(ds.users["id"])
    inter = ds.interactions
    assert inter["rating"].between(0.5, 5.0).all()
    assert (inter["weight"] == inter["rating"]).all()
    assert (inter["kind"] == "rating").all() and (inter["split"] == "").all()
    assert inter["ts"].dtype == np.int64
    first = inter.iloc[0]
    assert (first["user_id"], first["item_id"], first["rating"]) == ("1", "31", 2.5)
    assert first["ts"] == 1260759144
    titles = dict(zip(ds.items["id"], ds.items["title"], strict=True))
    assert titles["1"] == "Toy Story (1995)"
    assert ds.items["description"].isna().all()


def test_small_layout(tmp_path: Path, canonical) -> None:
    ds = read_movielens(write(tmp_path))
    canonical(ds)
    assert list(ds.users["id"]) == ["1", "2", "3"]
    assert list(ds.items["title"])[1] == "American President, The (1995)"
    user_rows = ds.item_tags[ds.item_tags["source"] == "user"]
    counts = {(r.item_id, r.tag): r.count for r in user_rows.itertuples()}
    assert counts == {("1", "pixar"): 2, ("2", "politics"): 1}
    assert not ((ds.item_tags["item_id"] == "3") & (ds.item_tags["source"] == "genre")).any()
    assert list(ds.user_tags["tag"]) == ["pixar", "pixar", "politics"]
    assert set(ds.tags["name"]) == {
        "adventure",
        "animation",
        "children",
        "comedy",
        "drama",
        "romance",
        "pixar",
        "politics",
    }
    for name, frame in ds.frames().items():
        assert list(frame.columns) == COLUMNS[name]


BAD_CASES = [
    # (id, files, file at fault, line, field, words in the message)
    (
        "missing column",
        {"ratings_csv": "userId,movieId,score,timestamp\n1,1,4,1\n"},
        "ratings.csv",
        1,
        "rating",
        "lacks column",
    ),
    (
        "rating not a number",
        {"ratings_csv": RATINGS.replace("3.5", "abc")},
        "ratings.csv",
        3,
        "rating",
        "not a number",
    ),
    (
        "rating out of range",
        {"ratings_csv": RATINGS.replace("5.0", "7.5")},
        "ratings.csv",
        4,
        "rating",
        "out of range",
    ),
    (
        "rating nan",
        {"ratings_csv": RATINGS.replace("4.0", "nan")},
        "ratings.csv",
        2,
        "rating",
        "not a number",
    ),
    (
        "user id not integer",
        {"ratings_csv": RATINGS.replace("2,3,5.0", "x2,3,5.0")},
        "ratings.csv",
        4,
        "userId",
        "not an integer",
    ),
    (
        "movie id not integer",
        {"movies_csv": MOVIES.replace("3,Some", "3.5,Some")},
        "movies.csv",
        4,
        "movieId",
        "not an integer",
    ),
    (
        "timestamp not integer",
        {"tags_csv": TAGS.replace("1005", "2020-01-01")},
        "tags.csv",
        4,
        "timestamp",
        "not an integer",
    ),
    (
        "rating unknown item",
        {"ratings_csv": RATINGS + "2,99,3.0,1\n"},
        "ratings.csv",
        5,
        "movieId",
        "unknown item",
    ),
    (
        "tag unknown item",
        {"tags_csv": TAGS.replace("2,2,politics", "2,42,politics")},
        "tags.csv",
        4,
        "movieId",
        "unknown item",
    ),
    (
        "bad utf-8",
        {"movies_csv": MOVIES.encode().replace(b"Some Film", b"Some \xff\xfeFilm")},
        "movies.csv",
        4,
        "title",
        "UTF-8",
    ),
    ("truncated", {"ratings_csv": RATINGS + "2,1"}, "ratings.csv", 5, None, "truncated"),
    (
        "too many fields",
        {"tags_csv": TAGS.replace("Pixar", "Pixar,extra")},
        "tags.csv",
        2,
        None,
        "expected 4 fields",
    ),
    (
        "duplicate movie",
        {"movies_csv": MOVIES + "2,Again (1999),Drama\n"},
        "movies.csv",
        5,
        "movieId",
        "listed twice",
    ),
    ("empty tag", {"tags_csv": TAGS.replace("politics", "  ")}, "tags.csv", 4, "tag", "empty"),
    ("empty file", {"movies_csv": ""}, "movies.csv", 1, None, "empty file"),
]


@pytest.mark.parametrize(
    ("files", "name", "line", "field", "words"),
    [case[1:] for case in BAD_CASES],
    ids=[case[0] for case in BAD_CASES],
)
def test_bad_input_names_file_line_field(
    tmp_path: Path, files: dict, name: str, line: int, field: str | None, words: str
) -> None:
    root = write(tmp_path, **files)
    with pytest.raises(DatasetError) as info:
        read_movielens(root)
    err = info.value
    assert Path(err.path) == root / name
    assert err.line == line
    assert err.field == field
    message = str(err)
    assert words in message
    assert "\n" not in message and "\r" not in message
    assert message.startswith(str(root / name))


def test_missing_file(tmp_path: Path) -> None:
    root = write(tmp_path)
    (root / "ratings.csv").unlink()
    with pytest.raises(DatasetError, match="file not found") as info:
        read_movielens(root, skip_bad=True)
    assert info.value.path == str(root / "ratings.csv") and info.value.line is None
    with pytest.raises(DatasetError, match="folder not found"):
        read_movielens(tmp_path / "nowhere")


def test_missing_tags_file_is_optional(tmp_path: Path) -> None:
    root = write(tmp_path)
    (root / "tags.csv").unlink()
    ds = read_movielens(root)
    assert ds.user_tags.empty and list(ds.users["id"]) == ["1", "2"]


def test_first_bad_line_is_reported(tmp_path: Path) -> None:
    ratings = RATINGS + "2,2,9,1\n2,1,x,1\n"
    with pytest.raises(DatasetError) as info:
        read_movielens(write(tmp_path, ratings_csv=ratings.replace("1,2,3.5", "1,77,3.5")))
    assert (info.value.line, info.value.field) == (3, "movieId")


def test_skip_bad_collects_rejects_and_keeps_good_rows(tmp_path: Path) -> None:
    ratings = (
        RATINGS
        + "2,2,abc,1\n"  # line 5
        + "2,1\n"  # line 6
        + "2,99,4,1\n"  # line 7
        + "3,1,4.5,1007\n"  # line 8, good
    )
    movies = MOVIES.encode() + b"4,Caf\xe9 (1990),Drama\n"  # line 5, latin-1 byte
    tags = TAGS + "4,4,drama,1\n"  # line 5: item 4 was rejected, so unknown
    root = write(tmp_path, ratings_csv=ratings, movies_csv=movies, tags_csv=tags)
    ds = read_movielens(root, skip_bad=True)
    got = [
        (Path(f).name, line, None if pd.isna(field) else field)
        for f, line, field in ds.rejects[["file", "line", "field"]].itertuples(index=False)
    ]
    assert got == [
        ("movies.csv", 5, "title"),
        ("ratings.csv", 5, "rating"),
        ("ratings.csv", 6, None),
        ("ratings.csv", 7, "movieId"),
        ("tags.csv", 5, "movieId"),
    ]
    assert ds.rejects["raw"].tolist()[2] == "2,1"
    assert ds.rejects["raw"].tolist()[0] == "4,Caf\\xe9 (1990),Drama"
    assert len(ds.interactions) == 4 and ds.interactions["ts"].iloc[-1] == 1007
    assert len(ds.items) == 3 and len(ds.user_tags) == 3
    assert "4" not in set(ds.users["id"])


def test_skip_bad_still_raises_on_header(tmp_path: Path) -> None:
    root = write(tmp_path, tags_csv="userId,movieId,label,timestamp\n")
    with pytest.raises(DatasetError) as info:
        read_movielens(root, skip_bad=True)
    assert (info.value.line, info.value.field) == (1, "tag")


def test_quoted_multiline_title_keeps_line_numbers(tmp_path: Path) -> None:
    movies = MOVIES + '4,"Two\nLines (2001)",Drama\n5,Next (2002),x\n'
    with pytest.raises(DatasetError) as info:
        read_movielens(write(tmp_path, movies_csv=movies.replace("5,Next", "5x,Next")))
    assert (info.value.line, info.value.field) == (7, "movieId")
    movies += "6,Bad,Drama,extra\n"
    ds = read_movielens(write(tmp_path, movies_csv=movies), skip_bad=True)
    assert ds.rejects["line"].tolist() == [8]
    assert "Two\nLines (2001)" in set(ds.items["title"])


def _zip_dataset(tmp_path: Path) -> Path:
    src = write(tmp_path / "src" / "ml-tiny")
    archive = tmp_path / "ml-tiny.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(src.iterdir()):
            zf.write(file, f"ml-tiny/{file.name}")
    return archive


def test_fetch_checksum_mismatch(tmp_path: Path) -> None:
    archive = _zip_dataset(tmp_path)
    dest = tmp_path / "dest"
    with pytest.raises(DatasetError, match="SHA-256 mismatch") as info:
        fetch_movielens(dest, url=archive.as_uri(), sha256="0" * 64)
    assert info.value.path == archive.as_uri()
    assert list(dest.iterdir()) == []


def test_fetch_with_matching_checksum(tmp_path: Path) -> None:
    archive = _zip_dataset(tmp_path)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    folder = fetch_movielens(tmp_path / "dest", url=archive.as_uri(), sha256=digest)
    assert folder == tmp_path / "dest" / "ml-tiny"
    assert len(read_movielens(folder).interactions) == 3
