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
    """A share as a percentage with two significant digits: 0.0123 -> '1.2%'."""
    return f"{share * 100:.2g}%"


def _rated(title: str, rating: float | None) -> str:
    if rating is None or is_missing(rating):
        return f"You interacted with {title}"
    return f"You rated {title} ({float(rating):.1f})"


def path_sentence(path: CandidatePath) -> str:
    """The path told as one sentence."""
    user, *middle, rec = path.nodes
    if path.kind == "user_tag":
        return f"You tagged {path.tagged_title} '{middle[0].label}'; {rec.label} has that tag too."
    via, node = middle
    start = _rated(via.label, path.rating)
    if path.kind == "shared_tag":
        return f"{start}; {via.label} and {rec.label} share the tag '{node.label}'."
    if path.kind == "entity":
        return (f"{start}; {via.label} and {rec.label} are both linked to {node.label} "
                f"({path.relation}).")  # fmt: skip
    who = f"{path.co_users} other users" if path.co_users > 1 else "another user"
    return f"{start}; {who} who chose {via.label} also chose {rec.label}."


def shares_text(path: ExplanationPath) -> str:
    """``[Alien: 4.1% of the score; this path: 0.9%]`` (a model without walks, ``ease``:
    the first part only), or ``''`` without shares."""
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
        basis = (f" (includes {folded_in} interaction{'s' if folded_in != 1 else ''} "
                 "recorded after training, folded in; items as trained)")  # fmt: skip
    if ex.explained_share is None:
        return f"{ex.num_paths} paths join you to {ex.title}{basis}."
    return (
        f"{ex.num_paths} paths of up to {MAX_HOPS} hops join you to {ex.title}; together "
        f"they account for {percent(ex.explained_share)} of its score{basis}."
    )


def no_path_note(title: str, nearest: tuple[str, float] | None) -> str:
    """No path reaches the item: say where its score came from."""
    if nearest is not None:
        return (f"No path of up to {MAX_HOPS} hops joins you to {title}; its score comes from "
                f"embedding similarity: its text is closest to {nearest[0]}, which you "
                f"rated (cosine {nearest[1]:.2f}).")  # fmt: skip
    return (
        f"No path of up to {MAX_HOPS} hops joins you to {title}; its score comes from the "
        "similarity of learned embeddings."
    )


def added_item_note(title: str) -> str:
    """An item added after the model was trained: no path of the model's graph reaches it."""
    return (f"{title} was added after the model was trained: its vector comes from its text "
            "and tags, and no path of the model's graph reaches it yet.")  # fmt: skip


def new_user_popular_note(interactions: int) -> str:
    """Someone new with neither liked items nor text gets popular items."""
    return f"A popular item ({interactions} interactions)."


def new_user_liked_note(liked_title: str, similarity: float) -> str:
    """Someone new: the liked item the recommendation is closest to."""
    return (
        f"Because you liked {liked_title} (similarity {similarity:.2f} in the model's "
        "embedding space)."
    )


def new_user_text_note(match_title: str, similarity: float, text: str) -> str:
    """Someone new: the item matching their description that the recommendation is near."""
    return (f"Close to {match_title} (similarity {similarity:.2f}), one of the items that "
            f"match your description '{text}'.")  # fmt: skip


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

    "Aliens shares the tag 'sci-fi' with 46 items you rated, 31 of them at or above your
    average (3.6), Alien (5.0) and Predator (4.0) most; together they carry 64% of its score."
    """
    items = reason.items
    verb = "rated" if any(m.rating is not None for m in items) else "chose"
    if reason.kind == "item":
        return (f"You {verb} {_member(items[0])}"
                f"{_carried(reason.share, 'that interaction alone')}.")  # fmt: skip
    link = f"{reason.label} ({reason.relation})" if reason.relation else reason.label
    if len(items) == 1:
        one = _member(items[0])
        if reason.kind == "tag":
            head = f"{title} shares the tag '{reason.label}' with {one}, which you {verb}"
        else:
            head = f"{title} and {one}, which you {verb}, are both linked to {link}"
        return f"{head}{_carried(reason.share, 'that interaction')}."
    group = f"{len(items)} items you {verb}"
    if reason.kind == "tag":
        head = f"{title} shares the tag '{reason.label}' with {group}"
    else:
        head = f"{title} and {group} are linked to {link}"
    well = ""
    if mean is not None and verb == "rated":
        well = f", {reason.rated_well} of them at or above your average ({mean:.1f})"
    names = " and ".join(_member(m) for m in items[:2])
    return f"{head}{well}, {names} most{_carried(reason.share, 'together they')}."


def own_rating_text(title: str, rating: float | None) -> str:
    """The user's own interaction with the item explained."""
    if rating is None:
        return f"You chose {title} yourself."
    return f"You rated {title} {rating:.1f} yourself."
