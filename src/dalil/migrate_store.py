"""Copy a folder vault's originals to an S3-compatible store, and prove every one arrived.

Nothing is removed from the folder: after ``--switch`` it is a second copy the vault no longer
reads. The copy is resumable (an object already there is proved, not sent again) and its proof
is a second, independent pass: every recorded item must be listed under the store's prefix
with its size, and its stored bytes must have its SHA-256 (the server's whole-object checksum,
or the bytes read back in full where the server keeps none). The migration is one ledger
event, ``store.migrated``, by an administrator, naming the store (never a credential) and the
counts; ``dalil verify`` then re-hashes every object on the new store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.s3store import S3Config, S3Store, StoreConflict, describe_error
from dalil.users import check_actor
from dalil.vault import Vault, update_settings

Progress = Callable[[int, int], None]  # (done, total): each original copied, then proved

THREADS = 8  # uploads in flight: the work is the network's, not the CPU's


@dataclass(slots=True)
class MigrationReport:
    target: str
    endpoint: str
    items: int = 0
    bytes: int = 0
    sent: int = 0  # objects written by this run (the others were there already, and proved)
    proved: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)
    switched: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and self.proved == self.items

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "endpoint": self.endpoint,
            "items": self.items,
            "bytes": self.bytes,
            "sent": self.sent,
            "proved": self.proved,
            "ok": self.ok,
            "switched": self.switched,
            "problems": self.problems,
        }


def migrate(
    vault: Vault,
    conn: Db,
    actor: str,
    config: S3Config,
    *,
    switch: bool = False,
    progress: Progress | None = None,
) -> MigrationReport:
    """Copy every original of the (folder) vault to ``config``'s store and prove it; record
    the migration; with ``switch`` (and only when every object is proved), make the store the
    vault's."""
    if check_actor(conn, actor) != "admin":
        raise UsageError(f"only an administrator can move the vault's originals ({actor} is not)")
    if vault.settings.store:
        raise UsageError(f"this vault already keeps its originals on {vault.settings.store}")
    # who moves the originals proves it before the first byte leaves, not when recording
    vault.ledger(conn).prove(actor)
    source = vault.folder_store()
    target = S3Store(config, vault.tmp_dir)
    report = MigrationReport(config.location.url, config.endpoint)
    items = [(str(s), int(n)) for s, n in conn.execute("SELECT sha256, size FROM items")]
    report.items, report.bytes = len(items), sum(n for _, n in items)

    def send(entry: tuple[str, int]) -> tuple[str, bool | None, str]:
        sha, size = entry
        path = source.path(sha)
        wrong = "the folder's copy is not the original (dalil verify says more)"
        try:
            if size <= config.part_size:  # read once: hashed, then sent
                data = path.read_bytes()
                if hashlib.sha256(data).hexdigest() != sha:
                    return sha, None, wrong
                return sha, target.put_bytes(data, sha).created, ""
            if _sha256(path) != sha:  # larger: hashed, then sent in parts
                return sha, None, wrong
            return sha, target.put_file(path, sha, size).created, ""
        except FileNotFoundError:
            return sha, None, "the folder has no copy of this item (dalil verify says more)"
        except StoreConflict as exc:
            return sha, None, str(exc)
        except Exception as exc:
            return sha, None, describe_error(exc)

    with ThreadPoolExecutor(THREADS) as pool:
        for done, (sha, created, why) in enumerate(pool.map(send, items), 1):
            if created is None:
                report.problems.append({"item": sha, "problem": why})
            elif created:
                report.sent += 1
            if progress is not None:
                progress(done, 2 * len(items))
    _prove_all(target, items, report, progress)
    with atomic(conn):
        vault.ledger(conn).append(
            actor,
            "store.migrated",
            f"store:{config.location.url}",
            {
                "target": config.location.url,
                "endpoint": config.endpoint,
                "items": report.items,
                "bytes": report.bytes,
                "sent": report.sent,
                "proved": report.proved,
                "problems": len(report.problems),
                "switched": switch and report.ok,
            },
        )
    if switch and report.ok:
        _switch(vault, config)
        report.switched = True
    return report


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _prove_all(
    target: S3Store,
    items: list[tuple[str, int]],
    report: MigrationReport,
    progress: Progress | None,
) -> None:
    """The second pass: every item listed with its size, its stored bytes its SHA-256."""
    listed = {
        name: size for name, key, size in target.iter_names() if key == target.location.key(name)
    }
    failed = {p["item"] for p in report.problems}

    def prove(entry: tuple[str, int]) -> tuple[str, str]:
        sha, size = entry
        if sha not in listed:
            return sha, "not in the store's listing"
        if listed[sha] != size:
            return sha, f"the store holds {listed[sha]} bytes, the original has {size}"
        try:
            target.prove(sha)
        except StoreConflict as exc:
            return sha, str(exc)
        except Exception as exc:
            return sha, describe_error(exc)
        return sha, ""

    with ThreadPoolExecutor(THREADS) as pool:
        for done, (sha, why) in enumerate(pool.map(prove, items), 1):
            if not why:
                report.proved += 1
            elif sha not in failed:
                report.problems.append({"item": sha, "problem": why})
            if progress is not None:
                progress(len(items) + done, 2 * len(items))


def _switch(vault: Vault, config: S3Config) -> None:
    """Rewrite ``dalil.toml`` so that the vault reads and writes its originals on S3."""
    update_settings(
        vault.root,
        store=config.location.url,
        s3_endpoint=config.endpoint,
        s3_region=config.region,
        s3_profile=config.profile,
        s3_part_size_mib=config.part_size // (1024 * 1024),
        s3_lock_days=config.lock_days,
    )
