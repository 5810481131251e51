"""Every sentence an explanation tells, for each path kind and each note."""

from __future__ import annotations

import pytest

from kgrec.explain import wording
from kgrec.explain.reasons import Reason, ReasonItem, union_share
from kgrec.explain.types import CandidatePath, Explanation, ExplanationPath, Node

USER = Node("user", "u1", "user u1")
ALIEN = Node("item", "i1", "Alien")
ALIENS = Node("item", "i2", "Aliens")


def test_percent_keeps_two_significant_digits():
    assert wording.percent(0.0123) == "1.2%"
    assert wording.percent(0.5) == "50%"


@pytest.mark.parametrize(
    ("path", "sentence"),
    [
        (CandidatePath("shared_tag", (USER, ALIEN, Node("tag", "horror", "horror"), ALIENS),
                       ("INTERACTED", "HAS_TAG", "HAS_TAG"), 4.5),
         "You rated Alien (4.5); Alien and Aliens share the tag 'horror'."),
        (CandidatePath("shared_tag", (USER, ALIEN, Node("tag", "horror", "horror"), ALIENS),
                       ("INTERACTED", "HAS_TAG", "HAS_TAG"), float("nan")),
         "You interacted with Alien; Alien and Aliens share the tag 'horror'."),
        (CandidatePath("user_tag", (USER, Node("tag", "dark", "dark"), ALIENS),
                       ("TAGGED", "HAS_TAG"), tagged_title="Alien"),
         "You tagged Alien 'dark'; Aliens has that tag too."),
        (CandidatePath("entity", (USER, ALIEN, Node("entity", "e1", "Ridley Scott"), ALIENS),
                       ("INTERACTED", "RELATED", "RELATED"), None, relation="director"),
         "You interacted with Alien; Alien and Aliens are both linked to Ridley Scott "
         "(director)."),
        (CandidatePath("co_users", (USER, ALIEN, Node("user", "u7", "user u7"), ALIENS),
                       ("INTERACTED",) * 3, 3.0, co_users=4),
         "You rated Alien (3.0); 4 other users who chose Alien also chose Aliens."),
        (CandidatePath("co_users", (USER, ALIEN, Node("user", "u7", "user u7"), ALIENS),
                       ("INTERACTED",) * 3, 3.0),
         "You rated Alien (3.0); another user who chose Alien also chose Aliens."),
    ],
)  # fmt: skip
def test_path_sentences(path, sentence):
    assert wording.path_sentence(path) == sentence


def test_shares_text_names_the_interaction_and_the_path():
    path = ExplanationPath("shared_tag", [USER, ALIEN, ALIENS], ["A", "B"], 0.1, 0.009,
                           "s.", interaction_share=0.041)  # fmt: skip
    assert path.shares_text() == "[Alien: 4.1% of the score; this path: 0.9%]"
    path.interaction_share = 0.0
    assert path.shares_text() == "[this path: 0.9%]"
    path.share = None
    assert path.shares_text() == ""


def test_shares_text_of_a_model_without_walks_names_the_interaction_only():
    path = ExplanationPath("shared_tag", [USER, ALIEN, ALIENS], ["A", "B"], 0.0, None,
                           "s.", interaction_share=0.041)  # fmt: skip
    assert path.shares_text() == "[Alien: 4.1% of the score]"


def _reason(kind, items, share, label="sci-fi", relation=None):
    members = [ReasonItem(f"i{n}", t, r, c) for n, (t, r, c) in enumerate(items)]
    well = sum(1 for _, r, _ in items if r and r >= 3.6)
    total = sum(c for *_, c in items)
    return Reason(kind, label, label, members, total, share, relation=relation, rated_well=well)


def test_reason_sentences_give_the_group_its_ratings_and_its_exact_share():
    tag = _reason("tag", [("Alien", 5.0, 0.3), ("Predator", 4.0, 0.2), ("Dune", 2.0, 0.1)], 0.64)
    assert wording.reason_sentence(tag, "Aliens", 3.6) == (
        "Aliens shares the tag 'sci-fi' with 3 items you rated, 2 of them at or above your "
        "average (3.6), Alien (5.0) and Predator (4.0) most; together they carry 64% of its "
        "score."
    )
    one = _reason("tag", [("Alien", 5.0, 0.3)], 0.3)
    assert wording.reason_sentence(one, "Aliens", 3.6) == (
        "Aliens shares the tag 'sci-fi' with Alien (5.0), which you rated; that interaction "
        "carries 30% of its score."
    )
    ent = _reason("entity", [("Alien", None, 0.3), ("Titanic", None, 0.1)], 0.4,
                  label="James Cameron", relation="director")  # fmt: skip
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


def test_notes():
    ex = Explanation("u1", "i2", "Aliens", 0.8, [ExplanationPath("x", [], [], 0, 0, "s.")],
                     explained_share=0.25, num_paths=7)  # fmt: skip
    assert wording.paths_note(ex, folded_in=False) == (
        "7 paths of up to 3 hops join you to Aliens; together they account for 25% of its score."
    )
    assert wording.paths_note(ex, folded_in=True).endswith("(the user is newer than the "
                                                           "model; folded in).")  # fmt: skip
    ex.explained_share = None
    assert wording.paths_note(ex, folded_in=False) == "7 paths join you to Aliens."
    assert wording.popular_note("Aliens", 12) == (
        "No interactions yet: Aliens is popular (12 interactions)."
    )
    assert "its text is closest to Alien, which you rated (cosine 0.83)" in (
        wording.no_path_note("Aliens", ("Alien", 0.834))
    )
    assert wording.no_path_note("Aliens", None).startswith("No path of up to 3 hops")
    assert wording.new_user_liked_note("Alien", 0.5).startswith("Because you liked Alien")
    assert "match your description 'space'" in wording.new_user_text_note("Alien", 0.5, "space")
    assert wording.new_user_popular_note(3) == "A popular item (3 interactions)."
