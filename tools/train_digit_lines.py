"""Train the digit-line recogniser shipped as ``src/dalil/ocr/digit_lines_v1.onnx``.

    python tools/train_digit_lines.py [--samples 160000] [--epochs 8] [--out PATH]

Development only: it needs PyTorch and onnx, which Dalil does not depend on (run it in a
separate virtual environment: ``pip install torch onnx opencv-python-headless pillow`` and
this repository's ``src`` on the path, which the script adds itself). Deterministic for a
given seed and font set.

What it learns from, all generated here:

* **digit strings** of 2-9 digits in Western, Arabic-Indic or Persian digits, written in every
  font installed under /usr/share/fonts that draws them, **except** the benchmark's held-out
  list (``bench/ocr_photos_data.HELD_OUT_FONTS``) and its excluded decorative fonts, which
  training never sees; and in a stroke handwriting defined below (not the demo's stroke
  font), with jittered control points, slant, uneven size and baseline, and pen width;
* **context it must ignore**: label words in Latin and Arabic script before or after the
  number (``رقم``, ``No.``, ``#``, ``:``), a second number after a wide gap (the gap is a
  class of its own), rules under the line and cell borders around it;
* **paper and camera**: paper tone and texture, ink colour, uneven light, tilt and shear,
  the text detector's loose or tight box, blur, shrinking to 10-30 px high and back, noise
  and JPEG at quality 30-95.

The model: five 3x3 convolutions (16-96 channels) taking a 32-row line to one row of frames,
one per 4 columns, then a bidirectional LSTM and a linear layer over the 25 classes of
:data:`dalil.ocr.lines.CLASSES`, trained with CTC loss. At the end it prints the share of
lines read exactly on generated lines in the *held-out* fonts, and exports the model to ONNX
(opset 17, dynamic batch and width).
"""

# ruff: noqa: RUF001, E501 -- Arabic-Indic digits as keys are the point; stroke tables stay one glyph a line

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]

from dalil.ocr.lines import (  # noqa: E402
    ARABIC_INDIC,
    CLASSES,
    HEIGHT,
    MODEL_PATH,
    PERSIAN,
    STRIDE,
    WESTERN,
    prepare,
)
from ocr_photos_data import EXCLUDED_FONTS, HELD_OUT_FONTS  # noqa: E402

SEED = 20261201
WIDTH = 256  # training lines are padded (or squeezed) to this width
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))
SYSTEMS = {"western": WESTERN, "arabic-indic": ARABIC_INDIC, "persian": PERSIAN}
INDEX = {ch: i for i, ch in enumerate(CLASSES) if ch}
# a Persian digit drawn like its Arabic-Indic twin is that class
for _p, _a in zip(PERSIAN, ARABIC_INDIC, strict=True):
    INDEX.setdefault(_p, INDEX[_a])

LATIN_WORDS = (
    "No.", "No", "Nr.", "#", "ID", "Number", "Detainee", "Prisoner", "Branch", "Br.", "Report",
    "Rep.", "File", "Ref.", "Case", "Cell", "Section", "Date", "Name", "Body", "DET", "NO:",
    "Serial", "Forensic", "Record", "Card", "Unit", "Div.", "Lot", "Tag",
)  # fmt: skip
ARABIC_WORDS = (
    "رقم", "المعتقل", "الموقوف", "السجين", "الفرع", "فرع", "التقرير", "تقرير", "الطبي",
    "الشرعي", "ملف", "سجل", "بطاقة", "اسم", "قسم", "الجثة", "رقم:", "الفرع:", "تاريخ",
    "الوحدة", "المحضر", "مسلسل",
)  # fmt: skip

# ------------------------------------------------------------------ stroke handwriting
# Each digit: strokes of control points in a box 1 high and about 0.55 wide (y down).
Pts = list[tuple[float, float]]


def _ring(cx: float, cy: float, rx: float, ry: float, n: int = 10, start: float = -90) -> Pts:
    return [
        (
            cx + rx * math.cos(math.radians(start + 360 * k / n)),
            cy + ry * math.sin(math.radians(start + 360 * k / n)),
        )
        for k in range(n + 1)
    ]


STROKES: dict[str, list[Pts]] = {
    "0": [_ring(0.27, 0.5, 0.24, 0.5, 12)],
    "1": [[(0.1, 0.22), (0.3, 0.0), (0.3, 1.0)]],
    "2": [[(0.04, 0.22), (0.25, 0.0), (0.48, 0.18), (0.4, 0.48), (0.04, 1.0), (0.54, 0.98)]],
    "3": [[(0.04, 0.1), (0.3, 0.0), (0.46, 0.2), (0.2, 0.47), (0.5, 0.7), (0.35, 1.0), (0.0, 0.9)]],
    "4": [[(0.42, 1.0), (0.42, 0.0), (0.0, 0.66), (0.56, 0.66)]],
    "5": [[(0.5, 0.0), (0.1, 0.02), (0.06, 0.45), (0.38, 0.38), (0.52, 0.7), (0.3, 1.0), (0.0, 0.9)]],
    "6": [[(0.46, 0.04), (0.14, 0.3), (0.04, 0.72), (0.26, 1.0), (0.5, 0.78), (0.32, 0.52), (0.06, 0.66)]],
    "7": [[(0.0, 0.02), (0.54, 0.0), (0.22, 1.0)]],
    "8": [[(0.28, 0.5), (0.06, 0.24), (0.28, 0.0), (0.5, 0.24), (0.28, 0.5), (0.02, 0.76),
           (0.28, 1.0), (0.54, 0.76), (0.28, 0.5)]],
    "9": [[(0.5, 0.3), (0.28, 0.02), (0.04, 0.28), (0.26, 0.52), (0.5, 0.32), (0.44, 1.0)]],
    "٠": [[(0.1, 0.5), (0.16, 0.44), (0.22, 0.5), (0.16, 0.56), (0.1, 0.5)]],
    "١": [[(0.1, 0.0), (0.13, 0.5), (0.16, 1.0)]],
    "٢": [[(0.02, 0.04), (0.12, 0.3), (0.16, 1.0)], [(0.1, 0.22), (0.3, 0.26), (0.44, 0.0)]],
    "٣": [[(0.02, 0.04), (0.1, 0.3), (0.14, 1.0)],
          [(0.1, 0.22), (0.24, 0.26), (0.3, 0.04), (0.38, 0.24), (0.52, 0.0)]],
    "٤": [[(0.46, 0.02), (0.14, 0.1), (0.32, 0.36), (0.06, 0.56), (0.16, 0.94), (0.5, 0.88)]],
    "٥": [_ring(0.24, 0.58, 0.2, 0.36, 10, start=90)],
    "٦": [[(0.0, 0.02), (0.42, 0.1), (0.46, 1.0)]],
    "٧": [[(0.0, 0.0), (0.26, 1.0), (0.52, 0.0)]],
    "٨": [[(0.0, 1.0), (0.26, 0.0), (0.52, 1.0)]],
    "٩": [[(0.42, 0.34), (0.14, 0.36), (0.08, 0.1), (0.34, 0.0), (0.42, 0.24), (0.44, 1.0)]],
    "۴": [[(0.06, 0.04), (0.26, 0.14), (0.08, 0.3), (0.3, 0.4), (0.34, 1.0)]],
    "۵": [[(0.26, 0.96), (0.02, 0.56), (0.1, 0.2), (0.26, 0.36), (0.42, 0.2), (0.5, 0.56),
           (0.26, 0.96)]],
    "۶": [[(0.46, 0.0), (0.08, 0.1), (0.1, 0.32), (0.36, 0.3), (0.18, 1.0)]],
}  # fmt: skip
for _p, _a in zip(PERSIAN, ARABIC_INDIC, strict=True):
    STROKES.setdefault(_p, STROKES[_a])


def _spline(pts: Pts, n: int = 8) -> np.ndarray:
    """Catmull-Rom through the points."""
    p = np.array([pts[0], *pts, pts[-1]], np.float64)
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        for t in np.linspace(0, 1, n, endpoint=False):
            out.append(
                0.5
                * (
                    2 * p1
                    + (-p0 + p2) * t
                    + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t
                    + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
                )
            )
    out.append(p[-2])
    return np.array(out)


def hand_digits(text: str, rng: np.random.Generator) -> np.ndarray:
    """``text`` written with a jittered pen: ink mask (uint8 0/255), rows = line height."""
    size = 64
    slant = rng.uniform(-0.25, 0.35)
    pen = max(2, round(size * rng.uniform(0.05, 0.14)))
    spacing = rng.uniform(0.08, 0.35)
    wobble = rng.uniform(0.0, 0.05)
    canvas = np.zeros((int(size * 1.6), int(size * (0.9 * len(text) + 1))), np.uint8)
    x = size * 0.3
    for ch in text:
        scale = size * rng.uniform(0.85, 1.1)
        base = size * 0.3 + rng.normal(0, size * 0.04)
        for stroke in STROKES[ch]:
            pts = np.array(stroke) + rng.normal(0, wobble, (len(stroke), 2))
            curve = _spline([tuple(q) for q in pts])
            xs = x + (curve[:, 0] + slant * (1 - curve[:, 1])) * scale
            ys = base + curve[:, 1] * scale
            poly = np.stack([xs, ys], axis=1).round().astype(np.int32)
            cv2.polylines(canvas, [poly], False, 255, pen, cv2.LINE_AA)
        width = max(q[0] for s in STROKES[ch] for q in s)
        x += (width + spacing) * scale + pen
    return canvas[:, : int(x + size * 0.3)]


# ------------------------------------------------------------------ fonts
def _covers(path: Path, chars: str) -> bool:
    try:
        font = ImageFont.truetype(str(path), 40)
    except OSError:
        return False
    missing = font.getmask("\uffff").getbbox(), bytes(font.getmask("\uffff"))
    seen = set()
    for ch in chars:
        mask = font.getmask(ch)
        box = mask.getbbox()
        if not box or (box, bytes(mask)) == missing:
            return False
        seen.add(bytes(mask))
    return len(seen) >= len(set(chars)) - 1


def training_fonts() -> dict[str, list[Path]]:
    """script -> installed fonts that draw its digits, none held out or excluded."""
    banned = set(HELD_OUT_FONTS) | set(EXCLUDED_FONTS)
    paths = sorted(p for d in FONT_DIRS for p in d.rglob("*.[ot]tf") if p.name not in banned)
    out: dict[str, list[Path]] = {k: [] for k in (*SYSTEMS, "latin", "arabic")}
    for p in paths:
        for name, chars in SYSTEMS.items():
            if _covers(p, chars):
                out[name].append(p)
        if _covers(p, "ABNoer"):
            out["latin"].append(p)
        if _covers(p, "رقمل"):
            out["arabic"].append(p)
    return out


def held_out_fonts() -> dict[str, list[Path]]:
    paths = sorted(p for d in FONT_DIRS for p in d.rglob("*.[ot]tf") if p.name in HELD_OUT_FONTS)
    return {name: [p for p in paths if _covers(p, chars)] for name, chars in SYSTEMS.items()}


_FONT_CACHE: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    key = (str(path), size)
    if key not in _FONT_CACHE:
        _FONT_CACHE[key] = ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.RAQM)
    return _FONT_CACHE[key]


def _text_mask(text: str, font: ImageFont.FreeTypeFont, rtl: bool = False) -> np.ndarray:
    kw = {"direction": "rtl"} if rtl else {"direction": "ltr"}
    box = [round(v) for v in font.getbbox(text, **kw)]
    ascent, descent = font.getmetrics()
    img = Image.new("L", (box[2] - box[0] + 8, ascent + descent + 8), 0)
    ImageDraw.Draw(img).text((4 - box[0], 4), text, font=font, fill=255, **kw)
    return np.asarray(img)


def _digits_mask(text: str, font: ImageFont.FreeTypeFont, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.6:
        return _text_mask(text, font)
    # glyph by glyph, with uneven spacing
    parts = [_text_mask(ch, font) for ch in text]
    gap = rng.uniform(-0.05, 0.5) * font.size
    h = max(p.shape[0] for p in parts)
    out = np.zeros(
        (h, sum(p.shape[1] for p in parts) + int(max(gap, 0) * len(parts)) + 8), np.uint8
    )
    x = 0
    for p in parts:
        cols = np.nonzero(p.max(axis=0))[0]
        p = p[:, cols.min() : cols.max() + 1] if len(cols) else p
        w = p.shape[1]
        if x + w > out.shape[1]:
            break
        out[: p.shape[0], x : x + w] = np.maximum(out[: p.shape[0], x : x + w], p)
        x += max(1, int(w + gap))
    return out[:, : x + 4]


# ------------------------------------------------------------------ one line
def _number(rng: np.random.Generator, system: str) -> str:
    n = int(rng.choice([2, 3, 4, 4, 5, 5, 5, 6, 6, 7, 8, 9]))
    chars = SYSTEMS[system]
    first = chars[int(rng.integers(1, 10))]
    return first + "".join(chars[int(rng.integers(0, 10))] for _ in range(n - 1))


def _fit_height(mask: np.ndarray, height: int) -> np.ndarray:
    rows = np.nonzero(mask.max(axis=1))[0]
    if len(rows) == 0:
        return np.zeros((height, 4), np.uint8)
    mask = mask[rows.min() : rows.max() + 1]
    scale = height / mask.shape[0]
    return cv2.resize(mask, (max(1, round(mask.shape[1] * scale)), height))


def _written(
    text: str, system: str, fonts: dict[str, list[Path]], rng: np.random.Generator, hand: bool
) -> np.ndarray:
    if hand or not fonts[system]:
        return hand_digits(text, rng)
    path = fonts[system][int(rng.integers(len(fonts[system])))]
    mask = _digits_mask(text, _font(path, int(rng.integers(36, 72))), rng)
    if rng.random() < 0.3:  # bolder or thinner than the font
        k = np.ones((3, 3), np.uint8)
        mask = cv2.dilate(mask, k) if rng.random() < 0.6 else cv2.erode(mask, k)
    return mask


def make_line(
    rng: np.random.Generator, fonts: dict[str, list[Path]], hand_share: float = 0.3
) -> tuple[np.ndarray, str]:
    """A generated line (grey uint8, any size) and its target (digits, ' ' between numbers)."""
    system = str(rng.choice(list(SYSTEMS), p=[0.45, 0.38, 0.17]))
    hand = bool(rng.random() < hand_share)
    numbers = [_number(rng, system)]
    if rng.random() < 0.12:
        numbers.append(_number(rng, system))
    digit_h = int(rng.integers(40, 64))
    pieces: list[tuple[np.ndarray, int]] = []  # (mask, gap after)
    for k, num in enumerate(numbers):
        pieces.append((_fit_height(_written(num, system, fonts, rng, hand), digit_h), 0))
        if k + 1 < len(numbers):
            pieces[-1] = (pieces[-1][0], int(digit_h * rng.uniform(1.2, 3.0)))
    # label words before and/or after
    r = rng.random()
    if r < 0.55:
        arabic = (system != "western" and rng.random() < 0.75) or rng.random() < 0.15
        pool, kind = (ARABIC_WORDS, "arabic") if arabic else (LATIN_WORDS, "latin")
        words = " ".join(pool[int(rng.integers(len(pool)))] for _ in range(int(rng.integers(1, 3))))
        path = fonts[kind][int(rng.integers(len(fonts[kind])))]
        label = _text_mask(words, _font(path, int(digit_h * rng.uniform(0.8, 1.3))), rtl=arabic)
        rows = np.nonzero(label.max(axis=1))[0]
        if len(rows):
            label = label[rows.min() : rows.max() + 1]
            gap = int(digit_h * rng.uniform(0.3, 1.5))
            # Arabic labels stand to the right of the number as often as to its left
            if arabic and rng.random() < 0.5:
                pieces = [*pieces[:-1], (pieces[-1][0], gap), (label, 0)]
            else:
                pieces = [(label, gap), *pieces]
    if rng.random() < 0.15:
        pieces.append(
            (
                _fit_height(
                    _text_mask(
                        str(rng.choice([":", "-", ".", "/"])), _font(fonts["latin"][0], digit_h)
                    ),
                    digit_h // 3,
                ),
                0,
            )
        )
    height = max(p.shape[0] for p, _ in pieces)
    width = sum(p.shape[1] + g for p, g in pieces)
    pad_y, pad_x = int(height * 0.6), int(height * 0.8)
    ink = np.zeros((height + 2 * pad_y, width + 2 * pad_x), np.uint8)
    x = pad_x
    for p, g in pieces:
        y = pad_y + (height - p.shape[0]) + int(rng.normal(0, height * 0.04))
        y = int(np.clip(y, 0, ink.shape[0] - p.shape[0]))
        ink[y : y + p.shape[0], x : x + p.shape[1]] = np.maximum(
            ink[y : y + p.shape[0], x : x + p.shape[1]], p
        )
        x += p.shape[1] + g
    # rules and cell borders
    if rng.random() < 0.3:
        yy = pad_y + height + int(rng.integers(2, max(3, pad_y - 2)))
        cv2.line(
            ink,
            (0, yy),
            (ink.shape[1], yy + int(rng.integers(-3, 4))),
            255,
            int(rng.integers(1, 4)),
        )
    if rng.random() < 0.15:
        xx = int(rng.integers(1, max(2, pad_x // 2)))
        cv2.rectangle(
            ink, (xx, 2), (ink.shape[1] - xx, ink.shape[0] - 3), 255, int(rng.integers(1, 3))
        )
    return _photograph(ink, rng, pad_x, pad_y), " ".join(numbers)


def _photograph(ink: np.ndarray, rng: np.random.Generator, pad_x: int, pad_y: int) -> np.ndarray:
    h, w = ink.shape
    # tilt, shear, perspective
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    j = rng.normal(0, 0.02, (4, 2)) * [w * 0.2, h]
    shear = rng.uniform(-0.15, 0.15) * h
    dst = src + j.astype(np.float32) + np.float32([[shear, 0], [shear, 0], [0, 0], [0, 0]])
    angle = math.radians(rng.normal(0, 1.5))
    rot = np.float32([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    dst = (dst - [w / 2, h / 2]) @ rot.T + [w / 2, h / 2]
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    ink = cv2.warpPerspective(ink, m, (w, h))
    # paper and ink
    paper = rng.uniform(150, 250)
    ink_level = rng.uniform(0, min(110, paper - 50))
    tex = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), rng.uniform(1, 6))
    if rng.random() < 0.5:
        light = np.linspace(rng.uniform(-30, 10), rng.uniform(-10, 30), w)[None, :]
    else:
        light = np.linspace(rng.uniform(-25, 5), rng.uniform(-5, 25), h)[:, None]
    alpha = ink.astype(np.float32) / 255 * rng.uniform(0.7, 1.0)
    img = paper + tex * rng.uniform(2, 12) + light
    img = img * (1 - alpha) + (ink_level + tex * 5) * alpha
    # the detector's box: loose or tight, sometimes clipping a little
    cols = np.nonzero(ink.max(axis=0) > 64)[0]
    rows = np.nonzero(ink.max(axis=1) > 64)[0]
    if len(cols) and len(rows):
        th = rows.max() - rows.min() + 1
        x0 = int(cols.min() - th * rng.uniform(-0.05, 0.6))
        x1 = int(cols.max() + th * rng.uniform(-0.05, 0.6))
        y0 = int(rows.min() - th * rng.uniform(-0.05, 0.35))
        y1 = int(rows.max() + th * rng.uniform(-0.05, 0.35))
        img = img[max(0, y0) : min(h, y1 + 1), max(0, x0) : min(w, x1 + 1)]
    img = np.clip(img, 0, 255).astype(np.uint8)
    # camera: blur, low resolution, noise, JPEG
    if rng.random() < 0.6:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.8))
    if rng.random() < 0.5:
        small_h = int(rng.integers(10, 30))
        s = small_h / img.shape[0]
        if s < 1:
            small = cv2.resize(
                img, (max(4, round(img.shape[1] * s)), small_h), interpolation=cv2.INTER_AREA
            )
            img = cv2.resize(small, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
    img = np.clip(img + rng.normal(0, rng.uniform(0, 10), img.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        _, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 96))])
        img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    if rng.random() < 0.1:
        img = 255 - img  # white on dark (a slate, a screen)
    return img


def encode(target: str) -> list[int]:
    return [INDEX[ch] for ch in target]


def to_input(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The model's input at the training width: :func:`prepare`, squeezed when too wide,
    placed at a random offset (padding is 0, the standardised background)."""
    x = prepare(gray)
    if x.shape[1] > WIDTH:
        x = cv2.resize(x, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    out = np.zeros((HEIGHT, WIDTH), np.float32)
    off = int(rng.integers(0, WIDTH - x.shape[1] + 1))
    out[:, off : off + x.shape[1]] = x
    return out


def _chunk(args: tuple[int, int, float, bool]) -> tuple[np.ndarray, list[str]]:
    seed, n, hand_share, held = args
    rng = np.random.default_rng(seed)
    fonts = training_fonts()
    if held:
        held_fonts = held_out_fonts()
        fonts = {**fonts, **held_fonts}
    xs = np.zeros((n, HEIGHT, WIDTH), np.float16)
    targets = []
    for i in range(n):
        img, target = make_line(rng, fonts, hand_share)
        xs[i] = to_input(img, rng)
        targets.append(target)
    return xs, targets


def dataset(
    n: int, seed: int, hand_share: float, held: bool, workers: int
) -> tuple[np.ndarray, list[str]]:
    per = 2000
    jobs = [(seed * 1000 + k, min(per, n - k * per), hand_share, held) for k in range(-(-n // per))]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.map(_chunk, jobs)
    xs = np.concatenate([p[0] for p in parts])
    targets = [t for p in parts for t in p[1]]
    return xs, targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=160_000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/digit-lines-data.npz"))
    parser.add_argument("--preview", type=Path, help="write a sheet of generated lines and stop")
    args = parser.parse_args()

    import torch
    from torch import nn

    torch.manual_seed(SEED)
    torch.set_num_threads(args.workers)

    if args.preview:
        xs, targets = dataset(48, SEED, 0.3, False, 1)
        sheet = np.concatenate([(np.clip(x.astype(np.float32), -1, 2) + 1) / 3 * 255 for x in xs])
        cv2.imwrite(str(args.preview), 255 - sheet.astype(np.uint8))
        print("\n".join(targets))
        return 0

    t0 = time.time()
    if args.cache.exists():
        data = np.load(args.cache, allow_pickle=False)
        xs, targets = data["xs"], list(data["targets"])
    else:
        xs, targets = dataset(args.samples, SEED, 0.3, False, args.workers)
        np.savez(args.cache, xs=xs, targets=np.array(targets))
    held_x, held_t = dataset(2000, SEED + 1, 0.0, True, args.workers)
    print(f"data: {len(targets)} lines in {time.time() - t0:.0f} s", flush=True)

    class CRNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()

            def block(a: int, b: int) -> list[nn.Module]:
                return [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]

            self.cnn = nn.Sequential(
                *block(1, 16), nn.MaxPool2d(2),  # 16 x W/2
                *block(16, 32), nn.MaxPool2d(2),  # 8 x W/4
                *block(32, 64),
                *block(64, 64), nn.MaxPool2d((2, 1)),  # 4
                *block(64, 96), nn.MaxPool2d((2, 1)),  # 2
                nn.Conv2d(96, 128, (2, 1)), nn.ReLU(),  # 1
            )  # fmt: skip
            self.rnn = nn.LSTM(128, 80, bidirectional=True, batch_first=True)
            self.fc = nn.Linear(160, len(CLASSES))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = self.cnn(x).squeeze(2).permute(0, 2, 1)  # batch, frames, 128
            f, _ = self.rnn(f)
            return self.fc(f)  # batch, frames, classes (logits)

    model = CRNN()
    print(f"parameters: {sum(p.numel() for p in model.parameters())}", flush=True)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    steps = args.epochs * (len(targets) // args.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    encoded = [encode(t) for t in targets]
    frames = WIDTH // STRIDE

    def accuracy(x: np.ndarray, t: list[str]) -> float:
        from dalil.ocr.lines import decode

        model.eval()
        right = 0
        with torch.no_grad():
            for s in range(0, len(t), 256):
                logits = model(torch.from_numpy(x[s : s + 256].astype(np.float32))[:, None])
                p = torch.softmax(logits, dim=2).numpy()
                for k in range(p.shape[0]):
                    got = " ".join(n.written for n in decode(p[k], WIDTH))
                    want = t[s + k]
                    # Persian digits drawn like Arabic-Indic ones: compare by value
                    right += value(got) == value(want)
        model.train()
        return right / len(t)

    step = 0
    rng = np.random.default_rng(SEED)
    for epoch in range(args.epochs):
        order = rng.permutation(len(targets))
        total = 0.0
        for s in range(0, len(order) - args.batch + 1, args.batch):
            idx = order[s : s + args.batch]
            x = torch.from_numpy(xs[idx].astype(np.float32))[:, None]
            # light augmentation on the fly: contrast and a column shift
            x = x * torch.empty(len(idx), 1, 1, 1).uniform_(0.7, 1.3)
            y = [encoded[i] for i in idx]
            logits = model(x)
            logp = logits.log_softmax(2).permute(1, 0, 2)
            loss = ctc(
                logp,
                torch.tensor([c for t in y for c in t]),
                torch.full((len(idx),), frames, dtype=torch.long),
                torch.tensor([len(t) for t in y]),
            )
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            step += 1
            total += float(loss)
            if step % 200 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {total / 200:.3f} "
                      f"{time.time() - t0:.0f} s", flush=True)  # fmt: skip
                total = 0.0
        print(
            f"epoch {epoch}: held-out fonts, exact lines {accuracy(held_x, held_t):.3f}", flush=True
        )

    model.eval()
    dummy = torch.zeros(1, 1, HEIGHT, 96)
    torch.onnx.export(
        model,
        (dummy,),
        str(args.out),
        input_names=["line"],
        output_names=["logits"],
        dynamic_axes={"line": {0: "batch", 3: "width"}, "logits": {0: "batch", 1: "frames"}},
        opset_version=17,
        dynamo=False,
    )
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) in {time.time() - t0:.0f} s")
    return 0


def value(text: str) -> str:
    """Digits of any system as ASCII (Persian drawn like Arabic-Indic compare equal)."""
    return text.translate(str.maketrans(ARABIC_INDIC + PERSIAN, "0123456789" * 2))


if __name__ == "__main__":
    sys.exit(main())
