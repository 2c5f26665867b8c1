"""Latin-script words of names: cleaning, and the rules for articles and compound names."""

from __future__ import annotations

import re
import unicodedata

from dalil.names.lexicon import known_forms, latin_spellings
from dalil.names.sounds import fold_word

# The marks written for ayn and hamza, by Unicode name so that the source shows what they are.
_AYN_MARKS = (
    "MODIFIER LETTER LEFT HALF RING", "MODIFIER LETTER RIGHT HALF RING",
    "MODIFIER LETTER TURNED COMMA", "MODIFIER LETTER APOSTROPHE", "MODIFIER LETTER PRIME",
    "MODIFIER LETTER VERTICAL LINE", "RIGHT SINGLE QUOTATION MARK",
    "LEFT SINGLE QUOTATION MARK", "GRAVE ACCENT", "ACUTE ACCENT", "PRIME",
    "LATIN LETTER PHARYNGEAL VOICED FRICATIVE", "LATIN LETTER GLOTTAL STOP",
)  # fmt: skip
# Letters that NFKD would strip to the wrong letter (ş is sh, ḫ is kh).
_BEFORE_NFKD = str.maketrans(
    {
        **{unicodedata.lookup(name): "'" for name in _AYN_MARKS},
        "ş": "sh", "Ş": "sh", "š": "sh", "Š": "sh", "ç": "ch", "Ç": "ch", "č": "ch", "Č": "ch",
        "ğ": "gh", "Ğ": "gh", "ġ": "gh", "Ġ": "gh", "ḫ": "kh", "Ḫ": "kh", "ẖ": "kh",
        "ṯ": "th", "Ṯ": "th", "ḏ": "dh", "Ḏ": "dh", "ǧ": "j", "Ǧ": "j", "ž": "zh", "Ž": "zh",
        "ð": "dh", "Ð": "dh", "þ": "th", "Þ": "th", "ß": "ss", "æ": "ae", "Æ": "ae",
        "œ": "oe", "Œ": "oe", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ł": "l", "Ł": "l",
        unicodedata.lookup("LATIN SMALL LETTER DOTLESS I"): "i", "İ": "i",
    }
)  # fmt: skip
# Arabizi: digits written for Arabic letters inside words (3ali, 7asan, 5aled).
_ARABIZI = str.maketrans({"2": "'", "3": "'", "5": "kh", "6": "t", "7": "h", "8": "gh", "9": "s"})
_NOT_LETTER = re.compile(r"[^a-z']+")

ARTICLES = frozenset({"al", "el", "ul", "il", "ol", "aal"})
# Sun-letter articles (ash-Shami, as-Sayyid, ad-Din): an article only before their letter.
_SUN = re.compile(r"^[aeu](sh|th|dh|[tdrzsn])$")
MARKERS = frozenset({"bin", "ibn", "ben", "bint", "b", "bn", "ebn", "ibnu", "binti"})
TITLES = frozenset(
    {"dr", "doctor", "mr", "mrs", "ms", "miss", "eng", "engineer", "prof", "professor",
     "hajj", "haj", "hadj", "hajji", "martyr"}
)  # fmt: skip
ABD = frozenset({"abd", "abdul", "abdel", "abdal", "abdol", "abdil", "abdoul", "abdou'l"})
ABU = frozenset({"abu", "abou", "abo", "aboo", "abul", "abou'l"})
ALLAH = frozenset({"allah", "ullah", "illah", "alla", "ulla", "allahi"})
_DIN = re.compile(r"^(?:[aeiou]l|[aeiou])?d{1,2}(?:ee|ii|i|e|y)ne?$")
_JOINED_DIN = re.compile(r"^(.{3,}?)(?:[aeiou]l|[aeiou])d{1,2}(?:ee|ii|i|e|y)ne?$")
_JOINED_ABD = re.compile(r"^abd(?:([aeiou]{1,2}l)|([aeiou]))?(.*)$")
# Latin words that begin like the article but are not "al" + a name.
_NOT_ARTICLE = frozenset(
    {"albert", "alfred", "alexander", "alexandre", "alexandra", "elissa", "eliane",
     "elizabeth", "elisabeth", "alberto", "alfonso", "elvira"}
)  # fmt: skip


def clean_word(text: str) -> str:
    """``text`` as lower-case ASCII letters and apostrophes: accents removed (NFKD), the
    ayn/hamza marks (modifier half rings, right quotation mark, grave and acute accents) as
    ``'``, Arabizi digits inside words read as letters, other digits and symbols removed."""
    text = unicodedata.normalize("NFKD", text.translate(_BEFORE_NFKD))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    if any(c.isalpha() for c in text):
        text = text.translate(_ARABIZI)
    return _NOT_LETTER.sub("", text)


def bare(word: str) -> str:
    """``word`` without apostrophes at its ends (for matching against the small sets)."""
    return word.strip("'")


def is_article(word: str, following: str | None) -> bool:
    """A separate article word (al-, el-, Al, ash- before sh...) with a name after it."""
    word = bare(word)
    if following is None:
        return False
    if word in ARTICLES:
        return True
    sun = _SUN.match(word)
    return sun is not None and bare(following).startswith(sun.group(1))


def is_din(word: str) -> bool:
    """The second word of a compound in al-Din: Din, Eddine, ud-Din, Aldeen..."""
    return _DIN.match(bare(word)) is not None


def split_article(word: str) -> tuple[bool, str]:
    """``(True, rest)`` when ``word`` is the article written joined to a name (Alhamwi,
    Elkhatib, Alahmad); ``(False, word)`` otherwise (Alwan, Elham, Alaa, Allaf)."""
    if word in _NOT_ARTICLE or not word.startswith(("al", "el")):
        return False, word
    rest = word[2:].lstrip("'")
    if not rest or rest[0] == "l":
        return False, word
    known = fold_word(romanise(rest)) in known_forms() or split_abd(rest) is not None
    if known or (len(rest) >= 4 and rest[0] not in "aeiouy"):
        return True, rest
    return False, word


def split_abd(word: str) -> str | None:
    """The name after Abd in a joined compound (Abdulkarim → karim, Abdurrahman → rahman,
    Abdullah → lah), or None when ``word`` is not one (Abdo, Abdeen, Abdali)."""
    m = _JOINED_ABD.match(word)
    if m is None:
        return None
    article, vowel, rest = m.groups()
    rest = rest.lstrip("'")
    if article and len(rest) >= 2:
        return rest
    if vowel and len(rest) >= 3 and rest[0] == rest[1] and rest[0] not in "aeiou":
        return rest[1:]  # the article assimilated: Abd-ur-Rahman, Abd-es-Salam
    if not vowel and len(rest) >= 4 and rest[0] not in "aeiouy'":
        return rest
    return None


def split_din(word: str) -> str | None:
    """The first name of a joined al-Din compound (Nureddin → nur, Salaheddine → salah)."""
    m = _JOINED_DIN.match(word)
    return m.group(1) if m else None


def strip_article(word: str) -> str:
    """A name after Abd or Abu without its article, separate or joined (al-Rahman, Allah)."""
    for article in ("al", "el", "ul"):
        if word.startswith(article) and len(word) > len(article) + 1:
            return word[len(article) :].lstrip("'")
    return word


def romanise(word: str) -> str:
    """The romanisation of a cleaned Latin word: itself, or its entry in the table of
    irregular spellings (Mohamed, Youssef, Mhd, Fatmeh)."""
    return latin_spellings().get(bare(word), word)
