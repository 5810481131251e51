"""Named Cypher statements read from ``.cypher`` files, one statement per file.

Every file starts with a comment header::

    // name: also_liked
    // summary: Items most often liked by the users who liked $item_id.
    // mode: read
    // params:
    //   $item_id  STRING   the item
    //   $k        INTEGER  rows to return
    // returns: item_id STRING, title STRING, users INTEGER (users DESC)

The header's params must equal the ``$tokens`` of the body (a test checks every file).
The ``mode`` says how the statement runs (:class:`~kgrec.kg.store.Mode`): the store refuses
a ``read`` statement that writes.

The store's own statements (``kg/cypher/``) form two catalogues by mode, :data:`READS` and
:data:`WRITES`; :func:`statement` finds a name in either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import LiteralString, cast

from kgrec.core.errors import QueryNotFound
from kgrec.kg.store import Mode

PARAM_TYPES = ("STRING", "INTEGER", "FLOAT", "BOOLEAN", "LIST", "MAP", "VECTOR")
_HEADER_KEY = re.compile(r"^//\s*(\w+):\s*(.*)$")
_PARAM_LINE = re.compile(r"^//\s+\$(\w+)\s+([A-Z]+)\s*(.*)$")
_TOKEN = re.compile(r"\$(\w+)")
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_WRITE_CLAUSE = re.compile(r"\b(CREATE|MERGE|SET|DELETE|REMOVE|DROP|LOAD\s+CSV)\b", re.I)


@dataclass(frozen=True)
class Param:
    """One declared parameter."""

    name: str
    type: str
    doc: str = ""


@dataclass(frozen=True)
class CypherQuery:
    """A parsed ``.cypher`` file.

    Attributes:
        name: the file's stem and its name in the catalogue.
        text: the whole file (header comments are valid Cypher comments).
        body: the statement without the header.
    """

    name: str
    summary: str
    mode: Mode
    params: tuple[Param, ...]
    returns: str
    text: str
    body: str = field(repr=False, default="")

    @property
    def cypher(self) -> LiteralString:
        """The text as the drivers type a query: it comes from a shipped file, not input."""
        return cast(LiteralString, self.text)

    @property
    def param_names(self) -> set[str]:
        return {p.name for p in self.params}

    def body_tokens(self) -> set[str]:
        """``$name`` tokens used in the body, outside string literals and comments."""
        code = "\n".join(line.split("//", 1)[0] for line in self.body.splitlines())
        return set(_TOKEN.findall(_STRING_LITERAL.sub("''", code)))

    def writes(self) -> bool:
        """True when the body contains a write clause."""
        code = _STRING_LITERAL.sub("''", self.body)
        return bool(_WRITE_CLAUSE.search(code))


def parse(name: str, text: str) -> CypherQuery:
    """Parse a ``.cypher`` file's header and body.

    Raises:
        ValueError: the header lacks ``name``/``summary``/``mode`` or names another file.
    """
    meta: dict[str, str] = {}
    params: list[Param] = []
    body_lines: list[str] = []
    in_header, in_params = True, False
    for line in text.splitlines():
        stripped = line.strip()
        if in_header and stripped.startswith("//"):
            m = _PARAM_LINE.match(stripped)
            if in_params and m:
                params.append(Param(m.group(1), m.group(2), m.group(3).strip()))
                continue
            k = _HEADER_KEY.match(stripped)
            if k:
                in_params = k.group(1) == "params"
                meta[k.group(1)] = k.group(2).strip()
            continue
        if in_header and not stripped:
            continue
        in_header = False
        body_lines.append(line)
    for key in ("name", "summary", "mode"):
        if key not in meta:
            raise ValueError(f"{name}.cypher: header has no '// {key}:' line")
    if meta["name"] != name:
        raise ValueError(f"{name}.cypher: header names it {meta['name']!r}")
    if meta["mode"] not in ("read", "write"):
        raise ValueError(f"{name}.cypher: mode must be read or write, not {meta['mode']!r}")
    for p in params:
        if p.type not in PARAM_TYPES:
            raise ValueError(f"{name}.cypher: ${p.name} has unknown type {p.type!r}")
    return CypherQuery(
        name=name,
        summary=meta["summary"],
        mode=Mode(meta["mode"]),
        params=tuple(params),
        returns=meta.get("returns", ""),
        text=text,
        body="\n".join(body_lines).strip(),
    )


class Catalogue:
    """The ``.cypher`` files of one package folder, loaded with ``importlib.resources``.

    Args:
        package: the package holding the files (``kgrec.queries``).
        folder: a sub-folder of the package, or ``""``.
        mode: only the statements of this mode; None for all of them.
    """

    def __init__(self, package: str, folder: str = "", mode: Mode | None = None) -> None:
        self.package = package
        self.folder = folder
        self.mode = mode

    def __repr__(self) -> str:
        mode = f", mode={self.mode.value!r}" if self.mode else ""
        return f"Catalogue({self.package!r}, {self.folder!r}{mode})"

    def names(self) -> list[str]:
        """Every statement name, sorted."""
        files = _files(self.package, self.folder)
        return [n for n, q in files.items() if self.mode is None or q.mode is self.mode]

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def get(self, name: str) -> CypherQuery:
        """The statement called ``name``.

        Raises:
            QueryNotFound: no such statement; the message lists the available names.
        """
        if name not in self.names():
            files = _files(self.package, self.folder)
            if self.mode is not None and name in files:
                raise QueryNotFound(
                    f"{name!r} is a {files[name].mode.value} statement, not a "
                    f"{self.mode.value} one: get it with statement(name)"
                )
            raise QueryNotFound(f"unknown query {name!r}; available: {', '.join(self.names())}")
        return _files(self.package, self.folder)[name]

    def all(self) -> list[CypherQuery]:
        """Every statement, by name."""
        return [self.get(n) for n in self.names()]


def _root(package: str, folder: str) -> Traversable:
    root = resources.files(package)
    return root.joinpath(folder) if folder else root


@cache
def _files(package: str, folder: str) -> dict[str, CypherQuery]:
    """Every ``.cypher`` file of the folder, parsed, by name (sorted)."""
    paths = sorted(
        (p for p in _root(package, folder).iterdir() if p.name.endswith(".cypher")),
        key=lambda p: p.name,
    )
    out: dict[str, CypherQuery] = {}
    for path in paths:
        name = path.name[: -len(".cypher")]
        out[name] = parse(name, path.read_text(encoding="utf-8"))
    return out


READS = Catalogue("kgrec.kg", "cypher", Mode.READ)
#: The store's write statements (batched merges, embeddings, recommendations, state).
WRITES = Catalogue("kgrec.kg", "cypher", Mode.WRITE)


def statement(name: str) -> CypherQuery:
    """The store statement ``name``, read or write (its ``mode`` says which).

    Raises:
        QueryNotFound: neither catalogue has it; the message lists both.
    """
    for catalogue in (READS, WRITES):
        if name in catalogue.names():
            return catalogue.get(name)
    available = ", ".join(sorted(READS.names() + WRITES.names()))
    raise QueryNotFound(f"unknown statement {name!r}; available: {available}")
