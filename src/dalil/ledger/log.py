"""The append-only ledger: canonical JSON events in a Merkle log with signed checkpoints.

Events live in ``ledger.sqlite`` (attached to every catalogue connection) and are written in the
same transaction as the change they record. Each event also names the leaf hash of the one
before it (``prev``), so an edited event can be located even when its stored leaf hash was
rewritten to match.

An event may carry a **payload**: the full content of the facts it records (an item's metadata,
a claim's text, a password hash …), kept beside the event and bound to it by its SHA-256 in
``details.payload``. The event itself — what inclusion proofs and bundles show — holds only
digests of what is private. The catalogue is a projection of events and payloads
(:mod:`dalil.projection`): appending an event applies it to the catalogue at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dalil import keys, signing
from dalil.catalog.db import Db
from dalil.errors import UsageError, VaultError
from dalil.ledger.canonical import canonical_json, checkpoint_message
from dalil.ledger.merkle import RootAccumulator, inclusion_proof, leaf_hash
from dalil.timeutil import utc_now

PROOF_FORMAT = "dalil-inclusion-proof/1"

KeySource = Callable[[], Ed25519PrivateKey]


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


def payload_bytes(payload: dict[str, Any]) -> bytes:
    return canonical_json(payload)


def payload_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Ledger:
    """Append events and sign checkpoints over one catalogue connection."""

    def __init__(
        self,
        conn: Db,
        origin: str,
        public_key: Ed25519PublicKey,
        private_key: Ed25519PrivateKey | KeySource | None = None,
    ) -> None:
        self.conn = conn
        self.origin = origin
        self.public_key = public_key
        self._key = private_key

    # -- signing ----------------------------------------------------------------------------

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The signing key (loaded on first use: it may ask for a passphrase)."""
        if self._key is None:
            raise VaultError("this ledger was opened without the signing key")
        if not isinstance(self._key, Ed25519PrivateKey):
            self._key = self._key()
        return self._key

    # -- appending --------------------------------------------------------------------------

    def append(
        self,
        actor: str,
        action: str,
        subject: str,
        details: dict[str, Any] | None = None,
        payload: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append one event (and its payload) and apply it to the catalogue.

        The caller must hold a write transaction (``atomic``).
        """
        if not self.conn.in_transaction:
            raise RuntimeError("ledger events must be written inside a transaction")
        from dalil.users import may_record

        may_record(self.conn, actor, action)  # every act is by a user who may act now
        last = self.conn.execute(
            "SELECT seq, leaf_hash FROM ledger ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        seq = 0 if last is None else last[0] + 1
        details = dict(details or {})
        data = None
        if payload is not None:
            data = payload_bytes(payload)
            details["payload"] = payload_digest(data)
        event: dict[str, Any] = {
            "seq": seq,
            "time": utc_now(),
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": details,
            "prev": "" if last is None else bytes(last[1]).hex(),
        }
        signer = self._signer(actor, action, payload)
        if signer is not None:  # the person's own signature over the whole event
            details["signature"] = signing.sign_event(event, signer)
        encoded = event_bytes(event)
        leaf = leaf_hash(encoded)
        self.conn.execute(
            "INSERT INTO ledger (seq, event, leaf_hash) VALUES (?, ?, ?)",
            (seq, encoded.decode("utf-8"), leaf),
        )
        if data is not None:
            self.conn.execute(
                "INSERT INTO payloads (seq, data) VALUES (?, ?)", (seq, data.decode("utf-8"))
            )
        from dalil.projection import apply  # the projection imports domain modules

        # Project what a replay will read: the payload as stored, not the caller's objects.
        apply(self.conn, event, None if data is None else json.loads(data), leaf.hex())
        return event

    def prove(self, actor: str) -> None:
        """Have ``actor`` prove who they are now, before long work whose result they will
        record (an estimate): the usage error :meth:`append` would raise comes first, and the
        key proved is kept for the append."""
        self._signer(actor, "", None)

    def _signer(
        self, actor: str, action: str, payload: dict[str, Any] | None
    ) -> Ed25519PrivateKey | None:
        """The key that signs an event by ``actor``: theirs, proved. A person with a key
        registered in the ledger acts only after proving who they are."""
        if action == "vault.created":  # the creator's key arrives with this very event
            return signing.key_for(self.origin, actor)
        row = self.conn.execute(
            "SELECT public_key, sealed_key FROM users WHERE name = ?", (actor,)
        ).fetchone()
        registered = None if row is None else row[0]
        if registered is None:
            return None  # Dalil itself, or an account from before people had keys
        key = signing.key_for(self.origin, actor)
        if key is None and signing.prover is not None and row[1]:
            key = signing.prover(self.origin, actor, json.loads(row[1]))
            if key is not None:
                signing.remember(self.origin, actor, key)
        if key is None:
            raise UsageError(
                f"{actor} has not proved who they are: give the password on a terminal, or"
                f" unlock the key first (dalil unlock --as {actor})"
            )
        if signing.public_b64(key) != registered:
            raise UsageError(f"the key in hand is not {actor}'s registered key")
        return key

    # -- reading ----------------------------------------------------------------------------

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

    def payload(self, seq: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM payloads WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            return None
        found: dict[str, Any] = json.loads(row[0])
        return found

    def head_root(self) -> tuple[int, bytes]:
        """(size, root) of the whole ledger, from the frontier kept at the last checkpoint
        plus the events since (a cache: verify recomputes every root from the events)."""
        acc = RootAccumulator()
        row = self.conn.execute("SELECT size, stack FROM frontier WHERE id = 1").fetchone()
        if row is not None:
            try:
                acc = RootAccumulator.from_state(int(row[0]), bytes(row[1]))
            except ValueError:
                acc = RootAccumulator()
        if acc.size > self.size():  # a stale frontier: start again from the events
            acc = RootAccumulator()
        for (leaf,) in self.conn.execute(
            "SELECT leaf_hash FROM ledger WHERE seq >= ? ORDER BY seq", (acc.size,)
        ):
            acc.append(bytes(leaf))
        size, stack = acc.state()
        self.conn.execute(
            "INSERT INTO frontier (id, size, stack) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE"
            " SET size = excluded.size, stack = excluded.stack",
            (size, stack),
        )
        return size, acc.root()

    def checkpoint(self) -> Checkpoint:
        """Sign the current tree head and record it; call inside a transaction."""
        key = self.private_key
        size, root = self.head_root()
        unsigned = Checkpoint(self.origin, size, root.hex(), utc_now(), "")
        signed = Checkpoint(
            unsigned.origin,
            unsigned.size,
            unsigned.root,
            unsigned.time,
            keys.sign(key, unsigned.message()),
        )
        self.conn.execute(
            "INSERT INTO checkpoints (origin, size, root, time, signature) VALUES (?, ?, ?, ?, ?)",
            (signed.origin, signed.size, signed.root, signed.time, signed.signature),
        )
        return signed

    def sign_tail(self) -> Checkpoint | None:
        """Sign a checkpoint if events were added since the last one and the key can be had
        (in a transaction of its own unless the caller holds one)."""
        latest = self.latest_checkpoint()
        if latest is not None and latest.size == self.size():
            return None
        if self.conn.in_transaction:
            return self.try_checkpoint()
        from dalil.catalog.db import atomic

        with atomic(self.conn):
            return self.try_checkpoint()

    def try_checkpoint(self) -> Checkpoint | None:
        """Sign a checkpoint if the signing key can be had; else leave the tail unsigned."""
        try:
            self.private_key  # noqa: B018 - loads the key (or fails) before writing anything
        except VaultError:
            return None
        return self.checkpoint()

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
