"""A written name cut into words, each tagged with its script and normalised for its script."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from dalil.names.arabic import normalise_arabic
from dalil.names.latin import clean_word
from dalil.names.script import is_arabic_letter

WordScript = Literal["arabic", "latin", "other"]

_OPEN, _CLOSE = "([{\uff08", ")]}\uff09"  # with the full-width parentheses
_BRACKETED = re.compile(f"[{re.escape(_OPEN)}][^{re.escape(_OPEN + _CLOSE)}]*[{re.escape(_CLOSE)}]")
_BRACKETS = re.compile(f"[{re.escape(_OPEN + _CLOSE)}]")
_COMMA = re.compile("[,\u060c\uff0c]")  # ASCII, Arabic, full-width
# What separates words besides spaces: hyphens and dashes, dots, slashes, quotation marks,
# other punctuation. Apostrophes and ayn marks stay inside words.
_DASHES = "\u2010-\u2015"  # hyphen, non-breaking hyphen, figure dash, en and em dashes
_PUNCTUATION = "\u060c\u061b\u061f\uff0c"  # Arabic comma, semicolon, question mark
_WORD = re.compile(f'[^\\s\\-{_DASHES}_./\\\\|"“”«»:;!?*+=&@#%^~<>,{_PUNCTUATION}]+')
# Runs of Arabic script (with its marks, tatweel and zero-width joiners) inside a word.
_ARABIC = "\u0600-\u06ff\u0750-\u077f\u0870-\u08ff\ufb50-\ufdff\ufe70-\ufeff\u200c\u200d"
_RUNS = re.compile(f"[{_ARABIC}]+|[^{_ARABIC}]+")


@dataclass(frozen=True, slots=True)
class Word:
    """One word as written (``raw``; ``sep`` is what separated it from the word before:
    spaces, a hyphen) and normalised for its script (``norm``): Arabic by
    ``normalise_arabic`` with only letters kept; Latin as lower-case ASCII letters and
    apostrophes; any other script case-folded."""

    raw: str
    norm: str
    script: WordScript
    sep: str = ""


@dataclass(slots=True)
class Words:
    """The words of a name; ``comma`` is how many come before the first comma ("FAMILY,
    Given Father"), ``bracketed`` what was written in brackets (a nickname, an age, a note),
    which is left out of the words."""

    items: list[Word] = field(default_factory=list)
    comma: int | None = None
    bracketed: list[str] = field(default_factory=list)


def split_words(text: str) -> Words:
    """The words of ``text``; numbers, emoji and punctuation are dropped."""
    out = Words(bracketed=[" ".join(m.group(0)[1:-1].split()) for m in _BRACKETED.finditer(text)])
    masked = _BRACKETS.sub(" ", _BRACKETED.sub(lambda m: " " * len(m.group(0)), text))
    comma = _COMMA.search(masked)
    end = 0
    for chunk in _WORD.finditer(masked):
        for run in _RUNS.finditer(chunk.group(0)):
            start = chunk.start() + run.start()
            word = _word(run.group(0), masked[end:start])
            if word is None:
                continue
            if comma is not None and out.comma is None and start > comma.start():
                out.comma = len(out.items)
            out.items.append(word)
            end = start + len(word.raw)
    if comma is not None and out.comma is None:
        out.comma = len(out.items)
    return out


def _word(piece: str, sep: str) -> Word | None:
    if any(is_arabic_letter(c) for c in piece):
        norm = "".join(c for c in normalise_arabic(piece) if is_arabic_letter(c))
        return Word(piece, norm, "arabic", sep) if norm else None
    latin = clean_word(piece)
    if latin.strip("'"):
        return Word(piece, latin, "latin", sep)
    other = "".join(c for c in unicodedata.normalize("NFKC", piece).casefold() if c.isalpha())
    return Word(piece, other, "other", sep) if other else None
