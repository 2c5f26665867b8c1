"""Arabic-script words of names: the article, compound names, and romanisation.

A word in ``data/vocalised.tsv`` gets its vowels from there. Any other word is romanised
letter by letter: consonants, and the long vowels that the script writes (alef as a; waw
and yeh as u and i between consonants, w and y beside an alef or at the start); short
vowels, which the script does not write, are absent. Such a word therefore meets a Latin
spelling only through ``similarity`` and ``phonetic_key``, not by equal comparison forms.
"""

from __future__ import annotations

from dalil.names.lexicon import vocalised

ARTICLE = "ال"
MARKERS = frozenset({"بن", "ابن", "بنت", "ابنه"})
TITLES = frozenset(
    {"الشهيد", "الشهيده", "المعتقل", "المعتقله", "المغيب", "المغيبه", "المختفي", "المختفيه",
     "المفقود", "المفقوده", "الطفل", "الطفله", "المرحوم", "المرحومه", "الحاج", "الحاجه",
     "الدكتور", "الدكتوره", "د", "المهندس", "المهندسه", "م", "الاستاذ", "الاستاذه",
     "الانسه", "السيده"}
)  # fmt: skip
ABD = "عبد"
ABU = frozenset({"ابو", "ابي", "ابا"})
DIN = "الدين"
ALLAH = "الله"

_LETTERS = {
    "ب": "b", "ت": "t", "ث": "th", "ج": "j", "ح": "h", "خ": "kh", "د": "d", "ذ": "dh",
    "ر": "r", "ز": "z", "س": "s", "ش": "sh", "ص": "s", "ض": "d", "ط": "t", "ظ": "z",
    "ع": "'", "غ": "gh", "ف": "f", "ق": "q", "ك": "k", "ل": "l", "م": "m", "ن": "n",
    "ء": "'", "\u0627": "a",  # alef
}  # fmt: skip
_ALEF = "\u0627"
_HEH = "\u0647"


def split_article(word: str) -> tuple[bool, str]:
    """``(True, rest)`` for ال written before a name (الحموي), unless the whole word is a
    known name that begins with those letters once alef-hamza is folded (إلياس, إلهام)."""
    if word.startswith(ARTICLE) and len(word) > 3 and word != ALLAH and word not in vocalised():
        return True, word[2:]
    return False, word


def split_abd(word: str) -> str | None:
    """The name after عبد written joined to it (عبدالرحمن → الرحمن, عبدالله → الله)."""
    if word.startswith(ABD + ARTICLE) and len(word) > 5:
        return word[3:]
    return None


def split_suffix(word: str) -> tuple[str, str] | None:
    """``(stem, suffix)`` for a joined …الدين or …الله compound (نورالدين, نصرالله)."""
    for suffix in (DIN, ALLAH):
        if word.endswith(suffix) and len(word) >= len(suffix) + 2 and not word.startswith(ABD):
            return word[: -len(suffix)], suffix
    return None


def strip_article(word: str) -> str:
    """``word`` without a leading ال (the name after عبد always has it); الله is kept whole."""
    if word.startswith(ARTICLE) and len(word) > 3 and word != ALLAH and word not in vocalised():
        return word[2:]
    return word


def romanise(word: str) -> str:
    """A normalised Arabic word in Latin letters: from the table when known, else letter by
    letter (consonants and long vowels). Letters are joined with apostrophes, which keep
    t+h from reading as th and are dropped by the folding that follows."""
    if word == ALLAH:
        return "allah"
    known = vocalised().get(word)
    if known is not None:
        return known.romanisation
    out = [_letter(word, i) for i in range(len(word))]
    return "'".join(letter for letter in out if letter)


def _letter(word: str, i: int) -> str:
    c = word[i]
    before = word[i - 1] if i else ""
    after = word[i + 1] if i + 1 < len(word) else ""
    if c in "وي":
        glide = i == 0 or _ALEF in (before, after)
        return ("w" if c == "و" else "y") if glide else ("u" if c == "و" else "i")
    if c == _HEH and not after and i > 0 and before not in (_ALEF, "و", "ي"):
        return "a"  # teh marbuta, folded to heh by normalise_arabic
    return _LETTERS.get(c, "h" if c == _HEH else "")
