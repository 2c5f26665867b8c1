"""Words grouped into the units of a name: one unit per name (a compound such as Abd
al-Rahman, Abu Bakr, Nour al-Din, Fadl Allah or Muhammad Khayr is one unit, its article
included), chain markers (bin, ibn, بن) and leading titles (Dr, الشهيد)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dalil.names import latin, romanise
from dalil.names.sounds import fold_word
from dalil.names.words import Word

UnitKind = Literal["name", "marker", "title"]
Prefix = Literal["", "abd", "abu"]
Suffix = Literal["", "aldin", "allah"]

# Second names that make one given name with Muhammad or Ahmad in Syrian usage.
_PAIRED = frozenset({"khayr", "nur"})
_PAIRS_WITH = frozenset({"muhamad", "ahmad"})


@dataclass(frozen=True, slots=True)
class Unit:
    """A name, marker or title; ``stems`` are the normalised words of a name without its
    article, Abd/Abu prefix and al-Din/Allah suffix, which ``prefix``/``suffix`` record."""

    kind: UnitKind
    words: tuple[Word, ...]
    article: bool = False
    prefix: Prefix = ""
    stems: tuple[str, ...] = ()
    suffix: Suffix = ""

    @property
    def text(self) -> str:
        """The unit as written, hyphens and all (``al-Hamwi``), whitespace collapsed."""
        written = "".join((w.sep if i else "") + w.raw for i, w in enumerate(self.words))
        return " ".join(written.split())

    @property
    def script(self) -> str:
        return self.words[-1].script if self.words else "other"

    @property
    def form(self) -> str:
        """The comparison form of a name unit; empty for markers and titles."""
        if self.kind != "name" or not self.stems:
            return ""
        if self.script == "other":
            return "".join(self.stems)
        romans = [_romanise(self.script, s) for s in self.stems]
        if len(romans) > 1 and not self.prefix and not self.suffix:
            return " ".join(fold_word(r) for r in romans)  # Muhammad Khayr: two words, one name
        core = "".join(romans)
        if self.prefix == "abd":
            core = "'abdal" + latin.strip_article(core)
        elif self.prefix == "abu":
            core = "abu" + core
        return fold_word(core + self.suffix)


def _romanise(script: str, stem: str) -> str:
    return romanise.romanise(stem) if script == "arabic" else latin.romanise(stem)


def group(words: list[Word]) -> list[Unit]:
    """The units of ``words``, in order."""
    units: list[Unit] = []
    i = 0
    while i < len(words):
        unit, i = _next_unit(words, i, named=bool(units) and units[-1].kind != "title")
        units.append(unit)
    return units


def _next_unit(words: list[Word], i: int, *, named: bool) -> tuple[Unit, int]:
    w = words[i]
    more = i + 1 < len(words)
    if not named and more and _is_title(w) and words[i + 1].script == w.script:
        return Unit("title", (w,)), i + 1
    if named and more and _is_marker(w):
        return Unit("marker", (w,)), i + 1
    start = i
    while i + 1 < len(words) and _is_article(words[i], words[i + 1]):
        i += 1
    unit, i = _name(words, start, i)
    return _with_suffix(words, unit, i)


def _is_title(w: Word) -> bool:
    titles = romanise.TITLES if w.script == "arabic" else latin.TITLES
    return latin.bare(w.norm) in titles


def _is_marker(w: Word) -> bool:
    markers = romanise.MARKERS if w.script == "arabic" else latin.MARKERS
    return latin.bare(w.norm) in markers


def _is_article(w: Word, following: Word) -> bool:
    if w.script != following.script:
        return False
    if w.script == "arabic":
        return w.norm == romanise.ARTICLE
    return w.script == "latin" and latin.is_article(w.norm, following.norm)


def _name(words: list[Word], start: int, i: int) -> tuple[Unit, int]:
    """The name whose first word (after any article words) is ``words[i]``."""
    w = words[i]
    article = i > start
    compound = _prefix(w)
    j = i + 1
    while compound and j + 1 < len(words) and _is_article(words[j], words[j + 1]):
        j += 1
    if compound and j < len(words) and words[j].script == w.script and _is_namelike(words[j]):
        stem = words[j].norm
        if compound == "abd":
            stem = _strip_article(words[j])
        return Unit("name", tuple(words[start : j + 1]), article, compound, (stem,)), j + 1
    if w.script == "arabic":
        return _arabic_word(words[start : i + 1], article), i + 1
    if w.script == "latin":
        return _latin_word(words[start : i + 1], article), i + 1
    return Unit("name", tuple(words[start : i + 1]), article, stems=(w.norm,)), i + 1


def _prefix(w: Word) -> Prefix:
    if w.script == "arabic":
        return "abd" if w.norm == romanise.ABD else "abu" if w.norm in romanise.ABU else ""
    if w.script == "latin":
        b = latin.bare(w.norm)
        return "abd" if b in latin.ABD else "abu" if b in latin.ABU else ""
    return ""


def _is_namelike(w: Word) -> bool:
    return not (_is_marker(w) or (w.script == "latin" and latin.is_din(w.norm)))


def _strip_article(w: Word) -> str:
    if w.script == "arabic":
        return romanise.strip_article(w.norm)
    return latin.strip_article(latin.bare(w.norm))


def _arabic_word(words: list[Word], article: bool) -> Unit:
    word = words[-1].norm
    abd = romanise.split_abd(word)
    if abd is not None:
        return Unit("name", tuple(words), article, "abd", (romanise.strip_article(abd),))
    joined, word = romanise.split_article(word)
    suffix = romanise.split_suffix(word)
    if suffix is not None:
        stem, which = suffix
        kind: Suffix = "aldin" if which == romanise.DIN else "allah"
        return Unit("name", tuple(words), article or joined, stems=(stem,), suffix=kind)
    return Unit("name", tuple(words), article or joined, stems=(word,))


def _latin_word(words: list[Word], article: bool) -> Unit:
    word = latin.bare(words[-1].norm)
    din = latin.split_din(word)
    joined, word = latin.split_article(din or word)
    if din is not None:
        return Unit("name", tuple(words), article or joined, stems=(word,), suffix="aldin")
    abd = latin.split_abd(word)
    if abd is not None:
        return Unit("name", tuple(words), article or joined, "abd", (latin.strip_article(abd),))
    return Unit("name", tuple(words), article or joined, stems=(word,))


def _with_suffix(words: list[Word], unit: Unit, i: int) -> tuple[Unit, int]:
    """``unit`` extended by a following al-Din or Allah word, or the second word of a
    Muhammad Khayr / Muhammad Nur given name."""
    j = i
    while j + 1 < len(words) and _is_article(words[j], words[j + 1]):
        j += 1
    if j >= len(words) or words[j].script != unit.script or unit.suffix:
        return unit, i
    nxt = words[j]
    suffix = _suffix_word(nxt)
    if suffix:
        words_ = unit.words + tuple(words[i : j + 1])
        return Unit("name", words_, unit.article, unit.prefix, unit.stems, suffix), j + 1
    second = latin.bare(nxt.norm)
    pairs = not unit.prefix and len(unit.stems) == 1 and unit.form in _PAIRS_WITH
    if j == i and pairs and fold_word(_romanise(unit.script, second)) in _PAIRED:
        stems = (*unit.stems, second)
        return Unit("name", (*unit.words, nxt), unit.article, stems=stems), j + 1
    return unit, i


def _suffix_word(w: Word) -> Suffix:
    if w.script == "arabic":
        return "aldin" if w.norm == romanise.DIN else "allah" if w.norm == romanise.ALLAH else ""
    b = latin.bare(w.norm)
    return "aldin" if latin.is_din(b) else "allah" if b in latin.ALLAH else ""
