"""How likely a value read for a field is right: one number per reading, and the threshold
below which a value is not proposed.

The recogniser's own score says how sure it is of the digits; it does not say whether the
digits belong to that field, nor whether a whole card is read in the wrong digit system. The
field confidence is that score, discounted for what else the reader knows:

* how the field was found: a label on the number's own line, a label beside or above it, or
  only the order of the numbers on a card without labels we can read;
* whether the numbers of one card agree on their digit system (a card is written in one);
* whether the value's length is plausible for its identifier type.

The factors and :data:`PROPOSE_AT` were calibrated on photographed cards in the tuning fonts
only (``bench/ocr_confidence.py``; the reliability table is in ``bench/README.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from dalil.ocr.reading import Reading

__all__ = ["PROPOSE_AT", "field_confidence", "with_field_confidence", "withheld"]

PROPOSE_AT = 0.875
"""A value whose field confidence is below this is not proposed: the photograph needs a
human reading instead."""

ASSIGNED = {"line": 1.0, "label": 1.0, "order": 0.9}
# both recognisers read the same value; one of them alone (PP-OCR's Western reading where the
# digit-line recogniser read nothing there; the digit-line recogniser alone: Arabic-Indic and
# Persian digits, which PP-OCR cannot read)
ENGINE = {"pp-ocrv4+digit-lines-v1": 1.0, "pp-ocrv4": 0.9, "digit-lines-v1": 0.95}
LEADING_ZERO = 0.3  # identifiers are not written with a leading zero: a misread dot or stroke
MIXED_SCRIPTS = 0.8  # the card's numbers were read in more than one digit system
IMPLAUSIBLE_LENGTH = 0.5
LENGTHS = {"detainee": (3, 7), "branch": (2, 4), "report": (2, 7)}  # digits, inclusive


def field_confidence(reading: Reading, scripts: frozenset[str]) -> float:
    """``reading``'s field confidence, ``scripts`` the digit systems of the card's numbers
    that have a field. 0 for a reading without a field."""
    if reading.field is None:
        return 0.0
    c = reading.confidence * ASSIGNED.get(reading.assigned or "", 0.5)
    c *= ENGINE.get(reading.engine, 0.5)
    if reading.value.startswith("0"):
        c *= LEADING_ZERO
    if len(scripts) > 1:
        c *= MIXED_SCRIPTS
    lo, hi = LENGTHS.get(reading.field, (1, 99))
    digits = sum(ch.isdigit() for ch in reading.value)
    if not lo <= digits <= hi:
        c *= IMPLAUSIBLE_LENGTH
    # rounded as stored (``Reading.to_dict``), so a value is proposed or not the same way
    # whether it is judged as read or as kept in ``ocr_runs``
    return round(max(0.0, min(1.0, c)), 4)


def with_field_confidence(readings: Sequence[Reading]) -> list[Reading]:
    """The readings of one image, each with its field confidence set."""
    scripts = frozenset(r.script for r in readings if r.field is not None)
    return [replace(r, field_confidence=field_confidence(r, scripts)) for r in readings]


def withheld(readings: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The readings (as stored: :meth:`Reading.to_dict`) whose value was read for a field
    but is too doubtful to propose: the photograph needs a human reading."""
    return [
        r
        for r in readings
        if r.get("field") is not None and float(r.get("field_confidence", 0.0)) < PROPOSE_AT
    ]
