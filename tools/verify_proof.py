#!/usr/bin/env python3
"""Verify a Dalil inclusion proof ("dalil-inclusion-proof/1") without Dalil installed.

Usage:  python verify_proof.py PROOF.json [--public-key KEYFILE]

Needs only Python 3.11+ and the `cryptography` package.  Checks that
  1. the checkpoint (tree size + Merkle root) is signed by the vault's Ed25519 key,
  2. the event, hashed as SHA-256(0x00 || canonical JSON), is entry `leaf_index` of that
     tree (RFC 9162 audit path),
  3. the event's own `seq` (when present) equals `leaf_index`.
Prints one verdict line, "VERIFIED: ..." (exit 0) or "FAILED: <reason>" (exit 1).
The key embedded in the proof file only shows the file is self-consistent: pass the
vault's key obtained independently with --public-key, or compare the printed fingerprint.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "dalil-inclusion-proof/1"
HEX64 = re.compile(r"[0-9a-f]{64}")


class Failure(Exception):
    """A verification failure; the message is the reason printed after 'FAILED: '."""


def canonical_json(obj: object) -> bytes:  # identical to dalil.ledger.canonical
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def checkpoint_message(origin: str, size: int, root_hex: str, time: str) -> bytes:
    return f"dalil-checkpoint/1\n{origin}\n{size}\n{root_hex}\n{time}\n".encode()


def root_from_audit_path(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """RFC 9162 section 2.1.3.2; None when the path has the wrong shape for index/size."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while fn != 0 and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def malformed(why: str) -> Failure:
    return Failure(f"malformed proof file: {why}")


def field(obj: dict[str, Any], name: str, kind: type, where: str = "") -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise malformed(f"'{where}{name}' missing or not a {kind.__name__}")
    return value


def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise malformed("duplicate key in a JSON object")
    return dict(pairs)


def decode_raw_key(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Failure(f"{where} is not valid base64") from None
    if len(raw) != 32:
        raise Failure(f"{where} is not a 32-byte Ed25519 public key")
    return raw


def load_key_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise Failure(f"cannot read public key file: {e.strerror or e}") from None
    if b"-----BEGIN" in data:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            raise Failure("public key file is not a valid PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise Failure("public key file does not hold an Ed25519 key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise Failure("public key file is neither PEM nor base64") from None
    return decode_raw_key(text, "public key file")


def verify(proof_path: str, key_path: str | None) -> str:
    try:
        with open(proof_path, encoding="utf-8") as f:
            doc = json.load(f, object_pairs_hook=no_duplicates)
    except OSError as e:
        raise Failure(f"cannot read proof file: {e.strerror or e}") from None
    except (ValueError, RecursionError) as e:  # bad UTF-8, bad JSON, absurd nesting/numbers
        raise malformed(f"not valid UTF-8 JSON ({e})") from None
    if not isinstance(doc, dict):
        raise malformed("top level is not a JSON object")
    if doc.get("format") != FORMAT:
        raise malformed(f"format is {doc.get('format')!r}, expected {FORMAT!r}")
    event = field(doc, "event", dict)
    index = field(doc, "leaf_index", int)
    size = field(doc, "tree_size", int)
    cp = field(doc, "checkpoint", dict)
    origin = field(cp, "origin", str, "checkpoint.")
    cp_size = field(cp, "size", int, "checkpoint.")
    root_hex = field(cp, "root", str, "checkpoint.")
    time = field(cp, "time", str, "checkpoint.")
    signature_b64 = field(cp, "signature", str, "checkpoint.")
    hex_path = field(doc, "audit_path", list)
    if not all(isinstance(h, str) and HEX64.fullmatch(h) for h in hex_path):
        raise malformed("audit_path entries must be 64 lowercase hex digits")
    if not HEX64.fullmatch(root_hex):
        raise malformed("checkpoint.root must be 64 lowercase hex digits")
    if "\n" in origin or "\n" in time:
        raise malformed("checkpoint origin/time contain a newline")
    if not 0 <= index < size:
        raise malformed(f"leaf_index {index} is outside a tree of size {size}")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        leaf_bytes = canonical_json(event)
    except (binascii.Error, ValueError) as e:
        raise malformed(f"bad signature encoding or event ({e})") from None

    embedded = doc.get("public_key")
    if embedded is not None and not isinstance(embedded, str):
        raise malformed("'public_key' is not a string")
    key = decode_raw_key(embedded, "embedded public_key") if embedded is not None else None
    if key_path is not None:
        given = load_key_file(key_path)
        if key is not None and given != key:
            raise Failure("public key does not match (--public-key differs from the proof's)")
        key = given
    if key is None:
        raise Failure("no public key: the proof has none and --public-key was not given")

    if cp_size != size:
        raise Failure(f"checkpoint size {cp_size} does not match tree_size {size}")
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(
            signature, checkpoint_message(origin, cp_size, root_hex, time)
        )
    except (InvalidSignature, ValueError):
        raise Failure("checkpoint signature invalid (not signed by this key)") from None
    seq = event.get("seq")
    if seq is not None and (seq != index or isinstance(seq, bool)):
        raise Failure(f"event seq {seq!r} does not match leaf_index {index}")
    leaf = hashlib.sha256(b"\x00" + leaf_bytes).digest()
    path = [bytes.fromhex(h) for h in hex_path]
    if root_from_audit_path(leaf, index, size, path) != bytes.fromhex(root_hex):
        raise Failure("event altered or not in the log (audit path does not reach the root)")

    fingerprint = hashlib.sha256(key).hexdigest()
    return (
        f"VERIFIED: event {index} of {size} in {origin}, action={event.get('action')!r}, "
        f"subject={event.get('subject')!r}; checkpoint {time}, root {root_hex}, "
        f"key sha256 {fingerprint}"
        + ("" if key_path else " (embedded key only: compare it with the vault's key)")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Dalil inclusion proof.")
    parser.add_argument("proof", help="proof JSON file (dalil-inclusion-proof/1)")
    parser.add_argument("--public-key", help="vault key: PEM SubjectPublicKeyInfo or base64")
    args = parser.parse_args(argv)
    try:
        print(verify(args.proof, args.public_key))
    except Failure as e:
        print(f"FAILED: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
