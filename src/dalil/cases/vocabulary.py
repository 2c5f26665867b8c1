"""The controlled words of case work: kinds, statuses, photo roles, attributes, marks, and the
built-in identifier types. Validation of what people type lives here too."""

from __future__ import annotations

import contextlib
import datetime
import re
from dataclasses import dataclass

from dalil.errors import UsageError

KINDS = {"person": "P", "incident": "I", "place": "L"}
"""Case kinds and the letter their ids start with (``P-00042``)."""

STATUSES = (
    "proposed",
    "open",
    "candidate-identified",
    "identified",
    "closed",
    "rejected",
    "merged",
)
"""``proposed`` (made from a cluster, awaiting a person) → ``open`` → ``candidate-identified``
→ ``identified`` → ``closed``; ``rejected`` proposals and ``merged`` cases stay, for the
record."""

ROLES = ("face", "full-body", "card", "detail", "other")
"""What a photograph shows of the case."""

MARKS = (
    "blindfold",
    "bruising",
    "burns",
    "emaciation",
    "fracture",
    "gunshot-wound",
    "ligature-marks",
    "restraint-marks",
    "scar",
    "stab-wound",
    "tattoo",
    "missing-teeth",
    "amputation",
    "eye-injury",
    "number-written-on-body",
)
"""Marks and injuries (a controlled vocabulary, so that searches find them)."""

SEXES = ("female", "male", "unknown")


@dataclass(frozen=True, slots=True)
class IdentifierType:
    name: str
    label: str
    pattern: str
    example: str


BUILTIN_IDENTIFIERS = (
    IdentifierType("detainee", "Detainee number", r"[0-9]{1,7}", "4721"),
    IdentifierType("branch", "Security branch number", r"[0-9]{1,4}", "215"),
    IdentifierType("report", "Forensic report number", r"[0-9]{1,7}(/[0-9]{2,4})?", "2381/2013"),
)

_DIGITS = str.maketrans(
    "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹",  # Arabic-Indic, then Eastern Arabic-Indic (Persian/Urdu)
    "01234567890123456789",
)


def ascii_digits(text: str) -> str:
    """Arabic-Indic and Eastern Arabic-Indic digits replaced by 0-9."""
    return text.translate(_DIGITS)


_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_LETTERS = str.maketrans(
    {
        "\u0623": "\u0627",  # alef with hamza above
        "\u0625": "\u0627",  # alef with hamza below
        "\u0622": "\u0627",  # alef with madda
        "\u0671": "\u0627",  # alef wasla
        "\u0649": "\u064a",  # alef maqsura -> yeh
        "\u0629": "\u0647",  # teh marbuta -> heh
        "\u0624": "\u0648",  # waw with hamza
        "\u0626": "\u064a",  # yeh with hamza
    }
)
_WORDS = re.compile(r"\w+", re.UNICODE)
_ARTICLE = "\u0627\u0644"  # al-


def _fold_word(word: str) -> str:
    word = word.translate(_ARABIC_LETTERS)
    if word.startswith(_ARTICLE) and len(word) > 3:
        word = word[2:]
    return word


def search_text(text: str) -> str:
    """Text as the full-text index holds it and queries look for it: Western digits, and
    Arabic folded so that spellings of one word meet — no diacritics or tatweel, one alef for
    its hamza and madda forms, alef maqsura as yeh, teh marbuta as heh, hamza seats as their
    letters, the article al- dropped (مستشفى / مستشفي, وُجد / وجد, العسكري / عسكري)."""
    unmarked = _ARABIC_MARKS.sub("", ascii_digits(text))  # marks first: they split words
    return _WORDS.sub(lambda m: _fold_word(m.group(0)), unmarked)


def normalise_identifier(value: str) -> str:
    """How identifier values are stored and compared: ASCII digits, no spaces."""
    return re.sub(r"\s+", "", ascii_digits(value))


def validate_identifier(kind: IdentifierType, value: str) -> str:
    clean = normalise_identifier(value)
    if not re.fullmatch(kind.pattern, clean):
        raise UsageError(
            f"{value!r} is not a valid {kind.label.lower()} (expected something like"
            f" {kind.example!r}; pattern {kind.pattern})"
        )
    return clean


_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def parse_date(value: str, what: str = "date") -> str:
    """A date as people give it (YYYY, YYYY-MM or YYYY-MM-DD, any digits), checked to exist;
    a usage error saying how to write it otherwise."""
    clean = ascii_digits(value.strip())
    if _DATE.fullmatch(clean):
        year, month, day = [*map(int, clean.split("-")), 1, 1][:3]
        with contextlib.suppress(ValueError):
            datetime.date(year, month, day)
            return clean
    raise UsageError(f"{what} {value!r} is not a date: write YYYY, YYYY-MM or YYYY-MM-DD")


def _date(value: str) -> str:
    return parse_date(value)


def _age(value: str) -> str:
    clean = ascii_digits(value.strip()).replace(" ", "")
    match = re.fullmatch(r"(\d{1,3})(?:-(\d{1,3}))?", clean)
    if not match or (match.group(2) and int(match.group(2)) < int(match.group(1))):
        raise UsageError(f"{value!r} is not an age or an age range such as 25-35")
    return clean


def _sex(value: str) -> str:
    clean = value.strip().lower()
    if clean not in SEXES:
        raise UsageError(f"sex must be one of {', '.join(SEXES)}")
    return clean


def _text(value: str) -> str:
    clean = value.strip()
    if not clean:
        raise UsageError("an empty value says nothing")
    return clean


ATTRIBUTES = {
    "sex": _sex,
    "age": _age,
    "died_on": _date,
    "place": _text,
    "photographed_on": _date,
}
"""Typed case attributes and their validators (dates and places of death or photograph)."""


def validate_attribute(field: str, value: str) -> str:
    check = ATTRIBUTES.get(field)
    if check is None:
        raise UsageError(f"unknown attribute {field!r}; known: {', '.join(ATTRIBUTES)}")
    return check(value)


def validate_mark(value: str) -> str:
    clean = value.strip().lower().replace(" ", "-")
    if clean not in MARKS:
        raise UsageError(f"{value!r} is not in the marks vocabulary: {', '.join(MARKS)}")
    return clean
