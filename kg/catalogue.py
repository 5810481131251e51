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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from kgrec.core.errors import QueryNotFound

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
    mode: str
    params: tuple[Param, ...]
    returns: str
    text: str
    body: str = field(repr=False, default="")

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
        mode=meta["mode"],
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
    """

    def __init__(self, package: str, folder: str = "") -> None:
        self.package = package
        self.folder = folder

    def _root(self):
        root = resources.files(self.package)
        return root.joinpath(self.folder) if self.folder else root

    def names(self) -> list[str]:
        """Every query name, sorted."""
        return sorted(
            p.name[: -len(".cypher")] for p in self._root().iterdir() if p.name.endswith(".cypher")
        )

    def get(self, name: str) -> CypherQuery:
        """The query called ``name``.

        Raises:
            QueryNotFound: no such file; the message lists the available names.
        """
        return _load(self.package, self.folder, name, tuple(self.names()))

    def all(self) -> list[CypherQuery]:
        return [self.get(n) for n in self.names()]


@cache
def _load(package: str, folder: str, name: str, available: tuple[str, ...]) -> CypherQuery:
    if name not in available:
        raise QueryNotFound(f"unknown query {name!r}; available: {', '.join(available)}")
    root = resources.files(package)
    path = (root.joinpath(folder) if folder else root).joinpath(f"{name}.cypher")
    return parse(name, path.read_text(encoding="utf-8"))
