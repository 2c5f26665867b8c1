"""Walk sources without following links and without touching them.

Directories are listed with ``os.scandir`` on bytes paths so names that are not UTF-8 survive
exactly. Symbolic links are recorded (with their target) but never followed; FIFOs, sockets and
devices are recorded as skipped; unlistable directories are reported as unreadable.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dalil.s3store import S3Config


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A regular file on the source medium."""

    abs_path: bytes
    rel_path: bytes
    size: int
    mtime_ns: int
    ctime_ns: int
    atime_ns: int
    mode: int


@dataclass(frozen=True, slots=True)
class ObjectEntry:
    """An object in a source bucket (S3): read with a GET, never written or deleted."""

    source: S3Config
    key: str
    rel_path: bytes  # BUCKET/KEY
    size: int
    mtime_ns: int
    etag: str


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """Something found in the source that holds no file content to store."""

    rel_path: bytes
    kind: str  # symlink, fifo, socket, char_device, block_device, unreadable
    reason: str


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "char_device"
    if stat.S_ISBLK(mode):
        return "block_device"
    return "other"


def _file_entry(abs_path: bytes, rel_path: bytes, st: os.stat_result) -> FileEntry:
    return FileEntry(
        abs_path, rel_path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_atime_ns, st.st_mode
    )


def _classify(abs_path: bytes, rel_path: bytes, st: os.stat_result) -> FileEntry | SkippedEntry:
    if stat.S_ISREG(st.st_mode):
        return _file_entry(abs_path, rel_path, st)
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(abs_path)
        except OSError as exc:
            target = f"<unreadable link: {exc.strerror}>".encode()
        shown = target.decode("utf-8", "backslashreplace")
        return SkippedEntry(rel_path, "symlink", f"symbolic link to {shown} (not followed)")
    kind = _special_kind(st.st_mode)
    return SkippedEntry(rel_path, kind, f"{kind.replace('_', ' ')}: not a regular file")


def walk(sources: list[Path]) -> Iterator[FileEntry | SkippedEntry]:
    """Yield every entry below the sources, in a stable (sorted) order.

    Paths are relative to each source's parent, so ``/media/usb`` gives ``usb/DCIM/…``.
    """
    for source in sources:
        abs_source = os.fsencode(os.path.abspath(source))
        base = os.path.basename(abs_source.rstrip(b"/")) or b"/"
        st = os.lstat(abs_source)
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(abs_source, base)
        else:
            yield _classify(abs_source, base, st)


def _walk_dir(abs_dir: bytes, rel_dir: bytes) -> Iterator[FileEntry | SkippedEntry]:
    try:
        with os.scandir(abs_dir) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield SkippedEntry(rel_dir, "unreadable", f"cannot list folder: {exc.strerror or exc}")
        return
    for entry in entries:
        rel = rel_dir + b"/" + entry.name
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            yield SkippedEntry(rel, "unreadable", f"cannot stat: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(entry.path, rel)
        else:
            yield _classify(entry.path, rel, st)


def walk_buckets(sources: list[S3Config]) -> Iterator[ObjectEntry | SkippedEntry]:
    """Every object under each source bucket's prefix, in key order; a bucket that cannot be
    listed is one skipped entry saying why (its objects are then not ingested)."""
    from dalil.s3store import S3Error, describe_error, list_source

    for source in sources:
        bucket = source.location.bucket
        try:
            for found in list_source(source):
                rel = f"{bucket}/{found.key}".encode()
                if found.key.endswith("/") and found.size == 0:
                    continue  # a folder marker, not a file
                yield ObjectEntry(source, found.key, rel, found.size, found.mtime_ns, found.etag)
        except S3Error as exc:
            yield SkippedEntry(
                source.location.url.encode(), "unreadable", f"cannot list: {describe_error(exc)}"
            )
