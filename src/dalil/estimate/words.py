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


def percent(level: float) -> str:
    """An interval's level as people write it, never rounded into a claim it does not make:
    ``95%``, ``97.5%``, ``99.9%`` (not ``100%``)."""
    return f"{round(float(level) * 100, 4):g}%"


def interval(lo: float | None, hi: float | None) -> str:
    """An interval in words: ``689 to 799``, or ``713 or more (no upper end)``."""
    if hi is None or not math.isfinite(hi):
        return f"{number(lo)} or more (no upper end)"
    return f"{number(lo)} to {number(hi)}"


def unseen(result: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    """The estimate of the people on no list, and its interval (None where there is none: no
    estimate, or an interval with no upper end)."""
    observed = int(result["observed"])
    est = result["estimate"]
    lo, hi = result["interval"]
    return (
        None if not finite(est) else max(float(est) - observed, 0.0),
        None if not finite(lo) else max(float(lo) - observed, 0.0),
        None if not finite(hi) else max(float(hi) - observed, 0.0),
    )


def finite(value: Any) -> bool:
    """Whether a number of a result's JSON is there and finite (None is neither)."""
    return isinstance(value, int | float) and math.isfinite(value)


def meaning(result: dict[str, Any], unconfirmed: int | None = None) -> list[str]:
    """Paragraphs on what the estimate ``result`` (its JSON) says and what it cannot say;
    ``unconfirmed``: how many links used were not confirmed by reviewers, when known."""
    lists = result["lists"]
    observed = int(result["observed"])
    lo, hi = result["interval"]
    level = float(result["level"])
    kind = "confidence" if result["method"] == "loglinear" else "credible"
    method = METHOD_NAMES.get(result["method"], result["method"])
    on = (
        f"{number(observed)} people are on at least one of the {len(lists)} lists"
        f" ({', '.join(lists)})."
    )
    if not finite(result["estimate"]):
        said = (
            f"There is no estimate here. {on} The lists overlap too little for {method} to say"
            f" how many people are on none of them: the population held at least"
            f" {number(observed)} people, perhaps very many more. The {percent(level)} {kind}"
            f" interval is {interval(lo, hi)}. Other lists, or lists that share more people,"
            " are needed for a number."
        )
    else:
        est = float(result["estimate"])
        said = (
            f"This is an estimate, not a count. {on} From how the lists overlap, {method}"
            f" estimates that about {number(est)} people were in the population the lists draw"
            f" from, so about {number(max(est - observed, 0))} are on none of them. The"
            f" {percent(level)} {kind} interval is {interval(lo, hi)}: numbers in that range are"
            " consistent with the lists under the model's assumptions; it does not cover"
            " mistakes in the assumptions."
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
