"""Find the card (or any sheet of paper) in a photograph and turn it upright before reading.

A card photographed on a table is a bright, nearly uniform quadrilateral on a textured ground,
seen at an angle and turned a little. :func:`find_card` looks for it on a copy reduced to
:data:`DETECT_SIDE` pixels: the ground and the paper are told apart by brightness (Otsu's
threshold, after flattening the light across the frame) and by edges (Canny, closed); each
large outer contour whose convex hull is nearly a quadrilateral is a candidate, and the
largest one that fills its quadrilateral wins. :func:`rectify` then cuts the card out along
that quadrilateral (perspective and rotation undone in one ``warpPerspective``) at the
resolution it has in the image, and evens out its lighting (each channel divided by its
paper, estimated by removing the ink and blurring).

:class:`Rectified` keeps the homography, so a region found on the upright card maps back to
the pixels of the image passed in — claims keep their region in the original's coordinates.
When no card is found, the image is returned unchanged, with the identity mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = [
    "DETECT_SIDE",
    "Rectified",
    "find_card",
    "normalise_lighting",
    "rectify",
    "unchanged",
]

DETECT_SIDE = 800  # the card is looked for on a copy reduced to this longest side
MIN_AREA = 0.04  # a card covers at least this share of the frame ...
MAX_AREA = 0.97  # ... and less than this (a card filling the frame needs no rectifying)
MIN_FILL = 0.9  # a candidate's region and its quadrilateral overlap this much (IoU)
MAX_SIDE = 3000  # the upright card is at most this many pixels on its longer side

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]
Quad = npt.NDArray[np.float64]  # 4 x 2: top-left, top-right, bottom-right, bottom-left


@dataclass(frozen=True, slots=True)
class Rectified:
    """An upright card cut out of an image, and the way back to the image's pixels.

    ``image`` is the card (the whole image, unchanged, when ``quad`` is None); ``to_original``
    the 3 x 3 homography from ``image``'s pixels to the original's; ``quad`` the card's
    corners in the original (top-left, top-right, bottom-right, bottom-left) or None;
    ``size`` the original's (width, height).
    """

    image: Image.Image
    to_original: F64
    quad: Quad | None
    size: tuple[int, int]

    @property
    def found(self) -> bool:
        return self.quad is not None

    def points_to_original(self, points: npt.ArrayLike) -> F64:
        """``points`` (N x 2, in ``image``'s pixels) in the original's pixels."""
        pts = np.asarray(points, np.float64).reshape(-1, 1, 2)
        if self.quad is None:
            return pts.reshape(-1, 2)
        return np.asarray(cv2.perspectiveTransform(pts, self.to_original), np.float64).reshape(
            -1, 2
        )

    def box_to_original(self, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        """The smallest box (x0, y0, x1, y1) of the original holding the region ``box`` of
        ``image`` (its four corners mapped back), clipped to the original."""
        x0, y0, x1, y1 = box
        pts = self.points_to_original([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        w, h = self.size
        lo = np.floor(pts.min(axis=0))
        hi = np.ceil(pts.max(axis=0))
        return (
            int(np.clip(lo[0], 0, w)),
            int(np.clip(lo[1], 0, h)),
            int(np.clip(hi[0], 0, w)),
            int(np.clip(hi[1], 0, h)),
        )


def _order(quad: F64) -> Quad:
    """Corners as top-left, top-right, bottom-right, bottom-left: clockwise from the corner
    nearest the image's top-left (right for a card turned less than 45 degrees)."""
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    ring = quad[np.argsort(angles)]  # clockwise on screen (y grows downwards)
    start = int(np.argmin(ring[:, 0] + ring[:, 1]))
    return np.asarray(np.roll(ring, -start, axis=0), np.float64)


def _quad_of(contour: npt.NDArray[np.int32]) -> F64 | None:
    """The quadrilateral a contour's convex hull simplifies to, if it does."""
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.045, 0.06):
        approx = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(approx) == 4:
            return np.asarray(approx.reshape(4, 2), np.float64)
        if len(approx) < 4:
            return None
    return None


def _candidates(rgb: U8, gray: U8) -> list[U8]:
    """Binary images in which the card may be one white region: bright (as photographed, and
    with the light flattened), unsaturated (paper is nearly grey), smooth (paper has no
    texture but its writing) and enclosed by edges."""
    h, w = gray.shape
    # flatten the light across the frame (a shadow gradient must not split the card)
    tiny = cv2.resize(gray, (max(4, w // 16), max(4, h // 16)), interpolation=cv2.INTER_AREA)
    tiny = cv2.GaussianBlur(tiny, (0, 0), max(2.0, min(tiny.shape) / 6))
    light = cv2.resize(tiny, (w, h), interpolation=cv2.INTER_LINEAR)
    ratio = gray.astype(np.float32) / (light.astype(np.float32) + 1.0)
    lo, hi = float(ratio.min()), float(ratio.max())
    flat = np.asarray((ratio - lo) * (255.0 / max(hi - lo, 1e-6)), np.float32).astype(np.uint8)
    saturation = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[:, :, 1], np.uint8)
    masks: list[U8] = []
    # both sides of Otsu's threshold: the paper may be lighter or darker than the ground,
    # greyer or more coloured
    for src in (gray, flat, saturation):
        smooth = cv2.GaussianBlur(src, (0, 0), 2.0)
        _, bright = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        masks += [np.asarray(bright, np.uint8), np.asarray(255 - bright, np.uint8)]
    detail = np.abs(cv2.Laplacian(cv2.GaussianBlur(gray, (0, 0), 1.0), cv2.CV_32F))
    texture = cv2.blur(detail, (9, 9))
    texture = np.asarray(np.clip(texture * (255.0 / max(float(texture.max()), 1e-6)), 0, 255))
    _, calm = cv2.threshold(
        texture.astype(np.uint8), 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU
    )
    # the writing on the card is texture too: close over it
    calm = cv2.morphologyEx(calm, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    masks.append(np.asarray(calm, np.uint8))
    edges = cv2.Canny(cv2.GaussianBlur(gray, (0, 0), 1.5), 30, 90)
    closed = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    filled = np.zeros_like(closed)
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    masks.append(np.asarray(filled, np.uint8))
    # opened at growing sizes: a bright patch of the ground touching the card comes loose
    return [
        np.asarray(cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((k, k), np.uint8)), np.uint8)
        for m in masks
        for k in (5, 15, 31)
    ]


def _edge_support(edges: U8, quad: F64) -> float:
    """The share of points along the quadrilateral's sides that lie on an edge of the image
    (a side drawn across the ground, not along the card's border, has little)."""
    shares = []
    for a, b in zip(quad, np.roll(quad, -1, axis=0), strict=True):
        t = np.linspace(0.1, 0.9, 40)[:, None]
        pts = np.round(a + (b - a) * t).astype(int)
        ys = np.clip(pts[:, 1], 0, edges.shape[0] - 1)
        xs = np.clip(pts[:, 0], 0, edges.shape[1] - 1)
        shares.append(float(np.count_nonzero(edges[ys, xs])) / len(pts))
    return min(shares)


def find_card(rgb: U8) -> Quad | None:
    """The corners of the card in ``rgb`` (H x W x 3), in its pixels, ordered top-left,
    top-right, bottom-right, bottom-left; None when no clear quadrilateral is found."""
    height, width = rgb.shape[:2]
    scale = min(1.0, DETECT_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), np.uint8)
    gray = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), np.uint8)
    frame = float(gray.shape[0] * gray.shape[1])
    edges = np.asarray(
        cv2.dilate(
            cv2.Canny(cv2.GaussianBlur(gray, (0, 0), 1.5), 30, 90), np.ones((5, 5), np.uint8)
        ),
        np.uint8,
    )
    best: tuple[float, F64] | None = None
    for mask in _candidates(small, gray):
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for found in contours:
            contour = np.asarray(found, np.int32)
            area = float(cv2.contourArea(contour))
            if not MIN_AREA * frame <= area <= MAX_AREA * frame:
                continue
            quad = _quad_of(contour)
            if quad is None or not cv2.isContourConvex(quad.astype(np.float32)):
                continue
            fit = _overlap(contour, quad, gray.shape)
            if fit < MIN_FILL or _touches_border(quad, gray.shape[1], gray.shape[0]):
                continue
            support = _edge_support(edges, quad)
            score = float(cv2.contourArea(quad.astype(np.float32))) * fit**4 * support
            if best is None or score > best[0]:
                best = (score, quad)
    if best is None:
        return None
    return _order(best[1] / scale)


def _overlap(contour: npt.NDArray[np.int32], quad: F64, shape: tuple[int, ...]) -> float:
    """Intersection over union of a region and the quadrilateral standing for it."""
    a = np.zeros(shape[:2], np.uint8)
    b = np.zeros(shape[:2], np.uint8)
    cv2.drawContours(a, [contour], -1, 1, thickness=cv2.FILLED)
    cv2.fillConvexPoly(b, np.round(quad).astype(np.int32), 1)
    union = int(np.count_nonzero(a | b))
    return int(np.count_nonzero(a & b)) / union if union else 0.0


def _touches_border(quad: F64, width: int, height: int) -> bool:
    """A region running along the frame's edge is the ground seen between things, not a card
    lying wholly in view."""
    margin = 2.0
    near = (
        (quad[:, 0] <= margin)
        | (quad[:, 1] <= margin)
        | (quad[:, 0] >= width - 1 - margin)
        | (quad[:, 1] >= height - 1 - margin)
    )
    return int(near.sum()) >= 2


def normalise_lighting(rgb: U8) -> U8:
    """Even paper: each channel divided by its background (the ink removed by a max filter
    wider than a stroke, then a wide blur; both on a copy reduced four times, since the light
    changes slowly), so shadows and gradients leave white paper."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (max(4, w // 4), max(4, h // 4)), interpolation=cv2.INTER_AREA)
    side = min(small.shape[:2])
    k = max(3, (side // 25) | 1)
    paper = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    paper = cv2.GaussianBlur(paper, (0, 0), max(1.0, side / 30))
    paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    out = rgb.astype(np.float32) / (paper.astype(np.float32) + 1.0) * 245.0
    return np.asarray(np.clip(out, 0, 255), np.float32).astype(np.uint8)


def unchanged(image: Image.Image) -> Rectified:
    """``image`` as it is, with the identity mapping (no card found, or none looked for)."""
    return Rectified(image, np.eye(3), None, (image.width, image.height))


def rectify(image: Image.Image, *, lighting: bool = True) -> Rectified:
    """The card in ``image`` (upright: EXIF orientation already applied) cut out, upright, its
    lighting evened (``lighting``); the whole image unchanged when no card is found."""
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[:2]
    quad = find_card(rgb)
    if quad is None:
        return unchanged(image)
    top = float(np.linalg.norm(quad[1] - quad[0]))
    bottom = float(np.linalg.norm(quad[2] - quad[3]))
    left = float(np.linalg.norm(quad[3] - quad[0]))
    right = float(np.linalg.norm(quad[2] - quad[1]))
    out_w, out_h = max(top, bottom), max(left, right)
    shrink = min(1.0, MAX_SIDE / max(out_w, out_h))
    out_w, out_h = max(8, round(out_w * shrink)), max(8, round(out_h * shrink))
    target = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], np.float32)
    forward = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    card = cv2.warpPerspective(
        rgb, forward, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    upright = np.asarray(card, np.uint8)
    if lighting:
        upright = normalise_lighting(upright)
    back = np.asarray(np.linalg.inv(forward), np.float64)
    return Rectified(Image.fromarray(upright), back / back[2, 2], quad, (width, height))
