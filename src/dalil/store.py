"""The content-addressed object store: originals written once, atomically, read-only.

Layout: ``objects/sha256/ab/cd/<hex>``. An object is staged in ``tmp/`` on the same file
system, flushed, then hard-linked into place, so a reader never sees a half-written object and
an existing object is never overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from dalil.s3store import S3Store
    from dalil.settings import Settings

CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredObject:
    sha256: str
    size: int
    created: bool  # False when the store already held these bytes


def derived_relpath(kind: str, hexdigest: str, suffix: str) -> str:
    """Where a derivative lives, relative to the vault: ``derived/<kind>/ab/<hex><suffix>``."""
    return f"derived/{kind}/{hexdigest[:2]}/{hexdigest}{suffix}"


def object_relpath(hexdigest: str) -> str:
    return f"{hexdigest[:2]}/{hexdigest[2:4]}/{hexdigest}"


def open_store(root: Path, settings: Settings) -> ObjectStore | S3Store:
    """The vault's object store: its ``objects/`` folder, or the S3 bucket ``store`` names."""
    if not settings.store:
        return ObjectStore(root / "objects", root / "tmp", fsync=settings.fsync)
    from dalil.s3store import S3Config, shared_store

    return shared_store(
        S3Config.from_settings(settings), root / "tmp", settings.s3_cache_mib * 1024 * 1024
    )


class ObjectStore:
    """Write-once storage of originals by SHA-256."""

    def __init__(self, objects_dir: Path, tmp_dir: Path, *, fsync: bool = True) -> None:
        self.root = objects_dir / "sha256"
        self.tmp_dir = tmp_dir
        self.fsync = fsync

    @property
    def url(self) -> str:
        return str(self.root.parent)

    def path(self, hexdigest: str) -> Path:
        return self.root / object_relpath(hexdigest)

    def local_path(self, hexdigest: str) -> Path:
        """A local file with the object's bytes: the stored object itself."""
        return self.path(hexdigest)

    def has(self, hexdigest: str) -> bool:
        return self.path(hexdigest).is_file()

    def put_bytes(self, data: bytes | memoryview, hexdigest: str | None = None) -> StoredObject:
        """Store bytes already in memory (hash computed here unless given)."""
        digest = hexdigest or hashlib.sha256(data).hexdigest()
        if self.has(digest):
            return StoredObject(digest, len(data), created=False)
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, prefix="obj-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                self._flush(fh)
            return self._publish(Path(tmp), digest, len(data))
        finally:
            _unlink_quietly(tmp)

    def put_stream(self, source: BinaryIO) -> StoredObject:
        """Stream ``source`` into the store, hashing while copying (bounded memory)."""
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, prefix="obj-")
        try:
            with os.fdopen(fd, "wb") as fh:
                digest, size = copy_hashing(source, fh)
                self._flush(fh)
            return self._publish(Path(tmp), digest, size)
        finally:
            _unlink_quietly(tmp)

    def _flush(self, fh: BinaryIO) -> None:
        if self.fsync:
            fh.flush()
            os.fdatasync(fh.fileno())

    def _publish(self, tmp: Path, digest: str, size: int) -> StoredObject:
        target = self.path(digest)
        if target.exists():
            return StoredObject(digest, size, created=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        try:
            os.link(tmp, target)
        except FileExistsError:
            return StoredObject(digest, size, created=False)
        if self.fsync:
            _fsync_dir(target.parent)
        return StoredObject(digest, size, created=True)

    def iter_objects(self) -> Iterator[tuple[str, Path]]:
        """Every file under the store, as (name, path); names need not be valid digests."""
        if not self.root.is_dir():
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                yield name, Path(dirpath) / name


def copy_hashing(source: BinaryIO, target: BinaryIO) -> tuple[str, int]:
    """Copy ``source`` to ``target`` in chunks while hashing: (SHA-256 hex, bytes copied)."""
    hasher = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK):
        hasher.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def write_atomic(path: Path, data: bytes, tmp_dir: Path, *, fsync: bool = True) -> None:
    """Write a small file (a derivative) atomically, replacing any earlier version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix="drv-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fdatasync(fh.fileno())
        os.replace(tmp, path)
    finally:
        _unlink_quietly(tmp)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str | Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
