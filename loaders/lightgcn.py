"""Reader for the LightGCN / KGAT text layout (Gowalla, Yelp2018, Amazon-book, Last-FM).

Files read from the dataset folder:

- ``train.txt`` (required) and ``test.txt`` (optional): one user per line,
  ``user item item ...`` as whitespace-separated non-negative integers; a user with no items
  is allowed. Interactions are implicit: kind ``'implicit'``, rating NaN, weight 1.0,
  ts -1, split ``'train'`` or ``'test'``.
- ``kg_final.txt`` (optional): ``head relation tail`` per line. Heads that are items become
  triples ``(item, 'r<relation>', 'e<tail>')``; every such tail becomes an entity
  ``'e<tail>'`` of type ``'entity'``. KGAT files also hold entity-to-entity facts (heads that
  are not items seen in train/test); the canonical frames cannot hold those, so they are
  dropped and counted in the log.

``item_list.txt``, ``entity_list.txt``, ``relation_list.txt`` and ``user_list.txt`` are not
needed and not read. Items are named only by id: their title and description are None (not
given), so a writer keeps what the store already holds. An item listed twice for one user
(or in both train and test) is one interaction: the last one read wins (test after train).
The layout has no ratings, so ``rating_range`` must be None.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from kgrec.core.dataset import Dataset
from kgrec.core.errors import DatasetError, InvalidParameter
from kgrec.core.values import encoding_reason, has_bad_bytes, shown
from kgrec.loaders._csv import Issues, conform, read_text
from kgrec.loaders.validate import check_prefix

log = logging.getLogger(__name__)

_PLAIN = np.zeros(256, dtype=bool)
_PLAIN[list(b"0123456789 \t\r\n")] = True


def _fast_parse(text: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Every token as int64 and the token count of every line (0-based), vectorised.

    Returns None unless the text is only ASCII digits and whitespace with tokens of at most
    18 digits; the caller then parses line by line to report the bad line.
    """
    if not text.isascii():
        return None
    buf = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    if not _PLAIN[buf].all():
        return None
    digit = (buf >= 48) & (buf <= 57)
    starts = np.flatnonzero(digit & ~np.concatenate([[False], digit[:-1]]))
    ends = np.flatnonzero(digit & ~np.concatenate([digit[1:], [False]])) + 1
    if len(starts) and (ends - starts).max() > 18:
        return None
    newlines = np.flatnonzero(buf == 10)
    line_of = np.searchsorted(newlines, starts)
    per_line = np.bincount(line_of, minlength=len(newlines) + 1)
    return np.array(text.split(), dtype=np.int64), per_line


def _int_tokens(
    path: Path, lineno: int, line: str, names: list[str], issues: Issues
) -> list[int] | None:
    """Parse one line into non-negative ints, recording an issue and returning None if bad.

    ``names`` names the field of each token position; the last name repeats for the rest.
    """
    if has_bad_bytes(line):
        issues.add(path, lineno, None, encoding_reason(line), line)
        return None
    tokens = line.split()
    for pos, token in enumerate(tokens):
        if not (token.isascii() and token.isdigit() and len(token) <= 18):
            field = names[min(pos, len(names) - 1)]
            reason = (
                f"{field} {shown(token)} (token {pos + 1}) is not a non-negative integer "
                "of at most 18 digits"
            )
            issues.add(path, lineno, field, reason, line)
            return None
    return [int(t) for t in tokens]


def _parse(
    path: Path, names: list[str], width: int | None, issues: Issues
) -> tuple[np.ndarray, np.ndarray]:
    """The tokens of the good non-blank lines of ``path``, flat, and each line's token count.

    Args:
        path: the file.
        names: field names by token position (the last repeats).
        width: the exact number of tokens a line must have, or None for any.
        issues: where bad lines go.
    """
    text, _ = read_text(path)
    fast = _fast_parse(text)
    if fast is not None:
        values, per_line = fast
        per_line = per_line[per_line > 0]
        if width is None or (per_line == width).all():
            return values, per_line
    flat: list[int] = []
    counts: list[int] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        tokens = _int_tokens(path, lineno, line, names, issues)
        if tokens is None:
            continue
        if width is not None and len(tokens) != width:
            reason = f"expected {width} fields ({' '.join(names)}), found {len(tokens)}"
            issues.add(path, lineno, None, reason, line)
            continue
        flat.extend(tokens)
        counts.append(len(tokens))
    return np.asarray(flat, dtype=np.int64), np.asarray(counts, dtype=np.int64)


def _read_interactions(path: Path, issues: Issues) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Users of every good line, their item counts, and all their items in order."""
    values, per_line = _parse(path, ["user", "item"], None, issues)
    first = np.cumsum(per_line) - per_line
    is_user = np.zeros(len(values), dtype=bool)
    is_user[first] = True
    return values[first], per_line - 1, values[~is_user]


def _strings(values: np.ndarray, prefix: str = "") -> pd.Series:
    """Integers as str objects (``prefix`` + digits), converting each distinct value once."""
    codes, uniques = pd.factorize(values)
    return pd.Series(np.array([f"{prefix}{v}" for v in uniques], dtype=object)[codes], dtype=object)


def _series(value: str, n: int) -> pd.Series:
    """``n`` copies of ``value`` as an object Series."""
    return pd.Series(np.full(n, value, dtype=object), dtype=object)


def read_lightgcn(
    path: str | Path,
    *,
    skip_bad: bool = False,
    rating_range: tuple[float, float] | None = None,
    id_prefix: str = "",
) -> Dataset:
    """Read a LightGCN/KGAT dataset folder into canonical frames.

    Args:
        path: the folder holding ``train.txt`` and optionally ``test.txt``, ``kg_final.txt``.
        skip_bad: collect bad lines in ``Dataset.rejects`` and drop them instead of raising.
            Missing ``train.txt`` raises either way.
        rating_range: accepted for uniformity with the other readers; the layout has no
            ratings, so anything but None is refused.
        id_prefix: put before every user, item and entity id (``'lg:'`` gives ``'lg:10'``
            and ``'lg:e100'``), to keep datasets apart in one store; relation names are not
            prefixed.

    Returns:
        The dataset named ``'lightgcn'``; ids are the integers as strings (with
        ``id_prefix``), item titles and descriptions are None.

    Raises:
        InvalidParameter: ``rating_range`` is given, or ``id_prefix`` is impossible.
        DatasetError: a missing file or (unless ``skip_bad``) a bad line: a token that is not a
            non-negative integer of at most 18 digits, bytes that are not UTF-8, a NUL
            character, or a kg line without exactly three fields. The error names the file,
            its 1-based line and the field.
    """
    if rating_range is not None:
        raise InvalidParameter(
            f"rating_range {rating_range!r} does not apply: the LightGCN layout has no ratings; "
            "leave it out (no --rating-range)"
        )
    prefix = check_prefix(id_prefix)
    root = Path(path)
    if not root.is_dir():
        raise DatasetError("dataset folder not found", root)
    issues = Issues()
    frames = []
    user_lists = []
    for split in ("train", "test"):
        file = root / f"{split}.txt"
        if split == "test" and not file.exists():
            log.info("%s: no test.txt, reading train.txt only", root)
            continue
        mark = len(issues.rows)
        users, counts, items = _read_interactions(file, issues)
        issues.settle(mark, skip_bad)
        user_lists.append(users)
        frames.append((np.repeat(users, counts), items, split))
    ds = Dataset(name="lightgcn")
    item_ints = np.unique(np.concatenate([f[1] for f in frames]))
    ds.interactions = pd.DataFrame(
        {
            "user_id": _strings(np.concatenate([f[0] for f in frames])),
            "item_id": _strings(np.concatenate([f[1] for f in frames])),
            "kind": _series("implicit", sum(len(f[1]) for f in frames)),
            "rating": np.nan,
            "weight": 1.0,
            "ts": np.int64(-1),
            "split": pd.concat([_series(f[2], len(f[1])) for f in frames], ignore_index=True),
        }
    )
    ds.users = pd.DataFrame({"id": _strings(np.unique(np.concatenate(user_lists)))})
    item_ids = _strings(item_ints)
    ds.items = pd.DataFrame({"id": item_ids, "title": None, "description": None})

    kg_file = root / "kg_final.txt"
    if kg_file.exists():
        mark = len(issues.rows)
        values, _ = _parse(kg_file, ["head", "relation", "tail"], 3, issues)
        issues.settle(mark, skip_bad)
        triples = values.reshape(-1, 3)
        is_item = np.isin(triples[:, 0], item_ints)
        if (~is_item).any():
            log.info(
                "%s: dropped %d triples whose head is not an item seen in train/test",
                kg_file,
                int((~is_item).sum()),
            )
        triples = triples[is_item]
        entity_ids = _strings(np.unique(triples[:, 2]), "e")
        ds.entities = pd.DataFrame(
            {"id": entity_ids, "name": entity_ids, "type": _series("entity", len(entity_ids))}
        )
        ds.triples = pd.DataFrame(
            {
                "item_id": _strings(triples[:, 0]),
                "relation": _strings(triples[:, 1], "r"),
                "entity_id": _strings(triples[:, 2], "e"),
            }
        )
    ds.rejects = issues.frame()
    conform(ds, prefix)
    log.info("read %s: %s", root, ds.summary())
    return ds
