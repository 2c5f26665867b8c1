"""The append-only ledger: canonical JSON events in a Merkle log with signed checkpoints.

Events are stored in the catalogue's ``ledger`` table and written in the same transaction as
the change they record. Each event also names the leaf hash of the one before it (``prev``), so
an edited event can be located even when its stored leaf hash was rewritten to match.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dalil import keys
from dalil.ledger.canonical import canonical_json, checkpoint_message
from dalil.ledger.merkle import RootAccumulator, inclusion_proof, leaf_hash
from dalil.timeutil import utc_now

PROOF_FORMAT = "dalil-inclusion-proof/1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: str
    time: str
    signature: str

    def message(self) -> bytes:
        return checkpoint_message(self.origin, self.size, self.root, self.time)

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        return keys.verify_signature(public_key, self.signature, self.message())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def event_bytes(event: dict[str, Any]) -> bytes:
    return canonical_json(event)


class Ledger:
    """Append events and sign checkpoints over one catalogue connection."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        origin: str,
        public_key: Ed25519PublicKey,
        private_key: Ed25519PrivateKey | None = None,
    ) -> None:
        self.conn = conn
        self.origin = origin
        self.public_key = public_key
        self.private_key = private_key

    def append(
        self, actor: str, action: str, subject: str, details: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Append one event; the caller must hold a write transaction (``atomic``)."""
        if not self.conn.in_transaction:
            raise RuntimeError("ledger events must be written inside a transaction")
        last = self.conn.execute(
            "SELECT seq, leaf_hash FROM ledger ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        seq = 0 if last is None else last[0] + 1
        event: dict[str, Any] = {
            "seq": seq,
            "time": utc_now(),
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": details or {},
            "prev": "" if last is None else bytes(last[1]).hex(),
        }
        data = event_bytes(event)
        self.conn.execute(
            "INSERT INTO ledger (seq, event, leaf_hash) VALUES (?, ?, ?)",
            (seq, data.decode("utf-8"), leaf_hash(data)),
        )
        return event

    def size(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger").fetchone()
        return int(row[0])

    def stored_leaf_hashes(self, size: int | None = None) -> list[bytes]:
        limit = -1 if size is None else size
        rows = self.conn.execute("SELECT leaf_hash FROM ledger ORDER BY seq LIMIT ?", (limit,))
        return [bytes(r[0]) for r in rows]

    def root(self, size: int | None = None) -> bytes:
        acc = RootAccumulator()
        limit = -1 if size is None else size
        for (leaf,) in self.conn.execute(
            "SELECT leaf_hash FROM ledger ORDER BY seq LIMIT ?", (limit,)
        ):
            acc.append(bytes(leaf))
        return acc.root()

    def checkpoint(self) -> Checkpoint:
        """Sign the current tree head and record it; call inside a transaction."""
        if self.private_key is None:
            raise RuntimeError("this ledger was opened without the signing key")
        size = self.size()
        unsigned = Checkpoint(self.origin, size, self.root(size).hex(), utc_now(), "")
        signed = Checkpoint(
            unsigned.origin,
            unsigned.size,
            unsigned.root,
            unsigned.time,
            keys.sign(self.private_key, unsigned.message()),
        )
        self.conn.execute(
            "INSERT INTO checkpoints (origin, size, root, time, signature) VALUES (?, ?, ?, ?, ?)",
            (signed.origin, signed.size, signed.root, signed.time, signed.signature),
        )
        return signed

    def checkpoints(self) -> list[Checkpoint]:
        rows = self.conn.execute(
            "SELECT origin, size, root, time, signature FROM checkpoints ORDER BY id"
        )
        return [Checkpoint(*row) for row in rows]

    def latest_checkpoint(self) -> Checkpoint | None:
        row = self.conn.execute(
            "SELECT origin, size, root, time, signature FROM checkpoints ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else Checkpoint(*row)

    def events(self, start: int = 0) -> Iterator[dict[str, Any]]:
        for (text,) in self.conn.execute(
            "SELECT event FROM ledger WHERE seq >= ? ORDER BY seq", (start,)
        ):
            event: dict[str, Any] = json.loads(text)
            yield event

    def events_about(self, subject: str) -> list[dict[str, Any]]:
        """Events whose subject is ``subject`` or whose details name it (``sha256``)."""
        digest = subject.removeprefix("sha256:")
        rows = self.conn.execute(
            "SELECT event FROM ledger WHERE event LIKE ? ORDER BY seq", (f"%{digest}%",)
        )
        found = []
        for (text,) in rows:
            event = json.loads(text)
            if event["subject"] == subject or event["details"].get("sha256") == digest:
                found.append(event)
        return found

    def proof(self, seq: int, checkpoint: Checkpoint | None = None) -> dict[str, Any]:
        """An inclusion proof of event ``seq`` against a signed checkpoint.

        The result is the JSON contract checked by ``tools/verify_proof.py``.
        """
        checkpoint = checkpoint or self.latest_checkpoint()
        if checkpoint is None:
            raise ValueError("the ledger has no signed checkpoint yet")
        if seq >= checkpoint.size:
            raise ValueError(
                f"event {seq} is newer than the latest checkpoint (size {checkpoint.size}); "
                "run 'dalil ledger checkpoint' first"
            )
        row = self.conn.execute("SELECT event FROM ledger WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise ValueError(f"no ledger event {seq}")
        leaves = self.stored_leaf_hashes(checkpoint.size)
        path = inclusion_proof(leaves, seq, checkpoint.size)
        return {
            "format": PROOF_FORMAT,
            "event": json.loads(row[0]),
            "leaf_index": seq,
            "tree_size": checkpoint.size,
            "audit_path": [p.hex() for p in path],
            "checkpoint": checkpoint.to_dict(),
            "public_key": keys.public_raw_b64(self.public_key),
        }
