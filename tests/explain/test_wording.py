"""Every sentence an explanation tells, for each path kind and each note."""

from __future__ import annotations

import pytest

from kgrec.explain import wording
from kgrec.explain.reasons import Reason, ReasonItem, union_share
from kgrec.explain.types import CandidatePath, Explanation, ExplanationPath, Node

USER = Node("user", "u1", "user u1")
ALIEN = Node("item", "i1", "Alien")
ALIENS = Node("item", "i2", "Aliens")


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (0.42, "42%"),
        (0.5, "50%"),
        (0.0123, "1%"),
        (0.003, "<1%"),
        (0.0, "0%"),
        (1.0, "100%"),
        (1.04, "104%"),
        (3.1, "310%"),
        (1e-12, "<1%"),
        (-0.07, "-7%"),
        (float("nan"), "n/a"),
    ],
)
def test_percent_is_a_plain_whole_percentage(share, text):
    assert wording.percent(share) == text
    assert "e+" not in wording.percent(share) and "e-" not in wording.percent(share)


@pytest.mark.parametrize(
    ("path", "sentence"),
    [
        (
            CandidatePath(
                "shared_tag",
                (USER, ALIEN, Node("tag", "horror", "horror"), ALIENS),
                ("INTERACTED", "HAS_TAG", "HAS_TAG"),
                4.5,
            ),
            "You rated Alien (4.5); Alien and Aliens share the tag 'horror'.",
        ),
        (
            CandidatePath(
                "shared_tag",
                (USER, ALIEN, Node("tag", "horror", "horror"), ALIENS),
                ("INTERACTED", "HAS_TAG", "HAS_TAG"),
                float("nan"),
            ),
            "You interacted with Alien; Alien and Aliens share the tag 'horror'.",
        ),
        (
            CandidatePath(
                "user_tag",
                (USER, Node("tag", "dark", "dark"), ALIENS),
                ("TAGGED", "HAS_TAG"),
                tagged_title="Alien",
            ),
            "You tagged Alien 'dark'; Aliens has that tag too.",
        ),
        (
            CandidatePath(
                "entity",
                (USER, ALIEN, Node("entity", "e1", "Ridley Scott"), ALIENS),
                ("INTERACTED", "RELATED", "RELATED"),
                None,
                relation="director",
            ),
            "You interacted with Alien; Alien and Aliens are both linked to Ridley Scott "
            "(director).",
        ),
        (
            CandidatePath(
                "co_users",
                (USER, ALIEN, Node("user", "u7", "user u7"), ALIENS),
                ("INTERACTED",) * 3,
                3.0,
                co_users=4,
            ),
            "You rated Alien (3.0); 4 other users who chose Alien also chose Aliens.",
        ),
        (
            CandidatePath(
                "co_users",
                (USER, ALIEN, Node("user", "u7", "user u7"), ALIENS),
                ("INTERACTED",) * 3,
                3.0,
            ),
            "You rated Alien (3.0); another user who chose Alien also chose Aliens.",
        ),
    ],
)
def test_path_sentences(path, sentence):
    assert wording.path_sentence(path) == sentence


def test_shares_text_names_the_interaction_and_the_path():
    path = ExplanationPath(
        "shared_tag", [USER, ALIEN, ALIENS], ["A", "B"], 0.1, 0.009, "s.", interaction_share=0.041
    )
    assert path.shares_text() == "[Alien: 4% of the score; this path: 1%]"
    path.interaction_share = 0.0
    assert path.shares_text() == "[this path: 1%]"
    path.share = None
    assert path.shares_text() == ""


def test_shares_text_of_a_model_without_walks_names_the_interaction_only():
    path = ExplanationPath(
        "shared_tag", [USER, ALIEN, ALIENS], ["A", "B"], 0.0, None, "s.", interaction_share=0.041
    )
    assert path.shares_text() == "[Alien: 4% of the score]"


def _reason(kind, items, share, label="sci-fi", relation=None):
    members = [ReasonItem(f"i{n}", t, r, c) for n, (t, r, c) in enumerate(items)]
    well = sum(1 for _, r, _ in items if r and r >= 3.6)
    total = sum(c for *_, c in items)
    return Reason(kind, label, label, members, total, share, relation=relation, rated_well=well)


def test_reason_sentences_give_the_group_its_ratings_and_its_exact_share():
    tag = _reason("tag", [("Alien", 5.0, 0.3), ("Predator", 4.0, 0.2), ("Dune", 2.0, 0.1)], 0.64)
    assert wording.reason_sentence(tag, "Aliens", 3.6) == (
        "Aliens shares the tag 'sci-fi' with 3 items you chose, 2 of them rated at or above "
        "your average (3.6), Alien (5.0) and Predator (4.0) most; together they carry 64% of "
        "its score."
    )
    rated = _reason("tag", [("Alien", 5.0, 0.3), ("Predator", 4.0, 0.2)], 0.5)
    assert wording.reason_sentence(rated, "Aliens", 3.6) == (
        "Aliens shares the tag 'sci-fi' with 2 items you rated at or above your average "
        "(3.6), Alien (5.0) and Predator (4.0) most; together they carry 50% of its score."
    )
    one = _reason("tag", [("Alien", 5.0, 0.3)], 0.3)
    assert wording.reason_sentence(one, "Aliens", 3.6) == (
        "Aliens shares the tag 'sci-fi' with Alien (5.0), which you rated; that interaction "
        "carries 30% of its score."
    )
    ent = _reason(
        "entity",
        [("Alien", None, 0.3), ("Titanic", None, 0.1)],
        0.4,
        label="James Cameron",
        relation="director",
    )
    assert wording.reason_sentence(ent, "Aliens", None) == (
        "Aliens and 2 items you chose are linked to James Cameron (director), Alien and "
        "Titanic most; together they carry 40% of its score."
    )
    item = _reason("item", [("Alien", 5.0, -0.1)], -0.05, label="Alien")
    assert wording.reason_sentence(item, "Aliens", 3.6) == (
        "You rated Alien (5.0); that interaction alone lowers its score by 5%."
    )
    unshared = _reason("item", [("Alien", 5.0, 0.1)], None, label="Alien")
    assert wording.reason_sentence(unshared, "Aliens", 3.6) == "You rated Alien (5.0)."
    assert union_share([tag, one], 1.0) == pytest.approx(0.6)  # Alien counted once
    assert union_share([tag, one], 2.0) == pytest.approx(0.3)  # over the positive terms


def test_a_path_from_an_interaction_below_the_mean_is_told_despite_it():
    path = CandidatePath(
        "shared_tag",
        (USER, ALIEN, Node("tag", "horror", "horror"), ALIENS),
        ("INTERACTED", "HAS_TAG", "HAS_TAG"),
        1.0,
    )
    assert wording.path_sentence(path, mean=3.6) == (
        "Alien and Aliens share the tag 'horror', despite your rating of Alien (1.0, below "
        "your average of 3.6)."
    )
    assert wording.path_sentence(path, mean=1.0).startswith("You rated Alien (1.0); ")
    co = CandidatePath(
        "co_users", (USER, ALIEN, Node("user", "u7", "user u7"), ALIENS), ("INTERACTED",) * 3, 2.0
    )
    assert wording.path_sentence(co, mean=3.0).startswith("Another user who chose Alien also")


def test_other_text_tells_what_the_reasons_leave_out():
    assert wording.other_text(None) == ""
    assert wording.other_text(0.36, 0.08) == (
        "The rest, 36%, comes from interactions not named above (those rated below your "
        "average among them) and the model's own terms; interactions that count against it "
        "take away 8%."
    )
    assert wording.other_text(0.0004).startswith("The rest, <1%, comes")
    ex = Explanation("u1", "i2", "Aliens", 0.8)
    assert ex.other_sentence == ""  # nothing told, nothing left out


def test_notes():
    ex = Explanation(
        "u1",
        "i2",
        "Aliens",
        0.8,
        [ExplanationPath("x", [], [], 0, 0, "s.")],
        explained_share=0.25,
        num_paths=7,
    )
    assert wording.paths_note(ex, folded_in=False) == (
        "7 paths of up to 3 hops join you to Aliens; they leave through interactions that "
        "carry 25% of its score."
    )
    assert wording.paths_note(ex, folded_in=True).endswith(
        "(the user is newer than the model; folded in)."
    )
    ex.explained_share = None
    assert wording.paths_note(ex, folded_in=False) == "7 paths join you to Aliens."
    assert wording.popular_note("Aliens", 12) == (
        "No interactions yet: Aliens is popular (12 interactions)."
    )
    assert "its text is closest to Alien, which you rated (cosine 0.83)" in (
        wording.no_path_note("Aliens", ("Alien", 0.834))
    )
    assert wording.no_path_note("Aliens", None).startswith("No path of up to 3 hops")
    assert wording.new_user_note(("Alien", 1.0), None, "") == (
        "Because you liked Alien (100% of its score)."
    )
    assert wording.new_user_note(("Alien", 0.6), None, "", liked_count=3) == (
        "Because you liked Alien with the 3 items you liked (60% of its score)."
    )
    assert wording.new_user_note(None, ("Moon", 0.9), "space") == (
        "Close to Moon, one of the items that match your description 'space' (90% of its score)."
    )
    assert wording.new_user_note(("Alien", 0.35), ("Moon", 0.65), "space horror") == (
        "Because you liked Alien and described 'space horror': the items you liked carry 35% "
        "of its score, your description 65% (through Moon most)."
    )
    assert wording.new_user_popular_note(3) == "A popular item (3 interactions)."
