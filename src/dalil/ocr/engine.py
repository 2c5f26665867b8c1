"""The PP-OCRv4 detector and recogniser bundled in ``rapidocr_onnxruntime``, loaded lazily.

rapidocr is imported on first use only, so that importing :mod:`dalil.ocr` stays cheap and
``ORT_DISABLE_TELEMETRY`` is in the environment before onnxruntime is loaded.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Quad", "detect", "recognise", "set_threads", "threads"]

U8 = npt.NDArray[np.uint8]
Quad = npt.NDArray[np.float32]  # 4 x 2: top-left, top-right, bottom-right, bottom-left

_LOCK = threading.Lock()
_ENGINE: Any = None
_THREADS = 0  # 0: onnxruntime's default (every core)


def set_threads(n: int) -> None:
    """Run the OCR models on ``n`` threads (call before first use; in a pool of as many
    worker processes as cores, one each is faster than all of them fighting over every core)."""
    global _THREADS
    _THREADS = max(0, n)


def threads() -> int:
    return _THREADS


def _engine() -> Any:
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
            from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]

            options: dict[str, Any] = {}
            if _THREADS:
                options = {"intra_op_num_threads": _THREADS, "inter_op_num_threads": 1}
            # sizes are chosen by the reader: the detector must not scale a small region up
            _ENGINE = RapidOCR(
                use_cls=False,
                text_score=0.0,
                det_limit_side_len=32,
                det_limit_type="min",
                **options,
            )
        return _ENGINE


def detect(bgr: U8) -> list[Quad]:
    """Text-line quadrilaterals found by the PP-OCRv4 detector, top to bottom."""
    engine = _engine()
    with _LOCK:
        boxes, _ = engine.text_det(bgr)
    if boxes is None or len(boxes) == 0:
        return []
    quads = [np.asarray(b, np.float32).reshape(4, 2) for b in boxes]
    return sorted(quads, key=lambda q: (float(q[:, 1].mean()), float(q[:, 0].mean())))


def recognise(lines: list[U8]) -> list[tuple[str, float]]:
    """PP-OCRv4 text and score for each rectified line crop (BGR)."""
    if not lines:
        return []
    engine = _engine()
    with _LOCK:
        results, _ = engine.text_rec(lines)
    return [(str(r[0]), float(r[1])) for r in results]
