"""OCR assist: read the numbers written on index cards and bodies in photographs.

Detainee, branch and forensic report numbers, in Western digits (read by the PP-OCRv4
models bundled with ``rapidocr_onnxruntime``) and in Arabic-Indic digits (read by a small
classifier shipped with Dalil, see :mod:`dalil.ocr.digits`). Everything runs on the CPU,
offline; the engine is loaded once per process, on first use.

A reading is an *assist* for a reviewer, never evidence in itself: each carries the engine
that produced it, its confidence and where in the image it was read.
"""

from __future__ import annotations

import os

# onnxruntime reads this when it is first imported: it must be set before that happens,
# which is why rapidocr (and with it onnxruntime) is only imported lazily.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from dalil.ocr.reader import ENGINE_VERSION, read_numbers
from dalil.ocr.reading import Reading

__all__ = ["ENGINE_VERSION", "Reading", "read_numbers"]
