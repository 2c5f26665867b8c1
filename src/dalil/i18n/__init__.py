"""Languages of the people who read Dalil's pages and reports: English and Arabic.

Every text meant for a reader of the web workspace or of a report goes through
:func:`translations` (gettext; the catalogue is ``ar.po`` beside this module, read with Babel
when first needed, so there is no compiled file to keep in step). English is the source
language. ``tests/test_i18n.py`` extracts every message (Babel's extractors, the same as
``pybabel extract``) and fails when one has no Arabic translation.

Display only: identifiers and numbers are always stored with Western digits; a reader may
choose Arabic-Indic digits (``٠١٢٣٤٥٦٧٨٩``) for what is shown (:func:`show_digits`).
"""

from __future__ import annotations

import gettext
import io
import unicodedata
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent

LANGUAGES: dict[str, str] = {"en": "English", "ar": "العربية"}
"""Each language Dalil speaks, by code, with its own name for itself."""

DEFAULT_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar"})
DIGITS = ("western", "arabic-indic")
"""How digits are shown: ``0123456789`` or ``٠١٢٣٤٥٦٧٨٩`` (never how they are stored)."""

_TO_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_TO_WESTERN = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is defined (a constant); it is translated
    where it is shown (``_(value)`` in a template)."""
    return message


ROLE_NAMES = (
    N_("admin"),
    N_("archivist"),
    N_("investigator"),
    N_("reviewer"),
    N_("liaison"),
    N_("auditor"),
)
"""The roles of :data:`dalil.users.ROLES`, marked for translation (a test checks they agree)."""


def catalogue_path(language: str) -> Path:
    """The gettext catalogue (a ``.po`` file) of ``language``."""
    return HERE / f"{language}.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The translations of ``language`` (English, or an unknown code: the messages as
    written). Read from the ``.po`` catalogue once per process."""
    if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalogue_path(language).open("rb") as f:
        catalogue = read_po(f, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def language_of(value: str | None) -> str:
    """A known language code from a stored choice (or the default)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def negotiate(accept_language: str | None) -> str:
    """The best of :data:`LANGUAGES` for an HTTP ``Accept-Language`` header."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    wanted: list[tuple[float, int, str]] = []
    for n, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        code = tag.strip().lower().split("-")[0]
        if code in LANGUAGES and quality > 0:
            wanted.append((-quality, n, code))
    return min(wanted)[2] if wanted else DEFAULT_LANGUAGE


def direction(language: str) -> str:
    """``rtl`` or ``ltr``: the direction of a page in ``language``."""
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


def show_digits(text: str, digits: str) -> str:
    """``text`` with its digits as the reader chose to see them (display only)."""
    if digits == "arabic-indic":
        return text.translate(_TO_ARABIC_INDIC)
    return text.translate(_TO_WESTERN) if digits == "western" else text


def is_right_to_left(text: str) -> bool:
    """Whether ``text`` holds a letter of a right-to-left script (Arabic, Hebrew, ...)."""
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def format_time(value: str | datetime | None, language: str = DEFAULT_LANGUAGE) -> str:
    """A moment as people read it: ``3 Dec 2026, 14:05 UTC`` (in the reader's language),
    never the raw ISO text with microseconds. Text that is not a time is returned as it is."""
    if value is None or value == "":
        return ""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    assert isinstance(moment, datetime)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    from babel.dates import format_datetime

    shown = format_datetime(
        moment.astimezone(UTC), "d MMM y, HH:mm", tzinfo=UTC, locale=language_of(language)
    )
    return f"{shown} UTC".translate(_TO_WESTERN)
