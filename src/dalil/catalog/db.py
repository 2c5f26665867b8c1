"""Connections and transactions: the catalogue's one access layer.

A vault keeps its catalogue in SQLite files (the default) or in a PostgreSQL database
(``catalog = "postgresql://…"``, :mod:`dalil.catalog.pg`). Code takes a :class:`Db`, whichever
it is, and writes one SQL for both; the few things SQLite and PostgreSQL do differently (listing
tables and columns, the full-text index) are the functions at the end of this module.

A folder vault keeps three SQLite files, opened as one connection:

- ``catalog.sqlite`` (``main``): the catalogue, a projection of the ledger that can be rebuilt;
- ``ledger.sqlite`` (``ledgerdb``): the ledger's events, their payloads and signed checkpoints
  — the source of truth;
- ``state.sqlite`` (``statedb``): web sessions, login throttling, reveal grants and display
  settings — working state that is neither evidence nor derived from it.

Queries name tables without a schema (SQLite looks in ``main`` first, then in the attached
files). Every write goes through :func:`atomic`: ``BEGIN IMMEDIATE`` (one writer at a time,
over all three files), commit on success, roll back on any exception. Ledger events are written
in the same transaction as the change they record. On PostgreSQL the three are schemas of one
database, and ``BEGIN IMMEDIATE`` takes the database's writer lock (the ledger's sequencer).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    @property
    def lastrowid(self) -> int | None: ...
    @property
    def description(self) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchmany(self, size: int = ..., /) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """A catalogue connection: ``sqlite3.Connection`` or :class:`dalil.catalog.pg.PgConnection`."""

    @property
    def in_transaction(self) -> bool: ...
    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...
    def executemany(self, sql: str, seq: Iterable[Sequence[Any]], /) -> Cursor: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


# An attached file's durability: the ledger is flushed at every commit (it is the truth; the
# catalogue can be rebuilt from it), the others at checkpoints.
_SYNCHRONOUS = {"ledgerdb": "FULL"}


def _uri(path: Path, readonly: bool, create: bool = True) -> str:
    mode = "ro" if readonly else "rwc" if create else "rw"
    return f"file:{quote(str(path))}?mode={mode}"


def connect(
    path: Path,
    *,
    readonly: bool = False,
    attach: Mapping[str, Path] | None = None,
    create: bool = True,
) -> sqlite3.Connection:
    """Open ``path`` in WAL mode with foreign keys on (autocommit; use ``atomic``), with the
    files in ``attach`` attached under their schema names. Without ``create``, a missing
    ``path`` is an error, not a new empty catalogue (one moved or deleted under a running
    server stays gone)."""
    if sqlite3.sqlite_version_info < (3, 35, 0):
        from dalil.errors import VaultError

        raise VaultError(
            f"this Python's SQLite is {sqlite3.sqlite_version}; Dalil needs 3.35 or newer"
            " (Debian 12, Ubuntu 22.04 and Python's own builds have it)"
        )
    if readonly:
        conn = sqlite3.connect(
            _uri(path, True), uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        conn = sqlite3.connect(
            _uri(path, False, create), uri=True, isolation_level=None, timeout=60
        )
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


def open_catalogue(
    root: Path, url: str = "", *, readonly: bool = False, create: bool = False
) -> Db:
    """A vault's catalogue: the database at ``url`` (PostgreSQL), or the SQLite files in the
    vault folder ``root`` (the ledger and the working state attached; ``create``: a new
    vault's)."""
    if url:
        from dalil.catalog import pg

        return pg.connect(url, readonly=readonly)
    return connect(
        root / "catalog.sqlite",
        readonly=readonly,
        attach={"ledgerdb": root / "ledger.sqlite", "statedb": root / "state.sqlite"},
        create=create,
    )


def is_postgres(conn: Db) -> bool:
    return getattr(conn, "dialect", "sqlite") == "postgresql"


@contextmanager
def atomic(conn: Db) -> Iterator[Db]:
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


# --------------------------------------------------------------------------- per back-end


# Full-text indexes: FTS5 virtual tables on SQLite; on PostgreSQL tables whose rowid and terms
# are the index's own (SQLite's table_info does not show them either).
FULL_TEXT_TABLES = {"case_text"}
_FULL_TEXT_COLUMNS = {"rowid", "terms"}


def tables(conn: Db, schema: str = "main") -> list[str]:
    """The tables of one schema (``main``, ``ledgerdb``, ``statedb``), by name."""
    if is_postgres(conn):
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
            " AND table_type = 'BASE TABLE' ORDER BY table_name",
            (schema,),
        )
    else:
        rows = conn.execute(
            f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    return [str(r[0]) for r in rows]


def columns(conn: Db, table: str, schema: str = "main") -> list[tuple[str, int]]:
    """A table's columns in order: (name, position in the primary key from 1, or 0)."""
    if is_postgres(conn):
        keyed = {
            str(r[0]): int(r[1])
            for r in conn.execute(
                "SELECT k.column_name, k.ordinal_position"
                " FROM information_schema.table_constraints t"
                " JOIN information_schema.key_column_usage k"
                " ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema"
                " WHERE t.table_schema = ? AND t.table_name = ?"
                " AND t.constraint_type = 'PRIMARY KEY'",
                (schema, table),
            )
        }
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ?"
            " AND table_name = ? ORDER BY ordinal_position",
            (schema, table),
        )
        hidden = _FULL_TEXT_COLUMNS if table in FULL_TEXT_TABLES else set()
        return [(str(r[0]), keyed.get(str(r[0]), 0)) for r in rows if str(r[0]) not in hidden]
    return [(str(r[1]), int(r[5])) for r in conn.execute(f"PRAGMA {schema}.table_info({table})")]


_TOKEN = re.compile(r"[^\W_]+")


def _tokens(text: str) -> list[str]:
    """Words as FTS5's ``unicode61 remove_diacritics 2`` tokenizer makes them: letters and
    digits, case folded, accents removed."""
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )
    return _TOKEN.findall(folded)


def write_text(conn: Db, table: str, rowid: int, key: str, body: str) -> None:
    """Put one row of a full-text index (``case_text``): its words under ``rowid``."""
    conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
    if is_postgres(conn):
        conn.execute(
            f"INSERT INTO {table} (rowid, case_id, body, terms)"
            " VALUES (?, ?, ?, array_to_tsvector(CAST(? AS text[])))",
            (rowid, key, body, sorted(set(_tokens(body)))),
        )
        return
    conn.execute(f"INSERT INTO {table} (rowid, case_id, body) VALUES (?, ?, ?)", (rowid, key, body))


def match_text(conn: Db, table: str, words: list[str], *, scored: bool) -> tuple[str, list[Any]]:
    """A subquery (``id``, and ``score`` when ``scored``: lower is better) of the rows holding
    every word, the last one as a prefix (people type as they search)."""
    if is_postgres(conn):
        terms = [t for w in words for t in _tokens(w)]
        lexemes = ["'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms]
        if lexemes:
            lexemes[-1] += ":*"
        query = " & ".join(lexemes) or "''"
        score = ", -ts_rank(terms, CAST(? AS tsquery)) AS score" if scored else ""
        return (
            f"SELECT rowid AS id{score} FROM {table} WHERE terms @@ CAST(? AS tsquery)",
            [query, query] if scored else [query],
        )
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    score = f", bm25({table}) AS score" if scored else ""
    return f"SELECT rowid AS id{score} FROM {table} WHERE {table} MATCH ?", [" ".join(quoted)]
