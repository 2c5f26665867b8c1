"""The per-file stages, run in worker processes: read + hash + store, then describe.

Everything here is a plain function over small picklable records, so a process pool (here) or
a cluster scheduler can run it. Workers only read the catalogue; the main process writes.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import PIL
from PIL import Image

from dalil.catalog.db import Db, open_catalogue
from dalil.errors import VaultError
from dalil.ingest import archive as archive_stage
from dalil.ingest import decode, identify
from dalil.settings import Settings
from dalil.store import ObjectStore, derived_relpath, open_store, write_atomic

if TYPE_CHECKING:
    from dalil.s3store import S3Config, S3Store

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
class ObjectTask:
    """One object in a source bucket (S3)."""

    source: S3Config
    key: str
    rel_path: bytes
    size: int
    mtime_ns: int
    etag: str


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
    fatal: str | None = None  # the vault could not be written (disk full …): the run must stop
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
    store: ObjectStore | S3Store
    catalog: Db
    group: bool


_CTX: _Context | None = None


def init_worker(vault_root: str, settings: Settings, group: bool = True) -> None:
    """Process-pool initializer: open the store and a read-only catalogue connection.

    ``group``: also extract local features for near-duplicate grouping.
    """
    global _CTX
    decode.register_heif()
    decode.use_gpu(settings.decode_device == "gpu")
    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    root = Path(vault_root)
    if not (root / "dalil.toml").is_file():  # a cluster node without the shared vault folder
        raise VaultError(
            f"a worker does not see the vault folder {root}: workers need it at the same path"
            " (shared storage; docs/scale.md)"
        )
    _CTX = _Context(
        root,
        settings,
        open_store(root, settings),
        open_catalogue(root, settings.catalog, readonly=True),
        group,
    )


def _ctx() -> _Context:
    if _CTX is None:
        raise RuntimeError("init_worker() was not called in this process")
    return _CTX


def run_task(task: FileTask | ObjectTask | MemberTask) -> list[ItemResult]:
    """Run one task to completion; never raises for bad input (errors become results)."""
    if isinstance(task, FileTask):
        return [_run_file(task)]
    if isinstance(task, ObjectTask):
        return [_run_object(task)]
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


class SourceReadError(Exception):
    """Reading the source failed (as opposed to writing the vault)."""


class _Source:
    """A source file object whose read errors say they are the source's (``errors``: what
    its reads raise when the source fails; a bucket's body raises botocore's own errors)."""

    def __init__(self, fh: BinaryIO, errors: tuple[type[Exception], ...] = (OSError,)) -> None:
        self.fh = fh
        self.errors = errors
        self.read_bytes = 0

    def read(self, n: int = -1) -> bytes:
        try:
            chunk = self.fh.read(n)
        except self.errors as exc:
            reason = exc.strerror if isinstance(exc, OSError) else None
            raise SourceReadError(reason or str(exc)) from exc
        self.read_bytes += len(chunk or b"")
        return chunk or b""


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
        # what is recorded is the file as it was opened, not as the walk saw it
        result.mtime_ns, result.ctime_ns, result.atime_ns, result.mode = (
            st.st_mtime_ns,
            st.st_ctime_ns,
            st.st_atime_ns,
            st.st_mode,
        )
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as fh:
            source = _Source(fh)
            if st.st_size <= ctx.settings.in_memory_limit:
                data = source.read()
                changed = _changed_while_read(fd, st, len(data))
                _describe_bytes(result, data, hashlib.sha256(data).hexdigest(), changed)
            else:
                stored = ctx.store.put_stream(source)  # type: ignore[arg-type]
                changed = _changed_while_read(fd, st, source.read_bytes)
                _describe_stored(result, stored.sha256, stored.size, changed)
    except SourceReadError as exc:
        result.error = f"read error: {exc}"
        result.sha256 = None
    except OSError as exc:  # the vault's side: never a fact about the source
        result.fatal = f"cannot write to the vault: {exc.strerror or exc}"
        result.sha256 = None
    finally:
        os.close(fd)
    return result


def _run_object(task: ObjectTask) -> ItemResult:
    """Read one source object with a GET (its bucket is never written to), then as a file."""
    from dalil.s3store import S3Error, describe_error, open_source_object

    ctx = _ctx()
    result = ItemResult(task.rel_path, task.size, task.mtime_ns)
    try:
        body, etag = open_source_object(task.source, task.key)
    except S3Error as exc:
        result.error = f"cannot read from the bucket: {describe_error(exc)}"
        return result
    source = _Source(body, (Exception,))  # any failure reading the body is the bucket's
    try:
        if task.size <= ctx.settings.in_memory_limit:
            data = source.read()
            changed = _object_changed(task, etag, len(data))
            _describe_bytes(result, data, hashlib.sha256(data).hexdigest(), changed)
        else:
            stored = ctx.store.put_stream(source)  # type: ignore[arg-type]
            _describe_stored(
                result, stored.sha256, stored.size, _object_changed(task, etag, stored.size)
            )
    except SourceReadError as exc:
        result.error = f"read error: {exc}"
        result.sha256 = None
    except OSError as exc:  # the vault's side
        result.fatal = f"cannot write to the vault: {exc.strerror or exc}"
        result.sha256 = None
    finally:
        body.close()
    return result


def _object_changed(task: ObjectTask, etag: str, read: int) -> str | None:
    """Why the bytes read may not be the object as listed, or None."""
    if read != task.size:
        return f"the object was {task.size} bytes when listed; the {read} bytes read are stored"
    if task.etag and etag and etag != task.etag:
        return "the object was replaced after it was listed; the bytes read are what is stored"
    return None


def _changed_while_read(fd: int, before: os.stat_result, read: int) -> str | None:
    """Why the bytes read may not be the file as it was opened (it grew, shrank or was
    written to meanwhile), or None."""
    try:
        after = os.fstat(fd)
    except OSError:
        return None
    if read != before.st_size or after.st_size != before.st_size:
        return (
            f"the file was {before.st_size} bytes when opened, {after.st_size} after reading;"
            f" the {read} bytes read are what is stored"
        )
    if after.st_mtime_ns != before.st_mtime_ns:
        return "the file was modified while it was read; the bytes read are what is stored"
    return None


def _known(sha256: str) -> str | None:
    """The media type of an item the catalogue holds already, else None."""
    row = (
        _ctx()
        .catalog.execute("SELECT media_type FROM items WHERE sha256 = ?", (sha256,))
        .fetchone()
    )
    return None if row is None else str(row[0])


def _describe_bytes(
    result: ItemResult, data: bytes, digest: str, changed: str | None = None
) -> None:
    ctx = _ctx()
    result.sha256 = digest
    result.size = len(data)
    known = _known(digest)
    ctx.store.put_bytes(data, digest)  # no-op when the object is already stored
    if known is not None:
        _known_item(result, known, data)
        return
    result.media_type = identify.media_type(data[: identify.HEAD_BYTES])
    if changed:
        result.flags["changed_while_read"] = changed
    _analyse(result, data, ctx)


def _describe_stored(
    result: ItemResult, digest: str, size: int, changed: str | None = None
) -> None:
    ctx = _ctx()
    result.sha256 = digest
    result.size = size
    path = ctx.store.local_path(digest)
    known = _known(digest)
    if known is not None:
        _known_item(result, known, path)
        return
    with path.open("rb") as fh:
        head = fh.read(identify.HEAD_BYTES)
    result.media_type = identify.media_type(head)
    if changed:
        result.flags["changed_while_read"] = changed
    _analyse(result, path, ctx)


def _known_item(result: ItemResult, media_type: str, source: bytes | Path) -> None:
    """An item the vault holds: nothing to describe, but an archive's members are listed
    again, so that every place they were found is recorded (a new source, or a run that was
    interrupted before the members)."""
    result.known = True
    result.media_type = media_type
    if media_type in identify.ARCHIVE_TYPES:
        _expand_archive(result, source, _ctx(), record_flags=False)


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
        }
        | ({"decoder": analysis.decoder} if analysis.decoder else {}),
    }


def _expand_archive(
    result: ItemResult, source: bytes | Path, ctx: _Context, *, record_flags: bool = True
) -> None:
    assert result.sha256 is not None
    settings = ctx.settings
    if result.depth >= settings.zip_max_depth:
        if record_flags:
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
        if record_flags:
            result.flags["corrupt_archive"] = f"cannot read archive: {exc}"
        return
    if record_flags:
        result.flags.update(listing.flags)
    result.skipped.extend(
        (result.rel_path + b"!" + rel, kind, reason) for rel, kind, reason in listing.skipped
    )
    for members in _batches(listing.members):
        result.member_tasks.append(
            MemberTask(result.sha256, result.rel_path, tuple(members), result.depth + 1)
        )


def _batches(members: list[archive_stage.Member]) -> list[list[archive_stage.Member]]:
    """Members in tasks of a few hundred MB or a few thousand entries: the archive is opened
    once per task (and kept open per worker), so a 100,000-entry zip is not parsed 1,500 times,
    while several workers still share a large one."""
    most = max(64, min(4096, len(members) // ((os.cpu_count() or 1) * 4) + 1))
    out: list[list[archive_stage.Member]] = []
    current: list[archive_stage.Member] = []
    size = 0
    for member in members:
        if current and (len(current) >= most or size + member.size > 256 * 1024 * 1024):
            out.append(current)
            current, size = [], 0
        current.append(member)
        size += member.size
    if current:
        out.append(current)
    return out


_OPEN_ARCHIVE: dict[str, zipfile.ZipFile] = {}


def _archive(sha256: str) -> zipfile.ZipFile:
    """The stored archive, opened once per worker process (its central directory is parsed
    once, not once per batch of members)."""
    if sha256 not in _OPEN_ARCHIVE:
        for old in _OPEN_ARCHIVE.values():
            old.close()
        _OPEN_ARCHIVE.clear()
        _OPEN_ARCHIVE[sha256] = zipfile.ZipFile(_ctx().store.local_path(sha256))
    return _OPEN_ARCHIVE[sha256]


def _run_members(task: MemberTask) -> list[ItemResult]:
    ctx = _ctx()
    results: list[ItemResult] = []
    try:
        zf = _archive(task.archive_sha256)
        entries = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        for member in task.members:
            res = ItemResult(task.archive_rel_path + b"!" + member.rel, member.size)
            res.error = f"cannot reopen stored archive: {exc}"
            results.append(res)
        return results
    for member in task.members:
        res = ItemResult(
            task.archive_rel_path + b"!" + member.rel,
            member.size,
            member.mtime_ns,
            depth=task.depth,
        )
        try:
            # by entry, not by name: two members may bear the same name
            with zf.open(entries[member.index]) as fh:
                source = _Source(fh)  # type: ignore[arg-type]
                if member.size <= ctx.settings.in_memory_limit:
                    data = source.read(ctx.settings.in_memory_limit + 1)
                    _describe_bytes(res, data, hashlib.sha256(data).hexdigest())
                else:
                    stored = ctx.store.put_stream(source)  # type: ignore[arg-type]
                    _describe_stored(res, stored.sha256, stored.size)
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            NotImplementedError,
            RuntimeError,
            ValueError,
            IndexError,
            SourceReadError,
        ) as exc:
            res.sha256 = None
            res.error = f"archive member unreadable: {exc}"
        except OSError as exc:  # the vault's side
            res.sha256 = None
            res.fatal = f"cannot write to the vault: {exc.strerror or exc}"
        results.append(res)
    return results
