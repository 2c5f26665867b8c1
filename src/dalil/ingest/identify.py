"""Type by content (libmagic via python-magic), never by file name."""

from __future__ import annotations

import mimetypes
import os
from functools import cache

import magic

HEAD_BYTES = 64 * 1024

# Types Dalil decodes for thumbnails and fingerprints.
IMAGE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/tiff",
        "image/webp",
        "image/heic",
        "image/heif",
        "image/heic-sequence",
        "image/heif-sequence",
        "image/gif",
        "image/bmp",
        "image/x-ms-bmp",
    }
)
ARCHIVE_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})
UNKNOWN = "application/octet-stream"

# Extensions mimetypes does not know, or knows under another name.
_EXTRA_EXTENSIONS = {
    "image/heic": {".heic", ".heif", ".hif"},
    "image/heif": {".heic", ".heif", ".hif"},
    "image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "image/tiff": {".tif", ".tiff", ".dng"},
    "image/x-ms-bmp": {".bmp"},
    "image/webp": {".webp"},
    "video/quicktime": {".mov", ".qt"},
    "video/mp4": {".mp4", ".m4v"},
    "text/plain": {".txt", ".csv", ".log", ".md"},
}


@cache
def _magic() -> magic.Magic:
    return magic.Magic(mime=True)


def media_type(head: bytes) -> str:
    """The media type of content whose first bytes are ``head`` (at least 64 KiB if any)."""
    if not head:
        return "application/x-empty"
    found = str(_magic().from_buffer(head))
    return found or UNKNOWN


def extension_mismatch(name: bytes, found_type: str) -> str | None:
    """A reason when the name's extension claims another known type than the content."""
    ext = os.path.splitext(name)[1].decode("utf-8", "replace").lower()
    if not ext or found_type in ("application/x-empty", UNKNOWN):
        return None
    claimed = mimetypes.guess_type(f"x{ext}", strict=False)[0]
    if claimed is None:
        return None
    expected = set(mimetypes.guess_all_extensions(found_type, strict=False))
    expected |= _EXTRA_EXTENSIONS.get(found_type, set())
    same_family = claimed.startswith("text/") and found_type.startswith("text/")
    if ext in expected or claimed == found_type or same_family:
        return None
    return f"named {ext} ({claimed}) but the content is {found_type}"
