"""The result type of the OCR assist."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Reading"]


@dataclass(frozen=True, slots=True)
class Reading:
    """One number read in an image.

    ``field`` is ``"detainee"``, ``"branch"``, ``"report"`` or None when nothing tells;
    ``value`` the digits normalised to ASCII ``0-9``; ``written`` the digits as read
    (Arabic-Indic and Persian kept); ``script`` ``"western"``, ``"arabic-indic"`` or
    ``"persian"``; ``confidence`` in 0..1; ``box`` (x0, y0, x1, y1) in the pixel space of the
    image passed in; ``engine`` the recogniser(s) that read it (``"pp-ocrv4"``,
    ``"digit-lines-v1"``, or ``"pp-ocrv4+digit-lines-v1"`` when both read the same value);
    ``assigned`` how the field was found (``"line"``: a label on the number's own line,
    ``"label"``: a label beside or above it, ``"order"``: the order of the numbers; None
    without a field);
    ``field_confidence`` in 0..1, how likely the value is right *for that field*
    (:mod:`dalil.ocr.confidence`, calibrated on photographs: below
    :data:`dalil.ocr.confidence.PROPOSE_AT` a value is not proposed).
    """

    field: str | None
    value: str
    written: str
    script: str
    confidence: float
    box: tuple[int, int, int, int]
    engine: str
    assigned: str | None = None
    field_confidence: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "field": self.field,
            "value": self.value,
            "written": self.written,
            "script": self.script,
            "confidence": round(self.confidence, 4),
            "box": list(self.box),
            "engine": self.engine,
            "assigned": self.assigned,
            "field_confidence": round(self.field_confidence, 4),
        }
