"""Bring the translation catalogues up to date with the sources.

    .venv/bin/python tools/i18n.py          # add new messages, list the untranslated ones

Then translate each empty ``msgstr`` in ``src/dalil/i18n/<language>.po``; the test suite
fails while one is left.
"""

from __future__ import annotations

import sys

from dalil.i18n.catalogue import update


def main() -> int:
    missing = update()
    for language, messages in missing.items():
        print(f"{language}: {len(messages)} message(s) without a translation")
        for message in messages:
            print(f"  {message!r}")
    return 1 if any(missing.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
