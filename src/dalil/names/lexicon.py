"""The package's data tables (``data/*.tsv``), read once."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast

from dalil.names.arabic import normalise_arabic
from dalil.names.sounds import fold_word

Kind = Literal["g", "f", "b", "p"]


@dataclass(frozen=True, slots=True)
class Vocalised:
    """A known Arabic word: its romanisation with vowels, and whether it is a given name
    (``g``), a family name (``f``), both (``b``) or a part of compound names (``p``)."""

    romanisation: str
    kind: Kind


def _rows(name: str) -> list[list[str]]:
    path = resources.files("dalil.names").joinpath("data").joinpath(name)
    text = path.read_text(encoding="utf-8")
    return [
        line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]


@functools.cache
def vocalised() -> dict[str, Vocalised]:
    """Normalised Arabic word → its vowelled romanisation (``data/vocalised.tsv``)."""
    table: dict[str, Vocalised] = {}
    for arabic, roman, kind in _rows("vocalised.tsv"):
        if kind not in ("g", "f", "b", "p"):
            raise ValueError(f"data/vocalised.tsv: kind {kind!r} of {arabic} is not g, f, b or p")
        table[normalise_arabic(arabic)] = Vocalised(roman, cast(Kind, kind))
    return table


@functools.cache
def latin_spellings() -> dict[str, str]:
    """Irregular Latin spelling → romanisation (``data/latin_spellings.tsv``)."""
    return {spelling: roman for spelling, roman in _rows("latin_spellings.tsv")}


@functools.cache
def known_forms() -> frozenset[str]:
    """Comparison forms of every name the tables know."""
    romanisations = [v.romanisation for v in vocalised().values()]
    return frozenset(fold_word(r) for r in romanisations + list(latin_spellings().values()))


@functools.cache
def given_forms() -> frozenset[str]:
    """Comparison forms of the known given names (kinds ``g`` and ``b``)."""
    return frozenset(fold_word(v.romanisation) for v in vocalised().values() if v.kind in "gb")
