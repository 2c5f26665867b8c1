"""Which number is which: labels beside or above a number, else the order of the numbers.

Labels come from a data file (``data/labels.tsv``: ``field<TAB>label`` a line, English and
Arabic with their common variants); a collection can use its own (:func:`load_labels`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = [
    "FIELDS",
    "Label",
    "LabelSet",
    "Placed",
    "assign_fields",
    "default_labels",
    "label_in",
    "load_labels",
    "strip_labels",
]

FIELDS = ("detainee", "branch", "report")

_TOKEN = re.compile(r"[A-Za-z\u0600-\u065F\u066E-\u06FF]+")
_SAME_LINE = 0.75  # a label is on a number's line within this many line heights
_ABOVE = 2.5  # a label is above a number within this many line heights
_ORDER_CONFIDENCE = 0.5  # fields from order only when every number is read at least this well
_CLEAR = 1.25  # the best label must be this much nearer than one naming another field


@dataclass(frozen=True, slots=True)
class LabelSet:
    """The words that name each field. A word found in the labels of two fields ("No.",
    "رقم") names neither and is dropped."""

    words: dict[str, str]

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str]]) -> LabelSet:
        seen: dict[str, set[str]] = {}
        for name, label in rows:
            if name not in FIELDS:
                raise ValueError(f"unknown field {name!r} (known: {', '.join(FIELDS)})")
            for token in _TOKEN.findall(label.upper()):
                seen.setdefault(token, set()).add(name)
        return cls({w: next(iter(fs)) for w, fs in seen.items() if len(fs) == 1})


def _rows(text: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[1].strip():
            raise ValueError(f"labels line {n}: expected field<TAB>label, got {line!r}")
        rows.append((parts[0].strip(), parts[1].strip()))
    return rows


def load_labels(path: Path) -> LabelSet:
    """A collection's own labels file (same format as ``dalil/ocr/data/labels.tsv``)."""
    return parse_labels(path.read_text(encoding="utf-8"))


def parse_labels(text: str) -> LabelSet:
    """Labels from the text of a labels file (raises ValueError naming the bad line)."""
    return LabelSet.from_rows(_rows(text))


_DEFAULT: list[LabelSet] = []


def default_labels() -> LabelSet:
    """The labels shipped with Dalil (``dalil/ocr/data/labels.tsv``), read once."""
    if not _DEFAULT:
        text = resources.files("dalil.ocr").joinpath("data/labels.tsv").read_text("utf-8")
        _DEFAULT.append(LabelSet.from_rows(_rows(text)))
    return _DEFAULT[0]


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


def label_in(text: str, labels: LabelSet | None = None) -> str | None:
    """The field a label in ``text`` names, if any."""
    words = (labels or default_labels()).words
    for token in _TOKEN.findall(text.upper()):
        for word, name in words.items():
            if _matches(token, word):
                return name
    return None


def strip_labels(text: str) -> str:
    return _TOKEN.sub(" ", text)


@dataclass(slots=True)
class Placed:
    """A number or a label, where it is: centre, size and the slope of its line. A label
    with ``field`` None is a box read as words that names no known field (an Arabic label
    the recogniser cannot read, a title): it tells the card is labelled, not which field."""

    cx: float
    cy: float
    width: float
    height: float
    slope: float
    field: str | None = None
    rtl: bool = False  # words in a right-to-left script
    confidence: float = 1.0  # of the number's reading
    how: str | None = None  # how the field was found: "line", "label" or "order"


Label = Placed


def _cost(n: Placed, lab: Placed) -> float | None:
    """How far ``lab`` is from being ``n``'s label (beside it on its line, on either side,
    or above it in its column), in line heights; None when it cannot be."""
    h = max(n.height, lab.height)
    dx = lab.cx - n.cx
    off = lab.cy - (n.cy + n.slope * dx)  # distance from the number's line
    gap_x = max(0.0, abs(dx) - (n.width + lab.width) / 2)
    if abs(off) < _SAME_LINE * h:
        return (gap_x + 2 * abs(off)) / h
    overlap = abs(dx) < (n.width + lab.width) / 2
    gap_y = (n.cy - n.height / 2) - (lab.cy + lab.height / 2)
    if overlap and -0.25 * h < gap_y < _ABOVE * h:
        return 0.5 + max(0.0, gap_y) / h + abs(dx) / (n.width + lab.width)
    return None


def _pair(numbers: list[Placed], labels: list[Label]) -> None:
    """Each number without a field takes the nearest label naming a field, when no label
    naming another field is nearly as near (ambiguous pairs give nothing)."""
    pairs: list[tuple[float, int, int]] = []
    best: dict[int, dict[str, float]] = {}
    for i, n in enumerate(numbers):
        if n.field is not None:
            continue
        for j, lab in enumerate(labels):
            cost = _cost(n, lab)
            if lab.field is None or cost is None:
                continue
            pairs.append((cost, i, j))
            mine = best.setdefault(i, {})
            mine[lab.field] = min(cost, mine.get(lab.field, cost))
    used: set[int] = set()
    taken = {n.field for n in numbers if n.field is not None}
    for cost, i, j in sorted(pairs):
        name = labels[j].field
        if name is None or j in used or numbers[i].field is not None or name in taken:
            continue
        rivals = [c for f, c in best[i].items() if f != name and f not in taken]
        if any(c < _CLEAR * cost + 0.1 for c in rivals):
            continue
        numbers[i].field, numbers[i].how = name, "label"
        used.add(j)
        taken.add(name)


def _rows_of(numbers: list[Placed]) -> list[list[Placed]]:
    """Numbers grouped in rows (along the slope of their lines), top to bottom."""
    rows: list[list[Placed]] = []
    for n in sorted(numbers, key=lambda n: n.cy):
        for row in rows:
            first = row[0]
            off = n.cy - (first.cy + first.slope * (n.cx - first.cx))
            if abs(off) < 0.5 * max(n.height, first.height):
                row.append(n)
                break
        else:
            rows.append([n])
    return rows


def assign_fields(numbers: list[Placed], labels: list[Label]) -> None:
    """Set ``field`` on numbers. A number whose own line names a field keeps it; others take
    the nearest label naming a field beside them (either side) or above them, each label
    once, unless a label naming another field is about as near. When no label names a field
    and there are exactly three numbers, in reading order (top to bottom; along a row right
    to left when the card's words are right-to-left, and not at all when a row holds several
    numbers and the direction is unknown): detainee, branch, report, the order of every card
    layout we know of."""
    _pair(numbers, labels)
    if any(n.field for n in numbers) or any(lab.field for lab in labels):
        return
    if len(numbers) != len(FIELDS) or min(n.confidence for n in numbers) < _ORDER_CONFIDENCE:
        return  # with no label to confirm it, the order is only as good as every reading
    rtl = any(lab.rtl for lab in labels)
    ordered: list[Placed] = []
    for row in _rows_of(numbers):
        if len(row) > 1 and not rtl and labels:
            return  # labels we cannot read, numbers side by side: which is which is unknown
        ordered.extend(sorted(row, key=lambda n: -n.cx if rtl else n.cx))
    for n, name in zip(ordered, FIELDS, strict=True):
        n.field, n.how = name, "order"
