"""Clusters: assembled from links and from people's decisions, which always win.

A merge records *must-link* decisions, a split *cannot-link* decisions; both are ledger events
(``cluster.merged``, ``cluster.split``). Assembly is a union-find over must-links first, then
automatic links from strongest to weakest, refusing any union that would join two items a
person kept apart. Recomputing therefore never undoes a decision.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.catalog.queries import resolve_item
from dalil.errors import UsageError
from dalil.ledger.log import Ledger
from dalil.similar.words import describe


@dataclass(slots=True)
class _Groups:
    parent: dict[str, str] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    cannot: dict[str, set[str]] = field(default_factory=dict)

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        self.members.setdefault(x, {x})
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def allowed(self, ra: str, rb: str) -> bool:
        small, big = sorted((self.members[ra], self.members[rb]), key=len)
        return not any(self.cannot.get(x, set()) & big for x in small)

    def union(self, a: str, b: str, *, force: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb or not (force or self.allowed(ra, rb)):
            return False
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra] |= self.members.pop(rb)
        return True


def assemble(conn: Db, now: str) -> int:
    """Rebuild the cluster tables from links and active decisions; returns the cluster count.

    Only projectors call this (:func:`dalil.projection.clusters_changed`), with the time of the
    event that changed links or decisions, so that a replay of the ledger gives the same rows.
    """
    groups = _Groups()
    decisions = conn.execute(
        "SELECT kind, a, b FROM cluster_decisions WHERE active = 1 ORDER BY id"
    ).fetchall()
    for kind, a, b in decisions:
        if kind == "cannot_link":
            groups.cannot.setdefault(a, set()).add(b)
            groups.cannot.setdefault(b, set()).add(a)
    for kind, a, b in decisions:
        if kind == "must_link":
            groups.union(a, b, force=True)
    links = conn.execute(
        "SELECT a, b FROM pair_checks WHERE linked = 1"
        " ORDER BY stage != 'pdq', distance, -COALESCE(inliers, 0), a, b"
    ).fetchall()
    for a, b in links:
        groups.union(a, b)
    order = {
        sha: (when, sha) for sha, when in conn.execute("SELECT sha256, ingested_at FROM items")
    }
    conn.execute("DELETE FROM cluster_members")
    conn.execute("DELETE FROM clusters")
    count = 0
    for root, members in groups.members.items():
        if groups.parent.get(root, root) != root or len(members) < 2:
            continue
        first = min(members, key=lambda s: order.get(s, ("", s)))
        cur = conn.execute(
            "INSERT INTO clusters (label, size, updated_at) VALUES (?, ?, ?) RETURNING id",
            (f"C-{first[:10]}", len(members), now),
        )
        cluster_id = int(cur.fetchone()[0])
        conn.executemany(
            "INSERT INTO cluster_members (sha256, cluster_id) VALUES (?, ?)",
            [(m, cluster_id) for m in sorted(members)],
        )
        count += 1
    return count


def _members(conn: Db, label: str) -> list[str]:
    rows = conn.execute(
        "SELECT m.sha256 FROM cluster_members m JOIN clusters c ON c.id = m.cluster_id"
        " WHERE c.label = ? ORDER BY m.sha256",
        (label,),
    ).fetchall()
    if not rows:
        raise UsageError(f"no cluster {label!r} (see 'dalil clusters list')")
    return [r[0] for r in rows]


def merge(conn: Db, ledger: Ledger, actor: str, refs: list[str]) -> str | None:
    """Merge clusters (labels) and/or single items (hashes) into one; returns its label."""
    if len(refs) < 2:
        raise UsageError("merge needs at least two clusters or items")
    with atomic(conn):
        groups = [_resolve_group(conn, ref) for ref in refs]
        anchors = [g[0] for g in groups]
        ledger.append(
            actor,
            "cluster.merged",
            "clusters",
            {"merged": refs, "items": sorted({s for g in groups for s in g})},
            {
                "decisions": [["must_link", anchors[0], other] for other in anchors[1:]],
                "joined": groups,
            },
        )
        return _label_of(conn, anchors[0])


def split(
    conn: Db, ledger: Ledger, actor: str, label: str, move: list[str]
) -> tuple[str | None, str | None]:
    """Move items out of a cluster into a group of their own; returns both new labels."""
    members = _members(conn, label)
    moved = sorted({resolve_item(conn, ref) for ref in move})
    strangers = [m for m in moved if m not in members]
    if strangers:
        raise UsageError(f"not in {label}: {', '.join(s[:12] for s in strangers)}")
    remaining = [m for m in members if m not in moved]
    if not remaining:
        raise UsageError("a split must leave at least one item in the cluster")
    with atomic(conn):
        decisions = [["cannot_link", x, y] for x in moved for y in remaining]
        decisions += [["must_link", x, y] for x, y in itertools.pairwise(moved)]
        decisions += [["must_link", x, y] for x, y in itertools.pairwise(remaining)]
        ledger.append(
            actor,
            "cluster.split",
            f"cluster:{label}",
            {"cluster": label, "moved": moved, "remaining": remaining},
            {"decisions": decisions},
        )
    return _label_of(conn, remaining[0]), _label_of(conn, moved[0])


def _resolve_group(conn: Db, ref: str) -> list[str]:
    if ref.upper().startswith("C-"):
        return _members(conn, ref)
    return [resolve_item(conn, ref)]


def _label_of(conn: Db, sha256: str) -> str | None:
    row = conn.execute(
        "SELECT c.label FROM clusters c JOIN cluster_members m ON m.cluster_id = c.id"
        " WHERE m.sha256 = ?",
        (sha256,),
    ).fetchone()
    return None if row is None else str(row[0])


def list_clusters(conn: Db, limit: int | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT label, size, updated_at FROM clusters ORDER BY size DESC, label LIMIT ?",
        (-1 if limit is None else limit,),
    )
    return [{"cluster": r[0], "size": r[1], "updated_at": r[2]} for r in rows]


def cluster_detail(conn: Db, label: str) -> dict[str, Any]:
    members = _members(conn, label)
    marks = ",".join("?" * len(members))
    links = [
        {
            "a": r[0],
            "b": r[1],
            "stage": r[2],
            "distance": r[3],
            "variant": r[4],
            "inliers": r[5],
            "matches": r[6],
            "signals": json.loads(r[7]),
            "evidence": describe(r[2], r[4], r[3], r[5], json.loads(r[7])),
        }
        for r in conn.execute(
            f"SELECT a, b, stage, distance, variant, inliers, matches, signals FROM pair_checks"
            f" WHERE linked = 1 AND a IN ({marks}) AND b IN ({marks}) ORDER BY a, b",
            members + members,
        )
    ]
    decisions = [
        {"kind": r[0], "a": r[1], "b": r[2], "actor": r[3], "decided_at": r[4], "ledger_seq": r[5]}
        for r in conn.execute(
            f"SELECT kind, a, b, actor, decided_at, ledger_seq FROM cluster_decisions"
            f" WHERE active = 1 AND (a IN ({marks}) OR b IN ({marks})) ORDER BY id",
            members + members,
        )
    ]
    items = []
    for sha in members:
        occ = conn.execute(
            "SELECT o.path_text, a.label FROM occurrences o"
            " JOIN acquisitions a ON a.id = o.acquisition_id WHERE o.sha256 = ? ORDER BY o.id",
            (sha,),
        ).fetchall()
        meta = conn.execute(
            "SELECT camera_serial, captured_at FROM metadata WHERE sha256 = ?", (sha,)
        ).fetchone()
        items.append(
            {
                "sha256": sha,
                "camera_serial": meta[0] if meta else None,
                "captured_at": meta[1] if meta else None,
                "occurrences": [{"path": p, "acquisition": a} for p, a in occ],
            }
        )
    return {
        "cluster": label,
        "size": len(members),
        "items": items,
        "links": links,
        "decisions": decisions,
    }
