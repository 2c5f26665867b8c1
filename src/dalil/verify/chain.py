"""The ledger itself: every event, payload and signed checkpoint, the vault's key, the rules
every history must follow, and (given a checkpoint kept off the vault) that the log only grew.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dalil import keys
from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.ledger.log import Checkpoint, event_bytes
from dalil.ledger.merkle import RootAccumulator, leaf_hash
from dalil.ledger.witness import extends, read_note
from dalil.vault import Vault
from dalil.verify import report as r


@dataclass(frozen=True, slots=True)
class Trust:
    """What the person verifying trusts: by default the key recorded when the vault was
    created; better, a key or fingerprint obtained independently and a checkpoint kept off
    the vault."""

    public_key: Path | None = None
    fingerprint: str | None = None
    since: Path | None = None
    allow_unsigned_tail: bool = False


@dataclass(slots=True)
class Walked:
    """What the walk over the ledger learned, for the checks that follow."""

    leaves: list[bytes] = field(default_factory=list)
    bound_seq: int | None = None  # the catalog.bound event, if this vault was bound


def _rows(conn: Db) -> Any:
    return conn.execute("SELECT seq, event, leaf_hash FROM ledger ORDER BY seq")


def _recorded_key(conn: Db) -> Ed25519PublicKey | None:
    row = conn.execute("SELECT event FROM ledger WHERE seq = 0").fetchone()
    try:
        event = json.loads(row[0])
        if event.get("action") != "vault.created":
            return None
        import base64

        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey as Key

        return Key.from_public_bytes(base64.b64decode(event["details"]["public_key"]))
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def trusted_key(vault: Vault, conn: Db, trust: Trust, report: r.VerifyReport) -> Ed25519PublicKey:
    """The key checkpoints must be signed with; each disagreement between the key files, the
    ledger's record and what the user gave is reported."""
    recorded = _recorded_key(conn)
    try:
        on_disk: Ed25519PublicKey | None = keys.load_public(vault.keys_dir)
    except Exception:
        on_disk = None
    given = keys.load_public_file(trust.public_key) if trust.public_key else None
    trusted = given or recorded or on_disk
    if trusted is None:
        raise UsageError("no public key to verify with: give --public-key")
    fp = keys.fingerprint(trusted)
    report.key_fingerprint = fp
    if on_disk is None or keys.fingerprint(on_disk) != fp:
        report.add(
            r.KEY_MISMATCH,
            None,
            f"{vault.keys_dir / keys.PUBLIC_NAME} is not the key {fp[:16]}… that "
            + ("you gave" if given else "the vault was created with"),
        )
    if given is not None and (recorded is None or keys.fingerprint(recorded) != fp):
        report.add(
            r.KEY_MISMATCH, None, "the vault was created with another key than the one given"
        )
    wanted = (trust.fingerprint or "").lower().replace(":", "").strip()
    if wanted and wanted != fp:
        report.add(
            r.KEY_MISMATCH, None, f"the vault's key has fingerprint {fp}, not the {wanted} given"
        )
    return trusted


def check_ledger(
    vault: Vault,
    conn: Db,
    report: r.VerifyReport,
    trust: Trust,
    clock_tolerance: int,
) -> Walked:
    key = trusted_key(vault, conn, trust, report)
    ledger = vault.ledger(conn, signing=False)
    checkpoints = ledger.checkpoints()
    report.checkpoints_checked = len(checkpoints)
    for cp in checkpoints:
        if cp.origin != vault.origin or not cp.verify(key):
            report.add(
                r.CHECKPOINT_SIGNATURE_INVALID,
                None,
                f"checkpoint of size {cp.size} at {cp.time} is not signed by the vault's key",
            )
    if not checkpoints:
        report.add(r.CHECKPOINT_MISSING, None, "the ledger has no signed checkpoint")
    by_size: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints:
        by_size.setdefault(cp.size, []).append(cp)
    walked = Walked()
    rules = _Rules(clock_tolerance)
    payloads = _payload_digests(conn)
    acc = RootAccumulator()
    expected_seq = 0
    prev_hash = ""
    for seq, text, stored_leaf in _rows(conn):
        seq, stored_leaf = int(seq), bytes(stored_leaf)
        _compare_checkpoints(by_size.pop(acc.size, []), acc, report)
        if seq != expected_seq:
            report.add(
                r.LEDGER_EVENT_REMOVED, None, f"events {expected_seq}..{seq - 1} are missing"
            )
        expected_seq = seq + 1
        try:
            event = json.loads(text)
            data = event_bytes(event)
        except (ValueError, TypeError):
            report.add(r.LEDGER_EVENT_ALTERED, None, f"event {seq} is not valid JSON")
            leaf = leaf_hash(str(text).encode("utf-8", "surrogateescape"))
            acc.append(leaf)
            walked.leaves.append(leaf)
            prev_hash = stored_leaf.hex()
            continue
        leaf = leaf_hash(data)
        acc.append(leaf)
        walked.leaves.append(leaf)
        subject = _subject_sha(event)
        if data.decode("utf-8") != text or leaf != stored_leaf:
            report.add(r.LEDGER_EVENT_ALTERED, subject, f"event {seq} does not match its hash")
        elif event.get("seq") != seq:
            report.add(
                r.LEDGER_EVENT_INSERTED,
                subject,
                f"event stored at position {seq} says it is event {event.get('seq')}",
            )
        elif event.get("prev") != prev_hash:
            report.add(
                r.LEDGER_EVENT_ALTERED,
                subject,
                f"event {seq} does not follow the event before it (edited, inserted or "
                f"reordered near event {seq - 1})",
            )
        prev_hash = leaf.hex()
        if not isinstance(event, dict):
            continue
        _check_payload(event, seq, payloads.pop(seq, None), report)
        rules.check(event, seq, report)
        if event.get("action") == "catalog.bound" and walked.bound_seq is None:
            walked.bound_seq = seq
    _compare_checkpoints(by_size.pop(acc.size, []), acc, report)
    report.events_checked = acc.size
    for size in sorted(by_size):
        report.add(
            r.LEDGER_TRUNCATED,
            None,
            f"a signed checkpoint covers {size} events but the ledger holds {acc.size}",
        )
    for seq in sorted(payloads):
        report.add(
            r.LEDGER_PAYLOAD_ALTERED, None, f"a payload is stored for event {seq}, which names none"
        )
    latest = max((cp.size for cp in checkpoints), default=0)
    report.unsigned_events = max(0, acc.size - latest)
    if report.unsigned_events and not trust.allow_unsigned_tail:
        report.add(
            r.LEDGER_UNSIGNED_TAIL,
            None,
            f"the last {report.unsigned_events} event(s) are not covered by a signed checkpoint:"
            " anyone with disk access could have appended them. If they are yours, sign them:"
            " dalil ledger checkpoint",
        )
    if trust.since is not None:
        _check_since(vault, key, trust.since, walked.leaves, report)
    return walked


def _check_since(
    vault: Vault, key: Ed25519PublicKey, path: Path, leaves: list[bytes], report: r.VerifyReport
) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the checkpoint file ({exc})") from exc
    try:
        note = read_note(text, key, vault.origin)
    except ValueError as exc:
        report.add(r.LEDGER_NOT_EXTENDED, None, f"{path.name}: {exc}")
        return
    problem = extends(leaves, note)
    if problem is not None:
        report.add(r.LEDGER_NOT_EXTENDED, None, problem)
    else:
        report.extends_checkpoint = note.size


def _payload_digests(conn: Db) -> dict[int, str]:
    return {
        int(seq): hashlib.sha256(str(data).encode("utf-8")).hexdigest()
        for seq, data in conn.execute("SELECT seq, data FROM payloads")
    }


def _check_payload(
    event: dict[str, Any], seq: int, found: str | None, report: r.VerifyReport
) -> None:
    details = event.get("details")
    wanted = details.get("payload") if isinstance(details, dict) else None
    if wanted is None:
        if found is not None:
            report.add(
                r.LEDGER_PAYLOAD_ALTERED, None, f"event {seq} has a payload it does not name"
            )
        return
    if found is None:
        report.add(
            r.LEDGER_PAYLOAD_ALTERED, _subject_sha(event), f"the payload of event {seq} is gone"
        )
    elif found != wanted:
        report.add(
            r.LEDGER_PAYLOAD_ALTERED,
            _subject_sha(event),
            f"the payload of event {seq} ({event.get('action')}) is not the one it recorded",
        )


class _Rules:
    """Rules every history obeys: nothing is added to an acquisition once it is closed, and
    time does not run backwards (beyond a tolerance for clocks set by hand)."""

    def __init__(self, tolerance: int) -> None:
        self.tolerance = tolerance
        self.closed: dict[str, int] = {}
        self.latest: tuple[datetime, int] | None = None

    def check(self, event: dict[str, Any], seq: int, report: r.VerifyReport) -> None:
        for label in _acquisitions_named(event):
            if label in self.closed:
                report.add(
                    r.LEDGER_RULE_BROKEN,
                    _subject_sha(event),
                    f"event {seq} ({event.get('action')}) adds to acquisition {label} after it"
                    f" was closed (event {self.closed[label]})",
                )
        if event.get("action") == "acquisition.closed":
            self.closed[str(event.get("subject", "")).removeprefix("acquisition:")] = seq
        try:
            when = datetime.fromisoformat(str(event.get("time")))
        except ValueError:
            report.add(r.LEDGER_RULE_BROKEN, None, f"event {seq} has no valid time")
            return
        if self.latest is not None:
            before, before_seq = self.latest
            if (before - when).total_seconds() > self.tolerance:
                report.add(
                    r.LEDGER_RULE_BROKEN,
                    _subject_sha(event),
                    f"event {seq} is dated {event.get('time')}, earlier than event {before_seq}"
                    f" by more than {self.tolerance} s: it was not written in this order",
                )
        if self.latest is None or when > self.latest[0]:
            self.latest = (when, seq)


def _acquisitions_named(event: dict[str, Any]) -> set[str]:
    named: set[str] = set()
    subject = str(event.get("subject", ""))
    if subject.startswith("acquisition:"):
        named.add(subject.removeprefix("acquisition:"))
    details = event.get("details")
    if isinstance(details, dict):
        for key in ("first_occurrence", None):
            part = details.get(key) if key else details
            if isinstance(part, dict) and isinstance(part.get("acquisition"), str):
                named.add(str(part["acquisition"]))
    return named


def _compare_checkpoints(
    cps: list[Checkpoint], acc: RootAccumulator, report: r.VerifyReport
) -> None:
    if not cps:
        return
    root = acc.root().hex()
    for cp in cps:
        if cp.root != root:
            report.add(
                r.CHECKPOINT_MISMATCH,
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
