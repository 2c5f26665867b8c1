"""The controlled words of case work: kinds, statuses, photo roles, attributes, marks, and the
built-in identifier types. Validation of what people type lives here too."""

from __future__ import annotations

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


def _date(value: str) -> str:
    clean = ascii_digits(value.strip())
    if not _DATE.fullmatch(clean):
        raise UsageError(f"{value!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    return clean


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
