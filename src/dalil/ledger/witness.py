"""Checkpoints kept off the vault, and proof that today's ledger only grew since.

A checkpoint exported with ``dalil ledger checkpoint --out FILE`` is a C2SP ``tlog-checkpoint``
signed note (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note), so standard
transparency-log witnesses can cosign it::

    dalil-vault/<id>
    <tree size>
    <base64 root hash>

    — dalil-vault/<id> <base64(key hash[4] || Ed25519 signature)>

Whoever keeps such a file can later prove, with an RFC 9162 consistency proof, that the vault's
ledger extends it: deleting the tail, rewriting history or rolling the whole vault back to an
older copy is then detected (``dalil ledger verify --since FILE``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dalil import keys
from dalil.ledger.merkle import consistency_proof, root, verify_consistency

DASH = "\u2014"
ED25519_ALGORITHM = b"\x01"


@dataclass(frozen=True, slots=True)
class NoteCheckpoint:
    origin: str
    size: int
    root: bytes


def key_hash(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The signed-note key ID: the first 4 bytes of SHA-256(name || "\\n" || 0x01 || key)."""
    return hashlib.sha256(
        name.encode() + b"\n" + ED25519_ALGORITHM + keys.public_raw(public_key)
    ).digest()[:4]


def note_body(origin: str, size: int, root_hash: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root_hash).decode('ascii')}\n"


def sign_note(origin: str, size: int, root_hash: bytes, key: Ed25519PrivateKey) -> str:
    body = note_body(origin, size, root_hash)
    signature = key.sign(body.encode("utf-8"))
    blob = base64.b64encode(key_hash(origin, key.public_key()) + signature).decode("ascii")
    return f"{body}\n{DASH} {origin} {blob}\n"


def read_note(text: str, public_key: Ed25519PublicKey, origin: str) -> NoteCheckpoint:
    """Parse a signed checkpoint note and check its signature by ``public_key`` for
    ``origin``; raise ValueError saying what is wrong."""
    body, sep, signatures = text.partition("\n\n")
    if not sep:
        raise ValueError("not a signed checkpoint note (no blank line before the signatures)")
    body += "\n"
    lines = body.split("\n")
    if len(lines) < 4:
        raise ValueError("a checkpoint note has an origin, a size and a root hash")
    note_origin, size_text, root_text = lines[0], lines[1], lines[2]
    if note_origin != origin:
        raise ValueError(f"the checkpoint is of {note_origin!r}, not of this vault ({origin})")
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise ValueError(f"bad tree size {size_text!r}")
    try:
        root_hash = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise ValueError("the root hash is not base64") from exc
    if len(root_hash) != 32:
        raise ValueError("the root hash is not 32 bytes")
    wanted = key_hash(origin, public_key)
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or parts[1] != origin:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            continue
        if blob[:4] != wanted:
            continue
        try:
            public_key.verify(blob[4:], body.encode("utf-8"))
        except InvalidSignature as exc:
            raise ValueError(
                "the checkpoint's signature is not valid for this vault's key"
            ) from exc
        return NoteCheckpoint(note_origin, int(size_text), root_hash)
    raise ValueError("the checkpoint is not signed by this vault's key")


def extends(leaves: list[bytes], old: NoteCheckpoint) -> str | None:
    """None if the log with these leaf hashes extends the checkpoint (proved with a
    consistency proof); else what is wrong."""
    size = len(leaves)
    if old.size > size:
        return (
            f"the ledger holds {size} events, fewer than the {old.size} of the checkpoint kept"
            " off the vault: events were deleted or the vault was rolled back"
        )
    if old.size == 0:
        return None
    new_root = root(leaves)
    proof = consistency_proof(leaves, old.size, size)
    if not verify_consistency(old.size, size, old.root, new_root, proof):
        return (
            f"the first {old.size} events are not those of the checkpoint kept off the vault:"
            " the ledger's history was rewritten"
        )
    return None
