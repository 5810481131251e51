"""RecBole atomic-file reader on small folders written here: layout, bad input, skip_bad."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kgrec.core.errors import DatasetError, InvalidParameter
from kgrec.loaders import read_recbole

INTER = (
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    "196\t1\t3\t881250949\n"
    "186\t2\t4\t891717742.75\n"
    "196\t3\t1\t881250950\n"
)
ITEM = (
    "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    "1\tToy Story\t1995\tAnimation Children's Comedy\n"
    '2\t"Til There Was You\t1997\tDrama Romance\n'
    "3\tunknown title\tunknown\tunknown\n"
)


def write(root: Path, name: str = "tiny", **files: str) -> Path:
    """Write the small dataset as ``name.inter`` / ``name.item``; ``files`` replace them
    (``inter=...``, ``item=...``; an empty string leaves the file out)."""
    root.mkdir(parents=True, exist_ok=True)
    contents = {"inter": INTER, "item": ITEM, **files}
    for suffix, text in contents.items():
        if text:
            (root / f"{name}.{suffix}").write_text(text, encoding="utf-8")
    return root


def test_small_layout(tmp_path: Path, canonical) -> None:
    ds = read_recbole(write(tmp_path, "ml-100k"))
    canonical(ds)
    assert ds.name == "ml-100k"
    assert list(ds.items["title"]) == [
        "Toy Story (1995)",
        '"Til There Was You (1997)',
        "unknown title",
    ]
    assert list(ds.users["id"]) == ["196", "186"]
    genres = {(r.item_id, r.tag) for r in ds.item_tags.itertuples()}
    assert genres == {
        ("1", "animation"),
        ("1", "children's"),
        ("1", "comedy"),
        ("2", "drama"),
        ("2", "romance"),
    }
    assert (ds.item_tags["source"] == "genre").all()
    assert set(ds.tags["name"]) == {t for _, t in genres}
    inter = ds.interactions
    assert list(inter["item_id"]) == ["1", "2", "3"]
    assert list(inter["rating"]) == [3.0, 4.0, 1.0]
    assert (inter["weight"] == inter["rating"]).all() and (inter["kind"] == "rating").all()
    assert list(inter["ts"]) == [881250949, 891717742, 881250950]  # fraction cut off
    assert ds.rejects.empty and ds.duplicates_merged == 0


def test_implicit_without_item_file_or_timestamps(tmp_path: Path, canonical) -> None:
    inter = "user_id:token\titem_id:token\nu1\ta\nu2\tb\nu1\ta\n"
    ds = read_recbole(write(tmp_path, inter=inter, item=""))
    canonical(ds)
    assert list(ds.items["id"]) == ["a", "b"]
    assert ds.items["title"].isna().all()
    assert (ds.interactions["kind"] == "implicit").all()
    assert np.isnan(ds.interactions["rating"]).all() and (ds.interactions["weight"] == 1.0).all()
    assert (ds.interactions["ts"] == -1).all()
    assert ds.duplicates_merged == 1 and ds.item_tags.empty


def test_id_prefix_and_rating_range(tmp_path: Path) -> None:
    ds = read_recbole(write(tmp_path), id_prefix="ml:", rating_range=(1, 5))
    assert list(ds.users["id"]) == ["ml:196", "ml:186"]
    assert set(ds.item_tags["item_id"]) == {"ml:1", "ml:2"}
    with pytest.raises(DatasetError) as info:
        read_recbole(tmp_path, rating_range=(2, 5))
    assert (info.value.line, info.value.field) == (4, "rating")
    assert "out of range" in info.value.reason
    with pytest.raises(InvalidParameter):
        read_recbole(tmp_path, rating_range=(5, 1))


BAD_CASES = [
    # (id, files, file at fault, line, field, words in the message)
    (
        "header lacks a field",
        {"inter": "user:token\titem_id:token\nu\t1\n"},
        "inter",
        1,
        "user_id",
        "lacks column",
    ),
    (
        "rating not a number",
        {"inter": INTER.replace("\t4\t", "\tfour\t")},
        "inter",
        3,
        "rating",
        "not a number",
    ),
    (
        "timestamp not a number",
        {"inter": INTER.replace("881250950", "yesterday")},
        "inter",
        4,
        "timestamp",
        "not a number",
    ),
    (
        "timestamp too large",
        {"inter": INTER.replace("881250950", "1e30")},
        "inter",
        4,
        "timestamp",
        "not a unix time",
    ),
    (
        "too few fields",
        {"inter": INTER.replace("\t1\t881250950", "")},
        "inter",
        4,
        None,
        "expected 4 fields",
    ),
    (
        "unknown item",
        {"inter": INTER.replace("196\t3", "196\t9")},
        "inter",
        4,
        "item_id",
        "unknown item",
    ),
    ("empty user id", {"inter": INTER.replace("186\t", " \t")}, "inter", 3, "user_id", "is empty"),
    (
        "item listed twice",
        {"item": ITEM + "2\tAgain\t1990\tDrama\n"},
        "item",
        5,
        "item_id",
        "listed twice",
    ),
    (
        "no rating field for a range",
        {"inter": "user_id:token\titem_id:token\nu\t1\n"},
        "inter",
        1,
        "rating",
        "needs a rating field",
    ),
]


@pytest.mark.parametrize(
    ("files", "suffix", "line", "field", "words"),
    [c[1:] for c in BAD_CASES],
    ids=[c[0] for c in BAD_CASES],
)
def test_bad_input_names_file_line_field(
    tmp_path: Path, files: dict[str, str], suffix: str, line: int, field: str | None, words: str
) -> None:
    root = write(tmp_path, **files)
    ranged = {"rating_range": (1.0, 5.0)} if words == "needs a rating field" else {}
    with pytest.raises(DatasetError) as info:
        read_recbole(root, **ranged)
    err = info.value
    assert Path(str(err.path)) == root / f"tiny.{suffix}"
    assert (err.line, err.field) == (line, field)
    assert words in err.reason


def test_folder_needs_one_inter_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="folder not found"):
        read_recbole(tmp_path / "absent")
    with pytest.raises(DatasetError, match="found none"):
        read_recbole(write(tmp_path / "a", inter=""))
    root = write(tmp_path / "b")
    write(root, "other")
    with pytest.raises(DatasetError, match="other.inter, tiny.inter"):
        read_recbole(root)


def test_skip_bad_collects_rejects_and_keeps_good_rows(tmp_path: Path) -> None:
    inter = INTER.replace("\t4\t", "\tfour\t").replace("196\t3", "196\t9")
    ds = read_recbole(write(tmp_path, inter=inter), skip_bad=True)
    assert list(ds.interactions["item_id"]) == ["1"]
    assert list(ds.rejects["line"]) == [3, 4]
    assert list(ds.rejects["field"]) == ["rating", "item_id"]
    assert ds.rejects["raw"].iloc[0] == "186\t2\tfour\t891717742.75"
    assert list(ds.users["id"]) == ["196"]
