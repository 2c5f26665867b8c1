"""Match evidence in the reader's language: :func:`dalil.similar.words.describe`, sentence for
sentence, for the pages (the library's English stays in the catalogue, the JSON and the CLI).

Called while a page renders (``{{ match_words(link) }}``), so that the sentence is in the
page's language and its numbers in the reader's digits; ``tests/web/test_evidence.py`` keeps
the English identical to the library's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dalil.i18n import N_
from dalil.web.render import gettext, shown

_TURNS = {
    "original": "",
    "rotate-90": N_(", turned a quarter turn"),
    "rotate-180": N_(", upside down"),
    "rotate-270": N_(", turned a quarter turn"),
    "flip-x": N_(", mirror image (upside down)"),
    "flip-y": N_(", mirror image"),
    "flip-plus-1": N_(", mirror image turned a quarter turn"),
    "flip-minus-1": N_(", mirror image turned a quarter turn"),
}

_PARTS = {
    "top-left": N_("top left"),
    "top-right": N_("top right"),
    "bottom-left": N_("bottom left"),
    "bottom-right": N_("bottom right"),
    "left": N_("left"),
    "right": N_("right"),
    "top": N_("top"),
    "bottom": N_("bottom"),
}
"""The parts of a picture a match can be found in (``part:<which>``, see
:func:`dalil.similar.matcher.part_probes`)."""


def _turn(variant: str) -> str:
    words = _TURNS.get(variant, "")
    return gettext(words) if words else ""


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
    """How two pictures are related, for people (the arguments of the library's ``describe``)."""
    if stage == "pdq":
        if str(variant).startswith("negative"):
            turn = _turn(str(variant).partition("+")[2])
            return gettext("same picture as a negative (light and dark swapped)") + turn
        if distance == 0:
            return gettext("identical picture") + _turn(str(variant))
        return gettext("same picture, re-compressed or resized") + _turn(str(variant))
    points = gettext(" (%(n)s matching points)") % {"n": shown(inliers)} if inliers else ""
    if covered:
        points += gettext("; about %(share)s of it covered (a caption, banner or sticker)") % {
            "share": shown(f"{covered:.0%}")
        }
    if variant and str(variant).startswith("part:"):
        part = str(variant).split(":", 1)[1]
        where = gettext(_PARTS[part]) if part in _PARTS else part.replace("-", " ")
        return gettext(
            "found in a part of the picture (%(where)s): a collage, a screenshot of a post or"
            " a page holding it%(points)s"
        ) % {"where": where, "points": points}
    if variant == "mirrored":
        return gettext(
            "mirror image, cropped or re-framed, or the same scene mirrored%(points)s"
        ) % {"points": points}
    signals = signals or {}
    if signals.get("same_camera") and signals.get("seconds_apart") is not None:
        seconds = shown(f"{float(signals['seconds_apart']):.0f}")
        return gettext(
            "same scene: details agree%(points)s; taken by the same camera %(seconds)s s apart"
        ) % {"points": points, "seconds": seconds}
    return gettext(
        "same picture cropped or re-framed, or the same scene in another shot%(points)s"
    ) % {"points": points}
