"""Finding the card in a photograph and turning it upright (dalil.ocr.rectify)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw

from dalil.ocr import read_numbers
from dalil.ocr.rectify import normalise_lighting, rectify

from .conftest import Cards

CARD = (900, 600)  # the flat card, width x height
FRAME = (1600, 1200)
SQUARE = (600, 380, 720, 500)  # a black square on the card: where a region must map back to


def _flat_card() -> Image.Image:
    """A card with shapes that only match when it is upright (not mirrored, not turned)."""
    w, h = CARD
    card = Image.new("RGB", CARD, (244, 240, 228))
    d = ImageDraw.Draw(card)
    d.rectangle((40, 40, 420, 110), fill=(30, 30, 40))  # a bar along the top left
    for i, y in enumerate((200, 290, 380)):
        d.rectangle((60, y, 60 + 90 * (i + 2), y + 40), fill=(40, 40, 160))
    d.rectangle(SQUARE, fill=(10, 10, 10))
    d.ellipse((680, 60, 820, 200), outline=(160, 30, 30), width=12)
    d.line((0, h - 60, w, h - 60), fill=(120, 120, 130), width=4)
    return card


def _ground(rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    w, h = FRAME
    small = rng.normal(0, 1, (h // 8, w // 8)).astype(np.float32)
    t = cv2.resize(cv2.GaussianBlur(small, (0, 0), 2), (w, h), interpolation=cv2.INTER_CUBIC)
    t = (t - t.min()) / (t.max() - t.min())
    grain = rng.normal(0, 8, (h, w)).astype(np.float32)
    rgb = np.stack([70 + 60 * t, 50 + 40 * t, 30 + 30 * t], axis=2) + grain[..., None]
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _rotation(axis: tuple[float, float, float], degrees: float) -> npt.NDArray[np.float64]:
    return np.asarray(cv2.Rodrigues(np.array(axis, np.float64) * math.radians(degrees))[0])


def _photograph(tilt: float, turn: float) -> tuple[Image.Image, npt.NDArray[np.float64]]:
    """The card tilted ``tilt`` degrees away from the camera (about a diagonal axis) and turned
    ``turn`` degrees, on a textured ground; and the homography card -> photo."""
    w, h = CARD
    corners = np.array(
        [[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]]
    )
    axis = np.array([1.0, 0.6, 0.0]) / np.linalg.norm([1.0, 0.6])
    pts = corners @ _rotation(tuple(axis), tilt).T @ _rotation((0, 0, 1), turn).T
    focal, distance = 1500.0, 1400.0
    xy = focal * pts[:, :2] / (distance + pts[:, 2:3]) + np.array(FRAME) / 2
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(src, xy.astype(np.float32))
    rng = np.random.default_rng(3)
    frame = _ground(rng).astype(np.float32)
    card = cv2.warpPerspective(np.asarray(_flat_card()), m, FRAME, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(np.full((h, w), 1.0, np.float32), m, FRAME)[..., None]
    ramp = np.linspace(0.65, 1.0, FRAME[0], dtype=np.float32)[None, :, None]  # a shadow
    photo = (frame * (1 - alpha) + card * alpha) * ramp
    return Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)), m.astype(np.float64)


def _correlation(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    x = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64).ravel()
    y = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64).ravel()
    return float(np.corrcoef(x, y)[0, 1])


@pytest.mark.parametrize(("tilt", "turn"), [(25.0, 8.0), (25.0, -8.0), (10.0, 3.0)])
def test_a_tilted_turned_card_comes_back_upright(tilt: float, turn: float) -> None:
    photo, m = _photograph(tilt, turn)
    card = rectify(photo)
    assert card.found and card.quad is not None
    w, h = CARD
    truth = cv2.perspectiveTransform(
        np.array([[[0, 0], [w, 0], [w, h], [0, h]]], np.float64), m
    ).reshape(4, 2)
    diagonal = float(np.linalg.norm(truth[2] - truth[0]))
    assert np.linalg.norm(card.quad - truth, axis=1).max() < 0.02 * diagonal
    upright = np.asarray(card.image.convert("RGB").resize(CARD, Image.Resampling.BILINEAR))
    flat = normalise_lighting(np.asarray(_flat_card()))
    assert _correlation(upright, flat) > 0.9
    # turned the other way, or left as photographed, it would not match
    assert _correlation(np.ascontiguousarray(upright[::-1, ::-1]), flat) < 0.5
    x0, y0 = truth.min(axis=0)
    x1, y1 = truth.max(axis=0)
    around = photo.crop((int(x0), int(y0), int(x1), int(y1))).resize(CARD)
    assert _correlation(np.asarray(around), flat) < 0.5
    assert card.image.width > card.image.height  # landscape, as the card is


def test_a_region_on_the_upright_card_maps_back_to_the_photograph() -> None:
    photo, m = _photograph(25.0, 8.0)
    card = rectify(photo)
    sx, sy = card.image.width / CARD[0], card.image.height / CARD[1]
    x0, y0, x1, y1 = SQUARE
    box = card.box_to_original((x0 * sx, y0 * sy, x1 * sx, y1 * sy))
    where = cv2.perspectiveTransform(
        np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float64), m
    ).reshape(4, 2)
    truth = (*where.min(axis=0), *where.max(axis=0))
    ix = max(0.0, min(box[2], truth[2]) - max(box[0], truth[0]))
    iy = max(0.0, min(box[3], truth[3]) - max(box[1], truth[1]))
    union = (box[2] - box[0]) * (box[3] - box[1]) + (truth[2] - truth[0]) * (truth[3] - truth[1])
    assert ix * iy / (union - ix * iy) > 0.85
    # and the photograph is dark there: the square is found where it is
    gray = np.asarray(photo.convert("L"))
    assert gray[box[1] : box[3], box[0] : box[2]].mean() < 80


def test_a_photograph_without_a_card_is_left_as_it_is() -> None:
    photo = Image.fromarray(_ground(np.random.default_rng(5)))
    card = rectify(photo)
    assert not card.found and card.image is photo
    assert card.box_to_original((10, 20, 30, 40)) == (10, 20, 30, 40)
    assert card.box_to_original((-5, 0, 5000, 50)) == (0, 0, FRAME[0], 50)


def test_readings_on_the_upright_card_keep_their_place_in_the_photo(cards: Cards) -> None:
    card, _, image = cards.photo("C004")
    straight = {r.value: r.box for r in read_numbers(image, find_card=False)}
    found = {r.value: r.box for r in read_numbers(image, find_card=True)}
    assert card.detainee in straight and card.detainee in found
    for value in {card.detainee, card.branch, card.report} & straight.keys() & found.keys():
        a, b = straight[value], found[value]
        ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
        iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
        assert ix * iy / union > 0.6, (value, a, b)


def test_a_small_card_in_a_large_frame_is_read_in_its_region(cards: Cards) -> None:
    """Text is looked for only around the card found (at a higher resolution than the whole
    frame would get in the same time); boxes still come back in the frame's pixels."""
    from dalil.ocr.reader import _card_region

    card, _, image = cards.photo("C004")
    rng = np.random.default_rng(5)
    frame = np.asarray(
        Image.fromarray(_ground(rng)).resize((2400, 1800), Image.Resampling.BILINEAR)
    ).copy()
    small = np.asarray(image.convert("RGB").resize((image.width * 2 // 3, image.height * 2 // 3)))
    x0, y0 = 700, 500
    frame[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    region = _card_region(frame)
    assert region is not None
    rx0, ry0, rx1, ry1 = region  # the card inside the pasted photograph (of a card on a table)
    assert x0 <= rx0 < rx1 <= x0 + small.shape[1] and y0 <= ry0 < ry1 <= y0 + small.shape[0]
    assert (rx1 - rx0) * (ry1 - ry0) < 0.25 * frame.shape[0] * frame.shape[1]
    readings = {r.value: r.box for r in read_numbers(Image.fromarray(frame))}
    assert {card.detainee, card.branch, card.report} <= readings.keys(), readings
    bx0, by0, bx1, by1 = readings[card.detainee]
    assert rx0 <= bx0 < bx1 <= rx1 and ry0 <= by0 < by1 <= ry1
