"""Fixity verification: objects ↔ catalogue ↔ ledger ↔ signed checkpoints.

Every object is re-hashed (streamed, in parallel); every ledger event is re-hashed and its
chain link checked; every checkpoint signature is checked and its root recomputed from the
events; every catalogue item and occurrence must be recorded by the ledger, and every recorded
item must still be in the catalogue and the store. Each problem is reported with its kind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dalil.ledger.log import Checkpoint, event_bytes
from dalil.ledger.merkle import RootAccumulator, leaf_hash
from dalil.vault import Vault

# Kinds of problem, as named in reports and docs/verify.md.
OBJECT_MISSING = "object_missing"
OBJECT_ALTERED = "object_altered"
UNEXPECTED_OBJECT = "unexpected_object"
CATALOGUE_ROW_ALTERED = "catalogue_row_altered"
CATALOGUE_ROW_UNRECORDED = "catalogue_row_unrecorded"
CATALOGUE_ROW_MISSING = "catalogue_row_missing"
LEDGER_EVENT_ALTERED = "ledger_event_altered"
LEDGER_EVENT_INSERTED = "ledger_event_inserted"
LEDGER_EVENT_REMOVED = "ledger_event_removed"
LEDGER_TRUNCATED = "ledger_truncated"
CHECKPOINT_MISMATCH = "checkpoint_mismatch"
CHECKPOINT_SIGNATURE_INVALID = "checkpoint_signature_invalid"
CHECKPOINT_MISSING = "checkpoint_missing"
TIMESTAMP_INVALID = "timestamp_invalid"

HashProgress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    sha256: str | None
    detail: str


@dataclass(slots=True)
class VerifyReport:
    objects_checked: int = 0
    bytes_checked: int = 0
    events_checked: int = 0
    checkpoints_checked: int = 0
    unsigned_events: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, sha256: str | None, detail: str) -> None:
        self.problems.append(Problem(kind, sha256, detail))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "objects_checked": self.objects_checked,
            "bytes_checked": self.bytes_checked,
            "events_checked": self.events_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "unsigned_events": self.unsigned_events,
            "problems": [asdict(p) for p in self.problems],
        }


def hash_file(path: str) -> tuple[str, str | None, int]:
    """(path, sha256 hex or None if unreadable, size) — run in worker processes."""
    try:
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256")
            return path, digest.hexdigest(), fh.tell()
    except OSError:
        return path, None, 0


def verify(vault: Vault, *, jobs: int = 0, progress: HashProgress | None = None) -> VerifyReport:
    """Check the whole vault; never modifies it.

    Holds the vault's writer lock, so an ingest cannot publish objects mid-check.
    """
    with vault.writer_lock():
        return _verify(vault, jobs, progress)


def _verify(vault: Vault, jobs: int, progress: HashProgress | None) -> VerifyReport:
    report = VerifyReport()
    conn = vault.connect(readonly=True)
    try:
        conn.execute("BEGIN")  # one consistent snapshot of the catalogue
        recorded = _check_ledger(vault, conn, report)
        catalogue = _check_catalogue(conn, recorded, report)
        _check_annotations(conn, recorded, report)
        _check_timestamps(conn, report)
        conn.execute("COMMIT")
    finally:
        conn.close()
    _check_objects(
        vault, catalogue, report, jobs or vault.settings.jobs or os.cpu_count() or 1, progress
    )
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


def verify_ledger(vault: Vault) -> VerifyReport:
    """Check only the ledger and its signed checkpoints (fast: no object is read)."""
    report = VerifyReport()
    conn = vault.connect(readonly=True)
    try:
        conn.execute("BEGIN")
        _check_ledger(vault, conn, report)
        _check_timestamps(conn, report)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return report


# -- ledger ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Recorded:
    items: dict[str, int] = field(default_factory=dict)  # sha256 -> size
    occurrences: set[tuple[str, str, str]] = field(default_factory=set)
    annotations: dict[int, str] = field(default_factory=dict)  # ledger seq -> content digest
    reviews: dict[int, tuple[int, str, str]] = field(default_factory=dict)  # seq -> (id, who, v)


def _iter_rows(conn: sqlite3.Connection) -> Iterator[tuple[int, str, bytes]]:
    for seq, text, leaf in conn.execute("SELECT seq, event, leaf_hash FROM ledger ORDER BY seq"):
        yield int(seq), str(text), bytes(leaf)


def _check_ledger(vault: Vault, conn: sqlite3.Connection, report: VerifyReport) -> _Recorded:
    ledger = vault.ledger(conn, signing=False)
    checkpoints = ledger.checkpoints()
    report.checkpoints_checked = len(checkpoints)
    for cp in checkpoints:
        if cp.origin != vault.origin or not cp.verify(ledger.public_key):
            report.add(
                CHECKPOINT_SIGNATURE_INVALID,
                None,
                f"checkpoint of size {cp.size} at {cp.time} is not signed by this vault's key",
            )
    if not checkpoints:
        report.add(CHECKPOINT_MISSING, None, "the ledger has no signed checkpoint")
    by_size: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints:
        by_size.setdefault(cp.size, []).append(cp)
    recorded = _Recorded()
    acc = RootAccumulator()
    expected_seq = 0
    prev_hash = ""
    for seq, text, stored_leaf in _iter_rows(conn):
        _compare_checkpoints(by_size.pop(acc.size, []), acc, report)
        if seq != expected_seq:
            report.add(
                LEDGER_EVENT_REMOVED,
                None,
                f"events {expected_seq}..{seq - 1} are missing from the ledger",
            )
        expected_seq = seq + 1
        try:
            event = json.loads(text)
            data = event_bytes(event)
        except (ValueError, TypeError):
            report.add(LEDGER_EVENT_ALTERED, None, f"event {seq} is not valid JSON")
            acc.append(leaf_hash(text.encode("utf-8", "surrogateescape")))
            prev_hash = stored_leaf.hex()
            continue
        leaf = leaf_hash(data)
        acc.append(leaf)
        subject = _subject_sha(event)
        if data.decode("utf-8") != text or leaf != stored_leaf:
            report.add(LEDGER_EVENT_ALTERED, subject, f"event {seq} does not match its hash")
        elif event.get("seq") != seq:
            report.add(
                LEDGER_EVENT_INSERTED,
                subject,
                f"event stored at position {seq} says it is event {event.get('seq')}",
            )
        elif event.get("prev") != prev_hash:
            report.add(
                LEDGER_EVENT_ALTERED,
                subject,
                f"event {seq} does not follow the event before it (edited, inserted or "
                f"reordered near event {seq - 1})",
            )
        prev_hash = leaf.hex()
        _remember(event, recorded)
    _compare_checkpoints(by_size.pop(acc.size, []), acc, report)
    report.events_checked = acc.size
    for size in sorted(by_size):
        report.add(
            LEDGER_TRUNCATED,
            None,
            f"a signed checkpoint covers {size} events but the ledger holds {acc.size}",
        )
    latest = max((cp.size for cp in checkpoints), default=0)
    report.unsigned_events = max(0, acc.size - latest)
    return recorded


def _compare_checkpoints(cps: list[Checkpoint], acc: RootAccumulator, report: VerifyReport) -> None:
    if not cps:
        return
    root = acc.root().hex()
    for cp in cps:
        if cp.root != root:
            report.add(
                CHECKPOINT_MISMATCH,
                None,
                f"the first {cp.size} events do not hash to the root signed at {cp.time}",
            )


def _subject_sha(event: Any) -> str | None:
    if not isinstance(event, dict):
        return None
    details = event.get("details")
    if isinstance(details, dict) and isinstance(details.get("sha256"), str):
        return str(details["sha256"])
    return None


def _remember(event: Any, recorded: _Recorded) -> None:
    if not isinstance(event, dict):
        return
    action = event.get("action")
    details = event.get("details") or {}
    digest = str(details.get("sha256"))
    if action == "item.ingested":
        recorded.items[digest] = int(details.get("size", -1))
        first = details.get("first_occurrence") or {}
        recorded.occurrences.add((digest, str(first.get("source")), str(first.get("path"))))
    elif action == "occurrence.added":
        recorded.occurrences.add((digest, str(details.get("source")), str(details.get("path"))))
    elif action == "annotation.added":
        recorded.annotations[int(event.get("seq", -1))] = str(details.get("digest"))
    elif action in ("annotation.confirmed", "annotation.rejected"):
        verdict = "confirm" if action == "annotation.confirmed" else "reject"
        recorded.reviews[int(event.get("seq", -1))] = (
            int(details.get("annotation", -1)),
            str(event.get("actor")),
            verdict,
        )


def _check_timestamps(conn: sqlite3.Connection, report: VerifyReport) -> None:
    """Every stored RFC 3161 token must be a genuine timestamp of its checkpoint (checked
    against the CA certificates stored with it, if any) and the very token that its
    ``checkpoint.timestamped`` event recorded; every recorded token must still be stored."""
    from dalil.ledger.timestamp import (
        EVENT_ACTION,
        TimestampError,
        stored_timestamps,
        verify_token,
    )

    recorded: dict[int, dict[str, Any]] = {}
    pattern = f'%"action":"{EVENT_ACTION}"%'  # events are canonical JSON
    for (text,) in conn.execute("SELECT event FROM ledger WHERE event LIKE ?", (pattern,)):
        with contextlib.suppress(ValueError):  # an unreadable event is reported already
            event = json.loads(text)
            if isinstance(event, dict) and event.get("action") == EVENT_ACTION:
                details = event.get("details")
                recorded[int(event.get("seq", -1))] = details if isinstance(details, dict) else {}
    for stamp in stored_timestamps(conn):
        label = f"timestamp token {stamp.id} from {stamp.tsa_url}"
        details = recorded.pop(stamp.ledger_seq, None)
        cp = stamp.checkpoint
        if cp is None:
            report.add(
                TIMESTAMP_INVALID, None, f"{label}: its checkpoint {stamp.checkpoint_id} is gone"
            )
            continue
        try:
            check = verify_token(stamp.token, cp, stamp.trusted_certs())
        except TimestampError as exc:
            report.add(TIMESTAMP_INVALID, None, f"{label}: {exc}")
            continue
        token_sha256 = hashlib.sha256(stamp.token).hexdigest()
        if not check.ok:
            detail = f"{label} (checkpoint of size {cp.size} at {cp.time}): {check.reason}"
        elif details is None or (details.get("token_sha256"), details.get("root")) != (
            token_sha256,
            cp.root,
        ):
            detail = f"{label} is not the token that ledger event {stamp.ledger_seq} recorded"
        elif (check.gen_time, check.tsa_name) != (stamp.gen_time, stamp.tsa_name):
            detail = f"{label}: the stored time or TSA name differs from the token's"
        else:
            continue
        report.add(TIMESTAMP_INVALID, None, detail)
    for seq in sorted(recorded):
        report.add(
            TIMESTAMP_INVALID, None, f"the timestamp token recorded by ledger event {seq} is gone"
        )


# -- catalogue ---------------------------------------------------------------------------------


def _check_catalogue(
    conn: sqlite3.Connection, recorded: _Recorded, report: VerifyReport
) -> dict[str, int]:
    catalogue: dict[str, int] = {}
    for digest, size in conn.execute("SELECT sha256, size FROM items"):
        catalogue[digest] = size
        if digest not in recorded.items:
            report.add(
                CATALOGUE_ROW_UNRECORDED,
                digest,
                "the catalogue lists an item that the ledger never recorded",
            )
        elif recorded.items[digest] != size:
            report.add(
                CATALOGUE_ROW_ALTERED,
                digest,
                f"catalogue says {size} bytes, the ledger recorded {recorded.items[digest]}",
            )
    for digest in recorded.items.keys() - catalogue.keys():
        report.add(
            CATALOGUE_ROW_MISSING, digest, "the ledger records this item; the catalogue lost it"
        )
    seen: set[tuple[str, str, str]] = set()
    for digest, source, path in conn.execute(
        "SELECT sha256, source_label, path_text FROM occurrences"
    ):
        key = (digest, source, path)
        seen.add(key)
        if key not in recorded.occurrences:
            report.add(
                CATALOGUE_ROW_UNRECORDED,
                digest,
                f"occurrence {path!r} from {source!r} was never recorded in the ledger",
            )
    for digest, source, path in recorded.occurrences - seen:
        report.add(
            CATALOGUE_ROW_MISSING,
            digest,
            f"occurrence {path!r} from {source!r} is recorded in the ledger but not catalogued",
        )
    return catalogue


def _check_annotations(conn: sqlite3.Connection, recorded: _Recorded, report: VerifyReport) -> None:
    """Claims and reviews about cases must be exactly what the ledger recorded."""
    from dalil.cases.model import annotation_digest

    seen: set[int] = set()
    rows = conn.execute(
        "SELECT id, kind, field, value, source, confidence, item, region, author, ledger_seq"
        " FROM annotations"
    )
    for aid, kind, field_, value, source, confidence, item, region, author, seq in rows:
        seen.add(int(seq))
        content = {
            "kind": kind,
            "field": field_,
            "value": value,
            "source": source,
            "confidence": confidence,
            "item": item,
            "region": json.loads(region) if region else None,
            "author": author,
        }
        if int(seq) not in recorded.annotations:
            report.add(
                CATALOGUE_ROW_UNRECORDED,
                item,
                f"annotation {aid} was never recorded in the ledger",
            )
        elif recorded.annotations[int(seq)] != annotation_digest(content):
            report.add(
                CATALOGUE_ROW_ALTERED,
                item,
                f"annotation {aid} differs from what the ledger recorded (event {seq})",
            )
    for seq in recorded.annotations.keys() - seen:
        report.add(CATALOGUE_ROW_MISSING, None, f"the annotation recorded by event {seq} is gone")
    # the review state must follow from the recorded reviews (the two-person rule)
    verdicts: dict[int, list[tuple[str, str]]] = {}
    for aid, reviewer, verdict in conn.execute(
        "SELECT annotation_id, reviewer, verdict FROM reviews ORDER BY id"
    ):
        verdicts.setdefault(int(aid), []).append((str(reviewer), str(verdict)))
    for aid, author, source, state in conn.execute(
        "SELECT id, author, source, state FROM annotations"
    ):
        reviews = verdicts.get(int(aid), [])
        confirms = {
            who for who, v in reviews if v == "confirm" and (who != author or source != "person")
        }
        rejects = {who for who, v in reviews if v == "reject"}
        needed = 1 if source == "person" else 2
        if confirms and not rejects and len(confirms) >= needed:
            expected = "verified"
        elif rejects and not confirms:
            expected = "rejected"
        else:
            expected = "unverified"
        if state != expected:
            report.add(
                CATALOGUE_ROW_ALTERED,
                None,
                f"annotation {aid} is {state!r}, but its recorded reviews make it {expected!r}",
            )
    seen.clear()
    for rid, aid, reviewer, verdict, seq in conn.execute(
        "SELECT id, annotation_id, reviewer, verdict, ledger_seq FROM reviews"
    ):
        seen.add(int(seq))
        if recorded.reviews.get(int(seq)) != (int(aid), str(reviewer), str(verdict)):
            report.add(
                CATALOGUE_ROW_ALTERED,
                None,
                f"review {rid} of annotation {aid} differs from what the ledger recorded",
            )
    for seq in recorded.reviews.keys() - seen:
        report.add(CATALOGUE_ROW_MISSING, None, f"the review recorded by event {seq} is gone")


# -- objects -----------------------------------------------------------------------------------


def _check_objects(
    vault: Vault,
    catalogue: dict[str, int],
    report: VerifyReport,
    jobs: int,
    progress: HashProgress | None,
) -> None:
    store = vault.store()
    present: dict[str, Path] = {}
    for name, path in store.iter_objects():
        expected_path = store.path(name) if len(name) == 64 else None
        if name not in catalogue or expected_path != path:
            report.add(UNEXPECTED_OBJECT, None, f"{path.relative_to(vault.root)} is not catalogued")
            continue
        present[name] = path
    for digest in catalogue.keys() - present.keys():
        report.add(OBJECT_MISSING, digest, "the object store has no copy of this item")
    paths = [str(present[d]) for d in sorted(present)]
    total = len(paths)
    results: Iterator[tuple[str, str | None, int]]
    if jobs > 1 and total > 1:
        pool = ProcessPoolExecutor(jobs)
        results = pool.map(hash_file, paths, chunksize=max(1, min(64, total // (jobs * 8) or 1)))
    else:
        pool = None
        results = map(hash_file, paths)
    try:
        for done, (path_text, found, size) in enumerate(results, 1):
            name = os.path.basename(path_text)
            report.objects_checked += 1
            report.bytes_checked += size
            if found is None:
                report.add(OBJECT_ALTERED, name, "the object could not be read")
            elif found != name:
                report.add(OBJECT_ALTERED, name, f"the object's bytes now hash to {found}")
            elif size != catalogue[name]:
                report.add(OBJECT_ALTERED, name, f"size {size} != catalogued {catalogue[name]}")
            if progress is not None:
                progress(done, total)
    finally:
        if pool is not None:
            pool.shutdown()
