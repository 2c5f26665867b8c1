"""Segmentation of a line into digit components, on renderings of a font the classifier
was not trained on, with the defects photos have: a slanted rule through the digits, a
stroke broken in two, and the edge of the card in a corner of the crop."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont

from dalil.ocr.digits import ARABIC_INDIC, binarise, components, read_line
from dalil.ocr.reader import _is_words

FONT = Path("/usr/share/fonts/truetype/kacst-one/KacstOne.ttf")  # held out of training


def _line(text: str) -> tuple[npt.NDArray[np.uint8], ImageDraw.ImageDraw, Image.Image]:
    if not FONT.is_file():
        pytest.skip("the held-out font (fonts-kacst-one) is not installed")
    image = Image.new("L", (60 + 48 * len(text), 96), 225)
    draw = ImageDraw.Draw(image)
    draw.text((30, 10), text, font=ImageFont.truetype(str(FONT), 60), fill=40)
    return np.asarray(image, np.uint8), draw, image


def test_a_slanted_rule_through_the_digits_is_removed() -> None:
    _, draw, image = _line("٢١٥٣")
    draw.line([(0, 70), (image.width, 78)], fill=60, width=3)  # touches the digits' feet
    gray = np.asarray(image, np.uint8)
    assert len(components(binarise(gray))) == 4
    found = read_line(gray)
    assert found is not None and found.written == "٢١٥٣"


def test_a_broken_stroke_stays_one_glyph_and_a_card_edge_is_no_digit() -> None:
    gray, _, _ = _line("١٨٤")
    gray = gray.copy()
    ink = binarise(gray)
    first = components(ink)[0]
    cut = (first.y0 + first.y1) // 2
    gray[cut : cut + 3, first.x0 : first.x1] = 225  # break the first digit in two
    gray[:60, -4:] = 50  # the card's edge in the top right corner
    parts = components(binarise(np.asarray(cv2.GaussianBlur(gray, (3, 3), 0), np.uint8)))
    assert len(parts) == 3
    found = read_line(gray)
    assert found is not None and found.written == "١٨٤"


def test_latin_lookalikes_of_arabic_indic_digits_are_not_words() -> None:
    assert not _is_words("rlor", 0.96)  # ٢١٥٣ as PP-OCR reads it
    assert _is_words("DET", 0.99)
    assert _is_words("IDENTIFICATION CARD", 0.99)
    assert not _is_words("DET", 0.5)
    assert set(ARABIC_INDIC) == set("٠١٢٣٤٥٦٧٨٩")
