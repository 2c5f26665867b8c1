"""What verification found: problems by kind, and counts of what was checked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

# Kinds of problem, as named in reports and docs/verify.md.
OBJECT_MISSING = "object_missing"
OBJECT_ALTERED = "object_altered"
UNEXPECTED_OBJECT = "unexpected_object"
OBJECT_UNPROTECTED = "object_unprotected"
STORE_UNREADABLE = "store_unreadable"
DERIVATIVE_MISSING = "derivative_missing"
DERIVATIVE_ALTERED = "derivative_altered"
CATALOGUE_ROW_ALTERED = "catalogue_row_altered"
CATALOGUE_ROW_UNRECORDED = "catalogue_row_unrecorded"
CATALOGUE_ROW_MISSING = "catalogue_row_missing"
CATALOGUE_BEHIND = "catalogue_behind"
LEDGER_EVENT_ALTERED = "ledger_event_altered"
LEDGER_EVENT_INSERTED = "ledger_event_inserted"
LEDGER_EVENT_REMOVED = "ledger_event_removed"
LEDGER_PAYLOAD_ALTERED = "ledger_payload_altered"
LEDGER_RULE_BROKEN = "ledger_rule_broken"
SIGNATURE_INVALID = "signature_invalid"
LEDGER_UNSIGNED_TAIL = "ledger_unsigned_tail"
LEDGER_TRUNCATED = "ledger_truncated"
LEDGER_NOT_EXTENDED = "ledger_not_extended"
CHECKPOINT_MISMATCH = "checkpoint_mismatch"
CHECKPOINT_SIGNATURE_INVALID = "checkpoint_signature_invalid"
CHECKPOINT_MISSING = "checkpoint_missing"
KEY_MISMATCH = "key_mismatch"
TIMESTAMP_INVALID = "timestamp_invalid"

KINDS = (
    OBJECT_MISSING,
    OBJECT_ALTERED,
    UNEXPECTED_OBJECT,
    OBJECT_UNPROTECTED,
    DERIVATIVE_MISSING,
    DERIVATIVE_ALTERED,
    CATALOGUE_ROW_ALTERED,
    CATALOGUE_ROW_UNRECORDED,
    CATALOGUE_ROW_MISSING,
    CATALOGUE_BEHIND,
    LEDGER_EVENT_ALTERED,
    LEDGER_EVENT_INSERTED,
    LEDGER_EVENT_REMOVED,
    LEDGER_PAYLOAD_ALTERED,
    LEDGER_RULE_BROKEN,
    SIGNATURE_INVALID,
    LEDGER_UNSIGNED_TAIL,
    LEDGER_TRUNCATED,
    LEDGER_NOT_EXTENDED,
    CHECKPOINT_MISMATCH,
    CHECKPOINT_SIGNATURE_INVALID,
    CHECKPOINT_MISSING,
    KEY_MISMATCH,
    TIMESTAMP_INVALID,
)
"""Every kind; docs/verify.md explains each (a test checks)."""

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
    derivatives_checked: int = 0
    events_checked: int = 0
    checkpoints_checked: int = 0
    rows_checked: int = 0
    unsigned_events: int = 0
    key_fingerprint: str = ""
    extends_checkpoint: int | None = None
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
            "derivatives_checked": self.derivatives_checked,
            "events_checked": self.events_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "rows_checked": self.rows_checked,
            "unsigned_events": self.unsigned_events,
            "key_fingerprint": self.key_fingerprint,
            "extends_checkpoint": self.extends_checkpoint,
            "problems": [asdict(p) for p in self.problems],
        }
