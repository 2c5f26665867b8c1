"""Warnings that keep an estimate from being misused, each with a stable code.

| code | when |
|---|---|
| ``two_lists`` | only two lists: the estimate rests wholly on their independence, untestable |
| ``no_overlap`` | no one is on two lists: the number comes from assumptions, not the lists |
| ``dominant_list`` | one list holds nearly everyone observed: the others add little |
| ``sparse_cells`` | empty or tiny cells: the highest-order models are not identified |
| ``small_strata`` | a stratum has too few people to estimate from on its own |
| ``wide_interval`` | the interval is wider than the estimate itself |
| ``not_mixed`` | the sampler's chains did not agree (R-hat) or gave few independent draws |
| ``unbounded`` | no model can bound the unseen cell: no upper end of the interval (log-linear) |
| ``unidentified_model`` | the best-fitting log-linear model cannot estimate the unseen cell |
| ``heavy_tail`` | posterior mass beyond the grid of N is not negligible (dga) |
"""

from __future__ import annotations

from dalil.estimate import words
from dalil.estimate.result import Caveat, Estimate
from dalil.estimate.table import Table

DOMINANT = 0.9
"""A list holding this share of everyone observed is "nearly everyone"."""
TINY = 5
"""A cell below this count is tiny."""
SMALL_STRATUM = 30
"""A stratum with fewer people observed than this is too small to stand alone."""


def for_table(table: Table) -> list[Caveat]:
    out: list[Caveat] = []
    if table.k == 2:
        out.append(
            Caveat(
                "two_lists",
                "Only two lists: the estimate assumes that being on one list makes being on"
                " the other neither more nor less likely, which two lists cannot test. Real"
                " lists are rarely independent; treat the number as a rough order of size.",
            )
        )
    observed = table.observed
    if observed and not table.counts[table.patterns.sum(axis=1) > 1].any():
        out.append(
            Caveat(
                "no_overlap",
                "No one is on more than one of the lists. The overlap between lists is what"
                " says how many people none of them holds; without it, any number here comes"
                " from the model's assumptions (and a Bayesian method's prior), not from the"
                " lists. Do not quote it.",
            )
        )
    if observed:
        for name, total in table.list_totals().items():
            if total >= DOMINANT * observed:
                out.append(
                    Caveat(
                        "dominant_list",
                        f"List {name!r} holds {total} of the {observed} people observed"
                        f" ({total / observed:.0%}): the other lists add little, and the"
                        " estimate depends heavily on how that list was made.",
                    )
                )
    cells = table.cells()[1:]
    empty = int((cells == 0).sum())
    tiny = int(((cells > 0) & (cells < TINY)).sum())
    if empty or tiny:
        out.append(
            Caveat(
                "sparse_cells",
                f"Of the {cells.size} observable combinations of lists, {empty} empty and"
                f" {tiny} with fewer than {TINY} people: models with the highest-order"
                " interactions cannot be estimated from them, and the estimate leans on the"
                " models that can.",
            )
        )
    return out


def for_strata(tables: dict[str, Table]) -> list[Caveat]:
    small = sorted(name for name, t in tables.items() if t.observed < SMALL_STRATUM)
    if len(tables) > 1 and small:
        return [
            Caveat(
                "small_strata",
                f"{len(small)} strata have fewer than {SMALL_STRATUM} people observed"
                f" ({', '.join(small[:10])}{'…' if len(small) > 10 else ''}): their own"
                " estimates are unstable; consider merging them.",
            )
        ]
    return []


def for_result(result: Estimate) -> list[Caveat]:
    lo, hi = result.interval
    if hi - lo > result.estimate:
        return [
            Caveat(
                "wide_interval",
                f"The {words.percent(result.level)} interval ({words.interval(lo, hi)}) is"
                f" wider than the estimate itself ({words.number(result.estimate)}): the lists"
                " say little about how many people none of them holds.",
            )
        ]
    return []
