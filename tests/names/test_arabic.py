"""normalise_arabic and script detection."""

from __future__ import annotations

import pytest

from dalil.names import detect_script, normalise_arabic

CASES = [
    ("مُحَمَّد", "محمد"),  # harakat and shadda
    ("سعيدٌ", "سعيد"),  # tanwin
    ("عَبْدُ الرَّحْمٰنِ", "عبد الرحمن"),  # sukun, superscript alef
    ("محـــمد", "محمد"),  # tatweel
    ("أحمد", "احمد"),
    ("إبراهيم", "ابراهيم"),
    ("آمنة", "امنه"),  # alef madda, teh marbuta
    ("ٱلله", "الله"),  # alef wasla
    ("مصطفى", "مصطفي"),  # alef maqsura
    ("مؤيد", "مويد"),
    ("عائشة", "عايشه"),
    ("علاء", "علاء"),  # the hamza on the line is kept
    ("أسماء", "اسماء"),
    ("کریم", "كريم"),  # Persian keheh and yeh
    ("گلستان", "كلستان"),
    ("پاشا", "باشا"),
    ("ڤيڤيان", "فيفيان"),
    ("ﻣﺤﻤﺪ", "محمد"),  # presentation forms
    ("ﷲ", "الله"),  # ligature
    ("محمد ﷺ", "محمد"),  # a phrase ligature is not part of the name
    ("مح\u200cمد\u200f", "محمد"),  # zero-width non-joiner, direction mark
    ("قرأ\u06d6", "قرا"),  # Quranic annotation mark
    ("  محمد \t\n علي  ", "محمد علي"),
    ("الحلبي، محمد", "الحلبي, محمد"),
    ("Ahmad al-Hamwi", "Ahmad al-Hamwi"),  # other scripts untouched
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_normalise_arabic(text: str, expected: str) -> None:
    assert normalise_arabic(text) == expected
    assert normalise_arabic(expected) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("مواليد ١٩٨٥", "مواليد 1985"),  # Arabic-Indic
        ("۱۹۸۵", "1985"),  # Eastern Arabic-Indic (Persian, Urdu)
        ("٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹", "0123456789 0123456789"),
        ("٢٣٨١/٢٠١٣", "2381/2013"),
        ("\u0663\u066b\u0665", "3.5"),  # with the Arabic decimal separator
    ],
)
def test_digits(text: str, expected: str) -> None:
    assert normalise_arabic(text) == expected


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("محمد الحلبي", "arabic"),
        ("Mohammad al-Halabi", "latin"),
        ("Muḥammad ʿAlī", "latin"),
        ("محمد Halabi", "mixed"),
        ("١٢٣ 😀", "none"),
        ("", "none"),
        ("Алексей", "none"),
    ],
)
def test_detect_script(text: str, script: str) -> None:
    assert detect_script(text) == script
