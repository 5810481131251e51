"""LightGCN/KGAT text layout: splits, optional kg_final.txt, line-numbered errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kgrec.core.errors import DatasetError
from kgrec.loaders.lightgcn import read_lightgcn

TRAIN = "0 10 11 12\n1 11\n2\n3 12 13\n"
TEST = "0 13\n1 10 12\n"
KG = "10 0 100\n11 1 100\n12 0 101\n500 2 100\n"  # last head is an entity, not an item


def write(root: Path, **files: str | bytes) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    contents: dict[str, str | bytes] = {"train.txt": TRAIN, "test.txt": TEST}
    contents.update({".".join(name.rsplit("_", 1)): text for name, text in files.items()})
    for name, text in contents.items():
        if text is not None:
            (root / name).write_bytes(text.encode() if isinstance(text, str) else text)
    return root


def test_without_kg(tmp_path: Path, canonical) -> None:
    ds = read_lightgcn(write(tmp_path))
    canonical(ds)
    inter = ds.interactions
    assert len(inter) == 9
    assert inter["split"].value_counts().to_dict() == {"train": 6, "test": 3}
    train = inter[inter["split"] == "train"]
    assert list(zip(train["user_id"], train["item_id"], strict=True))[:3] == [
        ("0", "10"),
        ("0", "11"),
        ("0", "12"),
    ]
    assert (inter["kind"] == "implicit").all() and inter["rating"].isna().all()
    assert (inter["weight"] == 1.0).all() and (inter["ts"] == -1).all()
    assert inter["ts"].dtype == np.int64
    assert list(ds.users["id"]) == ["0", "1", "2", "3"]  # user 2 has no items
    assert list(ds.items["id"]) == ["10", "11", "12", "13"]
    assert ds.items["title"].isna().all() and ds.items["description"].isna().all()
    assert set(ds.items["title"]) == {None}  # not given: no placeholder such as 'item 10'
    assert ds.triples.empty and ds.entities.empty and ds.rejects.empty


def test_with_kg(tmp_path: Path, canonical) -> None:
    ds = read_lightgcn(write(tmp_path, kg_final_txt=KG))
    canonical(ds)
    assert list(ds.triples.itertuples(index=False, name=None)) == [
        ("10", "r0", "e100"),
        ("11", "r1", "e100"),
        ("12", "r0", "e101"),
    ]
    assert list(ds.entities["id"]) == ["e100", "e101"]
    assert (ds.entities["name"] == ds.entities["id"]).all()
    assert (ds.entities["type"] == "entity").all()


def test_train_only(tmp_path: Path) -> None:
    root = write(tmp_path)
    (root / "test.txt").unlink()
    ds = read_lightgcn(root)
    assert set(ds.interactions["split"]) == {"train"} and len(ds.interactions) == 6


@pytest.mark.parametrize(
    ("files", "name", "line", "field", "words"),
    [
        ({"train_txt": TRAIN.replace("1 11", "1 eleven")}, "train.txt", 2, "item", "token 2"),
        ({"test_txt": TEST + "x 3\n"}, "test.txt", 3, "user", "not a non-negative integer"),
        ({"train_txt": TRAIN.replace("3 12", "3 -12")}, "train.txt", 4, "item", "-12"),
        (
            {"train_txt": TRAIN.encode().replace(b"\n2\n", b"\n2 \xff\n")},
            "train.txt",
            3,
            None,
            "UTF-8",
        ),
        (
            {"kg_final_txt": KG.replace("11 1 100", "11 1")},
            "kg_final.txt",
            2,
            None,
            "expected 3 fields",
        ),
        (
            {"kg_final_txt": KG.replace("12 0 101", "12 zero 101")},
            "kg_final.txt",
            3,
            "relation",
            "not a non-negative integer",
        ),
    ],
    ids=["item", "user", "negative", "encoding", "kg fields", "kg relation"],
)
def test_bad_lines(
    tmp_path: Path, files: dict, name: str, line: int, field: str | None, words: str
) -> None:
    root = write(tmp_path, **files)
    with pytest.raises(DatasetError) as info:
        read_lightgcn(root)
    err = info.value
    assert (Path(err.path), err.line, err.field) == (root / name, line, field)
    assert words in str(err) and "\n" not in str(err)


def test_missing_train(tmp_path: Path) -> None:
    root = write(tmp_path)
    (root / "train.txt").unlink()
    with pytest.raises(DatasetError, match="file not found") as info:
        read_lightgcn(root, skip_bad=True)
    assert info.value.path == str(root / "train.txt")


def test_skip_bad(tmp_path: Path) -> None:
    train = TRAIN + "\n4 1x 14\n5 15\n"  # blank line 5, bad line 6, good line 7
    kg = KG + "13 0\n13 3 102\n"
    ds = read_lightgcn(write(tmp_path, train_txt=train, kg_final_txt=kg), skip_bad=True)
    rejects = [
        (Path(f).name, line, None if pd.isna(field) else field)
        for f, line, field in ds.rejects[["file", "line", "field"]].itertuples(index=False)
    ]
    assert rejects == [("kg_final.txt", 5, None), ("train.txt", 6, "item")]
    assert ds.rejects["raw"].tolist() == ["13 0", "4 1x 14"]
    assert "4" not in set(ds.users["id"]) and "5" in set(ds.users["id"])
    assert len(ds.interactions) == 10
    assert ("13", "r3", "e102") in set(ds.triples.itertuples(index=False, name=None))


def test_crlf_tabs_and_blank_lines_read_the_same(tmp_path: Path) -> None:
    plain = read_lightgcn(write(tmp_path / "plain", kg_final_txt=KG))
    messy = read_lightgcn(
        write(
            tmp_path / "messy",
            train_txt="\r\n" + TRAIN.replace(" ", "\t").replace("\n", " \r\n"),
            test_txt=TEST.rstrip("\n"),
            kg_final_txt=KG.replace("\n", "\r\n\r\n"),
        )
    )
    for name, frame in plain.frames().items():
        pd.testing.assert_frame_equal(frame, messy.frames()[name])


def test_kg_line_count_error_after_clean_lines(tmp_path: Path) -> None:
    kg = KG + "10 0 100 7\n"  # only ints, but four fields on line 5
    with pytest.raises(DatasetError, match="expected 3 fields") as info:
        read_lightgcn(write(tmp_path, kg_final_txt=kg))
    assert info.value.line == 5
