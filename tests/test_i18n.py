"""Languages: every message translated into Arabic, languages chosen from the browser's,
digits and times shown as the reader chose, right-to-left text prepared for PDFs."""

from __future__ import annotations

import unicodedata

import pytest

from dalil import i18n
from dalil.i18n import catalogue
from dalil.i18n import pdf as rtl


def test_every_message_has_an_arabic_translation() -> None:
    """Fails when a page or report text was added without its Arabic (run tools/i18n.py)."""
    found = catalogue.extract()
    assert len(found) > 50  # the extraction really read the sources
    assert catalogue.untranslated("ar") == []


def test_translations_keep_their_placeholders() -> None:
    """A translation that drops or renames ``{name}`` would fail when the page is shown."""
    import re

    for message in catalogue.read("ar"):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"\{\w+\}|%\(\w+\)s", ids[0]))
        for text in strings:
            assert set(re.findall(r"\{\w+\}|%\(\w+\)s", text)) == wanted, message.id


def test_arabic_is_read_from_the_catalogue() -> None:
    assert i18n.translations("ar").gettext("Exhibit bundle") == "حزمة الأدلة"
    assert i18n.translations("en").gettext("Exhibit bundle") == "Exhibit bundle"
    assert i18n.translations("xx").gettext("Exhibit bundle") == "Exhibit bundle"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ar-SY,ar;q=0.9,en;q=0.8", "ar"),
        ("en-GB,en;q=0.9,ar;q=0.8", "en"),
        ("fr-FR, ar;q=0.5", "ar"),
        ("de, fr", "en"),
        ("ar;q=0, en;q=0.1", "en"),
        ("ar;q=bad", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_language_follows_the_browser(header: str | None, language: str) -> None:
    assert i18n.negotiate(header) == language


def test_digits_are_shown_as_chosen_and_never_stored_so() -> None:
    assert i18n.show_digits("C-0012, 14:05", "arabic-indic") == "C-٠٠١٢, ١٤:٠٥"  # noqa: RUF001
    assert i18n.show_digits("C-٠٠١٢ ۴۵", "western") == "C-0012 45"
    assert i18n.direction("ar") == "rtl" and i18n.direction("en") == "ltr"


def test_times_are_readable_in_both_languages() -> None:
    moment = "2026-12-03T14:05:06.123456+00:00"
    assert i18n.format_time(moment, "en") == "3 Dec 2026, 14:05 UTC"
    arabic = i18n.format_time(moment, "ar")
    assert "ديسمبر" in arabic and "14:05" in arabic and ".123" not in arabic
    assert i18n.format_time("2026-12-03T14:05:06Z", "en") == "3 Dec 2026, 14:05 UTC"
    assert i18n.format_time("not a time", "en") == "not a time"
    assert i18n.format_time(None) == ""


def _names(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def test_arabic_for_a_pdf_is_joined_and_in_visual_order() -> None:
    shown = rtl.visual("محمد")
    assert _names(shown) == "دمحم"  # drawn from the left: the last letter first
    assert shown != "دمحم"  # ... in joined forms, not isolated letters
    assert rtl.visual("Mohammad 12") == "Mohammad 12"  # nothing to do
    # a bracket in a right-to-left run is mirrored so that it still opens the aside
    assert _names(rtl.visual("الرقم (محمد)")) == "(دمحم) مقرلا"
    # a Latin name keeps its direction inside an Arabic sentence
    assert "Mohammad Al-Ahmad" in rtl.visual("الاسم: Mohammad Al-Ahmad")


def test_an_embedded_value_stays_whole_and_lines_break_in_reading_order() -> None:
    sentence = f"حدث في {rtl.embed('2024-01-04T00:00:00Z')}"
    assert "2024-01-04T00:00:00Z" in rtl.visual(sentence)
    words = "واحد اثنان ثلاثة أربعة خمسة ستة"
    lines = rtl.lines(words, 40, lambda s: float(len(s) * 4))
    assert len(lines) > 1
    # the first line holds the first words (read from the right), not the last ones
    assert _names(lines[0])[::-1].startswith("واحد")
    command = rtl.embed("sha256sum -c manifest-sha256.txt")
    broken = rtl.lines(f"يكفي الأمر {command} للملفات", 60, lambda s: float(len(s) * 4))
    assert any("sha256sum\u00a0-c\u00a0manifest-sha256.txt" in line for line in broken)


def test_the_pages_time_filter_takes_text_and_datetimes() -> None:
    from datetime import UTC, datetime

    from dalil.web.render import when

    assert when("2026-12-01T10:00:00Z") == "1 Dec 2026, 10:00 UTC"
    assert when(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2 Jan 2026, 03:04 UTC"
    assert when(None) == "" and when("not a time") == "not a time"
