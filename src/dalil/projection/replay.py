"""Replaying the ledger: into an empty catalogue (verify, rebuild) or the missing tail of one."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.catalog.migrations import migrate
from dalil.errors import CatalogueDamaged
from dalil.projection import apply, begin_replay, end_replay, mark

if TYPE_CHECKING:
    from dalil.vault import Vault

Progress = Callable[[int, int], None]

_CHUNK = 2000


def ledger_events(
    conn: Db, start: int = 0, stop: int | None = None
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, str]]:
    """(event, payload, leaf hash hex) from ``start``, in order, read in chunks (so a writer
    may use the same connection meanwhile)."""
    seq = start
    while stop is None or seq < stop:
        rows = conn.execute(
            "SELECT l.seq, l.event, l.leaf_hash, p.data FROM ledger l"
            " LEFT JOIN payloads p ON p.seq = l.seq WHERE l.seq >= ? ORDER BY l.seq LIMIT ?",
            (seq, _CHUNK if stop is None else min(_CHUNK, stop - seq)),
        ).fetchall()
        if not rows:
            return
        for _seq, text, leaf, data in rows:
            yield json.loads(text), None if data is None else json.loads(data), bytes(leaf).hex()
        seq = int(rows[-1][0]) + 1


def replay(
    target: Db,
    source: Db,
    *,
    start: int = 0,
    stop: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Apply the source's ledger events ``start``..``stop`` to the target catalogue, in one
    transaction; returns how many were applied."""
    total = (stop if stop is not None else _size(source)) - start
    done = 0
    with atomic(target):
        begin_replay(target)
        try:
            for event, payload, leaf in ledger_events(source, start, stop):
                apply(target, event, payload, leaf)
                done += 1
                if progress is not None and done % 500 == 0:
                    progress(done, total)
        finally:
            end_replay(target)
    if progress is not None:
        progress(done, total)
    return done


def _size(conn: Db) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger").fetchone()[0])


def empty_catalogue() -> Db:
    """An empty catalogue in memory (every migration applied), to replay the ledger into."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("ATTACH DATABASE ':memory:' AS ledgerdb")
    conn.execute("ATTACH DATABASE ':memory:' AS statedb")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def lag(conn: Db) -> tuple[int | None, int, str]:
    """(events the catalogue reflects or None if unbound, events in the ledger, a problem)."""
    seq, head = mark(conn)
    size = _size(conn)
    if seq is None:
        return None, size, ""
    if seq > size:
        return seq, size, f"the catalogue reflects {seq} ledger events but the ledger holds {size}"
    if seq > 0:
        row = conn.execute("SELECT leaf_hash FROM ledger WHERE seq = ?", (seq - 1,)).fetchone()
        if row is None or bytes(row[0]).hex() != head:
            return seq, size, f"ledger event {seq - 1} is not the one the catalogue last applied"
    return seq, size, ""


def follow(vault: Vault, conn: Db, *, catch_up: bool = True) -> None:
    """Bind an old catalogue to the ledger; with ``catch_up``, bring the catalogue up to the
    ledger, or refuse one that went its own way."""
    from dalil.projection.bound import bind

    # under the write lock: no other writer is half-way through committing catalogue and ledger
    with atomic(conn):
        seq, size, problem = lag(conn)
        if seq is None:
            bind(conn, vault.ledger(conn), vault.vault_id, vault.root)
            return
        if not catch_up:
            return
        if seq < size and not problem:
            replay(conn, conn, start=seq)
            return
    if problem:
        raise CatalogueDamaged(
            f"{problem}: the catalogue holds what the ledger does not record (an interrupted"
            f" write or an edit). Rebuild it from the ledger: dalil catalog rebuild --vault"
            f" {vault.root} --as YOUR-NAME"
        )
