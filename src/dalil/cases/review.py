"""Two-person review: a claim becomes *verified* only when someone other than its author
confirms it.

A claim made by a machine (OCR) is nobody's own: it needs confirmations from two different
people (the one who ran the machine may be one of them). Rejections are recorded next to
confirmations, never instead of them: an annotation with both is a *conflict*, as are two live
claims of different values for the same identifier or attribute of one case. Nothing is
overwritten; a correction is a new annotation.
"""

from __future__ import annotations

import json
from typing import Any

from dalil.cases.model import Actor, annotate, annotation_row, case_pk
from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.ledger.log import Ledger

QUEUES = ("proposed", "unverified", "conflicts", "needs-reading")


def _needed(source: str) -> int:
    """Confirmations by people other than the author that verify a claim."""
    return 1 if source == "person" else 2


def _review(
    conn: Db,
    ledger: Ledger,
    reviewer: Actor,
    annotation_id: int,
    verdict: str,
    comment: str,
) -> dict[str, Any]:
    reviewer.check(conn)
    row = annotation_row(conn, annotation_id)
    if row["state"] in ("superseded",):
        raise UsageError(f"annotation {annotation_id} is {row['state']}")
    own = row["source"] == "person" and row["author"] == reviewer.name
    if verdict == "confirm" and own:
        raise UsageError(
            f"{reviewer.name} made annotation {annotation_id}: a second person must confirm it"
        )
    if any(r["reviewer"] == reviewer.name for r in row["reviews"]):
        raise UsageError(f"{reviewer.name} has already reviewed annotation {annotation_id}")
    ledger.append(
        reviewer.name,
        f"annotation.{'confirmed' if verdict == 'confirm' else 'rejected'}",
        f"case:{row['case']}",
        {"annotation": annotation_id, "annotation_seq": row["ledger_seq"]},
        {"annotation": annotation_id, "comment": comment},
    )
    return annotation_row(conn, annotation_id)


def state_after(author: str, source: str, verdicts: list[tuple[str, str]]) -> str:
    """A claim's review state given its (reviewer, verdict) list: verified when enough people
    other than its author confirmed it and nobody rejected it; rejected when only rejected;
    otherwise unverified (not enough confirmations yet, or a conflict people must settle)."""
    confirms = {
        who for who, v in verdicts if v == "confirm" and (who != author or source != "person")
    }
    rejects = {who for who, v in verdicts if v == "reject"}
    if confirms and not rejects and len(confirms) >= _needed(source):
        return "verified"
    if rejects and not confirms:
        return "rejected"
    return "unverified"


def confirm(
    conn: Db, ledger: Ledger, reviewer: Actor, annotation_id: int, comment: str = ""
) -> dict[str, Any]:
    with atomic(conn):
        return _review(conn, ledger, reviewer, annotation_id, "confirm", comment)


def reject(
    conn: Db,
    ledger: Ledger,
    reviewer: Actor,
    annotation_id: int,
    comment: str = "",
    *,
    correct: str | None = None,
) -> dict[str, Any]:
    """Reject a claim; with ``correct``, also record the reviewer's own reading of it (a new
    annotation, which a third person — or the first author — then reviews)."""
    with atomic(conn):
        out = _review(conn, ledger, reviewer, annotation_id, "reject", comment)
        if correct is not None:
            pk = conn.execute(
                "SELECT case_pk FROM annotations WHERE id = ?", (annotation_id,)
            ).fetchone()[0]
            new, _ = annotate(
                conn,
                ledger,
                reviewer,
                int(pk),
                str(out["kind"]),
                str(out["field"]),
                correct,
                item=out["item"],
                region=out["region"],
            )
            out["correction"] = annotation_row(conn, new)
        return out


CLAIM_KINDS = ("identifier", "attribute", "mark")
"""What the unverified queue holds: claims a second person must confirm (notes are not)."""


def confirmations(row: dict[str, Any]) -> dict[str, Any]:
    """How far a claim is from verified: confirmations that count, and how many it needs."""
    author, source = row["author"], row["source"]
    have = len(
        {
            r["reviewer"]
            for r in row["reviews"]
            if r["verdict"] == "confirm" and (r["reviewer"] != author or source != "person")
        }
    )
    need = _needed(str(source))
    return {"have": have, "need": need, "text": f"{min(have, need)} of {need} confirmations"}


def live_claims(conn: Db, case: str, kind: str | None = None) -> list[dict[str, Any]]:
    """A case's unverified and verified claims (of ``kind``), each with its
    ``confirmations``: what a list of a case's identifiers shows beside each value."""
    where = "case_pk = ? AND state IN ('unverified', 'verified')"
    params: list[Any] = [case_pk(conn, case)]
    if kind is not None:
        where += " AND kind = ?"
        params.append(kind)
    rows = []
    for (aid,) in conn.execute(
        f"SELECT id FROM annotations WHERE {where} ORDER BY field, id", params
    ).fetchall():
        row = annotation_row(conn, int(aid))
        row["confirmations"] = confirmations(row)
        rows.append(row)
    return rows


def queue(
    conn: Db, name: str, *, limit: int = 50, for_user: str | None = None
) -> list[dict[str, Any]]:
    """The first ``limit`` rows of a review queue (see :func:`queue_page`)."""
    return queue_page(conn, name, limit=limit, for_user=for_user)[0]


PHOTOS_SHOWN = 6
"""Photographs listed with each proposed case (its first ones), for a look before deciding."""


def queue_page(
    conn: Db,
    name: str,
    *,
    limit: int | None = 50,
    offset: int = 0,
    for_user: str | None = None,
    case: str | None = None,
    kind: str | None = None,
    max_confidence: float | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A review queue and how long it is in all: ``proposed`` cases (each with its first
        :data:`PHOTOS_SHOWN` ``photos``), ``unverified`` claims (lowest reading confidence first,
        then people's claims), ``conflicts``, ``needs-reading`` (photographs OCR read too
    doubtfully, :func:`needs_reading`); ``offset`` rows skipped. With ``for_user``, the
        claims that user may still review (not their own, not reviewed by them)."""
    most = -1 if limit is None else limit
    if name == "proposed":
        keys = ("case_id", "title", "cluster", "items", "created_at")
        total = conn.execute("SELECT COUNT(*) FROM cases WHERE status = 'proposed'").fetchone()[0]
        rows = []
        for r in conn.execute(
            "SELECT id, case_id, title, cluster, items, created_at FROM cases"
            " WHERE status = 'proposed' ORDER BY id LIMIT ? OFFSET ?",
            (most, offset),
        ).fetchall():
            row = dict(zip(keys, r[1:], strict=True))
            row["photos"] = [
                str(p[0])
                for p in conn.execute(
                    "SELECT sha256 FROM case_items WHERE case_pk = ?"
                    " ORDER BY linked_at, sha256 LIMIT ?",
                    (r[0], PHOTOS_SHOWN),
                )
            ]
            rows.append(row)
        return rows, int(total)
    if name == "unverified":
        if kind is not None and kind not in CLAIM_KINDS:
            raise UsageError(f"claims to review are of kinds: {', '.join(CLAIM_KINDS)}")
        where = [
            f"a.kind IN ({','.join('?' * len(CLAIM_KINDS))})" if kind is None else "a.kind = ?",
            "a.state = 'unverified'",
        ]
        params: list[Any] = list(CLAIM_KINDS) if kind is None else [kind]
        if for_user:
            where.append(
                "(a.author != ? OR a.source != 'person') AND NOT EXISTS"
                " (SELECT 1 FROM reviews r WHERE r.annotation_id = a.id AND r.reviewer = ?)"
            )
            params += [for_user, for_user]
        if case:
            where.append("a.case_pk = ?")
            params.append(case_pk(conn, case))
        if max_confidence is not None:
            where.append("a.confidence IS NOT NULL AND a.confidence <= ?")
            params.append(max_confidence)
        clause = " AND ".join(where)
        total = conn.execute(f"SELECT COUNT(*) FROM annotations a WHERE {clause}", params)
        ids = conn.execute(
            f"SELECT a.id FROM annotations a WHERE {clause}"
            " ORDER BY a.confidence IS NULL, a.confidence, a.id LIMIT ? OFFSET ?",
            (*params, most, offset),
        ).fetchall()
        rows = []
        for (aid,) in ids:
            row = annotation_row(conn, int(aid))
            row["confirmations"] = confirmations(row)
            rows.append(row)
        return rows, int(total.fetchone()[0])
    if name == "conflicts":
        found = conflicts(conn, None)
        return found[offset : None if limit is None else offset + limit], len(found)
    if name == "needs-reading":
        found = needs_reading(conn, case)
        return found[offset : None if limit is None else offset + limit], len(found)
    raise UsageError(f"queues: {', '.join(QUEUES)}")


def conflicts(conn: Db, limit: int | None = 50) -> list[dict[str, Any]]:
    """Disagreements: live claims of different values for one field of one case, and claims
    that some people confirmed and others rejected."""
    out: list[dict[str, Any]] = []
    for case_id, _kind, field, ids in conn.execute(
        "SELECT c.case_id, a.kind, a.field, group_concat(a.id) FROM annotations a"
        " JOIN cases c ON c.id = a.case_pk"
        " WHERE a.kind IN ('identifier', 'attribute') AND a.state IN ('unverified', 'verified')"
        " GROUP BY c.id, c.case_id, a.kind, a.field HAVING COUNT(DISTINCT a.value) > 1"
        " ORDER BY c.id LIMIT ?",
        (-1 if limit is None else limit,),
    ):
        out.append(
            {
                "case": case_id,
                "why": f"different {field} values",
                "annotations": [annotation_row(conn, int(i)) for i in str(ids).split(",")],
            }
        )
    for (annotation_id,) in conn.execute(
        "SELECT annotation_id FROM reviews GROUP BY annotation_id"
        " HAVING SUM(CASE WHEN verdict = 'confirm' THEN 1 ELSE 0 END) > 0"
        " AND SUM(CASE WHEN verdict = 'reject' THEN 1 ELSE 0 END) > 0 LIMIT ?",
        (-1 if limit is None else limit,),
    ):
        row = annotation_row(conn, int(annotation_id))
        out.append({"case": row["case"], "why": "confirmed and rejected", "annotations": [row]})
    return out if limit is None else out[:limit]


def needs_reading(conn: Db, case: str | None = None) -> list[dict[str, Any]]:
    """Photographs of live cases on which OCR (the current engine) read a value for a field
    too doubtfully to propose it (:func:`dalil.ocr.confidence.withheld`): a person must read
    them. Each row: ``case``, ``item`` and the doubtful readings (``field``, ``written``,
    ``confidence``: the field confidence)."""
    from dalil.ocr import ENGINE_VERSION
    from dalil.ocr.confidence import withheld

    # the current engine's readings: with Dalil's labels or the collection's own
    # (``ENGINE_VERSION+labels:<hash>``); the latest reading of each photograph counts
    sql = (
        "SELECT c.id, c.case_id, o.sha256, o.readings FROM ocr_runs o"
        " JOIN case_items ci ON ci.sha256 = o.sha256 JOIN cases c ON c.id = ci.case_pk"
        " WHERE (o.engine = ? OR substr(o.engine, 1, ?) = ?)"
        " AND c.status IN ('proposed', 'open', 'candidate-identified')"
    )
    prefix = f"{ENGINE_VERSION}+labels:"
    params: list[Any] = [ENGINE_VERSION, len(prefix), prefix]
    if case:
        sql += " AND c.id = ?"
        params.append(case_pk(conn, case))
    latest: dict[tuple[int, str, str], str] = {}
    for pk, case_id, sha, readings in conn.execute(sql + " ORDER BY o.ran_at", params):
        latest[(int(pk), str(sha), str(case_id))] = str(readings)
    out: list[dict[str, Any]] = []
    for (_, sha, case_id), readings in sorted(latest.items()):
        doubtful = withheld(json.loads(readings))
        if doubtful:
            out.append(
                {
                    "case": str(case_id),
                    "item": str(sha),
                    "why": "needs a human reading",
                    "readings": [
                        {
                            "field": r["field"],
                            "written": r["written"],
                            "confidence": r.get("field_confidence"),
                        }
                        for r in doubtful
                    ],
                }
            )
    return out
