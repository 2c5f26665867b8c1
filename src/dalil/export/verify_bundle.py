#!/usr/bin/env python3
"""Verify a Dalil court bundle, offline, without Dalil.

Usage:  python3 verify_bundle.py [BUNDLE_FOLDER] [--public-key KEY.pem]

Needs Python 3.9+ and the `cryptography` package (and, to check RFC 3161 timestamp tokens'
signatures, the `openssl` command; without it their content is still checked). Checks:
  1. the bag (RFC 8493): bagit.txt; every payload file listed in manifest-sha256.txt is there
     and has that SHA-256; no payload file is unlisted; the tag files match
     tagmanifest-sha256.txt;
  2. each original: its folder name, its metadata file and the `item.ingested` event of the
     ledger all name the same SHA-256, and that is the SHA-256 of its bytes;
  3. every place a file was found (metadata `occurrences`) is backed by a custody event;
  4. every custody event is, byte for byte, the event at its position in the vault's ledger:
     its Merkle inclusion proof (RFC 9162) leads to the root of the signed checkpoint;
  5. the checkpoint is signed by the vault's Ed25519 key (the bundled one, or the one given
     with --public-key, obtained independently — strongly recommended);
  6. RFC 3161 timestamp tokens, if present, are about this checkpoint (and, with openssl,
     correctly signed).
Prints each problem, then one verdict line: "VERIFIED: ..." (exit 0) or "FAILED: ..." (exit 1).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover - the one dependency
    print("FAILED: this verifier needs the 'cryptography' package (pip install cryptography)")
    sys.exit(2)

PROOF_FORMAT = "dalil-inclusion-proof/1"
HEX64 = re.compile(r"[0-9a-f]{64}")
CHUNK = 1 << 20


def canonical_json(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def checkpoint_message(origin: str, size: int, root: str, time: str) -> bytes:
    return f"dalil-checkpoint/1\n{origin}\n{size}\n{root}\n{time}\n".encode()


def root_from_path(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


class Checker:
    def __init__(self, bag: Path) -> None:
        self.bag = bag
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(message)
        print(f"  problem: {message}")

    # -- 1. the bag ---------------------------------------------------------------------------
    def manifest(self, name: str) -> dict[str, str]:
        path = self.bag / name
        entries: dict[str, str] = {}
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            self.fail(f"{name} cannot be read ({e.strerror or e})")
            return entries
        for n, line in enumerate(text.splitlines(), 1):
            parts = line.split(None, 1)
            if len(parts) != 2 or not HEX64.fullmatch(parts[0]):
                self.fail(f"{name} line {n} is malformed")
                continue
            entries[parts[1].strip().lstrip("*")] = parts[0]
        return entries

    def check_bag(self) -> dict[str, str]:
        bagit = self.bag / "bagit.txt"
        if not bagit.is_file() or "BagIt-Version" not in bagit.read_text(errors="replace"):
            self.fail("bagit.txt is missing or is not a BagIt declaration")
        payload = self.manifest("manifest-sha256.txt")
        on_disk = {
            str(p.relative_to(self.bag)).replace(os.sep, "/")
            for p in (self.bag / "data").rglob("*")
            if p.is_file() or p.is_symlink()
        }
        for rel in sorted(set(payload) - on_disk):
            self.fail(f"{rel} is listed in the manifest but missing from the bundle")
        for rel in sorted(on_disk - set(payload)):
            self.fail(f"{rel} is in the bundle but not in its manifest (added later?)")
        for rel in sorted(set(payload) & on_disk):
            path = self.bag / rel
            if path.is_symlink():
                self.fail(f"{rel} is a symbolic link, not a file")
            elif sha256_file(path) != payload[rel]:
                self.fail(f"{rel} does not have the SHA-256 its manifest states (altered)")
        for rel, digest in self.manifest("tagmanifest-sha256.txt").items():
            path = self.bag / rel
            if not path.is_file():
                self.fail(f"tag file {rel} is missing")
            elif sha256_file(path) != digest:
                self.fail(f"tag file {rel} was altered")
        return payload

    # -- 4/5. ledger --------------------------------------------------------------------------
    def public_key(self, given: str | None) -> tuple[Ed25519PublicKey | None, str]:
        bundled = self.bag / "data" / "custody" / "vault.pub"
        path = Path(given) if given else bundled
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as e:
            self.fail(f"cannot load the public key {path} ({e})")
            return None, ""
        if not isinstance(key, Ed25519PublicKey):
            self.fail(f"{path} is not an Ed25519 public key")
            return None, ""
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if given and bundled.is_file():
            try:
                other = serialization.load_pem_public_key(bundled.read_bytes())
                other_raw = other.public_bytes(
                    serialization.Encoding.Raw, serialization.PublicFormat.Raw
                )
                if other_raw != raw:
                    self.fail("the bundle's vault.pub is not the key you gave (--public-key)")
            except ValueError:
                self.fail("the bundle's vault.pub is not a valid public key")
        return key, hashlib.sha256(raw).hexdigest()

    def check_custody(
        self, key: Ed25519PublicKey | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        custody = self.bag / "data" / "custody"
        try:
            cp = json.loads((custody / "checkpoint.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            self.fail(f"checkpoint.json cannot be read ({e})")
            return {}, []
        if key is not None:
            try:
                key.verify(
                    base64.b64decode(cp["signature"]),
                    checkpoint_message(cp["origin"], int(cp["size"]), cp["root"], cp["time"]),
                )
            except (InvalidSignature, KeyError, ValueError, TypeError):
                self.fail("the checkpoint's signature is not valid for the vault's key")
        events: list[dict[str, Any]] = []
        lines = self.lines(custody / "events.jsonl")
        proofs: dict[Any, dict[str, Any]] = {}
        for proof in self.lines(custody / "proofs.jsonl"):
            event_of = proof.get("event")
            if isinstance(event_of, dict):
                proofs[event_of.get("seq")] = proof
        for event in lines:
            events.append(event)
            seq = event.get("seq")
            found = proofs.get(seq)
            if found is None:
                self.fail(f"event {seq} has no inclusion proof")
                continue
            proof = found
            if proof.get("format") != PROOF_FORMAT or proof.get("event") != event:
                self.fail(f"event {seq}: its proof is about a different event")
                continue
            if proof.get("checkpoint") != cp or proof.get("tree_size") != cp.get("size"):
                self.fail(f"event {seq}: its proof is against another checkpoint")
                continue
            leaf = hashlib.sha256(b"\x00" + canonical_json(event)).digest()
            try:
                path = [bytes.fromhex(h) for h in proof["audit_path"]]
                reached = root_from_path(leaf, int(proof["leaf_index"]), int(cp["size"]), path)
            except (KeyError, ValueError, TypeError):
                reached = None
            try:
                root = bytes.fromhex(str(cp.get("root", "")))
            except ValueError:
                root = b""
            if proof.get("leaf_index") != seq or reached != root:
                self.fail(
                    f"event {seq} ({event.get('action')}) is not in the signed ledger as shown"
                    " (altered, or not the event at that position)"
                )
        return cp, events

    def lines(self, path: Path) -> list[dict[str, Any]]:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            self.fail(f"{path.name} cannot be read ({e.strerror or e})")
            return []
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            try:
                value = json.loads(line)
            except ValueError:
                self.fail(f"{path.name} line {n} is not JSON")
                continue
            if isinstance(value, dict):
                out.append(value)
            else:
                self.fail(f"{path.name} line {n} is not a JSON object")
        return out

    # -- 2/3. originals -----------------------------------------------------------------------
    def check_items(self, payload: dict[str, str], events: list[dict[str, Any]]) -> int:
        ingested: dict[str, int] = {}
        places: set[tuple[str, str]] = set()
        for e in events:
            d = e.get("details") or {}
            if e.get("action") == "item.ingested":
                ingested[str(d.get("sha256"))] = int(d.get("size", -1))
                first = d.get("first_occurrence") or {}
                places.add((str(d.get("sha256")), str(first.get("path"))))
            elif e.get("action") == "occurrence.added":
                places.add((str(d.get("sha256")), str(d.get("path"))))
        count = 0
        described: set[str] = set()
        for meta_path in sorted((self.bag / "data" / "metadata").glob("*.json")):
            sha = meta_path.stem
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except ValueError:
                self.fail(f"metadata of {sha} is not JSON")
                continue
            count += 1
            rel = str(meta.get("bundle_file", ""))
            described.add(rel)
            original = self.bag / rel
            if meta.get("sha256") != sha or not rel.startswith(f"data/originals/{sha}/"):
                self.fail(f"metadata of {sha} names another file")
                continue
            if payload.get(rel) != sha:
                self.fail(f"{rel}: the manifest's hash is not the file's recorded SHA-256")
            if original.is_file() and sha256_file(original) != sha:
                self.fail(f"{rel} is not the file received: its SHA-256 differs")
            if sha not in ingested:
                self.fail(f"{sha}: no ingest event for this file in the custody record")
            elif ingested[sha] != meta.get("size"):
                self.fail(f"{sha}: size differs from the one recorded at ingest")
            for occ in meta.get("occurrences", []):
                if (sha, str(occ.get("path"))) not in places:
                    self.fail(
                        f"{sha}: found at {occ.get('path')!r} according to the metadata, but no"
                        " custody event records it"
                    )
        originals = self.bag / "data" / "originals"
        for path in sorted(originals.rglob("*")) if originals.is_dir() else []:
            rel = str(path.relative_to(self.bag)).replace(os.sep, "/")
            if path.is_file() and rel not in described:
                self.fail(f"{rel} is not one of the described, ledger-recorded files (planted?)")
        return count

    # -- 6. timestamps ------------------------------------------------------------------------
    def check_timestamps(self, cp: dict[str, Any]) -> int:
        folder = self.bag / "data" / "custody" / "timestamps"
        tokens = sorted(folder.glob("*.tsr")) if folder.is_dir() else []
        if not tokens or not cp:
            return 0
        # what a token is about: the checkpoint's signed text, its signature and a newline
        try:
            stamped = checkpoint_message(cp["origin"], int(cp["size"]), cp["root"], cp["time"])
            stamped += str(cp.get("signature", "")).encode("ascii") + b"\n"
        except (KeyError, ValueError, TypeError, UnicodeEncodeError):
            self.fail("checkpoint.json is malformed")
            return 0
        digest = hashlib.sha256(stamped).digest()
        openssl = shutil.which("openssl")
        for token in tokens:
            if digest not in token.read_bytes():
                self.fail(f"timestamp {token.name} is not about this checkpoint")
                continue
            ca = token.with_suffix(".ca.pem")
            if openssl is None or not ca.is_file():
                continue  # without the TSA's CA, only what the token is about can be checked
            run = subprocess.run(
                [
                    openssl,
                    "ts",
                    "-verify",
                    "-digest",
                    digest.hex(),
                    "-in",
                    str(token),
                    "-token_in",
                    "-CAfile",
                    str(ca),
                ],
                capture_output=True,
                text=True,
            )
            if run.returncode != 0:
                self.fail(f"timestamp {token.name}: openssl does not verify its signature")
        return len(tokens)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Dalil court bundle offline.")
    parser.add_argument("bundle", nargs="?", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--public-key", help="the vault's public key (PEM), obtained independently")
    args = parser.parse_args(argv)
    bag = Path(args.bundle)
    checker = Checker(bag)
    print(f"Checking {bag} ...")
    payload = checker.check_bag()
    key, fingerprint = checker.public_key(args.public_key)
    cp, events = checker.check_custody(key)
    items = checker.check_items(payload, events)
    stamps = checker.check_timestamps(cp)
    if checker.problems:
        print(f"FAILED: {len(checker.problems)} problem(s); the first: {checker.problems[0]}")
        return 1
    print(
        f"VERIFIED: {items} file(s) are exactly those the vault received; {len(events)} custody"
        f" event(s) are in its signed ledger (checkpoint of {cp.get('size')} events, root"
        f" {cp.get('root')}, {cp.get('time')}); key sha256 {fingerprint}"
        + ("" if args.public_key else " (the bundled key: compare it with the vault's)")
        + (
            f"; {stamps} timestamp token(s) about this checkpoint (their signatures checked"
            " against the TSA certificate shipped in the bundle)"
            if stamps
            else ""
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
