"""Second-stage near-duplicate check: local features and geometric verification.

PDQ hashes (the first stage) miss copies that were cropped, rotated or re-shot: the
same index card photographed a few times from slightly different angles has a large PDQ
distance.  This module verifies a short list of candidate pairs instead:

1. :func:`extract` computes ORB keypoints (OpenCV; no model to download) on a grayscale,
   contrast-normalised (CLAHE) working image whose longest side is :data:`WORK_SIDE`, and
   keeps a thumbnail of that image (reduced by :data:`THUMB_DIV`, 160 x 120 px).
2. :func:`match` pairs descriptors with Lowe's ratio test in both directions (mutual
   nearest neighbours only) and fits a homography with MAGSAC++ (RANSAC on OpenCV builds
   without it).  It then warps one thumbnail onto the other with that homography and
   measures the *agreement*: the fraction of textured 16 px cells whose fine detail
   (high-pass) correlates, NCC > 0.5.
3. :func:`is_same_image_or_scene` decides from the plausibility of the homography (one a
   crop, rotation, resize or re-shot can produce), the inlier count and the agreement.

Why the agreement: pictures of *different* cards filled in on the same printed form
share the form's labels and rules, which match exactly and consistently.  Over ~94,000
such pairs from demo collections (up to 70 cards, 1024 and 1600 px photos) they reached
up to 83 inliers on one plausible homography, while a re-shot of the same card had as
few as 31: inlier counts alone cannot separate them.  With the aligned thumbnails they
can.  Different cards never reached an agreement above 0.80, and the more inliers they
had, the lower it was (<= 0.31 from 70 inliers on: a precise alignment exposes the
different handwriting).  Re-shots and copies with fewer than 70 inliers all agreed at
>= 0.96; those that agreed less (fine detail erased by JPEG quality 15 or strong
shrinking, glare, a banner) agreed at >= 0.52 and had >= 74 inliers.  Hence
:func:`is_same_image_or_scene` asks for at least :data:`DEFAULT_MIN_INLIERS` inliers and
an agreement of :data:`DEFAULT_MIN_AGREEMENT`, or at least :data:`STRONG_INLIERS`
inliers and an agreement of :data:`STRONG_MIN_AGREEMENT`.  The thresholds are calibrated
for the default ``max_features`` (1000) at :data:`WORK_SIDE`.

Limits: the thumbnail comparison assumes a mostly planar scene (a card on a table, a
screenshot, a copy); two photographs of one 3-D scene from clearly different viewpoints
are out of scope.  Forms whose distinguishing content is tiny compared with the shared
print (a one-digit difference) cannot be told apart at this resolution.

Keypoint coordinates and homographies are in the working images' pixel spaces.
:class:`Features` can be cached as bytes (:meth:`Features.to_bytes`, ~60 KB for 1000
keypoints).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, cast

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = [
    "DEFAULT_MIN_AGREEMENT",
    "DEFAULT_MIN_INLIERS",
    "MAX_UPSCALE",
    "STRONG_INLIERS",
    "STRONG_MIN_AGREEMENT",
    "THUMB_DIV",
    "WORK_SIDE",
    "Features",
    "GeometricMatch",
    "extract",
    "is_same_image_or_scene",
    "match",
]

cv2.setNumThreads(1)  # workers are processes; OpenCV's own thread pool would only compete

WORK_SIDE = 640
"""Longest side (px) of the working image that features are computed on."""

MAX_UPSCALE = 2.0
"""Small pictures are enlarged towards :data:`WORK_SIDE`, by at most this factor."""

DEFAULT_MIN_INLIERS = 15
"""Homography inliers always required for "same image or scene".  Below this a fit is
too loose to trust the alignment of the thumbnails; no positive in the tests had fewer
than 31."""

DEFAULT_MIN_AGREEMENT = 0.9
"""Thumbnail agreement that confirms a match of any plausible size (different cards on
one form: <= 0.80; re-shots and copies with few inliers: >= 0.96)."""

STRONG_INLIERS = 70
"""From this many inliers on, an agreement of :data:`STRONG_MIN_AGREEMENT` suffices."""

STRONG_MIN_AGREEMENT = 0.45
"""Agreement required of a strong match: degraded copies >= 0.52, different cards with
that many inliers <= 0.31."""

THUMB_DIV = 4
"""The stored thumbnail is the working image reduced by this factor (160 x 120 px)."""

_FORMAT = b"DLGF1"  # magic of Features.to_bytes
_HEADER = len(_FORMAT) + 5 * 4  # magic, then <u4 count, width, height, thumb w, thumb h
_DESC_BYTES = 32  # ORB descriptor length
_CELL = 16  # agreement cell side, thumbnail pixels (64 working pixels)
_CELL_NCC = 0.5  # a cell agrees when its normalised cross-correlation exceeds this
_CELL_FLAT = 1.5  # high-pass std (grey levels) below which a cell carries no detail
_MIN_CELLS = 4  # fewer textured cells than this: no agreement can be measured
_MAX_BAND = 0.35  # an edge band left out of the agreement is at most this share of the grid
_BAND_AGREE = 0.2  # ... and no more than this share of its cells agree
_MAX_COVERED = 0.45  # more than this share of the textured cells in bands: nothing left out


def _empty_points() -> NDArray[np.float32]:
    return np.zeros((0, 2), dtype=np.float32)


def _empty_descriptors() -> NDArray[np.uint8]:
    return np.zeros((0, _DESC_BYTES), dtype=np.uint8)


def _empty_thumb() -> NDArray[np.uint8]:
    return np.zeros((0, 0), dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class Features:
    """Local features of one picture.

    ``keypoints``: float32, N x 2, x/y in the working image's pixels; ``descriptors``:
    uint8, N x 32 (ORB); ``size``: the working image's (width, height); ``thumb``: the
    contrast-normalised working image reduced by :data:`THUMB_DIV`, uint8, height x width
    (empty when unknown: :func:`match` then measures no agreement)."""

    keypoints: NDArray[np.float32] = field(default_factory=_empty_points)
    descriptors: NDArray[np.uint8] = field(default_factory=_empty_descriptors)
    size: tuple[int, int] = (0, 0)
    thumb: NDArray[np.uint8] = field(default_factory=_empty_thumb)

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def to_bytes(self) -> bytes:
        """A compact serialisation: magic, five little-endian uint32 (count, width,
        height, thumbnail width, thumbnail height), then the raw arrays."""
        n = len(self)
        thumb_ok = self.thumb.ndim == 2
        th, tw = (int(v) for v in self.thumb.shape) if thumb_ok else (0, 0)
        head = np.array([n, self.size[0], self.size[1], tw, th], dtype="<u4").tobytes()
        pts = np.ascontiguousarray(self.keypoints, dtype="<f4").reshape(n, 2).tobytes()
        desc = np.ascontiguousarray(self.descriptors, dtype=np.uint8).tobytes()
        thumb = np.ascontiguousarray(self.thumb, dtype=np.uint8).tobytes() if thumb_ok else b""
        return _FORMAT + head + pts + desc + thumb

    @classmethod
    def from_bytes(cls, data: bytes) -> Features:
        """Inverse of :meth:`to_bytes`; raises ``ValueError`` for anything else."""
        if len(data) < _HEADER or data[: len(_FORMAT)] != _FORMAT:
            raise ValueError("not serialised Features")
        n, w, h, tw, th = (
            int(v) for v in np.frombuffer(data, dtype="<u4", count=5, offset=len(_FORMAT))
        )
        if len(data) != _HEADER + n * (8 + _DESC_BYTES) + tw * th:
            raise ValueError("serialised Features have the wrong length")
        off = _HEADER
        pts = np.frombuffer(data, dtype="<f4", count=n * 2, offset=off).astype(np.float32)
        off += n * 8
        desc = np.frombuffer(data, dtype=np.uint8, count=n * _DESC_BYTES, offset=off).copy()
        off += n * _DESC_BYTES
        thumb = np.frombuffer(data, dtype=np.uint8, count=tw * th, offset=off).copy()
        return cls(
            keypoints=pts.reshape(n, 2),
            descriptors=desc.reshape(n, _DESC_BYTES),
            size=(w, h),
            thumb=thumb.reshape(th, tw),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Features):
            return NotImplemented
        return (
            self.size == other.size
            and np.array_equal(self.keypoints, other.keypoints)
            and np.array_equal(self.descriptors, other.descriptors)
            and np.array_equal(self.thumb, other.thumb)
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays: not hashable


@dataclass(frozen=True)
class GeometricMatch:
    """Outcome of :func:`match`.

    ``matches``: putative correspondences (ratio test both ways, mutual); ``inliers``:
    those consistent with ``homography`` (3 x 3, maps a's working pixels to b's; ``None``
    when none was fitted); ``inlier_ratio`` = inliers / matches; ``plausible``: the
    homography is one a re-shot, crop, rotation or resize can produce (finite, scale
    within 1/8..8, moderate shear and perspective, keeps the picture convex);
    ``agreement``: fraction of textured thumbnail cells that agree once aligned with the
    homography (``None`` when it could not be measured), leaving out bands along an edge
    where nothing agrees (a caption, a banner, a watermark strip laid over the picture);
    ``covered``: the share of textured cells so left out (0 when none)."""

    inliers: int
    matches: int
    inlier_ratio: float
    homography: list[list[float]] | None
    plausible: bool
    agreement: float | None = None
    covered: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "inliers": self.inliers,
            "matches": self.matches,
            "inlier_ratio": self.inlier_ratio,
            "homography": self.homography,
            "plausible": self.plausible,
            "agreement": self.agreement,
            "covered": self.covered,
        }


def _no_match(matches: int = 0) -> GeometricMatch:
    return GeometricMatch(
        inliers=0, matches=matches, inlier_ratio=0.0, homography=None, plausible=False
    )


# --------------------------------------------------------------------------- extract


def _to_l(img: Image.Image) -> Image.Image:
    """8-bit grayscale; transparency composited on white, 16-bit/float stretched."""
    if img.mode in ("L", "RGB", "CMYK", "YCbCr", "HSV", "1"):
        return img.convert("L")
    if img.mode in ("I", "F") or img.mode.startswith("I;"):
        arr = np.asarray(img.convert("F"), dtype=np.float32)
        if arr.size == 0:
            return Image.new("L", img.size)
        step = max(1, int(math.sqrt(arr.size / 250_000)))  # percentiles of a sample
        lo, hi = (float(v) for v in np.percentile(arr[::step, ::step], (0.5, 99.5)))
        arr = np.clip((arr - lo) * (255.0 / max(hi - lo, 1e-6)), 0, 255)
        return Image.fromarray(arr.astype(np.uint8), "L")
    if img.mode == "LAB":
        return img.getchannel("L")
    rgba = (img.convert("LA") if img.mode == "La" else img).convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(flat, rgba).convert("L")


_REDUCIBLE = frozenset({"L", "LA", "RGB", "RGBA", "CMYK", "YCbCr"})  # Image.reduce averages


def _gray_working(image: Image.Image) -> NDArray[np.uint8]:
    """The picture as an 8-bit grayscale array at working size."""
    w, h = image.size
    if w < 1 or h < 1:
        return np.zeros((0, 0), dtype=np.uint8)
    scale = min(WORK_SIDE / max(w, h), MAX_UPSCALE)
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    img = image if image.mode in _REDUCIBLE else _to_l(image)
    factor = int(1 / scale) if scale < 1 else 1
    if factor >= 2:  # a cheap integer box reduction of big pictures first
        img = img.reduce(factor)
    gray = np.asarray(_to_l(img), dtype=np.uint8)
    if gray.shape[:2] == (th, tw):
        return np.ascontiguousarray(gray)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cast(NDArray[np.uint8], cv2.resize(gray, (tw, th), interpolation=interp))


_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


def extract(image: Image.Image, *, max_features: int = 1000) -> Features:
    """ORB features of ``image`` at working size (longest side :data:`WORK_SIDE`;
    smaller pictures are enlarged by at most :data:`MAX_UPSCALE`), computed after local
    contrast normalisation (CLAHE) so that exposure and lighting matter less.

    The caller applies any EXIF orientation first if it wants to (ORB is rotation
    invariant, so it does not matter for matching).  Never raises for a loaded picture:
    tiny, blank or odd-mode ones give empty (or few) features."""
    try:
        gray = _gray_working(image)
    except (OSError, ValueError, TypeError, cv2.error):
        return Features()
    h, w = (int(v) for v in gray.shape[:2])
    if min(w, h) < 8:
        return Features(size=(w, h))
    norm = cast(NDArray[np.uint8], _CLAHE.apply(gray))
    thumb_size = (max(1, round(w / THUMB_DIV)), max(1, round(h / THUMB_DIV)))
    thumb = cast(NDArray[np.uint8], cv2.resize(norm, thumb_size, interpolation=cv2.INTER_AREA))
    if min(w, h) < 32:
        return Features(size=(w, h), thumb=thumb)
    orb = cv2.ORB.create(
        nfeatures=max(1, max_features),
        scaleFactor=1.2,
        nlevels=8,
        edgeThreshold=19,
        patchSize=19,
        fastThreshold=12,
    )
    kps, desc = orb.detectAndCompute(norm, None)
    if desc is None or len(kps) == 0:
        return Features(size=(w, h), thumb=thumb)
    pts = np.array([kp.pt for kp in kps], dtype=np.float32).reshape(-1, 2)
    descriptors = np.ascontiguousarray(np.asarray(desc, dtype=np.uint8))
    return Features(keypoints=pts, descriptors=descriptors, size=(w, h), thumb=thumb)


# ----------------------------------------------------------------------------- match


_MATCHER = cv2.BFMatcher(cv2.NORM_HAMMING)
_METHOD = int(getattr(cv2, "USAC_MAGSAC", cv2.RANSAC))
_REPROJ_PX = 5.0


def _ratio_pass(
    d_query: NDArray[np.uint8], d_train: NDArray[np.uint8], ratio: float
) -> dict[int, int]:
    """query index -> train index of each nearest neighbour that passes Lowe's test."""
    out: dict[int, int] = {}
    for pair in _MATCHER.knnMatch(d_query, d_train, k=2):
        if len(pair) == 1 or (len(pair) >= 2 and pair[0].distance < ratio * pair[1].distance):
            out[pair[0].queryIdx] = pair[0].trainIdx
    return out


def _mutual_pairs(a: Features, b: Features, ratio: float) -> list[tuple[int, int]]:
    """(index in a, index in b) of matches that pass the ratio test in both directions
    and are each other's nearest neighbours.  The reverse pass only queries the b
    descriptors that the forward pass chose, which saves most of its cost."""
    fwd = _ratio_pass(a.descriptors, b.descriptors, ratio)
    if not fwd:
        return []
    chosen = np.array(sorted(set(fwd.values())), dtype=np.intp)
    back = _ratio_pass(np.ascontiguousarray(b.descriptors[chosen]), a.descriptors, ratio)
    rev = {int(chosen[i]): j for i, j in back.items()}
    return [(i, j) for i, j in fwd.items() if rev.get(j) == i]


def _plausible(h: NDArray[np.float64], size_a: tuple[int, int]) -> bool:
    """Whether homography ``h`` is one a crop, rotation, resize or re-shot can give."""
    if not np.all(np.isfinite(h)) or abs(float(h[2, 2])) < 1e-12:
        return False
    h = h / h[2, 2]
    lin = h[:2, :2]
    det = float(np.linalg.det(lin))
    if not 1 / 8 <= det <= 8:  # too strong a zoom, or a mirror image
        return False
    sv = np.linalg.svd(lin, compute_uv=False)
    if float(sv[1]) <= 0 or float(sv[0] / sv[1]) > 4:  # strong shear / squash
        return False
    w, hh = max(size_a[0], 1), max(size_a[1], 1)
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, hh, 1], [0, hh, 1]], dtype=np.float64)
    proj = corners @ h.T
    denom = proj[:, 2]
    # perspective: re-shots tilt the camera (divisor ratio up to ~2 across the picture);
    # a picture folded behind the camera or a wild fit does far more
    if np.any(denom <= 1e-9) or float(denom.max() / denom.min()) > 3.0:
        return False
    quad = proj[:, :2] / denom[:, None]
    edges = np.roll(quad, -1, axis=0) - quad
    cross = (
        edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1]
        - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    )
    return bool(np.all(cross > 0) or np.all(cross < 0))


def _highpass(x: NDArray[np.uint8]) -> NDArray[np.float32]:
    f = x.astype(np.float32)
    return cast(NDArray[np.float32], f - cv2.GaussianBlur(f, (0, 0), 2.0))


def _agreement(
    a: Features, b: Features, h: NDArray[np.float64], bands: bool = True
) -> tuple[float | None, float]:
    """Agreement of the thumbnails aligned by ``h`` (a's working pixels to b's).  The
    picture that shows the common content larger is warped onto the other one, so that
    warping only ever shrinks (enlarging would blur away the detail compared)."""
    if abs(float(np.linalg.det(h[:2, :2] / h[2, 2]))) > 1.0:
        return _cell_agreement(b, a, np.asarray(np.linalg.inv(h), dtype=np.float64), bands)
    return _cell_agreement(a, b, h, bands)


def _edge_bands(textured: NDArray[np.bool_], agree: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Cells (a grid) in bands along the edges where almost nothing agrees: whole rows from
    the top or the bottom, whole columns from the left or the right, each band at most
    :data:`_MAX_BAND` of the grid. A caption or banner laid over a picture covers such a band;
    a difference in the middle of the picture (the handwriting on two cards of one printed
    form) is never left out."""
    ny, nx = textured.shape
    out = np.zeros_like(textured)

    def band(lines: list[int], along_rows: bool) -> None:
        taken: list[int] = []
        marked = 0
        for k in lines[: math.ceil(len(lines) * _MAX_BAND)]:
            t = textured[k, :] if along_rows else textured[:, k]
            a = agree[k, :] if along_rows else agree[:, k]
            n = int(t.sum())
            if n >= 2 and int(a.sum()) > _BAND_AGREE * n:
                break
            marked += n >= 2
            taken.append(k)
        if marked == 0:  # only flat lines: nothing was covered there
            return
        for k in taken:
            if along_rows:
                out[k, :] = True
            else:
                out[:, k] = True

    band(list(range(ny)), True)
    band(list(range(ny - 1, -1, -1)), True)
    band(list(range(nx)), False)
    band(list(range(nx - 1, -1, -1)), False)
    return out


def _cell_agreement(
    a: Features, b: Features, h: NDArray[np.float64], bands: bool = True
) -> tuple[float | None, float]:
    """Fraction of textured cells of b's thumbnail whose high-pass detail correlates
    (NCC > 0.5) with a's thumbnail warped onto it by ``h``, leaving out edge bands where
    nothing agrees (:func:`_edge_bands`); ``None`` if unmeasurable. Also the share of textured
    cells left out."""
    ta, tb = a.thumb, b.thumb
    if ta.ndim != 2 or tb.ndim != 2 or min(ta.shape) < 4 or min(tb.shape) < 4:
        return None, 0.0
    if min(a.size) < 1 or min(b.size) < 1:
        return None, 0.0
    sa = np.diag([ta.shape[1] / a.size[0], ta.shape[0] / a.size[1], 1.0])
    sb = np.diag([tb.shape[1] / b.size[0], tb.shape[0] / b.size[1], 1.0])
    ht = sb @ h @ np.linalg.inv(sa)
    dsize = (int(tb.shape[1]), int(tb.shape[0]))
    warped = cast(
        NDArray[np.uint8],
        cv2.warpPerspective(ta, ht, dsize, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
    )
    inside = cast(
        NDArray[np.uint8],
        cv2.warpPerspective(
            np.full(ta.shape, 255, dtype=np.uint8),
            ht,
            dsize,
            flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        ),
    )
    inside = cast(NDArray[np.uint8], cv2.erode(inside, np.ones((5, 5), dtype=np.uint8)))
    ny, nx = tb.shape[0] // _CELL, tb.shape[1] // _CELL
    if ny * nx == 0:
        return None, 0.0

    def cells(x: NDArray[Any]) -> NDArray[np.float32]:
        x = x[: ny * _CELL, : nx * _CELL].astype(np.float32)
        return x.reshape(ny, _CELL, nx, _CELL).transpose(0, 2, 1, 3).reshape(ny * nx, -1)

    p, q, m = cells(_highpass(warped)), cells(_highpass(tb)), cells(inside > 0)
    full = m.mean(axis=1) >= 0.9
    if not full.any():
        return None, 0.0
    cnt = np.maximum(m.sum(axis=1), 1.0)
    pm = (p * m).sum(axis=1) / cnt
    qm = (q * m).sum(axis=1) / cnt
    pc = (p - pm[:, None]) * m
    qc = (q - qm[:, None]) * m
    sp = np.sqrt((pc * pc).sum(axis=1) / cnt)
    sq = np.sqrt((qc * qc).sum(axis=1) / cnt)
    textured = full & (np.maximum(sp, sq) >= _CELL_FLAT)
    total = int(textured.sum())
    if total < _MIN_CELLS:
        return None, 0.0
    ncc = (pc * qc).sum(axis=1) / cnt / (sp * sq + 1e-6)
    agree = textured & (ncc > _CELL_NCC)
    plain = float(np.count_nonzero(agree) / total)
    if not bands:
        return plain, 0.0
    left = _edge_bands(textured.reshape(ny, nx), agree.reshape(ny, nx)).ravel()
    kept = textured & ~left
    left_out = total - int(kept.sum())
    if left_out == 0 or int(kept.sum()) < _MIN_CELLS or left_out > _MAX_COVERED * total:
        return plain, 0.0
    return float(np.count_nonzero(agree & kept) / int(kept.sum())), left_out / total


def match(
    a: Features, b: Features, *, ratio: float = 0.8, min_inliers: int = 8, bands: bool = True
) -> GeometricMatch:
    """Match two feature sets and fit a homography from a's working pixels to b's.

    Putative matches pass Lowe's ratio test (``ratio``) in both directions and are mutual
    nearest neighbours; with at least 8 of them a homography is fitted (MAGSAC++ where
    OpenCV has it, else RANSAC; 5 px).  For a plausible fit with at least ``min_inliers``
    inliers the thumbnails' agreement is measured too (about 0.5 ms); otherwise it is
    ``None``, which :func:`is_same_image_or_scene` treats conservatively. ``bands``: edge bands
    where nothing agrees may be left out of the agreement (a caption); not for a part of a
    picture, whose edges are where another picture's differences meet it.  Never raises."""
    try:
        return _match(a, b, ratio, min_inliers, bands)
    except (cv2.error, ValueError, IndexError, TypeError, np.linalg.LinAlgError):
        return _no_match()


def _match(
    a: Features, b: Features, ratio: float, min_inliers: int, bands: bool = True
) -> GeometricMatch:
    if len(a) < 2 or len(b) < 2:
        return _no_match()
    pairs = _mutual_pairs(a, b, ratio)
    n = len(pairs)
    if n < 8:
        return _no_match(n)
    idx = np.array(pairs, dtype=np.intp)
    src = np.ascontiguousarray(a.keypoints[idx[:, 0]], dtype=np.float32).reshape(-1, 1, 2)
    dst = np.ascontiguousarray(b.keypoints[idx[:, 1]], dtype=np.float32).reshape(-1, 1, 2)
    hmat, mask = cv2.findHomography(src, dst, _METHOD, _REPROJ_PX, maxIters=2000, confidence=0.995)
    if hmat is None or mask is None or np.asarray(hmat).shape != (3, 3):
        return _no_match(n)
    hm = np.asarray(hmat, dtype=np.float64)
    inliers = int(np.count_nonzero(mask))
    plausible = _plausible(hm, a.size)
    agreement, covered = (
        _agreement(a, b, hm, bands) if plausible and inliers >= min_inliers else (None, 0.0)
    )
    return GeometricMatch(
        inliers=inliers,
        matches=n,
        inlier_ratio=inliers / n,
        homography=[[float(v) for v in row] for row in hm],
        plausible=plausible,
        agreement=agreement,
        covered=covered,
    )


def is_same_image_or_scene(
    m: GeometricMatch,
    *,
    min_inliers: int = DEFAULT_MIN_INLIERS,
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
) -> bool:
    """Whether a :func:`match` result says the two pictures show the same image or scene.

    Always required: a plausible homography with at least ``min_inliers`` inliers.  Then
    either the aligned thumbnails agree (``agreement >= min_agreement``), or the match is
    geometrically strong (at least :data:`STRONG_INLIERS` inliers) and the thumbnails
    still agree moderately (:data:`STRONG_MIN_AGREEMENT`; heavily re-compressed or
    shrunken copies lose the fine detail that the agreement compares).  Where no
    agreement could be measured (no thumbnails), only a strong match counts."""
    if not m.plausible or m.inliers < min_inliers:
        return False
    if m.agreement is None:
        return m.inliers >= STRONG_INLIERS
    if m.agreement >= min_agreement:
        return True
    return m.inliers >= STRONG_INLIERS and m.agreement >= STRONG_MIN_AGREEMENT
