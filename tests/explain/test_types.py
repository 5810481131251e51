"""The result types: conversions keep what they are given."""

from __future__ import annotations

from kgrec.explain.types import Explanation, ExplanationPath, Node, Recommendation, Recommendations


def _explanation() -> Explanation:
    user, via = Node("user", "u1", "user u1"), Node("item", "i1", "Alien")
    tag, rec = Node("tag", "horror", "horror"), Node("item", "i2", "Aliens")
    path = ExplanationPath(
        "shared_tag",
        [user, via, tag, rec],
        ["INTERACTED", "HAS_TAG", "HAS_TAG"],
        0.2,
        0.25,
        "s.",
        0.5,
    )
    return Explanation("u1", "i2", "Aliens", 0.8, [path], 0.25, 1, "note")


def test_recommendations_carry_the_model_version_and_convert():
    recs = Recommendations(
        [
            Recommendation(1, "i2", "Aliens", 0.8, _explanation()),
            Recommendation(2, "i3", "Prometheus", 0.5),
        ],
        model_version="20260101T000000Z-lightgcn",
    )
    assert recs.model_version == "20260101T000000Z-lightgcn" and len(recs) == 2
    frame = recs.to_frame()
    assert list(frame["item_id"]) == ["i2", "i3"]
    assert frame.loc[0, "explanation"] == "s." and frame["explanation"].isna().tolist() == [
        False,
        True,
    ]
    dicts = recs.to_dicts()
    assert dicts[0]["explanation"]["paths"][0]["interaction_share"] == 0.5
    assert "explanation" not in dicts[1]


def test_networkx_edges_point_the_stored_way():
    graph = _explanation().to_networkx()
    edges = {(a, b, d["type"]) for a, b, d in graph.edges(data=True)}
    assert edges == {
        ("user:u1", "item:i1", "INTERACTED"),
        ("item:i1", "tag:horror", "HAS_TAG"),
        ("item:i2", "tag:horror", "HAS_TAG"),
    }
