"""Generic CSV / Parquet interaction tables with a column mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kgrec.core.errors import DatasetError, InvalidParameter
from kgrec.loaders.tabular import read_table

CSV = (
    "who,what,stars,when,name,genres\n"
    "u1,a,4.5,100,Alpha,Action|Comedy\n"
    'u2,b,3,200,"Beta, the",drama\n'
    'u1,b,5,300,"Beta, the",drama\n'
)
MAPPING = {
    "user_id": "who",
    "item_id": "what",
    "rating": "stars",
    "ts": "when",
    "title": "name",
    "tags": "genres",
}


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "who": ["u1", "u2", "u1"],
            "what": [7, 8, 8],
            "stars": [4.5, 3.0, 5.0],
            "when": pd.to_datetime([100, 200, 300], unit="s"),
        }
    )


def test_csv_with_item_columns(tmp_path: Path, canonical) -> None:
    path = tmp_path / "inter.csv"
    path.write_text(CSV)
    ds = read_table(path, MAPPING)
    canonical(ds)
    inter = ds.interactions
    assert list(inter["user_id"]) == ["u1", "u2", "u1"]
    assert list(inter["rating"]) == [4.5, 3.0, 5.0] and list(inter["ts"]) == [100, 200, 300]
    assert (inter["weight"] == inter["rating"]).all() and (inter["kind"] == "rating").all()
    assert list(ds.items["title"]) == ["Alpha", "Beta, the"]
    assert list(ds.users["id"]) == ["u1", "u2"]
    pairs = set(ds.item_tags[["item_id", "tag"]].itertuples(index=False, name=None))
    assert pairs == {("a", "action"), ("a", "comedy"), ("b", "drama")}
    assert sorted(ds.tags["name"]) == ["action", "comedy", "drama"]


def test_parquet_types_and_items_file(tmp_path: Path, canonical) -> None:
    path = tmp_path / "inter.parquet"
    frame().to_parquet(path)
    items = tmp_path / "items.csv"
    items.write_text("id,title,description,tags\n7,Seven,A number.,Maths\n8,Eight,,\n")
    mapping = {"user_id": "who", "item_id": "what", "rating": "stars", "ts": "when"}
    ds = read_table([path], mapping, items=items)
    canonical(ds)
    assert list(ds.interactions["item_id"]) == ["7", "8", "8"]
    assert list(ds.interactions["ts"]) == [100, 200, 300]
    assert ds.interactions["ts"].dtype == np.int64
    assert list(ds.items["title"]) == ["Seven", "Eight"]
    assert ds.items["description"].iloc[0] == "A number." and pd.isna(ds.items["description"][1])
    assert list(ds.item_tags["tag"]) == ["maths"]


def test_implicit_without_rating(tmp_path: Path) -> None:
    path = tmp_path / "inter.csv"
    path.write_text(CSV)
    ds = read_table([path, path], {"user_id": "who", "item_id": "what"})
    assert len(ds.interactions) == 3 and ds.duplicates_merged == 3  # the second file repeats
    assert (ds.interactions["kind"] == "implicit").all()
    assert ds.interactions["rating"].isna().all() and (ds.interactions["weight"] == 1.0).all()
    assert (ds.interactions["ts"] == -1).all() and ds.items["title"].isna().all()


def test_csv_errors_use_physical_lines(tmp_path: Path) -> None:
    path = tmp_path / "inter.csv"
    path.write_text(CSV.replace("u1,b,5", "u1,b,five"))
    with pytest.raises(DatasetError) as info:
        read_table(path, MAPPING)
    assert (info.value.path, info.value.line, info.value.field) == (str(path), 4, "stars")
    path.write_text(CSV)
    with pytest.raises(DatasetError) as info:
        read_table(path, {**MAPPING, "rating": "score"})
    assert (info.value.line, info.value.field) == (1, "score")


def test_parquet_errors_use_row_plus_header(tmp_path: Path) -> None:
    path = tmp_path / "inter.parquet"
    bad = frame().astype({"stars": object})
    bad.loc[1, "stars"] = "n/a"
    bad["stars"] = bad["stars"].astype(str)
    bad.to_parquet(path)
    mapping = {"user_id": "who", "item_id": "what", "rating": "stars"}
    with pytest.raises(DatasetError) as info:
        read_table(path, mapping)
    assert (info.value.line, info.value.field) == (3, "stars")
    ds = read_table(path, mapping, skip_bad=True)
    assert ds.rejects["line"].tolist() == [3] and len(ds.interactions) == 2
    assert ds.rejects["raw"].tolist() == ["who=u2, what=8, stars=n/a"]
    with pytest.raises(DatasetError) as info:
        read_table(path, {**mapping, "ts": "time"})
    assert (info.value.line, info.value.field) == (1, "time")


def test_unknown_item_against_items_file(tmp_path: Path) -> None:
    path = tmp_path / "inter.csv"
    path.write_text(CSV)
    items = tmp_path / "items.csv"
    items.write_text("id,title\na,Alpha\n")
    with pytest.raises(DatasetError, match="unknown item") as info:
        read_table(path, MAPPING, items=items)
    assert (info.value.line, info.value.field) == (3, "what")
    ds = read_table(path, MAPPING, items=items, skip_bad=True)
    assert ds.rejects["line"].tolist() == [3, 4] and list(ds.items["id"]) == ["a"]


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="file not found"):
        read_table(tmp_path / "nope.csv", MAPPING)
    odd = tmp_path / "inter.json"
    odd.write_text("{}")
    with pytest.raises(DatasetError, match="unsupported file type"):
        read_table(odd, MAPPING)
    with pytest.raises(InvalidParameter, match="item_id"):
        read_table(odd, {"user_id": "who"})
