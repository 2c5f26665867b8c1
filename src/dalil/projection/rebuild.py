"""``dalil catalog rebuild``: a new catalogue from the ledger and the objects alone.

The recovery path when the catalogue is lost, unreadable, or holds what the ledger does not:

1. the ledger is checked first (every event, payload and signed checkpoint); a ledger that
   fails is not rebuilt from unless the user insists;
2. every event is replayed into a new catalogue file in ``tmp/``;
3. every derivative file is checked against the hash its event recorded; one that is missing
   or altered is made again from the original and recorded (``derivative.made``);
4. the rebuild is recorded (``catalog.rebuilt``) and signed, and only then does the new file
   replace the old one, which is kept beside it (``catalog.sqlite.replaced-<time>``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dalil.catalog import atomic, connect, migrate
from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.projection.replay import replay
from dalil.vault import Vault

Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class RebuildReport:
    events: int = 0
    items: int = 0
    derivatives_kept: int = 0
    derivatives_remade: list[str] = field(default_factory=list)
    derivatives_lost: list[str] = field(default_factory=list)
    replaced: str | None = None
    ledger_problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rebuild(
    vault: Vault, actor: str, *, force: bool = False, progress: Progress | None = None
) -> RebuildReport:
    started = time.monotonic()
    report = RebuildReport()
    with vault.writer_lock():
        report.ledger_problems = ledger_problems(vault)
        if report.ledger_problems and not force:
            raise UsageError(
                f"the ledger itself fails verification ({len(report.ledger_problems)} problem(s);"
                f" first: {report.ledger_problems[0]}); a catalogue rebuilt from it would not be"
                " trustworthy. Restore the ledger from a backup, or rebuild anyway with --force"
            )
        if vault.on_postgres:
            report.replaced = _rebuild_in_place(vault, actor, report, progress)
            shutil.rmtree(vault.derived_dir / "index", ignore_errors=True)
            report.seconds = round(time.monotonic() - started, 3)
            return report
        new = vault.tmp_dir / "catalog.rebuild.sqlite"
        _remove_sqlite(new)
        vault.tmp_dir.mkdir(parents=True, exist_ok=True)
        conn = connect(new, attach={"ledgerdb": vault.ledger_path, "statedb": vault.state_path})
        try:
            migrate(conn)
            report.events = replay(
                conn,
                conn,
                progress=None if progress is None else lambda d, t: progress("events", d, t),
            )
            ledger = vault.ledger(conn)
            with atomic(conn):
                ledger.append(
                    actor,
                    "catalog.rebuilt",
                    f"vault:{vault.vault_id}",
                    {"events": report.events},
                )
            _derivatives(vault, conn, actor, report, progress)
            ledger.sign_tail()
            report.items = int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])
            conn.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        report.replaced = _swap(vault, new)
        shutil.rmtree(vault.derived_dir / "index", ignore_errors=True)  # rebuilt on next use
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _rebuild_in_place(
    vault: Vault, actor: str, report: RebuildReport, progress: Progress | None
) -> str:
    """PostgreSQL: in one transaction, the catalogue's schema is renamed (kept, as the SQLite
    file is kept beside the new one), a new one is made and the ledger replayed into it, and
    the rebuild is recorded; a failure anywhere leaves the old catalogue in place."""
    from dalil.timeutil import utc_now

    kept = "main_replaced_" + "".join(c for c in utc_now() if c.isdigit())[:14]
    conn = vault.connect()
    try:
        with atomic(conn):
            conn.execute(f"ALTER SCHEMA main RENAME TO {kept}")
            conn.execute("CREATE SCHEMA main")
            migrate(conn)
            report.events = replay(
                conn,
                conn,
                progress=None if progress is None else lambda d, t: progress("events", d, t),
            )
            vault.ledger(conn).append(
                actor, "catalog.rebuilt", f"vault:{vault.vault_id}", {"events": report.events}
            )
        _derivatives(vault, conn, actor, report, progress)
        vault.ledger(conn).sign_tail()
        report.items = int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])
    finally:
        conn.close()
    return f"schema {kept}"


def ledger_problems(vault: Vault, conn: Db | None = None) -> list[str]:
    """What is wrong with the ledger alone (read from its own file, no catalogue needed; or
    from ``conn``, inside the caller's transaction)."""
    from dalil.verify.chain import Trust, check_ledger
    from dalil.verify.report import LEDGER_UNSIGNED_TAIL, VerifyReport

    found = VerifyReport()
    trust = Trust(allow_unsigned_tail=True)
    if conn is not None:
        check_ledger(vault, conn, found, trust, vault.settings.clock_tolerance)
        return [f"{p.kind}: {p.detail}" for p in found.problems if p.kind != LEDGER_UNSIGNED_TAIL]
    own = (
        vault.connect(readonly=True)
        if vault.on_postgres
        else connect(vault.ledger_path, readonly=True)
    )
    try:
        own.execute("BEGIN")
        check_ledger(vault, own, found, trust, vault.settings.clock_tolerance)
        own.execute("COMMIT")
    finally:
        own.close()
    return [f"{p.kind}: {p.detail}" for p in found.problems if p.kind != LEDGER_UNSIGNED_TAIL]


def _derivatives(
    vault: Vault,
    conn: Any,
    actor: str,
    report: RebuildReport,
    progress: Progress | None,
) -> None:
    """Keep each derivative file that has its recorded hash; make the others again."""
    from dalil.ingest import decode
    from dalil.ingest.worker import THUMBNAIL_KIND, write_thumbnail

    rows = conn.execute(
        "SELECT sha256, kind, path, file_sha256 FROM derivatives WHERE path LIKE 'derived/%'"
        " ORDER BY sha256, kind"
    ).fetchall()
    remade: list[dict[str, Any]] = []
    settings = vault.settings
    for n, (sha, kind, rel, file_sha) in enumerate(rows, 1):
        if progress is not None:
            progress("derivatives", n, len(rows))
        path = vault.root / str(rel)
        with contextlib.suppress(OSError):
            if file_sha and hashlib.sha256(path.read_bytes()).hexdigest() == file_sha:
                report.derivatives_kept += 1
                continue
        record = None
        original = vault.store().local_path(str(sha))
        if kind == THUMBNAIL_KIND and original.is_file():  # a lost original: verify says so
            decode.register_heif()
            try:
                analysis = decode.analyse(
                    original,
                    thumbnail_side=settings.thumbnail_size,
                    thumbnail_quality=settings.thumbnail_quality,
                    max_pixels=settings.max_image_pixels,
                    features=False,
                )
            except OSError:
                analysis = None
            if analysis is not None:
                record = write_thumbnail(vault.root, vault.tmp_dir, settings, str(sha), analysis)
        if record is None:
            report.derivatives_lost.append(f"{kind} of {sha}")
            continue
        remade.append({"sha256": sha, "kind": kind, "media_type": "image/jpeg", **record})
        report.derivatives_remade.append(f"{kind} of {sha}")
        for cached in vault.derived_dir.glob(f"thumb-blur-*/{str(sha)[:2]}/{sha}.jpg"):
            cached.unlink(missing_ok=True)  # blurred copies of the old file
    if remade:
        with atomic(conn):
            vault.ledger(conn).append(
                actor,
                "derivative.made",
                "derivatives",
                {"remade": len(remade), "why": "catalog rebuild: missing or altered"},
                {"derivatives": remade},
            )


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _swap(vault: Vault, new: Path) -> str | None:
    """Put the new catalogue in place, keeping the old one (and its WAL) beside it. The old
    file is linked to its new name first and the new one then replaces it in one step, so a
    crash leaves either catalogue at ``catalog.sqlite``, never none."""
    from dalil.timeutil import utc_now

    old = vault.catalog_path
    kept = None
    if old.exists():
        stamp = utc_now().replace(":", "").replace("-", "")[:15]
        kept = old.with_name(f"{old.name}.replaced-{stamp}")
        try:
            os.link(old, kept)
        except OSError:
            shutil.copyfile(old, kept)
        for suffix in ("-wal", "-shm"):  # the old WAL must never meet the new file
            side = Path(f"{old}{suffix}")
            if side.exists():
                os.replace(side, Path(f"{kept}{suffix}"))
    for suffix in ("-wal", "-shm"):
        Path(f"{new}{suffix}").unlink(missing_ok=True)
    os.replace(new, old)
    return None if kept is None else kept.name
