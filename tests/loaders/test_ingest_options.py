"""`kgrec ingest` options of the readers: --rating-range, --id-prefix, the rejects folder,
impossible synthetic sizes (one line, no traceback, exit 2) and the duplicate-merge summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

MOVIES = "movieId,title,genres\n1,One (1990),Drama\n2,Two (1991),Comedy\n"
RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,100\n1,2,3.0,101\n1,1,2.0,50\n2,2,8,7\n"


@pytest.fixture
def ml(tmp_path: Path) -> Path:
    root = tmp_path / "ml"
    root.mkdir()
    (root / "movies.csv").write_text(MOVIES)
    (root / "ratings.csv").write_text(RATINGS)
    return root


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--users", "10", "--items", "2"], "num_items must be at least 3"),
        (["--users", "0"], "num_users must be at least 1"),
        (["--users", "10", "--items", "5", "--interactions", "51"], "num_interactions must be"),
        (["--tags", "1"], "num_tags must be"),
        (["--seed", "-1", "--users", "2", "--items", "3", "--interactions", "6"], "seed"),
        (["--id-prefix", "x\x01 "], "id_prefix"),
    ],
    ids=["items", "users", "interactions", "tags", "seed", "prefix"],
)
def test_impossible_synthetic_sizes_are_usage_errors(
    tmp_path: Path, args, words, kgrec, error_line
) -> None:
    store = tmp_path / "store"
    line = error_line(kgrec("--store", str(store), "ingest", "synthetic", *args), 2)
    assert words in line
    assert not store.exists()


def test_rejects_in_a_missing_folder_fails_before_reading(
    tmp_path: Path, ml: Path, kgrec, error_line
) -> None:
    store = tmp_path / "store"
    target = tmp_path / "nope" / "rejects.csv"
    result = kgrec(
        "--store",
        str(store),
        "ingest",
        "movielens",
        str(ml),
        "--skip-bad",
        "--rejects",
        str(target),
    )
    line = error_line(result, 2)
    assert str(target) in line and f"mkdir -p {target.parent}" in line
    assert not store.exists() and not target.parent.exists()
    folder = tmp_path / "folder"
    folder.mkdir()
    result = kgrec(
        "--store",
        str(store),
        "ingest",
        "movielens",
        str(ml),
        "--skip-bad",
        "--rejects",
        str(folder),
    )
    assert "names a folder" in error_line(result, 2)


@pytest.mark.parametrize("value", ["1", "a,b", "5,1", "0,inf", "1,2,3"])
def test_bad_rating_range_is_a_usage_error(
    tmp_path: Path, ml: Path, value: str, kgrec, error_line
) -> None:
    result = kgrec(
        "--store", str(tmp_path / "s"), "ingest", "movielens", str(ml), f"--rating-range={value}"
    )
    assert "rating" in error_line(result, 2)


def test_rating_out_of_movielens_scale_names_the_option(
    tmp_path: Path, ml: Path, kgrec, error_line
) -> None:
    line = error_line(kgrec("--store", str(tmp_path / "s"), "ingest", "movielens", str(ml)))
    assert "ratings.csv, line 5, field 'rating'" in line and "--rating-range" in line


def test_lightgcn_refuses_a_rating_range(tmp_path: Path, kgrec, error_line) -> None:
    root = tmp_path / "lg"
    root.mkdir()
    (root / "train.txt").write_text("0 1 2\n")
    result = kgrec(
        "--store", str(tmp_path / "s"), "ingest", "lightgcn", str(root), "--rating-range", "1,5"
    )
    assert "no ratings" in error_line(result, 2)


def test_summary_reports_merged_duplicates_and_prefixed_ids(
    tmp_path: Path, ml: Path, cache_dir, kgrec
) -> None:
    store = tmp_path / "store"
    result = kgrec(
        "--json",
        "--quiet",
        "--store",
        str(store),
        "ingest",
        "movielens",
        str(ml),
        "--rating-range",
        "0.5,10",
        "--id-prefix",
        "ml:",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["duplicates_merged"] == 1
    assert summary["steps"]["merge_interactions"]["rows"] == 3
    result = kgrec(
        "--store",
        str(store),
        "ingest",
        "movielens",
        str(ml),
        "--rating-range",
        "any",
        "--id-prefix",
        "ml:",
    )
    assert result.returncode == 0, result.stderr
    assert "duplicate rows merged: 1" in result.stdout
    result = kgrec("--json", "--store", str(store), "similar", "ml:1", "--k", "1")
    assert result.returncode == 0, result.stderr
    assert [row["item_id"] for row in json.loads(result.stdout)] == ["ml:2"]


def test_recbole_folder_is_ingested_and_a_bad_line_named(
    tmp_path: Path, cache_dir, kgrec, error_line
) -> None:
    root = tmp_path / "ml-100k"
    root.mkdir()
    (root / "ml-100k.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "1\tOne\t1990\tDrama\n2\tTwo\t1991\tComedy Drama\n"
    )
    inter = (
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t1\t4\t100\n2\t2\t3\t7\n"
    )
    (root / "ml-100k.inter").write_text(inter)
    store = tmp_path / "store"
    result = kgrec("--json", "--quiet", "--store", str(store), "ingest", "recbole", str(root))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["dataset"] == "ml-100k"
    assert summary["steps"]["merge_interactions"]["rows"] == 2
    result = kgrec("--store", str(store), "ingest", "recbole", str(root), "--rating-range", "1,3")
    assert "ml-100k.inter, line 2, field 'rating'" in error_line(result)
