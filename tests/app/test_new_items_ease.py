"""Items added while the default model (ease) serves: placed from their text and tags by
its ridge map, served and explained at once, and no obstacle to a user who chose one."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec import Recommender


def test_ease_serves_an_added_item_near_the_items_that_share_its_tags(history_world):
    uri, graph, _, models, dataset = history_world
    first = dataset.items["id"].iloc[0]
    tags = dataset.item_tags.loc[dataset.item_tags["item_id"] == first, "tag"].tolist()
    with Recommender.open(uri, models, graph=graph) as rec:
        out = rec.add_item("fresh", "Fresh Arrival", text="a new film", tags=tags)
        assert out["served"]
        cat = rec._cat
        sims = cat.unit @ cat.unit[cat.index["fresh"]]
        sharing = set(dataset.item_tags.loc[dataset.item_tags["tag"].isin(tags), "item_id"])
        inside = np.mean([sims[cat.index[i]] for i in sharing])
        outside = np.mean(
            [sims[j] for i, j in cat.index.items() if i not in sharing and i != "fresh"]
        )
        assert inside > outside
        user = dataset.users["id"].iloc[0]
        served = {r.item_id: r.score for r in rec.recommend(user, k=10_000, explain=False)}
        ex = rec.explain(user, "fresh")
        assert ex.score == pytest.approx(served["fresh"], rel=1e-6)
        assert ex.paths or ex.note  # the store's paths to it (its tags), or why there are none
        rec.record_interaction(user, "fresh")
        recs = rec.recommend(user, k=3)
        assert len(recs) == 3 and "fresh" not in {r.item_id for r in recs}
