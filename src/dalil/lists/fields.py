"""The fields a list row can have, and the column headings people use for them."""

from __future__ import annotations

import re
import unicodedata

FIELDS = (
    "full_name",
    "given_name",
    "father_name",
    "grandfather_name",
    "family_name",
    "mother_name",
    "sex",
    "birth_date",
    "birth_year",
    "birth_place",
    "arrest_date",
    "arrest_place",
    "branch",
    "detainee_number",
    "national_id",
    "death_date",
    "address",
    "postcode",
    "note",
)
"""Canonical fields; every other column of a list is kept as it is, under its own heading."""

# Headings seen in lists (English, Arabic, French), compared after folding (see _fold).
_HEADINGS: dict[str, tuple[str, ...]] = {
    "full_name": ("name", "full name", "fullname", "الاسم", "الاسم الكامل", "الاسم الثلاثي",
                  "nom", "nom complet", "person", "victim", "detainee", "اسم المعتقل",
                  "اسم الضحية"),
    "given_name": ("first name", "firstname", "given name", "forename", "الاسم الاول",
                   "اسم الشخص", "prenom"),
    "father_name": ("father", "father name", "father's name", "fathers name", "اسم الاب",
                    "الاب", "nom du pere"),
    "grandfather_name": ("grandfather", "grandfather name", "اسم الجد", "الجد"),
    "family_name": ("family name", "surname", "last name", "lastname", "الكنية", "العائلة",
                    "اسم العائلة", "النسبة", "nom de famille"),
    "mother_name": ("mother", "mother name", "mother's name", "mothers name", "اسم الام",
                    "الام", "nom de la mere"),
    "sex": ("sex", "gender", "الجنس", "sexe"),
    "birth_date": ("date of birth", "birth date", "dob", "born", "تاريخ الولادة",
                   "تاريخ الميلاد", "date de naissance"),
    "birth_year": ("year of birth", "birth year", "yob", "مواليد", "سنة الولادة",
                   "annee de naissance"),
    "birth_place": ("place of birth", "birth place", "birthplace", "مكان الولادة",
                    "محل الولادة", "lieu de naissance"),
    "arrest_date": ("date of arrest", "arrest date", "arrested", "detention date",
                    "تاريخ الاعتقال", "تاريخ الاحتجاز", "date d'arrestation"),
    "arrest_place": ("place of arrest", "arrest place", "مكان الاعتقال", "lieu d'arrestation"),
    "branch": ("branch", "security branch", "الفرع", "الجهة", "الجهة الامنية", "branche"),
    "detainee_number": ("detainee number", "detainee no", "prisoner number", "رقم المعتقل",
                        "numero de detenu"),
    "national_id": ("national id", "national number", "id number", "الرقم الوطني",
                    "رقم الهوية"),
    "death_date": ("date of death", "death date", "died", "تاريخ الوفاة", "date de deces"),
    "address": ("address", "residence", "العنوان", "مكان الاقامة", "adresse"),
    "postcode": ("postcode", "post code", "zip", "الرمز البريدي", "code postal"),
    "note": ("note", "notes", "remarks", "comment", "ملاحظات", "remarques"),
}  # fmt: skip


_ALEFS = str.maketrans({"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627",
                        "\u0671": "\u0627", "\u0629": "\u0647"})  # fmt: skip


def _fold(heading: str) -> str:
    text = unicodedata.normalize("NFKD", heading)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.translate(_ALEFS)
    text = re.sub(r"[_\-.:/]+", " ", text.casefold())
    return re.sub(r"\s+", " ", text).strip()


_BY_HEADING = {_fold(h): field for field, hs in _HEADINGS.items() for h in (field, *hs)}


def field_for(heading: str) -> str | None:
    """The canonical field a column heading stands for, if it is a known one."""
    return _BY_HEADING.get(_fold(heading))
