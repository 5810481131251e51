"""The text that represents an item (and a tag) to the embedding model."""

from __future__ import annotations

import hashlib

import pandas as pd


def text_hash(text: str) -> str:
    """A stable hash of a text (SHA-256, hex, first 32 characters)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def item_texts(items: pd.DataFrame, item_tags: pd.DataFrame) -> pd.Series:
    """One text per item: title, genre tags, user tags (most applied first), description.

    ``"Alien (1979). Genres: horror, sci-fi. Tags: space horror, ridley scott."``

    Args:
        items: canonical items frame.
        item_tags: canonical item_tags frame.

    Returns:
        A Series of texts indexed like ``items``; ``""`` for an item with no title, tags
        or description (it gets no embedding).
    """
    parts: dict[str, dict[str, list[str]]] = {}
    if len(item_tags):
        ordered = item_tags.sort_values(["item_id", "count", "tag"], ascending=[True, False, True])
        for item_id, tag, source in zip(
            ordered["item_id"], ordered["tag"], ordered["source"], strict=True
        ):
            key = "Genres" if source == "genre" else "Tags"
            bucket = parts.setdefault(item_id, {}).setdefault(key, [])
            if tag not in bucket:
                bucket.append(tag)
    texts = []
    for item_id, title, description in zip(
        items["id"], items["title"], items["description"], strict=True
    ):
        pieces = [title.strip()] if isinstance(title, str) and title.strip() else []
        for key in ("Genres", "Tags"):
            tags = parts.get(item_id, {}).get(key)
            if tags:
                pieces.append(f"{key}: {', '.join(tags[:20])}")
        if isinstance(description, str) and description.strip():
            pieces.append(description.strip())
        texts.append(". ".join(pieces))
    return pd.Series(texts, index=items.index, dtype=object)


def tag_texts(tags: pd.DataFrame) -> pd.Series:
    """One text per tag: its normalised name."""
    return tags["name"].astype(str)
