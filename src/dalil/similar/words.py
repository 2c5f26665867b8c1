"""Match evidence in plain words: only what the evidence supports.

A fingerprint match (PDQ) says the two are the same picture, and which turn or reflection of
one fits the other; a local-feature match says that many distinctive points of one picture
are found, in the same arrangement, in the other — a crop, a re-framing, a caption, a photo of
a screen, or another shot of the same scene; which one, the evidence alone cannot tell. The
expert details (stage, variant, distance, points) stay in the JSON and the evidence tables.

The words are English (the command line, the JSON, the catalogue); the web pages pass their
``gettext`` and digits (:mod:`dalil.web.evidence`), and the messages are in the translation
catalogue (:mod:`dalil.i18n.catalogue` reads this module).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def N_(message: str) -> str:  # gettext's marker: extracted here, translated where shown
    return message


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

UNCOVERED = "part:uncovered"  # the picture with a band along an edge left out (not a part)


def _same(text: str) -> str:
    return text


def describe(
    stage: str,
    variant: str | None,
    distance: int | None,
    inliers: int | None = None,
    signals: Mapping[str, Any] | None = None,
    covered: float | None = None,
    *,
    gettext: Callable[[str], str] = _same,
    digits: Callable[[str], str] = _same,
) -> str:
    """How two pictures are related, for people: in English, or with a reader's ``gettext``
    and ``digits`` (how numbers are shown)."""
    _ = gettext

    def turn(name: str) -> str:
        words = _TURNS.get(name, "")
        return _(words) if words else ""

    if stage == "pdq":
        if str(variant).startswith("negative"):
            return _("same picture as a negative (light and dark swapped)") + turn(
                str(variant).partition("+")[2]
            )
        if distance == 0:
            return _("identical picture") + turn(str(variant))
        return _("same picture, re-compressed or resized") + turn(str(variant))
    points = _(" (%(n)s matching points)") % {"n": digits(str(inliers))} if inliers else ""
    if covered:
        points += _("; about %(share)s of it covered (a caption, banner or sticker)") % {
            "share": digits(f"{covered:.0%}")
        }
    if variant == UNCOVERED:
        return _(
            "same picture with a band along its edge left out (a caption or banner)%(points)s"
        ) % {"points": points}
    if variant and str(variant).startswith("part:"):
        part = str(variant).split(":", 1)[1]
        where = _(_PARTS[part]) if part in _PARTS else part.replace("-", " ")
        return _(
            "found in a part of the picture (%(where)s): a collage, a screenshot of a post or"
            " a page holding it%(points)s"
        ) % {"where": where, "points": points}
    if variant == "mirrored":
        return _("mirror image, cropped or re-framed, or the same scene mirrored%(points)s") % {
            "points": points
        }
    signals = signals or {}
    if signals.get("same_camera") and signals.get("seconds_apart") is not None:
        seconds = digits(f"{float(signals['seconds_apart']):.0f}")
        return _(
            "same scene: details agree%(points)s; taken by the same camera %(seconds)s s apart"
        ) % {"points": points, "seconds": seconds}
    return _("same picture cropped or re-framed, or the same scene in another shot%(points)s") % {
        "points": points
    }
