"""What the web workspace discloses of an item, and to whom. Every page and API route that
shows metadata, places found or acquisitions passes them through here.

**Picture bytes hide in metadata.** Files that went through Adobe software carry a JPEG
preview in their XMP (``xmpGImg:image``, base64); EXIF carries a thumbnail; maker notes and
ICC profiles carry more. Any of these would show the picture to someone who has not revealed
it — and to the family-liaison role, who may never. So :func:`scrub` treats as picture
content, and replaces with a short note of its size,

- any base64-looking run of at least :data:`MIN_BLOB` characters (runs of 16+ characters of
  the base64 alphabet joined only by white space or XML line-break entities: one preview is
  many such lines), hex dumps included;
- any long string that is mostly not printable text (raw binary decoded as text).

Ordinary values (a serial, a hash of 64 hex digits, a sentence) stay as they are.

**Provenance is not for every role.** Camera serial numbers, GPS positions, the paths files
were found at and where an acquisition came from identify sources and places; the
family-liaison role (permission ``provenance`` withheld, see :data:`dalil.users.PERMISSIONS`)
sees case ids, identifiers and blurred thumbnails, and of an item its type, size, camera make
and model and capture time — not the full metadata dump, which can carry serials and positions
in many places.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dalil import users

MIN_BLOB = 96
"""Characters of base64 (72 bytes) from which a run counts as picture content."""

_RUN = re.compile(r"(?:[A-Za-z0-9+/_-]{16,}={0,2}(?:\s|&#x?[0-9A-Fa-f]{1,4};|\\[nr])*)+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_=-]")

PROVENANCE_FIELDS = ("camera_serial", "gps_lat", "gps_lon", "gps_alt")

Words = Callable[[str], str]
"""A translation function (``gettext``) for the notes that replace what is removed."""


def _as_written(message: str) -> str:
    return message


def _blob(match: re.Match[str], gettext: Words) -> str:
    text = match.group(0)
    letters = len(_BASE64.findall(text))
    if letters < MIN_BLOB:
        return text
    note = gettext("[picture or binary data removed: %(n)s characters]") % {"n": letters}
    return note + (" " if text[-1:].isspace() else "")


def _binary_looking(text: str) -> bool:
    if len(text) < 64:
        return False
    odd = sum(1 for c in text if c == "\ufffd" or not (c.isprintable() or c in "\n\r\t"))
    return odd > len(text) // 10


def scrub_text(text: str, gettext: Words = _as_written) -> str:
    """``text`` without picture or binary content (see the module's docstring); what is
    removed is named in ``gettext``'s language."""
    if _binary_looking(text):
        return gettext("[binary data removed: %(n)s characters]") % {"n": len(text)}
    if len(text) < MIN_BLOB:
        return text
    return _RUN.sub(lambda match: _blob(match, gettext), text)


def scrub(value: Any, gettext: Words = _as_written) -> Any:
    """A copy of ``value`` (metadata as JSON: dicts, lists, strings, numbers) with every
    string passed through :func:`scrub_text`."""
    if isinstance(value, str):
        return scrub_text(value, gettext)
    if isinstance(value, dict):
        return {k: scrub(v, gettext) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, gettext) for v in value]
    return value


def item(user: users.User, detail: dict[str, Any], gettext: Words = _as_written) -> dict[str, Any]:
    """An item's detail (:func:`dalil.catalog.queries.item_detail`) as ``user`` may see it;
    notes of what was removed in ``gettext``'s language (a page's; the API's are English)."""
    shown: dict[str, Any] = scrub(detail, gettext)
    if user.may("provenance"):
        return shown
    shown["metadata"] = {
        k: (None if k in PROVENANCE_FIELDS else v) for k, v in shown["metadata"].items()
    }
    shown["metadata_raw"] = {}
    shown["occurrences"] = [
        {"acquisition": o["acquisition"], "size": o["size"]} for o in shown["occurrences"]
    ]
    return shown


def cluster(user: users.User, detail: dict[str, Any]) -> dict[str, Any]:
    """A cluster's detail (:func:`dalil.similar.clusters.cluster_detail`) for ``user``."""
    if user.may("provenance"):
        return detail
    members = [
        {k: v for k, v in member.items() if k not in ("camera_serial", "occurrences")}
        for member in detail["items"]
    ]
    return {**detail, "items": members}


def acquisitions(user: users.User, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Acquisitions (:func:`dalil.catalog.queries.list_acquisitions`) for ``user``: without
    where they came from (label, paths, note) for a role that may not see provenance."""
    if user.may("provenance"):
        return rows
    return [{k: v for k, v in r.items() if k not in ("from", "sources", "note")} for r in rows]
