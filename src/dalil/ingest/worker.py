"""The per-file stages, run in worker processes: read + hash + store, then describe.

Everything here is a plain function over small picklable records, so a process pool (here) or
a cluster scheduler can run it. Workers only read the catalogue; the main process writes.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import sqlite3
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import PIL
from PIL import Image

from dalil.catalog import connect
from dalil.ingest import archive as archive_stage
from dalil.ingest import decode, identify
from dalil.settings import Settings
from dalil.store import ObjectStore, derived_relpath, write_atomic

THUMBNAIL_KIND = "thumbnail"
FEATURES_KIND = "features"


@dataclass(frozen=True, slots=True)
class FileTask:
    """One file on the source medium."""

    abs_path: bytes
    rel_path: bytes
    size: int
    mtime_ns: int | None
    ctime_ns: int | None
    atime_ns: int | None
    mode: int | None


@dataclass(frozen=True, slots=True)
class MemberTask:
    """Members of one stored zip archive, read from the vault's copy."""

    archive_sha256: str
    archive_rel_path: bytes
    members: tuple[archive_stage.Member, ...]
    depth: int


@dataclass(slots=True)
class ItemResult:
    rel_path: bytes
    size: int
    mtime_ns: int | None = None
    ctime_ns: int | None = None
    atime_ns: int | None = None
    mode: int | None = None
    sha256: str | None = None
    error: str | None = None  # the file could not be read: nothing stored
    known: bool = False  # the catalogue already held the item: nothing else computed
    media_type: str = identify.UNKNOWN
    flags: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    pdq: tuple[str, int] | None = None
    pdq_variants: bytes | None = None
    thumbnail: dict[str, Any] | None = None
    member_tasks: list[MemberTask] = field(default_factory=list)
    skipped: list[tuple[bytes, str, str]] = field(default_factory=list)
    depth: int = 0


@dataclass(slots=True)
class _Context:
    vault_root: Path
    settings: Settings
    store: ObjectStore
    catalog: sqlite3.Connection
    group: bool


_CTX: _Context | None = None


def init_worker(vault_root: str, settings: Settings, group: bool = True) -> None:
    """Process-pool initializer: open the store and a read-only catalogue connection.

    ``group``: also extract local features for near-duplicate grouping.
    """
    global _CTX
    decode.register_heif()
    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    root = Path(vault_root)
    _CTX = _Context(
        root,
        settings,
        ObjectStore(root / "objects", root / "tmp", fsync=settings.fsync),
        connect(root / "catalog.sqlite", readonly=True),
        group,
    )


def _ctx() -> _Context:
    if _CTX is None:
        raise RuntimeError("init_worker() was not called in this process")
    return _CTX


def run_task(task: FileTask | MemberTask) -> list[ItemResult]:
    """Run one task to completion; never raises for bad input (errors become results)."""
    if isinstance(task, FileTask):
        return [_run_file(task)]
    return _run_members(task)


# -- read + hash + store -------------------------------------------------------------------


def _open_readonly(path: bytes) -> int:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:  # do not even touch the access time on the source medium, where allowed
        return os.open(path, flags | os.O_NOATIME)
    except PermissionError:
        return os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return os.open(path, flags)
        raise


def _run_file(task: FileTask) -> ItemResult:
    ctx = _ctx()
    result = ItemResult(
        task.rel_path, task.size, task.mtime_ns, task.ctime_ns, task.atime_ns, task.mode
    )
    try:
        fd = _open_readonly(task.abs_path)
    except OSError as exc:
        result.error = f"cannot open: {exc.strerror or exc}"
        return result
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            result.error = "no longer a regular file"
            return result
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as fh:
            if st.st_size <= ctx.settings.in_memory_limit:
                data = fh.readall()
                _describe_bytes(result, data, hashlib.sha256(data).hexdigest())
            else:
                stored = ctx.store.put_stream(fh)
                _describe_stored(result, stored.sha256, stored.size)
    except OSError as exc:
        result.error = f"read error: {exc.strerror or exc}"
        result.sha256 = None
    finally:
        os.close(fd)
    return result


def _known(sha256: str) -> bool:
    row = _ctx().catalog.execute("SELECT 1 FROM items WHERE sha256 = ?", (sha256,)).fetchone()
    return row is not None


def _describe_bytes(result: ItemResult, data: bytes, digest: str) -> None:
    ctx = _ctx()
    result.sha256 = digest
    result.size = len(data)
    known = _known(digest)
    ctx.store.put_bytes(data, digest)  # no-op when the object is already stored
    if known:
        result.known = True
        return
    result.media_type = identify.media_type(data[: identify.HEAD_BYTES])
    _analyse(result, data, ctx)


def _describe_stored(result: ItemResult, digest: str, size: int) -> None:
    ctx = _ctx()
    result.sha256 = digest
    result.size = size
    if _known(digest):
        result.known = True
        return
    path = ctx.store.path(digest)
    with path.open("rb") as fh:
        head = fh.read(identify.HEAD_BYTES)
    result.media_type = identify.media_type(head)
    _analyse(result, path, ctx)


# -- describe ------------------------------------------------------------------------------


def _analyse(result: ItemResult, source: bytes | Path, ctx: _Context) -> None:
    assert result.sha256 is not None
    name = result.rel_path.rsplit(b"/", 1)[-1]
    if result.size == 0:
        result.flags["empty"] = "zero-byte file"
    elif result.media_type == identify.UNKNOWN:
        result.flags["unknown_type"] = "content matches no known file type"
    mismatch = identify.extension_mismatch(name, result.media_type)
    if mismatch:
        result.flags["extension_mismatch"] = mismatch
    if result.media_type in identify.IMAGE_TYPES:
        _analyse_image(result, source, ctx)
    elif result.media_type in identify.ARCHIVE_TYPES:
        _expand_archive(result, source, ctx)


def _analyse_image(result: ItemResult, source: bytes | Path, ctx: _Context) -> None:
    assert result.sha256 is not None
    settings = ctx.settings
    analysis = decode.analyse(
        source,
        thumbnail_side=settings.thumbnail_size,
        thumbnail_quality=settings.thumbnail_quality,
        max_pixels=settings.max_image_pixels,
        features=ctx.group,
    )
    result.flags.update(analysis.flags)
    if analysis.metadata is not None:
        summary = analysis.metadata.summary()
        summary["raw"] = analysis.metadata.raw
        result.metadata = summary
    if analysis.pdq is not None:
        result.pdq = (analysis.pdq.hex, analysis.pdq.quality)
        result.pdq_variants = analysis.pdq_variants
    if analysis.features is not None:
        rel_features = derived_relpath(FEATURES_KIND, result.sha256, ".orb")
        write_atomic(
            ctx.vault_root / rel_features, analysis.features, ctx.store.tmp_dir, fsync=False
        )
    result.thumbnail = write_thumbnail(
        ctx.vault_root, ctx.store.tmp_dir, settings, result.sha256, analysis
    )


def write_thumbnail(
    root: Path, tmp_dir: Path, settings: Settings, sha256: str, analysis: decode.ImageAnalysis
) -> dict[str, Any] | None:
    """Store an image's thumbnail derivative; its record (path, file hash, recipe) or None."""
    if analysis.thumbnail is None or analysis.thumbnail_size is None:
        return None
    rel = derived_relpath(THUMBNAIL_KIND, sha256, ".jpg")
    write_atomic(root / rel, analysis.thumbnail, tmp_dir, fsync=False)
    return {
        "path": rel,
        "file_sha256": hashlib.sha256(analysis.thumbnail).hexdigest(),
        "width": analysis.thumbnail_size[0],
        "height": analysis.thumbnail_size[1],
        "recipe": {
            "tool": f"Pillow {PIL.__version__}",
            "max_side": settings.thumbnail_size,
            "quality": settings.thumbnail_quality,
            "decode_scale": f"1/{analysis.decode_scale}",
            "exif_orientation_applied": True,
        },
    }


def _expand_archive(result: ItemResult, source: bytes | Path, ctx: _Context) -> None:
    assert result.sha256 is not None
    settings = ctx.settings
    if result.depth >= settings.zip_max_depth:
        result.flags["zip_too_deep"] = (
            f"archive nested {result.depth} deep; members are not expanded "
            f"(limit {settings.zip_max_depth})"
        )
        return
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
            listing = archive_stage.list_members(
                zf,
                max_ratio=settings.zip_max_ratio,
                max_member_bytes=settings.zip_max_member_bytes,
            )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        result.flags["corrupt_archive"] = f"cannot read archive: {exc}"
        return
    result.flags.update(listing.flags)
    result.skipped.extend(
        (result.rel_path + b"!/" + name, kind, reason) for name, kind, reason in listing.skipped
    )
    batch = 64
    for start in range(0, len(listing.members), batch):
        result.member_tasks.append(
            MemberTask(
                result.sha256,
                result.rel_path,
                tuple(listing.members[start : start + batch]),
                result.depth + 1,
            )
        )


def _run_members(task: MemberTask) -> list[ItemResult]:
    ctx = _ctx()
    results: list[ItemResult] = []
    try:
        zf = zipfile.ZipFile(ctx.store.path(task.archive_sha256))
    except (zipfile.BadZipFile, OSError) as exc:
        for member in task.members:
            res = ItemResult(task.archive_rel_path + b"!/" + member.name_bytes, member.size)
            res.error = f"cannot reopen stored archive: {exc}"
            results.append(res)
        return results
    with zf:
        for member in task.members:
            res = ItemResult(
                task.archive_rel_path + b"!/" + member.name_bytes,
                member.size,
                member.mtime_ns,
                depth=task.depth,
            )
            try:
                with zf.open(member.name) as fh:
                    if member.size <= ctx.settings.in_memory_limit:
                        data = fh.read(ctx.settings.in_memory_limit + 1)
                        _describe_bytes(res, data, hashlib.sha256(data).hexdigest())
                    else:
                        stored = ctx.store.put_stream(fh)  # type: ignore[arg-type]
                        _describe_stored(res, stored.sha256, stored.size)
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                OSError,
                NotImplementedError,
                RuntimeError,
                ValueError,
            ) as exc:
                res.sha256 = None
                res.error = f"archive member unreadable: {exc}"
            results.append(res)
    return results
