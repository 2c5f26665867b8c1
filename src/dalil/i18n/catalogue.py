"""The messages to translate: extracted from the sources with Babel (as ``pybabel extract``
would), compared with and merged into the ``.po`` catalogues.

``python tools/i18n.py`` adds new messages to each catalogue (keeping every translation) and
lists those still untranslated; ``tests/test_i18n.py`` fails while any is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dalil.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue_path

PACKAGE = Path(__file__).resolve().parents[1]

METHODS: list[tuple[str, str]] = [
    ("web/templates/**.html", "jinja2.ext:babel_extract"),
    ("web/**.py", "python"),
    ("export/report.py", "python"),
    ("i18n/__init__.py", "python"),
    ("similar/words.py", "python"),
]
"""Where readers' texts are, relative to the ``dalil`` package, and how to read each."""

OPTIONS = {"web/templates/**.html": {"trimmed": "true"}}
"""Templates' ``{% trans %}`` blocks are compared with their whitespace collapsed."""


def extract() -> dict[str, list[tuple[str, int]]]:
    """Every message of the sources, with where it is (file relative to the package, line);
    a plural message (``ngettext``) is keyed by its singular."""
    return {key: places for key, (_, places) in _extracted().items()}


def _extracted() -> dict[str, tuple[str | tuple[str, str], list[tuple[str, int]]]]:
    """Each message's id as Babel gives it (a (singular, plural) pair for ``ngettext``)."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, tuple[str | tuple[str, str], list[tuple[str, int]]]] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), METHODS, options_map=OPTIONS
    ):
        key = message[0] if isinstance(message, tuple) else message
        if key:
            ident = (message[0], message[1]) if isinstance(message, tuple) else message
            found.setdefault(key, (ident, []))[1].append((filename, line))
    return found


def read(language: str) -> Any:
    """The catalogue of ``language`` (a ``babel.messages.Catalog``)."""
    from babel.messages.pofile import read_po

    with catalogue_path(language).open("rb") as f:
        return read_po(f, locale=language)


def untranslated(language: str) -> list[str]:
    """Messages of the sources with no translation in ``language``'s catalogue."""
    catalogue = read(language)
    missing = []
    for message in extract():
        entry = catalogue.get(message)
        strings = (
            entry.string
            if entry is not None and isinstance(entry.string, tuple)
            else ((entry.string,) if entry is not None else ("",))
        )
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(message)
    return missing


def update() -> dict[str, list[str]]:
    """Add the sources' new messages to every catalogue; return each language's untranslated
    messages. Messages no longer in the sources are dropped (git keeps their history)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    template = Catalog(project="Dalil", charset="utf-8")
    for ident, places in _extracted().values():
        template.add(ident, locations=places)
    out: dict[str, list[str]] = {}
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        path = catalogue_path(language)
        catalogue = read(language) if path.is_file() else Catalog(locale=language)
        catalogue.update(template, no_fuzzy_matching=True)
        catalogue.project, catalogue.copyright_holder, catalogue.fuzzy = "Dalil", "Dalil", False
        with path.open("wb") as f:
            write_po(f, catalogue, width=100, ignore_obsolete=True, include_lineno=False)
        out[language] = untranslated(language)
    return out
