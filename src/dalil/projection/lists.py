"""Projectors of external lists (and, later, of linkage runs and their review)."""

from __future__ import annotations

import json

from dalil.catalog.db import Db
from dalil.projection import Fact, projects


@projects("list.imported")
def _imported(conn: Db, fact: Fact) -> None:
    p = fact.payload
    conn.execute(
        "INSERT INTO lists (name, source, sha256, file_name, encoding, sheet, id_column,"
        " columns, mapping, records, bad_rows, imported_by, imported_at, ledger_seq)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            p["list"],
            p["from"],
            p["sha256"],
            p["file"],
            p["encoding"],
            p["sheet"],
            p["id_column"],
            json.dumps(p["columns"], ensure_ascii=False),
            json.dumps(p["mapping"], ensure_ascii=False, sort_keys=True),
            len(p["records"]),
            len(p["bad_rows"]),
            fact.actor,
            fact.time,
            fact.seq,
        ),
    )
    conn.executemany(
        "INSERT INTO list_records (list, record_id, line, fields, extra, warnings)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                p["list"],
                r["id"],
                r["line"],
                json.dumps(r["fields"], ensure_ascii=False, sort_keys=True),
                json.dumps(r["extra"], ensure_ascii=False, sort_keys=True),
                json.dumps(r["warnings"], ensure_ascii=False),
            )
            for r in p["records"]
        ],
    )
    conn.executemany(
        "INSERT INTO list_bad_rows (list, line, reason, raw) VALUES (?, ?, ?, ?)",
        [
            (p["list"], b["line"], b["reason"], json.dumps(b["raw"], ensure_ascii=False))
            for b in p["bad_rows"]
        ],
    )


@projects("link.run")
def _run(conn: Db, fact: Fact) -> None:
    """A linkage run: its model and inputs, and the candidate pairs it queued for review."""
    p = fact.payload
    conn.execute(
        "INSERT INTO link_runs (id, mode, inputs, model, review_threshold, people, notes,"
        " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            fact.seq,
            p["mode"],
            json.dumps(p["inputs"], ensure_ascii=False, sort_keys=True),
            json.dumps(p["model"], ensure_ascii=False, sort_keys=True),
            p["review_threshold"],
            len(p["clusters"]),
            json.dumps(p["notes"], ensure_ascii=False),
            fact.actor,
            fact.time,
        ),
    )
    conn.executemany(
        "INSERT INTO link_candidates (run, left_id, right_id, probability, evidence)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (run, left_id, right_id) DO UPDATE"
        " SET probability = excluded.probability, evidence = excluded.evidence",
        [
            (
                fact.seq,
                *sorted((c["left"], c["right"])),
                c["probability"],
                json.dumps(c["evidence"], ensure_ascii=False, sort_keys=True),
            )
            for c in p["candidates"]
        ],
    )


@projects("link.confirmed", "link.rejected")
def _link_review(conn: Db, fact: Fact) -> None:
    from dalil.linkage.review import state_of

    p = fact.payload
    verdict = "confirm" if fact.event["action"] == "link.confirmed" else "reject"
    conn.execute(
        "INSERT INTO link_reviews (left_id, right_id, reviewer, verdict, comment, created_at,"
        " ledger_seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (p["left"], p["right"], fact.actor, verdict, p.get("comment", ""), fact.time, fact.seq),
    )
    verdicts = [
        (str(w), str(v))
        for w, v in conn.execute(
            "SELECT reviewer, verdict FROM link_reviews WHERE left_id = ? AND right_id = ?",
            (p["left"], p["right"]),
        )
    ]
    conn.execute(
        "INSERT INTO link_decisions (left_id, right_id, state, updated_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (left_id, right_id) DO UPDATE"
        " SET state = excluded.state, updated_at = excluded.updated_at",
        (p["left"], p["right"], state_of(verdicts), fact.time),
    )


@projects("report.added")
def _report(conn: Db, fact: Fact) -> None:
    """A family's report of a missing person (their contact details are never here)."""
    p = fact.payload
    conn.execute(
        "INSERT INTO reports (report_id, fields, marks, photo, status, created_by, created_at,"
        " ledger_seq) VALUES (?, ?, ?, ?, 'open', ?, ?, ?)",
        (
            p["report"],
            json.dumps(p["fields"], ensure_ascii=False, sort_keys=True),
            json.dumps(p["marks"], ensure_ascii=False),
            p["photo"],
            fact.actor,
            fact.time,
            fact.seq,
        ),
    )
