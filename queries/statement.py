"""An analyst's own Cypher text, read before it reaches a store: limits, prefixes, and the
places where FalkorDB would answer differently from Neo4j.

The tokens come from :mod:`kgrec.queries.tokens`.

- **Limits** (both stores, so a statement runs on both or on neither): at most
  :data:`MAX_TEXT_BYTES` of text, nesting at most :data:`MAX_NESTING` deep, at most
  :data:`MAX_OPERATORS` operators. FalkorDB's parser takes about 3.4 times longer for every
  two levels of nesting, brackets and chained prefix operators alike (26 nested lists, or
  ``------...1``, keep the server busy for minutes, and a timeout does not stop a parse);
  20,000 chained subscripts ``[0][0]...`` take half a minute; a chain of about 45,000
  ``+`` terms overflows its stack and kills the server. All are refused before they are
  sent.
- **One statement**: a trailing ``;`` is dropped; a second statement is refused with what
  to use instead.
- **EXPLAIN / PROFILE**: a leading keyword is taken off and returned as the statement's
  plan request.
- **Relationship uniqueness** and **integer sums**: where the store binds one relationship
  twice in a MATCH or sums integers to a float (FalkorDB), the statement is rewritten to
  answer as Neo4j does (:mod:`kgrec.queries.rewrites`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kgrec.core.errors import QueryRefused
from kgrec.queries.rewrites import integer_sums, unique_relationships
from kgrec.queries.tokens import (
    BEFORE_PREFIX,
    OPERATORS,
    WORD_OPERATORS,
    WORDS_BEFORE_PREFIX,
    Token,
    tokens,
)

#: The longest statement accepted, in bytes of UTF-8.
MAX_TEXT_BYTES = 64 * 1024
#: The deepest nesting accepted: brackets ( [ { plus a run of prefix operators (``-``,
#: ``+``, ``NOT``) count one level each. FalkorDB parses 12 levels in about 0.15 s, 16 in
#: 1.5 s, 20 in about 15 s and 26 in several minutes.
MAX_NESTING = 12
#: The most operators accepted (``+ - * / % ^ = <> < > <= >= AND OR XOR NOT IN``, subscripts
#: ``[`` and property dots): FalkorDB takes 4,000 chained subscripts in a second, 20,000 in
#: half a minute, and dies (stack overflow) at 50,000 chained ``+``.
MAX_OPERATORS = 2_000


class PlanRequest(StrEnum):
    """What a leading keyword asks for: the plan only, or the plan with the rows."""

    NONE = ""
    EXPLAIN = "explain"
    PROFILE = "profile"


@dataclass
class Statement:
    """An analyst's statement after :func:`prepare`.

    Attributes:
        text: the statement to send (prefix, trailing ``;`` and rewrites applied).
        plan: EXPLAIN / PROFILE as requested by a leading keyword.
        notices: one line for each rewrite made, for the analyst to read.
    """

    text: str
    plan: PlanRequest = PlanRequest.NONE
    notices: list[str] = field(default_factory=list)


def check_limits(text: str, name: str = "cypher") -> list[Token]:
    """Refuse text no store should be sent; return its tokens.

    Raises:
        QueryRefused: too long, nested too deep, too many operators, or more than one
            statement.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise QueryRefused(
            f"{name}: the statement is {size:,} bytes; at most {MAX_TEXT_BYTES:,} are "
            "accepted; pass long lists of values as a $parameter (-p ids:LIST=...)"
        )
    toks = tokens(text)
    depth = deepest = operators = run = 0
    previous: Token | None = None
    for t in toks:
        prefix = (t.kind == "word" and t.upper == "NOT") or (
            t.kind == "op"
            and t.text in ("-", "+")
            and (
                previous is None
                or (previous.kind == "op" and previous.text in BEFORE_PREFIX)
                or (previous.kind == "word" and previous.upper in WORDS_BEFORE_PREFIX)
            )
        )
        run = run + 1 if prefix else 0
        if t.kind == "op" and t.text in ("(", "[", "{"):
            depth += 1
            if t.text == "[" and previous is not None and previous.text in (")", "]"):
                operators += 1  # a subscript of a subscript
        elif t.kind == "op" and t.text in (")", "]", "}"):
            depth = max(depth - 1, 0)
        elif (t.kind == "op" and t.text in OPERATORS | {"."}) or (
            t.kind == "word" and t.upper in WORD_OPERATORS
        ):
            operators += 1
        deepest = max(deepest, depth + run)
        previous = t
    if deepest > MAX_NESTING:
        raise QueryRefused(
            f"{name}: the statement is nested {deepest} levels deep (brackets and chained "
            f"prefix operators); at most {MAX_NESTING} are accepted (the embedded store's "
            "parser takes minutes beyond that, and no timeout stops it); build the value in "
            "steps with WITH, or pass it as a $parameter"
        )
    if operators > MAX_OPERATORS:
        raise QueryRefused(
            f"{name}: the statement has {operators:,} operators; at most {MAX_OPERATORS:,} "
            "are accepted (longer chains stall or crash the embedded store's parser); compute it "
            "with UNWIND and sum(), reduce() over a list, or pass the values as a $parameter"
        )
    _check_one_statement(toks, name)
    return toks


def _check_one_statement(toks: list[Token], name: str) -> None:
    semicolons = [i for i, t in enumerate(toks) if t.kind == "op" and t.text == ";"]
    if semicolons and any(i != len(toks) - 1 for i in semicolons):
        count = 1 + sum(1 for i in semicolons if i != len(toks) - 1)
        raise QueryRefused(
            f"{name}: {count} statements separated by ';'; one is accepted per run: run them "
            "one at a time, or combine reads with UNION or CALL { ... }"
        )


def strip_prefix(text: str, toks: list[Token]) -> tuple[str, PlanRequest, list[Token]]:
    """Take off a trailing ``;`` and a leading ``EXPLAIN`` / ``PROFILE``."""
    if toks and toks[-1].kind == "op" and toks[-1].text == ";":
        text = text[: toks[-1].start] + text[toks[-1].end :]
        toks = toks[:-1]
    if toks and toks[0].upper in ("EXPLAIN", "PROFILE"):
        request = PlanRequest(toks[0].upper.lower())
        text = text[: toks[0].start] + " " * len(toks[0].text) + text[toks[0].end :]
        return text, request, toks[1:]
    return text, PlanRequest.NONE, toks


def refuse_unsupported(
    toks: list[Token], unsupported: dict[str, str], store: str, name: str = "cypher"
) -> None:
    """Refuse syntax ``store`` does not support (``unsupported``: an upper-case token, or
    two separated by a space, -> what to use instead).

    Raises:
        QueryRefused: naming the syntax and what to use instead.
    """
    for i, t in enumerate(toks):
        pair = f"{t.upper} {toks[i + 1].upper}" if i + 1 < len(toks) else ""
        for key in (t.upper, pair):
            advice = unsupported.get(key)
            if advice is not None:
                shown = t.text if key == t.upper else f"{t.text} {toks[i + 1].text}"
                raise QueryRefused(f"{name}: {shown!r} is not supported by the {store}; {advice}")


def prepare(
    text: str,
    unique_relationships_native: bool = True,
    integer_sum: bool = True,
    unsupported: dict[str, str] | None = None,
    store: str = "store",
    name: str = "cypher",
) -> Statement:
    """Check an analyst's statement and make it mean on this store what it means on Neo4j.

    Args:
        text: the statement as typed.
        unique_relationships_native: the store never binds one relationship twice in a
            MATCH (Neo4j); otherwise ``r1 <> r2`` predicates are added.
        integer_sum: the store's ``sum()`` keeps integers; otherwise it is rewritten.
        unsupported: syntax the store lacks -> what to use instead.
        store: how messages name the store.
        name: how messages name the statement.

    Raises:
        QueryRefused: see :func:`check_limits` and :func:`refuse_unsupported`.
    """
    toks = check_limits(text, name)
    text, request, toks = strip_prefix(text, toks)
    if not toks:
        raise QueryRefused(f"{name}: the statement is empty; give one Cypher statement")
    refuse_unsupported(toks, unsupported or {}, store, name)
    notices: list[str] = []
    if not unique_relationships_native:
        text, notices = unique_relationships(text, toks)
        toks = tokens(text)
    if not integer_sum:
        text = integer_sums(text, toks)
    return Statement(text.strip(), request, notices)
