"""Match evidence in the reader's language: :func:`dalil.similar.words.describe` with the
page's ``gettext`` and digits.

Called while a page renders (``{{ match_words(link) }}``), so that the sentence is in the
page's language and its numbers in the reader's digits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dalil.similar import words
from dalil.web.render import gettext, shown


def sentence(link: Mapping[str, Any]) -> str:
    """How the two pictures of ``link`` (one of a cluster's links) are related."""
    return describe(
        str(link["stage"]),
        link.get("variant"),
        link.get("distance"),
        link.get("inliers"),
        link.get("signals"),
    )


def describe(
    stage: str,
    variant: str | None,
    distance: int | None,
    inliers: int | None = None,
    signals: Mapping[str, Any] | None = None,
    covered: float | None = None,
) -> str:
    """:func:`dalil.similar.words.describe` in the page's language and digits."""
    return words.describe(
        stage, variant, distance, inliers, signals, covered, gettext=gettext, digits=shown
    )
