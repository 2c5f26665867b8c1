"""Synthetic people and the lists other organisations would keep of them — for the demo and
the tests of linkage. Nobody here is real: names are drawn from tables of common given and
family names, and every record is a corruption of a generated person with a known identity.

Three lists in different layouts: an Arabic CSV (a three-part name in one column, the mother's
name, the year of birth, the branch), a Latin CSV with a byte-order mark (given, father and
family names in columns, sex, a detainee number), and an XLSX workbook ("FAMILY, Given" and a
date of birth written day/month/year). Names are spelled as families and organisations spell
them: several transliterations, the article kept or dropped, given and family names swapped,
typing slips, birth years a year off, Arabic-Indic digits; some people appear twice in one list;
many share the commonest names.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path

# (Arabic, Latin spellings) — common given names; the first spelling is the usual one
GIVEN = [
    ("محمد", ["Mohammad", "Muhammad", "Mohamed", "Mohammed", "Mhd"]),
    ("أحمد", ["Ahmad", "Ahmed"]),
    ("محمود", ["Mahmoud", "Mahmud"]),
    ("علي", ["Ali", "Aly"]),
    ("عمر", ["Omar", "Umar"]),
    ("خالد", ["Khaled", "Khalid"]),
    ("حسن", ["Hasan", "Hassan"]),
    ("حسين", ["Hussein", "Husain", "Hussain"]),
    ("يوسف", ["Youssef", "Yousef", "Yusuf"]),
    ("إبراهيم", ["Ibrahim", "Ebrahim"]),
    ("عبد الرحمن", ["Abdul Rahman", "Abdulrahman", "Abd al-Rahman", "Abdel Rahman"]),
    ("عبد الله", ["Abdullah", "Abdallah", "Abd Allah"]),
    ("مصطفى", ["Mustafa", "Moustafa", "Mostafa"]),
    ("سامر", ["Samer", "Samir"]),
    ("باسل", ["Basel", "Basil"]),
    ("وائل", ["Wael", "Wa'il"]),
    ("فادي", ["Fadi", "Fady"]),
    ("رامي", ["Rami", "Ramy"]),
    ("عمار", ["Ammar", "Amar"]),
    ("زياد", ["Ziad", "Ziyad"]),
    ("طارق", ["Tarek", "Tariq"]),
    ("جمال", ["Jamal", "Gamal"]),
    ("نور الدين", ["Nour al-Din", "Nureddin", "Nour Eddine"]),
    ("بشار", ["Bashar", "Bachar"]),
    ("مازن", ["Mazen", "Mazin"]),
    ("قاسم", ["Qasem", "Kassem", "Qasim"]),
    ("غسان", ["Ghassan", "Gassan"]),
    ("هيثم", ["Haitham", "Haytham"]),
    ("فاطمة", ["Fatima", "Fatma", "Fatmeh"]),
    ("مريم", ["Maryam", "Mariam"]),
    ("زينب", ["Zainab", "Zeinab"]),
    ("رنا", ["Rana"]),
]
FAMILY = [
    ("الحلبي", ["al-Halabi", "Halabi", "el-Halabi", "Alhalabi"]),
    ("الحمصي", ["al-Homsi", "Homsi", "al-Humsi"]),
    ("الشامي", ["al-Shami", "Shami", "el-Chami"]),
    ("العلي", ["al-Ali", "Alali"]),
    ("الأحمد", ["al-Ahmad", "Alahmad", "al-Ahmed"]),
    ("الخطيب", ["al-Khatib", "Khatib", "el-Khatib"]),
    ("المصري", ["al-Masri", "Masri", "el-Masry"]),
    ("الحسن", ["al-Hasan", "Alhassan"]),
    ("درويش", ["Darwish", "Darwich"]),
    ("حداد", ["Haddad", "Hadad"]),
    ("قباني", ["Qabbani", "Kabbani"]),
    ("عثمان", ["Othman", "Osman", "Uthman"]),
    ("نجار", ["Najjar", "Najar"]),
    ("صباغ", ["Sabbagh", "Sabagh"]),
    ("زعبي", ["Zoubi", "Zu'bi", "al-Zoubi"]),
    ("حمود", ["Hammoud", "Hamoud"]),
    ("السيد", ["al-Sayed", "Sayed", "el-Sayyed"]),
    ("يونس", ["Younes", "Yunus"]),
    ("شحادة", ["Shehadeh", "Chehade", "Shahadah"]),
    ("بكور", ["Bakkour", "Bakour"]),
]
BRANCHES = ("215", "227", "235", "248", "251", "291")
_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@dataclass(frozen=True, slots=True)
class Person:
    pid: int
    given: int  # index into GIVEN
    father: int
    grandfather: int
    family: int  # index into FAMILY
    mother: int
    sex: str
    birth_year: int
    birth_day: tuple[int, int]  # (day, month)
    branch: str
    detainee: str


def people(n: int, seed: int) -> list[Person]:
    """``n`` people; the commonest names are drawn far more often (Zipf-like), as in life."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(GIVEN))]
    men = [i for i, (a, _) in enumerate(GIVEN) if a not in ("فاطمة", "مريم", "زينب", "رنا")]
    out = []
    for pid in range(n):
        female = rng.random() < 0.1
        given = (
            rng.choice([28, 29, 30, 31])
            if female
            else rng.choices(men, [weights[i] for i in men])[0]
        )
        out.append(
            Person(
                pid,
                given,
                rng.choices(men, [weights[i] for i in men])[0],
                rng.choices(men, [weights[i] for i in men])[0],
                rng.randrange(len(FAMILY)),
                rng.choice([28, 29, 30, 31]),
                "f" if female else "m",
                rng.randint(1950, 1998),
                (rng.randint(1, 28), rng.randint(1, 12)),
                rng.choice(BRANCHES),
                str(rng.randint(1000, 99999)),
            )
        )
    return out


def _latin(rng: random.Random, table: list[tuple[str, list[str]]], i: int) -> str:
    spellings = table[i][1]
    return spellings[0] if rng.random() < 0.5 else rng.choice(spellings)


def _slip(rng: random.Random, text: str) -> str:
    """One typing slip in a word of three letters or more, now and then."""
    if rng.random() > 0.08 or len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1 :] if rng.random() < 0.5 else text[:i] + text[i] + text[i:]


def _arabic_family(rng: random.Random, p: Person) -> str:
    name = FAMILY[p.family][0]
    return name[2:] if name.startswith("ال") and rng.random() < 0.2 else name


def write_lists(folder: Path, persons: list[Person], seed: int) -> dict[str, dict[str, int]]:
    """Write the three lists into ``folder``; returns the truth: list → record id → person."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, dict[str, int]] = {"arabic": {}, "latin": {}, "workbook": {}}

    def sample(share: float) -> list[Person]:
        chosen = [p for p in persons if rng.random() < share]
        return chosen + [rng.choice(chosen) for _ in range(max(1, len(chosen) // 25))]

    # 1. an Arabic CSV: الاسم الثلاثي, اسم الأم, مواليد, الفرع
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(["الرقم", "الاسم الثلاثي", "اسم الأم", "مواليد", "الفرع"])
    for n, p in enumerate(sample(0.6), 1):
        name = f"{GIVEN[p.given][0]} {GIVEN[p.father][0]} {_arabic_family(rng, p)}"
        year = p.birth_year + (rng.choice((-1, 1)) if rng.random() < 0.1 else 0)
        digits = str(year).translate(_INDIC) if rng.random() < 0.3 else str(year)
        out.writerow([n, name, GIVEN[p.mother][0], digits, p.branch])
        truth["arabic"][str(n)] = p.pid
    (folder / "arabic.csv").write_text(buffer.getvalue(), encoding="utf-8")

    # 2. a Latin CSV with a byte-order mark: given, father, surname in columns
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(["ID", "First name", "Father's name", "Surname", "Year of birth", "Sex",
                  "Detainee no"])  # fmt: skip
    for n, p in enumerate(sample(0.5), 1):
        given, family = _latin(rng, GIVEN, p.given), _latin(rng, FAMILY, p.family)
        if rng.random() < 0.08:  # given and family names swapped
            given, family = family, given
        father = _latin(rng, GIVEN, p.father) if rng.random() < 0.85 else ""
        number = p.detainee if rng.random() < 0.4 else ""
        out.writerow([f"L{n}", _slip(rng, given), father, _slip(rng, family), p.birth_year,
                      "M" if p.sex == "m" else "F", number])  # fmt: skip
        truth["latin"][f"L{n}"] = p.pid
    (folder / "latin.csv").write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))

    # 3. an XLSX workbook: "FAMILY, Given Father", date of birth day/month/year
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "victims"
    sheet.append(["Ref", "Name", "Date of birth", "Place of arrest"])
    for n, p in enumerate(sample(0.4), 1):
        family = _latin(rng, FAMILY, p.family).upper()
        name = f"{family}, {_latin(rng, GIVEN, p.given)} {_latin(rng, GIVEN, p.father)}"
        day, month = p.birth_day
        if rng.random() < 0.1:  # day and month read the other way round, or a slip
            day, month = (month, day) if day <= 12 else (day, rng.randint(1, 12))
        born = f"{day:02d}/{month:02d}/{p.birth_year}"
        sheet.append([f"W-{n:04d}", name, born, rng.choice(["Damascus", "Aleppo", "Homs"])])
        truth["workbook"][f"W-{n:04d}"] = p.pid
    book.save(folder / "workbook.xlsx")
    return truth
