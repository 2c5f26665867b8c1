"""The measured table: common Syrian names and their spellings (spellings.tsv).

Figures when written (129 names, 495 Latin spellings, 1,300 same-name pairs): equal
comparison forms for 93.3% of same-name pairs (Latin-Latin 92.2%, Arabic-Latin 95.2%);
meeting at equal forms or similarity >= 0.9 ("meet" below), 95.9%; same phonetic key 98.7%
(97.8% of the Arabic-Latin pairs with the vocalisation table switched off). Of 193,000
pairs of spellings of different names, 0.02% have equal forms, 0.3% similarity >= 0.9.
The floors below sit a little under these. A similarity can pass 0.9 for different names
with a long shared beginning (Jamal/Jamil), which is why a model should keep the exact
comparison-form level above the fuzzy one.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

from dalil.names import comparison_form, normalise_arabic, phonetic_key
from dalil.names import romanise as romanise_module
from dalil.names.similarity import form_similarity

TABLE = Path(__file__).with_name("spellings.tsv")
FUZZY = 0.9  # the similarity at which two spellings count as meeting
# Different names that must never meet, in any spelling of the table.
APART = [("حسن", "حسين"), ("أحمد", "حامد"), ("محمود", "محمد"), ("عمر", "عمار"), ("علي", "علاء"),
         ("لينا", "لانا"), ("أنس", "إيناس")]  # fmt: skip


@dataclass(frozen=True)
class Name:
    arabic: str
    latin: tuple[str, ...]

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.arabic, *self.latin)

    @property
    def root(self) -> str:
        """The Arabic without its article: الأحمد and أحمد are one name here."""
        word = normalise_arabic(self.arabic)
        return word[2:] if word.startswith("ال") else word


@functools.cache
def names() -> tuple[Name, ...]:
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return tuple(Name(a, tuple(s.split("|"))) for a, s in rows)


@functools.cache
def form(text: str) -> str:
    return comparison_form(text)


def fuzzy(a: str, b: str) -> float:
    """``similarity(a, b)``, on cached forms."""
    return form_similarity(form(a), form(b))


def meet(a: str, b: str) -> bool:
    return form(a) == form(b) or fuzzy(a, b) >= FUZZY


def share(pairs: list[tuple[str, str]], test: object) -> float:
    assert callable(test)
    return sum(bool(test(a, b)) for a, b in pairs) / len(pairs)


def same_pairs(*, arabic: bool | None = None) -> list[tuple[str, str]]:
    pairs = []
    for n in names():
        if arabic is not False:
            pairs += [(n.arabic, s) for s in n.latin]
        if arabic is not True:
            pairs += list(itertools.combinations(n.latin, 2))
    return pairs


@functools.cache
def different_pairs() -> list[tuple[str, str]]:
    return [
        (x, y)
        for a, b in itertools.combinations(names(), 2)
        if a.root != b.root
        for x in a.spellings
        for y in b.spellings
    ]


def equal(a: str, b: str) -> bool:
    return form(a) == form(b)


def test_the_table_is_big_enough() -> None:
    assert len(names()) >= 60
    assert all(len(n.latin) >= 2 for n in names())
    assert len(same_pairs()) >= 1000


def test_spellings_of_one_name_meet() -> None:
    assert share(same_pairs(), equal) >= 0.92
    assert share(same_pairs(arabic=True), equal) >= 0.94
    assert share(same_pairs(arabic=False), equal) >= 0.91
    assert share(same_pairs(), meet) >= 0.95


def test_spellings_of_one_name_share_a_key() -> None:
    pairs = same_pairs() + [p for n in names() for p in itertools.combinations(n.latin, 2)]
    assert share(pairs, lambda a, b: phonetic_key(a) == phonetic_key(b)) >= 0.97


def test_keys_meet_without_the_vocalisation_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(romanise_module, "vocalised", dict)
    pairs = same_pairs(arabic=True)
    assert share(pairs, lambda a, b: phonetic_key(a) == phonetic_key(b)) >= 0.95


def test_different_names_stay_apart() -> None:
    assert share(different_pairs(), equal) <= 0.0005
    assert share(different_pairs(), lambda a, b: fuzzy(a, b) >= FUZZY) <= 0.005


@pytest.mark.parametrize(("a", "b"), APART)
def test_names_that_differ_in_a_vowel_never_meet(a: str, b: str) -> None:
    first, second = (next(n for n in names() if n.arabic == x) for x in (a, b))
    together = [(x, y) for x in first.spellings for y in second.spellings]
    assert [(x, y) for x, y in together if meet(x, y)] == []
