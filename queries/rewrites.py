"""Rewrites that make an analyst's statement mean on FalkorDB what it means on Neo4j.

- **Relationship uniqueness**: Neo4j never binds one relationship to two relationship
  patterns of one MATCH; FalkorDB does (a co-tag query counts every tag as its own partner).
  :func:`unique_relationships` adds ``r1 <> r2`` for each pair of single-hop patterns of one
  MATCH that could bind the same relationship, naming anonymous ones.
- **Integer sums**: FalkorDB's ``sum()`` returns a float even over integers (802.0 where
  Neo4j says 802); :func:`integer_sums` turns ``sum(x)`` into a ``reduce`` over
  ``collect(x)``, which keeps integers integers and floats floats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kgrec.queries.tokens import CLAUSES, Token


@dataclass
class _Rel:
    """One relationship pattern of a MATCH: its variable (or None), types, endpoints."""

    var: str | None
    types: frozenset[str]
    left: str
    right: str
    direction: str  # "->", "<-" or "--"
    var_length: bool
    open_bracket: Token | None  # the '[' (None for a bare -- / -->)
    close_bracket: Token | None


@dataclass
class _Match:
    """One MATCH clause: its relationship patterns, WHERE span, end offset."""

    rels: list[_Rel]
    pattern_end: int  # offset after the pattern's last token
    where: Token | None  # the WHERE keyword
    end: int  # offset after the clause's last token
    start_index: int
    end_index: int


def _matching(toks: list[Token], i: int) -> int:
    """Index of the bracket closing the one at ``i``."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    opening, closing = toks[i].text, pairs[toks[i].text]
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].kind != "op":
            continue
        if toks[j].text == opening:
            depth += 1
        elif toks[j].text == closing:
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def _clause_end(toks: list[Token], i: int, stop_at_where: bool = False) -> int:
    """Index of the first token after ``i`` that starts a new clause at depth 0."""
    j = i
    while j < len(toks):
        t = toks[j]
        if t.kind == "op" and t.text in "([{":
            j = _matching(toks, j) + 1
            continue
        if t.kind == "word" and (t.upper in CLAUSES or (stop_at_where and t.upper == "WHERE")):
            return j
        j += 1
    return j


def _node_var(toks: list[Token], i: int, j: int, anon: list[int]) -> str:
    """The variable of the node pattern ``toks[i..j]`` (``(`` .. ``)``), or a fresh name."""
    if i + 1 < j and toks[i + 1].kind in ("word", "name"):
        return toks[i + 1].text
    anon[0] += 1
    return f" anon{anon[0]}"


def _matches(toks: list[Token]) -> list[_Match]:
    """The MATCH clauses at depth 0 (OPTIONAL MATCH too) with their relationship patterns."""
    out: list[_Match] = []
    anon = [0]
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "op" and t.text in "([{":
            i = _matching(toks, i) + 1
            continue
        if not (t.kind == "word" and t.upper == "MATCH"):
            i += 1
            continue
        pattern_stop = _clause_end(toks, i + 1, stop_at_where=True)
        end = _clause_end(toks, i + 1)
        rels = _rels(toks, i + 1, pattern_stop, anon)
        where = toks[pattern_stop] if pattern_stop < end else None
        out.append(_Match(rels, toks[pattern_stop - 1].end, where, toks[end - 1].end, i, end))
        i = end
    return out


def _rels(toks: list[Token], i: int, stop: int, anon: list[int]) -> list[_Rel]:
    rels: list[_Rel] = []
    left: str | None = None
    pending: dict | None = None
    j = i
    while j < stop:
        t = toks[j]
        if t.kind == "op" and t.text == "(":
            close = _matching(toks, j)
            inner_is_node = close + 1 >= stop or toks[close + 1].text in ("-", "<-", ",", ")")
            if j + 1 < close and toks[j + 1].text == "(":  # shortestPath((a)-..-(b)): one path
                j = close + 1
                continue
            if not inner_is_node and pending is None:
                j = close + 1
                continue
            var = _node_var(toks, j, close, anon)
            if pending is not None and left is not None:
                rels.append(_Rel(right=var, left=left, **pending))
                pending = None
            left = var
            j = close + 1
            continue
        if t.kind == "op" and t.text in ("-", "<-") and left is not None:
            incoming = t.text == "<-"
            k = j + 1
            open_b: Token | None = None
            close_b: Token | None = None
            rel_var: str | None = None
            types: set[str] = set()
            var_length = False
            if k < stop and toks[k].text == "[":
                open_b = toks[k]
                close_i = _matching(toks, k)
                close_b = toks[close_i]
                inner = toks[k + 1 : close_i]
                if inner and inner[0].kind in ("word", "name"):
                    rel_var = inner[0].text
                after_colon = False
                for u in inner:
                    if u.text == ":" or u.text == "|":
                        after_colon = True
                    elif after_colon and u.kind in ("word", "name"):
                        types.add(u.text.strip("`"))
                        after_colon = False
                    elif u.text in ("*", "{"):
                        var_length = var_length or u.text == "*"
                        if u.text == "{":
                            break
                k = close_i + 1
            # the closing dash, and an arrow head
            outgoing = False
            if k < stop and toks[k].text == "->":
                outgoing, k = True, k + 1
            elif k < stop and toks[k].text == "-":
                k += 1
                if k < stop and toks[k].text == ">":
                    outgoing, k = True, k + 1
            direction = "<-" if incoming else "->" if outgoing else "--"
            pending = {
                "var": rel_var,
                "types": frozenset(types),
                "direction": direction,
                "var_length": var_length,
                "open_bracket": open_b,
                "close_bracket": close_b,
            }
            j = k
            continue
        if t.kind == "op" and t.text == ",":
            left, pending = None, None
        j += 1
    return rels


def _can_share(a: _Rel, b: _Rel) -> bool:
    """Could one relationship (no self-loop) be bound to both ``a`` and ``b``?"""
    if a.var_length or b.var_length:
        return False
    if a.types and b.types and not a.types & b.types:
        return False
    if a.var is not None and a.var == b.var:
        return False  # one variable: the same relationship on purpose
    # (x)-[a]->(m)-[b]->(y): a enters m, b leaves it; one relationship would be a self-loop.
    ends_a = _ends(a)
    ends_b = _ends(b)
    if ends_a[1] == ends_b[0] or ends_b[1] == ends_a[0]:
        if a.direction != "--" and b.direction != "--" and ends_a != ends_b[::-1]:
            return False
    return True


def _ends(r: _Rel) -> tuple[str, str]:
    """(start, end) of a directed pattern; the written order for an undirected one."""
    return (r.right, r.left) if r.direction == "<-" else (r.left, r.right)


def _already_different(toks: list[Token], a: str, b: str) -> bool:
    """Does the statement already say ``a <> b`` (or ``b <> a``)?"""
    for i in range(len(toks) - 2):
        if toks[i + 1].text == "<>" and {toks[i].text, toks[i + 2].text} == {a, b}:
            return True
    return False


def unique_relationships(text: str, toks: list[Token]) -> tuple[str, list[str]]:
    """``text`` with ``r1 <> r2`` added for each pair of relationship patterns of one MATCH
    that could bind the same relationship, and one notice saying what was added.

    Anonymous relationships involved are named (``_r1``, ``_r2``...). Where that cannot be
    done (a bare ``--``), or would change the result (``RETURN *`` / ``WITH *``), the clause
    is left as it is and the notice says what to add.
    """
    star = any(
        t.text == "*" and i > 0 and toks[i - 1].upper in ("RETURN", "WITH", "DISTINCT")
        for i, t in enumerate(toks)
    )
    taken = {t.text for t in toks if t.kind in ("word", "name")}
    edits: list[tuple[int, int, str]] = []
    added: list[str] = []
    advised: list[str] = []
    counter = 0
    walks = 0
    for clause in _matches(toks):
        walks += sum(1 for r in clause.rels if r.var_length and r.direction == "--")
        pairs = [
            (a, b)
            for n, a in enumerate(clause.rels)
            for b in clause.rels[n + 1 :]
            if _can_share(a, b) and not (a.var and b.var and _already_different(toks, a.var, b.var))
        ]
        if not pairs:
            continue
        involved = list({id(r): r for pair in pairs for r in pair}.values())
        anonymous = [r for r in involved if r.var is None]
        if anonymous and (star or any(r.open_bracket is None for r in anonymous)):
            advised.append(" AND ".join(f"{a.var or 'r1'} <> {b.var or 'r2'}" for a, b in pairs))
            continue
        for rel in anonymous:
            counter += 1
            while f"_r{counter}" in taken:
                counter += 1
            rel.var = f"_r{counter}"
            taken.add(rel.var)
            assert rel.open_bracket is not None
            edits.append((rel.open_bracket.end, rel.open_bracket.end, rel.var))
        predicate = " AND ".join(f"{a.var} <> {b.var}" for a, b in pairs)
        added.append(predicate)
        if clause.where is None:
            edits.append((clause.pattern_end, clause.pattern_end, f" WHERE {predicate}"))
        else:
            edits.append((clause.where.end, clause.where.end, f" {predicate} AND ("))
            edits.append((clause.end, clause.end, ")"))
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + new + text[end:]
    notices = []
    lead = (
        "the embedded store can bind one relationship to two patterns of one MATCH (Neo4j "
        "never does)"
    )
    if added:
        notices.append(f"{lead}; added WHERE {'; '.join(added)} so both stores answer alike")
    if advised:
        notices.append(
            f"{lead}; for Neo4j's answer name the relationships and add WHERE "
            f"{'; '.join(advised)} (not rewritten: RETURN * or an unnamed --)"
        )
    if walks and not re.search(r"relationships\s*\(", text, re.I):
        notices.append(
            "the embedded store can walk one relationship twice in an undirected "
            "variable-length pattern (Neo4j never does); for Neo4j's answer bind the path "
            "(p = ...) and add WHERE all(i IN range(0, length(p) - 2) WHERE all(j IN "
            "range(i + 1, length(p) - 1) WHERE relationships(p)[i] <> relationships(p)[j])) "
            "(not rewritten)"
        )
    return text, notices


# ---------------------------------------------------------------------- integer sums


def integer_sums(text: str, toks: list[Token]) -> str:
    """``sum(x)`` as ``CASE WHEN <every x an integer> THEN toInteger(sum(x)) ELSE sum(x)
    END``: an integer over integers (and 0 over no values), a float as soon as one term is
    a float, as Neo4j's ``sum()``."""
    edits: list[tuple[int, int, str]] = []
    for i, t in enumerate(toks):
        if not (
            t.kind == "word"
            and t.upper == "SUM"
            and i + 1 < len(toks)
            and toks[i + 1].text == "("
            and (i == 0 or toks[i - 1].text != ".")
        ):
            continue
        close = _matching(toks, i + 1)
        inner = toks[i + 2 : close]
        if not inner:
            continue
        args = text[inner[0].start : inner[-1].end]
        value = args
        if inner[0].upper == "DISTINCT" and len(inner) > 1:
            value = text[inner[1].start : inner[-1].end]
        call = text[t.start : toks[close].end]
        every_int = (
            f"coalesce(min(CASE WHEN typeOf({value}) IN ['Integer', 'Null'] THEN 1 ELSE 0 "
            "END), 1) = 1"
        )
        edits.append(
            (
                t.start,
                toks[close].end,
                f"CASE WHEN {every_int} THEN toInteger({call}) ELSE {call} END",
            )
        )
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + new + text[end:]
    return text
