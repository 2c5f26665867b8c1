"""Files against the ledger: every original re-hashed, every derivative file checked against
the SHA-256 recorded when it was made, nothing in the object store that the ledger does not
record."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dalil.catalog.db import Db
from dalil.s3store import S3Config, S3Error, S3Store, describe_error, shared_store
from dalil.vault import Vault
from dalil.verify import report as r
from dalil.verify.report import HashProgress
from dalil.workers import executor


def hash_file(path: str) -> tuple[str, str | None, int]:
    """(path, sha256 hex or None if unreadable, size) — run in worker processes. A symbolic
    link is not followed (it is no object)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return path, None, 0
    with os.fdopen(fd, "rb") as fh:
        try:
            digest = hashlib.file_digest(fh, "sha256")
        except OSError:
            return path, None, 0
        return path, digest.hexdigest(), fh.tell()


def _staged(vault: Vault) -> set[tuple[int, int]]:
    """(device, inode) of files staged in the vault's tmp/: an object's second name there is
    the staging copy of an interrupted write (the next write removes it), not an exposure."""
    out = set()
    for entry in vault.tmp_dir.iterdir() if vault.tmp_dir.is_dir() else []:
        with contextlib.suppress(OSError):
            st = entry.lstat()
            out.add((st.st_dev, st.st_ino))
    return out


def _unprotected(path: Path, owner: int, staged: set[tuple[int, int]]) -> str | None:
    """Why an object could be changed without going through Dalil, or None: it must be a
    regular file with no write permission, one name only (no hard link elsewhere, which
    could be writable) and the vault's owner."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"cannot be examined ({exc.strerror})"
    if stat.S_ISLNK(st.st_mode):
        return f"is a symbolic link to {os.readlink(path)!r}, not the stored file"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    reasons = []
    if st.st_mode & 0o222:
        reasons.append(f"is writable (mode {stat.filemode(st.st_mode)})")
    if st.st_nlink > 1 + ((st.st_dev, st.st_ino) in staged):
        reasons.append(f"has {st.st_nlink} names (hard links): another name could change it")
    if st.st_uid != owner:
        reasons.append(f"belongs to user {st.st_uid}, not the vault's owner {owner}")
    return "; ".join(reasons) or None


def check_files(
    vault: Vault,
    truth: Db,
    report: r.VerifyReport,
    jobs: int,
    progress: HashProgress | None,
    ray: str | None = None,
) -> None:
    """``truth`` is the catalogue replayed from the ledger: what must be there. Objects are
    re-hashed in ``jobs`` local processes, or as tasks on the Ray cluster ``ray``."""
    store = vault.store()
    items = {str(sha): int(size) for sha, size in truth.execute("SELECT sha256, size FROM items")}
    if isinstance(store, S3Store):
        _check_s3(store, items, report, jobs, progress, ray)
        _check_derivatives(vault, truth, report, jobs, progress, items, [], ray)
        return
    present: dict[str, str] = {}
    owner = os.stat(vault.objects_dir).st_uid
    staged = _staged(vault)
    for name, path in store.iter_objects():
        why = _unprotected(path, owner, staged)
        if why is not None:
            report.add(r.OBJECT_UNPROTECTED, name, f"{path.relative_to(vault.root)} {why}")
        expected_path = store.path(name) if len(name) == 64 else None
        if name not in items or expected_path != path:
            report.add(r.UNEXPECTED_OBJECT, None, f"{path.relative_to(vault.root)} is not recorded")
            continue
        present[name] = str(path)
    for digest in sorted(items.keys() - present.keys()):
        report.add(r.OBJECT_MISSING, digest, "the object store has no copy of this item")
    originals = [present[d] for d in sorted(present)]
    _check_derivatives(vault, truth, report, jobs, progress, items, originals, ray)


def _check_derivatives(
    vault: Vault,
    truth: Db,
    report: r.VerifyReport,
    jobs: int,
    progress: HashProgress | None,
    items: dict[str, int],
    originals: list[str],
    ray: str | None = None,
) -> None:
    """Re-hash the ``originals`` (local object paths of ``items``: sha256 -> recorded size)
    and every recorded derivative file."""
    derived: dict[str, tuple[str, str, str]] = {}  # path -> (item, kind, sha256)
    for sha, kind, rel, file_sha in truth.execute(
        "SELECT sha256, kind, path, file_sha256 FROM derivatives"
        " WHERE file_sha256 IS NOT NULL AND path LIKE 'derived/%' ORDER BY sha256, kind"
    ):
        path = vault.root / str(rel)
        if not path.is_file():
            report.add(
                r.DERIVATIVE_MISSING,
                str(sha),
                f"the {kind} {rel} is gone (dalil catalog rebuild makes it again)",
            )
            continue
        derived[str(path)] = (str(sha), str(kind), str(file_sha))
    paths = originals + sorted(derived)
    total = len(paths)
    results: Iterator[tuple[str, str | None, int]]
    pool = executor(jobs, ray=ray) if (jobs > 1 or ray) and total > 1 else None
    if pool is not None:
        results = pool.map(hash_file, paths, chunksize=max(1, min(64, total // (jobs * 8) or 1)))
    else:
        results = map(hash_file, paths)
    try:
        for done, (path_text, found, size) in enumerate(results, 1):
            if path_text in derived:
                _derivative(path_text, found, derived[path_text], vault, report)
            else:
                _original(os.path.basename(path_text), found, size, items, report)
            if progress is not None:
                progress(done, total)
    finally:
        if pool is not None:
            pool.shutdown()


S3Checked = tuple[str, str | None, int, str | None, str | None]


def hash_s3_object(job: tuple[S3Config, str]) -> S3Checked:
    """(name, sha256 of the stored bytes or None, size, why unreadable, why unprotected) — run
    in workers, each with its own connection (credentials come from the worker's environment).
    With ``s3_lock_days``, an object must also be under an Object Lock retention (COMPLIANCE)
    that has not ended."""
    config, name = job
    store = shared_store(config, Path(tempfile.gettempdir()))  # only read back: no cache
    try:
        found, size, headers = store.read_back(name)
    except FileNotFoundError:
        return name, None, 0, "the object vanished while verify ran", None
    except Exception as exc:
        return name, None, 0, describe_error(exc), None
    return name, found, size, None, _unlocked(headers, config.lock_days)


def _unlocked(headers: dict[str, Any], days: int) -> str | None:
    """Why an object on S3 could be deleted or replaced although s3_lock_days asks for a
    retention (the read-back GET's headers say), or None."""
    if days <= 0:
        return None
    until = headers.get("ObjectLockRetainUntilDate")
    if headers.get("ObjectLockMode") != "COMPLIANCE" or until is None:
        return f"has no Object Lock retention in COMPLIANCE mode (s3_lock_days is {days})"
    if until <= datetime.now(UTC):
        return f"its Object Lock retention ended on {until.isoformat()}"
    return None


def _check_s3(
    store: S3Store,
    items: dict[str, int],
    report: r.VerifyReport,
    jobs: int,
    progress: HashProgress | None,
    ray: str | None = None,
) -> None:
    """Originals on S3: every object listed, unexpected ones reported, every recorded one
    read back in full and re-hashed (streamed, in ``jobs`` processes)."""
    present: list[str] = []
    try:
        for name, key, _size in store.iter_names():
            if name not in items or store.location.key(name) != key:
                report.add(
                    r.UNEXPECTED_OBJECT, None, f"{store.url} holds {key}, which is not recorded"
                )
                continue
            present.append(name)
    except S3Error as exc:  # unreachable, no such bucket, access denied: nothing is proved
        report.add(
            r.STORE_UNREADABLE,
            None,
            f"{store.url} cannot be listed ({describe_error(exc)}): no original was checked",
        )
        return
    for digest in sorted(items.keys() - set(present)):
        report.add(r.OBJECT_MISSING, digest, f"{store.url} has no copy of this item")
    jobs_list = [(store.config, name) for name in sorted(present)]
    results: Iterator[S3Checked]
    pool = executor(jobs, ray=ray) if (jobs > 1 or ray) and len(jobs_list) > 1 else None
    if pool is not None:
        results = pool.map(
            hash_s3_object, jobs_list, chunksize=max(1, len(jobs_list) // (jobs * 8))
        )
    else:
        results = map(hash_s3_object, jobs_list)
    try:
        for done, (name, found, size, why, unlocked) in enumerate(results, 1):
            if why is not None:
                report.objects_checked += 1
                report.add(r.OBJECT_ALTERED, name, f"the object could not be read ({why})")
            else:
                _original(name, found, size, items, report)
            if unlocked is not None:
                key = store.location.key(name)
                report.add(r.OBJECT_UNPROTECTED, name, f"{store.url}: {key} {unlocked}")
            if progress is not None:
                progress(done, len(jobs_list))
    finally:
        if pool is not None:
            pool.shutdown()


def _original(
    name: str, found: str | None, size: int, items: dict[str, int], report: r.VerifyReport
) -> None:
    report.objects_checked += 1
    report.bytes_checked += size
    if found is None:
        report.add(r.OBJECT_ALTERED, name, "the object could not be read")
    elif found != name:
        report.add(r.OBJECT_ALTERED, name, f"the object's bytes now hash to {found}")
    elif size != items[name]:
        report.add(r.OBJECT_ALTERED, name, f"size {size} != recorded {items[name]}")


def _derivative(
    path: str,
    found: str | None,
    recorded: tuple[str, str, str],
    vault: Vault,
    report: r.VerifyReport,
) -> None:
    sha, kind, wanted = recorded
    report.derivatives_checked += 1
    if found != wanted:
        rel = os.path.relpath(path, vault.root)
        report.add(
            r.DERIVATIVE_ALTERED,
            sha,
            f"the {kind} {rel} is not the file made at ingest (dalil catalog rebuild makes it"
            " again)",
        )
