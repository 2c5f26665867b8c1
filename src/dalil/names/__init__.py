"""Names of detainees and victims, as written, turned into forms a record-linkage model can
compare (Splink, Fellegi-Sunter): the same name spelled many ways should meet, and different
names that share most letters should not.

Pipeline. ``split_words`` cuts a name into words (brackets, numbers, emoji and punctuation
left out; a comma noted), each tagged with its script and normalised for it: Arabic by
``normalise_arabic`` (no diacritics or tatweel, one alef, ى → ي, ة → ه, hamza seats as
their letters, ء kept, Persian/Kurdish letters and Eastern digits folded), Latin by
``latin.clean_word`` (lower case, accents removed, ayn/hamza marks as apostrophes, Arabizi
digits as letters). ``units.group`` joins words into names: the article with its name
(al-Hamwi, ال), compounds as one name (Abd al-X, Abu X, X al-Din, X Allah, Muhammad
Khayr/Nur), and tells chain words (bin, ibn, بن, بنت) and leading titles (Dr, الشهيد)
apart. Each name gets its comparison form: Latin words are looked up in
``data/latin_spellings.tsv`` (Mhd, Mohamed, Youssef: spellings no letter rule reaches) and
Arabic words in ``data/vocalised.tsv`` (~440 common given and family names and parts of
compounds, with their vowels); unknown Arabic words are romanised letter by letter; then
``sounds.fold_word`` folds the result to a small alphabet. ``comparison_form`` joins the
forms of the names in writing order, each word by its script's rules.

Design. Unvowelled Arabic writes consonants and long vowels; Latin spellings write every
vowel but not reliably which are long (Khalid's a is long, Karim's is short, both spelled
alike; Hamid may be حامد or حميد). A consonant skeleton with long vowels therefore cannot be
computed from Latin, and a bare consonant skeleton merges names that must stay apart
(Hasan/Husayn are hsn/hsyn only with the diphthong; Omar/Ammar, Ahmad/Hamid and
Mahmoud/Muhammad differ only in vowels). So the comparison form is a normalised
romanisation: consonant classes that transliterations mix up are one letter (q/k, g/gh,
dh/z, ch/sh, kh/x), vowels are three classes (a; e i; o u) without length or doubling, and
vowel runs keep the diphthongs and glides (Hussein, Husain → ``husayn``). Arabic words get
their vowels from the vocalisation table, which is why محمد and Mohammad both give
``muhamad``; an Arabic word outside the table gets consonants and long vowels only and meets
Latin spellings through ``similarity`` and ``phonetic_key``, not by equal forms. Arabic
compared with Arabic is best done on ``normalise_arabic`` forms, which keep distinctions
Latin loses (سالم/سليم).

Articles are dropped from forms (al-Hamwi = Hamwi) and compounds written as one word
(Abdul Rahman, Abdulrahman, Abd al-Rahman, Abdel Rahman → ``abdalrahman``). Muhammad Ali
is not joined: in Syrian lists it is as often Muhammad son of Ali, so ``parse_name`` keeps
the two apart; only Muhammad/Ahmad + Khayr/Nur, which are conventional single given names,
are joined.

Measured on tests/names/spellings.tsv (129 common Syrian names, 495 Latin spellings; see
test_measure.py for the floors): equal comparison forms for 93% of same-name spelling
pairs (95% of Arabic-Latin pairs); with ``similarity`` ≥ 0.9 counted as meeting, 96%; the
same ``phonetic_key`` for 98.7%; among pairs of different names, 0.02% share a form and
0.3% reach 0.9. Spellings the forms leave apart (similarity or the key mostly still meets
them): th for ث written s (Osman), g for ج (Gamal), Turkish and Maghrebi e for a (Kemal,
Bilel), elided vowels (Hamawi/Hamwi, Brahim). What merges: names Latin cannot tell
apart (سامر/سمير as Samir, عامر/أمير, سعيد/السيد as Said/Sayed, صبا/صباح, حسن/حسان).

Libraries. String metrics come from rapidfuzz (Jaro-Winkler, Levenshtein, in C). For Arabic
normalisation two packages were judged: PyArabic 0.6 (pure Python, only ``six``) strips
diacritics and tatweel and unifies hamza forms, which is a small part of ``normalise_arabic``
and none of the Latin side, the parsing or the vocalised romanisation, and its hamza rule
differs from the one the Latin forms need; camel-tools 1.6 has a good normaliser and
transliterator but requires PyTorch, transformers, kenlm and scikit-learn, and its
morphology needs data packages downloaded at run time, which Dalil must never do. Both were
left out; the rules here are small tables with tests (tests/names).
"""  # noqa: RUF002 - Arabic letters in the docstring

from __future__ import annotations

from dalil.names.arabic import normalise_arabic
from dalil.names.forms import comparison_form, fold_latin, transliterate
from dalil.names.keys import name_keys, phonetic_key
from dalil.names.parse import ParsedName, parse_name
from dalil.names.script import detect_script
from dalil.names.similarity import similarity

__all__ = [
    "ParsedName",
    "comparison_form",
    "detect_script",
    "fold_latin",
    "name_keys",
    "normalise_arabic",
    "parse_name",
    "phonetic_key",
    "similarity",
    "transliterate",
]
