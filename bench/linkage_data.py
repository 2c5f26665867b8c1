# ruff: noqa: RUF001, RUF003 - Arabic letters are this module's data
"""Generated people and the lists organisations keep of them, for ``bench/linkage.py``.

Written for the benchmark, independently of the demo's generator (``dalil.demo.people``, which
the tests were tuned on): other name tables (``linkage_names``, with a long tail of generated
family names), other layouts and headings, other corruption code.

People come in clans (a family name and a grandfather), households (a father, a mother, a
place) and children, so brothers share everything but their given name and birth year, and
cousins share a grandfather and a family name; given names follow a Zipf law (one man in five
is a Muhammad), family names a flatter one with a long tail. Each list spells a person in its
own way: transliterations (Mohammad, Muhammad, Mohamed, Mhd, محمد), the article written
al-/el-/Al/as-/joined or not at all, hamza and alef forms, teh marbuta and alef maqsura,
"son of" chains (بن, ابن, bin, ibn), given and family names swapped, Arabic-Indic digits,
typing slips on the keyboard of the script, a birth year one off, day and month read the
other way round; and some people are entered twice in one list.

*Held-out* data draws on a quarter of the name tables that tuning data never uses (and on other
seeds), so a model tuned on the tuning seeds meets names it has never seen.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkage_names import FAMILIES, LETTERS, MEN, PATTERNS, PLACES, VOWELS, WOMEN, Name

_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_ARABIC_KEYS = ("ضصثقفغعهخحجد", "شسيبلاتنمكط", "ئءؤرىةوزظ")
# Letters that a root does not put side by side (one place of articulation each).
_CLASH = {c: group for group, letters in enumerate(("حخعغهق", "صضطظتدث", "سشزصذثظج", "بفم",
          "رلن", "كقج")) for c in letters}  # fmt: skip
_SUN = ("t", "th", "d", "dh", "r", "z", "s", "sh", "n")


def _neighbours(rows: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r, row in enumerate(rows):
        for c, char in enumerate(row):
            near = [row[c - 1] if c else "", row[c + 1] if c + 1 < len(row) else ""]
            for other in (rows[r - 1] if r else "", rows[r + 1] if r + 1 < len(rows) else ""):
                near += [other[c - 1 : c], other[c : c + 1]]
            out[char] = "".join(near)
    return out


_NEAR = {**_neighbours(_QWERTY), **_neighbours(_ARABIC_KEYS)}


# -- name pools ------------------------------------------------------------------------------


def _held_out(i: int) -> bool:
    """Names only held-out data uses: every fourth, below the ten commonest."""
    return i >= 10 and i % 4 == 3


@dataclass(slots=True)
class Pool:
    """Names drawn by weight (cumulative weights, so each draw is a bisection)."""

    names: list[Name]
    cumulative: list[float]

    @classmethod
    def zipf(cls, names: Sequence[Name], exponent: float, offset: float, held_out: bool) -> Pool:
        kept = [(i, n) for i, n in enumerate(names) if held_out or not _held_out(i)]
        weights = [1 / (rank + offset) ** exponent for rank in range(len(kept))]
        return cls([n for _, n in kept], list(itertools.accumulate(weights)))

    def draw(self, rng: random.Random) -> Name:
        at = bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])
        return self.names[min(at, len(self.names) - 1)]

    def share_of_commonest(self) -> float:
        return self.cumulative[0] / self.cumulative[-1]


def tail_families(n: int) -> list[Name]:
    """``n`` generated family names (the long tail a real population has): a root of three
    letters in one of the usual patterns, spelled in Arabic and two Latin ways. Always the same
    names for the same ``n`` (seeded apart from the run)."""
    rng = random.Random(20_240_613)
    letters = [c for c in LETTERS if c not in "وي"]
    seen = {f.arabic for f in FAMILIES}
    out: list[Name] = []
    while len(out) < n:
        root = rng.sample(letters, 3)
        if any(_CLASH.get(a, "x") == _CLASH.get(b, "y") for a, b in itertools.pairwise(root)):
            continue  # a root does not put two letters of one articulation side by side
        arabic_template, latin_template = rng.choice(PATTERNS)
        arabic = "".join(root[int(c) - 1] if c.isdigit() else c for c in arabic_template)
        if arabic in seen:
            continue
        seen.add(arabic)
        spellings = []
        for usual in (True, False):
            latin = latin_template
            for k, letter in enumerate(root, 1):
                options = LETTERS[letter]
                latin = latin.replace(f"{{{k}}}", options[0] if usual else rng.choice(options))
            for vowel, options in VOWELS.items():
                latin = latin.replace(f"{{{vowel}}}", options[0] if usual else rng.choice(options))
            latin = latin.strip("'")
            if not usual and rng.random() < 0.5:  # a doubled letter written once
                latin = "".join(c for i, c in enumerate(latin) if i == 0 or c != latin[i - 1])
            spellings.append(latin[:1].upper() + latin[1:])
        out.append(Name(arabic, tuple(dict.fromkeys(spellings))))
    return out


@dataclass(slots=True)
class Pools:
    men: Pool
    women: Pool
    families: Pool
    places: Pool

    @classmethod
    def make(cls, held_out: bool, tail: int) -> Pools:
        return cls(
            Pool.zipf(MEN, 1.0, 1, held_out),
            Pool.zipf(WOMEN, 0.8, 1, held_out),
            Pool.zipf(list(FAMILIES) + tail_families(tail), 0.9, 12, held_out),
            Pool.zipf(PLACES, 0.8, 1, held_out),
        )


# -- people ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    pid: int
    sex: str  # "m" or "f"
    given: Name
    father: Name
    grandfather: Name
    family: Name
    mother: Name
    born: dt.date
    place: Name
    national_id: str


def people(n: int, seed: int, *, held_out: bool, tail: int = 400) -> list[Person]:
    """``n`` people in clans, households and children (see the module's docstring)."""
    rng = random.Random(seed)
    pools = Pools.make(held_out, tail)
    out: list[Person] = []
    while len(out) < n:
        family, grandfather = pools.families.draw(rng), pools.men.draw(rng)
        clan_place = pools.places.draw(rng)
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            father, mother = pools.men.draw(rng), pools.women.draw(rng)
            place = clan_place if rng.random() < 0.8 else pools.places.draw(rng)
            first_born = rng.randint(1950, 1995)
            given_names: set[str] = set()
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                female = rng.random() < 0.12
                given = (pools.women if female else pools.men).draw(rng)
                if given.arabic in given_names:  # brothers have different names
                    continue
                given_names.add(given.arabic)
                born = dt.date(first_born + rng.randint(0, 12), rng.randint(1, 12),
                               rng.randint(1, 28))  # fmt: skip
                nid = f"{rng.randrange(1, 15):02d}{rng.randrange(10**9):09d}"
                out.append(Person(len(out), "f" if female else "m", given, father, grandfather,
                                  family, mother, born, place, nid))  # fmt: skip
    return out[:n]


# -- corruptions -----------------------------------------------------------------------------


def slip(rng: random.Random, text: str) -> str:
    """One typing slip: a letter dropped, doubled, two swapped or a neighbouring key."""
    spots = [i for i, c in enumerate(text) if i > 0 and c.isalpha()]
    if len(text) < 4 or not spots:
        return text
    i = rng.choice(spots)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:i] + text[i + 1 :]
    if kind == 1:
        return text[:i] + text[i] + text[i:]
    if kind == 2 and i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    near = _NEAR.get(text[i].lower(), "")
    if not near:
        return text[:i] + text[i + 1 :]
    return text[:i] + rng.choice(near) + text[i + 1 :]


@dataclass(frozen=True, slots=True)
class ArabicHand:
    """How one clerk writes Arabic in one record."""

    no_hamza: bool  # أ إ آ ؤ ئ written without their hamza
    heh_for_marbuta: bool  # ة written ه
    yeh_for_maqsura: bool  # ى written ي
    joined: bool  # عبدالرحمن, ابوزيد, نورالدين
    slips: float

    @classmethod
    def draw(cls, rng: random.Random) -> ArabicHand:
        return cls(rng.random() < 0.5, rng.random() < 0.25, rng.random() < 0.3,
                   rng.random() < 0.4, 0.05)  # fmt: skip

    def write(self, rng: random.Random, text: str, drop_article: bool = False) -> str:
        if drop_article and text.startswith("ال"):
            text = text[2:]
        if self.no_hamza:
            text = text.translate(str.maketrans("أإآؤئ", "اااوي"))
            if text.endswith("اء") and rng.random() < 0.5:
                text = text[:-1]
        if self.heh_for_marbuta:
            text = text.replace("ة", "ه")
        if self.yeh_for_maqsura:
            text = text.replace("ى", "ي")
        if self.joined:
            for word in ("عبد ", "أبو ", "ابو ", " الدين"):
                text = text.replace(word, word.strip())
        return slip(rng, text) if rng.random() < self.slips else text


def latin_spelling(rng: random.Random, name: Name) -> str:
    return name.latin[0] if rng.random() < 0.5 else rng.choice(name.latin)


def latin_family(rng: random.Random, name: Name) -> str:
    """A family name in Latin letters, with the article as people write it."""
    base = latin_spelling(rng, name)
    if not name.has_article:
        return base
    roll = rng.random()
    if roll < 0.30:
        return base
    if roll < 0.55:
        return f"al-{base}"
    if roll < 0.65:
        return f"Al-{base}"
    if roll < 0.72:
        return f"Al {base}"
    if roll < 0.82:
        return f"el-{base}"
    if roll < 0.92:
        return f"Al{base.lower()}"
    sun = next((s for s in _SUN if base.lower().startswith(s)), None)
    return f"a{sun}-{base}" if sun and " " not in base else f"al-{base}"


def latin_case(rng: random.Random, text: str) -> str:
    roll = rng.random()
    return text.upper() if roll < 0.1 else text.lower() if roll < 0.15 else text


def digits(rng: random.Random, text: str, share: float) -> str:
    return text.translate(_INDIC) if rng.random() < share else text


def number_slip(rng: random.Random, number: str) -> str:
    i = rng.randrange(len(number) - 1)
    if rng.random() < 0.5:
        return number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    return number[:i] + str((int(number[i]) + rng.randint(1, 9)) % 10) + number[i + 1 :]


@dataclass(frozen=True, slots=True)
class Birth:
    year: int
    month: int
    day: int


def birth(rng: random.Random, born: dt.date) -> Birth:
    """The birth date as a list has it: one year off, or day and month read the other way."""
    year, month, day = born.year, born.month, born.day
    if rng.random() < 0.06:
        year += rng.choice((-1, 1))
    if rng.random() < 0.04 and day <= 12 and day != month:
        month, day = day, month
    return Birth(year, month, day)


# -- records in three hands ------------------------------------------------------------------


def arabic_name(rng: random.Random, p: Person, hand: ArabicHand, grandfather: float) -> str:
    """The full name in Arabic: given, father, sometimes grandfather, family, with "son of"
    (بن, ابن; بنت for a daughter) between them now and then."""
    chain = "بنت" if p.sex == "f" else "بن"
    roll = rng.random()
    link = f" {chain} " if roll < 0.18 else " ابن " if roll < 0.23 and p.sex == "m" else " "
    parts = [hand.write(rng, p.given.arabic), link, hand.write(rng, p.father.arabic)]
    if rng.random() < grandfather:
        parts += [" بن " if link.strip() else " ", hand.write(rng, p.grandfather.arabic)]
    parts += [" ", hand.write(rng, p.family.arabic, drop_article=rng.random() < 0.25)]
    return "".join(parts)


def latin_full(rng: random.Random, p: Person) -> str:
    """The full name in Latin letters, in one of the orders lists use."""
    given = slip(rng, latin_spelling(rng, p.given)) if rng.random() < 0.05 else None
    given = given or latin_spelling(rng, p.given)
    father = latin_spelling(rng, p.father)
    family = latin_family(rng, p.family)
    if rng.random() < 0.05:
        family = slip(rng, family)
    roll = rng.random()
    if roll < 0.6:
        return latin_case(rng, f"{given} {father} {family}")
    if roll < 0.85:
        return f"{family.upper()}, {given} {father}"
    chain = "bint" if p.sex == "f" else rng.choice(("bin", "ibn", "bin"))
    grand = latin_spelling(rng, p.grandfather)
    return f"{given} {chain} {father} bin {grand} {family}"


def canonical_arabic(rng: random.Random, p: Person) -> dict[str, str]:
    """A record as an Arabic-script list holds it, in canonical fields (what an import
    makes of it; dates ISO)."""
    hand = ArabicHand.draw(rng)
    out = {"full_name": arabic_name(rng, p, hand, 0.35)}
    if rng.random() < 0.7:
        out["mother_name"] = hand.write(rng, p.mother.arabic)
    if rng.random() < 0.8:
        out["sex"] = p.sex
    _iso_birth(rng, p, out)
    if rng.random() < 0.6:
        out["birth_place"] = hand.write(rng, p.place.arabic)
    if rng.random() < 0.55:
        out["national_id"] = (
            number_slip(rng, p.national_id) if rng.random() < 0.03 else (p.national_id)
        )
    return out


def canonical_latin(rng: random.Random, p: Person) -> dict[str, str]:
    """A record as a Latin-script list with one column per name holds it."""
    given, family = latin_spelling(rng, p.given), latin_family(rng, p.family)
    if rng.random() < 0.06:
        given = slip(rng, given)
    if rng.random() < 0.06:
        family = slip(rng, family)
    if rng.random() < 0.07:  # given and family names swapped
        given, family = family, given
    out = {"given_name": latin_case(rng, given), "family_name": latin_case(rng, family)}
    if rng.random() < 0.85:
        out["father_name"] = latin_spelling(rng, p.father)
    if rng.random() < 0.5:
        out["mother_name"] = latin_spelling(rng, p.mother)
    if rng.random() < 0.92:
        out["birth_year"] = str(birth(rng, p.born).year)
    if rng.random() < 0.85:
        out["sex"] = p.sex
    if rng.random() < 0.6:
        out["birth_place"] = latin_spelling(rng, p.place)
    return out


def canonical_mixed(rng: random.Random, p: Person) -> dict[str, str]:
    """A record as a mixed-script workbook holds it: one name column in either script."""
    if rng.random() < 0.35:
        name = arabic_name(rng, p, ArabicHand.draw(rng), 0.2)
    else:
        name = latin_full(rng, p)
    out = {"full_name": name}
    _iso_birth(rng, p, out)
    if rng.random() < 0.4:
        out["national_id"] = (
            number_slip(rng, p.national_id) if rng.random() < 0.03 else (p.national_id)
        )
    if rng.random() < 0.5:
        out["birth_place"] = p.place.arabic if rng.random() < 0.4 else latin_spelling(rng, p.place)
    return out


def _iso_birth(rng: random.Random, p: Person, out: dict[str, str]) -> None:
    roll = rng.random()
    if roll < 0.1:
        return
    b = birth(rng, p.born)
    if roll < 0.4:
        out["birth_year"] = str(b.year)
    else:
        out["birth_date"] = f"{b.year:04d}-{b.month:02d}-{b.day:02d}"


HANDS: dict[str, Callable[[random.Random, Person], dict[str, str]]] = {
    "arabic": canonical_arabic,
    "latin": canonical_latin,
    "mixed": canonical_mixed,
}


# -- list files ------------------------------------------------------------------------------


@dataclass(slots=True)
class ListFile:
    """One written list: how to import it, and who each record is."""

    name: str
    path: Path
    id_column: str
    mapping: dict[str, str]
    truth: dict[str, int] = field(default_factory=dict)  # record id (as imported) -> person


def _sample(rng: random.Random, persons: list[Person], share: float) -> list[Person]:
    """A share of the people, about 6% of them entered twice, in no particular order."""
    chosen = [p for p in persons if rng.random() < share]
    chosen += [rng.choice(chosen) for _ in range(round(len(chosen) * 0.06))]
    rng.shuffle(chosen)
    return chosen


def _date_text(rng: random.Random, fields: dict[str, str], indic: float) -> str:
    """A birth as a clerk types it: day/month/year, a year alone, or ISO."""
    if "birth_date" in fields:
        year, month, day = fields["birth_date"].split("-")
        text = f"{day}/{month}/{year}" if rng.random() < 0.8 else fields["birth_date"]
    else:
        text = fields.get("birth_year", "")
    return digits(rng, text, indic)


def write_arabic(folder: Path, persons: list[Person], rng: random.Random) -> ListFile:
    """A committee's Arabic CSV (UTF-8, comma): one name column, a birth column named تولد
    holding a date or a year, Arabic-Indic digits in a third of the rows."""
    out = ListFile("lajna", folder / "lajna.csv", "الرقم", {"تولد": "birth_date"})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["الرقم", "الاسم الكامل", "اسم الأم", "الجنس", "تولد", "محل الولادة",
                     "الرقم الوطني"])  # fmt: skip
    for n, p in enumerate(_sample(rng, persons, 0.55), 1):
        f = canonical_arabic(rng, p)
        indic = 0.35
        sex = {"m": "ذكر", "f": "أنثى"}.get(f.get("sex", ""), "")
        writer.writerow([digits(rng, str(n), 0.2), f["full_name"], f.get("mother_name", ""),
                         sex, _date_text(rng, f, indic), f.get("birth_place", ""),
                         digits(rng, f.get("national_id", ""), indic)])  # fmt: skip
        out.truth[str(n)] = p.pid
    out.path.write_text(buffer.getvalue(), encoding="utf-8")
    return out


def write_latin(folder: Path, persons: list[Person], rng: random.Random) -> ListFile:
    """A monitoring group's sheet saved as Excel "Unicode text" (UTF-16, tab-separated): a
    column per name, a year of birth, Male/Female, a hometown."""
    out = ListFile("monitor", folder / "monitor.txt", "No.", {"Hometown": "birth_place"})
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t")
    writer.writerow(["No.", "Last Name", "First Name", "Father's Name", "Mother's Name", "YOB",
                     "Gender", "Hometown", "Detention date"])  # fmt: skip
    for n, p in enumerate(_sample(rng, persons, 0.45), 1):
        f = canonical_latin(rng, p)
        given, father = f["given_name"], f.get("father_name", "")
        if father and rng.random() < 0.1:  # "Given Father" in the first-name column
            given, father = f"{given} {father}", ""
        sex = f.get("sex", "")
        sex = {"m": "Male", "f": "Female"}[sex] if sex and rng.random() < 0.5 else sex.upper()
        arrested = dt.date(2011, 3, 15) + dt.timedelta(days=rng.randrange(1800))
        rid = f"M-{n:05d}"
        writer.writerow([rid, f["family_name"], given, father, f.get("mother_name", ""),
                         f.get("birth_year", ""), sex, f.get("birth_place", ""),
                         arrested.strftime("%d/%m/%Y")])  # fmt: skip
        out.truth[rid] = p.pid
    out.path.write_bytes(buffer.getvalue().encode("utf-16"))
    return out


def write_mixed(folder: Path, persons: list[Person], rng: random.Random) -> ListFile:
    """A register kept as an XLSX workbook: one name column in either script, dates as date
    cells, text or a bare year, an "ID No" column."""
    from openpyxl import Workbook

    out = ListFile("register", folder / "register.xlsx", "Ref", {"ID No": "national_id"})
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "register"
    sheet.append(["Ref", "Name", "DOB", "ID No", "Place of Birth", "Source"])
    for n, p in enumerate(_sample(rng, persons, 0.35), 1):
        f = canonical_mixed(rng, p)
        born: Any = ""
        if "birth_date" in f:
            born = (
                dt.date.fromisoformat(f["birth_date"])
                if rng.random() < 0.6
                else _date_text(rng, f, 0.3)
            )
        elif "birth_year" in f:
            born = int(f["birth_year"])
        rid = f"R{n:05d}"
        sheet.append([rid, f["full_name"], born, digits(rng, f.get("national_id", ""), 0.3),
                      f.get("birth_place", ""),
                      rng.choice(("witness", "family", "released detainee", "press"))])  # fmt: skip
        out.truth[rid] = p.pid
    book.save(out.path)
    return out


def write_lists(folder: Path, persons: list[Person], seed: int) -> list[ListFile]:
    """The three lists of ``persons`` in ``folder``, with their truth."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_arabic(folder, persons, rng), write_latin(folder, persons, rng),
            write_mixed(folder, persons, rng)]  # fmt: skip


# -- records at scale ------------------------------------------------------------------------


def scale_records(n: int, seed: int, tail: int) -> tuple[list[dict[str, str]], list[int]]:
    """``n`` records in canonical fields (as an import makes them), about 10% of them second
    records of a person already there, in the three hands; and each record's person."""
    rng = random.Random(seed)
    persons = people(round(n / 1.1), seed, held_out=True, tail=tail)
    hands = list(HANDS.values())
    fields: list[dict[str, str]] = []
    who: list[int] = []
    for p in persons:
        fields.append(rng.choice(hands)(rng, p))
        who.append(p.pid)
    while len(fields) < n:
        p = persons[rng.randrange(len(persons))]
        fields.append(rng.choice(hands)(rng, p))
        who.append(p.pid)
    return fields, who
