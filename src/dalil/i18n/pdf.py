"""Right-to-left text in PDFs: Arabic letters joined, runs in reading order.

ReportLab draws the characters of a string from left to right as they come, and its own bidi
support needs ``rlbidi``, which is not on PyPI. So text with Arabic in it is prepared here
with the two libraries made for exactly this: ``arabic-reshaper`` replaces each letter by the
form it takes in its word (initial, medial, final, isolated; lam-alef ligatures), limited to
the forms the embedded font really has (it reads the font with fontTools), and
``python-bidi`` (the Unicode Bidirectional Algorithm) puts the runs in the order they are
seen, brackets mirrored. Each value keeps its own base direction: a Latin name in an Arabic
report and an Arabic name in an English one are both shown the right way round.

Text extraction (``pdftotext``) gives the text back in reading order; its letters are the
presentation forms, which NFKC normalisation (what search engines and ``pdftotext``-based
checks apply) maps back to ordinary Arabic letters.

A paragraph longer than its line is broken into lines in reading order *before* it is
reordered (:func:`lines`), since reordering a whole paragraph and then wrapping it would put
its end on the first line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache

from dalil.i18n import is_right_to_left


@cache
def _reshaper(font_file: str | None) -> Callable[[str], str]:
    import arabic_reshaper  # type: ignore[import-untyped]

    if font_file is None:
        return arabic_reshaper.ArabicReshaper().reshape  # type: ignore[no-any-return]
    config = arabic_reshaper.config_for_true_type_font(
        font_file, arabic_reshaper.ENABLE_ALL_LIGATURES
    )
    return arabic_reshaper.ArabicReshaper(configuration=config).reshape  # type: ignore[no-any-return]


_LRE, _RLE, _PDF = "\u202a", "\u202b", "\u202c"
_EMBEDDED = re.compile(f"[{_LRE}{_RLE}][^{_PDF}]*{_PDF}")


def embed(value: str) -> str:
    """``value`` set apart in the direction of its own first strong character, for putting
    into a sentence in the other direction: ``2024-01-04T00:00:00Z`` inside an Arabic sentence
    stays one left-to-right piece instead of being cut at its dashes. (Explicit embeddings,
    which the reference algorithm implements; the HTML pages use ``<bdi>`` isolation.)"""
    for c in value:
        kind = unicodedata.bidirectional(c)
        if kind in ("R", "AL"):
            return f"{_RLE}{value}{_PDF}"
        if kind == "L":
            return f"{_LRE}{value}{_PDF}"
    return value


def _base(text: str) -> str:
    """``R`` or ``L``: the direction of the first strong character outside embedded values
    (an Arabic sentence that starts with a file name is still an Arabic sentence)."""
    for c in _EMBEDDED.sub("", text):
        kind = unicodedata.bidirectional(c)
        if kind in ("R", "AL"):
            return "R"
        if kind == "L":
            return "L"
    return "L"


def visual(text: str, font_file: str | None = None, base: str | None = None) -> str:
    """``text`` as it must be drawn left to right: Arabic letters in their joined forms
    (only those ``font_file`` has), each line's runs in visual order, in the base direction
    ``base`` (``R``/``L``; by default that of its first strong character outside embedded
    values). Text without right-to-left letters is unchanged."""
    if not is_right_to_left(text):
        return text
    # python-bidi's reference implementation: unlike its faster ``bidi.get_display`` it also
    # mirrors brackets in right-to-left runs (rule L4), which a PDF cannot do for us
    from bidi.algorithm import get_display  # type: ignore[import-untyped]

    shaped = _reshaper(font_file)(text)
    return "\n".join(
        str(get_display(line, base_dir=base or _base(line))) for line in shaped.split("\n")
    )


def lines(
    text: str, width: float, measure: Callable[[str], float], font_file: str | None = None
) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (as ``measure`` says, given the
    visual form of a piece), breaking between words in reading order; then each line made
    :func:`visual`. A word wider than the line stays whole on its own line, and so does a
    value set apart by :func:`embed` (a command or a time inside a sentence)."""
    out: list[str] = []
    base = _base(text)
    text = _EMBEDDED.sub(lambda m: m.group(0).replace(" ", "\u00a0"), text)  # kept whole
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and measure(visual(candidate, font_file, base)) > width:
                out.append(line)
                line = word
            else:
                line = candidate
        out.append(line)
    return [visual(line, font_file, base) for line in out]
