"""Every sentence an explanation tells: paths, shares and where a score came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kgrec.core.values import is_missing

if TYPE_CHECKING:
    from kgrec.explain.reasons import Reason, ReasonItem
    from kgrec.explain.types import CandidatePath, Explanation, ExplanationPath

#: The hop limit of the path queries, as the sentences name it.
MAX_HOPS = 3


def percent(share: float) -> str:
    """A share as a plain whole percentage, never in exponent notation: 0.42 -> '42%',
    0.003 -> '<1%', 0 -> '0%', 1.0 -> '100%'; a negative share keeps its sign ('-7%'),
    a share that is not a number is 'n/a'. The one formatter of every share told."""
    if share != share or share in (float("inf"), float("-inf")):
        return "n/a"
    if share < 0:
        return f"-{percent(-share)}"
    value = share * 100
    if value == 0:
        return "0%"
    if value < 0.5:
        return "<1%"
    return f"{value:.0f}%"


def _rated(title: str, rating: float | None) -> str:
    if rating is None or is_missing(rating):
        return f"You interacted with {title}"
    return f"You rated {title} ({float(rating):.1f})"


def path_sentence(path: CandidatePath, mean: float | None = None) -> str:
    """The path told as one sentence. A path that starts from an interaction rated below
    the user's mean rating ``mean`` is not told as support: "..., despite your rating of
    Alien (1.0, below your average of 3.6)."."""
    user, *middle, rec = path.nodes
    if path.kind == "user_tag":
        return f"You tagged {path.tagged_title} '{middle[0].label}'; {rec.label} has that tag too."
    via, node = middle
    if path.kind == "shared_tag":
        fact = f"{via.label} and {rec.label} share the tag '{node.label}'"
    elif path.kind == "entity":
        fact = f"{via.label} and {rec.label} are both linked to {node.label} ({path.relation})"
    else:
        who = f"{path.co_users} other users" if path.co_users > 1 else "another user"
        fact = f"{who} who chose {via.label} also chose {rec.label}"
    rating = None if path.rating is None or is_missing(path.rating) else float(path.rating)
    if rating is not None and mean is not None and rating < mean:
        return (
            f"{fact[:1].upper()}{fact[1:]}, despite your rating of {via.label} "
            f"({rating:.1f}, below your average of {mean:.1f})."
        )
    return f"{_rated(via.label, path.rating)}; {fact}."


def shares_text(path: ExplanationPath) -> str:
    """``[Alien: 4% of the score; this path: 1%]``, or ``''`` without shares."""
    parts = [] if path.share is None else [f"this path: {percent(path.share)}"]
    if path.interaction_share:
        parts.insert(0, f"{path.nodes[1].label}: {percent(path.interaction_share)} of the score")
    return f"[{'; '.join(parts)}]" if parts else ""


def popular_note(title: str, interactions: int) -> str:
    """A user without interactions gets popular items."""
    return f"No interactions yet: {title} is popular ({interactions} interactions)."


def paths_note(ex: Explanation, folded_in: bool | int = False) -> str:
    """A summary of the paths found (``ex.paths`` is not empty).

    Args:
        folded_in: the score comes from a folded-in vector: True for a user newer than the
            model, a count for a known user with that many interactions recorded since.
    """
    basis = ""
    if folded_in is True:
        basis = " (the user is newer than the model; folded in)"
    elif folded_in:
        basis = (
            f" (includes {folded_in} interaction{'s' if folded_in != 1 else ''} "
            "recorded after training, folded in; items as trained)"
        )
    if ex.explained_share is None:
        return f"{ex.num_paths} paths join you to {ex.title}{basis}."
    return (
        f"{ex.num_paths} paths of up to {MAX_HOPS} hops join you to {ex.title}; they leave "
        f"through interactions that carry {percent(ex.explained_share)} of its score{basis}."
    )


def no_path_note(title: str, nearest: tuple[str, float] | None) -> str:
    """No path reaches the item: say where its score came from."""
    if nearest is not None:
        return (
            f"No path of up to {MAX_HOPS} hops joins you to {title}; its score comes from "
            f"embedding similarity: its text is closest to {nearest[0]}, which you "
            f"rated (cosine {nearest[1]:.2f})."
        )
    return (
        f"No path of up to {MAX_HOPS} hops joins you to {title}; its score comes from the "
        "similarity of learned embeddings."
    )


def added_item_note(title: str) -> str:
    """An item added after the model was trained: no path of the model's graph reaches it."""
    return (
        f"{title} was added after the model was trained: its vector comes from its text "
        "and tags, and no path of the model's graph reaches it yet."
    )


def new_user_popular_note(interactions: int) -> str:
    """Someone new with neither liked items nor text gets popular items."""
    return f"A popular item ({interactions} interactions)."


def new_user_note(
    liked: tuple[str, float] | None,
    text_match: tuple[str, float] | None,
    text: str,
    liked_count: int = 1,
) -> str:
    """Someone new: what the items they liked and their description carry of a score.

    Args:
        liked: the liked item that carries most and the share all liked items carry (None:
            no liked items).
        text_match: the item matching the description that carries most and the share the
            description carries (None: no description).
        liked_count: how many items they liked.
    """
    if liked is not None and text_match is not None:
        return (
            f"Because you liked {liked[0]} and described '{text}': the items you liked "
            f"carry {percent(liked[1])} of its score, your description "
            f"{percent(text_match[1])} (through {text_match[0]} most)."
        )
    if liked is not None:
        more = f" with the {liked_count} items you liked" if liked_count > 1 else ""
        return f"Because you liked {liked[0]}{more} ({percent(liked[1])} of its score)."
    if text_match is not None:
        return (
            f"Close to {text_match[0]}, one of the items that match your description "
            f"'{text}' ({percent(text_match[1])} of its score)."
        )
    return ""


def _member(item: ReasonItem) -> str:
    return item.title if item.rating is None else f"{item.title} ({item.rating:.1f})"


def _carried(share: float | None, subject: str) -> str:
    """``; together they carry 64% of its score`` (nothing without a share)."""
    if share is None:
        return ""
    plural = subject.endswith("they")
    if share < 0:
        return f"; {subject} {'lower' if plural else 'lowers'} its score by {percent(-share)}"
    return f"; {subject} {'carry' if plural else 'carries'} {percent(share)} of its score"


def reason_sentence(reason: Reason, title: str, mean: float | None) -> str:
    """A reason told as one sentence, its exact share included (:mod:`kgrec.explain.reasons`).

    "Aliens shares the tag 'sci-fi' with 31 items you rated at or above your average (3.6),
    Alien (5.0) and Predator (4.0) most; together they carry 64% of its score."
    """
    items = reason.items
    verb = "rated" if any(m.rating is not None for m in items) else "chose"
    if reason.kind == "item":
        return f"You {verb} {_member(items[0])}{_carried(reason.share, 'that interaction alone')}."
    link = f"{reason.label} ({reason.relation})" if reason.relation else reason.label
    if len(items) == 1:
        one = _member(items[0])
        if reason.kind == "tag":
            head = f"{title} shares the tag '{reason.label}' with {one}, which you {verb}"
        else:
            head = f"{title} and {one}, which you {verb}, are both linked to {link}"
        return f"{head}{_carried(reason.share, 'that interaction')}."
    well = f" at or above your average ({mean:.1f})" if mean is not None else ""
    if verb == "chose":
        group = f"{len(items)} items you chose"
    elif reason.rated_well == len(items):
        group = f"{len(items)} items you rated{well}"
    else:
        group = f"{len(items)} items you chose, {reason.rated_well} of them rated{well}"
    if reason.kind == "tag":
        head = f"{title} shares the tag '{reason.label}' with {group}"
    else:
        head = f"{title} and {group} are linked to {link}"
    names = " and ".join(_member(m) for m in items[:2])
    return f"{head}, {names} most{_carried(reason.share, 'together they')}."


def other_text(other: float | None, against: float | None = None) -> str:
    """What the reasons leave out, told after them ('' without shares).

    "The rest, 36%, comes from interactions not named above (those rated below your average
    among them) and the model's own terms; interactions that count against it take away 8%."
    """
    if other is None:
        return ""
    text = (
        f"The rest, {percent(other)}, comes from interactions not named above (those "
        "rated below your average among them) and the model's own terms"
    )
    if against:
        text += f"; interactions that count against it take away {percent(against)}"
    return f"{text}."


def own_rating_text(title: str, rating: float | None) -> str:
    """The user's own interaction with the item explained."""
    if rating is None:
        return f"You chose {title} yourself."
    return f"You rated {title} {rating:.1f} yourself."
