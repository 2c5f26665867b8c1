"""``read_numbers``: detect text lines, read them two ways, keep the numbers.

0. Optionally (``find_card=True``; off by default until the layout logic makes use of it,
   see docs/ocr.md) the card is found, cut out and turned upright first
   (:mod:`dalil.ocr.rectify`); everything below then works on the upright card, and the
   boxes are mapped back to the image passed in.
1. The image is reduced (longest side 1600 px) and PP-OCRv4 finds the text lines.
2. Each line is cut out of the *full-resolution* image along its quadrilateral (which undoes
   the card's rotation and perspective) at a height of 48-96 px.
3. PP-OCRv4 reads the crop; a crop that gives no clean number is read again after CLAHE
   contrast equalisation, and the better reading is kept.
4. The Arabic-Indic classifier reads the same crop (:func:`dalil.ocr.digits.read_line`).
5. A card is written in one digit system as a rule: when some line is only readable as
   Arabic-Indic digits, lines readable both ways are taken as Arabic-Indic; otherwise the
   reading with the higher confidence wins.
6. A line read as a label (confidently, by PP-OCR) or as Arabic words (a long, unsure or
   mostly-ones-and-zeros reading by the classifier) is a label, not a number.
7. Fields come from labels beside or above a number (in a data file, see
   :mod:`dalil.ocr.fields`), else from the order of the numbers
   (:func:`dalil.ocr.fields.assign_fields`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from dalil.ocr import engine
from dalil.ocr import lines as recogniser
from dalil.ocr.confidence import with_field_confidence
from dalil.ocr.fields import LabelSet, Placed, assign_fields, default_labels, label_in
from dalil.ocr.reading import Reading
from dalil.ocr.rectify import Rectified, find_card, rectify, unchanged

__all__ = ["ENGINE_VERSION", "read_numbers"]

ENGINE_VERSION = "pp-ocrv4+digit-lines-v1/5"
WORK_SIDE = 1600  # detection runs on a copy reduced to this longest side ...
CARD_SIDE = 960  # ... or, when a card is found, on the card's region reduced to this
CARD_MARGIN = 0.04  # the card's region reaches this share of its diagonal beyond its corners
LINE_HEIGHT = (48, 96)  # rectified line crops are cut at a height in this range
MIN_DIGITS = 2
ARABIC_MIN_CONFIDENCE = 0.55
WORDS_MIN_DIGITS = 7  # an Arabic-Indic reading this long, not confident, is a label's words
WORDS_MAX_CONFIDENCE = 0.9
LABEL_SCORE = 0.9  # PP-OCR reads a label this confidently: it is not also a number
PP_ENGINE, LINES_ENGINE = "pp-ocrv4", "digit-lines-v1"
BOTH_ENGINES = f"{PP_ENGINE}+{LINES_ENGINE}"  # both read the same value
DISPUTED = 0.7  # PP-OCR's value where the digit-line recogniser read another one

U8 = npt.NDArray[np.uint8]
# a number: digits, standing alone or after a label (not glued to other letters or digits)
_NUMBER = re.compile(r"(?<![0-9])[0-9]{2,}(?![0-9A-Za-z])")
# Latin letters PP-OCR reads Arabic-Indic digits as (two as r, one as l, five as o, seven
# as V, eight as A, four as E ...): a "word" of these alone may be a number
_DIGIT_LOOKALIKES = frozenset("rlIioOVvAEeYyqn")
_TO_ASCII = str.maketrans(recogniser.ARABIC_INDIC + recogniser.PERSIAN, "0123456789" * 2)


@dataclass(slots=True)
class _Candidate:
    written: str
    script: str
    confidence: float
    engine: str
    span: tuple[float, float]  # fraction of the line's length the number covers


@dataclass(slots=True)
class _Line:
    quad: npt.NDArray[np.float32]  # in full-resolution pixels
    text: str
    score: float
    western: list[_Candidate]
    arabic: _Candidate | None
    words: bool = False  # read as words, not a number: a label we may not know
    rtl: bool = False  # ... in a right-to-left script (Arabic)


def read_numbers(
    image: Image.Image, *, find_card: bool = False, labels: LabelSet | None = None
) -> list[Reading]:
    """The numbers written in ``image`` (upright: EXIF orientation already applied), top to
    bottom. With ``find_card``, a card found in the photograph is cut out, turned upright and
    read alone (:mod:`dalil.ocr.rectify`); numbers outside it are then not read. Boxes are in
    the pixel space of ``image`` either way. ``labels``: the words that name each field
    (default: :func:`dalil.ocr.fields.default_labels`; a collection may have its own, see
    :func:`dalil.ocr.fields.load_labels`). An image without text gives []."""
    card = rectify(image) if find_card else unchanged(image)
    rgb = np.asarray(card.image.convert("RGB"))
    x0, y0, x1, y1 = (None if find_card else _card_region(rgb)) or (
        0,
        0,
        rgb.shape[1],
        rgb.shape[0],
    )
    part = rgb[y0:y1, x0:x1]
    height, width = part.shape[:2]
    side = WORK_SIDE if (x1 - x0, y1 - y0) == (rgb.shape[1], rgb.shape[0]) else CARD_SIDE
    scale = min(1.0, side / max(height, width))
    small = (
        part
        if scale == 1.0
        else cv2.resize(
            part, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
    )
    offset = np.array([x0, y0], np.float32)
    quads = [q / scale + offset for q in engine.detect(np.ascontiguousarray(small[:, :, ::-1]))]
    names = labels or default_labels()
    return _readings(_read_lines(rgb, quads, names), card, names)


def _card_region(rgb: U8) -> tuple[int, int, int, int] | None:
    """The box (x0, y0, x1, y1) around the card found in ``rgb``, with a margin, or None when
    no card is found: text is then looked for only there, at a higher resolution than the
    whole frame would allow in the same time."""
    quad = find_card(rgb)
    if quad is None:
        return None
    h, w = rgb.shape[:2]
    margin = CARD_MARGIN * float(np.linalg.norm(quad[2] - quad[0]))
    x0, y0 = np.floor(quad.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0) + margin).astype(int)
    return max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))


def _rectify(rgb: U8, quad: npt.NDArray[np.float32]) -> U8:
    """The line cut out along its quadrilateral, straightened, at a height of 48-96 px."""
    w = float(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])))
    h = float(max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])))
    out_h = int(np.clip(h, *LINE_HEIGHT))
    out_w = max(8, round(w * out_h / max(h, 1.0)))
    target = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    crop = cv2.warpPerspective(
        rgb,
        m,
        (out_w, out_h),
        flags=cv2.INTER_AREA if h > out_h else cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(crop, np.uint8)


def _clahe(bgr: U8) -> U8:
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    eq = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(2, 8)).apply(gray)
    return np.asarray(cv2.cvtColor(eq, cv2.COLOR_GRAY2BGR), np.uint8)


def _western(text: str, score: float) -> list[_Candidate]:
    out: list[_Candidate] = []
    n = max(1, len(text))
    for m in _NUMBER.finditer(text):
        before = text[: m.start()]
        tail = before.rstrip(" .:#-")
        glued = bool(before) and not before[-1].isspace()
        if tail and (tail[-1].isdigit() or (glued and label_in(tail) is None)):
            continue  # "r9.77" is not a number, nor is "77" in it
        out.append(_Candidate(m.group(), "western", score, PP_ENGINE, (m.start() / n, m.end() / n)))
    return out


def _is_words(text: str, score: float) -> bool:
    """A line PP-OCR reads confidently as words, with no digit: not worth the classifier.
    Arabic-Indic digits come back from PP-OCR as Latin look-alikes (``٢١٥٣`` as ``rlor``):
    a line is words only when two of its letters look like no Arabic-Indic digit."""
    if score < 0.85 or any(c.isdigit() for c in text):
        return False
    return sum(c.isascii() and c.isalpha() and c not in _DIGIT_LOOKALIKES for c in text) >= 2


def _arabic_words(text: str, found: _Candidate) -> bool:
    """Arabic words the digit classifier reads as a long digit string (alif and lam as one,
    dots as zero: ``رقم المعتقل`` as ``٤٠٠٠٥٠١١٢٤٥``) while PP-OCR reads them as letters: a
    label, not a number. Real numbers are read more confidently, and are not mostly ones and
    zeros."""
    letters = sum(c.isalpha() and c not in _DIGIT_LOOKALIKES for c in text)
    written = found.written.translate(_TO_ASCII)
    long = len(written) >= WORDS_MIN_DIGITS
    strokes_and_dots = sum(c in "01" for c in written) >= 0.5 * len(written)
    unsure = found.confidence < WORDS_MAX_CONFIDENCE
    return (long and (unsure or strokes_and_dots)) or (letters >= 2 and unsure)


def _rtl_words(text: str, score: float) -> bool:
    """A line with no number on it that PP-OCR reads only as unsure scraps of Latin: words in
    a script it cannot read (Arabic), which the layout takes as a right-to-left label."""
    letters = sum(c.isalpha() for c in text)
    return letters >= 2 and (score < 0.85 or not any(c.isascii() for c in text))


def _checked(
    found: list[_Candidate], ours: list[recogniser.LineNumber], words: bool
) -> list[_Candidate]:
    """PP-OCR's Western numbers on a line checked against the digit-line recogniser's: a value
    both read is surer (either being wrong is needed for it to be wrong); a value only PP-OCR
    read, where ours read another value at the same place, is less sure (:data:`DISPUTED`).
    When PP-OCR read no number on a line that is not words, ours are taken."""
    out: list[_Candidate] = []
    for c in found:
        same = [n for n in ours if n.written == c.written]
        if same:
            conf = 1.0 - (1.0 - c.confidence) * (1.0 - same[0].confidence)
            out.append(replace(c, confidence=conf, engine=BOTH_ENGINES))
        elif any(n.span[0] < c.span[1] and c.span[0] < n.span[1] for n in ours):
            out.append(replace(c, confidence=c.confidence * DISPUTED))
        else:
            out.append(c)
    if not found and not words:
        out = [_Candidate(n.written, "western", n.confidence, LINES_ENGINE, n.span) for n in ours]
    return out


def _read_lines(rgb: U8, quads: list[npt.NDArray[np.float32]], names: LabelSet) -> list[_Line]:
    crops = [np.ascontiguousarray(_rectify(rgb, q)[:, :, ::-1]) for q in quads]
    first = engine.recognise(crops)
    retry = [i for i, (t, s) in enumerate(first) if not _western(t, s) and not _is_words(t, s)]
    again = engine.recognise([_clahe(crops[i]) for i in retry])
    texts = list(first)
    for i, (t, s) in zip(retry, again, strict=True):
        if _western(t, s) and s > first[i][1] - 0.1:
            texts[i] = (t, s)
    grays = [np.asarray(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), np.uint8) for c in crops]
    read = recogniser.read_lines(grays)
    lines: list[_Line] = []
    for quad, numbers, (text, score) in zip(quads, read, texts, strict=True):
        words, rtl = _is_words(text, score), False
        western = _western(text, score)
        ours = [
            n
            for n in numbers
            if n.confidence >= ARABIC_MIN_CONFIDENCE and len(n.written) >= MIN_DIGITS
        ]
        arabic = None
        if not words:
            others = [n for n in ours if n.script != "western"]
            if others:
                best = max(others, key=lambda n: (len(n.written), n.confidence))
                arabic = _Candidate(
                    best.written, best.script, best.confidence, LINES_ENGINE, best.span
                )
        western = _checked(western, [n for n in ours if n.script == "western"], words)
        if arabic is not None and western and score >= LABEL_SCORE and label_in(text, names):
            arabic = None  # "Br.763" read confidently: Latin script, Western digits
        elif arabic is not None and not western:
            if _arabic_words(text, arabic):
                arabic, words, rtl = None, True, True
            elif score >= LABEL_SCORE and label_in(text, names) is not None:
                arabic, words = None, True  # "Br." read as ٢٠: a label, read as one
        if arabic is None and not western and not words and _rtl_words(text, score):
            words, rtl = True, True
        lines.append(_Line(quad, text, score, western, arabic, words, rtl))
    return lines


def _choose(lines: list[_Line]) -> list[tuple[_Line, _Candidate]]:
    # a card is in Arabic-Indic digits when more lines read only that way than only as
    # Western digits (a Latin label can look like Arabic-Indic digits to the classifier)
    only_arabic = sum(ln.arabic is not None and not ln.western for ln in lines)
    only_western = sum(ln.arabic is None and bool(ln.western) for ln in lines)
    arabic_card = only_arabic > only_western
    chosen: list[tuple[_Line, _Candidate]] = []
    for ln in lines:
        a, ws = ln.arabic, ln.western
        if a is not None and (
            not ws or arabic_card or a.confidence > max(w.confidence for w in ws)
        ):
            chosen.append((ln, a))
        else:
            chosen.extend((ln, w) for w in ws)
    return chosen


def _span_box(
    quad: npt.NDArray[np.float32], span: tuple[float, float]
) -> tuple[float, float, float, float]:
    """The box (x0, y0, x1, y1) around the part ``span`` of a line."""
    top, bottom = quad[1] - quad[0], quad[2] - quad[3]
    pts = np.array(
        [
            quad[0] + top * span[0],
            quad[0] + top * span[1],
            quad[3] + bottom * span[0],
            quad[3] + bottom * span[1],
        ]
    )
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def _placed(quad: npt.NDArray[np.float32], span: tuple[float, float] = (0.0, 1.0)) -> Placed:
    top, bottom = quad[1] - quad[0], quad[2] - quad[3]
    a, b = quad[0] + top * span[0], quad[0] + top * span[1]
    c, d = quad[3] + bottom * span[0], quad[3] + bottom * span[1]
    centre = (a + b + c + d) / 4
    slope = float(top[1] / top[0]) if abs(float(top[0])) > 1e-3 else 0.0
    return Placed(
        cx=float(centre[0]),
        cy=float(centre[1]),
        width=float(np.linalg.norm(b - a)),
        height=float(np.linalg.norm(c - a)),
        slope=slope,
    )


def _readings(lines: list[_Line], card: Rectified, names: LabelSet) -> list[Reading]:
    chosen = _choose(lines)
    numbers: list[Placed] = []
    for ln, cand in chosen:
        place = _placed(ln.quad, cand.span)
        place.field = label_in(ln.text, names)
        place.how = "line" if place.field is not None else None
        place.confidence = cand.confidence
        numbers.append(place)
    with_numbers = {id(ln) for ln, _ in chosen}
    labels: list[Placed] = []
    for ln in lines:
        field = label_in(ln.text, names)
        if id(ln) not in with_numbers and (field is not None or ln.words):
            lab = _placed(ln.quad)
            lab.field, lab.rtl = field, ln.rtl
            labels.append(lab)
    assign_fields(numbers, labels)
    out: list[Reading] = []
    for (ln, cand), place in zip(chosen, numbers, strict=True):
        out.append(
            Reading(
                field=place.field,
                value=cand.written.translate(_TO_ASCII),
                written=cand.written,
                script=cand.script,
                confidence=float(np.clip(cand.confidence, 0.0, 1.0)),
                box=card.box_to_original(_span_box(ln.quad, cand.span)),
                engine=cand.engine,
                assigned=place.how if place.field is not None else None,
            )
        )
    return with_field_confidence(out)
