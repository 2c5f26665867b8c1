"""Court bundles: a BagIt bag (RFC 8493) that proves itself offline.

The bag holds the originals byte for byte, a metadata file per item and a CSV index, every
custody event about those items and their cases, a Merkle inclusion proof of each event
against one signed checkpoint, the vault's public key, the checkpoint's RFC 3161 timestamp
tokens where they exist, a README for people, an exhibit report (PDF), and
``verify_bundle.py`` — a verifier that needs only Python and ``cryptography`` and prints a
plain verdict.

Speed: originals are content-addressed, so their SHA-256 is known; they are copied with the
kernel's copy (``copy_file_range``) and never re-hashed here (the verifier re-hashes them).
The proofs share one pass over the ledger's leaf hashes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from dalil import faults, keys
from dalil.cases import model
from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.catalog.queries import item_details, resolve_item
from dalil.errors import UsageError
from dalil.export import folder as folder_state
from dalil.export import verify_bundle
from dalil.ledger.canonical import canonical_json
from dalil.ledger.log import PROOF_FORMAT, Checkpoint, Ledger
from dalil.timeutil import utc_now
from dalil.vault import Vault

BAGIT_VERSION = "1.0"
TOOLS = Path(__file__).resolve().parent
VERIFIER = TOOLS / "verify_bundle.py"

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class BundleReport:
    out: str
    items: int = 0
    bytes: int = 0
    events: int = 0
    cases: list[str] = field(default_factory=list)
    checkpoint_size: int = 0
    bundle_hash: str = ""
    timestamps: int = 0
    report_pages: int | None = None
    skipped: list[str] = field(default_factory=list)
    restarted: bool = False  # an interrupted export had left this folder: it was started over

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def _hash(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + a + b).digest()


def _split(n: int) -> int:
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


class _Tree:
    """RFC 9162 subtree roots over stored leaf hashes, each computed once, for many proofs."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves
        self.memo: dict[tuple[int, int], bytes] = {}

    def root(self, lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return self.leaves[lo]
        key = (lo, hi)
        found = self.memo.get(key)
        if found is None:
            mid = lo + _split(hi - lo)
            found = self.memo[key] = _hash(self.root(lo, mid), self.root(mid, hi))
        return found

    def path(self, index: int, size: int) -> list[bytes]:
        top_down: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            mid = lo + _split(hi - lo)
            if index < mid:
                top_down.append(self.root(mid, hi))
                hi = mid
            else:
                top_down.append(self.root(lo, mid))
                lo = mid
        return top_down[::-1]


def choose_items(
    conn: Db,
    *,
    cases: Iterable[str] = (),
    items: Iterable[str] = (),
    query: str | None = None,
) -> tuple[list[str], list[str]]:
    """(items, case ids) chosen by case ids, item hashes (prefixes) and/or a search text."""
    from dalil.cases.search import SearchQuery, search

    case_ids = [c.strip().upper() for c in cases]
    if query:
        found = search(conn, SearchQuery(text=query, per_page=500))
        case_ids += [r["case_id"] for r in found["results"]]
    chosen: list[str] = []
    for case_id in dict.fromkeys(case_ids):
        pk = model.case_pk(conn, case_id)
        chosen += [
            str(r[0])
            for r in conn.execute(
                "SELECT sha256 FROM case_items WHERE case_pk = ? ORDER BY sha256", (pk,)
            )
        ]
    chosen += [resolve_item(conn, ref) for ref in items]
    unique = list(dict.fromkeys(chosen))
    if not unique:
        raise UsageError("nothing to export: name cases (--case), items (--items) or --query")
    return unique, list(dict.fromkeys(case_ids))


def _safe_name(path_text: str) -> str:
    name = re.sub(r"[^\w.\-]+", "_", os.path.basename(path_text.replace("\\", "/")))[:120]
    return name.strip("._") or "original"


def _events(
    conn: Db, shas: set[str], case_ids: set[str], size: int
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """Every event up to ``size`` about these items or these cases (and the cases merged into
    them), with their payloads — one pass over the log."""
    subjects = {f"sha256:{s}" for s in shas} | {f"case:{c}" for c in case_ids}
    rows = conn.execute(
        "SELECT l.event, p.data FROM ledger l LEFT JOIN payloads p ON p.seq = l.seq"
        " WHERE l.seq < ? ORDER BY l.seq",
        (size,),
    ).fetchall()
    merged: dict[str, list[str]] = {}
    for text, _data in rows:
        if '"case.merged"' in text:
            event = json.loads(text)
            details = event.get("details") or {}
            merged.setdefault(f"case:{details.get('into')}", []).extend(
                f"case:{c}" for c in details.get("merged", [])
            )
    wanted = set(subjects)
    todo = [s for s in subjects if s in merged]
    while todo:  # cases merged into a chosen case bring their history
        for other in merged.get(todo.pop(), []):
            if other not in wanted:
                wanted.add(other)
                todo.append(other)
    out, payloads = [], {}
    for text, data in rows:
        event = json.loads(text)
        details = event.get("details") or {}
        if (
            event.get("subject") in wanted
            or details.get("sha256") in shas
            or any(s in shas for s in details.get("items", []) or [] if isinstance(s, str))
        ):
            out.append(event)
            if data is not None:
                payloads[int(event["seq"])] = json.loads(data)
    return out, payloads


def _checkpoint_for(conn: Db, ledger: Ledger, needed: int) -> Checkpoint:
    """The checkpoint the proofs are made against: the latest *timestamped* one that covers the
    first ``needed`` events (so its RFC 3161 tokens go in), else the latest one if it covers the
    whole ledger, else a fresh one."""
    from dalil.ledger.timestamp import stored_timestamps

    stamped = [t.checkpoint for t in stored_timestamps(conn) if t.checkpoint is not None]
    covering = [c for c in stamped if c.size >= needed]
    if covering:
        return max(covering, key=lambda c: c.size)
    latest = ledger.latest_checkpoint()
    if latest is not None and latest.size == ledger.size() and latest.size >= needed:
        return latest
    with atomic(conn):
        return ledger.checkpoint()


def _timestamps(conn: Db, checkpoint: Checkpoint) -> list[tuple[bytes, str | None]]:
    from dalil.ledger.timestamp import timestamps_for

    return [(t.token, t.ca_pem) for t in timestamps_for(conn, checkpoint)]


def export_bundle(
    vault: Vault,
    conn: Db,
    actor: str,
    out: Path,
    *,
    cases: Iterable[str] = (),
    items: Iterable[str] = (),
    query: str | None = None,
    report: bool = True,
    reveal: bool = False,
    language: str = "en",
    progress: Progress | None = None,
) -> BundleReport:
    from dalil import i18n

    if language not in i18n.LANGUAGES:
        raise UsageError(
            f"unknown report language {language!r} (one of {', '.join(i18n.LANGUAGES)})"
        )
    out = out.absolute()
    vault_root = vault.root.resolve()
    if out.resolve().is_relative_to(vault_root) or vault_root.is_relative_to(out.resolve()):
        raise UsageError("write the bundle outside the vault")
    restarted = out.is_dir() and folder_state.reclaim(out)
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} exists and is not empty: choose a new folder")
    shas, case_ids = choose_items(conn, cases=cases, items=items, query=query)
    ledger = vault.ledger(conn)
    everything, payloads = _events(conn, set(shas), set(case_ids), ledger.size())
    needed = max((int(e["seq"]) for e in everything), default=-1) + 1
    checkpoint = _checkpoint_for(conn, ledger, needed)
    result = BundleReport(
        out=str(out), cases=case_ids, checkpoint_size=checkpoint.size, restarted=restarted
    )
    folder_state.begin(out)
    data = out / "data"
    (data / "originals").mkdir(parents=True)
    (data / "metadata").mkdir()
    (data / "custody").mkdir(parents=True)
    (data / "cases").mkdir()
    manifest: dict[str, str] = {}

    sizes: dict[str, int] = {}

    made: set[Path] = set()
    copier = ThreadPoolExecutor(4)  # file creation and kernel copies overlap in threads
    pending: list[Any] = []

    def folder(path: Path) -> None:
        if path not in made:
            path.mkdir(parents=True, exist_ok=True)
            made.add(path)

    def put(rel: str, content: bytes, *, later: bool = False) -> None:
        path = out / rel
        folder(path.parent)
        if later:
            pending.append(copier.submit(path.write_bytes, content))
        else:
            path.write_bytes(content)
        manifest[rel] = hashlib.sha256(content).hexdigest()
        sizes[rel] = len(content)

    store = vault.store()
    index_rows: list[list[str]] = []
    total_bytes = 0
    shipped = [e for e in everything if int(e["seq"]) < checkpoint.size]
    shipped_payloads = {s: p for s, p in payloads.items() if s < checkpoint.size}
    # what the bundle says of each item and case is computed from the events it ships, by the
    # very functions its verifier uses; only facts recorded before the vault was bound to its
    # ledger (no payload) come from the catalogue
    records = verify_bundle.item_records(shipped, shipped_payloads)
    case_files = verify_bundle.case_records(shipped, shipped_payloads)
    for case_id in case_ids:
        if case_id not in case_files:
            case_files[case_id] = model.case_detail(conn, case_id)
        put(f"data/cases/{case_id}.json", _json(case_files[case_id]))
    case_of = verify_bundle.item_cases({c: case_files[c] for c in case_ids})
    legacy = item_details(conn, [s for s in shas if s not in records])
    for n, sha in enumerate(shas, 1):
        detail = records[sha] if sha in records else legacy[sha]
        detail["cases"] = case_of.get(sha, [])
        name = _safe_name(detail["occurrences"][0]["path"] if detail["occurrences"] else "")
        rel = f"data/originals/{sha}/{name}"
        target = out / rel
        folder(target.parent)
        pending.append(copier.submit(_copy, store.local_path(sha), target))
        manifest[rel] = sha  # content-addressed: the verifier re-hashes every byte
        sizes[rel] = int(detail["size"])
        total_bytes += int(detail["size"])
        detail["bundle_file"] = rel
        put(f"data/metadata/{sha}.json", _json(detail), later=True)
        meta = detail["metadata"] or {}
        index_rows.append(
            [
                sha,
                rel,
                str(detail["media_type"]),
                str(detail["size"]),
                str(meta.get("captured_at") or ""),
                " ".join(str(meta.get(k) or "") for k in ("camera_make", "camera_model")).strip(),
                str(meta.get("camera_serial") or ""),
                ";".join(sorted({o["acquisition"] for o in detail["occurrences"]})),
                ";".join(c["case_id"] for c in detail["cases"]),
                ";".join(sorted(detail["flags"])),
            ]
        )
        if progress is not None:
            progress(n, len(shas))
    try:
        for job in pending:
            job.result()
    finally:
        copier.shutdown()
    faults.point("export.originals-copied")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "sha256",
            "file",
            "media_type",
            "size",
            "captured_at",
            "camera",
            "camera_serial",
            "acquisitions",
            "cases",
            "flags",
        ]
    )
    writer.writerows(index_rows)
    put("data/index.csv", buffer.getvalue().encode("utf-8"))

    events = shipped
    tree = _Tree(ledger.stored_leaf_hashes(checkpoint.size))
    public_raw = keys.public_raw_b64(ledger.public_key)
    lines, proofs = [], []
    signed = checkpoint.to_dict()
    for event in events:
        seq = int(event["seq"])
        proof = {
            "format": PROOF_FORMAT,
            "event": event,
            "leaf_index": seq,
            "tree_size": checkpoint.size,
            "audit_path": [p.hex() for p in tree.path(seq, checkpoint.size)],
            "checkpoint": signed,
            "public_key": public_raw,
        }
        proofs.append(canonical_json(proof))
        lines.append(canonical_json(event))
    put("data/custody/events.jsonl", b"".join(line + b"\n" for line in lines))
    put(
        "data/custody/payloads.jsonl",
        b"".join(
            canonical_json({"seq": seq, "payload": shipped_payloads[seq]}) + b"\n"
            for seq in sorted(shipped_payloads)
        ),
    )
    # one proof per line, each a complete "dalil-inclusion-proof/1" document that
    # tools/verify_proof.py also accepts
    put("data/custody/proofs.jsonl", b"".join(line + b"\n" for line in proofs))
    put("data/custody/checkpoint.json", _json(checkpoint.to_dict()))
    pem = ledger.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    put("data/custody/vault.pub", pem)
    tokens = _timestamps(conn, checkpoint)
    for i, (token, ca_pem) in enumerate(tokens, 1):
        put(f"data/custody/timestamps/{i}.tsr", token)
        if ca_pem:
            put(f"data/custody/timestamps/{i}.ca.pem", ca_pem.encode())
    result.items, result.bytes, result.events, result.timestamps = (
        len(shas),
        total_bytes,
        len(events),
        len(tokens),
    )

    # BagIt: payload manifest, then the tag files (the bundle hash names the payload)
    (out / "bagit.txt").write_text(
        f"BagIt-Version: {BAGIT_VERSION}\nTag-File-Character-Encoding: UTF-8\n"
    )
    manifest_text = "".join(f"{h}  {rel}\n" for rel, h in sorted(manifest.items()))
    (out / "manifest-sha256.txt").write_text(manifest_text)
    bundle_hash = hashlib.sha256(manifest_text.encode()).hexdigest()
    result.bundle_hash = bundle_hash
    payload_bytes = sum(sizes.values())
    (out / "bag-info.txt").write_text(
        "Source-Organization: Dalil vault "
        + vault.origin
        + "\n"
        + f"Bagging-Date: {utc_now()[:10]}\n"
        + f"Payload-Oxum: {payload_bytes}.{len(manifest)}\n"
        + f"External-Description: Dalil court bundle of {len(shas)} item(s)"
        + (f" for case(s) {', '.join(case_ids)}" if case_ids else "")
        + "\n"
        + f"Dalil-Bundle-Hash: {bundle_hash}\n"
        + f"Dalil-Checkpoint: size {checkpoint.size} root {checkpoint.root}"
        + f" time {checkpoint.time}\n"
        + f"Dalil-Exported-By: {actor}\n"
    )
    (out / "README.txt").write_text(_readme(result, checkpoint, case_ids))
    shutil.copyfile(VERIFIER, out / "verify_bundle.py")
    if report:
        from dalil.export.report import write_report

        result.report_pages = write_report(
            out, out / "report.pdf", bundle_hash=bundle_hash, reveal=reveal, language=language
        )
    tags = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "README.txt", "verify_bundle.py"]
    if report:
        tags.append("report.pdf")
    (out / "tagmanifest-sha256.txt").write_text(
        "".join(f"{hashlib.sha256((out / t).read_bytes()).hexdigest()}  {t}\n" for t in tags)
    )
    folder_state.finish(out)
    with atomic(conn):
        ledger.append(
            actor,
            "bundle.exported",
            f"bundle:{bundle_hash}",
            {
                "bundle_hash": bundle_hash,
                "items": shas,
                "cases": case_ids,
                "checkpoint_size": checkpoint.size,
                "checkpoint_root": checkpoint.root,
                "report_unblurred": bool(report and reveal),
            },
        )
        if report and reveal:  # unblurred pictures went into the report: each is a reveal
            for sha in shas:
                ledger.append(
                    actor,
                    "item.revealed",
                    f"sha256:{sha}",
                    {"sha256": sha, "via": f"bundle report {bundle_hash}"},
                )
    return result


def _copy(source: Path, target: Path) -> None:
    """Copy a file inside the kernel (``copy_file_range``: no trip through user space, and a
    shared extent where the file system can), falling back to an ordinary copy."""
    with source.open("rb") as src, target.open("xb") as dst:
        left = os.fstat(src.fileno()).st_size
        try:
            while left > 0:
                done = os.copy_file_range(src.fileno(), dst.fileno(), left)
                if done == 0:
                    break
                left -= done
        except OSError:  # another file system, or no support: copy in user space
            src.seek(0)
            dst.seek(0)
            dst.truncate()
            shutil.copyfileobj(src, dst, 1 << 20)


def _json(obj: Any) -> bytes:
    return (
        json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n"
    ).encode()


def _readme(result: BundleReport, checkpoint: Checkpoint, case_ids: list[str]) -> str:
    cases = ", ".join(case_ids) if case_ids else "(chosen items)"
    return f"""DALIL COURT BUNDLE
==================

Cases: {cases}
Items: {result.items} file(s), {result.bytes} bytes, each exactly as it was received.
Bundle hash (SHA-256 of manifest-sha256.txt): {result.bundle_hash}
Vault: {checkpoint.origin}
Signed checkpoint: {checkpoint.size} ledger events, root {checkpoint.root}, {checkpoint.time}
Trusted timestamps of that checkpoint: {result.timestamps}

WHAT IS INSIDE (a BagIt bag, RFC 8493)
  data/originals/<sha256>/<name>   the files, byte for byte; the folder is the file's SHA-256
  data/metadata/<sha256>.json      what the vault knows about each file: type, size, camera,
                                   capture time, GPS, where and when it was received, flags,
                                   the cases it belongs to
  data/index.csv                   one line per file
  data/custody/events.jsonl        every custody event about these files and cases, as the
                                   vault's append-only ledger recorded it
  data/custody/proofs.jsonl        for each event, a Merkle inclusion proof (RFC 9162) that it
                                   is event n of the signed ledger below (one per line)
  data/custody/checkpoint.json     the ledger head, signed with the vault's Ed25519 key
  data/custody/vault.pub           that public key (compare it with one obtained independently)
  data/custody/timestamps/*.tsr    RFC 3161 timestamp tokens of the checkpoint, if any
  data/cases/<case>.json           the cases: identifiers and annotations with their reviews
  report.pdf                       the exhibit report (pictures blurred unless asked)
  verify_bundle.py                 the verifier

HOW TO CHECK IT, WITHOUT DALIL
  1. python3 verify_bundle.py [--public-key KEY_OBTAINED_INDEPENDENTLY.pem]
     (needs Python 3.9+ and the 'cryptography' package). It re-hashes every file, checks the
     bag is complete (nothing missing, nothing added), that every file's hash is the one the
     ledger recorded when it was received, that every event is in the signed ledger, the
     checkpoint's signature, and the timestamp tokens. It prints VERIFIED or FAILED and why.
  2. Or, for the files alone:  sha256sum -c manifest-sha256.txt
  3. Any BagIt tool (e.g. the Library of Congress 'bagit' package) validates the bag.

WHAT THE PROOFS DO AND DO NOT SHOW
  They show each event listed is exactly as recorded in the vault's ledger at the signed
  checkpoint, and each file is byte for byte the one whose hash the ledger recorded at
  receipt. Every custody fact in the metadata (each place a file was found) is backed by
  such an event. They do not show the content of events about other files, which the bundle
  does not reveal.
"""
