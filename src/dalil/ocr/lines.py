"""The digit-line recogniser: a small CRNN with CTC that reads the numbers in a text-line crop,
in Western, Arabic-Indic or Persian digits, and nothing else.

The model (``digit_lines_v1.onnx``, about 1 MB) was trained by ``tools/train_digit_lines.py``
on generated lines only: digit strings in every Debian font of this machine except the
benchmark's held-out list (``bench/ocr_photos_data.HELD_OUT_FONTS``), and in a stroke
handwriting of its own with jitter, next to label words in Latin and Arabic script that it
learns to ignore, on paper and ink textures, rules and cell borders, blurred, tilted, shrunk
and JPEG-compressed. It runs on onnxruntime, on the CPU.

Classes: the CTC blank, a gap (between two numbers on one line), the Western digits, the
Arabic-Indic digits and the three Persian digit forms that differ from them (``۴۵۶``; the
other Persian digits are drawn like their Arabic-Indic twins, so a number is called Persian
when one of these three is in it, and its other digits are then written in Persian forms).

:func:`prepare` is shared with the training script, so that a line is normalised the same
way in training and at run time.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "CLASSES",
    "HEIGHT",
    "MODEL_PATH",
    "LineNumber",
    "decode",
    "prepare",
    "read_lines",
]

HEIGHT = 32  # lines are read at this height
MAX_WIDTH = 640  # ... and at most this wide (a longer line is squeezed)
STRIDE = 4  # input columns per output frame
BLANK, GAP = 0, 1
WESTERN = "0123456789"
ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
PERSIAN_ONLY = "۴۵۶"
CLASSES = ("", " ", *WESTERN, *ARABIC_INDIC, *PERSIAN_ONLY)
MODEL_PATH = Path(__file__).with_name("digit_lines_v1.onnx")

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]

_TO_PERSIAN = str.maketrans(ARABIC_INDIC, PERSIAN)


def prepare(gray: U8) -> F32:
    """A line crop (grey, dark ink on light paper or the reverse) as the model's input: scaled
    to :data:`HEIGHT` rows (aspect kept, at most :data:`MAX_WIDTH` columns), ink made bright,
    and standardised to mean 0 and unit spread."""
    h, w = gray.shape[:2]
    width = int(np.clip(round(w * HEIGHT / max(h, 1)), 8, MAX_WIDTH))
    small = cv2.resize(
        gray, (width, HEIGHT), interpolation=cv2.INTER_AREA if h > HEIGHT else cv2.INTER_LINEAR
    ).astype(np.float32)
    # ink is the minority: when the median is darker than the mean, the paper is dark
    if float(np.median(small)) < float(small.mean()):
        small = 255.0 - small
    x = 255.0 - small
    x -= float(np.median(x))
    spread = float(np.percentile(x, 99)) if x.size else 1.0
    out: F32 = (x / max(spread, 16.0)).astype(np.float32)
    return out


@dataclass(frozen=True, slots=True)
class LineNumber:
    """One number read on a line: its digits as written, the digit system, a confidence (the
    least sure of its digits) and its horizontal extent as fractions of the line's width."""

    written: str
    script: str  # "western", "arabic-indic" or "persian"
    confidence: float
    span: tuple[float, float]


def decode(probs: F32, width: int) -> list[LineNumber]:
    """Greedy CTC decoding of one line's frame probabilities (frames x classes); ``width`` is
    the number of input columns that were real (not padding)."""
    frames = min(probs.shape[0], max(1, -(-width // STRIDE)))
    best = probs[:frames].argmax(axis=1)
    numbers: list[LineNumber] = []
    run: list[tuple[int, int, float]] = []  # (class, frame, probability) of the current number

    def close() -> None:
        if not run:
            return
        chars = "".join(CLASSES[c] for c, _, _ in run)
        persian = any(ch in PERSIAN_ONLY for ch in chars)
        arabic = any(ch in ARABIC_INDIC for ch in chars)
        western = any(ch in WESTERN for ch in chars)
        if persian:
            script, chars = "persian", chars.translate(_TO_PERSIAN)
        elif arabic:
            script = "arabic-indic"
        else:
            script = "western"
        mixed = western and (arabic or persian)
        conf = min(p for _, _, p in run) * (0.5 if mixed else 1.0)
        first, last = run[0][1], run[-1][1]
        span = (first * STRIDE / width, min(1.0, (last + 1) * STRIDE / width))
        numbers.append(LineNumber(chars, script, float(conf), span))
        run.clear()

    previous = BLANK
    for t, c in enumerate(best.tolist()):
        if c != previous and c != BLANK:
            if c == GAP:
                close()
            else:
                run.append((c, t, float(probs[t, c])))
        elif c == previous and c > GAP and run:
            # the same digit over several frames: its probability is the best of them
            k, f, p = run[-1]
            run[-1] = (k, f, max(p, float(probs[t, c])))
        previous = c
    close()
    return numbers


_LOCK = threading.Lock()
_SESSION: Any = None


def _session() -> Any:
    global _SESSION
    with _LOCK:
        if _SESSION is None:
            os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
            import onnxruntime as ort  # type: ignore[import-untyped]

            from dalil.ocr.engine import threads

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads()
            options.inter_op_num_threads = 1
            _SESSION = ort.InferenceSession(
                str(MODEL_PATH), options, providers=["CPUExecutionProvider"]
            )
        return _SESSION


def read_lines(crops: list[U8]) -> list[list[LineNumber]]:
    """The numbers on each grey line crop, left to right (a number's digits are in writing
    order: numbers are written left to right in Arabic text too)."""
    if not crops:
        return []
    inputs = [prepare(c) for c in crops]
    out: list[list[LineNumber]] = [[] for _ in crops]
    order = sorted(range(len(inputs)), key=lambda i: inputs[i].shape[1])
    session = _session()
    batch = 16
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        width = max(inputs[i].shape[1] for i in idx)
        width = -(-width // STRIDE) * STRIDE
        x = np.zeros((len(idx), 1, HEIGHT, width), np.float32)
        for row, i in enumerate(idx):
            x[row, 0, :, : inputs[i].shape[1]] = inputs[i]
        with _LOCK:
            (logits,) = session.run(None, {"line": x})
        logits = logits - logits.max(axis=2, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=2, keepdims=True)
        for row, i in enumerate(idx):
            out[i] = decode(p[row], inputs[i].shape[1])
    return out
