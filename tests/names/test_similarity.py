"""similarity: a score in [0, 1] on comparison forms, order-tolerant."""

from __future__ import annotations

import pytest

from dalil.names import similarity


def test_same_name_in_either_script_scores_one() -> None:
    assert similarity("محمد", "Mohammed") == 1.0
    assert similarity("عبد الرحمن الحلبي", "Abdul Rahman al-Halabi") == 1.0


def test_order_does_not_matter() -> None:
    assert similarity("Ahmad al-Hamwi", "Hamwi Ahmed") == 1.0
    assert similarity("Ahmad Khaled Hamwi", "Hamwi Ahmad Khaled") == 1.0


def test_a_missing_word_costs_a_little() -> None:
    score = similarity("Ahmad Khaled Hamwi", "Ahmad Hamwi")
    assert 0.9 < score < 1.0
    assert similarity("Ahmad Hamwi", "Ahmad Halabi") < score


def test_spelling_variants_left_apart_by_the_forms_score_high() -> None:
    assert similarity("Hamwi", "Hamawi") >= 0.9
    assert similarity("Younes", "Yunus") >= 0.9


@pytest.mark.parametrize(
    ("a", "b"),
    [("Hasan", "Husayn"), ("Ahmad", "Hamid"), ("Mahmoud", "Muhammad"), ("Omar", "Ammar"),
     ("Ali", "Alaa"), ("حسن", "Hussein"), ("عمر", "Ammar"), ("Lina", "Lana")],
)  # fmt: skip
def test_different_names_score_below_the_fuzzy_level(a: str, b: str) -> None:
    assert similarity(a, b) < 0.9


def test_a_long_shared_beginning_is_left_to_the_exact_level() -> None:
    # Jaro-Winkler rewards the shared prefix: Jamal/Jamil and Kamal/Kamil pass 0.9, so a
    # linkage model needs the exact comparison-form level above the fuzzy one to tell them.
    assert similarity("Jamal", "Jamil") > 0.9
    assert similarity("Jamal", "Jamal") == 1.0


def test_range_symmetry_and_empty_names() -> None:
    pairs = [("Ahmad", "Zaynab"), ("a", "b"), ("Ahmad Khaled", "Khaled"), ("محمد", "x")]
    for a, b in pairs:
        assert 0.0 <= similarity(a, b) <= 1.0
        assert similarity(a, b) == similarity(b, a)
    assert similarity("", "") == similarity("Ahmad", "") == similarity("😀", "Ahmad") == 0.0
