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
