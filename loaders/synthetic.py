"""A synthetic catalogue and behaviour where item text carries real signal.

Items get 2-4 tags (real genre/topic words, popular tags more often), a unique title and a
description built from their tags. Each user has a Dirichlet mixture over 2-3 favourite tags.
Item popularity is Zipf-like (exponent 1). A user's items are drawn without replacement with
probability proportional to ``popularity * (1 + AFFINITY * s)``, where ``s`` is the user's
preference weight summed over the item's tags; ratings are higher for matching items.

Sampling is vectorised: that distribution is a mixture of the popularity distribution and one
popularity-within-tag distribution per favourite tag, so draws are i.i.d. from the exact
distribution, and keeping each user's first occurrences is sequential sampling without
replacement. Users still short after a few rounds are topped up with exact Gumbel top-k draws,
so the total is always exactly ``num_interactions``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kgrec.core.dataset import Dataset, normalise_tag
from kgrec.core.errors import InvalidParameter
from kgrec.loaders._csv import conform
from kgrec.loaders.validate import check_prefix

AFFINITY = 15.0
START_TS = 1_577_836_800  # 2020-01-01T00:00:00Z
MIN_PER_USER = 3
_TEMPLATES = ("A story about {}.", "A tale of {}.", "An exploration of {}.", "All about {}.")
_SINGLE = """space horror romance detective jazz comedy western war fantasy mystery thriller
crime documentary musical animation adventure history biography sports science robots pirates
vampires zombies magic dragons superheroes spies heist politics family friendship music dance
cooking travel ocean desert jungle mountains aliens dinosaurs monsters ghosts witches knights
samurai cowboys gangsters soldiers pilots doctors lawyers teachers artists chefs farmers sailors
explorers inventors royalty revolution dystopia apocalypse survival revenge betrayal redemption
mythology religion philosophy psychology economics journalism fashion architecture photography
painting poetry theatre opera ballet circus wrestling boxing football baseball basketball
tennis golf racing chess gambling prison courtroom hospital submarines trains aviation satire
""".split()
_PHRASES = """dark comedy|space opera|romantic comedy|film noir|time travel|martial arts|road trip
|high school|true crime|black comedy|cold war|world war|wild west|haunted house|serial killer
|alien invasion|artificial intelligence|virtual reality|climate change|small town|big city
|coming of age|buddy cop|cult classic|slow burn|family drama|political intrigue|courtroom drama
|period piece|social realism|epic fantasy|urban fantasy|hard science fiction|mad scientist
|lost civilization|treasure hunt|natural disaster|post apocalypse|organized crime""".split("|")
_MODIFIERS = "dark cosmic urban historical psychological political medieval futuristic".split()
_BASES = "comedy drama thriller mystery romance fantasy horror adventure satire western".split()
_ADJECTIVES = """Silent Hidden Broken Golden Crimson Distant Frozen Burning Midnight Lonely Secret
Endless Wild Hollow Restless Forgotten Iron Velvet Scarlet Quiet""".split()
_NOUNS = """Harbor River Empire Garden Signal Mirror Kingdom Shadow Voyage Machine Forest City
Island Promise Letter Station Tower Orchard Circuit Horizon""".split()


def tag_vocabulary() -> list[str]:
    """The deterministic list of tag names (over 200): single words, phrases, combinations."""
    combos = [f"{m} {b}" for b in _BASES for m in _MODIFIERS]
    names = [normalise_tag(n) for n in [*_SINGLE, *_PHRASES, *combos]]
    return list(dict.fromkeys(n for n in names if n))


def _top_k(rng: np.random.Generator, logw: np.ndarray, rows: int, k: int) -> np.ndarray:
    """``rows`` weighted samples of ``k`` distinct columns (Gumbel top-k), best first."""
    out = np.empty((rows, k), dtype=np.int64)
    for lo in range(0, rows, 1 << 15):
        keys = logw + rng.gumbel(size=(min(rows, lo + (1 << 15)) - lo, len(logw)))
        top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
        out[lo : lo + len(keys)] = np.take_along_axis(top, order, axis=1)
    return out


def _pick(rng: np.random.Generator, logw: np.ndarray, rows: int, lo: int, hi: int, pad: int):
    """Per row ``lo..hi`` distinct weighted columns, padded with ``pad`` to width ``hi``."""
    hi = min(hi, len(logw))
    chosen = _top_k(rng, logw, rows, hi)
    sizes = rng.integers(min(lo, hi), hi + 1, size=rows)
    chosen[np.arange(hi)[None, :] >= sizes[:, None]] = pad
    return chosen


def _user_counts(
    rng: np.random.Generator, users: int, items: int, total: int, sigma: float = 0.8
) -> np.ndarray:
    """Heavy-tailed interactions per user (log-normal shares with spread ``sigma``): at least
    3, at most ``items``, summing to total."""
    weights = rng.lognormal(0.0, sigma, size=users)
    counts = MIN_PER_USER + rng.multinomial(total - MIN_PER_USER * users, weights / weights.sum())
    while (over := np.maximum(counts - items, 0)).any():
        counts -= over
        room = (items - counts).astype(np.float64)
        counts += rng.multinomial(int(over.sum()), room / room.sum())
    return counts


def _affinity(u: np.ndarray, i: np.ndarray, item_tags: np.ndarray, fav, fav_w) -> np.ndarray:
    """Each (user, item) pair's preference weight summed over the item's tags."""
    s = np.zeros(len(u))
    for j in range(fav.shape[1]):
        hit = (item_tags[i] == fav[u, j][:, None]).any(axis=1)
        s += np.where(hit, fav_w[u, j], 0.0)
    return s


class _Sampler:
    """Draws (user, item) pairs from the popularity x affinity mixture."""

    def __init__(self, pop: np.ndarray, item_tags: np.ndarray, fav, fav_w) -> None:
        self.pop, self.item_tags, self.fav, self.fav_w = pop, item_tags, fav, fav_w
        self.pop_cdf = np.cumsum(pop) / pop.sum()
        it, slot = np.nonzero(item_tags >= 0)
        tag = item_tags[it, slot]
        order = np.lexsort((it, tag))
        self.tag_items, tag = it[order], tag[order]
        num_tags = int(max(tag.max(), fav.max())) + 1
        mass = np.bincount(tag, weights=pop[self.tag_items], minlength=num_tags)
        self.ends = np.cumsum(np.bincount(tag, minlength=num_tags))
        within = np.cumsum(pop[self.tag_items]) - np.repeat(
            np.concatenate([[0.0], np.cumsum(mass)[:-1]]), np.bincount(tag, minlength=num_tags)
        )
        self.keys = tag + within / mass[tag]
        comp = np.where(fav >= 0, AFFINITY * fav_w * mass[np.maximum(fav, 0)], 0.0)
        self.cum = np.cumsum(np.concatenate([np.ones((len(fav), 1)), comp], axis=1), axis=1)

    def draw(self, rng: np.random.Generator, u: np.ndarray) -> np.ndarray:
        r = rng.random(len(u)) * self.cum[u, -1]
        comp = np.zeros(len(u), dtype=np.int64)
        for j in range(self.cum.shape[1] - 1):
            comp += r >= self.cum[u, j]
        items = np.searchsorted(self.pop_cdf, rng.random(len(u)), side="right")
        items = np.minimum(items, len(self.pop) - 1)
        sel = np.flatnonzero(comp > 0)
        tag = self.fav[u[sel], comp[sel] - 1]
        pos = np.searchsorted(self.keys, tag + rng.random(len(sel)), side="right")
        items[sel] = self.tag_items[np.minimum(pos, self.ends[tag] - 1)]
        return items

    def exact(self, rng: np.random.Generator, user: int, taken: np.ndarray, k: int) -> np.ndarray:
        """``k`` items for ``user`` without replacement, avoiding ``taken`` (Gumbel top-k)."""
        every = np.arange(len(self.pop))
        s = _affinity(np.full(len(every), user), every, self.item_tags, self.fav, self.fav_w)
        keys = np.log(self.pop) + np.log1p(AFFINITY * s) + rng.gumbel(size=len(every))
        keys[taken] = -np.inf
        return np.argsort(-keys, kind="stable")[:k]


def _first_k(u: np.ndarray, i: np.ndarray, need: np.ndarray, num_items: int):
    """Each user's first distinct items in draw order, at most ``need[user]`` of them."""
    _, first = np.unique(u * num_items + i, return_index=True)
    first.sort()
    u, i = u[first], i[first]
    order = np.argsort(u, kind="stable")
    u, i = u[order], i[order]
    rank = np.arange(len(u)) - np.searchsorted(u, u, side="left")
    keep = rank < need[u]
    return u[keep], i[keep]


def _sample(rng: np.random.Generator, sampler: _Sampler, need: np.ndarray):
    users = np.arange(len(need))
    got_u, got_i = np.empty(0, np.int64), np.empty(0, np.int64)
    for factor in (1.25, 2.0, 4.0, 8.0):
        have = np.bincount(got_u, minlength=len(need))
        short = users[have < need]
        if len(short) == 0:
            break
        mine = np.isin(got_u, short)
        rest_u, rest_i = got_u[~mine], got_i[~mine]
        per = np.ceil((need[short] - have[short]) * factor).astype(np.int64) + 2
        u = np.repeat(short, per)
        u_all = np.concatenate([got_u[mine], u])
        i_all = np.concatenate([got_i[mine], sampler.draw(rng, u)])
        new_u, new_i = _first_k(u_all, i_all, need, len(sampler.pop))
        got_u, got_i = np.concatenate([rest_u, new_u]), np.concatenate([rest_i, new_i])
    have = np.bincount(got_u, minlength=len(need))
    extra_u, extra_i = [got_u], [got_i]
    for user in users[have < need]:
        taken = got_i[got_u == user]
        extra_i.append(sampler.exact(rng, int(user), taken, int(need[user] - have[user])))
        extra_u.append(np.full(len(extra_i[-1]), user))
    u, i = np.concatenate(extra_u), np.concatenate(extra_i)
    order = np.argsort(u, kind="stable")
    return u[order], i[order]


def generate_synthetic_world(
    num_users: int = 500,
    num_items: int = 1000,
    num_tags: int = 40,
    num_interactions: int = 20000,
    seed: int = 0,
    id_prefix: str = "",
    activity_sigma: float = 0.8,
) -> tuple[Dataset, dict[str, list[str]]]:
    """Generate the synthetic dataset and each user's favourite tags.

    Args:
        num_users: users, each with at least 3 interactions.
        num_items: items, each with 2-4 tags.
        num_tags: tags taken from :func:`tag_vocabulary` (2 to its length).
        num_interactions: exact number of distinct (user, item) interactions; between
            ``3 * num_users`` and ``num_users * num_items``.
        seed: the random seed (>= 0); the same arguments give identical frames.
        id_prefix: put before every user and item id (``'syn:'`` gives ``'syn:u1'``).
        activity_sigma: the spread of the log-normal that shares the interactions among
            users (0: about equal; 0.8, the default: mean 1.4x the median; 1.25: about
            MovieLens 25M's long tail, mean 2.2x the median).

    Returns:
        The dataset named ``'synthetic'`` and ``{user_id: favourite tags, strongest first}``.

    Raises:
        InvalidParameter: (a ``ValueError`` and a ``KgrecError``) the sizes are impossible,
            the seed is negative or the prefix unusable.
    """
    _check_sizes(num_users, num_items, num_tags, num_interactions, seed)
    if not 0.0 <= activity_sigma <= 4.0:
        raise InvalidParameter(f"activity_sigma must be 0..4, got {activity_sigma}")
    prefix = check_prefix(id_prefix)
    vocab = tag_vocabulary()
    rng = np.random.default_rng(seed)
    names = np.array(vocab[:num_tags], dtype=object)
    tag_logw = -0.7 * np.log(rng.permutation(num_tags) + 1.0)
    item_tags = _pick(rng, tag_logw, num_items, 2, 4, -1)
    pop = 1.0 / (rng.permutation(num_items) + 1.0)
    fav = _pick(rng, tag_logw, num_users, 2, 3, -2)
    fav_w = np.where(fav >= 0, rng.gamma(1.0, size=fav.shape), 0.0)
    fav_w /= fav_w.sum(axis=1, keepdims=True)
    need = _user_counts(rng, num_users, num_items, num_interactions, activity_sigma)
    u, i = _sample(rng, _Sampler(pop, item_tags, fav, fav_w), need)

    s = _affinity(u, i, item_tags, fav, fav_w)
    mean = 2.6 + 1.4 * (s > 0) + 0.8 * s
    rating = np.clip(np.rint(mean + rng.normal(0.0, 0.9, len(u))), 1.0, 5.0)
    gaps = rng.integers(60, 3 * 86_400, size=len(u))
    cum = np.cumsum(gaps)
    starts = np.concatenate([[0], np.cumsum(need)[:-1]])
    before = np.repeat(cum[starts] - gaps[starts], need)
    ts = START_TS + rng.integers(0, 365 * 86_400, num_users)[u] + cum - before

    user_ids = np.array([f"{prefix}u{k}" for k in range(1, num_users + 1)], dtype=object)
    item_ids = np.array([f"{prefix}i{k}" for k in range(1, num_items + 1)], dtype=object)
    ds = Dataset(name="synthetic")
    ds.users = pd.DataFrame({"id": user_ids})
    ds.items = _items(rng, item_ids, names, item_tags)
    ds.tags = pd.DataFrame({"name": names})
    it, slot = np.nonzero(item_tags >= 0)
    ds.item_tags = pd.DataFrame(
        {"item_id": item_ids[it], "tag": names[item_tags[it, slot]], "source": "genre", "count": 1}
    )
    ds.interactions = pd.DataFrame(
        {
            "user_id": user_ids[u],
            "item_id": item_ids[i],
            "kind": "rating",
            "rating": rating,
            "weight": rating,
            "ts": ts,
            "split": "",
        }
    )
    rows = np.sort(rng.choice(len(u), size=max(1, len(u) // 50), replace=False))
    tags = _user_tag_choice(rng, item_tags[i[rows]], fav[u[rows]])
    ds.user_tags = pd.DataFrame(
        {
            "user_id": user_ids[u[rows]],
            "item_id": item_ids[i[rows]],
            "tag": names[tags],
            "ts": ts[rows],
        }
    )
    conform(ds)
    ranked = np.take_along_axis(fav, np.argsort(-fav_w, axis=1, kind="stable"), axis=1)
    prefs = {user_ids[k]: [str(names[t]) for t in ranked[k] if t >= 0] for k in range(num_users)}
    return ds, prefs


def _check_sizes(users: int, items: int, tags: int, interactions: int, seed: int) -> None:
    """Raise :class:`InvalidParameter` naming the first impossible size."""
    most = len(tag_vocabulary())
    if not 2 <= tags <= most:
        raise InvalidParameter(f"num_tags must be 2..{most}, got {tags}")
    if users < 1:
        raise InvalidParameter(f"num_users must be at least 1, got {users}")
    if items < MIN_PER_USER:
        raise InvalidParameter(
            f"num_items must be at least {MIN_PER_USER} (every user has {MIN_PER_USER} distinct "
            f"items), got {items}"
        )
    if not MIN_PER_USER * users <= interactions <= users * items:
        raise InvalidParameter(
            f"num_interactions must be {MIN_PER_USER * users:,}..{users * items:,} "
            f"for {users:,} users and {items:,} items ({MIN_PER_USER} per user up to every "
            f"item), got {interactions:,}"
        )
    if seed < 0:
        raise InvalidParameter(f"seed must be 0 or more, got {seed}")


def _items(rng: np.random.Generator, ids: np.ndarray, names: np.ndarray, item_tags) -> pd.DataFrame:
    """Unique titles ('The Silent Harbor #17') and descriptions naming each item's tags."""
    adj = rng.integers(0, len(_ADJECTIVES), len(ids))
    noun = rng.integers(0, len(_NOUNS), len(ids))
    template = rng.integers(0, len(_TEMPLATES), len(ids))
    titles, descriptions = [], []
    for k in range(len(ids)):
        titles.append(f"The {_ADJECTIVES[adj[k]]} {_NOUNS[noun[k]]} #{k + 1}")
        words = list(names[item_tags[k][item_tags[k] >= 0]])
        text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        descriptions.append(_TEMPLATES[template[k]].format(text))
    return pd.DataFrame({"id": ids, "title": titles, "description": descriptions})


def _user_tag_choice(rng: np.random.Generator, own: np.ndarray, fav: np.ndarray) -> np.ndarray:
    """For each row, one of the item's tags (``own``): a favourite one when the item has one."""
    shared = (own[:, :, None] == fav[:, None, :]).any(axis=2)
    slot = np.where(
        shared.any(axis=1), shared.argmax(axis=1), rng.integers(0, (own >= 0).sum(axis=1))
    )
    return own[np.arange(len(own)), slot]


def generate_synthetic(
    num_users: int = 500,
    num_items: int = 1000,
    num_tags: int = 40,
    num_interactions: int = 20000,
    seed: int = 0,
    id_prefix: str = "",
    activity_sigma: float = 0.8,
) -> Dataset:
    """The dataset of :func:`generate_synthetic_world` without the preferences."""
    return generate_synthetic_world(
        num_users, num_items, num_tags, num_interactions, seed, id_prefix, activity_sigma
    )[0]
