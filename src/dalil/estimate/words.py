"""What an estimate can and cannot say, in plain words (the same on screen and on the web)."""

from __future__ import annotations

import math
from typing import Any

METHOD_NAMES = {
    "lcmcr": "the latent-class method (Bayesian; it lets people differ in how findable they are)",
    "dga": "Bayesian averaging over models of how the lists depend on each other",
    "loglinear": "the log-linear method (models of how the lists depend on each other)",
}
"""Each method as a sentence can name it."""


def number(value: float | None) -> str:
    """A count as people write it: whole, with thousands separated (``no end`` for an end
    of an interval that has none)."""
    if value is None or not math.isfinite(value):
        return "no end"
    return f"{value:,.0f}"


def interval(lo: float | None, hi: float | None) -> str:
    """An interval in words: ``689 to 799``, or ``713 or more (no upper end)``."""
    if hi is None or not math.isfinite(hi):
        return f"{number(lo)} or more (no upper end)"
    return f"{number(lo)} to {number(hi)}"


def unseen(result: dict[str, Any]) -> tuple[float, float | None, float | None]:
    """The estimate of the people on no list, and its interval (an end None where there is
    none)."""
    observed = int(result["observed"])
    lo, hi = result["interval"]
    return (
        max(float(result["estimate"]) - observed, 0.0),
        None if lo is None else max(float(lo) - observed, 0.0),
        None if hi is None else max(float(hi) - observed, 0.0),
    )


def meaning(result: dict[str, Any], unconfirmed: int | None = None) -> list[str]:
    """Paragraphs on what the estimate ``result`` (its JSON) says and what it cannot say;
    ``unconfirmed``: how many links used were not confirmed by reviewers, when known."""
    lists = result["lists"]
    observed, est = int(result["observed"]), float(result["estimate"])
    lo, hi = result["interval"]
    level = float(result["level"])
    kind = "confidence" if result["method"] == "loglinear" else "credible"
    said = (
        f"This is an estimate, not a count. {number(observed)} people are on at least one of"
        f" the {len(lists)} lists ({', '.join(lists)}). From how the lists overlap,"
        f" {METHOD_NAMES.get(result['method'], result['method'])} estimates that about"
        f" {number(est)} people were in the population the lists draw from, so about"
        f" {number(max(est - observed, 0))} are on none of them. The {level:.0%} {kind} interval"
        f" is {interval(lo, hi)}: numbers in that range are consistent with the lists under"
        " the model's assumptions; it does not cover mistakes in the assumptions."
    )
    linkage = (
        "It assumes the records were linked correctly. Records of one person left unlinked"
        " make people seem to be on fewer lists and the estimate too high; different people"
        " linked together make it too low."
    )
    if unconfirmed:
        linkage += (
            f" {number(unconfirmed)} of the links used are probable links no reviewer has"
            " confirmed."
        )
    cannot = (
        "What it cannot say: who the missing people are, or when and where they were lost."
        " It assumes a closed population — that everyone counted could have been on every"
        " list over the same period; deaths, releases and new arrests while the lists were"
        " being made break that. "
        + linkage
        + " And it assumes that the ways in which people differ in how likely they are to be"
        " recorded (heterogeneity: some are well known, some lived where no list reached) are"
        " captured by the model; people no list could ever reach are in no estimate. Quote the"
        " interval with the number, and the lists it comes from."
    )
    out = [said, cannot]
    if result.get("strata"):
        out.append(
            f"The lists were split into {len(result['strata'])} strata, each estimated on its"
            " own and added up draw by draw; a stratum with few people gives an unstable"
            " estimate of its own."
        )
    return out


def model_label(model: dict[str, Any]) -> str:
    """A model as a line of a table: its name, else what the method recorded of it."""
    for key in ("model", "name", "graph", "terms"):
        if model.get(key) not in (None, "", []):
            value = model[key]
            return value if isinstance(value, str) else " ".join(map(str, value))
    return ", ".join(f"{k} {v}" for k, v in model.items() if k not in ("weight",))


def model_weight(model: dict[str, Any]) -> str:
    for key in ("weight", "probability", "posterior"):
        value = model.get(key)
        if isinstance(value, int | float):
            return f"{value:.3f}"
    return "—"
