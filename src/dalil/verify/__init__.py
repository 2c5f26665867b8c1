"""Verification: objects ↔ ledger ↔ catalogue ↔ signed checkpoints ↔ what the user trusts.

1. The ledger (:mod:`.chain`): every event re-hashed and its chain link checked, every payload
   against the digest its event recorded, every checkpoint's signature (by the key the vault
   was created with, or one the user gives) and root, the rules every history obeys, no
   unsigned tail, and — given a checkpoint kept off the vault — a consistency proof that the
   log only grew since.
2. The catalogue (:mod:`.catalogue`): the ledger replayed into an empty catalogue, every row of
   every table compared.
3. Files (:mod:`.files`): every original re-hashed (streamed, in parallel), every derivative
   file against its recorded hash.
4. RFC 3161 tokens (:mod:`.timestamps`).

Never modifies the vault; each problem is reported with its kind (``docs/verify.md``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time

from dalil.catalog.db import Db
from dalil.errors import CatalogueDamaged
from dalil.vault import Vault
from dalil.verify.chain import Trust, check_ledger
from dalil.verify.report import (
    CATALOGUE_BEHIND,
    CATALOGUE_ROW_ALTERED,
    CATALOGUE_ROW_MISSING,
    CATALOGUE_ROW_UNRECORDED,
    CHECKPOINT_MISMATCH,
    CHECKPOINT_MISSING,
    CHECKPOINT_SIGNATURE_INVALID,
    DERIVATIVE_ALTERED,
    DERIVATIVE_MISSING,
    KEY_MISMATCH,
    KINDS,
    LEDGER_EVENT_ALTERED,
    LEDGER_EVENT_INSERTED,
    LEDGER_EVENT_REMOVED,
    LEDGER_NOT_EXTENDED,
    LEDGER_PAYLOAD_ALTERED,
    LEDGER_RULE_BROKEN,
    LEDGER_TRUNCATED,
    LEDGER_UNSIGNED_TAIL,
    OBJECT_ALTERED,
    OBJECT_MISSING,
    OBJECT_UNPROTECTED,
    SIGNATURE_INVALID,
    TIMESTAMP_INVALID,
    UNEXPECTED_OBJECT,
    HashProgress,
    Problem,
    VerifyReport,
)
from dalil.workers import ray_address

__all__ = [
    "CATALOGUE_BEHIND",
    "CATALOGUE_ROW_ALTERED",
    "CATALOGUE_ROW_MISSING",
    "CATALOGUE_ROW_UNRECORDED",
    "CHECKPOINT_MISMATCH",
    "CHECKPOINT_MISSING",
    "CHECKPOINT_SIGNATURE_INVALID",
    "DERIVATIVE_ALTERED",
    "DERIVATIVE_MISSING",
    "KEY_MISMATCH",
    "KINDS",
    "LEDGER_EVENT_ALTERED",
    "LEDGER_EVENT_INSERTED",
    "LEDGER_EVENT_REMOVED",
    "LEDGER_NOT_EXTENDED",
    "LEDGER_PAYLOAD_ALTERED",
    "LEDGER_RULE_BROKEN",
    "LEDGER_TRUNCATED",
    "LEDGER_UNSIGNED_TAIL",
    "OBJECT_ALTERED",
    "OBJECT_MISSING",
    "OBJECT_UNPROTECTED",
    "SIGNATURE_INVALID",
    "TIMESTAMP_INVALID",
    "UNEXPECTED_OBJECT",
    "HashProgress",
    "Problem",
    "Trust",
    "VerifyReport",
    "record_result",
    "verify",
    "verify_ledger",
]


def verify(
    vault: Vault,
    *,
    jobs: int = 0,
    progress: HashProgress | None = None,
    trust: Trust | None = None,
    ray: str | None = None,
) -> VerifyReport:
    """Check the whole vault; never modifies it. ``ray``: re-hash on that Ray cluster (by
    default, where the vault's ``executor`` setting says).

    Holds the vault's writer lock, so no writer publishes anything mid-check.
    """
    from dalil.verify.catalogue import compare, replayed
    from dalil.verify.files import check_files
    from dalil.verify.timestamps import check_timestamps

    trust = trust or Trust()
    report = VerifyReport()
    jobs = jobs or vault.settings.jobs or os.cpu_count() or 1
    with vault.writer_lock():
        vault.check_files()
        conn = vault.connect(readonly=True)
        try:
            _consistent_snapshot(conn)
            walked = check_ledger(vault, conn, report, trust, vault.settings.clock_tolerance)
            truth = replayed(conn, report, walked.bound_seq)
            try:
                compare(conn, truth, report)
            except Exception as exc:  # a catalogue too damaged to read row by row
                raise CatalogueDamaged(
                    f"the catalogue cannot be compared with the ledger ({exc}); rebuild it:"
                    f" dalil catalog rebuild --vault {vault.root}"
                ) from exc
            check_timestamps(conn, report, walked.leaves)
            conn.execute("COMMIT")
        finally:
            conn.close()
        try:
            check_files(vault, truth, report, jobs, progress, ray_address(vault.settings, ray))
        finally:
            truth.close()
    return report


def _consistent_snapshot(conn: Db, tries: int = 25) -> None:
    """Begin a read transaction in which catalogue and ledger agree on how far the catalogue
    follows the ledger. A writer commits the two files one after the other (the web workspace
    writes without the vault's lock), so a snapshot taken between the two commits is retried;
    one that still disagrees after ``tries`` is compared as it is (and reported)."""
    from dalil.projection.replay import lag

    for _ in range(tries):
        conn.execute("BEGIN")
        _seq, _size, problem = lag(conn)
        if not problem and _seq == _size:
            return
        conn.execute("COMMIT")
        time.sleep(0.2)
    conn.execute("BEGIN")


def verify_ledger(vault: Vault, trust: Trust | None = None) -> VerifyReport:
    """Check only the ledger, its payloads and signed checkpoints (fast: no file is read)."""
    from dalil.verify.timestamps import check_timestamps

    report = VerifyReport()
    conn = vault.connect(readonly=True)
    try:
        conn.execute("BEGIN")
        walked = check_ledger(vault, conn, report, trust or Trust(), vault.settings.clock_tolerance)
        check_timestamps(conn, report, walked.leaves)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return report


def record_result(vault: Vault, report: VerifyReport) -> None:
    """Keep the outcome of the latest full verification (``derived/last-verify.json``) for the
    web dashboard; a cache like every derivative, not evidence."""
    from dalil.store import write_atomic
    from dalil.timeutil import utc_now

    summary = {
        "finished_at": utc_now(),
        "ok": report.ok,
        "objects_checked": report.objects_checked,
        "events_checked": report.events_checked,
        "problems": len(report.problems),
    }
    with contextlib.suppress(OSError):  # a read-only vault can still be verified
        write_atomic(
            vault.derived_dir / "last-verify.json",
            json.dumps(summary).encode(),
            vault.tmp_dir,
            fsync=False,
        )
