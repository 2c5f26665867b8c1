"""A tiny stroke "font" that imitates handwriting (and, in a pinch, printing).

Every glyph is a list of polylines in a unit box: ``x`` runs from 0 (left) to 1 (right)
and is later scaled by the glyph's width ratio, ``y`` runs from 0 (cap height) to 1
(baseline).  :func:`draw_text` renders a string with Pillow's :class:`ImageDraw.ImageDraw`
line primitive.  In the ``"handwritten"`` style every glyph gets its own random warp,
jittered control points, rotation, baseline wobble, slant and stroke width; in the
``"printed"`` style glyphs are drawn exactly, evenly spaced, with a uniform stroke.

Supported characters (:data:`SUPPORTED`): Western digits ``0-9``, Arabic-Indic digits
U+0660..U+0669, the Latin capitals ``A-H I K-P R-W Y``, space and ``/ - . : #``.
No system font is used, nothing is downloaded, and the output is a pure function of the
text, the geometry and the state of the random generator passed in.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    "ARABIC_INDIC_DIGITS",
    "GLYPHS",
    "SUPPORTED",
    "WESTERN_DIGITS",
    "Glyph",
    "Rng",
    "Style",
    "draw_text",
    "render_specimen",
    "text_width",
    "to_arabic_indic",
]

Point = tuple[float, float]
Stroke = tuple[Point, ...]
Style = Literal["handwritten", "printed"]
Rng = random.Random | np.random.Generator
Fill = int | tuple[int, ...] | str

WESTERN_DIGITS = "0123456789"
ARABIC_INDIC_DIGITS = "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
_TO_ARABIC = str.maketrans(WESTERN_DIGITS, ARABIC_INDIC_DIGITS)


def to_arabic_indic(text: str) -> str:
    """Replace Western digits by Arabic-Indic digits (``"2315"`` -> ``"٢٣١٥"``)."""
    return text.translate(_TO_ARABIC)


@dataclass(frozen=True)
class Glyph:
    """One character: polylines in the unit box and the advance width (x height)."""

    strokes: tuple[Stroke, ...]
    width: float


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 12) -> Stroke:
    """Points on an elliptical arc; angles in degrees, y points down, so increasing
    angles run clockwise on screen (0 = right, 90 = bottom, 180 = left, 270 = top)."""
    pts: list[Point] = []
    for i in range(n + 1):
        t = math.radians(a0 + (a1 - a0) * i / n)
        pts.append((cx + rx * math.cos(t), cy + ry * math.sin(t)))
    return tuple(pts)


def _s(*pts: Point) -> Stroke:
    return tuple(pts)


def _cat(*parts: Stroke) -> Stroke:
    """Join polylines into one stroke, dropping a repeated joint point."""
    out: list[Point] = []
    for part in parts:
        for p in part:
            if out and math.dist(out[-1], p) < 1e-9:
                continue
            out.append(p)
    return tuple(out)


def _g(width: float, *strokes: Stroke) -> Glyph:
    return Glyph(strokes=tuple(strokes), width=width)


_DIGITS_WESTERN: dict[str, Glyph] = {
    "0": _g(0.62, _arc(0.5, 0.5, 0.46, 0.5, 250, 625, 26)),
    "1": _g(0.42, _s((0.15, 0.24), (0.62, 0.0), (0.62, 1.0))),
    "2": _g(
        0.6,
        _cat(_arc(0.5, 0.29, 0.42, 0.29, 195, 385, 12), _s((0.05, 1.0), (0.95, 1.0))),
    ),
    "3": _g(
        0.58,
        _cat(
            _arc(0.48, 0.26, 0.4, 0.26, 200, 450, 12),
            _arc(0.48, 0.76, 0.46, 0.25, -90, 160, 12),
        ),
    ),
    "4": _g(
        0.64,
        _s((0.58, 0.0), (0.06, 0.66), (0.96, 0.66)),
        _s((0.72, 0.22), (0.72, 1.0)),
    ),
    "5": _g(
        0.6,
        _cat(_s((0.22, 0.0), (0.17, 0.46)), _arc(0.5, 0.7, 0.42, 0.3, 232, 515, 13)),
        _s((0.22, 0.0), (0.88, 0.0)),
    ),
    "6": _g(
        0.6,
        _cat(
            _arc(0.58, 0.64, 0.46, 0.62, -62, -180, 8),
            _arc(0.52, 0.73, 0.42, 0.27, 180, -165, 14),
        ),
    ),
    "7": _g(0.6, _s((0.04, 0.0), (0.96, 0.0), (0.36, 1.0))),
    "8": _g(
        0.6,
        _cat(
            _arc(0.5, 0.25, 0.34, 0.25, 90, -270, 14),
            _arc(0.5, 0.75, 0.44, 0.25, -90, 270, 16),
        ),
    ),
    "9": _g(
        0.6,
        _cat(_arc(0.46, 0.29, 0.4, 0.29, 0, -360, 16), _s((0.86, 0.29), (0.8, 0.7), (0.64, 1.0))),
    ),
}

_DIGITS_ARABIC: dict[str, Glyph] = {
    # sifr: a small diamond / dot sitting in the middle of the line
    "\u0660": _g(0.4, _s((0.5, 0.46), (0.64, 0.58), (0.5, 0.7), (0.36, 0.58), (0.5, 0.46))),
    # wahid: a single, slightly curved vertical stroke
    "\u0661": _g(0.34, _s((0.38, 0.0), (0.5, 0.3), (0.55, 1.0))),
    # ithnan: stem with a cup opening upwards at the top right
    "\u0662": _g(
        0.56,
        _s((0.16, 0.02), (0.27, 0.18), (0.5, 0.24), (0.74, 0.16), (0.86, 0.0)),
        _s((0.27, 0.18), (0.33, 0.6), (0.37, 1.0)),
    ),
    # thalatha: stem with two teeth at the top
    "\u0663": _g(
        0.64,
        _s(
            (0.1, 0.02),
            (0.2, 0.18),
            (0.36, 0.22),
            (0.47, 0.07),
            (0.56, 0.2),
            (0.74, 0.18),
            (0.9, 0.0),
        ),
        _s((0.2, 0.18), (0.27, 0.6), (0.31, 1.0)),
    ),
    # arba'a: a backwards "3" (epsilon-like) with a tail to the right
    "\u0664": _g(
        0.52,
        _s(
            (0.8, 0.03),
            (0.5, 0.0),
            (0.3, 0.1),
            (0.32, 0.28),
            (0.62, 0.4),
            (0.34, 0.5),
            (0.22, 0.68),
            (0.34, 0.88),
            (0.62, 0.97),
            (0.9, 0.9),
        ),
    ),
    # khamsa: a round loop in the lower two thirds
    "\u0665": _g(0.56, _arc(0.5, 0.64, 0.36, 0.34, -80, 285, 18)),
    # sitta: a short top bar from the left, then straight down on the right
    "\u0666": _g(0.5, _s((0.12, 0.16), (0.26, 0.03), (0.5, 0.04), (0.72, 0.1), (0.74, 1.0))),
    # sab'a: V
    "\u0667": _g(0.62, _s((0.06, 0.0), (0.32, 0.55), (0.5, 1.0), (0.68, 0.55), (0.94, 0.0))),
    # thamaniya: inverted V
    "\u0668": _g(0.62, _s((0.06, 1.0), (0.32, 0.45), (0.5, 0.0), (0.68, 0.45), (0.94, 1.0))),
    # tis'a: a small loop at the top left and a straight stem
    "\u0669": _g(
        0.5,
        _cat(_arc(0.44, 0.25, 0.34, 0.23, 0, -360, 16), _s((0.78, 0.25), (0.8, 0.6), (0.78, 1.0))),
    ),
}

_LETTERS: dict[str, Glyph] = {
    "A": _g(0.66, _s((0.04, 1.0), (0.5, 0.0), (0.96, 1.0)), _s((0.24, 0.62), (0.76, 0.62))),
    "B": _g(
        0.58,
        _s((0.12, 0.0), (0.12, 1.0)),
        _cat(
            _s((0.12, 0.0), (0.5, 0.0)),
            _arc(0.5, 0.24, 0.36, 0.24, -90, 90, 10),
            _s((0.12, 0.48), (0.54, 0.48)),
            _arc(0.54, 0.74, 0.4, 0.26, -90, 90, 10),
            _s(
                (0.12, 1.0),
            ),
        ),
    ),
    "C": _g(0.6, _arc(0.55, 0.5, 0.47, 0.5, -45, -315, 18)),
    "D": _g(
        0.64,
        _s((0.12, 0.0), (0.12, 1.0)),
        _cat(
            _s((0.12, 0.0), (0.46, 0.0)),
            _arc(0.46, 0.5, 0.46, 0.5, -90, 90, 14),
            _s(
                (0.12, 1.0),
            ),
        ),
    ),
    "E": _g(
        0.54, _s((0.88, 0.0), (0.12, 0.0), (0.12, 1.0), (0.88, 1.0)), _s((0.12, 0.5), (0.7, 0.5))
    ),
    "F": _g(0.52, _s((0.88, 0.0), (0.12, 0.0), (0.12, 1.0)), _s((0.12, 0.5), (0.7, 0.5))),
    "G": _g(
        0.64,
        _cat(_arc(0.52, 0.5, 0.46, 0.5, -45, -335, 18), _s((0.94, 0.56), (0.6, 0.56))),
    ),
    "H": _g(
        0.64, _s((0.1, 0.0), (0.1, 1.0)), _s((0.9, 0.0), (0.9, 1.0)), _s((0.1, 0.5), (0.9, 0.5))
    ),
    "I": _g(0.24, _s((0.5, 0.0), (0.5, 1.0))),
    "K": _g(
        0.6,
        _s((0.12, 0.0), (0.12, 1.0)),
        _s((0.88, 0.0), (0.12, 0.62)),
        _s((0.36, 0.44), (0.92, 1.0)),
    ),
    "L": _g(0.5, _s((0.12, 0.0), (0.12, 1.0), (0.88, 1.0))),
    "M": _g(0.76, _s((0.07, 1.0), (0.12, 0.0), (0.5, 0.66), (0.88, 0.0), (0.93, 1.0))),
    "N": _g(0.64, _s((0.1, 1.0), (0.1, 0.0), (0.9, 1.0), (0.9, 0.0))),
    "O": _g(0.7, _arc(0.5, 0.5, 0.46, 0.5, -90, 275, 26)),
    "P": _g(
        0.56,
        _cat(
            _s((0.12, 1.0), (0.12, 0.0), (0.5, 0.0)),
            _arc(0.5, 0.26, 0.38, 0.26, -90, 90, 10),
            _s(
                (0.12, 0.52),
            ),
        ),
    ),
    "R": _g(
        0.58,
        _cat(
            _s((0.12, 1.0), (0.12, 0.0), (0.5, 0.0)),
            _arc(0.5, 0.26, 0.38, 0.26, -90, 90, 10),
            _s(
                (0.12, 0.52),
            ),
        ),
        _s((0.44, 0.52), (0.9, 1.0)),
    ),
    "S": _g(
        0.56,
        _cat(_arc(0.5, 0.26, 0.38, 0.26, -25, -262, 12), _arc(0.5, 0.75, 0.42, 0.25, -90, 160, 12)),
    ),
    "T": _g(0.6, _s((0.04, 0.0), (0.96, 0.0)), _s((0.5, 0.0), (0.5, 1.0))),
    "U": _g(
        0.62,
        _cat(
            _s((0.1, 0.0), (0.1, 0.64)),
            _arc(0.5, 0.64, 0.4, 0.36, 180, 0, 12),
            _s(
                (0.9, 0.0),
            ),
        ),
    ),
    "V": _g(0.64, _s((0.04, 0.0), (0.5, 1.0), (0.96, 0.0))),
    "W": _g(0.86, _s((0.02, 0.0), (0.25, 1.0), (0.5, 0.34), (0.75, 1.0), (0.98, 0.0))),
    "Y": _g(0.62, _s((0.04, 0.0), (0.5, 0.52)), _s((0.96, 0.0), (0.5, 0.52), (0.5, 1.0))),
}

_SYMBOLS: dict[str, Glyph] = {
    " ": _g(0.42),
    "/": _g(0.42, _s((0.85, 0.0), (0.15, 1.0))),
    "-": _g(0.46, _s((0.12, 0.56), (0.88, 0.56))),
    ".": _g(0.26, _s((0.42, 0.94), (0.58, 0.98))),
    ":": _g(0.26, _s((0.42, 0.36), (0.58, 0.4)), _s((0.42, 0.94), (0.58, 0.98))),
    "#": _g(
        0.62,
        _s((0.38, 0.05), (0.26, 0.95)),
        _s((0.76, 0.05), (0.64, 0.95)),
        _s((0.08, 0.34), (0.94, 0.34)),
        _s((0.04, 0.68), (0.9, 0.68)),
    ),
}

GLYPHS: dict[str, Glyph] = {**_DIGITS_WESTERN, **_DIGITS_ARABIC, **_LETTERS, **_SYMBOLS}
"""Every glyph the stroke font knows, keyed by character."""

SUPPORTED: frozenset[str] = frozenset(GLYPHS)
"""The characters :func:`draw_text` can render."""


class _Rand:
    """Uniform / normal draws from either a ``random.Random`` or a numpy Generator."""

    def __init__(self, rng: Rng) -> None:
        self._rng = rng

    def uniform(self, lo: float, hi: float) -> float:
        if isinstance(self._rng, random.Random):
            return self._rng.uniform(lo, hi)
        return float(self._rng.uniform(lo, hi))

    def normal(self, mu: float, sigma: float) -> float:
        if isinstance(self._rng, random.Random):
            return self._rng.gauss(mu, sigma)
        return float(self._rng.normal(mu, sigma))


def _check(text: str) -> None:
    bad = sorted({c for c in text if c not in GLYPHS})
    if bad:
        raise ValueError(f"unsupported character(s) for the stroke font: {bad!r}")


_PRINTED_GAP = 0.16
_HAND_GAP = 0.15


def text_width(text: str, height: float, style: Style = "printed") -> float:
    """Nominal advance of ``text`` in pixels at cap height ``height`` (no jitter, no
    slant).  Handwritten text drawn by :func:`draw_text` is within roughly +-15 % of it."""
    _check(text)
    gap = _PRINTED_GAP if style == "printed" else _HAND_GAP
    if not text:
        return 0.0
    return height * (sum(GLYPHS[c].width for c in text) + gap * (len(text) - 1))


def _chaikin(pts: list[Point]) -> list[Point]:
    """One round of Chaikin corner cutting, keeping both end points."""
    if len(pts) < 3:
        return pts
    out: list[Point] = [pts[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        out.append((0.75 * x0 + 0.25 * x1, 0.75 * y0 + 0.25 * y1))
        out.append((0.25 * x0 + 0.75 * x1, 0.25 * y0 + 0.75 * y1))
    out.append(pts[-1])
    return out


def _stroke_line(
    draw: ImageDraw.ImageDraw,
    pts: Sequence[Point],
    widths: Sequence[float],
    fill: Fill,
) -> None:
    """A polyline with round joints and caps; ``widths[i]`` is the width at point i."""
    for i, (x, y) in enumerate(pts):
        r = max(0.5, widths[i] / 2.0)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
        if i:
            w = max(1, round((widths[i - 1] + widths[i]) / 2.0))
            draw.line([pts[i - 1], (x, y)], fill=fill, width=w)


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    height: float,
    rng: Rng,
    style: Style = "handwritten",
    *,
    fill: Fill = 255,
    weight: float = 1.0,
    slant: float | None = None,
) -> tuple[float, float, float, float]:
    """Draw ``text`` with its top-left corner (cap height, first glyph) at ``xy``.

    ``height`` is the cap height in pixels; ``weight`` scales the stroke width (1.0 is a
    ballpoint pen, ~1.6 a felt-tip marker); ``slant`` overrides the random slant of the
    handwritten style (a shear factor: 0.2 leans the tops 20 % of the height to the
    right).  ``rng`` may be a :class:`random.Random` or a :class:`numpy.random.Generator`;
    the drawing is a pure function of the arguments and the generator state.  Returns the
    bounding box ``(x0, y0, x1, y1)`` of the ink, stroke width included.
    """
    _check(text)
    r = _Rand(rng)
    x0, y0 = xy
    hand = style == "handwritten"
    if hand:
        h = height * r.uniform(0.95, 1.05)
        shear = r.normal(0.16, 0.06) if slant is None else slant
        base_w = h * r.uniform(0.075, 0.1) * weight
        wob_amp = h * r.uniform(0.01, 0.035)
        wob_len = h * r.uniform(2.5, 6.0)
        wob_phase = r.uniform(0.0, 2 * math.pi)
        tilt = r.normal(0.0, 0.015)
        gap = _HAND_GAP
    else:
        h = height
        shear = 0.0 if slant is None else slant
        base_w = h * 0.095 * weight
        wob_amp = wob_phase = tilt = 0.0
        wob_len = 1.0
        gap = _PRINTED_GAP

    bx0, by0, bx1, by1 = math.inf, math.inf, -math.inf, -math.inf
    cursor = 0.0
    for ch in text:
        glyph = GLYPHS[ch]
        gw = glyph.width * h
        if hand:
            sx = r.uniform(0.9, 1.1)
            sy = r.uniform(0.93, 1.05)
            rot = r.normal(0.0, 0.05)
            dy = r.normal(0.0, 0.025) * h
            a = [r.normal(0.0, 0.07) for _ in range(3)]
            b = [r.normal(0.0, 0.06) for _ in range(3)]
        else:
            sx = sy = 1.0
            rot = dy = 0.0
            a = b = [0.0, 0.0, 0.0]
        cos_r, sin_r = math.cos(rot), math.sin(rot)
        gx = x0 + cursor
        for stroke in glyph.strokes:
            pts: list[Point] = []
            if hand:
                tx, ty = r.normal(0.0, 0.018), r.normal(0.0, 0.018)
            else:
                tx = ty = 0.0
            for u, v in stroke:
                cu, cv = u - 0.5, v - 0.5
                if hand:
                    u = u + a[0] * cv + a[1] * cu * cv + a[2] * (cv * cv - 0.08) + tx
                    v = v + b[0] * cu + b[1] * cu * cv + b[2] * (cu * cu - 0.08) + ty
                    u += r.normal(0.0, 0.008)
                    v += r.normal(0.0, 0.008)
                pts.append((u, v))
            if hand:
                pts = _chaikin(pts)
            placed: list[Point] = []
            for u, v in pts:
                # glyph-local pixels relative to the glyph centre, scaled and rotated
                px = (u - 0.5) * gw * sx
                py = (v - 0.5) * h * sy
                px, py = px * cos_r - py * sin_r, px * sin_r + py * cos_r
                px += gx + gw / 2.0
                py += y0 + h / 2.0 + dy
                # slant about the baseline, then line tilt and baseline wobble
                py_base = y0 + h
                px += shear * (py_base - py)
                py += tilt * (px - x0)
                if hand:
                    py += wob_amp * math.sin(2 * math.pi * (px - x0) / wob_len + wob_phase)
                placed.append((px, py))
            if hand:
                sw = base_w * r.uniform(0.88, 1.12)
                widths = [sw * r.uniform(0.9, 1.1) for _ in placed]
            else:
                widths = [base_w] * len(placed)
            _stroke_line(draw, placed, widths, fill)
            half = max(widths) / 2.0 if widths else 0.0
            for px, py in placed:
                bx0, by0 = min(bx0, px - half), min(by0, py - half)
                bx1, by1 = max(bx1, px + half), max(by1, py + half)
        cursor += gw + gap * h + (r.normal(0.0, 0.03) * h if hand else 0.0)
    if bx0 is math.inf:
        return (x0, y0, x0 + cursor, y0 + h)
    return (bx0, by0, bx1, by1)


def render_specimen(seed: int = 0, height: int = 56) -> Image.Image:
    """A sample sheet: every supported character, printed, then several handwritten
    renditions of digits and labels (black ink on white), for eyeballing the font."""
    rng = random.Random(seed)
    lines: list[tuple[str, Style]] = [
        (WESTERN_DIGITS, "printed"),
        (ARABIC_INDIC_DIGITS, "printed"),
        ("ABCDEFGHIKLMNOPRSTUVWY /-.:#", "printed"),
        (WESTERN_DIGITS, "handwritten"),
        (WESTERN_DIGITS, "handwritten"),
        (ARABIC_INDIC_DIGITS, "handwritten"),
        (ARABIC_INDIC_DIGITS, "handwritten"),
        ("DET 27318   BR 227   REP 4051", "handwritten"),
        (to_arabic_indic("27318   227   4051"), "handwritten"),
        ("ABCDEFGHIKLMNOPRSTUVWY", "handwritten"),
    ]
    pad = height
    width = int(max(text_width(t, height, "printed") for t, _ in lines) * 1.2) + 2 * pad
    img = Image.new("L", (width, pad + len(lines) * int(height * 1.8) + pad), 255)
    draw = ImageDraw.Draw(img)
    for i, (text, style) in enumerate(lines):
        draw_text(draw, (pad, pad + i * height * 1.8), text, height, rng, style, fill=0)
    return img
