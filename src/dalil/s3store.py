"""The object store on an S3-compatible server: originals written once, verified after writing.

Chosen in ``dalil.toml`` with ``store = "s3://BUCKET/PREFIX"`` (and ``s3_endpoint`` for a
server other than AWS: SeaweedFS, MinIO, Ceph). Keys mirror the folder layout:
``PREFIX/sha256/ab/cd/<hex>``. The guarantees are the folder store's:

* **Write once.** Every write is conditional (``If-None-Match: *``): the server refuses to
  replace an object. Where the server ignores the condition, a HEAD before the write finds
  the object first; a key is a SHA-256, so the only bytes ever written under it are the same.
  With ``s3_lock_days``, each original also gets an Object Lock retention (COMPLIANCE mode):
  nobody, not even the bucket's owner, can delete or replace it before that date.
* **Verified after writing.** A single PUT carries the SHA-256 (``x-amz-checksum-sha256``):
  the server rejects a body that arrived different. Then the stored checksum is read back
  (HEAD) and compared; a server that keeps no whole-object SHA-256 (multipart uploads, older
  servers) is read back in full and hashed.
* **An object already there is proved, not trusted:** its bytes must hash to its name, else
  :class:`StoreConflict` (the store holds something else under an original's name).
* **Large files** are spooled to the vault's ``tmp/`` while hashed (the source is read once),
  then sent by multipart upload; the spool stays as the local cache copy.
* **No credentials here.** They come from the standard AWS chain (environment, the named
  ``s3_profile`` in ``~/.aws``, instance roles), never from ``dalil.toml``, and never appear
  in the ledger, logs or messages; a store address with a user name or password in it is
  refused.

Readers that need a file (Pillow, zip) get a local copy, downloaded once into
``tmp/s3-cache/`` and checked against its name on the way in (:meth:`S3Store.local_path`).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from dalil.errors import DalilError, UsageError
from dalil.store import StoredObject, copy_hashing, object_relpath

if TYPE_CHECKING:
    from dalil.settings import Settings

MIN_PART = 5 * 1024 * 1024  # S3's smallest part (but the last)


class S3Error(DalilError, OSError):
    """A request to the S3 store failed: the service's error code and message only (never a
    request's headers or the account's keys). An ``OSError``, so that ingest stops as for a
    folder it cannot write to, naming the reason; a :class:`DalilError`, so that a command
    says it in one line."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class StoreConflict(S3Error):
    """The object store holds bytes under an original's name that are not that original."""


class _Guarded:
    """The boto3 client, its errors turned into :class:`S3Error`."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except Exception as exc:
                raise _translated(exc) from None

        return call


def _translated(exc: Exception) -> Exception:
    if isinstance(exc, S3Error):
        return exc
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError | BotoCoreError):
        return S3Error(f"the S3 store: {describe_error(exc)}", status=_status(exc), code=_code(exc))
    return exc


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str  # "" or "some/prefix/" (always ending with a slash)

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """``s3://BUCKET/PREFIX``; a usage error (that never repeats a secret) otherwise."""
        parts = urlsplit(url.strip())
        if parts.scheme != "s3":
            raise UsageError("an S3 store is written s3://BUCKET/PREFIX")
        if "@" in parts.netloc:
            raise UsageError(
                "the S3 store's address holds a user name or password: remove it (credentials"
                " come from the environment or ~/.aws, never from the vault's settings)"
            )
        if parts.query or parts.fragment:
            raise UsageError("an S3 store is written s3://BUCKET/PREFIX (no ? or #)")
        bucket = parts.netloc
        if not bucket:
            raise UsageError("the S3 store's address names no bucket (s3://BUCKET/PREFIX)")
        prefix = parts.path.strip("/")
        return cls(bucket, f"{prefix}/" if prefix else "")

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, hexdigest: str) -> str:
        return f"{self.prefix}sha256/{object_relpath(hexdigest)}"


@dataclass(frozen=True, slots=True)
class S3Config:
    """Where the store is and how to reach it: names only, never a secret (picklable, so
    worker processes make their own client from it)."""

    location: S3Location
    endpoint: str = ""
    region: str = ""
    profile: str = ""
    part_size: int = 64 * 1024 * 1024
    lock_days: int = 0

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None = None) -> S3Config:
        return cls(
            S3Location.parse(url or settings.store),
            settings.s3_endpoint,
            settings.s3_region,
            settings.s3_profile,
            max(MIN_PART, settings.s3_part_size_mib * 1024 * 1024),
            settings.s3_lock_days,
        )

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        if self.endpoint and "@" in urlsplit(self.endpoint).netloc:
            raise UsageError("s3_endpoint holds a user name or password: remove it")
        session = boto3.session.Session(profile_name=self.profile or None)
        return session.client(
            "s3",
            endpoint_url=self.endpoint or None,
            region_name=self.region or None,
            config=Config(
                s3={"addressing_style": "path"} if self.endpoint else {},
                retries={"max_attempts": 5, "mode": "standard"},
                # the checksum Dalil computes is sent, not one botocore adds by itself
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )


@dataclass(frozen=True, slots=True)
class SourceObject:
    """An object in a source bucket, as listed."""

    key: str
    size: int
    mtime_ns: int
    etag: str


def _listed(client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """Every object under ``prefix``, as S3 lists them (keys sorted), page after page; a
    failure on any page is an :class:`S3Error`."""
    pages = iter(client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix))
    while True:
        try:
            page = next(pages)
        except StopIteration:
            return
        except Exception as exc:
            raise _translated(exc) from None
        yield from page.get("Contents", [])


def list_source(config: S3Config) -> Iterator[SourceObject]:
    """Every object under a source's prefix, in key order (S3 lists keys sorted)."""
    client = _Guarded(config.client())
    for entry in _listed(client, config.location.bucket, config.location.prefix):
        modified = entry.get("LastModified")
        yield SourceObject(
            str(entry["Key"]),
            int(entry.get("Size", 0)),
            int(modified.timestamp() * 1e9) if modified is not None else 0,
            str(entry.get("ETag", "")),
        )


_SOURCE_CLIENTS: dict[S3Config, Any] = {}


def open_source_object(config: S3Config, key: str) -> tuple[BinaryIO, str]:
    """A streaming reader of a source object and its ETag (read-only: a GET, nothing else)."""
    client = _SOURCE_CLIENTS.get(config)
    if client is None:
        client = _SOURCE_CLIENTS[config] = _Guarded(config.client())
    answer = client.get_object(Bucket=config.location.bucket, Key=key)
    return answer["Body"], str(answer.get("ETag", ""))


def _b64(hexdigest: str) -> str:
    return base64.b64encode(bytes.fromhex(hexdigest)).decode("ascii")


def _code(exc: Exception) -> str:
    if isinstance(exc, S3Error):
        return exc.code
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _status(exc: Exception) -> int:
    if isinstance(exc, S3Error):
        return exc.status
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def describe_error(exc: Exception) -> str:
    """What went wrong talking to the store, without request details (no headers, no keys of
    the account): the service's error code and message, or the exception's class."""
    if isinstance(exc, S3Error):
        return str(exc).removeprefix("the S3 store: ")
    response = getattr(exc, "response", None)
    if response:
        error = response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": ")
    return f"{type(exc).__name__}: {exc}"  # botocore's own messages name no credential


class _Discard:
    """A sink for bytes that are only hashed."""

    def write(self, data: bytes) -> int:
        return len(data)


def _copy_body(body: Any, target: Any) -> tuple[str, int]:
    """:func:`copy_hashing` of an object's streamed body; a broken connection is an
    :class:`S3Error`."""
    try:
        return copy_hashing(body, target)
    except Exception as exc:
        raise _translated(exc) from None


RECENT_S = 60
"""A cached copy used this recently is never dropped: another worker may be about to read the
path it was handed (the cache may then exceed ``s3_cache_mib`` for a while)."""


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def _whole_object_sum(head: dict[str, Any]) -> str | None:
    """The server's SHA-256 of the whole object (base64), or None: an object sent in parts has
    a checksum of its parts' checksums (S3 says COMPOSITE; some servers say nothing, but its
    ETag ends in -N), which proves nothing about the bytes as a whole."""
    stored = head.get("ChecksumSHA256")
    if not stored or "-" in str(stored) or "-" in str(head.get("ETag", "")):
        return None
    if str(head.get("ChecksumType", "FULL_OBJECT")) != "FULL_OBJECT":
        return None
    return str(stored)


@functools.lru_cache(maxsize=16)
def shared_store(config: S3Config, tmp_dir: Path, cache_bytes: int = 0) -> S3Store:
    """One :class:`S3Store` per store and cache folder in a process: its connection (made
    again in a forked worker) and what it has checked in its cache serve every caller, so a
    loop over photographs does not open a connection for each."""
    return S3Store(config, tmp_dir, cache_bytes=cache_bytes)


class S3Store:
    """Write-once storage of originals by SHA-256 in an S3 bucket."""

    def __init__(self, config: S3Config, tmp_dir: Path, *, cache_bytes: int = 0) -> None:
        self.config = config
        self.location = config.location
        self.tmp_dir = tmp_dir
        self.cache_dir = tmp_dir / "s3-cache"
        self.cache_bytes = cache_bytes
        self._client: Any = None
        self._pid = 0  # the process that made the client: a forked worker makes its own
        self._checked: dict[str, tuple[int, int, int]] = {}  # cached copies hashed here

    @property
    def url(self) -> str:
        return self.location.url

    @property
    def client(self) -> Any:
        if self._client is None or self._pid != os.getpid():
            self._pid = os.getpid()
            try:
                self._client = _Guarded(self.config.client())
            except Exception as exc:  # no such profile, a malformed endpoint …
                raise _translated(exc) from None
        return self._client

    # -- reading ----------------------------------------------------------------------------
    def head(self, hexdigest: str) -> dict[str, Any] | None:
        """The object's HEAD (with its stored checksum where the server keeps one), or None."""
        try:
            return dict(
                self.client.head_object(
                    Bucket=self.location.bucket,
                    Key=self.location.key(hexdigest),
                    ChecksumMode="ENABLED",
                )
            )
        except Exception as exc:
            if _status(exc) == 404 or _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def has(self, hexdigest: str) -> bool:
        return self.head(hexdigest) is not None

    def _get(self, hexdigest: str) -> dict[str, Any]:
        """The object's GET answer, its ``Body`` streaming (FileNotFoundError: none there)."""
        try:
            return dict(
                self.client.get_object(
                    Bucket=self.location.bucket, Key=self.location.key(hexdigest)
                )
            )
        except Exception as exc:
            if _status(exc) == 404 or _code(exc) in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"{self.url}: no object {hexdigest}") from None
            raise

    def open(self, hexdigest: str) -> BinaryIO:
        """A streaming reader of the object (FileNotFoundError when there is none)."""
        return self._get(hexdigest)["Body"]  # type: ignore[no-any-return]

    def read_back(self, hexdigest: str) -> tuple[str, int, dict[str, Any]]:
        """(SHA-256 hex, size) of the stored bytes, read in full, and the GET's headers (the
        Object Lock retention among them)."""
        answer = self._get(hexdigest)
        with contextlib.closing(answer.pop("Body")) as body:
            found, size = _copy_body(body, _Discard())
        return found, size, answer

    def path(self, hexdigest: str) -> Path:
        """Where the local copy of an object is (or would be) cached."""
        return self.cache_dir / hexdigest[:2] / hexdigest

    def local_path(self, hexdigest: str) -> Path:
        """A local file holding the object's bytes, checked against its name: the cached copy,
        downloaded first when needed. When the store has no such object (or holds other
        bytes), the path returned does not exist: readers treat it as a lost original.

        A cached copy is hashed again each time it is handed out (a few milliseconds a
        photograph): the cache is a file on disk like any other, and a copy changed there is
        dropped and fetched again, never read."""
        target = self.path(hexdigest)
        if target.is_file():
            if self._unchanged(target, hexdigest) or self._hashes_to(target, hexdigest):
                with contextlib.suppress(OSError):  # recently used: the last the cache drops
                    os.utime(target, ns=(time.time_ns(), target.stat().st_mtime_ns))
                return target
            with contextlib.suppress(OSError):
                target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, prefix="s3-")
        try:
            with os.fdopen(fd, "wb") as fh:
                try:
                    body = self.open(hexdigest)
                except FileNotFoundError:
                    return target
                with contextlib.closing(body):
                    found, _size = _copy_body(body, fh)
            if found != hexdigest:
                return target  # altered in the store: no copy is made (verify reports it)
            self._cache(Path(tmp), target, hexdigest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return target

    def _cache(self, checked: Path, target: Path, hexdigest: str) -> None:
        """Make ``checked`` (a file just hashed to ``hexdigest``) the cached copy, replacing
        any older one, and remember it as checked by this process."""
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(checked, 0o444)
        os.replace(checked, target)
        self._checked[hexdigest] = _identity(target)
        self._trim_cache(keep=target)

    def _unchanged(self, path: Path, hexdigest: str) -> bool:
        """Is this the copy this process hashed, untouched since (same inode, size, time)?"""
        try:
            return self._checked.get(hexdigest) == _identity(path)
        except OSError:
            return False

    def _hashes_to(self, path: Path, hexdigest: str) -> bool:
        try:
            with path.open("rb") as fh:
                if hashlib.file_digest(fh, "sha256").hexdigest() != hexdigest:
                    return False
            self._checked[hexdigest] = _identity(path)
            return True
        except OSError:
            return False

    def iter_names(self) -> Iterator[tuple[str, str, int]]:
        """Every object under the store's prefix: (name, key, size)."""
        root = f"{self.location.prefix}sha256/"
        for entry in _listed(self.client, self.location.bucket, root):
            key = str(entry["Key"])
            yield key.rsplit("/", 1)[-1], key, int(entry.get("Size", 0))

    # -- writing ----------------------------------------------------------------------------
    def put_bytes(self, data: bytes | memoryview, hexdigest: str | None = None) -> StoredObject:
        """Store bytes already in memory (one conditional PUT carrying their SHA-256)."""
        digest = hexdigest or hashlib.sha256(data).hexdigest()
        if self._proved_present(digest):
            return StoredObject(digest, len(data), created=False)
        try:
            self.client.put_object(
                Bucket=self.location.bucket,
                Key=self.location.key(digest),
                Body=bytes(data),
                IfNoneMatch="*",
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=_b64(digest),
                **self._lock(),
            )
        except Exception as exc:
            if not self._exists_error(exc):
                raise
            self.prove(digest)  # written meanwhile by another worker
            return StoredObject(digest, len(data), created=False)
        self._verify_written(digest, len(data), multipart=False)
        return StoredObject(digest, len(data), created=True)

    def put_stream(self, source: BinaryIO) -> StoredObject:
        """Stream ``source`` into the store: spooled locally while hashed (read once), then a
        multipart upload; the spool becomes the local cache copy."""
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, prefix="s3-")
        try:
            with os.fdopen(fd, "wb") as fh:
                digest, size = copy_hashing(source, fh)
            created = self.put_file(Path(tmp), digest, size).created
            self._cache(Path(tmp), self.path(digest), digest)  # read next by describe
            return StoredObject(digest, size, created=created)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def put_file(self, path: Path, hexdigest: str, size: int) -> StoredObject:
        """Store a local file whose SHA-256 is known: one PUT up to ``s3_part_size_mib``,
        else a multipart upload."""
        if size <= self.config.part_size:
            return self.put_bytes(path.read_bytes(), hexdigest)
        if self._proved_present(hexdigest):
            return StoredObject(hexdigest, size, created=False)
        return StoredObject(hexdigest, size, created=self._upload_parts(path, hexdigest, size))

    def _upload_parts(self, path: Path, digest: str, size: int) -> bool:
        bucket, key = self.location.bucket, self.location.key(digest)
        upload = self.client.create_multipart_upload(
            Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256", **self._lock()
        )["UploadId"]
        try:
            parts = []
            with path.open("rb") as fh:
                number = 1
                while block := fh.read(self.config.part_size):
                    part_sum = base64.b64encode(hashlib.sha256(block).digest()).decode("ascii")
                    answer = self.client.upload_part(
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload,
                        PartNumber=number,
                        Body=block,
                        ChecksumSHA256=part_sum,
                    )
                    parts.append(
                        {"ETag": answer["ETag"], "PartNumber": number, "ChecksumSHA256": part_sum}
                    )
                    number += 1
            self.client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except Exception as exc:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
            if not self._exists_error(exc):
                raise
            self.prove(digest)
            return False
        self._verify_written(digest, size, multipart=True)
        return True

    def _lock(self) -> dict[str, Any]:
        if self.config.lock_days <= 0:
            return {}
        until = datetime.now(UTC) + timedelta(days=self.config.lock_days)
        return {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}

    @staticmethod
    def _exists_error(exc: Exception) -> bool:
        return _status(exc) == 412 or _code(exc) in ("PreconditionFailed", "412")

    def _proved_present(self, digest: str) -> bool:
        """Is the object there already (then its bytes are proved to be the original)?"""
        head = self.head(digest)
        if head is None:
            return False
        self.prove(digest, head)
        return True

    def prove(self, digest: str, head: dict[str, Any] | None = None) -> None:
        """The stored object must be the original named ``digest``: by the server's whole-
        object SHA-256 where it keeps one, else by reading it back."""
        head = head if head is not None else self.head(digest)
        if head is None:
            raise StoreConflict(f"{self.url}: the object {digest} vanished while it was written")
        stored = _whole_object_sum(head)
        if stored:
            if stored == _b64(digest):
                return
            raise StoreConflict(
                f"{self.url}: the object stored under {digest} has another SHA-256; the store"
                " holds something else under this original's name (run dalil verify)"
            )
        found, _size, _headers = self.read_back(digest)
        if found != digest:
            raise StoreConflict(
                f"{self.url}: the object stored under {digest} hashes to {found}; the store"
                " holds something else under this original's name (run dalil verify)"
            )

    def _verify_written(self, digest: str, size: int, *, multipart: bool) -> None:
        head = self.head(digest)
        if head is None:
            raise StoreConflict(f"{self.url}: {digest} was written but cannot be found")
        if int(head.get("ContentLength", -1)) != size:
            raise StoreConflict(
                f"{self.url}: {digest} was written with {size} bytes; the store holds"
                f" {head.get('ContentLength')}"
            )
        if multipart:  # whatever the server says, its checksum is of the parts' checksums
            head = {k: v for k, v in head.items() if k != "ChecksumSHA256"}
        self.prove(digest, head)

    # -- the local cache --------------------------------------------------------------------
    def _trim_cache(self, keep: Path) -> None:
        """Drop the least recently used cached copies beyond ``cache_bytes`` (0: no limit)."""
        if self.cache_bytes <= 0 or not self.cache_dir.is_dir():
            return
        entries = []
        for path in self.cache_dir.glob("*/*"):
            with contextlib.suppress(OSError):
                st = path.stat()
                entries.append((st.st_atime, st.st_size, path))
        total = sum(size for _, size, _ in entries)
        recent = time.time() - RECENT_S
        for used, size, path in sorted(entries):
            if total <= self.cache_bytes or used > recent:
                break
            if path == keep:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
