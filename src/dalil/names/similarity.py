"""How alike two names are, on their comparison forms."""

from __future__ import annotations

from rapidfuzz.distance import JaroWinkler

from dalil.names.forms import comparison_form

# Share of the score kept when one name has more words than the other (an omitted father's
# name): 0.85 + 0.15 * paired/most words. Chosen on synthetic full names built from the test
# table (same person with words omitted or swapped against people sharing two of three names).
_UNPAIRED_FLOOR = 0.85
# Words of each name that are paired; a name has a handful, this bounds the work on junk.
MAX_WORDS = 16


def similarity(a: str, b: str) -> float:
    """A similarity in [0, 1] of two names in any script, on their comparison forms.

    One word each: Jaro-Winkler. Several: words are paired one to one, most alike first,
    whatever their order (given and family names swapped score as not swapped); the score
    is the mean Jaro-Winkler of the pairs, times ``0.85 + 0.15 * pairs / most words``, so a
    name with a word more (the father's) scores a little lower; only the first 16 words of
    each count. 0.0 when either name has no comparison form. On the test table, spellings of
    one name reach 0.9 in 96% of pairs, different names in 0.3% (tests/names/test_measure.py).
    """
    return form_similarity(comparison_form(a), comparison_form(b))


def form_similarity(a: str, b: str) -> float:
    """``similarity`` of two strings that are comparison forms already."""
    left, right = a.split()[:MAX_WORDS], b.split()[:MAX_WORDS]
    if not left or not right:
        return 0.0
    if len(left) == 1 and len(right) == 1:
        return float(JaroWinkler.normalized_similarity(a, b))
    pairs = sorted(
        (
            (float(JaroWinkler.normalized_similarity(x, y)), i, j)
            for i, x in enumerate(left)
            for j, y in enumerate(right)
        ),
        reverse=True,
    )
    used_left: set[int] = set()
    used_right: set[int] = set()
    total = 0.0
    for score, i, j in pairs:
        if i not in used_left and j not in used_right:
            used_left.add(i)
            used_right.add(j)
            total += score
    paired, most = len(used_left), max(len(left), len(right))
    return total / paired * (_UNPAIRED_FLOOR + (1 - _UNPAIRED_FLOOR) * paired / most)
