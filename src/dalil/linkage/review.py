"""Linkage runs in the ledger, and people's review of the links they propose.

A run is one ``link.run`` event (the trained model, the inputs' hashes, the candidate pairs at
or above the review threshold). A candidate becomes a *confirmed* link only when two different
people confirm it and nobody rejects it; a rejection is kept beside confirmations, never
instead of them. When a family report and a case are confirmed to be the same person, the case
moves to ``identified`` (its own ledger event). Confirmed links join people, rejected ones keep
them apart (:func:`dalil.linkage.cluster`).
"""

from __future__ import annotations

from typing import Any

from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.ledger.log import Ledger

REVIEW_THRESHOLD = 0.8
"""Candidates at or above this probability are queued for review."""

FAMILY_THRESHOLD = 0.5
"""A family report's candidates are kept from this probability on: a liaison officer sees a
short ranked list, not only the near-certain ones."""

CODE_VERSION = "dalil-linkage/1"


def record(conn: Db, ledger: Ledger, actor: str, result: Any, review_threshold: float) -> int:
    """Record a run; returns its number."""
    candidates = [
        oriented(p)
        for p in result.pairs
        if p["probability"] >= review_threshold
        or (
            p["probability"] >= min(review_threshold, FAMILY_THRESHOLD)
            and "reports:" in (p["left"][:8], p["right"][:8])
        )
    ]
    with atomic(conn):
        event = ledger.append(
            actor,
            "link.run",
            f"link-run:{result.mode}",
            {
                "mode": result.mode,
                "inputs": result.inputs,
                "candidates": len(candidates),
                "people": len(result.clusters),
                "code": CODE_VERSION,
            },
            {
                "mode": result.mode,
                "inputs": result.inputs,
                "model": result.model,
                "review_threshold": review_threshold,
                "candidates": candidates,
                "clusters": result.clusters,
                "notes": result.notes,
                "code": CODE_VERSION,
            },
        )
    return int(event["seq"])


def oriented(pair: dict[str, Any]) -> dict[str, Any]:
    """The pair with its records in the order the catalogue keys it (:func:`pair_key`), each
    field's evidence turned the same way."""
    if pair["left"] <= pair["right"]:
        return pair
    evidence = {
        name: {**e, "left": e.get("right"), "right": e.get("left")}
        for name, e in pair["evidence"].items()
    }
    return {**pair, "left": pair["right"], "right": pair["left"], "evidence": evidence}


def pair_key(left: str, right: str) -> tuple[str, str]:
    a, b = sorted((left, right))
    return a, b


def decisions(conn: Db) -> dict[tuple[str, str], str]:
    """Every reviewed pair that people settled: ``confirmed`` or ``rejected``."""
    return {
        (str(a), str(b)): str(state)
        for a, b, state in conn.execute(
            "SELECT left_id, right_id, state FROM link_decisions"
            " WHERE state IN ('confirmed', 'rejected')"
        )
    }


def state_of(verdicts: list[tuple[str, str]]) -> str:
    confirms = {who for who, v in verdicts if v == "confirm"}
    rejects = {who for who, v in verdicts if v == "reject"}
    if rejects and confirms:
        return "conflict"
    if rejects:
        return "rejected"
    if len(confirms) >= 2:
        return "confirmed"
    return "pending"


def queue(conn: Db, limit: int | None = 50) -> tuple[list[dict[str, Any]], int]:
    """Candidates of the latest runs not yet settled, most probable first."""
    import json

    # each pair once: the run that gave it its highest probability (the latest among equals)
    sql = (
        "SELECT c.left_id, c.right_id, c.probability, c.evidence, c.run,"
        " COALESCE(d.state, 'pending') FROM link_candidates c"
        " LEFT JOIN link_decisions d ON d.left_id = c.left_id AND d.right_id = c.right_id"
        " WHERE COALESCE(d.state, 'pending') IN ('pending', 'conflict')"
        " AND c.run = (SELECT b.run FROM link_candidates b WHERE b.left_id = c.left_id"
        " AND b.right_id = c.right_id ORDER BY b.probability DESC, b.run DESC LIMIT 1)"
    )
    total = int(conn.execute(f"SELECT COUNT(*) FROM ({sql}) AS pairs").fetchone()[0])
    rows = conn.execute(
        sql + " ORDER BY 3 DESC, 1, 2 LIMIT ?", (-1 if limit is None else limit,)
    ).fetchall()
    out = []
    for left, right, probability, evidence, run, state in rows:
        reviews = [
            {"reviewer": r[0], "verdict": r[1]}
            for r in conn.execute(
                "SELECT reviewer, verdict FROM link_reviews WHERE left_id = ? AND right_id = ?"
                " ORDER BY id",
                (left, right),
            )
        ]
        out.append(
            {
                "left": left,
                "right": right,
                "probability": probability,
                "evidence": json.loads(evidence),
                "run": run,
                "state": state,
                "reviews": reviews,
                "confirmations": f"{sum(r['verdict'] == 'confirm' for r in reviews)} of 2",
            }
        )
    return out, total


def _review(
    conn: Db,
    ledger: Ledger,
    actor: str,
    left: str,
    right: str,
    verdict: str,
    comment: str,
) -> dict[str, Any]:
    from dalil.users import require

    require(conn, actor, "review", "review links")
    a, b = pair_key(left, right)
    with atomic(conn):
        known = conn.execute(
            "SELECT MAX(probability) FROM link_candidates WHERE left_id = ? AND right_id = ?",
            (a, b),
        ).fetchone()[0]
        if known is None:
            raise UsageError(f"{a} and {b} are not a candidate link of any run")
        if conn.execute(
            "SELECT 1 FROM link_reviews WHERE left_id = ? AND right_id = ? AND reviewer = ?",
            (a, b, actor),
        ).fetchone():
            raise UsageError(f"{actor} has already reviewed the link {a} = {b}")
        ledger.append(
            actor,
            "link.confirmed" if verdict == "confirm" else "link.rejected",
            f"link:{a}={b}",
            {"left": a, "right": b},
            {"left": a, "right": b, "comment": comment},
        )
        state = conn.execute(
            "SELECT state FROM link_decisions WHERE left_id = ? AND right_id = ?", (a, b)
        ).fetchone()[0]
        if state == "confirmed":
            _identify(conn, ledger, actor, a, b)
    return {"left": a, "right": b, "state": state}


def _identify(conn: Db, ledger: Ledger, actor: str, a: str, b: str) -> None:
    """A family report confirmed to be a case: the case is identified."""
    from dalil.cases import model

    ends = {a.split(":", 1)[0]: a.split(":", 1)[1] for a in (a, b)}
    if set(ends) != {"reports", "cases"}:
        return
    row = conn.execute("SELECT status FROM cases WHERE case_id = ?", (ends["cases"],)).fetchone()
    if row is not None and row[0] not in ("identified", "closed", "merged", "rejected"):
        model.set_status(conn, ledger, model.Actor(actor), [ends["cases"]], "identified")


def confirm(
    conn: Db, ledger: Ledger, actor: str, left: str, right: str, comment: str = ""
) -> dict[str, Any]:
    return _review(conn, ledger, actor, left, right, "confirm", comment)


def reject(
    conn: Db, ledger: Ledger, actor: str, left: str, right: str, comment: str = ""
) -> dict[str, Any]:
    return _review(conn, ledger, actor, left, right, "reject", comment)
