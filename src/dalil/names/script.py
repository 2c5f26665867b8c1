"""Which script a name, or a word of it, is written in."""

from __future__ import annotations

import unicodedata
from typing import Literal

Script = Literal["arabic", "latin", "mixed", "none"]

_ARABIC_BLOCKS = (
    (0x0600, 0x06FF),
    (0x0750, 0x077F),
    (0x0870, 0x08FF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)


def is_arabic_letter(c: str) -> bool:
    """An Arabic-script letter (not a digit, mark or punctuation of those blocks)."""
    cp = ord(c)
    return c.isalpha() and any(lo <= cp <= hi for lo, hi in _ARABIC_BLOCKS)


def is_latin_letter(c: str) -> bool:
    """A letter of the Latin script, accented or not (modifier letters such as the half rings
    written for ayn and hamza are not: they are handled as marks)."""
    return c.isalpha() and unicodedata.name(c, "").startswith("LATIN ")


def detect_script(text: str) -> Script:
    """``arabic`` or ``latin`` when every letter of ``text`` is of that script, ``mixed`` when
    both occur, ``none`` when there is no letter of either (digits, emoji, other scripts)."""
    arabic = any(is_arabic_letter(c) for c in text)
    latin = any(is_latin_letter(c) for c in text)
    if arabic and latin:
        return "mixed"
    return "arabic" if arabic else "latin" if latin else "none"
