"""The tokens of a Cypher text: a small tokenizer (strings, backtick names and comments are
kept whole) and the vocabulary the checks and rewrites of :mod:`kgrec.queries.statement`
and :mod:`kgrec.queries.rewrites` read; nothing is parsed further than that."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Tokens after which ``-`` / ``+`` is a prefix (unary) operator.
BEFORE_PREFIX = {"(", "[", "{", ",", ":", "|"} | {
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "=",
    "<>",
    "<",
    ">",
    "<=",
    ">=",
    "=~",
}
WORDS_BEFORE_PREFIX = {
    "RETURN",
    "WITH",
    "WHERE",
    "AND",
    "OR",
    "XOR",
    "NOT",
    "IN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "UNWIND",
    "SET",
    "LIMIT",
    "SKIP",
    "BY",
    "DISTINCT",
}

TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^'\\]|\\.)*(?:'|\Z)|"(?:[^"\\]|\\.)*(?:"|\Z))
  | (?P<name>`(?:[^`]|``)*(?:`|\Z))
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<op><>|<=|>=|=~|->|<-|\.\.|\+=|.)
    """,
    re.X | re.S,
)
OPERATORS = {"+", "-", "*", "/", "%", "^", "=", "<>", "<", ">", "<=", ">=", "=~"}
WORD_OPERATORS = {"AND", "OR", "XOR", "NOT", "IN"}
#: Keywords that start a clause (where a MATCH's pattern and WHERE end).
CLAUSES = {
    "MATCH",
    "OPTIONAL",
    "WITH",
    "RETURN",
    "UNWIND",
    "CALL",
    "CREATE",
    "MERGE",
    "SET",
    "DELETE",
    "DETACH",
    "REMOVE",
    "FOREACH",
    "UNION",
    "ORDER",
    "SKIP",
    "LIMIT",
    "LOAD",
}


@dataclass(frozen=True)
class Token:
    """One token: its kind (``word``, ``op``, ``string`` ...), text and offset."""

    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else self.text


def tokens(text: str) -> list[Token]:
    """The tokens of ``text`` without whitespace and comments."""
    out = []
    for m in TOKEN.finditer(text):
        kind = m.lastgroup or "op"
        if kind not in ("space", "comment"):
            out.append(Token(kind, m.group(), m.start()))
    return out
