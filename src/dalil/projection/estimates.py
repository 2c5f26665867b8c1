"""Projector of saved multiple systems estimates (:mod:`dalil.estimate.saved`)."""

from __future__ import annotations

import json

from dalil.catalog.db import Db
from dalil.projection import Fact, projects


@projects("estimate.saved")
def _saved(conn: Db, fact: Fact) -> None:
    """One estimate: the number and how it was made; the rest stays in the payload."""
    p = fact.payload
    result = p["result"]
    conn.execute(
        "INSERT INTO estimates (id, method, source, lists, strata, observed, estimate, lower,"
        " upper, level, seed, draws, warnings, code, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            fact.seq,
            p["method"],
            p["source"],
            json.dumps(p["lists"], ensure_ascii=False),
            p["strata"],
            result["observed"],
            result["estimate"],
            result["interval"][0],
            result["interval"][1],
            p["level"],
            p["seed"],
            p["draws"],
            json.dumps([w["code"] for w in result["warnings"]]),
            p["code"],
            fact.actor,
            fact.time,
        ),
    )
