"""Projectors of near-duplicate grouping: links with their evidence, people's decisions."""

from __future__ import annotations

import base64
import json

from dalil.catalog.db import Db
from dalil.projection import Fact, clusters_changed, projects


@projects("grouping.linked")
def _linked(conn: Db, fact: Fact) -> None:
    """Links found by matching (each with its evidence) and the items that went through the
    two-stage match."""
    conn.executemany(
        "INSERT INTO pair_checks (a, b, stage, linked, distance, variant, inliers,"
        " matches, signals, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (a, b) DO UPDATE SET stage = excluded.stage, linked = excluded.linked,"
        " distance = excluded.distance, variant = excluded.variant,"
        " inliers = excluded.inliers, matches = excluded.matches, signals = excluded.signals,"
        " checked_at = excluded.checked_at",
        [
            (
                link["a"],
                link["b"],
                link["stage"],
                int(link["linked"]),
                link["distance"],
                link["variant"],
                link["inliers"],
                link["matches"],
                json.dumps(link["signals"], sort_keys=True),
                fact.time,
            )
            for link in fact.payload["links"]
        ],
    )
    conn.executemany(
        "INSERT INTO match_checks (sha256, matched_at) VALUES (?, ?)"
        " ON CONFLICT (sha256) DO UPDATE SET matched_at = excluded.matched_at",
        [(sha, fact.time) for sha in fact.payload.get("matched", [])],
    )
    clusters_changed(conn, fact.time)


@projects("fingerprint.variants")
def _variants(conn: Db, fact: Fact) -> None:
    conn.executemany(
        "UPDATE fingerprints SET variants = ? WHERE sha256 = ? AND algorithm = 'pdq'",
        [(base64.b64decode(v), sha) for sha, v in sorted(fact.payload["variants"].items())],
    )


def _decide(conn: Db, fact: Fact, kind: str, a: str, b: str) -> None:
    a, b = sorted((a, b))
    opposite = "cannot_link" if kind == "must_link" else "must_link"
    conn.execute(
        "UPDATE cluster_decisions SET active = 0 WHERE kind = ? AND a = ? AND b = ?",
        (opposite, a, b),
    )
    conn.execute(
        "INSERT INTO cluster_decisions (kind, a, b, actor, decided_at, ledger_seq)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (kind, a, b, fact.actor, fact.time, fact.seq),
    )


@projects("cluster.merged", "cluster.split")
def _decided(conn: Db, fact: Fact) -> None:
    """People's decisions: must-link and cannot-link pairs; a merge also lifts the
    cannot-links between the groups it joins."""
    for kind, a, b in fact.payload["decisions"]:
        _decide(conn, fact, str(kind), str(a), str(b))
    groups = [[str(x) for x in g] for g in fact.payload.get("joined", [])]
    for i, left in enumerate(groups):  # every item of one side may now be next to the other's
        for right in groups[i + 1 :]:
            conn.executemany(
                "UPDATE cluster_decisions SET active = 0"
                " WHERE kind = 'cannot_link' AND a = ? AND b = ?",
                [tuple(sorted((x, y))) for x in left for y in right],
            )
    clusters_changed(conn, fact.time)
