"""Projectors of intake: acquisitions, items, places found, skipped entries, derivatives."""

from __future__ import annotations

import base64
import json
from typing import Any

from dalil.catalog.db import Db
from dalil.catalog.queries import METADATA_FIELDS
from dalil.projection import Fact, projects


def acquisition_id(conn: Db, label: str) -> int:
    """The row id of an acquisition that is still open (nothing is added to a closed one)."""
    row = conn.execute(
        "SELECT id, closed_at FROM acquisitions WHERE label = ?", (label,)
    ).fetchone()
    if row is None:
        raise ValueError(f"the ledger names an unknown acquisition {label!r}")
    if row[1] is not None:
        raise ValueError(f"it adds to acquisition {label} after it was closed ({row[1]})")
    return int(row[0])


def path_bytes(record: dict[str, Any]) -> bytes:
    """The raw bytes of a recorded path (``path_hex`` when it is not UTF-8)."""
    if record.get("path_hex"):
        return bytes.fromhex(str(record["path_hex"]))
    return str(record["path"]).encode("utf-8")


@projects("acquisition.opened")
def _opened(conn: Db, fact: Fact) -> None:
    p = fact.payload
    conn.execute(
        "INSERT INTO acquisitions (id, label, source_label, note, actor, sources, opened_at,"
        " grouping) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            int(p["id"]),
            p["label"],
            p["from"],
            p.get("note"),
            fact.actor,
            json.dumps(p["sources"], ensure_ascii=False),
            fact.time,
            int(p.get("grouping", True)),
        ),
    )


@projects("acquisition.closed")
def _closed(conn: Db, fact: Fact) -> None:
    conn.execute(
        "UPDATE acquisitions SET closed_at = ?, counts = ? WHERE label = ?",
        (fact.time, json.dumps(fact.payload["counts"]), fact.payload["label"]),
    )


@projects("entry.skipped")
def _skipped(conn: Db, fact: Fact) -> None:
    p = fact.payload
    conn.execute(
        "INSERT INTO skipped_entries (acquisition_id, path, path_text, kind, reason)"
        " VALUES (?, ?, ?, ?, ?)",
        (acquisition_id(conn, p["acquisition"]), path_bytes(p), p["path"], p["kind"], p["reason"]),
    )


def insert_occurrence(conn: Db, sha256: str, o: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO occurrences (sha256, acquisition_id, source_label, path, path_text, size,"
        " mtime_ns, ctime_ns, atime_ns, mode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            sha256,
            acquisition_id(conn, o["acquisition"]),
            o["source"],
            path_bytes(o),
            o["path"],
            o["size"],
            o.get("mtime_ns"),
            o.get("ctime_ns"),
            o.get("atime_ns"),
            o.get("mode"),
        ),
    )


def insert_derivative(conn: Db, sha256: str, d: dict[str, Any], when: str) -> None:
    conn.execute(
        "INSERT INTO derivatives (sha256, kind, path, media_type, width, height,"
        " recipe, created_at, file_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (sha256, kind) DO UPDATE SET path = excluded.path,"
        " media_type = excluded.media_type, width = excluded.width, height = excluded.height,"
        " recipe = excluded.recipe, created_at = excluded.created_at,"
        " file_sha256 = excluded.file_sha256",
        (
            sha256,
            d["kind"],
            d["path"],
            d["media_type"],
            d.get("width"),
            d.get("height"),
            json.dumps(d["recipe"], sort_keys=True),
            when,
            d["file_sha256"],
        ),
    )


@projects("item.ingested")
def _ingested(conn: Db, fact: Fact) -> None:
    p = fact.payload
    sha = str(p["sha256"])
    occurrence = p["occurrence"]
    conn.execute(
        "INSERT INTO items (sha256, size, media_type, acquisition_id, ingested_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            sha,
            p["size"],
            p["media_type"],
            acquisition_id(conn, occurrence["acquisition"]),
            fact.time,
        ),
    )
    insert_occurrence(conn, sha, occurrence)
    conn.executemany(
        "INSERT INTO item_flags (sha256, flag, reason) VALUES (?, ?, ?)",
        [(sha, flag, reason) for flag, reason in sorted(p["flags"].items())],
    )
    meta = p.get("metadata")
    if meta is not None:
        conn.execute(
            f"INSERT INTO metadata (sha256, {', '.join(METADATA_FIELDS)}, raw)"
            f" VALUES ({', '.join('?' * (len(METADATA_FIELDS) + 2))})",
            (
                sha,
                *(meta.get(c) for c in METADATA_FIELDS),
                json.dumps(meta["raw"], ensure_ascii=False, sort_keys=True),
            ),
        )
    fingerprint = p.get("fingerprint")
    if fingerprint is not None:
        variants = fingerprint.get("variants")
        conn.execute(
            "INSERT INTO fingerprints (sha256, algorithm, value, quality, variants)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                sha,
                fingerprint["algorithm"],
                fingerprint["value"],
                fingerprint["quality"],
                None if variants is None else base64.b64decode(variants),
            ),
        )
    for derivative in p.get("derivatives", []):
        insert_derivative(conn, sha, derivative, fact.time)


@projects("occurrence.added")
def _occurrence(conn: Db, fact: Fact) -> None:
    insert_occurrence(conn, str(fact.payload["sha256"]), fact.payload["occurrence"])


@projects("derivative.made", "release.file")
def _derivative(conn: Db, fact: Fact) -> None:
    for d in fact.payload["derivatives"]:
        insert_derivative(conn, str(d["sha256"]), d, fact.time)
