"""Read-side queries over the catalogue, shared by every interface."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from dalil.catalog.db import Db
from dalil.errors import NotFound, UsageError

_HEX = set("0123456789abcdef")


def resolve_item(conn: Db, ref: str) -> str:
    """The full SHA-256 of an item given as ``sha256:<hex>``, full hex, or a unique prefix."""
    prefix = ref.strip().lower().removeprefix("sha256:")
    if len(prefix) < 4 or not set(prefix) <= _HEX:
        raise NotFound(f"{ref!r} is not an item hash or a prefix of at least 4 hex digits")
    rows = conn.execute(
        "SELECT sha256 FROM items WHERE sha256 >= ? AND sha256 < ? ORDER BY sha256 LIMIT 2",
        (prefix, prefix + "g"),
    ).fetchall()
    if not rows:
        raise NotFound(f"no item matches {ref!r}")
    if len(rows) > 1:
        raise UsageError(f"{ref!r} matches several items; give more digits")
    return str(rows[0][0])


def rows_for(conn: Db, sql: str, keys: list[str], *, size: int = 500) -> Iterator[sqlite3.Row]:
    """The rows of ``sql`` — whose ``{marks}`` stands for an ``IN (...)`` list — for every one
    of ``keys``, asked ``size`` keys at a time (SQLite limits the parameters of a query)."""
    for start in range(0, len(keys), size):
        chunk = keys[start : start + size]
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


def item_flags(conn: Db, sha256: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT flag, reason FROM item_flags WHERE sha256 = ? ORDER BY flag", (sha256,)
    )
    return {flag: reason for flag, reason in rows}


def list_items(
    conn: Db,
    *,
    media_type: str | None = None,
    flag: str | None = None,
    acquisition: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    after: str | None = None,
    counted: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Items with their flags, filtered; ``media_type`` may be a prefix such as ``image/``.

    In the order they were ingested, or — with ``after`` (a hash; "" to start) — in hash order
    from just after it, which pages through a million items in constant time."""
    where: list[str] = []
    params: list[Any] = []
    if after is not None:
        where.append("i.sha256 > ?")
        params.append(after)
    if media_type:
        if media_type.endswith("/"):
            where.append("i.media_type LIKE ?")
            params.append(media_type + "%")
        else:
            where.append("i.media_type = ?")
            params.append(media_type)
    if flag:
        from dalil.ingest.flags import check

        if check(flag) == "any":
            where.append("EXISTS (SELECT 1 FROM item_flags f WHERE f.sha256 = i.sha256)")
        else:
            where.append(
                "EXISTS (SELECT 1 FROM item_flags f WHERE f.sha256 = i.sha256 AND f.flag = ?)"
            )
            params.append(flag)
    if acquisition:
        if not conn.execute(
            "SELECT 1 FROM acquisitions WHERE label = ?", (acquisition,)
        ).fetchone():
            raise UsageError(f"no acquisition {acquisition!r} (see 'dalil acquisitions')")
        where.append(
            "EXISTS (SELECT 1 FROM occurrences o JOIN acquisitions a ON a.id = o.acquisition_id"
            " WHERE o.sha256 = i.sha256 AND a.label = ?)"
        )
        params.append(acquisition)
    sql = "SELECT i.sha256, i.size, i.media_type, i.ingested_at FROM items i"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if counted is not None:  # the caller wants to know how many match in all
        count = f"SELECT COUNT(*) FROM ({sql}) AS matching"
        counted.append(int(conn.execute(count, params).fetchone()[0]))
    sql += " ORDER BY i.sha256" if after is not None else " ORDER BY i.ingested_at, i.sha256"
    sql += " LIMIT ? OFFSET ?"
    params += [-1 if limit is None else limit, offset]
    rows = conn.execute(sql, params).fetchall()
    flags: dict[str, list[str]] = {}
    digests = [r["sha256"] for r in rows]
    for start in range(0, len(digests), 500):
        chunk = digests[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for digest, name in conn.execute(
            f"SELECT sha256, flag FROM item_flags WHERE sha256 IN ({marks}) ORDER BY flag", chunk
        ):
            flags.setdefault(digest, []).append(name)
    return [
        {
            "sha256": r["sha256"],
            "size": r["size"],
            "media_type": r["media_type"],
            "flags": flags.get(r["sha256"], []),
            "ingested_at": r["ingested_at"],
        }
        for r in rows
    ]


def list_acquisitions(conn: Db) -> list[dict[str, Any]]:
    out = []
    for r in conn.execute("SELECT * FROM acquisitions ORDER BY id"):
        out.append(
            {
                "acquisition": r["label"],
                "from": r["source_label"],
                "note": r["note"],
                "actor": r["actor"],
                "sources": json.loads(r["sources"]),
                "opened_at": r["opened_at"],
                "closed_at": r["closed_at"],
                "status": "closed" if r["closed_at"] else "open (interrupted: run ingest again)",
                "counts": json.loads(r["counts"]) if r["counts"] else None,
            }
        )
    return out


METADATA_FIELDS = (
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


def item_detail(conn: Db, sha256: str) -> dict[str, Any]:
    """Everything the catalogue knows about one item (not its ledger events)."""
    found = item_details(conn, [sha256])
    if sha256 not in found:
        raise UsageError(f"no item sha256:{sha256}")
    return found[sha256]


def item_details(conn: Db, shas: list[str]) -> dict[str, dict[str, Any]]:
    """:func:`item_detail` for many items at once (six queries per 500 items)."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(shas), 500):
        chunk = shas[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT * FROM items WHERE sha256 IN ({marks})", chunk):
            out[row["sha256"]] = {
                "sha256": row["sha256"],
                "size": row["size"],
                "media_type": row["media_type"],
                "ingested_at": row["ingested_at"],
                "flags": [],
                "flag_reasons": {},
                "metadata": {name: None for name in METADATA_FIELDS},
                "metadata_raw": {},
                "fingerprint": None,
                "occurrences": [],
                "derivatives": [],
            }
        for row in conn.execute(f"SELECT * FROM metadata WHERE sha256 IN ({marks})", chunk):
            if row["sha256"] in out:
                detail = out[row["sha256"]]
                detail["metadata"] = {name: row[name] for name in METADATA_FIELDS}
                detail["metadata_raw"] = json.loads(row["raw"])
        for sha, value, quality in conn.execute(
            f"SELECT sha256, value, quality FROM fingerprints WHERE algorithm = 'pdq'"
            f" AND sha256 IN ({marks})",
            chunk,
        ):
            if sha in out:
                out[sha]["fingerprint"] = {"pdq": value, "quality": quality}
        for o in conn.execute(
            f"SELECT o.*, a.label FROM occurrences o JOIN acquisitions a"
            f" ON a.id = o.acquisition_id WHERE o.sha256 IN ({marks}) ORDER BY o.id",
            chunk,
        ):
            if o["sha256"] in out:
                out[o["sha256"]]["occurrences"].append(
                    {
                        "acquisition": o["label"],
                        "from": o["source_label"],
                        "path": o["path_text"],
                        "size": o["size"],
                        "mtime_ns": o["mtime_ns"],
                    }
                )
        for d in conn.execute(f"SELECT * FROM derivatives WHERE sha256 IN ({marks})", chunk):
            if d["sha256"] in out:
                out[d["sha256"]]["derivatives"].append(
                    {
                        "kind": d["kind"],
                        "path": d["path"],
                        "media_type": d["media_type"],
                        "width": d["width"],
                        "height": d["height"],
                        "recipe": json.loads(d["recipe"]),
                    }
                )
        for sha, flag, reason in conn.execute(
            f"SELECT sha256, flag, reason FROM item_flags WHERE sha256 IN ({marks}) ORDER BY flag",
            chunk,
        ):
            if sha in out:
                out[sha]["flag_reasons"][flag] = reason
    for detail in out.values():
        detail["flags"] = sorted(detail["flag_reasons"])
    return out
