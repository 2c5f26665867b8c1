"""A full name read into its parts: given name, father's, grandfather's, family name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dalil.names.lexicon import given_forms
from dalil.names.script import Script, detect_script
from dalil.names.units import Unit, group
from dalil.names.words import split_words

Order = Literal["given-first", "family-first"]
Confidence = Literal["high", "medium", "low"]


@dataclass(frozen=True, slots=True)
class ParsedName:
    """The parts of a name as written (the article kept: ``al-Hamwi``), None where absent.

    ``tokens`` are the names in writing order, a compound as one (``Abd al-Rahman``,
    ``Nour al-Din``, ``Abu Bakr``, ``Muhammad Khayr``); chain words and titles are not
    tokens. ``confidence`` says how the roles were decided: ``high`` from bin/ibn chains, a
    comma or an article on the family name; ``medium`` where a part could also be read
    another way (the notes say which); ``low`` for one name alone or more parts than roles.
    """

    given: str | None
    father: str | None
    grandfather: str | None
    family: str | None
    tokens: tuple[str, ...]
    script: Script
    confidence: Confidence
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class _Reading:
    given: str | None = None
    father: str | None = None
    grandfather: str | None = None
    family: str | None = None
    confidence: Confidence = "high"
    notes: list[str] | None = None

    def note(self, text: str, confidence: Confidence | None = None) -> None:
        self.notes = [*(self.notes or []), text]
        if confidence == "low" or (confidence == "medium" and self.confidence == "high"):
            self.confidence = confidence


def parse_name(full_name: str, *, order: Order = "given-first") -> ParsedName:
    """``full_name`` read into given, father, grandfather and family names.

    Read in this order: a comma means "FAMILY, Given Father" whatever ``order`` says; then
    chains (``Ahmad bin Khaled bin Omar al-Hamwi``: given Ahmad, father Khaled, grandfather
    Omar, family al-Hamwi; the same with ابن / بن / بنت, ibn, bint, ben, b.); otherwise by
    position: given, family (two names); given, father, family (three, the Syrian custom);
    given, father, grandfather, family (four). With ``order="family-first"`` the first name
    is the family name. Leading titles (Dr, Hajj, الشهيد, المعتقل, الطفل) and bracketed text
    are left out and noted. Given-first names whose only article is on the first name are
    read family-first, with a note. Nothing raises: a text without names gives all None.
    """
    words = split_words(full_name)
    reading = _Reading()
    cut = words.comma
    head = group(words.items[:cut]) if cut is not None else []
    tail = group(words.items[cut:]) if cut is not None else []
    if _names(head) and _names(tail):
        units = head + tail
        reading.family = _join(_names(head))
        _lineage(reading, tail)
    else:
        units = group(words.items)
        names = _names(units)
        if order == "family-first" and names:
            reading.family = names[0].text
            _lineage(reading, units[units.index(names[0]) + 1 :])
        else:
            _given_first(reading, units)
    _notes(reading, units, words.bracketed)
    names = _names(units)
    return ParsedName(
        reading.given,
        reading.father,
        reading.grandfather,
        reading.family,
        tuple(u.text for u in names),
        detect_script(full_name),
        reading.confidence if names else "low",
        tuple(reading.notes or ()),
    )


def _notes(reading: _Reading, units: list[Unit], bracketed: list[str]) -> None:
    titles = [u.text for u in units if u.kind == "title"]
    notes = [f"title left out: {t}" for t in titles]
    if bracketed:
        notes.append("bracketed text left out: " + "; ".join(bracketed))
    reading.notes = notes + (reading.notes or [])


def _names(units: list[Unit]) -> list[Unit]:
    return [u for u in units if u.kind == "name"]


def _join(units: list[Unit]) -> str | None:
    return " ".join(u.text for u in units) or None


def _lineage(reading: _Reading, units: list[Unit]) -> None:
    """Given, father, grandfather from ``units`` (the family name is known already)."""
    links = _chain(units)
    names = links[0] + [link[0] for link in links[1:] if link]
    slots = ["given", "father", "grandfather"]
    for slot, unit in zip(slots, names, strict=False):
        setattr(reading, slot, unit.text)
    if len(names) > len(slots):
        reading.note("more names than roles: " + _str(names[len(slots) :]), "low")


def _given_first(reading: _Reading, units: list[Unit]) -> None:
    if any(u.kind == "marker" for u in units):
        _by_chain(reading, units)
        return
    names = _names(units)
    if len(names) >= 2 and names[0].article and not any(u.article for u in names[1:]):
        reading.family = names[0].text
        reading.note("only the first name has the article: read as family name first", "medium")
        _lineage(reading, names[1:])
        return
    _by_position(reading, names)


def _chain(units: list[Unit]) -> list[list[Unit]]:
    """Names split at chain markers: [[names before the first], [after the 1st], ...]."""
    links: list[list[Unit]] = [[]]
    for unit in units:
        if unit.kind == "marker":
            links.append([])
        elif unit.kind == "name":
            links[-1].append(unit)
    return links


def _by_chain(reading: _Reading, units: list[Unit]) -> None:
    links = _chain(units)
    given, lineage = links[0], [link for link in links[1:] if link]
    reading.given = _join(given)
    if len(given) > 1:
        reading.note(f"several names before the first 'bin': {reading.given}", "medium")
    *chained, last = lineage or [[]]
    ancestors = [link[0] for link in chained] + last[:1]
    rest = last[1:]
    if len(rest) > 1:  # Ahmad bin Khaled Omar al-Hamwi: Omar fills the next lineage slot
        ancestors += rest[:-1]
        rest = rest[-1:]
        reading.note("names after the chain without 'bin' read as lineage", "medium")
    reading.father = ancestors[0].text if ancestors else None
    reading.grandfather = ancestors[1].text if len(ancestors) > 1 else None
    if len(ancestors) > 2:
        reading.note("earlier ancestors: " + _str(ancestors[2:]))
    reading.family = _join(rest)
    if not rest and len(ancestors) == 1:
        reading.note("a single final 'bin X' may be a family name", "medium")


def _by_position(reading: _Reading, names: list[Unit]) -> None:
    if not names:
        return
    if len(names) == 1:
        one = names[0]
        if one.article:
            reading.family = one.text
        else:
            reading.given = one.text
        reading.note("one name only: its role is a guess", "low")
        return
    reading.given = names[0].text
    reading.family = names[-1].text
    middle = names[1:-1]
    reading.father = middle[0].text if middle else None
    reading.grandfather = middle[1].text if len(middle) > 1 else None
    if len(middle) > 2:
        reading.note("more names than roles: " + _str(middle[2:]), "low")
    last = names[-1]
    if not last.article and last.form in given_forms():
        role = ("father's", "grandfather's", "grandfather's")[min(len(names), 4) - 2]
        reading.note(f"{last.text} is also a given name: it may be the {role} name", "medium")
    if names[0].prefix == "abu":
        reading.note(f"{names[0].text} may be a kunya (a by-name), not the given name")


def _str(units: list[Unit]) -> str:
    return ", ".join(u.text for u in units)
