"""Zip archives: list members safely, and read them from the stored archive.

An archive is itself an item. Its members are read from the vault's copy (the source is read
once), streamed into the store like any file, and recorded as occurrences under
``archive.zip!/inner/path``. Members are read by their entry, not their name: when two
entries bear the same name, the later ones are recorded as
``archive.zip!<entry number>/inner/path`` and the archive is flagged ``zip_duplicate_names``.
Nothing is ever extracted to a path built from a member name, so
"zip slip" names cannot escape; they are recorded literally and the archive is flagged.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

MIN_BOMB_BYTES = 1024 * 1024  # small members may compress extremely well; that is normal


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    name_bytes: bytes
    size: int
    mtime_ns: int | None
    index: int  # the entry's position in the archive's central directory
    rel: bytes  # what follows "archive!" in its recorded path: b"/name" or b"7/name"


@dataclass(slots=True)
class Listing:
    members: list[Member] = field(default_factory=list)
    skipped: list[tuple[bytes, str, str]] = field(default_factory=list)  # rel, kind, reason
    flags: dict[str, str] = field(default_factory=dict)


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    if info.flag_bits & 0x800:
        return info.orig_filename.encode("utf-8")
    try:
        return info.orig_filename.encode("cp437")
    except UnicodeEncodeError:
        return info.orig_filename.encode("utf-8")


def _unsafe(name: str) -> bool:
    normalised = name.replace("\\", "/")
    parts = PurePosixPath(normalised).parts
    return normalised.startswith("/") or ".." in parts or (len(name) > 1 and name[1] == ":")


def _mtime_ns(info: zipfile.ZipInfo) -> int | None:
    try:
        return int(datetime(*info.date_time).timestamp() * 1e9)
    except (ValueError, OverflowError):
        return None


def list_members(archive: zipfile.ZipFile, *, max_ratio: int, max_member_bytes: int) -> Listing:
    """Decide which members to read; record the rest with the reason."""
    listing = Listing()
    unsafe: list[str] = []
    bombs: list[str] = []
    seen: set[bytes] = set()
    twice: list[str] = []
    for index, info in enumerate(archive.infolist()):
        name = info.orig_filename
        raw = _raw_name(info)
        if info.is_dir():
            continue
        rel = b"/" + raw
        if raw in seen:  # a second entry of the same name: named by its entry number
            twice.append(name)
            rel = str(index).encode() + b"/" + raw
        seen.add(raw)
        unix_mode = info.external_attr >> 16
        if unix_mode and stat.S_ISLNK(unix_mode):
            listing.skipped.append((rel, "symlink", "symbolic link inside the archive"))
            continue
        if _unsafe(name):
            unsafe.append(name)
        if info.flag_bits & 0x1:
            listing.skipped.append((rel, "encrypted", "encrypted archive member (no password)"))
            continue
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > max_member_bytes or (
            info.file_size > MIN_BOMB_BYTES and ratio > max_ratio
        ):
            bombs.append(name)
            listing.skipped.append(
                (
                    rel,
                    "zip_bomb",
                    f"declares {info.file_size} bytes from {info.compress_size} compressed "
                    f"(ratio {ratio:.0f}); not expanded",
                )
            )
            continue
        listing.members.append(Member(name, raw, info.file_size, _mtime_ns(info), index, rel))
    if unsafe:
        listing.flags["zip_unsafe_path"] = "member names escape the archive: " + ", ".join(
            unsafe[:10]
        )
    if bombs:
        listing.flags["zip_bomb"] = f"{len(bombs)} member(s) not expanded: " + ", ".join(bombs[:10])
    if twice:
        listing.flags["zip_duplicate_names"] = (
            f"{len(twice)} entr(y/ies) share a name with an earlier one (each kept, recorded"
            " as archive!<entry number>/name): " + ", ".join(twice[:10])
        )
    return listing
