"""One family's report and the records that may be the same person: what a liaison officer
looks at before speaking to a family.

:func:`candidates` gathers, for one report, every candidate pair of the recorded linkage runs
that involves it — the other record described (a list's row, a case with its verified
identifiers and marks, another family's report), the evidence turned to face the report (which
fields agreed, in words, and how strongly that counted), and the pair's review state. A
candidate is never an identification: it is ``confirmed`` only when two different reviewers
confirmed it and nobody rejected it (:func:`dalil.linkage.review.state_of`).

:func:`look_for` runs linkage for a report — every list, every report, every case — and records
the run, as ``dalil link people`` does; its candidates join the review queue.

Contact details and consent are not part of a report (:mod:`dalil.reports`) and nothing here
reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.ledger.log import Ledger
from dalil.linkage import LinkResult
from dalil.linkage.model import COMPARED
from dalil.linkage.records import case_fields

LABELS = {
    "given": "given name",
    "family": "family name",
    "father": "father's name",
    "grandfather": "grandfather's name",
    "mother": "mother's name",
    "birth": "born",
    "sex": "sex",
    "branch": "branch",
    "detainee_number": "detainee number",
    "national_id": "national ID",
    "address": "address",
    "postcode": "postcode",
    "place": "place of birth",
}
"""The compared fields (:data:`dalil.linkage.model.COMPARED`) as people call them."""

NEEDED = 2
"""Reviewers who must confirm a link before a family may be told of it."""

THRESHOLD = 0.2
"""A report's candidates recorded by :func:`look_for`: lower than the review queue's usual
threshold (:data:`dalil.linkage.review.REVIEW_THRESHOLD`), because a family waits on this one
report, and a case known only by its detainee number scores low however well that agrees."""

PICTURES = 6
"""A case's first photographs listed with it (the interface shows them blurred)."""


def report_record(report_id: str) -> str:
    """The linkage record id of a report (``reports:R-00001``)."""
    return f"reports:{report_id}"


def _report_id(conn: Db, report_id: str) -> str:
    found = report_id.strip().upper()
    if not conn.execute("SELECT 1 FROM reports WHERE report_id = ?", (found,)).fetchone():
        raise UsageError(f"no report {report_id!r} (see 'dalil reports list')")
    return found


# -- what each side says, as people wrote it ------------------------------------------------------


def shown_values(fields: dict[str, Any]) -> dict[str, str | None]:
    """Per compared field, the value as written in ``fields`` (canonical report, list or case
    fields): a full name is split into its parts as linkage splits it, in its own script."""
    from dalil import names

    given, father = fields.get("given_name"), fields.get("father_name")
    grandfather, family = fields.get("grandfather_name"), fields.get("family_name")
    full = fields.get("full_name") or fields.get("full_name_latin")
    if full and "," in str(full):  # "FAMILY, Given Father"
        family_first, _, rest = str(full).partition(",")
        full = f"{rest.strip()} {family_first.strip()}".strip()
        family = family or family_first.strip()
    if full and not (given and family):
        parsed = names.parse_name(str(full))
        given = given or parsed.given
        father = father or parsed.father
        grandfather = grandfather or parsed.grandfather
        family = family or parsed.family
    values = {
        "given": given,
        "family": family,
        "father": father,
        "grandfather": grandfather,
        "mother": fields.get("mother_name"),
        "birth": fields.get("birth_date") or fields.get("birth_year"),
        "sex": fields.get("sex"),
        "branch": fields.get("branch"),
        "detainee_number": fields.get("detainee_number"),
        "national_id": fields.get("national_id"),
        "address": fields.get("address"),
        "postcode": fields.get("postcode"),
        "place": fields.get("birth_place"),
    }
    return {k: (str(v).strip() or None) if v is not None else None for k, v in values.items()}


def _describe_case(conn: Db, case_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    row = conn.execute(
        "SELECT id, case_id, title, status, kind FROM cases WHERE case_id = ?", (case_id,)
    ).fetchone()
    if row is None:
        return {"case_id": case_id, "missing": True}, {}
    pk = int(row[0])
    verified = conn.execute(
        "SELECT kind, field, value FROM annotations WHERE case_pk = ? AND state = 'verified'"
        " AND kind IN ('identifier', 'mark') ORDER BY kind, field, id",
        (pk,),
    ).fetchall()
    pictures = [
        str(r[0])
        for r in conn.execute(
            "SELECT ci.sha256 FROM case_items ci JOIN items i ON i.sha256 = ci.sha256"
            " WHERE ci.case_pk = ? AND i.media_type LIKE 'image/%'"
            " ORDER BY ci.linked_at, ci.sha256",
            (pk,),
        )
    ]
    description = {
        "case_id": row[1],
        "title": row[2],
        "status": row[3],
        "kind": row[4],
        "identifiers": [{"type": f, "value": v} for k, f, v in verified if k == "identifier"],
        "marks": [v for k, _, v in verified if k == "mark"],
        "photos": len(pictures),
        "pictures": pictures[:PICTURES],
    }
    return description, case_fields(conn, pk)


def _describe(conn: Db, record: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(kind, description, canonical fields) of a linkage record id."""
    source, _, rid = record.partition(":")
    if source == "cases":
        description, fields = _describe_case(conn, rid)
        return "case", description, fields
    if source == "reports":
        row = conn.execute(
            "SELECT fields, marks, status FROM reports WHERE report_id = ?", (rid,)
        ).fetchone()
        if row is None:
            return "report", {"report": rid, "missing": True}, {}
        fields = json.loads(row[0])
        return "report", {"report": rid, "fields": fields, "marks": json.loads(row[1]),
                          "status": row[2]}, fields  # fmt: skip
    row = conn.execute(
        "SELECT fields, line FROM list_records WHERE list = ? AND record_id = ?", (source, rid)
    ).fetchone()
    if row is None:
        return "list", {"list": source, "id": rid, "missing": True}, {}
    fields = {k: v for k, v in json.loads(row[0]).items() if v not in (None, "")}
    return "list", {"list": source, "id": rid, "line": row[1], "fields": fields}, fields


# -- the candidates -------------------------------------------------------------------------------


def _run_pairs(conn: Db, run: int) -> list[dict[str, Any]]:
    row = conn.execute("SELECT data FROM payloads WHERE seq = ?", (run,)).fetchone()
    found: list[dict[str, Any]] = json.loads(row[0])["candidates"] if row else []
    return found


def _oriented(pairs: list[dict[str, Any]], record: str, other: str) -> dict[str, Any]:
    """The evidence of the pair (``record``, ``other``) among a run's ``pairs``, ``left``
    being ``record``'s side. The catalogue keeps a pair's ids sorted; the evidence keeps
    Splink's order, which the run's ledger payload tells."""
    for pair in pairs:
        if {pair["left"], pair["right"]} == {record, other}:
            evidence: dict[str, Any] = pair["evidence"]
            if pair["left"] == record:
                return evidence
            return {
                k: {**e, "left": e.get("right"), "right": e.get("left")}
                for k, e in evidence.items()
            }
    return {}


def _evidence(
    evidence: dict[str, Any], ours: dict[str, str | None], theirs: dict[str, str | None]
) -> list[dict[str, Any]]:
    """Rows of the evidence table: field, both values as written and as compared, agreement in
    words and its weight (log2 of the Bayes factor: positive counts for, negative against)."""
    out = []
    for name in COMPARED:
        e = evidence.get(name)
        if e is None:
            continue
        row = {
            "field": name,
            "label": LABELS.get(name, name),
            "report": ours.get(name),
            "candidate": theirs.get(name),
            "report_compared": e.get("left"),
            "candidate_compared": e.get("right"),
            "agreement": str(e.get("agreement", "")),
            "weight": float(e.get("weight") or 0.0),
        }
        if any(row[k] not in (None, "") for k in ("report", "candidate", "report_compared",
                                                   "candidate_compared")):  # fmt: skip
            out.append(row)
    return out


def _reviews(conn: Db, a: str, b: str) -> list[dict[str, Any]]:
    return [
        {"reviewer": r[0], "verdict": r[1], "comment": r[2], "at": r[3]}
        for r in conn.execute(
            "SELECT reviewer, verdict, comment, created_at FROM link_reviews"
            " WHERE left_id = ? AND right_id = ? ORDER BY id",
            (a, b),
        )
    ]


def candidates(conn: Db, report_id: str) -> list[dict[str, Any]]:
    """The records that recorded linkage runs proposed as the same person as report
    ``report_id``: confirmed links first, then the most probable.

    Each: ``record`` (``cases:P-00003``, ``SNHR:1207``, ``reports:R-00002``), ``kind`` (case,
    list, report), ``description``, ``probability`` and ``run`` (of the latest run that
    proposed it), ``evidence`` (rows facing the report: see :func:`_evidence`), ``state``
    (pending, confirmed — two different reviewers, nobody against —, rejected, conflict),
    ``reviews``, and ``confirmations`` ("1 of 2")."""
    report_id = _report_id(conn, report_id)
    record = report_record(report_id)
    written = conn.execute("SELECT fields FROM reports WHERE report_id = ?", (report_id,))
    ours = shown_values(json.loads(written.fetchone()[0]))
    rows = conn.execute(
        "SELECT c.left_id, c.right_id, c.run, c.probability, COALESCE(d.state, 'pending')"
        " FROM link_candidates c LEFT JOIN link_decisions d"
        " ON d.left_id = c.left_id AND d.right_id = c.right_id"
        " WHERE (c.left_id = ? OR c.right_id = ?) AND c.run = (SELECT MAX(run)"
        " FROM link_candidates l WHERE l.left_id = c.left_id AND l.right_id = c.right_id)",
        (record, record),
    ).fetchall()
    out = []
    pairs: dict[int, list[dict[str, Any]]] = {}  # each run's payload, read once
    for a, b, run, probability, state in rows:
        other = b if a == record else a
        kind, description, fields = _describe(conn, str(other))
        reviews = _reviews(conn, str(a), str(b))
        confirmed_by = {r["reviewer"] for r in reviews if r["verdict"] == "confirm"}
        if int(run) not in pairs:
            pairs[int(run)] = _run_pairs(conn, int(run))
        out.append(
            {
                "report": report_id,
                "record": other,
                "kind": kind,
                "source": str(other).partition(":")[0],
                "description": description,
                "probability": float(probability),
                "run": int(run),
                "evidence": _evidence(
                    _oriented(pairs[int(run)], record, str(other)), ours, shown_values(fields)
                ),
                "state": str(state),
                "reviews": reviews,
                "confirmations": f"{min(len(confirmed_by), NEEDED)} of {NEEDED}",
            }
        )
    out.sort(key=lambda c: (c["state"] != "confirmed", -c["probability"], c["record"]))
    return out


@dataclass(frozen=True, slots=True)
class Look:
    """What :func:`look` found for one report: the run's result (this report's pairs only)
    and the probability they were kept from."""

    report: str
    threshold: float
    result: LinkResult


def look(conn: Db, report_id: str, *, threshold: float | None = None) -> Look:
    """Linkage for report ``report_id``: a people run — every list, every report and every case,
    trained on them all as ``dalil link people`` is — keeping this report's pairs at or above
    ``threshold`` (default :data:`THRESHOLD`). Nothing is recorded (:func:`record_look`)."""
    from dalil.linkage import run
    from dalil.linkage.records import Source

    report_id = _report_id(conn, report_id)
    ours = report_record(report_id)
    least = THRESHOLD if threshold is None else threshold
    lists = [str(r[0]) for r in conn.execute("SELECT name FROM lists ORDER BY name")]
    sources = [Source("list", n) for n in lists]
    sources += [Source("reports", "reports"), Source("cases", "cases")]
    try:
        result = run(conn, "people", sources, threshold=least)
    except UsageError as exc:
        if "at least two records" in str(exc):
            raise UsageError(
                "there is nothing to compare this report with yet: no list, no other report"
                " and no case with a name or an identifier"
            ) from exc
        raise
    result.pairs = [p for p in result.pairs if ours in (p["left"], p["right"])]
    result.notes.append(
        f"the candidates of report {report_id} only (at least {least}); 'dalil link people'"
        " proposes the others"
    )
    return Look(report_id, least, result)


def record_look(conn: Db, ledger: Ledger, actor: str, found: Look) -> int:
    """Record what :func:`look` found (a ``link.run`` event); returns the run's number. Its
    candidates join the review queue."""
    from dalil.linkage.review import record

    found.result.run = record(conn, ledger, actor, found.result, found.threshold)
    return found.result.run


def look_for(
    conn: Db,
    ledger: Ledger,
    actor: str,
    report_id: str,
    *,
    threshold: float | None = None,
) -> int:
    """:func:`look` for report ``report_id`` and record the run (:func:`record_look`); returns
    the run's number. Any user may: the run is an act in the ledger like any other."""
    from dalil.users import check_actor

    check_actor(conn, actor)
    return record_look(conn, ledger, actor, look(conn, report_id, threshold=threshold))
