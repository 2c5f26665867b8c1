"""The pages' match evidence says in English exactly what the library says."""

from __future__ import annotations

import itertools
from typing import Any

from dalil.similar import words
from dalil.web import evidence

VARIANTS = [
    None,
    "original",
    "rotate-90",
    "rotate-180",
    "flip-y",
    "flip-minus-1",
    "negative",
    "negative+rotate-90",
    "mirrored",
    "part:top-left",
    "part:bottom",
    "part:somewhere-else",
    "part:uncovered",
    "unknown",
]
SIGNALS: list[dict[str, Any] | None] = [
    None,
    {},
    {"same_camera": True, "seconds_apart": 12.4},
    {"same_camera": True, "seconds_apart": None},
    {"same_camera": False, "seconds_apart": 3},
]


def test_the_english_is_the_librarys() -> None:
    for stage, variant, distance, inliers, signals, covered in itertools.product(
        ("pdq", "orb"), VARIANTS, (None, 0, 12), (None, 0, 57), SIGNALS, (None, 0.0, 0.234)
    ):
        args = (stage, variant, distance, inliers, signals, covered)
        assert evidence.describe(*args) == words.describe(*args), args


def test_a_link_is_described_from_its_fields() -> None:
    link = {"a": "x", "b": "y", "stage": "pdq", "variant": "flip-y", "distance": 0}
    assert evidence.sentence(link) == "identical picture, mirror image"


def test_the_picture_without_its_band_is_not_called_a_part() -> None:
    said = words.describe("orb", "part:uncovered", 90, 40, None, 0.3)
    assert said.startswith("same picture with a band along its edge left out"), said
    assert "part of the picture" not in said


def test_a_page_in_arabic_translates_and_shows_its_digits() -> None:
    from dalil.web import render

    tokens = (render._LANGUAGE.set("ar"), render._DIGITS.set("arabic-indic"))
    try:
        said = evidence.describe("orb", "mirrored", 90, 57)
    finally:
        render._DIGITS.reset(tokens[1])
        render._LANGUAGE.reset(tokens[0])
    assert "mirror" not in said and "\u0665\u0667" in said, said  # 57 in Arabic-Indic digits
