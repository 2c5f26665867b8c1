"""The Arabic-Indic digit reader: a small numpy MLP over connected components.

PP-OCR's recogniser knows Western digits, Latin and Chinese, but not ``٠١٢٣٤٥٦٧٨٩``. A text
line the detector found is binarised here, ruled lines are removed, the ink is split into
connected components (one per digit: Arabic-Indic digits are written as separate strokes),
and each component is classified by a two-layer perceptron trained offline on renderings
of the Debian Arabic fonts (``tools/train_arabic_digits.py``). Class 10 is "not an
Arabic-Indic digit" (Latin letters, most Western digits, scraps of lines).

:func:`glyph_vector` is shared with the training script, so a component is normalised the
same way in training and at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "ARABIC_INDIC",
    "GLYPH_SIDE",
    "OTHER",
    "WEIGHTS_PATH",
    "DigitClassifier",
    "LineDigits",
    "binarise",
    "classifier",
    "components",
    "glyph_vector",
    "read_line",
]

ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
OTHER = 10  # the class of everything that is not an Arabic-Indic digit
GLYPH_SIDE = 24  # a component is scaled into a GLYPH_SIDE x GLYPH_SIDE box
_INNER = 20  # ... its longer side into this many pixels, centred
FEATURES = GLYPH_SIDE * GLYPH_SIDE + 3
WEIGHTS_PATH = Path(__file__).with_name("arabic_digits_v1.npz")

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]


def glyph_vector(mask: Mask, ref_height: float) -> F32:
    """The classifier's input for one component: its ink (a tight boolean crop) scaled, with
    its aspect ratio kept, into a 24x24 box, followed by three shape numbers: log aspect
    ratio, its height relative to the line's tallest glyphs (``ref_height``), and its ink
    density. The relative height tells a zero (U+0660, a dot) from a five (U+0665, a ring)."""
    h, w = mask.shape
    scale = _INNER / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = cv2.resize(mask.astype(np.float32), (nw, nh), interpolation=cv2.INTER_AREA)
    box = np.zeros((GLYPH_SIDE, GLYPH_SIDE), np.float32)
    y0, x0 = (GLYPH_SIDE - nh) // 2, (GLYPH_SIDE - nw) // 2
    box[y0 : y0 + nh, x0 : x0 + nw] = small
    extra = np.array(
        [
            np.log(h / w) / 2.0,
            min(2.0, h / max(ref_height, 1.0)),
            float(mask.mean()),
        ],
        np.float32,
    )
    return np.concatenate([box.ravel(), extra])


@dataclass(frozen=True, slots=True)
class DigitClassifier:
    """A two-hidden-layer ReLU perceptron; ``predict`` returns class probabilities."""

    w1: F32
    b1: F32
    w2: F32
    b2: F32
    w3: F32
    b3: F32
    mean: F32
    std: F32

    @classmethod
    def load(cls, path: Path) -> DigitClassifier:
        with np.load(path) as data:
            arrays = {k: data[k].astype(np.float32) for k in data.files}
        return cls(**arrays)

    def predict(self, x: F32) -> F32:
        z = (x - self.mean) / self.std
        h = np.maximum(z @ self.w1 + self.b1, 0.0)
        h = np.maximum(h @ self.w2 + self.b2, 0.0)
        logits = h @ self.w3 + self.b3
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        out: F32 = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
        return out


@lru_cache(maxsize=1)
def classifier() -> DigitClassifier:
    """The shipped classifier, loaded once per process."""
    return DigitClassifier.load(WEIGHTS_PATH)


def binarise(gray: U8) -> Mask:
    """Ink of a text-line crop (dark on light): Otsu after background flattening, with long
    horizontal rules (form lines, ruled cards) removed."""
    h = gray.shape[0]
    k = max(3, (h // 2) | 1)
    background = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    flat = cv2.subtract(background, gray)  # ink bright, paper ~0
    flat = cv2.GaussianBlur(flat, (3, 3), 0)
    level, ink = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if level < 18:  # nothing darker than the paper: no ink
        return np.zeros(gray.shape, bool)
    return _without_rules(np.asarray(ink, np.uint8)) > 0


def _without_rules(ink: U8) -> U8:
    """``ink`` less its long horizontal rules. A thin rule a few degrees off the horizontal
    breaks into short steps, so the ink is first thickened vertically: a rule then has long
    horizontal runs, while no digit has one as long as ``0.6 x`` the line height."""
    h = ink.shape[0]
    run = max(8, int(h * 0.6))
    tall = cv2.dilate(ink, np.ones((5, 1), np.uint8))
    rules = cv2.morphologyEx(tall, cv2.MORPH_OPEN, np.ones((1, run), np.uint8))
    rules = cv2.dilate(rules, np.ones((3, 3), np.uint8))
    # only the part of the opened ink that is a band: a wide thin strip, not a glyph
    n, labels, stats, _ = cv2.connectedComponentsWithStats(rules, connectivity=8)
    keep = np.zeros(n, bool)
    for i in range(1, n):
        w, hh = int(stats[i, cv2.CC_STAT_WIDTH]), int(stats[i, cv2.CC_STAT_HEIGHT])
        keep[i] = w >= run and hh <= max(10, h // 4)
    band = keep[labels]
    out = ink.copy()
    out[band] = 0
    return np.asarray(out, np.uint8)


@dataclass(frozen=True, slots=True)
class Component:
    x0: int
    y0: int
    x1: int
    y1: int
    mask: Mask


def components(ink: Mask) -> list[Component]:
    """Connected components of the ink, left to right: specks and flat scraps (what is left
    of a rule) dropped, and a piece that lies over or under a bigger one merged into it (a
    broken stroke stays one glyph)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if n <= 1:
        return []
    tallest = float(stats[1:, cv2.CC_STAT_HEIGHT].max())
    height, width = ink.shape
    boxes: list[tuple[int, int, int, int, int]] = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < max(4.0, (tallest * 0.06) ** 2) or max(w, h) < tallest * 0.12:
            continue
        if h < tallest * 0.2 and w > 2.5 * h:  # a scrap of a rule or an underline
            continue
        if (x == 0 or x + w == width) and (y == 0 or y + h == height):
            continue  # in a corner of the crop: the edge of the card or of a box, not a digit
        boxes.append((x, y, x + w, y + h, i))
    boxes.sort()
    # union-find over pairs that overlap horizontally by most of the narrower one
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if b[0] >= a[2]:
                break
            overlap = min(a[2], b[2]) - max(a[0], b[0])
            if overlap > 0.6 * min(a[2] - a[0], b[2] - b[0]):
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(root(i), []).append(i)
    out: list[Component] = []
    for members in groups.values():
        x0 = min(boxes[i][0] for i in members)
        y0 = min(boxes[i][1] for i in members)
        x1 = max(boxes[i][2] for i in members)
        y1 = max(boxes[i][3] for i in members)
        crop = np.isin(labels[y0:y1, x0:x1], [boxes[i][4] for i in members])
        out.append(Component(x0, y0, x1, y1, crop))
    out.sort(key=lambda c: (c.x0, c.x1))
    return out


@dataclass(frozen=True, slots=True)
class LineDigits:
    """What the classifier made of one line: the digits (Arabic-Indic), a confidence, and
    the horizontal extent of the digits within the line crop."""

    written: str
    confidence: float
    x0: int
    x1: int


def read_line(gray: U8) -> LineDigits | None:
    """Read a line crop as a run of Arabic-Indic digits; None when it does not look like one
    (fewer than two components that look like digits)."""
    parts = components(binarise(gray))
    if len(parts) < 2:
        return None
    heights = sorted(c.y1 - c.y0 for c in parts)
    ref = float(np.median([h for h in heights if h >= 0.6 * heights[-1]]))
    x = np.stack([glyph_vector(c.mask, ref) for c in parts])
    probs = classifier().predict(x)
    labels = probs.argmax(axis=1)
    digits = [i for i, lab in enumerate(labels) if lab != OTHER]
    if len(digits) < 2:
        return None
    # the number runs from the first to the last digit; a component inside it that looked
    # like no digit (a stroke broken or run together) takes its most likely digit
    best = list(range(digits[0], digits[-1] + 1))
    for i in best:
        if labels[i] == OTHER:
            labels[i] = int(probs[i, :OTHER].argmax())
    text = "".join(ARABIC_INDIC[int(labels[i])] for i in best)
    conf = float(np.prod([probs[i, labels[i]] for i in best]) ** (1.0 / len(best)))
    return LineDigits(text, conf, parts[best[0]].x0, parts[best[-1]].x1)
