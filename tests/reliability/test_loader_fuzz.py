"""Malformed input never escapes as anything but a clear ``DatasetError``.

For every file-based reader (MovieLens folder, CSV table with and without an items file,
LightGCN folder) hypothesis applies random damage to valid files: random bytes, NUL, huge
ids, bad numbers, a missing column, truncation, duplicated rows, unicode, empty files, CRLF,
stray carriage returns and quotes. Each variant is either accepted (a Dataset that passes
``check()``) or refused with a ``DatasetError`` whose ``path`` and ``line`` are set, and whose
``field`` is set when one field of one row is at fault. Deterministic (derandomized).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgrec.core.errors import DatasetError
from kgrec.loaders import Dataset, read_lightgcn, read_movielens, read_table

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MOVIELENS = {
    "movies.csv": b"movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n"
    b'2,"Heat, The (1995)",Crime|Drama\n3,Nothing (2000),(no genres listed)\n',
    "ratings.csv": b"userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n"
    b"2,1,5.0,964982224\n2,3,0.5,964983815\n",
    "tags.csv": b"userId,movieId,tag,timestamp\n1,1,pixar,1139045764\n2,2,heist,1139045765\n",
}
TABLE = {
    "inter.csv": b"user,item,stars,when\nu1,a,4.5,100\nu2,b,3,200\nu1,b,5,300\n",
    "items.csv": b"id,title,description,tags\na,Alpha,First.,x|y\nb,Beta,,y\n",
}
LIGHTGCN = {
    "train.txt": b"0 10 11 12\n1 11\n2\n3 12 13\n",
    "test.txt": b"0 13\n1 10 12\n",
    "kg_final.txt": b"10 0 100\n11 1 100\n12 0 101\n500 2 100\n",
}
MAPPING = {"user_id": "user", "item_id": "item", "rating": "stars", "ts": "when"}

BAD_NUMBERS = [
    b"nan",
    b"inf",
    b"-inf",
    b"1e999",
    b"1e308",
    b"0x10",
    b"1_000",
    "\u0661".encode(),
    b"",
    b" ",
    b"--1",
    b"+",
    b"1.5.2",
    b"99999999999999999999",
    b"-1",
    b"4,5",
]
UNICODE = st.text(
    st.characters(blacklist_categories=["Cs"], min_codepoint=1), min_size=1, max_size=12
).map(lambda s: s.encode("utf-8"))


def _huge(n: int) -> bytes:
    return b"9" * n if n % 2 else b"x" * n


damage = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.just(b"\x00")),
    st.tuples(st.just("insert"), st.integers(0, 10_000), UNICODE),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.sampled_from([b"\r", b'"', b","])),
    st.tuples(st.just("field"), st.integers(0, 10_000), st.integers(900, 5_000).map(_huge)),
    st.tuples(st.just("field"), st.integers(0, 10_000), st.sampled_from(BAD_NUMBERS)),
    st.tuples(st.just("field"), st.integers(0, 10_000), UNICODE),
    st.tuples(st.just("drop_column"), st.integers(0, 10), st.just(b"")),
    st.tuples(st.just("truncate"), st.integers(0, 10_000), st.just(b"")),
    st.tuples(st.just("duplicate"), st.integers(0, 10_000), st.just(b"")),
    st.tuples(st.just("empty"), st.just(0), st.just(b"")),
    st.tuples(st.just("crlf"), st.just(0), st.just(b"")),
)


def apply(data: bytes, kind: str, at: int, payload: bytes) -> bytes:
    """One piece of damage to a file's bytes."""
    lines = data.split(b"\n")
    sep = b"," if b"," in lines[0] else b" "
    if kind == "insert":
        at %= len(data) + 1
        return data[:at] + payload + data[at:]
    if kind == "field":
        row = at % len(lines)
        fields = lines[row].split(sep)
        fields[(at // 7) % len(fields)] = payload
        lines[row] = sep.join(fields)
        return b"\n".join(lines)
    if kind == "drop_column":
        fields = lines[0].split(sep)
        del fields[at % len(fields)]
        return b"\n".join([sep.join(fields), *lines[1:]])
    if kind == "truncate":
        return data[: at % (len(data) + 1)]
    if kind == "duplicate":
        row = at % len(lines)
        return b"\n".join([*lines[: row + 1], lines[row], *lines[row + 1 :]])
    if kind == "empty":
        return b""
    return data.replace(b"\n", b"\r\n")


def damaged(files: dict[str, bytes]):
    """(file name, list of damage) for one file of ``files``."""
    return st.tuples(st.sampled_from(sorted(files)), st.lists(damage, min_size=1, max_size=3))


def accepted_or_clear(read: Callable[..., Dataset], root: Path) -> None:
    """The reader accepts (a dataset passing check) or refuses with path and line."""
    for skip_bad in (False, True):
        try:
            ds = read(root, skip_bad)
        except DatasetError as err:
            assert err.path is not None, str(err)
            assert err.line is not None, str(err)
            assert "\n" not in str(err) and "\r" not in str(err), str(err)
            continue
        ds.check()
        assert ds.users["id"].is_unique and ds.items["id"].is_unique
        assert not ds.interactions.duplicated(["user_id", "item_id"]).any()
        if skip_bad:
            assert ds.rejects["line"].notna().all()


def run(files: dict[str, bytes], which: str, harm: list, read: Callable[..., Dataset]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, data in files.items():
            if name == which:
                for kind, at, payload in harm:
                    data = apply(data, kind, at, payload)
            (root / name).write_bytes(data)
        accepted_or_clear(read, root)


@FUZZ
@given(damaged(MOVIELENS))
def test_movielens_folder(case) -> None:
    run(MOVIELENS, *case, lambda root, skip: read_movielens(root, skip_bad=skip))


@FUZZ
@given(damaged({"inter.csv": TABLE["inter.csv"]}))
def test_table_without_items(case) -> None:
    files = {"inter.csv": TABLE["inter.csv"]}
    run(files, *case, lambda root, skip: read_table(root / "inter.csv", MAPPING, skip_bad=skip))


@FUZZ
@given(damaged(TABLE))
def test_table_with_items(case) -> None:
    def read(root: Path, skip: bool) -> Dataset:
        return read_table(root / "inter.csv", MAPPING, items=root / "items.csv", skip_bad=skip)

    run(TABLE, *case, read)


@FUZZ
@given(damaged(LIGHTGCN))
def test_lightgcn_folder(case) -> None:
    run(LIGHTGCN, *case, lambda root, skip: read_lightgcn(root, skip_bad=skip))


# One field of one row at fault: the error names exactly that line and field. ----------------

RATING_FAULTS = [b"nan", b"inf", b"-inf", b"1e999", b"abc", b"", b"7.5", b"0", b"\x00"]
ID_FAULTS = [
    b"x" * 1025,
    b"\x00",
    b"",
    b"1e3",
    b"99999999999999999999",
    b"\xff",
    "\u0661".encode(),  # an Arabic-Indic digit is not an ASCII integer
    "12\u00a0".encode(),
]


@FUZZ
@given(
    st.integers(1, 4),
    st.sampled_from(
        [
            ("rating", 2, RATING_FAULTS),
            ("userId", 0, ID_FAULTS),
            ("movieId", 1, ID_FAULTS),
            ("timestamp", 3, ID_FAULTS),
        ]
    ),
    st.data(),
)
def test_one_bad_ratings_field_is_named(row, column, data) -> None:
    name, index, faults = column
    value = data.draw(st.sampled_from(faults))
    lines = MOVIELENS["ratings.csv"].split(b"\n")
    fields = lines[row].split(b",")
    fields[index] = value
    lines[row] = b",".join(fields)
    files = {**MOVIELENS, "ratings.csv": b"\n".join(lines)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for file, content in files.items():
            (root / file).write_bytes(content)
        try:
            read_movielens(root)
        except DatasetError as err:
            assert (Path(err.path).name, err.line) == ("ratings.csv", row + 1)
            assert err.field in (name, None if value == b"\xff" else name), str(err)
        else:
            raise AssertionError(f"{name}={value!r} on line {row + 1} was accepted")
