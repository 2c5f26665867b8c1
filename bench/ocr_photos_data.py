"""Data for ``bench/ocr_photos.py``: photographs of index cards made differently from the demo.

Not a package module: ``bench/ocr_photos.py`` imports it as ``ocr_photos_data`` (the script's
own folder comes first on ``sys.path``).

Nothing here comes from :mod:`dalil.demo`: no stroke font, no card template, no table texture,
no camera model of the demo is used. Each photograph shows one card carrying three fictitious
numbers (detainee, branch, forensic report), with:

* a **layout** — ``english-left`` (English labels left of their values), ``arabic-right``
  (Arabic labels right of their values, the line read right to left), ``stacked`` (each label
  above its value, English or Arabic), ``table`` (a small ruled table: label | value rows, or a
  header row of labels over a row of values, right to left when the labels are Arabic),
  ``none`` (three numbers, no label, in the order detainee, branch, report);
* a **digit system** — Western ``0-9``, Arabic-Indic (U+0660-0669) or Persian (U+06F0-06F9);
* a **style** — ``print`` (the font as it is) or ``hand`` (handwriting-like: each digit drawn
  on its own, jittered in size, angle, slant and baseline, warped elastically, its stroke
  thickened or thinned, in ballpoint or felt-pen ink of uneven pressure; slanted and
  calligraphic fonts first);
* **fonts** from the Debian font packages on this machine, in two lists that share no family:
  :data:`TUNING_FONTS` (what anything may be tuned on) and :data:`HELD_OUT_FONTS` (what nothing
  is ever tuned or trained on; a card uses fonts of one list only). Decorative fonts
  (:data:`EXCLUDED_FONTS`) are used by neither.

The card is photographed by a simulated pinhole camera: tilted up to 25° out of the image plane
(perspective), rotated ±8° in it, covering 20-60 % of a 4000 x 3000 frame on a generated
texture (concrete, fabric, brushed steel, tiles, cardboard, plastic sheet; no photograph of
anything), under a shadow gradient and sometimes a soft cast shadow, with a colour cast, blur
(focus or motion), sensor noise and JPEG quality 70-90. Photograph ``i`` of seed ``s`` depends
on ``(s, i)`` only, so a set of 20 is the first 20 of a set of 80.

The truth (``truth.json``) records per photograph the values (ASCII digits) and the strings as
written, the slices above, the fonts, and the card's corners in the frame.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

GENERATOR = "dalil-bench-ocr-photos/1"
FRAME = (4000, 3000)
FIELDS = ("detainee", "branch", "report")
LAYOUTS = ("english-left", "arabic-right", "stacked", "table", "none")
DIGIT_SYSTEMS = ("western", "arabic-indic", "persian")
STYLES = ("print", "hand")
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))

# Fonts by file name. No family is in both lists. Persian digits exist only in Amiri, DejaVu
# Sans (and Mono) and KacstOne; Latin letters not in Kacst*. The digit-line recogniser
# (tools/train_digit_lines.py, shipped as digit_lines_v1) trains on every installed font
# except HELD_OUT_FONTS and EXCLUDED_FONTS, which it imports from here: the held-out list is
# unseen by every engine Dalil ships.
TUNING_FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationSans-Bold.ttf",
    "LiberationMono-Regular.ttf",
    "Amiri-Regular.ttf",
    "Amiri-Bold.ttf",
    "ae_AlArabiya.ttf",
    "ae_Arab.ttf",
    "ae_Cortoba.ttf",
    "ae_Dimnah.ttf",
    "ae_Furat.ttf",
    "ae_Hani.ttf",
    "ae_Hor.ttf",
    "ae_Khalid.ttf",
    "ae_Metal.ttf",
    "ae_Nada.ttf",
    "ae_Ostorah.ttf",
    "ae_Ouhod-Bold.ttf",
    "ae_Rasheeq-Bold.ttf",
    "ae_Sharjah.ttf",
    "ae_Mashq.ttf",
    "KacstBook.ttf",
    "KacstNaskh.ttf",
    "KacstOffice.ttf",
    "KacstPen.ttf",
    "KacstTitle.ttf",
    # slanted and calligraphic: first choice for handwriting-like numbers
    "Amiri-Slanted.ttf",
    "Amiri-BoldSlanted.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSerif-Italic.ttf",
    "LiberationSans-Italic.ttf",
    "ae_Granada.ttf",
    "ae_Rehan.ttf",
)
HELD_OUT_FONTS = (
    "LiberationSerif-Regular.ttf",
    "LiberationSerif-Bold.ttf",
    "LiberationSansNarrow-Regular.ttf",
    "LiberationSansNarrow-Bold.ttf",
    "KacstOne.ttf",
    "KacstOne-Bold.ttf",
    "KacstLetter.ttf",
    "ae_Sindbad.ttf",
    "ae_Tarablus.ttf",
    "ae_Kayrawan.ttf",
    "ae_Salem.ttf",
    "ae_Petra.ttf",
    # slanted and calligraphic
    "LiberationSerif-Italic.ttf",
    "LiberationSerif-BoldItalic.ttf",
    "LiberationSansNarrow-Italic.ttf",
    "KacstFarsi.ttf",
    "ae_Nagham.ttf",
    "ae_Tholoth.ttf",
)
HAND_LIKE = frozenset(
    {
        "Amiri-Slanted.ttf",
        "Amiri-BoldSlanted.ttf",
        "DejaVuSans-Oblique.ttf",
        "DejaVuSerif-Italic.ttf",
        "LiberationSans-Italic.ttf",
        "ae_Granada.ttf",
        "ae_Rehan.ttf",
        "LiberationSerif-Italic.ttf",
        "LiberationSerif-BoldItalic.ttf",
        "LiberationSansNarrow-Italic.ttf",
        "KacstFarsi.ttf",
        "ae_Nagham.ttf",
        "ae_Tholoth.ttf",
    }
)
EXCLUDED_FONTS = (
    "AmiriQuran.ttf",
    "AmiriQuranColored.ttf",
    "DejaVuMathTeXGyre.ttf",
    "ae_Haramain.ttf",
    "ae_Shado.ttf",
    "ae_AlManzomah.ttf",
    "ae_Electron.ttf",
    "ae_Japan.ttf",
    "KacstArt.ttf",
    "KacstDecorative.ttf",
    "KacstDigital.ttf",
    "KacstPoster.ttf",
    "KacstQurn.ttf",
    "mry_KacstQurn.ttf",
    "KacstTitleL.ttf",
)  # every other installed font is simply not listed, hence not used

DIGITS = {
    "western": "0123456789",
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "persian": "۰۱۲۳۴۵۶۷۸۹",
}
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.:#"
ARABIC = "رقمالمعتقلوفسجينرعتيطبشي"

ENGLISH_LABELS = {
    "detainee": ("Detainee No.", "DETAINEE NO:", "Detainee #", "Prisoner No.", "Det. No."),
    "branch": ("Branch", "BRANCH:", "Branch No.", "Br.", "Branch #"),
    "report": ("Report No.", "Forensic report", "REPORT #", "Rep. No.", "Report:"),
}
ARABIC_LABELS = {
    "detainee": ("رقم المعتقل", "رقم الموقوف", "المعتقل رقم", "رقم السجين", "رقم المعتقل:"),
    "branch": ("الفرع", "رقم الفرع", "فرع", "الفرع:"),
    "report": ("رقم التقرير", "التقرير الطبي", "تقرير الطب الشرعي", "رقم التقرير:"),
}
ENGLISH_TITLES = ("IDENTIFICATION", "Record card", "INDEX CARD", "Registration")
ARABIC_TITLES = ("بطاقة تعريف", "بطاقة", "سجل", "استمارة")

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


# ---------------------------------------------------------------------------- fonts


@dataclass(frozen=True, slots=True)
class Font:
    name: str
    path: str
    covers: frozenset[str]  # "western", "arabic-indic", "persian", "latin", "arabic"
    hand_like: bool
    held_out: bool


def _covers(path: Path) -> frozenset[str]:
    """Which scripts a font draws (a character it lacks comes out as its 'missing' glyph)."""
    font = ImageFont.truetype(str(path), 40)

    def shape(ch: str) -> tuple[tuple[int, int], bytes]:
        mask = font.getmask(ch)
        return mask.size, bytes(mask)

    missing = {shape(c) for c in "\ue000\ue001"}

    def has(chars: str) -> bool:
        return all(shape(c) not in missing and font.getmask(c).getbbox() for c in chars)

    sets = {**DIGITS, "latin": LATIN, "arabic": ARABIC}
    return frozenset(k for k, chars in sets.items() if has(chars))


@lru_cache(maxsize=1)
def fonts() -> tuple[Font, ...]:
    """The listed fonts that are installed, with what they cover."""
    found: dict[str, Path] = {}
    for folder in FONT_DIRS:
        for path in sorted(folder.rglob("*.[ot]tf")) if folder.is_dir() else []:
            found.setdefault(path.name, path)
    out = []
    for names, held in ((TUNING_FONTS, False), (HELD_OUT_FONTS, True)):
        for name in names:
            if name in found:
                out.append(
                    Font(name, str(found[name]), _covers(found[name]), name in HAND_LIKE, held)
                )
    return tuple(out)


def _pick_font(
    rng: np.random.Generator, held_out: bool, needs: str, prefer_hand: bool = False
) -> Font:
    pool = [f for f in fonts() if f.held_out == held_out and needs in f.covers]
    if not pool:
        raise SystemExit(f"no installed {'held-out' if held_out else 'tuning'} font for {needs}")
    hand = [f for f in pool if f.hand_like]
    if prefer_hand and hand and rng.random() < 0.7:
        pool = hand
    elif not prefer_hand:
        pool = [f for f in pool if not f.hand_like] or pool
    return pool[int(rng.integers(len(pool)))]


# ---------------------------------------------------------------------------- the plan


@dataclass(slots=True)
class CardPlan:
    """What one photograph shows (all that the truth file records)."""

    photo: str
    fields: dict[str, str]
    written: dict[str, str]
    digits: str
    style: str
    layout: str
    labels: str  # "english", "arabic" or "none"
    font_set: str  # "tuning" or "held-out"
    number_font: str
    label_font: str | None
    quad: list[list[float]] = field(default_factory=list)  # tl, tr, br, bl in the frame
    tilt_deg: float = 0.0
    rotation_deg: float = 0.0
    coverage: float = 0.0
    background: str = ""
    blur: str = ""
    jpeg_quality: int = 0
    sha256: str = ""


def _number(rng: np.random.Generator, lo: int, hi: int) -> str:
    digits = int(rng.integers(lo, hi + 1))
    first = str(int(rng.integers(1, 10)))
    return first + "".join(str(int(d)) for d in rng.integers(0, 10, digits - 1))


def plan(seed: int, index: int) -> CardPlan:
    rng = np.random.default_rng([seed, index, 1])
    values = {"detainee": _number(rng, 4, 6), "branch": _number(rng, 3, 3)}
    values["report"] = _number(rng, 3, 5)
    while values["report"] in (values["detainee"], values["branch"]):
        values["report"] = _number(rng, 3, 5)
    digits = str(rng.choice(DIGIT_SYSTEMS, p=[0.45, 0.4, 0.15]))
    style = str(rng.choice(STYLES))
    layout = str(rng.choice(LAYOUTS))
    held = bool(rng.random() < 0.5)
    if layout == "english-left":
        labels = "english"
    elif layout == "arabic-right":
        labels = "arabic"
    elif layout == "none":
        labels = "none"
    else:
        labels = str(rng.choice(("english", "arabic")))
    number_font = _pick_font(rng, held, digits, prefer_hand=style == "hand")
    label_font = None
    if labels != "none":
        script = "latin" if labels == "english" else "arabic"
        label_font = _pick_font(rng, held, script).name
    table = str.maketrans("0123456789", DIGITS[digits])
    return CardPlan(
        photo=f"photos/P{index + 1:04d}.jpg",
        fields=values,
        written={k: v.translate(table) for k, v in values.items()},
        digits=digits,
        style=style,
        layout=layout,
        labels=labels,
        font_set="held-out" if held else "tuning",
        number_font=number_font.name,
        label_font=label_font,
    )


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = next(f.path for f in fonts() if f.name == name)
    return ImageFont.truetype(path, max(8, size), layout_engine=ImageFont.Layout.RAQM)


# ---------------------------------------------------------------------------- text


def _label_mask(text: str, font: ImageFont.FreeTypeFont, arabic: bool) -> Image.Image:
    """A label as a tight ink mask (L), shaped and laid out right to left when Arabic."""
    kw: dict[str, Any] = {"direction": "rtl", "language": "ar"} if arabic else {}
    box = [round(v) for v in font.getbbox(text, **kw)]
    w, h = box[2] - box[0] + 4, box[3] - box[1] + 4
    img = Image.new("L", (max(1, w), max(1, h)), 0)
    ImageDraw.Draw(img).text((2 - box[0], 2 - box[1]), text, font=font, fill=255, **kw)
    return img


def _elastic(mask: U8, rng: np.random.Generator, amount: float) -> U8:
    h, w = mask.shape
    grid = max(4.0, min(h, w) / 3.0)
    dx = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), grid)
    dy = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), grid)
    norm = max(float(np.abs(dx).max()), float(np.abs(dy).max()), 1e-6)
    scale = amount * h / norm
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    out = cv2.remap(mask, xs + dx * scale, ys + dy * scale, cv2.INTER_LINEAR, borderValue=0)
    return np.asarray(out, np.uint8)


def _glyph(ch: str, font: ImageFont.FreeTypeFont, rng: np.random.Generator, weight: int) -> U8:
    """One character on a canvas as tall as the font's line, so that baselines line up;
    warped elastically, its strokes thickened (``weight`` > 0) or thinned (< 0) by that many
    pixels."""
    ascent, descent = font.getmetrics()
    box = [round(v) for v in font.getbbox(ch)]
    pad = round(font.size) // 3
    w, h = box[2] - min(box[0], 0) + 2 * pad, ascent + descent + 2 * pad
    img = Image.new("L", (max(1, w), max(1, h)), 0)
    ImageDraw.Draw(img).text((pad - min(box[0], 0), pad), ch, font=font, fill=255)
    mask = _elastic(np.asarray(img, np.uint8), rng, float(rng.uniform(0.015, 0.04)))
    if weight:
        k = abs(weight) + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        mask = np.asarray((cv2.dilate if weight > 0 else cv2.erode)(mask, kernel), np.uint8)
    return mask


def _number_mask(
    text: str, font: ImageFont.FreeTypeFont, rng: np.random.Generator, hand: bool
) -> Image.Image:
    """The number as an ink mask (L), left to right (numbers run so in Arabic too)."""
    if not hand:
        box = [round(v) for v in font.getbbox(text, direction="ltr")]
        w, h = box[2] - box[0] + 4, box[3] - box[1] + 4
        img = Image.new("L", (w, h), 0)
        ImageDraw.Draw(img).text((2 - box[0], 2 - box[1]), text, font=font, fill=255)
        return img
    size = font.size
    slant = float(rng.uniform(-0.05, 0.35))
    # felt pens and pressed ballpoints draw heavier than type, fine pens lighter
    weight = round(size * float(rng.uniform(-0.03, 0.06)))
    glyphs = []
    for ch in text:
        g = _glyph(ch, font, rng, weight)
        scale = float(np.clip(rng.normal(1.0, 0.08), 0.8, 1.25))
        angle = float(rng.normal(0.0, 4.0))
        gh, gw = g.shape
        m = cv2.getRotationMatrix2D((gw / 2, gh / 2), angle, scale)
        m[0, 1] -= slant * scale  # shear: x moves with -y
        m[0, 2] += slant * scale * gh / 2
        g = np.asarray(cv2.warpAffine(g, m, (gw + int(abs(slant) * gh), gh)), np.uint8)
        glyphs.append(g)
    height = max(g.shape[0] for g in glyphs) + size
    width = sum(g.shape[1] for g in glyphs) + size
    canvas = np.zeros((height, width), np.uint8)
    x = size // 4
    drift = 0.0
    for g in glyphs:
        cols = np.flatnonzero(g.max(axis=0) > 40)
        if cols.size == 0:
            continue
        g = g[:, cols[0] : cols[-1] + 1]
        drift += float(rng.normal(0, 0.03 * size))
        y = int(np.clip(size // 2 + drift, 0, height - g.shape[0]))
        x = max(0, x)
        if x + g.shape[1] > width:
            break
        region = canvas[y : y + g.shape[0], x : x + g.shape[1]]
        np.maximum(region, g, out=region)
        x += g.shape[1] + int(size * float(rng.uniform(0.04, 0.18)))
    img = Image.fromarray(canvas)
    bbox = img.getbbox()
    return img.crop(bbox) if bbox else img


# ---------------------------------------------------------------------------- the card


@dataclass(slots=True)
class _Ink:
    mask: Image.Image  # L
    colour: tuple[int, int, int]


def _paper(w: int, h: int, rng: np.random.Generator) -> Image.Image:
    base = np.array(
        [(246, 243, 232), (250, 250, 246), (244, 238, 214), (232, 240, 246), (240, 232, 222)][
            int(rng.integers(5))
        ],
        np.float32,
    )
    fibres = cv2.GaussianBlur(rng.normal(0, 1, (h // 2, w // 2)).astype(np.float32), (0, 0), 1.2)
    blotch = cv2.GaussianBlur(rng.normal(0, 1, (h // 16, w // 16)).astype(np.float32), (0, 0), 3)
    fibres = cv2.resize(fibres, (w, h)) * 5.0
    blotch = cv2.resize(blotch, (w, h)) * 18.0
    rgb = base[None, None, :] + (fibres + blotch)[..., None]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def _ink_colour(rng: np.random.Generator, hand: bool) -> tuple[int, int, int]:
    if not hand:
        return (20, 20, 24)
    return [(22, 40, 150), (26, 26, 30), (40, 30, 110), (12, 60, 120)][int(rng.integers(4))]


def render_card(p: CardPlan, w: int, h: int, rng: np.random.Generator) -> Image.Image:
    """The flat card, RGBA (alpha: the card's outline with slightly rounded corners)."""
    paper = _paper(w, h, rng)
    draw = ImageDraw.Draw(paper)
    hand = p.style == "hand"
    inks: list[tuple[_Ink, tuple[int, int]]] = []
    arabic = p.labels == "arabic"
    label_h = round(h * float(rng.uniform(0.05, 0.07)))
    number_h = round(h * float(rng.uniform(0.09, 0.13) if hand else rng.uniform(0.07, 0.1)))
    label_font = _font(p.label_font, label_h) if p.label_font else None
    number_font = _font(p.number_font, number_h)
    label_ink = (28, 28, 34)
    number_ink = _ink_colour(rng, hand)
    margin = round(w * 0.06)

    def put(mask: Image.Image, x: float, y: float, colour: tuple[int, int, int]) -> None:
        inks.append((_Ink(mask, colour), (round(x), round(y))))

    def label(field: str) -> Image.Image:
        assert label_font is not None
        words = (ARABIC_LABELS if arabic else ENGLISH_LABELS)[field]
        return _label_mask(str(words[int(rng.integers(len(words)))]), label_font, arabic)

    numbers = {k: _number_mask(p.written[k], number_font, rng, hand) for k in FIELDS}
    for k, m in numbers.items():  # fonts draw digits at very different sizes: even them out
        f = number_h * 0.8 / max(1, m.height)
        numbers[k] = m.resize((max(1, round(m.width * f)), max(1, round(m.height * f))))
    for k, m in numbers.items():  # never wider than half the card
        if m.width > 0.5 * w:
            numbers[k] = m.resize((round(0.5 * w), max(1, round(m.height * 0.5 * w / m.width))))
    top = 0.12 * h
    if rng.random() < 0.6 and p.label_font is not None:
        titles = ARABIC_TITLES if arabic else ENGLISH_TITLES
        tmask = _label_mask(str(titles[int(rng.integers(len(titles)))]), label_font, arabic)  # type: ignore[arg-type]
        put(tmask, (w - tmask.width) / 2, 0.05 * h, label_ink)
        top = 0.05 * h + tmask.height + 0.05 * h
    if rng.random() < 0.4:
        inset = round(0.025 * w)
        draw.rectangle((inset, inset, w - inset, h - inset), outline=(90, 90, 100), width=3)

    if p.layout in ("english-left", "arabic-right"):
        rows = np.linspace(top + 0.08 * h, 0.86 * h, 3)
        column = rng.random() < 0.5
        for field_name, yc in zip(FIELDS, rows, strict=True):
            lab = label(field_name)
            num = numbers[field_name]
            gap = w * float(rng.uniform(0.03, 0.06))
            if p.layout == "english-left":
                lx = margin
                nx = 0.45 * w if column else lx + lab.width + gap
                nx = min(nx, w - margin - num.width)
            else:
                lx = w - margin - lab.width
                right = 0.55 * w if column else lx - gap
                nx = max(margin, right - num.width)
            put(lab, lx, yc - lab.height / 2, label_ink)
            put(num, nx, yc - num.height / 2 - 0.1 * num.height, number_ink)
            if rng.random() < 0.5:  # the form's line the number is written on
                y = yc + num.height * 0.45
                x0, x1 = (nx - 10, nx + num.width + 30)
                draw.line((x0, y, x1, y), fill=(120, 120, 130), width=max(2, h // 400))
    elif p.layout == "stacked":
        blocks = np.linspace(top, 0.95 * h, 4)[:3]
        for field_name, y0 in zip(FIELDS, blocks, strict=True):
            lab = label(field_name)
            num = numbers[field_name]
            if arabic:
                put(lab, w - margin - lab.width, y0, label_ink)
                put(
                    num,
                    w - margin - num.width - rng.uniform(0, 0.05) * w,
                    y0 + lab.height + 0.015 * h,
                    number_ink,
                )
            else:
                put(lab, margin, y0, label_ink)
                put(num, margin + rng.uniform(0, 0.05) * w, y0 + lab.height + 0.015 * h, number_ink)
    elif p.layout == "table":
        line = (60, 60, 70)
        lw = max(2, h // 300)
        if rng.random() < 0.5:  # three rows of label | value
            x0, x1 = margin, w - margin
            split = 0.55 * w if arabic else 0.45 * w
            ys = np.linspace(top, 0.94 * h, 4)
            for y in ys:
                draw.line((x0, y, x1, y), fill=line, width=lw)
            for x in (x0, split, x1):
                draw.line((x, ys[0], x, ys[-1]), fill=line, width=lw)
            for i, field_name in enumerate(FIELDS):
                lab = label(field_name)
                num = numbers[field_name]
                yc = (ys[i] + ys[i + 1]) / 2
                if arabic:
                    put(lab, x1 - 0.03 * w - lab.width, yc - lab.height / 2, label_ink)
                    put(num, (x0 + split - num.width) / 2, yc - num.height / 2, number_ink)
                else:
                    put(lab, x0 + 0.03 * w, yc - lab.height / 2, label_ink)
                    put(num, (split + x1 - num.width) / 2, yc - num.height / 2, number_ink)
        else:  # a header row of labels over a row of values
            x0, x1 = margin * 0.6, w - margin * 0.6
            xs = np.linspace(x0, x1, 4)
            y0 = top + 0.05 * h
            y1 = y0 + label_h * 2.2
            y2 = y1 + max(m.height for m in numbers.values()) * 1.8
            for y in (y0, y1, y2):
                draw.line((x0, y, x1, y), fill=line, width=lw)
            for x in xs:
                draw.line((x, y0, x, y2), fill=line, width=lw)
            order = list(FIELDS)[::-1] if arabic else list(FIELDS)
            for i, field_name in enumerate(order):
                lab = label(field_name)
                num = numbers[field_name]
                cx = (xs[i] + xs[i + 1]) / 2
                if lab.width > xs[i + 1] - xs[i] - 10:
                    f = (xs[i + 1] - xs[i] - 10) / lab.width
                    lab = lab.resize((max(1, int(lab.width * f)), max(1, int(lab.height * f))))
                if num.width > xs[i + 1] - xs[i] - 10:
                    f = (xs[i + 1] - xs[i] - 10) / num.width
                    num = num.resize((max(1, int(num.width * f)), max(1, int(num.height * f))))
                put(lab, cx - lab.width / 2, (y0 + y1 - lab.height) / 2, label_ink)
                put(num, cx - num.width / 2, (y1 + y2 - num.height) / 2, number_ink)
    else:  # no labels: three numbers, one under the other
        align = str(rng.choice(("left", "centre", "right")))
        rows = np.linspace(top + 0.1 * h, 0.85 * h, 3)
        for field_name, yc in zip(FIELDS, rows, strict=True):
            num = numbers[field_name]
            at = {"left": margin, "centre": (w - num.width) / 2, "right": w - margin - num.width}
            x0 = float(np.clip(at[align] + rng.uniform(-0.03, 0.03) * w, margin, w - num.width))
            put(num, x0, yc - num.height / 2, number_ink)

    for ink, (x, y) in inks:
        pressure = 0.75 + 0.25 * rng.random() if hand else 0.95
        alpha = ink.mask.point(lambda v, a=pressure: round(v * a))
        paper.paste(ink.colour, (x, y), alpha)
    out = paper.convert("RGBA")
    outline = Image.new("L", (w, h), 0)
    ImageDraw.Draw(outline).rounded_rectangle(
        (0, 0, w - 1, h - 1), radius=max(3, w // 120), fill=255
    )
    out.putalpha(outline)
    return out


# ---------------------------------------------------------------------------- the photograph


def _noise(rng: np.random.Generator, w: int, h: int, sigma: float) -> F32:
    """Gaussian-blurred white noise, computed small and enlarged, scaled to [0, 1]."""
    k = max(1, int(sigma // 4))
    grid = rng.normal(0, 1, (max(2, h // k), max(2, w // k))).astype(np.float32)
    small = cv2.GaussianBlur(grid, (0, 0), max(0.5, sigma / k))
    big = np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
    lo, hi = float(big.min()), float(big.max())
    return np.asarray((big - lo) / max(hi - lo, 1e-6), np.float32)


def background(kind: str, rng: np.random.Generator) -> U8:
    w, h = FRAME
    hue = rng.uniform(0.7, 1.15, 3).astype(np.float32)
    if kind == "concrete":
        t = 0.5 * _noise(rng, w, h, 60) + 0.3 * _noise(rng, w, h, 8) + 0.2 * _noise(rng, w, h, 2)
        pits = (_noise(rng, w, h, 3) > 0.82).astype(np.float32) * 0.25
        rgb = (95 + 90 * (t - pits))[..., None] * hue * np.array([1.0, 0.98, 0.94], np.float32)
    elif kind == "fabric":
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        period = float(rng.uniform(6, 14))
        weave = 0.5 + 0.25 * (np.sin(xs * 2 * np.pi / period) + np.sin(ys * 2 * np.pi / period))
        t = 0.6 * weave + 0.4 * _noise(rng, w, h, 30)
        colour = rng.uniform(40, 160, 3).astype(np.float32)
        rgb = colour[None, None, :] * (0.6 + 0.6 * t)[..., None]
    elif kind == "steel":
        raw = rng.normal(0, 1, (h, w // 8)).astype(np.float32)
        streaks = np.asarray(
            cv2.resize(cv2.blur(raw, (25, 1)), (w, h), interpolation=cv2.INTER_LINEAR), np.float32
        )
        t = 0.55 + 0.08 * streaks + 0.3 * (_noise(rng, w, h, 200) - 0.5)
        rgb = (150 * t)[..., None] * np.array([0.97, 1.0, 1.04], np.float32)
    elif kind == "tiles":
        side = int(rng.integers(250, 600))
        xs, ys = np.meshgrid(np.arange(w), np.arange(h))
        tile = ((xs // side) * 7 + (ys // side) * 13) % 5
        grout = ((xs % side) < 12) | ((ys % side) < 12)
        t = 0.75 + 0.05 * tile.astype(np.float32) + 0.15 * (_noise(rng, w, h, 20) - 0.5)
        t = np.where(grout, 0.45, t).astype(np.float32)
        colour = rng.uniform(150, 230, 3).astype(np.float32)
        rgb = colour[None, None, :] * t[..., None]
    elif kind == "cardboard":
        ys = np.arange(h, dtype=np.float32)[:, None]
        ribs = 0.5 + 0.5 * np.sin(ys * 2 * np.pi / float(rng.uniform(30, 60)))
        t = 0.8 + 0.06 * ribs + 0.25 * (_noise(rng, w, h, 12) - 0.5)
        rgb = np.array([176, 134, 90], np.float32)[None, None, :] * t[..., None]
    else:  # plastic sheet with soft folds
        t = _noise(rng, w, h, 350)
        folds = np.abs(np.sin(t * float(rng.uniform(6, 12))))
        colour = rng.uniform(30, 200, 3).astype(np.float32)
        rgb = colour[None, None, :] * (0.55 + 0.5 * folds)[..., None]
    return np.asarray(np.clip(rgb, 0, 255), np.float32).astype(np.uint8)


BACKGROUNDS = ("concrete", "fabric", "steel", "tiles", "cardboard", "plastic")


def _rotation(axis: npt.NDArray[np.float64], angle: float) -> npt.NDArray[np.float64]:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    out = np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)
    return np.asarray(out, np.float64)


def card_quad(
    aspect: float, tilt: float, rotation: float, coverage: float, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Where a card (``aspect`` = width / height) lands in the frame: tilted by ``tilt``
    degrees about a random axis in its plane, seen by a pinhole camera, turned ``rotation``
    degrees in the image, scaled to cover ``coverage`` of the frame, placed inside it."""
    corners = np.array(
        [[-aspect / 2, -0.5, 0], [aspect / 2, -0.5, 0], [aspect / 2, 0.5, 0], [-aspect / 2, 0.5, 0]]
    )
    phi = float(rng.uniform(0, 2 * math.pi))
    tilted = (
        corners @ _rotation(np.array([math.cos(phi), math.sin(phi), 0.0]), math.radians(tilt)).T
    )
    spin = _rotation(np.array([0.0, 0.0, 1.0]), math.radians(rotation))
    pts = tilted @ spin.T
    distance, focal = 2.2, 2.4  # a normal lens at about 2 card heights
    xy = focal * pts[:, :2] / (distance + pts[:, 2:3])
    area = 0.5 * abs(
        sum(xy[i, 0] * xy[(i + 1) % 4, 1] - xy[(i + 1) % 4, 0] * xy[i, 1] for i in range(4))
    )
    w, h = FRAME
    xy *= math.sqrt(coverage * w * h / area)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = hi - lo
    room = np.array([w, h], float) - span
    if (room < 0).any():  # too big to fit at this angle: shrink to fit with a margin
        xy *= 0.98 * min(w / span[0], h / span[1])
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        room = np.maximum(np.array([w, h], float) - (hi - lo), 0)
    offset = np.array([rng.uniform(0, room[0]), rng.uniform(0, room[1])]) - lo
    return np.asarray(xy + offset, np.float64)


def _shade(rng: np.random.Generator, quad: npt.NDArray[np.float64]) -> F32:
    """Light over the frame: a gradient in a random direction, sometimes a soft cast shadow."""
    w, h = FRAME
    xs, ys = np.meshgrid(np.linspace(-1, 1, w // 8), np.linspace(-1, 1, h // 8))
    a = float(rng.uniform(0, 2 * math.pi))
    ramp = (xs * math.cos(a) + ys * math.sin(a) + 1.5) / 3.0
    dark = float(rng.uniform(0.45, 0.85))
    light = (dark + (1 - dark) * ramp).astype(np.float32)
    if rng.random() < 0.5:  # the photographer's shadow over part of the card
        centre = quad[int(rng.integers(4))] / 8.0
        blob = np.zeros_like(light)
        axes = (int(rng.uniform(80, 220)), int(rng.uniform(60, 160)))
        cv2.ellipse(
            blob,
            (int(centre[0]), int(centre[1])),
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            1.0,
            -1,
        )
        soft = np.asarray(cv2.GaussianBlur(blob, (0, 0), float(rng.uniform(15, 40))), np.float32)
        light *= 1.0 - float(rng.uniform(0.25, 0.5)) * soft
    return np.asarray(cv2.resize(light, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def photograph(seed: int, index: int) -> tuple[bytes, CardPlan]:
    """Photograph ``index`` of set ``seed``: the JPEG bytes and what it shows."""
    p = plan(seed, index)
    rng = np.random.default_rng([seed, index, 2])
    p.tilt_deg = round(float(rng.uniform(0, 25)), 2)
    p.rotation_deg = round(float(rng.uniform(-8, 8)), 2)
    p.coverage = round(float(rng.uniform(0.2, 0.6)), 3)
    aspect = (
        float(rng.uniform(1.35, 1.75)) if p.layout != "stacked" else float(rng.uniform(1.0, 1.3))
    )
    quad = card_quad(aspect, p.tilt_deg, p.rotation_deg, p.coverage, rng)
    p.quad = [[round(float(x), 1), round(float(y), 1)] for x, y in quad]
    top = float(np.linalg.norm(quad[1] - quad[0]))
    side = float(np.linalg.norm(quad[3] - quad[0]))
    cw = int(max(top, float(np.linalg.norm(quad[2] - quad[3]))))
    ch = int(max(cw / aspect, side))
    card = render_card(p, cw, ch, rng)
    p.background = str(rng.choice(BACKGROUNDS))
    frame = background(p.background, rng).astype(np.float32)
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    rgba = np.asarray(card, np.uint8)
    size = FRAME
    warped = cv2.warpPerspective(rgba[:, :, :3], m, size, flags=cv2.INTER_AREA)
    alpha = cv2.warpPerspective(rgba[:, :, 3], m, size, flags=cv2.INTER_LINEAR)
    alpha_f = alpha.astype(np.float32)[..., None] / 255.0
    shift = np.array([[1, 0, rng.uniform(5, 25)], [0, 1, rng.uniform(5, 25)]], np.float32)
    drop = cv2.GaussianBlur(cv2.warpAffine(alpha, shift, size), (0, 0), 12).astype(np.float32)
    frame *= 1.0 - 0.45 * (drop[..., None] / 255.0)
    frame = frame * (1 - alpha_f) + warped.astype(np.float32) * alpha_f
    frame *= _shade(rng, quad)[..., None]
    frame *= rng.uniform(0.9, 1.1, 3).astype(np.float32)[None, None, :]  # white balance
    out = np.clip(frame, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        length = int(rng.integers(5, 16))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        rot = cv2.getRotationMatrix2D(
            (length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 180)), 1
        )
        kernel = np.asarray(cv2.warpAffine(kernel, rot, (length, length)), np.float32)
        kernel /= max(float(kernel.sum()), 1e-6)
        out = np.asarray(cv2.filter2D(out, -1, kernel), np.uint8)
        p.blur = f"motion {length}px"
    else:
        sigma = float(rng.uniform(0.0, 3.0))
        if sigma > 0.3:
            out = np.asarray(cv2.GaussianBlur(out, (0, 0), sigma), np.uint8)
        p.blur = f"focus sigma {sigma:.1f}px"
    noise = rng.normal(0, float(rng.uniform(1.5, 5.0)), out.shape).astype(np.float32)
    out = np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    p.jpeg_quality = int(rng.integers(70, 91))
    buf = io.BytesIO()
    Image.fromarray(out).save(buf, "JPEG", quality=p.jpeg_quality)
    data = buf.getvalue()
    p.sha256 = hashlib.sha256(data).hexdigest()
    return data, p


def generate(out: Path, n: int, seed: int, log: Any = None) -> list[CardPlan]:
    """Write ``n`` photographs and ``truth.json`` under ``out`` (reused when already there)."""
    truth_path = out / "truth.json"
    if truth_path.exists():
        data = json.loads(truth_path.read_text(encoding="utf-8"))
        if data.get("generator") == GENERATOR and data["seed"] == seed and data["n"] == n:
            return [CardPlan(**c) for c in data["cards"]]
    (out / "photos").mkdir(parents=True, exist_ok=True)
    cards = []
    for i in range(n):
        data_bytes, card = photograph(seed, i)
        (out / card.photo).write_bytes(data_bytes)
        cards.append(card)
        if log is not None and (i + 1) % 10 == 0:
            log(f"  generated {i + 1}/{n} photographs")
    doc = {
        "generator": GENERATOR,
        "seed": seed,
        "n": n,
        "fonts": {
            "tuning": [f.name for f in fonts() if not f.held_out],
            "held-out": [f.name for f in fonts() if f.held_out],
        },
        "cards": [asdict(c) for c in cards],
    }
    truth_path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return cards
