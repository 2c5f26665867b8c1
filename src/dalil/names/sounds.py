"""One romanised word folded to its comparison form (the phonological core of the package).

Input is a lower-case word of ASCII letters and apostrophes, as ``latin.clean_word`` or the
romaniser of Arabic words gives it. The output alphabet is small and fixed:

* consonants ``b t th j h kh d z r s sh gh f k l m n`` and the glides ``y w``. Letters that
  transliterations use interchangeably are one class: ``q k c ck`` (ق ك), ``g gh`` (غ, and the
  ``g`` some write for it), ``j dj`` (ج), ``z dh`` (ز ذ ظ), ``sh ch sch`` (ش), ``kh x`` (خ),
  ``f ph v``, ``b p``; ``c`` before ``e i y`` is ``s``;
* vowels ``a i u``: ``a``; ``e i y`` (ee, ie); ``o u w`` (ou, oo). Length and gemination are
  dropped (``aa`` = ``a``, ``mm`` = ``m``), because Latin spellings do not mark length
  reliably (Khalid's a is long, Karim's is short, both are written alike);
* a run of vowels and glides keeps its shape: ``a`` is the nucleus and ``i``/``u`` beside it
  are glides (Husayn, Hussein, Husain → ``husayn``; Dawud, Daoud, Dawood → ``dawd``); without
  an ``a``, the first is the glide (Yusuf → ``yusuf``, Ziad, Ziyad → ``zyad``). ``ei``/``ey``
  inside a word is the diphthong ``ay`` (Zeinab, Leila, Sheikh); at its start it is ``i``
  (Eissa, Eyad).

Apostrophes and the ayn/hamza marks they stand for are dropped, but they do split a digraph
(Is'haq is s+h, not sh). A form is a fixed point of folding: t+h, k+h and s+h are written as
the digraphs they spell (Fat'hi, Fathi → ``fathi``), and where letters would spell another
digraph (d+h in Adham) an apostrophe stays between them (``ad'ham``). Ends of
words follow Levantine and French habits: ``-eh`` and ``-e`` are the feminine ending
(Fatmeh, Chehade → ``-a``) except ``-CaCeh`` (Saleh, Sameh, where the h is a letter) and
``-ne`` (Amine, Yassine: a silent e); ``-ah`` is ``-a`` (Hamzah, Fatimah; also Sabah,
whose h is a letter, on both sides alike) except after l (Allah, Salah); ``-lla`` after a
vowel is ``-llah``.
"""

from __future__ import annotations

import functools
import re

_UNITS = re.compile(r"sch|tch|kh|sh|ch|gh|th|dh|ph|dj|zh|ck|[a-z']")
_DIGRAPHS = frozenset({"kh", "sh", "ch", "gh", "th", "dh", "ph", "dj", "zh", "ck"})
_CONSONANTS = {
    "b": "b", "p": "b", "t": "t", "th": "th", "j": "j", "dj": "j", "zh": "j", "g": "gh",
    "gh": "gh", "h": "h", "kh": "kh", "x": "kh", "d": "d", "dh": "z", "z": "z", "r": "r",
    "s": "s", "sh": "sh", "ch": "sh", "sch": "sh", "tch": "sh", "f": "f", "ph": "f", "v": "f",
    "q": "k", "k": "k", "ck": "k", "l": "l", "m": "m", "n": "n",
}  # fmt: skip
_VOWELS = frozenset("aeiouyw")
_GLIDE = {"A": "a", "I": "y", "U": "w"}
# Letter pairs of a form that folding would read as another digraph. (k+h, s+h and t+h are
# written kh, sh and th, the same letters, and treated as those digraphs.)
_MISREAD = frozenset({"dh", "dj", "zh"})
_NUCLEUS = {"A": "a", "I": "i", "U": "u"}

_FEMININE_EH = re.compile(r"(?<=[^aeiou'])eh$")
_FAIL_EH = re.compile(r"^[^aeiou']{1,3}a[^aeiou']eh$")  # Saleh, Sameh, Fateh: h is ح
_FINAL_E = re.compile(r"(?<=[^aeiou'])e$")
_FINAL_AH = re.compile(r"(?<=.)(?<!al)ah$")  # not Allah (Abdallah), which stays
_ALLAH = re.compile(r"(?<=..)[aeu]llah?$")


def _endings(word: str) -> str:
    if len(word) >= 6 and _ALLAH.search(word):
        return _ALLAH.sub("allah", word)
    if len(word) >= 4 and _FEMININE_EH.search(word) and not _FAIL_EH.match(word):
        return word[:-2] + "a"
    if len(word) >= 4 and _FINAL_AH.search(word):
        return word[:-1]
    if len(word) >= 3 and _FINAL_E.search(word):
        return word[:-1] if word[-2] == "n" else word[:-1] + "a"
    return word


def _classes(run: str, initial: bool) -> list[str]:
    out: list[str] = []
    for i, c in enumerate(run):
        if c == "e":
            diphthong = not (initial and i == 0) and run[i + 1 : i + 2] in ("i", "y")
            cls = "A" if diphthong else "I"
        else:
            cls = "A" if c == "a" else "I" if c in "eiy" else "U"
        if not out or out[-1] != cls:
            out.append(cls)
    return out


def _render(classes: list[str]) -> str:
    """A vowel run: ``a`` is a nucleus, and ``i``/``u`` beside it are glides (Husayn,
    Marwan); elsewhere ``i`` and ``u`` alternate glide, nucleus (Yu-suf, Hama-wi)."""
    out: list[str] = []
    nucleus = False  # whether the previous element was rendered as a nucleus
    for k, c in enumerate(classes):
        beside = classes[k - 1 : k] + classes[k + 1 : k + 2]
        if c == "A":
            out.append("a")
            nucleus = True
            continue
        glide = "A" in beside or (nucleus if k else len(classes) > 1)
        out.append(_GLIDE[c] if glide else _NUCLEUS[c])
        nucleus = not glide
    return "".join(out)


def _unmarked(word: str) -> str:
    """``word`` without the apostrophes that split no digraph (so that endings are seen)."""
    if "'" not in word:
        return word
    kept = [
        c
        for i, c in enumerate(word)
        if c != "'" or word[i - 1 : i] + word[i + 1 : i + 2] in _DIGRAPHS
    ]
    return "".join(kept)


@functools.lru_cache(maxsize=1 << 16)  # names repeat: a list holds few distinct words
def fold_word(word: str) -> str:
    """``word`` (lower-case ASCII letters and apostrophes) in the comparison alphabet."""
    word = _endings(_unmarked(word))
    out: list[str] = []
    run = ""
    for unit in _UNITS.findall(word):
        if unit == "'":
            continue  # ayn/hamza: silent, but the split it made between letters stays
        if unit in _VOWELS:
            run += unit
            continue
        if run in ("w", "y") and not out:
            out.append(run)  # a word-initial glide before a consonant is one (Arabic و, ي)
        elif run:
            out.append(_render(_classes(run, initial=not out)))
        run = ""
        out.append("c" if unit == "c" else _CONSONANTS.get(unit, ""))  # c: see _collapse
    if run:
        out.append(_render(_classes(run, initial=not out)))
    return _collapse(out)


def _collapse(parts: list[str]) -> str:
    text: list[str] = []
    for i, part in enumerate(parts):
        if part == "c":
            following = parts[i + 1][:1] if i + 1 < len(parts) else ""
            part = "s" if following in ("i", "y") else "k"
        if part == "h" and text and text[-1] in ("t", "k", "s"):
            part = text.pop() + "h"  # t+h is written th, as a second folding would read it
        if part and (not text or text[-1] != part or part in ("a", "i", "u")):
            if text and text[-1] + part[:1] in _MISREAD:
                text.append("'")  # Adham stays ad'ham: a second folding must not read dh
            text.append(part)
    return "".join(text)
