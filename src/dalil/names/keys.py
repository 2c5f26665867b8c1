"""Coarse keys for blocking: equal for the spellings of one name, shared by some others."""

from __future__ import annotations

import re

from dalil.names.forms import comparison_form
from dalil.names.parse import parse_name

KEY_LENGTH = 4
_UNITS = re.compile(r"kh|sh|gh|th|[a-z]")
# Coarser than the comparison form: th with s (Othman, Osman; Haitham, Haisam), kh with h
# (Khalil, Halil), gh with k (Ghassan, Gassan; and the g some write for q).
_COARSE = {"th": "s", "kh": "h", "gh": "k"}


def phonetic_key(text: str) -> str:
    """A blocking key for one name (a given or family name; the words of a longer text are
    run together): the first four consonants of its comparison form after the article, the
    vowels and the glides y/w after the first consonant removed, th/s,
    kh/h and gh/k merged, doubled letters as one. Abd al-X compounds key as Abd X
    (``bdrh`` for Abd al-Rahman), al-Din compounds as X Din. Unvowelled Arabic gives the
    same key as its Latin spellings even for names not in the vocalisation table, because
    the key has no vowels (y/w before the first consonant stay: Iyad, Ayman, Walid). A name
    with no consonant keys as its first two letters; an empty form gives an empty key."""
    form = comparison_form(text).replace(" ", "")
    if form.startswith("abdal") and len(form) > 5:
        form = "abd" + form[5:]
    if form.endswith("aldin") and len(form) > 5:
        form = form[:-5] + "din"
    consonants: list[str] = []
    for u in _UNITS.findall(form):
        if u in ("a", "i", "u") or (consonants and u in ("y", "w")):
            continue  # vowels, and glides after the first consonant
        consonants.append(_COARSE.get(u, u))
    key: list[str] = []
    for c in consonants:
        if not key or key[-1] != c:
            key.append(c)
    return "".join(key[:KEY_LENGTH]) or form[:2]


def name_keys(full_name: str) -> set[str]:
    """The phonetic keys of the given and the family name of ``full_name`` (as
    ``parse_name`` reads it), as a set: the same whichever order the two were written in,
    so a blocking rule on a shared key finds records whose lists swapped them."""
    parsed = parse_name(full_name)
    return {k for k in (phonetic_key(p) for p in (parsed.given, parsed.family) if p) if k}
