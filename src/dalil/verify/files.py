"""Files against the ledger: every original re-hashed, every derivative file checked against
the SHA-256 recorded when it was made, nothing in the object store that the ledger does not
record."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

from dalil.vault import Vault
from dalil.verify import report as r
from dalil.verify.report import HashProgress
from dalil.workers import process_pool


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
    truth: sqlite3.Connection,
    report: r.VerifyReport,
    jobs: int,
    progress: HashProgress | None,
) -> None:
    """``truth`` is the catalogue replayed from the ledger: what must be there."""
    store = vault.store()
    items = {str(sha): int(size) for sha, size in truth.execute("SELECT sha256, size FROM items")}
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
    paths = [present[d] for d in sorted(present)] + sorted(derived)
    total = len(paths)
    results: Iterator[tuple[str, str | None, int]]
    pool = process_pool(jobs) if jobs > 1 and total > 1 else None
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
