"""Find the faces in one photograph and describe each by a 128-number embedding.

The photograph is decoded once, upright (EXIF orientation), at reduced size
(:func:`dalil.ingest.decode.reduced_image`: JPEG DCT scaling), and reduced further when it is
still large, because the detector's time grows with pixels while faces in a family's or a
mortuary photograph are large. YuNet finds faces with five landmarks (eyes, nose tip, mouth
corners); each face is turned and scaled so that its landmarks fall on the standard 112 x 112
template (a least-squares similarity transform, as OpenCV's ``FaceRecognizerSF.alignCrop``
does) and SFace embeds it. Two embeddings are compared by cosine similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dalil.faces import models

DECODE_SIDE = 800
"""Decode so that the shorter side is at least this many pixels, where the original has them."""
MAX_SIDE = 1600
"""Then reduce until the longer side is at most this."""

_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
     [70.7299, 92.2041]],
    dtype=np.float64,
)  # fmt: skip
_CROP = 112


@dataclass(frozen=True, slots=True)
class Face:
    """One face: where it is (fractions of the upright image: x, y, width, height), how sure
    the detector is, and its unit-length embedding."""

    box: tuple[float, float, float, float]
    score: float
    vector: NDArray[np.float32]

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


def faces_in_file(source: bytes | Path) -> list[Face] | None:
    """The faces in an image file (its bytes or its path); None when it cannot be decoded."""
    from dalil.ingest.decode import reduced_image

    image = reduced_image(source, DECODE_SIDE)
    if image is None:
        return None
    return faces_in_image(np.asarray(image.convert("RGB")))


def faces_in_image(rgb: NDArray[np.uint8]) -> list[Face]:
    """The faces in an upright RGB image (height x width x 3), largest first."""
    import cv2

    nets = models.networks()
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    h, w = bgr.shape[:2]
    if max(h, w) > MAX_SIDE:
        scale = MAX_SIDE / max(h, w)
        w, h = max(1, round(w * scale)), max(1, round(h * scale))
        bgr = np.asarray(cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    nets.detector.setInputSize((w, h))
    _, found = nets.detector.detect(bgr)
    faces = []
    for row in found if found is not None else []:
        x, y, fw, fh = (float(v) for v in row[:4])
        crop = _aligned(bgr, np.asarray(row[4:14], dtype=np.float64).reshape(5, 2))
        box = (round(x / w, 4), round(y / h, 4), round(fw / w, 4), round(fh / h, 4))
        faces.append(Face(box, round(float(row[14]), 4), _embedding(nets.recogniser, crop)))
    return sorted(faces, key=lambda f: -f.area)


def _aligned(bgr: NDArray[np.uint8], landmarks: NDArray[np.float64]) -> NDArray[np.uint8]:
    import cv2

    crop = cv2.warpAffine(
        bgr, _similarity(landmarks, _TEMPLATE), (_CROP, _CROP), flags=cv2.INTER_LINEAR
    )
    return np.asarray(crop, dtype=np.uint8)


def _similarity(src: NDArray[np.float64], dst: NDArray[np.float64]) -> NDArray[np.float64]:
    """The 2 x 3 rotation, uniform scale and shift taking ``src`` points nearest to ``dst``
    (Umeyama, 1991)."""
    mean_s, mean_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mean_s, dst - mean_d
    u, sigma, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    scale = float((sigma * np.diag(sign)).sum() / ((s**2).sum() / len(src)))
    shift = mean_d - scale * rotation @ mean_s
    return np.hstack([scale * rotation, shift[:, None]])


def _embedding(recogniser: Any, crop: NDArray[np.uint8]) -> NDArray[np.float32]:
    import cv2

    blob = cv2.dnn.blobFromImage(crop, 1.0, (_CROP, _CROP), (0, 0, 0), swapRB=True)
    recogniser.setInput(blob, "data")
    vector = np.asarray(recogniser.forward(), dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def similarity(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Cosine similarity of two unit-length embeddings (1: the same picture; SFace's authors
    put "probably the same person" above about 0.36 on their test set — never a proof)."""
    return float(np.dot(a, b))
