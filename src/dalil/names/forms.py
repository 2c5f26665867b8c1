"""Comparison forms of whole names: Latin, Arabic, or either."""

from __future__ import annotations

from dalil.names.units import Unit, group
from dalil.names.words import Word, split_words


def _form(words: list[Word]) -> str:
    return " ".join(u.form for u in group(words) if u.form)


def _words(text: str, script: str | None = None) -> list[Word]:
    words = split_words(text).items
    return [w for w in words if script is None or w.script == script]


def fold_latin(text: str) -> str:
    """The comparison form of a name written in Latin letters (other scripts' words are
    left out): lower case, accents and ayn/hamza marks removed, hyphens and punctuation as
    spaces, digraphs and vowels folded (``sounds.fold_word``), the article dropped
    (al-Hamwi, El Hamwi, Alhamwi → ``hamwi``), the chain words bin/ibn and leading titles
    dropped, compounds written as one word (Abdul Rahman, Abdulrahman, Abd al-Rahman,
    Abdel Rahman → ``abdalrahman``; Nour al-Din, Nureddine → ``nuraldin``), irregular
    spellings of common names read from ``data/latin_spellings.tsv`` (Mhd, Mohamed →
    ``muhamad``)."""
    return _form(_words(text, "latin"))


def transliterate(arabic: str) -> str:
    """The comparison form of a name written in Arabic script (other scripts' words are
    left out), the same string ``fold_latin`` gives for its usual Latin spellings when the
    words are in ``data/vocalised.tsv`` (محمد and Mohammad → ``muhamad``; عبد الرحمن and
    Abdul Rahman → ``abdalrahman``). Other words get consonants and long vowels only
    (``romanise``). Input need not be normalised."""
    return _form(_words(arabic, "arabic"))


def comparison_form(text: str) -> str:
    """The script-neutral comparison form of a name: each word by the rules of its script
    (Arabic: ``normalise_arabic`` then ``transliterate``; Latin: ``fold_latin``), so a name
    written half in each still compares. Bracketed text (a nickname, an age) is left out;
    so are numbers, emoji and punctuation. Empty when nothing name-like remains."""
    return _form(_words(text))


def units(text: str) -> list[Unit]:
    """The units of a whole name (words grouped into names, markers and titles)."""
    return group(_words(text))
