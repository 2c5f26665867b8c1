"""Which number is which: labels near a number, else the order of the numbers on the card."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FIELDS", "Label", "Placed", "assign_fields", "label_in", "strip_labels"]

FIELDS = ("detainee", "branch", "report")

# English words as typed on forms or abbreviated by hand, and their Arabic counterparts.
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "detainee": ("DETAINEE", "DETAINED", "DET", "PRISONER", "معتقل", "المعتقل", "سجين", "موقوف"),
    "branch": ("BRANCH", "BR", "فرع", "الفرع"),
    "report": ("REPORT", "REP", "FORENSIC", "تقرير", "التقرير"),
}
_TOKEN = re.compile(r"[A-Za-z\u0600-\u065F\u066E-\u06FF]+")


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _matches(token: str, word: str) -> bool:
    if token == word:
        return True
    if len(word) >= 6:  # "DETAINEENO" as read, "DETAINEE" as printed
        return token.startswith(word[:5]) or _distance(token[: len(word)], word) <= 2
    return False  # short words ("DET", "BR") only exactly: misread digits look like them


def label_in(text: str) -> str | None:
    """The field a label in ``text`` names, if any."""
    for token in _TOKEN.findall(text.upper()):
        for field, words in _KEYWORDS.items():
            if any(_matches(token, w) for w in words):
                return field
    return None


def strip_labels(text: str) -> str:
    return _TOKEN.sub(" ", text)


@dataclass(slots=True)
class Placed:
    """A number or a label, where it is: centre, height and the slope of its line."""

    cx: float
    cy: float
    width: float
    height: float
    slope: float
    field: str | None = None


Label = Placed


def assign_fields(numbers: list[Placed], labels: list[Label]) -> None:
    """Set ``field`` on numbers: from a label on the same line (nearest first, each label
    used once) when the number has none yet; when no label is found anywhere and there are
    exactly three numbers, in reading order detainee, branch, report (the order of every
    card layout we know of)."""
    pairs: list[tuple[float, int, int]] = []
    for i, n in enumerate(numbers):
        if n.field is not None:
            continue
        for j, lab in enumerate(labels):
            dx = lab.cx - n.cx
            off = lab.cy - (n.cy + n.slope * dx)  # distance from the number's line
            if abs(off) < 0.75 * max(n.height, lab.height):
                pairs.append((abs(dx) + 4 * abs(off), i, j))
    used: set[int] = {j for j, lab in enumerate(labels) if lab.field is None}
    taken: set[str | None] = {n.field for n in numbers if n.field is not None}
    for _, i, j in sorted(pairs):
        field = labels[j].field
        if j in used or numbers[i].field is not None or field in taken:
            continue
        numbers[i].field = field
        used.add(j)
        taken.add(field)
    if not taken and not labels and len(numbers) == len(FIELDS):
        for n, field in zip(sorted(numbers, key=lambda n: n.cy), FIELDS, strict=True):
            n.field = field
