#!/usr/bin/env python3
"""Verify a Dalil court bundle, offline, without Dalil.

Usage:  python3 verify_bundle.py [BUNDLE_FOLDER] [--public-key KEY.pem]

Needs Python 3.9+ and the `cryptography` package (and, to check RFC 3161 timestamp tokens'
signatures, the `openssl` command; without it their content is still checked). Checks:
  1. the bag (RFC 8493): bagit.txt; every payload file listed in manifest-sha256.txt is there
     and has that SHA-256; no payload file is unlisted; the tag files match
     tagmanifest-sha256.txt;
  2. each original: its folder name, its metadata file and the `item.ingested` event of the
     ledger all name the same SHA-256, and that is the SHA-256 of its bytes; every field of
     its metadata file (type, size, flags, camera, time, GPS, places found, derivatives, cases)
     is what the custody events and their payloads (data/custody/payloads.jsonl, each bound
     to its event by SHA-256) record — nothing more, nothing less;
  3. every place a file was found is backed by a custody event; each case file is what the
     case's events record (claims, their reviews and whether two people verified them);
  4. every custody event is, byte for byte, the event at its position in the vault's ledger:
     its Merkle inclusion proof (RFC 9162) leads to the root of the signed checkpoint;
  5. the checkpoint is signed by the vault's Ed25519 key (the bundled one, or the one given
     with --public-key, obtained independently — strongly recommended);
  6. RFC 3161 timestamp tokens, if present, are about this checkpoint (and, with openssl,
     correctly signed).
Prints each problem, then one verdict line: "VERIFIED: ..." (exit 0) or "FAILED: ..." (exit 1),
whatever the bundle holds (a malformed file is a problem, never a crash).
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


# -- what the custody record says: the same functions make the bundle's metadata ---------------
# (Dalil's exporter imports these, so a metadata file is exactly what its events record.)

META_FIELDS = (
    "camera_make",
    "camera_model",
    "camera_serial",
    "lens",
    "captured_at",
    "gps_lat",
    "gps_lon",
    "gps_alt",
    "orientation",
    "software",
    "width",
    "height",
)
CASE_EVENTS = (
    "case.created",
    "case.status",
    "case.titled",
    "case.linked",
    "case.unlinked",
    "case.merged",
    "case.split",
    "annotation.added",
    "annotation.confirmed",
    "annotation.rejected",
)


def _obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def occurrence_record(o: dict[str, Any]) -> dict[str, Any]:
    return {
        "acquisition": o["acquisition"],
        "from": o["source"],
        "path": o["path"],
        "size": o["size"],
        "mtime_ns": o.get("mtime_ns"),
    }


def _derivative(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": d["kind"],
        "path": d["path"],
        "media_type": d["media_type"],
        "width": d.get("width"),
        "height": d.get("height"),
        "recipe": d["recipe"],
        "file_sha256": d.get("file_sha256"),
    }


def item_records(
    events: list[dict[str, Any]], payloads: dict[int, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Each item as its custody events and their payloads describe it (items ingested before
    the vault bound its catalogue to the ledger have no payload: they are left out)."""
    out: dict[str, dict[str, Any]] = {}
    for event in sorted(events, key=lambda e: int(e["seq"])):
        p = payloads.get(int(event["seq"]))
        action = event.get("action")
        if p is None:
            continue
        if action == "item.ingested":
            meta = p.get("metadata")
            fingerprint = p.get("fingerprint")
            flags = _obj(p["flags"])
            out[str(p["sha256"])] = {
                "sha256": p["sha256"],
                "size": p["size"],
                "media_type": p["media_type"],
                "ingested_at": event["time"],
                "flags": sorted(flags),
                "flag_reasons": dict(sorted(flags.items())),
                "metadata": {n: (meta or {}).get(n) for n in META_FIELDS},
                "metadata_raw": (meta or {}).get("raw", {}),
                "fingerprint": None
                if fingerprint is None
                else {"pdq": fingerprint["value"], "quality": fingerprint["quality"]},
                "occurrences": [occurrence_record(_obj(p["occurrence"]))],
                "derivatives": [_derivative(d) for d in p.get("derivatives", [])],
            }
        elif action == "occurrence.added" and str(p.get("sha256")) in out:
            out[str(p["sha256"])]["occurrences"].append(occurrence_record(_obj(p["occurrence"])))
        elif action in ("derivative.made", "release.file"):
            for d in p.get("derivatives", []):
                record = out.get(str(d.get("sha256")))
                if record is not None:
                    kept = [x for x in record["derivatives"] if x["kind"] != d["kind"]]
                    record["derivatives"] = sorted(
                        [*kept, _derivative(d)], key=lambda x: str(x["kind"])
                    )
    for record in out.values():
        record["derivatives"].sort(key=lambda x: str(x["kind"]))
    return out


def review_state(author: str, source: str, verdicts: list[tuple[str, str]]) -> str:
    """Verified when enough people other than its author confirmed a claim (one for a
    person's claim, two for a machine's) and nobody rejected it; rejected when only rejected;
    otherwise unverified. (The same rule as dalil.cases.review.state_after.)"""
    confirms = {w for w, v in verdicts if v == "confirm" and (w != author or source != "person")}
    rejects = {w for w, v in verdicts if v == "reject"}
    if confirms and not rejects and len(confirms) >= (1 if source == "person" else 2):
        return "verified"
    if rejects and not confirms:
        return "rejected"
    return "unverified"


def case_records(
    events: list[dict[str, Any]], payloads: dict[int, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Every case as its events record it: photographs and roles, claims and reviews."""
    cases: dict[str, dict[str, Any]] = {}
    claims: dict[int, tuple[str, dict[str, Any]]] = {}  # annotation seq -> (case, claim)
    for event in sorted(events, key=lambda e: int(e["seq"])):
        action, seq = event.get("action"), int(event["seq"])
        p = payloads.get(seq)
        if action not in CASE_EVENTS or p is None:
            continue
        if action == "case.created":
            cases[str(p["case"])] = {
                "case_id": p["case"],
                "kind": p["kind"],
                "title": p["title"],
                "status": p["status"],
                "cluster": p["cluster"],
                "notes": "",
                "created_by": event["actor"],
                "created_at": event["time"],
                "items": {
                    s: {"sha256": s, "role": r, "linked_by": event["actor"]} for s, r in p["items"]
                },
                "annotations": {},
            }
            continue
        if action == "annotation.confirmed" or action == "annotation.rejected":
            found = claims.get(int(_obj(event.get("details"))["annotation_seq"]))
            if found is not None:
                claim = found[1]
                claim["reviews"].append(
                    {
                        "reviewer": event["actor"],
                        "verdict": "confirm" if action == "annotation.confirmed" else "reject",
                        "comment": p.get("comment", ""),
                        "at": event["time"],
                    }
                )
                claim["state"] = review_state(
                    claim["author"],
                    claim["source"],
                    [(r["reviewer"], r["verdict"]) for r in claim["reviews"]],
                )
            continue
        ref = str(p.get("case") or p.get("into"))
        case = cases.get(ref)
        if case is None:
            continue
        if action == "case.status":
            case["status"] = p["to"]
        elif action == "case.titled":
            case["title"] = p["title"]
        elif action == "case.linked":
            for s in p["items"]:
                case["items"][s] = {"sha256": s, "role": p["role"], "linked_by": event["actor"]}
        elif action in ("case.unlinked", "case.split"):
            for s in p.get("items", p.get("moved", [])):
                case["items"].pop(s, None)
        elif action == "case.merged":
            for other_id in p["merged"]:
                other = cases.get(str(other_id))
                if other is None:
                    continue
                for s, item in other["items"].items():
                    case["items"].setdefault(s, item)
                other["items"] = {}
                case["annotations"].update(other["annotations"])
                other["annotations"] = {}
                other["status"] = "merged"
                other["notes"] += f"\nmerged into {ref}"
        elif action == "annotation.added":
            claim = {
                k: p[k]
                for k in (
                    "kind",
                    "field",
                    "value",
                    "source",
                    "confidence",
                    "item",
                    "region",
                    "author",
                )
            }
            claim.update(created_at=event["time"], ledger_seq=seq, state="unverified", reviews=[])
            case["annotations"][seq] = claim
            claims[seq] = (ref, claim)
    out = {}
    for case_id, case in cases.items():
        record = dict(case)
        record["items"] = [case["items"][s] for s in sorted(case["items"])]
        record["annotations"] = [case["annotations"][k] for k in sorted(case["annotations"])]
        out[case_id] = record
    return out


def item_cases(cases: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """For each photograph, the cases it is in, with their live identifiers."""
    out: dict[str, list[dict[str, Any]]] = {}
    for case_id in sorted(cases):
        case = cases[case_id]
        identifiers = [
            {"type": a["field"], "value": a["value"], "state": a["state"]}
            for a in case["annotations"]
            if a["kind"] == "identifier" and a["state"] in ("verified", "unverified")
        ]
        for item in case["items"]:
            out.setdefault(item["sha256"], []).append(
                {
                    "case_id": case_id,
                    "title": case["title"],
                    "role": item["role"],
                    "identifiers": identifiers,
                }
            )
    return out


def normal(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value))


def differences(found: Any, wanted: Any, where: str = "") -> list[str]:
    """Where two JSON values differ, named by path (at most 5)."""
    if isinstance(found, dict) and isinstance(wanted, dict):
        out = []
        for key in sorted(set(found) | set(wanted)):
            here = f"{where}.{key}" if where else str(key)
            if key not in wanted:
                out.append(f"{here} is not in the custody record")
            elif key not in found:
                out.append(f"{here} is missing")
            else:
                out += differences(found[key], wanted[key], here)
        return out[:5]
    if isinstance(found, list) and isinstance(wanted, list) and len(found) == len(wanted):
        out = []
        for i, (a, b) in enumerate(zip(found, wanted)):  # noqa: B905 - runs on Python 3.9
            out += differences(a, b, f"{where}[{i}]")
        return out[:5]
    if found != wanted:
        text = json.dumps(found, ensure_ascii=False)
        shown = text if len(text) <= 60 else text[:57] + "..."
        return [f"{where or 'the file'} is {shown}, the custody record says otherwise"]
    return []


class Checker:
    def __init__(self, bag: Path) -> None:
        self.bag = bag
        self.problems: list[str] = []
        self.payloads: dict[int, dict[str, Any]] = {}
        self.unproven = 0  # items and cases recorded before their vault bound its catalogue
        self.legacy_cases: set[str] = set()

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
            rel = parts[1].strip().lstrip("*")
            if rel in entries:  # sha256sum -c would check both; a verifier must not pick one
                self.fail(f"{name} lists {rel} more than once")
                continue
            entries[rel] = parts[0]
        return entries

    def check_bag(self) -> dict[str, str]:
        bagit = self.bag / "bagit.txt"
        if not bagit.is_file() or "BagIt-Version" not in bagit.read_text(errors="replace"):
            self.fail("bagit.txt is missing or is not a BagIt declaration")
        payload = self.manifest("manifest-sha256.txt")
        info = self.bag / "bag-info.txt"
        stated = [
            line.split(":", 1)[1].strip()
            for line in (info.read_text(errors="replace") if info.is_file() else "").splitlines()
            if line.startswith("Dalil-Bundle-Hash:")
        ]
        manifest = self.bag / "manifest-sha256.txt"
        if stated and manifest.is_file() and sha256_file(manifest) != stated[0]:
            self.fail("bag-info.txt states another bundle hash than its manifest's")
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
        if not isinstance(cp, dict):
            self.fail("checkpoint.json is not a JSON object")
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
            seq = event.get("seq")
            if not isinstance(seq, int) or isinstance(seq, bool):
                self.fail("events.jsonl holds an event without a sequence number")
                continue
            events.append(event)
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
        self.payloads = self.check_payloads(custody / "payloads.jsonl", events)
        self.legacy_cases = {
            str(e.get("subject", "")).removeprefix("case:")
            for e in events
            if e.get("action") == "case.created" and e["seq"] not in self.payloads
        }
        return cp, events

    def check_payloads(self, path: Path, events: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """Each payload must be the one its (proven) event names by SHA-256."""
        named: dict[int, str] = {}
        for event in events:
            details = event.get("details")
            if isinstance(details, dict) and isinstance(details.get("payload"), str):
                named[int(event["seq"])] = details["payload"]
        found: dict[int, dict[str, Any]] = {}
        for line in self.lines(path) if path.is_file() else []:
            seq, payload = line.get("seq"), line.get("payload")
            if not isinstance(seq, int) or not isinstance(payload, dict):
                self.fail(f"{path.name}: a line is not a sequence number and a payload")
                continue
            if seq in found:
                self.fail(f"{path.name}: the payload of event {seq} is there twice")
                continue
            digest = hashlib.sha256(canonical_json(payload)).hexdigest()
            if named.get(seq) != digest:
                self.fail(f"the payload of event {seq} is not the one its custody event recorded")
                continue
            found[seq] = payload
        for seq in sorted(set(named) - set(found)):
            self.fail(f"event {seq} names a payload that is not in the bundle")
        return found

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

    # -- 2/3. originals and cases ------------------------------------------------------------
    def check_items(self, payload: dict[str, str], events: list[dict[str, Any]]) -> int:
        try:
            records = item_records(events, self.payloads)
            cases = case_records(events, self.payloads)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            self.fail(f"the custody record's payloads are malformed ({exc!r})")
            records, cases = {}, {}
        in_cases = item_cases(cases)
        ingested: dict[str, int] = {}
        places: set[tuple[str, str]] = set()
        for e in events:
            d = e.get("details")
            d = d if isinstance(d, dict) else {}
            if e.get("action") == "item.ingested":
                ingested[str(d.get("sha256"))] = d.get("size", -1)
                first = d.get("first_occurrence")
                first = first if isinstance(first, dict) else {}
                places.add((str(d.get("sha256")), str(first.get("path"))))
            elif e.get("action") == "occurrence.added":
                places.add((str(d.get("sha256")), str(d.get("path"))))
        count = 0
        described: set[str] = set()
        for meta_path in sorted((self.bag / "data" / "metadata").glob("*.json")):
            sha = meta_path.stem
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                self.fail(f"metadata of {sha} is not JSON")
                continue
            if not isinstance(meta, dict):
                self.fail(f"metadata of {sha} is not a JSON object")
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
                continue
            if sha in records:
                wanted = normal({**records[sha], "cases": in_cases.get(sha, [])})
                found = {k: v for k, v in meta.items() if k != "bundle_file"}
                for difference in differences(found, wanted):
                    self.fail(f"metadata of {sha}: {difference}")
                continue
            # recorded before its vault bound the catalogue to the ledger: what the events
            # themselves say can still be checked
            self.unproven += 1
            if ingested[sha] != meta.get("size"):
                self.fail(f"{sha}: size differs from the one recorded at ingest")
            occurrences = meta.get("occurrences")
            for occ in occurrences if isinstance(occurrences, list) else []:
                path = occ.get("path") if isinstance(occ, dict) else None
                if (sha, str(path)) not in places:
                    self.fail(
                        f"{sha}: found at {path!r} according to the metadata, but no"
                        " custody event records it"
                    )
        originals = self.bag / "data" / "originals"
        for path in sorted(originals.rglob("*")) if originals.is_dir() else []:
            rel = str(path.relative_to(self.bag)).replace(os.sep, "/")
            if path.is_file() and rel not in described:
                self.fail(f"{rel} is not one of the described, ledger-recorded files (planted?)")
        self.check_cases(cases)
        return count

    def check_cases(self, cases: dict[str, dict[str, Any]]) -> None:
        for case_path in sorted((self.bag / "data" / "cases").glob("*.json")):
            try:
                found = json.loads(case_path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                self.fail(f"case file {case_path.name} is not JSON")
                continue
            wanted = cases.get(case_path.stem)
            if wanted is None:
                if case_path.stem in self.legacy_cases:
                    self.unproven += 1
                else:
                    self.fail(f"case {case_path.stem}: no event of the custody record creates it")
                continue
            for difference in differences(found, normal(wanted)):
                self.fail(f"case {case_path.stem}: {difference}")

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
    try:
        return _main(argv)
    except Exception as e:  # a verifier gives a verdict on anything it is handed
        print(f"FAILED: the bundle is malformed and could not be checked ({e!r})")
        return 1


def _main(argv: list[str] | None = None) -> int:
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
    unproven = (
        f"; {checker.unproven} file(s) or case(s) were recorded before the vault bound its"
        " catalogue to the ledger: only hashes, sizes and places found are proven for them"
        if checker.unproven
        else ""
    )
    print(
        f"VERIFIED: {items} file(s) are exactly those the vault received, described as its"
        f" custody record says{unproven}; {len(events)} custody"
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
