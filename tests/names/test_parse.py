"""parse_name: the parts of Syrian names, chains, compounds, orders."""

from __future__ import annotations

import pytest

from dalil.names import ParsedName, parse_name

N = None
# (text, given, father, grandfather, family, confidence)
CASES = [
    ("Ahmad bin Khaled bin Omar al-Hamwi", "Ahmad", "Khaled", "Omar", "al-Hamwi", "high"),
    ("أحمد بن خالد بن عمر الحموي", "أحمد", "خالد", "عمر", "الحموي", "high"),
    ("Ahmad ibn Khaled ibn Omar", "Ahmad", "Khaled", "Omar", N, "high"),
    ("Ahmad b. Khaled Hamwi", "Ahmad", "Khaled", N, "Hamwi", "high"),
    ("فاطمة بنت محمد", "فاطمة", "محمد", N, N, "medium"),
    ("Osama bin Laden", "Osama", "Laden", N, N, "medium"),
    ("Ahmad bin Khaled Omar al-Hamwi", "Ahmad", "Khaled", "Omar", "al-Hamwi", "medium"),
    ("Mohammad Khaled al-Hamwi", "Mohammad", "Khaled", N, "al-Hamwi", "high"),
    ("محمد خالد الحلبي", "محمد", "خالد", N, "الحلبي", "high"),
    ("Mohammad Khaled Omar Hamwi", "Mohammad", "Khaled", "Omar", "Hamwi", "high"),
    ("محمد خالد عمر الحلبي", "محمد", "خالد", "عمر", "الحلبي", "high"),
    ("Ahmad Hamwi", "Ahmad", N, N, "Hamwi", "high"),
    ("Ahmad Khaled", "Ahmad", N, N, "Khaled", "medium"),  # Khaled may be the father's
    ("محمد خالد عمر", "محمد", "خالد", N, "عمر", "medium"),  # عمر may be the grandfather's
    ("Abd al-Rahman Mohammad al-Khatib", "Abd al-Rahman", "Mohammad", N, "al-Khatib", "high"),
    ("عبد الرحمن محمد الخطيب", "عبد الرحمن", "محمد", N, "الخطيب", "high"),
    ("Abdul Karim Hasan al-Zoubi", "Abdul Karim", "Hasan", N, "al-Zoubi", "high"),
    ("عبدالله أحمد المصري", "عبدالله", "أحمد", N, "المصري", "high"),
    ("Nour al-Din Mahmoud Shami", "Nour al-Din", "Mahmoud", N, "Shami", "high"),
    ("نور الدين محمد الشامي", "نور الدين", "محمد", N, "الشامي", "high"),
    ("Salah Eddine Ahmad Homsi", "Salah Eddine", "Ahmad", N, "Homsi", "high"),
    ("Abu Bakr Ahmad Abu Zeid", "Abu Bakr", "Ahmad", N, "Abu Zeid", "high"),
    ("أبو بكر أحمد أبو زيد", "أبو بكر", "أحمد", N, "أبو زيد", "high"),
    ("Mhd Kheir Hasan Shami", "Mhd Kheir", "Hasan", N, "Shami", "high"),
    ("محمد نور حسن الشامي", "محمد نور", "حسن", N, "الشامي", "high"),
    ("Mohammad Ali Hasan Hamwi", "Mohammad", "Ali", "Hasan", "Hamwi", "high"),  # not joined
    ("HAMWI, Ahmad Khaled", "Ahmad", "Khaled", N, "HAMWI", "high"),
    ("الحلبي، محمد خالد", "محمد", "خالد", N, "الحلبي", "high"),
    ("al-Hamwi Ahmad Khaled", "Ahmad", "Khaled", N, "al-Hamwi", "medium"),
    ("Dr. Ahmad Hamwi", "Ahmad", N, N, "Hamwi", "high"),
    ("الشهيد محمد (أبو أحمد) الحلبي", "محمد", N, N, "الحلبي", "high"),
    ("المعتقل عبد الله بن محمد الحموي", "عبد الله", "محمد", N, "الحموي", "high"),
    ("Mohammed Ahmed Mahmoud Hassan el-Masri", "Mohammed", "Ahmed", "Mahmoud", "el-Masri", "low"),
    ("محمد بن علي بن حسين بن أحمد", "محمد", "علي", "حسين", N, "high"),
    ("Mohammad خالد al-Hamwi", "Mohammad", "خالد", N, "al-Hamwi", "high"),
    ("Ahmad", "Ahmad", N, N, N, "low"),
    ("al-Hamwi", N, N, N, "al-Hamwi", "low"),
    ("", N, N, N, N, "low"),
]


@pytest.mark.parametrize(
    ("text", "given", "father", "grandfather", "family", "confidence"),
    CASES,
    ids=[c[0] or "empty" for c in CASES],
)
def test_parse_name(
    text: str,
    given: str | None,
    father: str | None,
    grandfather: str | None,
    family: str | None,
    confidence: str,
) -> None:
    p = parse_name(text)
    assert (p.given, p.father, p.grandfather, p.family) == (given, father, grandfather, family)
    assert p.confidence == confidence


def test_family_first_order() -> None:
    p = parse_name("Hamwi Ahmad Khaled Omar", order="family-first")
    assert (p.given, p.father, p.grandfather, p.family) == ("Ahmad", "Khaled", "Omar", "Hamwi")
    p = parse_name("الحلبي محمد خالد", order="family-first")
    assert (p.given, p.father, p.family) == ("محمد", "خالد", "الحلبي")


def test_tokens_script_and_notes() -> None:
    p = parse_name("الشهيد محمد (أبو أحمد) بن خالد الحلبي")
    assert p == ParsedName(
        given="محمد",
        father="خالد",
        grandfather=None,
        family="الحلبي",
        tokens=("محمد", "خالد", "الحلبي"),
        script="arabic",
        confidence="high",
        notes=("title left out: الشهيد", "bracketed text left out: أبو أحمد"),
    )
    assert parse_name("Ahmad خالد").script == "mixed"
    assert parse_name("Ahmad Khaled").notes == (
        "Khaled is also a given name: it may be the father's name",
    )
    assert any(
        "more names than roles" in n for n in parse_name("Ahmad Khaled Omar Hasan Ali Hamwi").notes
    )
    assert any("kunya" in n for n in parse_name("Abu Ahmad Hamwi").notes)


def test_hyphens_and_diacritics_are_kept_as_written() -> None:
    p = parse_name("  Abd-al-Rahman   bin  Khaled  al-Hamwi ")
    assert (p.given, p.father, p.family) == ("Abd-al-Rahman", "Khaled", "al-Hamwi")
    assert parse_name("مُحَمَّد الحَلَبِيّ").given == "مُحَمَّد"
