"""A dataset cut to some of its users or items, with every row that touches them."""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy

from kgrec.core.dataset import Dataset


def restrict(
    dataset: Dataset, *, users: Iterable[str] | None = None, items: Iterable[str] | None = None
) -> Dataset:
    """A copy of ``dataset`` keeping the interactions and tag applications of ``users`` (or on
    ``items``), then every user, item, tag, item tag and triple those rows touch."""
    ds = deepcopy(dataset)
    column, keep = ("user_id", set(users)) if users is not None else ("item_id", set(items or ()))
    ds.interactions = ds.interactions[ds.interactions[column].isin(keep)]
    ds.user_tags = ds.user_tags[ds.user_tags[column].isin(keep)]
    touched_items = set(ds.interactions["item_id"]) | set(ds.user_tags["item_id"])
    touched_users = set(ds.interactions["user_id"]) | set(ds.user_tags["user_id"])
    ds.users = ds.users[ds.users["id"].isin(touched_users)]
    ds.items = ds.items[ds.items["id"].isin(touched_items)]
    ds.item_tags = ds.item_tags[ds.item_tags["item_id"].isin(touched_items)]
    ds.triples = ds.triples[ds.triples["item_id"].isin(touched_items)]
    ds.tags = ds.tags[ds.tags["name"].isin(set(ds.item_tags["tag"]) | set(ds.user_tags["tag"]))]
    return ds


def most_rated(dataset: Dataset, num_items: int) -> Dataset:
    """``dataset`` cut to its ``num_items`` most-rated items (ties by id)."""
    counts = dataset.interactions["item_id"].value_counts()
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return restrict(dataset, items=[item for item, _ in ranked[:num_items]])


def first_users(dataset: Dataset, num_users: int) -> Dataset:
    """``dataset`` cut to its first ``num_users`` users (in the users frame's order)."""
    return restrict(dataset, users=dataset.users["id"].iloc[:num_users])
