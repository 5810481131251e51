"""Values the stores cannot take are refused by every reader and by ``Dataset.check()``:
over-long keys and text, NUL and lone surrogates, non-finite or out-of-range ratings, fields
over the CSV limit, broken lines; and duplicate interactions settle deterministically."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kgrec.core.errors import DatasetError
from kgrec.loaders import MAX_KEY_BYTES, MAX_TEXT_BYTES, Dataset, InvalidParameter
from kgrec.loaders._csv import CSV_FIELD_LIMIT
from kgrec.loaders.lightgcn import read_lightgcn
from kgrec.loaders.movielens import read_movielens
from kgrec.loaders.tabular import read_table

MOVIES = "movieId,title,genres\n1,One,Drama\n2,Two,Comedy|Drama\n"
RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,100\n1,2,3.5,101\n2,1,5.0,102\n"
MAPPING = {"user_id": "u", "item_id": "i", "rating": "r", "ts": "t"}


def movielens(root: Path, movies: str = MOVIES, ratings: str = RATINGS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "movies.csv").write_text(movies, encoding="utf-8")
    (root / "ratings.csv").write_text(ratings, encoding="utf-8")
    return root


def table(tmp_path: Path, rows: str, name: str = "inter.csv") -> Path:
    path = tmp_path / name
    path.write_text("u,i,r,t\n" + rows, encoding="utf-8")
    return path


def refused(call, *args, **kwargs) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return info.value


# 1. key length ---------------------------------------------------------------------------


def test_max_key_bytes_is_one_documented_constant() -> None:
    assert MAX_KEY_BYTES == 1024 and MAX_TEXT_BYTES >= MAX_KEY_BYTES


def test_table_id_at_the_limit_passes_one_byte_more_is_refused(tmp_path: Path) -> None:
    at_limit = "é" * (MAX_KEY_BYTES // 2)  # 2 bytes each: exactly MAX_KEY_BYTES
    ds = read_table(table(tmp_path, f"{at_limit},a,1,1\n"), MAPPING)
    assert ds.interactions["user_id"].iloc[0] == at_limit
    path = table(tmp_path, f"x,a,1,1\n{at_limit}x,a,1,1\n")
    err = refused(read_table, path, MAPPING)
    assert (err.path, err.line, err.field) == (str(path), 3, "u")
    assert "1,025 bytes" in str(err) and "MAX_KEY_BYTES" in str(err)
    ds = read_table(path, MAPPING, skip_bad=True)
    assert ds.rejects["line"].tolist() == [3] and list(ds.users["id"]) == ["x"]


def test_id_prefix_counts_towards_the_key_limit(tmp_path: Path) -> None:
    path = table(tmp_path, "u1," + "i" * (MAX_KEY_BYTES - 3) + ",1,1\n")
    assert len(read_table(path, MAPPING, id_prefix="ab:").items) == 1
    err = refused(read_table, path, MAPPING, id_prefix="abc:")
    assert (err.line, err.field) == (2, "i") and "abc:iii" in str(err)


def test_movielens_long_tag_and_genre_are_refused(tmp_path: Path) -> None:
    long_tag = "t" * (MAX_KEY_BYTES + 1)
    root = movielens(tmp_path, movies=MOVIES + f"3,Three,{long_tag}\n")
    err = refused(read_movielens, root)
    assert (Path(err.path).name, err.line, err.field) == ("movies.csv", 4, "genres")
    (root / "tags.csv").write_text(f"userId,movieId,tag,timestamp\n1,1,ok,1\n1,2,{long_tag},2\n")
    root = movielens(tmp_path)
    err = refused(read_movielens, root)
    assert (Path(err.path).name, err.line, err.field) == ("tags.csv", 3, "tag")


def test_long_text_is_refused_with_its_limit(tmp_path: Path) -> None:
    title = "x" * (MAX_TEXT_BYTES + 1)
    err = refused(read_movielens, movielens(tmp_path, movies=MOVIES + f"3,{title},Drama\n"))
    assert (err.line, err.field) == (4, "title") and "MAX_TEXT_BYTES" in str(err)


def test_check_refuses_long_keys_in_python_built_frames() -> None:
    ds = Dataset(name="hand", users=pd.DataFrame({"id": ["a", "b", "k" * 2000]}))
    err = refused(ds.check)
    assert err.field == "users.id" and "row 2 of hand.users" in str(err)
    ds = Dataset(
        name="hand",
        triples=pd.DataFrame({"item_id": ["i"], "relation": ["r" * 1025], "entity_id": ["e"]}),
    )
    assert refused(ds.check).field == "triples.relation"
    ds = Dataset(
        name="hand", items=pd.DataFrame({"id": ["i"], "title": ["t" * 5000], "description": [None]})
    )
    ds.check()  # a long title is text, not a key


# 2. NUL and characters that are not UTF-8 ------------------------------------------------


def test_nul_is_refused_by_every_file_reader(tmp_path: Path) -> None:
    root = movielens(tmp_path / "ml", ratings=RATINGS + "3,1,4.0,1\x00\n")
    err = refused(read_movielens, root)
    assert (Path(err.path).name, err.line, err.field) == ("ratings.csv", 5, "timestamp")
    assert "NUL" in str(err)
    root = movielens(tmp_path / "ml2", movies=MOVIES.replace("One", "O\x00ne"))
    assert (refused(read_movielens, root).field) == "title"

    path = table(tmp_path, "a,b\x00,1,1\n")
    err = refused(read_table, path, MAPPING)
    assert (err.line, err.field) == (2, "i")
    items = tmp_path / "items.csv"
    items.write_text("id,title,description\nb,Bee,buzz\x00\n")
    err = refused(read_table, table(tmp_path, "a,b,1,1\n"), MAPPING, items=items)
    assert (err.path, err.line, err.field) == (str(items), 2, "description")

    lg = tmp_path / "lg"
    lg.mkdir()
    (lg / "train.txt").write_text("0 1 2\n1 2\x00\n")
    err = refused(read_lightgcn, lg)
    assert (err.line, err.field) == (2, "item")


def test_nul_in_parquet_strings_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inter.parquet"
    frame = pd.DataFrame({"u": ["a", "b"], "i": ["x", "y"], "name": ["ok", "bad\x00"]})
    frame.to_parquet(path)
    err = refused(read_table, path, {"user_id": "u", "item_id": "i", "title": "name"})
    assert (err.line, err.field) == (3, "name")


def test_check_refuses_nul_and_lone_surrogates() -> None:
    items = pd.DataFrame({"id": ["a"], "title": ["x\x00y"], "description": [None]})
    err = refused(Dataset(name="hand", items=items).check)
    assert err.field == "items.title" and "NUL" in str(err)
    ids = np.array(["ok", "bad\ud800"], dtype=object)
    err = refused(Dataset(name="hand", users=pd.DataFrame({"id": ids}, dtype=object)).check)
    assert err.field == "users.id" and "row 1" in str(err) and "not encodable" in str(err)


# 3. duplicate (user, item) rows ------------------------------------------------------------


def test_latest_timestamp_wins_then_last_row(tmp_path: Path, caplog) -> None:
    rows = "a,x,1,300\na,x,2,100\nb,x,3,5\na,y,4,7\nb,x,5,5\na,x,6,200\n"
    with caplog.at_level("INFO", logger="kgrec.loaders.validate"):
        ds = read_table(table(tmp_path, rows), MAPPING)
    got = list(ds.interactions[["user_id", "item_id", "rating"]].itertuples(index=False))
    assert [tuple(r) for r in got] == [("a", "x", 1.0), ("a", "y", 4.0), ("b", "x", 5.0)]
    assert ds.duplicates_merged == 3
    assert "merged 3 duplicate" in caplog.text


def test_duplicates_across_files_and_without_timestamps(tmp_path: Path) -> None:
    first = table(tmp_path, "a,x,1,1\n", "one.csv")
    second = table(tmp_path, "a,x,2,1\n", "two.csv")
    ds = read_table([first, second], {"user_id": "u", "item_id": "i", "rating": "r"})
    assert ds.interactions["rating"].tolist() == [2.0] and ds.duplicates_merged == 1


def test_movielens_and_lightgcn_merge_duplicates(tmp_path: Path) -> None:
    ratings = RATINGS + "1,1,1.0,99\n1,1,2.0,100\n"  # equal ts 100: the last row wins
    ds = read_movielens(movielens(tmp_path / "ml", ratings=ratings))
    assert ds.duplicates_merged == 2 and len(ds.interactions) == 3
    row = ds.interactions[(ds.interactions["user_id"] == "1") & (ds.interactions["item_id"] == "1")]
    assert row["rating"].tolist() == [2.0]
    lg = tmp_path / "lg"
    lg.mkdir()
    (lg / "train.txt").write_text("0 1 1 2\n")
    (lg / "test.txt").write_text("0 2\n")
    ds = read_lightgcn(lg)
    assert ds.duplicates_merged == 2
    assert ds.interactions[["item_id", "split"]].values.tolist() == [["1", "train"], ["2", "test"]]


# 4. ratings and timestamps -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e999", "NaN", ""])
def test_non_finite_ratings_are_refused(tmp_path: Path, value: str) -> None:
    err = refused(read_table, table(tmp_path, f"a,x,1,1\nb,y,{value},2\n"), MAPPING)
    assert (err.line, err.field) == (3, "r") and "not a number" in str(err)


def test_rating_range_in_every_reader(tmp_path: Path) -> None:
    path = table(tmp_path, "a,x,1,1\nb,y,7.5,2\n")
    assert len(read_table(path, MAPPING).interactions) == 2  # tabular: any finite value
    err = refused(read_table, path, MAPPING, rating_range=(1, 5))
    assert (err.line, err.field) == (3, "r") and "out of range 1 to 5" in str(err)
    root = movielens(tmp_path / "ml", ratings=RATINGS + "2,2,7.5,1\n")
    assert refused(read_movielens, root).line == 5  # MovieLens' own scale 0.5..5
    assert len(read_movielens(root, rating_range=(1, 10)).interactions) == 4
    assert len(read_movielens(root, rating_range=None).interactions) == 4
    for bad in [(5, 1), (0, float("inf")), ("a", 1), (1,)]:
        with pytest.raises(InvalidParameter):
            read_table(path, MAPPING, rating_range=bad)
    with pytest.raises(InvalidParameter, match="needs a rating column"):
        read_table(path, {"user_id": "u", "item_id": "i"}, rating_range=(1, 5))
    lg = tmp_path / "lg"
    lg.mkdir()
    (lg / "train.txt").write_text("0 1\n")
    with pytest.raises(InvalidParameter, match="no ratings"):
        read_lightgcn(lg, rating_range=(1, 5))
    assert issubclass(InvalidParameter, ValueError) and issubclass(InvalidParameter, DatasetError)


def test_parquet_numbers_beyond_int64_are_refused_not_crashing(tmp_path: Path) -> None:
    path = tmp_path / "inter.parquet"
    pd.DataFrame({"u": [1.0, 1e300], "i": [2.0, 3.0], "t": [5.0, 1e300]}).to_parquet(path)
    err = refused(read_table, path, {"user_id": "u", "item_id": "i", "ts": "t"})
    assert (err.line, err.field) == (3, "t")
    ds = read_table(path, {"user_id": "u", "item_id": "i"})
    assert ds.interactions["user_id"].tolist() == ["1.0", "1e+300"]


# 5. one clear line for big fields and broken lines -------------------------------------------


def test_one_megabyte_field_names_file_line_field(tmp_path: Path) -> None:
    path = table(tmp_path, "a,x,1,1\n" + "b," + "y" * (1 << 20) + ",1,1\n")
    err = refused(read_table, path, MAPPING)
    assert (err.path, err.line, err.field) == (str(path), 3, "i")
    assert "1,048,576 bytes" in str(err)


def test_field_over_the_csv_limit_names_its_field(tmp_path: Path) -> None:
    limit = csv.field_size_limit()
    huge = '"' + "x" * (CSV_FIELD_LIMIT + 1) + '"'
    err = refused(read_movielens, movielens(tmp_path, movies=MOVIES + f"3,{huge},Drama\n"))
    assert (err.line, err.field) == (4, "title") and "CSV_FIELD_LIMIT" in str(err)
    assert csv.field_size_limit() == limit  # the process-wide limit is restored


def test_stray_carriage_return_is_one_bad_line(tmp_path: Path) -> None:
    path = table(tmp_path, "a,x\r,1,1\nb,y,2,2\n")
    err = refused(read_table, path, MAPPING)
    assert (err.line, err.field) == (2, None) and "carriage return" in str(err)
    ds = read_table(path, MAPPING, skip_bad=True)
    assert ds.rejects["line"].tolist() == [2] and ds.interactions["user_id"].tolist() == ["b"]


# 6. keeping datasets apart, no invented titles ---------------------------------------------


def test_id_prefix_in_every_reader(tmp_path: Path) -> None:
    ds = read_table(table(tmp_path, "a,x,1,1\n"), MAPPING, id_prefix="t:")
    assert ds.users["id"].tolist() == ["t:a"] and ds.items["id"].tolist() == ["t:x"]
    assert ds.interactions[["user_id", "item_id"]].values.tolist() == [["t:a", "t:x"]]
    ds = read_movielens(movielens(tmp_path / "ml"), id_prefix="ml:")
    assert ds.users["id"].tolist() == ["ml:1", "ml:2"]
    assert set(ds.item_tags["item_id"]) == {"ml:1", "ml:2"}
    assert set(ds.tags["name"]) == {"drama", "comedy"}  # tag names are not prefixed
    lg = tmp_path / "lg"
    lg.mkdir()
    (lg / "train.txt").write_text("0 1 2\n")
    (lg / "kg_final.txt").write_text("1 0 100\n")
    ds = read_lightgcn(lg, id_prefix="lg:")
    assert ds.items["id"].tolist() == ["lg:1", "lg:2"]
    assert ds.triples.values.tolist() == [["lg:1", "r0", "lg:e100"]]
    assert ds.entities["id"].tolist() == ["lg:e100"]
    for bad in ["x\x00", " lg", "p" * 65]:
        with pytest.raises(InvalidParameter, match="id_prefix"):
            read_lightgcn(lg, id_prefix=bad)


def test_items_named_only_by_id_have_no_title(tmp_path: Path) -> None:
    ds = read_table(table(tmp_path, "a,x,1,1\n"), MAPPING)
    assert ds.items["title"].tolist() == [None] and ds.items["description"].tolist() == [None]
    path = tmp_path / "named.csv"
    path.write_text("u,i,name\na,x,\nb,y,  \nc,z,Zed\n")
    ds = read_table(path, {"user_id": "u", "item_id": "i", "title": "name"})
    assert ds.items["title"].tolist() == [None, None, "Zed"]
    items = tmp_path / "items.csv"
    items.write_text("id,title,description\nx,,\n")
    ds = read_table(table(tmp_path, "a,x,1,1\n"), MAPPING, items=items)
    assert ds.items["title"].tolist() == [None] and ds.items["description"].tolist() == [None]


# whole files only: a line cut short, a column named twice, nested Parquet columns ----------

ML_RATINGS = (
    "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n2,1,5.0,964982224\n"
)


def test_a_ratings_file_cut_inside_its_last_timestamp_is_refused(tmp_path: Path) -> None:
    root = movielens(tmp_path / "ml", ratings=ML_RATINGS + "2,2,3.0,9")
    err = refused(read_movielens, root)
    assert (err.path, err.line, err.field) == (str(root / "ratings.csv"), 5, "timestamp")
    assert "timestamp '9' has 1 digits where every other row has at least 9" in str(err)
    assert "ends without a newline: it looks cut short" in str(err)
    skipped = read_movielens(root, skip_bad=True)
    assert len(skipped.interactions) == 3 and skipped.rejects["line"].tolist() == [5]


def test_a_short_last_timestamp_is_kept_when_the_file_ends_with_a_newline(tmp_path: Path) -> None:
    ds = read_movielens(movielens(tmp_path / "ml", ratings=ML_RATINGS + "2,2,3.0,9\n"))
    assert ds.interactions["ts"].tolist()[-1] == 9
    whole = read_movielens(movielens(tmp_path / "ml2", ratings=ML_RATINGS + "2,2,3.0,964982999"))
    assert len(whole.interactions) == 4  # no final newline, but nothing looks cut


def test_a_table_cut_inside_its_last_timestamp_is_refused(tmp_path: Path) -> None:
    path = table(tmp_path, "a,x,1,1700000000\nb,x,2,1700000100\nc,y,3,1700000200\nd,y,4,17")
    err = refused(read_table, path, MAPPING)
    assert (err.line, err.field) == (5, "t") and "cut short" in str(err)


@pytest.mark.parametrize(
    ("header", "column"),
    [("u,i,r,r", "r"), ("u,i,r,t,u", "u"), ("u, i,r,i ", "i")],
)
def test_a_header_naming_a_column_twice_is_refused(tmp_path: Path, header, column) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(f"{header}\n" + ",".join(["1"] * len(header.split(","))) + "\n")
    err = refused(read_table, path, {"user_id": "u", "item_id": "i", "rating": "r"})
    assert (err.line, err.field) == (1, column) and "names column" in str(err)
    assert "twice" in str(err)


def test_a_movielens_header_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    root = movielens(tmp_path / "ml", ratings="userId,movieId,rating,rating,timestamp\n1,1,4,5,9\n")
    err = refused(read_movielens, root)
    assert (err.path, err.line, err.field) == (str(root / "ratings.csv"), 1, "rating")


def test_parquet_columns_of_lists_structs_or_bytes_are_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {
        "lists": pa.array([[1, 2], [3]]),
        "structs": pa.array([{"a": 1}, {"a": 2}]),
        "bytes": pa.array([b"u1", b"u2"]),
    }
    for name, values in columns.items():
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table({"u": values, "i": ["a", "b"]}), path)
        err = refused(read_table, path, {"user_id": "u", "item_id": "i"})
        assert (err.path, err.line, err.field) == (str(path), 1, "u")
        assert "not one plain value per row" in str(err) and "flatten" in str(err)
    path = tmp_path / "dup.parquet"
    pq.write_table(
        pa.Table.from_arrays(
            [pa.array(["u1"]), pa.array(["a"]), pa.array(["b"])], names=["u", "i", "i"]
        ),
        path,
    )
    err = refused(read_table, path, {"user_id": "u", "item_id": "i"})
    assert err.field == "i" and "appears 2 times" in str(err)


def test_padded_ids_in_a_python_dataset_are_refused(tmp_path: Path) -> None:
    ds = Dataset("py")
    ds.users = pd.DataFrame({"id": ["u1", "  u5  "]}, dtype=object)
    err = refused(ds.check)
    assert err.field == "users.id" and "'  u5  ' begins or ends with whitespace" in str(err)
    ds = Dataset("py", rating_range=(0.5, 5.0))
    ds.interactions = pd.DataFrame(
        {
            "user_id": ["u"],
            "item_id": ["i"],
            "kind": ["rating"],
            "rating": [7.0],
            "weight": [7.0],
            "ts": [1],
            "split": [""],
        }
    )
    err = refused(ds.check)
    assert err.field == "interactions.rating" and "out of the dataset's range 0.5 to 5" in str(err)
