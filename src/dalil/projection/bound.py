"""Binding a catalogue made before the projection design to its ledger.

Events written by earlier versions record only part of what the catalogue shows (an item's
hash, size and type, where it was found, digests of claims). When such a vault is first opened
by this version, one ``catalog.bound`` event records every fact row as the catalogue then held
it (its payload), after checking what the old events can check. From that event on, the
catalogue is a projection like any other: every later change of a bound row is detected.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from dalil.catalog.db import Db
from dalil.catalog.db import columns as table_columns
from dalil.projection import Fact, clusters_changed, projects
from dalil.users import SYSTEM_ACTOR

FACT_TABLES = (
    "users",
    "acquisitions",
    "items",
    "item_flags",
    "occurrences",
    "skipped_entries",
    "metadata",
    "fingerprints",
    "derivatives",
    "pair_checks",
    "match_checks",
    "cluster_decisions",
    "identifier_types",
    "cases",
    "case_items",
    "annotations",
    "reviews",
    "ocr_runs",
)
"""Tables whose rows are facts, in an order that satisfies their foreign keys. The others
(clusters, identifier keys, case text and case summaries) are computed from these."""


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode("ascii")}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        return base64.b64decode(value["b64"])
    return value


def snapshot(conn: Db, root: Path) -> dict[str, Any]:
    """Every fact row of the catalogue; derivative files get the SHA-256 they have now."""
    tables: dict[str, Any] = {}
    for table in FACT_TABLES:
        key = [name for at, name in sorted((at, n) for n, at in table_columns(conn, table)) if at]
        cursor = conn.execute(f"SELECT * FROM main.{table} ORDER BY {', '.join(key)}")
        columns = [d[0] for d in cursor.description]
        rows = [[_encode(v) for v in row] for row in cursor]
        if table == "derivatives":
            path_at, hash_at = columns.index("path"), columns.index("file_sha256")
            for row in rows:
                if row[hash_at] is None and str(row[path_at]).startswith("derived/"):
                    try:
                        row[hash_at] = hashlib.sha256(
                            (root / row[path_at]).read_bytes()
                        ).hexdigest()
                    except OSError:
                        row[hash_at] = None
        tables[table] = {"columns": columns, "rows": rows}
    return tables


@projects("catalog.bound")
def _bound(conn: Db, fact: Fact) -> None:
    from dalil.cases.model import fuzzy_keys, refresh

    tables = fact.payload["tables"]
    conn.execute("DELETE FROM identifier_keys")
    for table in reversed(FACT_TABLES):
        conn.execute(f"DELETE FROM main.{table}")
    for table in FACT_TABLES:
        spec = tables[table]
        columns = spec["columns"]
        conn.executemany(
            f"INSERT INTO main.{table} ({', '.join(columns)})"
            f" VALUES ({', '.join('?' * len(columns))})",
            [[_decode(v) for v in row] for row in spec["rows"]],
        )
    conn.executemany(
        "INSERT INTO identifier_keys (key, annotation_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [
            (key, int(aid))
            for aid, value in conn.execute(
                "SELECT id, value FROM annotations WHERE kind = 'identifier' ORDER BY id"
            ).fetchall()
            for key in fuzzy_keys(str(value))
        ],
    )
    for (pk,) in conn.execute("SELECT id FROM cases ORDER BY id").fetchall():
        refresh(conn, int(pk))
    clusters_changed(conn, fact.time)


def legacy_problems(conn: Db) -> list[str]:
    """What the old events can check of the catalogue about to be bound: every item and place
    found recorded with its size, every claim with its digest."""
    import json

    from dalil.cases.model import annotation_digest

    items: dict[str, int] = {}
    places: set[tuple[str, str, str]] = set()
    claims: dict[int, str] = {}
    for (text,) in conn.execute("SELECT event FROM ledger ORDER BY seq"):
        event = json.loads(text)
        details = event.get("details") or {}
        sha = str(details.get("sha256"))
        if event.get("action") == "item.ingested":
            items[sha] = int(details.get("size", -1))
            first = details.get("first_occurrence") or {}
            places.add((sha, str(first.get("source")), str(first.get("path"))))
        elif event.get("action") == "occurrence.added":
            places.add((sha, str(details.get("source")), str(details.get("path"))))
        elif event.get("action") == "annotation.added":
            claims[int(event["seq"])] = str(details.get("digest"))
    problems = [
        f"item {sha} ({size} bytes) is not as the ledger recorded it"
        for sha, size in conn.execute("SELECT sha256, size FROM items")
        if items.get(sha) != size
    ]
    problems += [
        f"item {sha}: place found {path!r} from {source!r} was never recorded"
        for sha, source, path in conn.execute(
            "SELECT sha256, source_label, path_text FROM occurrences"
        )
        if (sha, source, path) not in places
    ]
    for row in conn.execute(
        "SELECT id, kind, field, value, source, confidence, item, region, author, ledger_seq"
        " FROM annotations"
    ).fetchall():
        content = dict(
            zip(
                ("kind", "field", "value", "source", "confidence", "item", "region", "author"),
                row[1:9],
                strict=True,
            )
        )
        content["region"] = json.loads(content["region"]) if content["region"] else None
        if claims.get(int(row[9])) != annotation_digest(content):
            problems.append(f"claim {row[0]} is not as the ledger recorded it")
    return problems


def bind(conn: Db, ledger: Any, vault_id: str, root: Path) -> None:
    """Record the catalogue of an old vault in one ``catalog.bound`` event (see module)."""
    from dalil.catalog import atomic

    with atomic(conn):
        problems = legacy_problems(conn)
        tables = snapshot(conn, root)
        ledger.append(
            SYSTEM_ACTOR,
            "catalog.bound",
            f"vault:{vault_id}",
            {
                "rows": {t: len(spec["rows"]) for t, spec in tables.items()},
                "problems_found_before": len(problems),
                "problems": problems[:100],
            },
            {"tables": tables},
        )
        ledger.try_checkpoint()
