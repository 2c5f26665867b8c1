"""What a file says about itself: EXIF (with GPS), XMP and IPTC, read with Pillow.

The summary fields (camera, serial, capture time, GPS, orientation…) go to catalogue columns;
everything readable is kept as JSON in ``raw``. Values are read, never trusted: a malformed tag
yields ``None`` for that field and a note, never an exception.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import ExifTags, Image, IptcImagePlugin, TiffImagePlugin

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_INTEROP_IFD = 0xA005
_BINARY_KEEP = 64  # binary values longer than this are summarised, not dumped

_DATE = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


@dataclass(slots=True)
class Metadata:
    camera_make: str | None = None
    camera_model: str | None = None
    camera_serial: str | None = None
    lens: str | None = None
    captured_at: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None
    orientation: int | None = None
    software: str | None = None
    width: int | None = None
    height: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        del out["raw"]
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, TiffImagePlugin.IFDRational):
        num, den = value.numerator, value.denominator
        return float(num) / den if den else None
    if isinstance(value, bytes):
        if len(value) > _BINARY_KEEP:
            return {"binary_bytes": len(value)}
        text = value.rstrip(b"\x00")
        try:
            decoded = text.decode("ascii")
        except UnicodeDecodeError:
            return {"hex": value.hex()}
        return decoded if decoded.isprintable() else {"hex": value.hex()}
    if isinstance(value, str):
        return value.rstrip("\x00")
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float) or value is None:
        return value
    return str(value)


def _named(ifd: dict[int, Any], names: dict[int, str]) -> dict[str, Any]:
    return {names.get(tag, f"0x{tag:04x}"): _jsonable(value) for tag, value in ifd.items()}


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None if value is None else str(value)
    value = value.split("\x00", 1)[0].strip()  # EXIF ASCII ends at the first NUL
    return value or None


def _capture_time(exif_ifd: dict[int, Any]) -> str | None:
    raw = _text(exif_ifd.get(0x9003))  # DateTimeOriginal
    if raw is None:
        return None
    match = _DATE.match(raw)
    if match is None or match.group(1) == "0000":
        return None
    y, mo, d, h, mi, s = match.groups()
    stamp = f"{y}-{mo}-{d}T{h}:{mi}:{s}"
    subsec = _text(exif_ifd.get(0x9291))  # SubSecTimeOriginal
    if subsec and subsec.isdigit():
        stamp += f".{subsec}"
    offset = _text(exif_ifd.get(0x9011))  # OffsetTimeOriginal
    if offset and _OFFSET.match(offset):
        stamp += offset
    return stamp


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        parts = [float(v) for v in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if len(parts) != 3 or not all(math.isfinite(p) for p in parts):
        return None
    degrees = parts[0] + parts[1] / 60 + parts[2] / 3600
    ref_text = _text(ref) or ""
    if ref_text.upper().startswith(("S", "W")):
        degrees = -degrees
    return round(degrees, 8)


def _gps(gps: dict[int, Any]) -> tuple[float | None, float | None, float | None]:
    lat = _degrees(gps.get(2), gps.get(1)) if 2 in gps else None
    lon = _degrees(gps.get(4), gps.get(3)) if 4 in gps else None
    if lat is not None and not -90 <= lat <= 90:
        lat = None
    if lon is not None and not -180 <= lon <= 180:
        lon = None
    alt: float | None = None
    if 6 in gps:
        try:
            alt = float(gps[6])
        except (TypeError, ValueError, ZeroDivisionError):
            alt = None
        if alt is not None and not math.isfinite(alt):
            alt = None
        if alt is not None and gps.get(5) in (1, b"\x01"):
            alt = -alt
    return lat, lon, alt


def _iptc(image: Image.Image) -> dict[str, Any]:
    try:
        info = IptcImagePlugin.getiptcinfo(image)  # type: ignore[arg-type]
    except (SyntaxError, ValueError, IndexError, TypeError, OSError):
        return {}
    if not info:
        return {}
    return {f"{k[0]}:{k[1]}": _jsonable(v) for k, v in info.items()}


def extract(image: Image.Image) -> tuple[Metadata, list[str]]:
    """Read metadata from an opened (not necessarily decoded) image.

    Returns the metadata and a list of notes about tags that could not be read.
    """
    notes: list[str] = []
    meta = Metadata(width=image.size[0], height=image.size[1])
    try:
        exif = image.getexif()
        exif_ifd = dict(exif.get_ifd(_EXIF_IFD))
        gps = dict(exif.get_ifd(_GPS_IFD))
        interop = dict(exif.get_ifd(_INTEROP_IFD))
    except Exception as exc:  # Pillow raises many types on hostile EXIF; the file is kept.
        notes.append(f"EXIF unreadable: {exc}")
        exif, exif_ifd, gps, interop = Image.Exif(), {}, {}, {}
    ifd0 = {k: v for k, v in exif.items() if k not in (_EXIF_IFD, _GPS_IFD, _INTEROP_IFD)}
    meta.camera_make = _text(ifd0.get(0x010F))
    meta.camera_model = _text(ifd0.get(0x0110))
    meta.software = _text(ifd0.get(0x0131))
    meta.camera_serial = _text(exif_ifd.get(0xA431)) or _text(ifd0.get(0xC62F))
    meta.lens = _text(exif_ifd.get(0xA434))
    orientation = ifd0.get(0x0112)
    # pillow-heif rotates HEIF pixels on decode and resets the tag; it keeps the file's value.
    if image.info.get("original_orientation") is not None:
        orientation = image.info["original_orientation"]
    meta.orientation = orientation if isinstance(orientation, int) else None
    meta.captured_at = _capture_time(exif_ifd)
    meta.gps_lat, meta.gps_lon, meta.gps_alt = _gps(gps)
    raw: dict[str, Any] = {}
    if ifd0:
        raw["IFD0"] = _named(ifd0, ExifTags.TAGS)
    if exif_ifd:
        raw["ExifIFD"] = _named(exif_ifd, ExifTags.TAGS)
    if gps:
        raw["GPS"] = _named(gps, ExifTags.GPSTAGS)
    if interop:
        raw["Interop"] = _named(interop, ExifTags.TAGS)
    xmp = image.info.get("xmp")
    if isinstance(xmp, bytes | str):
        raw["XMP"] = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp
    iptc = _iptc(image)
    if iptc:
        raw["IPTC"] = iptc
    comment = image.info.get("comment")
    if isinstance(comment, bytes | str):
        raw["Comment"] = _jsonable(comment)
    meta.raw = raw
    return meta, notes
