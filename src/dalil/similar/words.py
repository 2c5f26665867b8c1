"""Match evidence in plain words: only what the evidence supports.

A fingerprint match (PDQ) says the two are the same picture, and which turn or reflection of
one fits the other; a local-feature match says that many distinctive points of one picture
are found, in the same arrangement, in the other — a crop, a re-framing, a caption, a photo of
a screen, or another shot of the same scene; which one, the evidence alone cannot tell. The
expert details (stage, variant, distance, points) stay in the JSON and the evidence tables.
"""

from __future__ import annotations

from typing import Any

_TURNS = {
    "original": "",
    "rotate-90": ", turned a quarter turn",
    "rotate-180": ", upside down",
    "rotate-270": ", turned a quarter turn",
    "flip-x": ", mirror image (upside down)",
    "flip-y": ", mirror image",
    "flip-plus-1": ", mirror image turned a quarter turn",
    "flip-minus-1": ", mirror image turned a quarter turn",
}


def describe(
    stage: str,
    variant: str | None,
    distance: int | None,
    inliers: int | None = None,
    signals: dict[str, Any] | None = None,
    covered: float | None = None,
) -> str:
    """How two pictures are related, for people."""
    if stage == "pdq":
        if str(variant).startswith("negative"):
            turn = str(variant).partition("+")[2]
            return "same picture as a negative (light and dark swapped)" + _TURNS.get(turn, "")
        copy = "identical picture" if distance == 0 else "same picture, re-compressed or resized"
        return copy + _TURNS.get(str(variant), "")
    points = f" ({inliers} matching points)" if inliers else ""
    if covered:
        points += f"; about {covered:.0%} of it covered (a caption, banner or sticker)"
    if variant and str(variant).startswith("part:"):
        where = str(variant).split(":", 1)[1].replace("-", " ")
        return (
            f"found in a part of the picture ({where}): a collage, a screenshot of a post or"
            f" a page holding it{points}"
        )
    if variant == "mirrored":
        return f"mirror image, cropped or re-framed, or the same scene mirrored{points}"
    signals = signals or {}
    if signals.get("same_camera") and signals.get("seconds_apart") is not None:
        seconds = float(signals["seconds_apart"])
        return f"same scene: details agree{points}; taken by the same camera {seconds:.0f} s apart"
    return f"same picture cropped or re-framed, or the same scene in another shot{points}"
