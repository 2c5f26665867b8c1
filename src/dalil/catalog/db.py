"""Connections and transactions.

A vault keeps three SQLite files, opened as one connection:

- ``catalog.sqlite`` (``main``): the catalogue, a projection of the ledger that can be rebuilt;
- ``ledger.sqlite`` (``ledgerdb``): the ledger's events, their payloads and signed checkpoints
  — the source of truth;
- ``state.sqlite`` (``statedb``): web sessions, login throttling, reveal grants and display
  settings — working state that is neither evidence nor derived from it.

Queries name tables without a schema (SQLite looks in ``main`` first, then in the attached
files). Every write goes through :func:`atomic`: ``BEGIN IMMEDIATE`` (one writer at a time,
over all three files), commit on success, roll back on any exception. Ledger events are written
in the same transaction as the change they record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

# An attached file's durability: the ledger is flushed at every commit (it is the truth; the
# catalogue can be rebuilt from it), the others at checkpoints.
_SYNCHRONOUS = {"ledgerdb": "FULL"}


def _uri(path: Path, readonly: bool) -> str:
    return f"file:{quote(str(path))}?mode={'ro' if readonly else 'rwc'}"


def connect(
    path: Path, *, readonly: bool = False, attach: Mapping[str, Path] | None = None
) -> sqlite3.Connection:
    """Open ``path`` in WAL mode with foreign keys on (autocommit; use ``atomic``), with the
    files in ``attach`` attached under their schema names."""
    if readonly:
        conn = sqlite3.connect(
            _uri(path, True), uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        conn = sqlite3.connect(_uri(path, False), uri=True, isolation_level=None, timeout=60)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    for schema, file in (attach or {}).items():
        conn.execute("ATTACH DATABASE ? AS " + schema, (_uri(file, readonly),))
        if not readonly:
            conn.execute(f"PRAGMA {schema}.journal_mode=WAL")
            conn.execute(f"PRAGMA {schema}.synchronous={_SYNCHRONOUS.get(schema, 'NORMAL')}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=60000")
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run a block in one write transaction; nested calls become savepoints."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT nested")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK TO nested")
            conn.execute("RELEASE nested")
            raise
        conn.execute("RELEASE nested")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
