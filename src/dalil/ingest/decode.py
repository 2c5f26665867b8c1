"""Decode an image once, at reduced size, for every derived product.

JPEGs are decoded with DCT scaling straight to about the thumbnail size, by libjpeg-turbo
(PyTurboJPEG) when it is installed — it also reports corrupt entropy data, which Pillow
silently ignores — else by Pillow's ``draft``. Other formats are decoded once by Pillow and
reduced. The reduced, upright image gives the thumbnail and the PDQ fingerprint. Decoding
problems become flags with reasons, never exceptions.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, ImageFile

from dalil.ingest import metadata as metadata_stage
from dalil.media import pdq

WORK_SIDE = 512  # non-JPEG images are reduced to about this before fingerprinting

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(slots=True)
class ImageAnalysis:
    flags: dict[str, str] = field(default_factory=dict)
    metadata: metadata_stage.Metadata | None = None
    pdq: pdq.PdqHash | None = None
    pdq_variants: bytes | None = None  # the 8 dihedral hashes, 32 bytes each, reference order
    features: bytes | None = None  # local features (ORB) for the near-duplicate stage
    want_features: bool = True
    thumbnail: bytes | None = None
    thumbnail_size: tuple[int, int] | None = None
    decode_scale: int = 1
    decoder: str = ""  # "nvjpeg" when the GPU decoded it (the CPU decoders leave it empty)


_GPU: list[bool] = [False]


def use_gpu(wanted: bool) -> str | None:
    """Decode JPEGs on the GPU from now on in this process, where one is usable (returns its
    name); else the CPU path (returns None)."""
    from dalil.media import gpu

    device = gpu.available() if wanted else None
    _GPU[0] = device is not None
    return device


@cache
def _turbojpeg() -> Any:
    """libjpeg-turbo's TurboJPEG API, or None when the library is not installed."""
    try:
        from turbojpeg import TurboJPEG

        return TurboJPEG()
    except (ImportError, OSError, RuntimeError):
        return None


@cache
def register_heif() -> None:
    """Teach Pillow to open HEIC/HEIF (pillow-heif); idempotent."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def analyse(
    source: bytes | Path,
    *,
    thumbnail_side: int,
    thumbnail_quality: int,
    max_pixels: int,
    features: bool = True,
) -> ImageAnalysis:
    """Metadata, thumbnail (JPEG bytes), PDQ fingerprint and local features of one image.

    ``source`` is the file's bytes when it was read into memory, else the stored object's path
    (large files: Pillow then reads only what it needs). ``features=False`` skips the local
    features (the grouping stage then extracts them when it needs them).
    """
    register_heif()
    result = ImageAnalysis(want_features=features)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if isinstance(source, bytes):
            _analyse(
                result, source, io.BytesIO(source), thumbnail_side, thumbnail_quality, max_pixels
            )
        else:
            with source.open("rb") as fh:
                _analyse(result, None, fh, thumbnail_side, thumbnail_quality, max_pixels)
    notes = sorted({str(w.message) for w in caught})
    if notes:
        result.flags.setdefault("decode_warning", "; ".join(notes)[:500])
    return result


def _analyse(
    result: ImageAnalysis,
    data: bytes | None,
    fh: BinaryIO,
    side: int,
    quality: int,
    max_pixels: int,
) -> None:
    try:
        header = Image.open(fh)
    except Image.DecompressionBombError as exc:
        result.flags["decompression_bomb"] = str(exc)
        return
    except Exception as exc:  # Pillow raises many types on hostile input
        result.flags["corrupt"] = f"cannot open image: {exc}"
        return
    meta, notes = metadata_stage.extract(header)
    result.metadata = meta
    if notes:
        result.flags["metadata_error"] = "; ".join(notes)[:500]
    width, height = header.size
    if width * height > max_pixels:
        result.flags["decompression_bomb"] = (
            f"{width}x{height} = {width * height} pixels exceeds the limit of {max_pixels}"
        )
        return
    try:
        upright = _decode_upright(result, header, meta.orientation, data, fh, side)
    except Exception as exc:
        result.flags["corrupt"] = f"cannot convert image: {exc}"
        return
    if upright is None:
        return
    variants = pdq.dihedral_hashes(pdq.luma_from_image(upright))
    result.pdq = variants["original"]
    result.pdq_variants = b"".join(variants[name].hash for name in pdq.DIHEDRAL_NAMES)
    if result.want_features:
        # Local features come from the same decode, so grouping never decodes it again.
        from dalil.similar import FEATURES, geometry

        result.features = geometry.extract(upright, max_features=FEATURES).to_bytes()
    thumb = upright.copy()
    thumb.thumbnail((side, side), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG", quality=quality)
    result.thumbnail = buffer.getvalue()
    result.thumbnail_size = thumb.size


def _decode_upright(
    result: ImageAnalysis,
    header: Image.Image,
    orientation: int | None,
    data: bytes | None,
    fh: BinaryIO,
    side: int,
) -> Image.Image | None:
    """Decode once at reduced size (libjpeg-turbo for JPEG bytes, else Pillow), upright."""
    image: Image.Image | None = None
    if header.format == "JPEG" and data is not None and _GPU[0]:
        image = _decode_gpu(result, data, header.size, side)
    if image is None and header.format == "JPEG" and data is not None and _turbojpeg():
        image = _decode_turbo(result, data, header.size, side)
    if image is None and not {"corrupt", "truncated"} & result.flags.keys():
        image = _decode_pillow(result, header, fh, side)
    if image is None:
        return None
    # HEIF decoders already apply the container's rotation (pillow-heif says so in info).
    pending = None if "original_orientation" in header.info else orientation
    return _upright(image, pending)


def scale_for(size: tuple[int, int], side: int) -> int:
    """The largest DCT reduction (8, 4, 2, 1) that keeps both sides at least ``side``."""
    for denominator in (8, 4, 2):
        if size[0] // denominator >= side and size[1] // denominator >= side:
            return denominator
    return 1


def _decode_gpu(
    result: ImageAnalysis, data: bytes, size: tuple[int, int], side: int
) -> Image.Image | None:
    """nvJPEG's decode, reduced like the CPU path's; None leaves the JPEG to the CPU (which
    also names any damage)."""
    from dalil.media import gpu

    try:
        array = gpu.decode_reduced([data], side)[0]
    except RuntimeError:
        return None
    if array is None:
        return None
    result.decoder = "nvjpeg"
    result.decode_scale = scale_for(size, side)
    return Image.fromarray(array, "RGB")


def _decode_turbo(
    result: ImageAnalysis, data: bytes, size: tuple[int, int], side: int
) -> Image.Image | None:
    from turbojpeg import TJPF_RGB

    scale = scale_for(size, side)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            array = _turbojpeg().decode(data, scaling_factor=(1, scale), pixel_format=TJPF_RGB)
        except OSError as exc:
            reason = str(exc)
            if "Unsupported color conversion" in reason:
                return None  # CMYK/YCCK: Pillow can convert those
            result.flags["corrupt"] = f"cannot decode JPEG: {reason}"
            return None
    problems = sorted({str(w.message) for w in caught})
    if problems:
        text = "; ".join(problems)
        kind = "truncated" if "Premature end of JPEG file" in text else "corrupt"
        result.flags[kind] = f"JPEG data damaged: {text}"[:500]
    result.decode_scale = scale
    return Image.fromarray(array, "RGB")


def _decode_pillow(
    result: ImageAnalysis, header: Image.Image, fh: BinaryIO, side: int
) -> Image.Image | None:
    try:
        image = _pillow_load(header, side, truncated_ok=False)
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" not in reason:
            result.flags["corrupt"] = f"cannot decode image: {reason}"
            return None
        result.flags["truncated"] = reason
        try:  # still make a thumbnail of what is there
            fh.seek(0)
            image = _pillow_load(Image.open(fh), side, truncated_ok=True)
        except Exception:
            return None
    result.decode_scale = max(1, round(header.size[0] / max(1, image.size[0])))
    if max(image.size) > 2 * WORK_SIDE:
        image = image.reduce(max(1, max(image.size) // WORK_SIDE))
    return image


def _pillow_load(image: Image.Image, side: int, truncated_ok: bool) -> Image.Image:
    if image.format == "JPEG":
        image.draft("RGB", (side, side))
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok
    try:
        image.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous
    return image


def _upright(image: Image.Image, orientation: int | None) -> Image.Image:
    method = _TRANSPOSE.get(orientation or 1)
    if method is not None:
        image = image.transpose(method)
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return image.point(lambda v: v / 256).convert("L")
    return image.convert("RGB")


def reduced_image(source: bytes | Path, side: int) -> Image.Image | None:
    """Decode an image at reduced size (both sides at least ``side`` where possible), upright.

    Used by later stages (local features) that need more pixels than the thumbnail. Returns
    None when the image cannot be read or decoded.
    """
    register_heif()
    try:
        if isinstance(source, Path) and source.stat().st_size <= 256 * 1024 * 1024:
            source = source.read_bytes()
    except OSError:  # gone or unreadable (a lost original): nothing to decode
        return None
    scratch = ImageAnalysis()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if isinstance(source, bytes):
                return _reduced(scratch, source, io.BytesIO(source), side)
            with source.open("rb") as fh:
                return _reduced(scratch, None, fh, side)
        except Exception:
            return None


def _reduced(
    scratch: ImageAnalysis, data: bytes | None, fh: BinaryIO, side: int
) -> Image.Image | None:
    header = Image.open(fh)
    meta, _ = metadata_stage.extract(header)
    return _decode_upright(scratch, header, meta.orientation, data, fh, side)
