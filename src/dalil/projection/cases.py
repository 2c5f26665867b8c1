"""Projectors of cases: cases and their photographs, claims, reviews, OCR readings."""

from __future__ import annotations

import json

from dalil.cases.model import case_pk, fuzzy_keys, refresh
from dalil.cases.review import state_after
from dalil.catalog.db import Db
from dalil.projection import Fact, projects


def _touch(conn: Db, pk: int, fact: Fact) -> None:
    conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (fact.time, pk))


def _link(conn: Db, pk: int, items: list[list[str]], fact: Fact) -> None:
    conn.executemany(
        "INSERT INTO case_items (case_pk, sha256, role, linked_by, linked_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (case_pk, sha256) DO UPDATE SET"
        " role = excluded.role, linked_by = excluded.linked_by, linked_at = excluded.linked_at",
        [(pk, sha, role, fact.actor, fact.time) for sha, role in items],
    )


@projects("identifier-type.added")
def _identifier_type(conn: Db, fact: Fact) -> None:
    p = fact.payload
    conn.execute(
        "INSERT INTO identifier_types (name, label, pattern, example, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (p["name"], p["label"], p["pattern"], p["example"], fact.actor, fact.time),
    )


@projects("case.created")
def _created(conn: Db, fact: Fact) -> None:
    p = fact.payload
    cur = conn.execute(
        "INSERT INTO cases (case_id, kind, title, status, cluster, created_by, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            p["case"],
            p["kind"],
            p["title"],
            p["status"],
            p["cluster"],
            fact.actor,
            fact.time,
            fact.time,
        ),
    )
    pk = int(cur.fetchone()[0])
    _link(conn, pk, p["items"], fact)
    refresh(conn, pk)


@projects("case.status")
def _status(conn: Db, fact: Fact) -> None:
    pk = case_pk(conn, fact.payload["case"])
    conn.execute("UPDATE cases SET status = ? WHERE id = ?", (fact.payload["to"], pk))
    _touch(conn, pk, fact)
    refresh(conn, pk)


@projects("case.titled")
def _titled(conn: Db, fact: Fact) -> None:
    pk = case_pk(conn, fact.payload["case"])
    conn.execute("UPDATE cases SET title = ? WHERE id = ?", (fact.payload["title"], pk))
    _touch(conn, pk, fact)
    refresh(conn, pk)


@projects("case.linked", "case.unlinked")
def _linked(conn: Db, fact: Fact) -> None:
    pk = case_pk(conn, fact.payload["case"])
    items = [str(s) for s in fact.payload["items"]]
    if fact.event["action"] == "case.unlinked":
        conn.executemany(
            "DELETE FROM case_items WHERE case_pk = ? AND sha256 = ?", [(pk, s) for s in items]
        )
    else:
        _link(conn, pk, [[s, str(fact.payload["role"])] for s in items], fact)
    _touch(conn, pk, fact)
    refresh(conn, pk)


@projects("case.merged")
def _merged(conn: Db, fact: Fact) -> None:
    """The others' photographs and claims move into the first; they stay, marked merged."""
    into = case_pk(conn, fact.payload["into"])
    others = [case_pk(conn, ref) for ref in fact.payload["merged"]]
    for pk in others:
        conn.execute(
            "INSERT INTO case_items (case_pk, sha256, role, linked_by, linked_at)"
            " SELECT ?, sha256, role, linked_by, linked_at FROM case_items WHERE case_pk = ?"
            " ON CONFLICT DO NOTHING",
            (into, pk),
        )
        conn.execute("DELETE FROM case_items WHERE case_pk = ?", (pk,))
        conn.execute("UPDATE annotations SET case_pk = ? WHERE case_pk = ?", (into, pk))
        conn.execute(
            "UPDATE cases SET status = 'merged', updated_at = ?, notes = notes || ? WHERE id = ?",
            (fact.time, f"\nmerged into {fact.payload['into']}", pk),
        )
    for pk in [into, *others]:
        refresh(conn, pk)


@projects("case.split")
def _split(conn: Db, fact: Fact) -> None:
    """Photographs leave the case (the ``case.created`` event before this one made the new
    case with them)."""
    pk = case_pk(conn, fact.payload["case"])
    conn.executemany(
        "DELETE FROM case_items WHERE case_pk = ? AND sha256 = ?",
        [(pk, str(s)) for s in fact.payload["moved"]],
    )
    refresh(conn, pk)


@projects("annotation.added")
def _annotation(conn: Db, fact: Fact) -> None:
    p = fact.payload
    pk = case_pk(conn, p["case"])
    cur = conn.execute(
        "INSERT INTO annotations (case_pk, kind, field, value, source, confidence, item, region,"
        " author, created_at, ledger_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            pk,
            p["kind"],
            p["field"],
            p["value"],
            p["source"],
            p["confidence"],
            p["item"],
            None if p["region"] is None else json.dumps(p["region"]),
            p["author"],
            fact.time,
            fact.seq,
        ),
    )
    annotation_id = int(cur.fetchone()[0])
    if p["kind"] == "identifier":
        conn.executemany(
            "INSERT INTO identifier_keys (key, annotation_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(k, annotation_id) for k in fuzzy_keys(str(p["value"]))],
        )
    _touch(conn, pk, fact)
    refresh(conn, pk)


@projects("annotation.confirmed", "annotation.rejected")
def _review(conn: Db, fact: Fact) -> None:
    annotation = int(fact.payload["annotation"])
    verdict = "confirm" if fact.event["action"] == "annotation.confirmed" else "reject"
    conn.execute(
        "INSERT INTO reviews (annotation_id, reviewer, verdict, comment, created_at, ledger_seq)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (annotation, fact.actor, verdict, fact.payload.get("comment", ""), fact.time, fact.seq),
    )
    author, source, pk = conn.execute(
        "SELECT author, source, case_pk FROM annotations WHERE id = ?", (annotation,)
    ).fetchone()
    verdicts = [
        (str(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT reviewer, verdict FROM reviews WHERE annotation_id = ? ORDER BY id",
            (annotation,),
        )
    ]
    state = state_after(str(author), str(source), verdicts)
    conn.execute("UPDATE annotations SET state = ? WHERE id = ?", (state, annotation))
    refresh(conn, int(pk))


@projects("ocr.read")
def _ocr(conn: Db, fact: Fact) -> None:
    """What OCR read on a photograph; its text becomes searchable in the photo's cases."""
    p = fact.payload
    conn.execute(
        "INSERT INTO ocr_runs (sha256, engine, readings, text, ran_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (sha256, engine) DO UPDATE SET readings = excluded.readings,"
        " text = excluded.text, ran_at = excluded.ran_at",
        (
            p["sha256"],
            p["engine"],
            json.dumps(p["readings"], ensure_ascii=False),
            p["text"],
            fact.time,
        ),
    )
    for (pk,) in conn.execute(
        "SELECT case_pk FROM case_items WHERE sha256 = ? ORDER BY case_pk", (p["sha256"],)
    ).fetchall():
        refresh(conn, int(pk))
