"""The catalogue on PostgreSQL: one connection type that runs the SQL Dalil writes.

Dalil's queries are hand-written SQL in the dialect SQLite and PostgreSQL share, with a few
SQLite spellings (``?`` parameters, ``INSERT … ON CONFLICT``, ``json_extract``,
``group_concat``, ``BEGIN IMMEDIATE``, SQLite's column types in migrations). This module is the
small dialect layer: :class:`PgConnection` has the methods of ``sqlite3.Connection`` that Dalil
uses, rewrites each statement once (cached) into PostgreSQL's spelling, and hands back rows
that behave like ``sqlite3.Row`` (by position or, case-insensitively, by name). So the same
queries and the same named migrations serve both back-ends; what cannot be rewritten (the
full-text index, the catalogue's own table listing) has one function per back-end in
:mod:`dalil.catalog.db`.

Why not SQLAlchemy Core: every query would be written again in its expression language, the
projection replays the ledger row by row where an ORM layer costs more than the SQL, and the
savepoint/transaction discipline (:func:`dalil.catalog.db.atomic`) is already one function.

The three SQLite files of a folder vault are three schemas of one database here (``main``,
``ledgerdb``, ``statedb``, searched in that order, as SQLite searches attached files), so a
catalogue change and the ledger event that records it commit in one transaction. A write
transaction (``BEGIN IMMEDIATE``) takes one transaction-scoped advisory lock first: that is the
ledger's sequencer. Writers on many machines queue on it, exactly as SQLite's single writer
does, and the Merkle log stays one append-only sequence.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import adapt, errors, postgres
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import Format

from dalil.errors import VaultError

SCHEMAS = ("main", "ledgerdb", "statedb")
# The key of the advisory lock every write transaction takes (ASCII "dalil").
WRITER_LOCK = 0x64616C696C
_HELPERS = "dalil"  # the schema of Dalil's own functions (never renamed by a rebuild)

_NEXT_ID = f"""
CREATE OR REPLACE FUNCTION {_HELPERS}.next_id() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT COALESCE(MAX(%I), 0) + 1 FROM %I.%I',
                   TG_ARGV[0], TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO n;
    NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], n));
    RETURN NEW;
END $$
"""


class Row:
    """A result row as ``sqlite3.Row`` is one: by position, or by column name ignoring case."""

    __slots__ = ("_index", "_names", "_values")

    def __init__(self, names: list[str], index: dict[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._index = index
        self._values = tuple(values)

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key.lower()]]
            except KeyError:
                raise IndexError(f"No item with key {key!r}") from None
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._names == other._names and self._values == other._values
        if isinstance(other, tuple):
            return self._values == other
        return NotImplemented

    def _tuple(self, other: object) -> tuple[Any, ...] | None:
        if isinstance(other, Row):
            return other._values
        return other if isinstance(other, tuple) else None

    def __lt__(self, other: object) -> bool:
        theirs = self._tuple(other)
        if theirs is None:
            return NotImplemented
        return self._values < theirs

    def __gt__(self, other: object) -> bool:
        theirs = self._tuple(other)
        if theirs is None:
            return NotImplemented
        return self._values > theirs

    def __hash__(self) -> int:
        return hash((tuple(self._names), self._values))

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values, strict=True))!r})"


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    names = [d.name for d in description]
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name.lower(), i)

    def make(values: Sequence[Any]) -> Row:
        return Row(names, index, values)

    return make


class _Numeric(adapt.Loader):
    """``numeric`` (what SUM and AVG give) as SQLite gives it: an int when whole, else a float."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode("ascii")
        if "." in text or "e" in text or "N" in text:
            return float(text)
        return int(text)


class _Bool(adapt.Loader):
    """A comparison's result as SQLite gives it: 1 or 0."""

    def load(self, data: Any) -> int:
        return 1 if bytes(data) == b"t" else 0


class _BoolAsInt(adapt.Dumper):
    """Python's True and False stored as SQLite stores them (the columns are integers)."""

    format = Format.TEXT
    oid = postgres.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


# --------------------------------------------------------------------------- translation

_LITERAL = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")
_JSON_EXTRACT = re.compile(r"json_extract\(\s*([\w.]+)\s*,\s*'\$\.([\w.]+)'\s*\)", re.IGNORECASE)
_GROUP_CONCAT = re.compile(r"group_concat\(([^()]*)\)", re.IGNORECASE)
_CODE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\?"), "%s"),
    (re.compile(r"(?<![\w.\"])user\b(?!\s*\()"), '"user"'),
    (re.compile(r"=="), "="),
    (re.compile(r"\bLIMIT\s+%s", re.IGNORECASE), "LIMIT NULLIF(%s, -1)"),  # SQLite: -1 is none
    (re.compile(r"\bIS\s+NOT\s+%s", re.IGNORECASE), "IS DISTINCT FROM %s"),
    (re.compile(r"\bIS\s+%s", re.IGNORECASE), "IS NOT DISTINCT FROM %s"),
    (re.compile(r"\bIFNULL\(", re.IGNORECASE), "COALESCE("),
    # SQLite's LIKE ignores case, and has no escape character unless one is named
    (re.compile(r"\bLIKE\s+%s(?!\s+ESCAPE)", re.IGNORECASE), "ILIKE %s ESCAPE ''"),
    (re.compile(r"\bLIKE\b", re.IGNORECASE), "ILIKE"),  # a pattern of ours, written out
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\)\s*WITHOUT ROWID"), ")"),
)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?([\w.]+)", re.IGNORECASE)
_ROWID_COLUMN = re.compile(r"(\w+)\s+BIGINT\s+PRIMARY\s+KEY")
_SCHEMA_INDEX = re.compile(
    r"^(\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?)(\w+)\.(\w+)(\s+ON\s+)(\w+)",
    re.IGNORECASE,
)
_FTS = re.compile(r"^\s*CREATE\s+VIRTUAL\s+TABLE\s+(\w+)\s+USING\s+fts5\(", re.IGNORECASE)
_PRAGMA = re.compile(r"^\s*PRAGMA\s+(?:\w+\.)?(\w+)\s*(?:=\s*(\w+))?\s*$", re.IGNORECASE)
_LINE_COMMENT = re.compile(r"(?m)^\s*--.*$")
_BEGIN = re.compile(r"^\s*BEGIN(\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?(\s+TRANSACTION)?\s*$", re.I)


def _code(segment: str) -> str:
    for pattern, replacement in _CODE_RULES:
        segment = pattern.sub(replacement, segment)
    return segment


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, ...]:
    """PostgreSQL's statements for one statement in Dalil's SQL (empty: nothing to run)."""
    pragma = _PRAGMA.match(sql)
    if pragma:
        name, value = pragma.group(1).lower(), pragma.group(2)
        if name == "busy_timeout" and value is not None:
            return (f"SET lock_timeout = {int(value)}",)
        return ()
    begin = _BEGIN.match(sql)
    if begin:
        if (begin.group(2) or "").upper() in ("IMMEDIATE", "EXCLUSIVE"):
            # read committed: each statement sees what the writers before this one committed
            return (
                "BEGIN ISOLATION LEVEL READ COMMITTED",
                f"SELECT pg_advisory_xact_lock({WRITER_LOCK})",
            )
        return ("BEGIN ISOLATION LEVEL REPEATABLE READ",)
    fts = _FTS.match(sql)
    if fts:
        table = fts.group(1)
        return (
            f"CREATE TABLE {table} (rowid BIGINT PRIMARY KEY, case_id TEXT NOT NULL,"
            " body TEXT NOT NULL, terms tsvector NOT NULL)",
            f"CREATE INDEX {table}_terms ON {table} USING GIN (terms)",
        )
    sql = _LINE_COMMENT.sub("", sql)  # first: a comment may hold a quote
    sql = _JSON_EXTRACT.sub(
        lambda m: f"(CAST({m.group(1)} AS jsonb) #>> '{{{m.group(2).replace('.', ',')}}}')", sql
    )
    sql = _GROUP_CONCAT.sub(lambda m: f"string_agg(CAST({m.group(1)} AS TEXT), ',')", sql)
    sql = sql.replace("%", "%%")
    parts = _LITERAL.split(sql)
    text = "".join(part if i % 2 else _code(part) for i, part in enumerate(parts))
    index = _SCHEMA_INDEX.match(text)
    if index:  # SQLite names an index's schema; PostgreSQL, its table's
        text = _SCHEMA_INDEX.sub(r"\1\3\4\2.\5", text, count=1)
    create = _CREATE_TABLE.match(text)
    if create is None:
        return (text,)
    table = create.group(2)
    rowid = _ROWID_COLUMN.search(text)
    if rowid is None:
        return (text,)
    column = rowid.group(1)
    name = table.replace(".", "_") + "_rowid"
    return (
        text,
        f"CREATE OR REPLACE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW"
        f" WHEN (NEW.{column} IS NULL) EXECUTE FUNCTION {_HELPERS}.next_id('{column}')",
        # numbers rows in every session, also one that skips the checks of foreign keys
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}",
    )


# --------------------------------------------------------------------------- connections


def _translate_error(exc: psycopg.Error) -> Exception:
    """The error as the ``sqlite3`` exception the callers handle (DB-API classes); a lost
    connection to the server as a vault error that says so (no traceback for the user)."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    state = exc.sqlstate or ""
    if isinstance(exc, errors.OperationalError) and (not state or state.startswith(("08", "57P"))):
        return VaultError(f"the connection to the catalogue's database failed: {message}")
    if isinstance(exc, errors.IntegrityError):
        return sqlite3.IntegrityError(message)
    if isinstance(exc, errors.DiskFull):
        return sqlite3.OperationalError(f"database or disk is full: {message}")
    if isinstance(exc, errors.DataError):
        return sqlite3.DataError(message)
    if isinstance(exc, errors.InterfaceError):
        return sqlite3.InterfaceError(message)
    return sqlite3.OperationalError(message)


class PgCursor:
    """The result of one statement, read as a ``sqlite3.Cursor`` is read."""

    def __init__(self, cursor: Any | None) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return -1 if self._cursor is None else int(self._cursor.rowcount)

    @property
    def lastrowid(self) -> int | None:
        return None  # PostgreSQL has no rowid: Dalil's inserts say RETURNING id

    @property
    def description(self) -> Any:
        return None if self._cursor is None else self._cursor.description

    def _open(self) -> bool:
        return self._cursor is not None and self._cursor.description is not None

    def fetchone(self) -> Any:
        try:
            return self._cursor.fetchone() if self._open() else None  # type: ignore[union-attr]
        except psycopg.Error as exc:
            raise _translate_error(exc) from exc

    def fetchall(self) -> list[Any]:
        try:
            return list(self._cursor.fetchall()) if self._open() else []  # type: ignore[union-attr]
        except psycopg.Error as exc:
            raise _translate_error(exc) from exc

    def fetchmany(self, size: int = 1) -> list[Any]:
        return list(self._cursor.fetchmany(size)) if self._open() else []  # type: ignore[union-attr]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()


_INT64 = (-(2**63), 2**63 - 1)


def _checked(parameters: Sequence[Any]) -> tuple[Any, ...]:
    """The parameters, refused as SQLite refuses them: an integer no 64-bit column holds."""
    values = tuple(parameters)
    for value in values:
        if type(value) is int and not _INT64[0] <= value <= _INT64[1]:
            raise OverflowError("Python int too large to convert to a 64-bit integer")
    return values


class PgConnection:
    """A catalogue on PostgreSQL, used as Dalil uses an ``sqlite3.Connection``."""

    dialect = "postgresql"

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        # as an sqlite3 connection is: one dropped without close() is closed (an open
        # transaction rolled back), quietly; the finalizer holds the connection until then
        weakref.finalize(self, raw.close)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> PgCursor:
        statements = translate(sql)
        if not statements:
            return PgCursor(None)
        values = _checked(parameters)
        if statements[0] == "COMMIT" and self._failed():
            # SQLite would have committed what succeeded; PostgreSQL would silently roll back
            # everything: say so instead
            self.rollback()
            raise sqlite3.OperationalError(
                "a statement of this transaction failed, so none of it was recorded"
            )
        try:
            cursor = self.raw.cursor()
            for statement in statements[:-1]:
                cursor.execute(statement.replace("%%", "%"))
            cursor.execute(statements[-1], values)
        except psycopg.Error as exc:
            if len(statements) > 1 and statements[0].startswith("BEGIN"):
                self.rollback()  # the transaction began, its lock was not had: none
            raise _translate_error(exc) from exc
        return PgCursor(cursor)

    def _failed(self) -> bool:
        return self.raw.info.transaction_status == psycopg.pq.TransactionStatus.INERROR

    @property
    def broken(self) -> bool:
        """Lost (the server went away or ended it): open a new connection."""
        return self.raw.closed or self.raw.broken

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]], /) -> PgCursor:
        statements = translate(sql)
        try:
            cursor = self.raw.cursor()
            cursor.executemany(statements[-1], [_checked(p) for p in seq])
        except psycopg.Error as exc:
            raise _translate_error(exc) from exc
        return PgCursor(cursor)

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        # as ``with sqlite3_connection:``: commit what is open, or roll it back on an error
        if value is None:
            self.commit()
        else:
            self.rollback()

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction and not self.broken:
            try:
                self.raw.execute("ROLLBACK")
            except psycopg.Error as exc:
                raise _translate_error(exc) from exc

    def close(self) -> None:
        self.raw.close()


def _prepare(raw: psycopg.Connection[Any]) -> None:
    adapters = raw.adapters
    adapters.register_loader("numeric", _Numeric)
    adapters.register_loader("bool", _Bool)
    adapters.register_dumper(bool, _BoolAsInt)


def connect(url: str, *, readonly: bool = False, application: str = "dalil") -> PgConnection:
    """Open the catalogue at ``url`` (autocommit; use ``atomic``), its three schemas searched
    in order."""
    params = conninfo_to_dict(url)
    params.setdefault("application_name", application)
    params.setdefault("connect_timeout", "10")
    try:
        raw = psycopg.connect(
            make_conninfo("", **params), autocommit=True, row_factory=_row_factory
        )
    except psycopg.Error as exc:
        raise VaultError(
            f"cannot connect to the catalogue at {redact(url)}: {_first_line(exc)}"
        ) from exc
    _prepare(raw)
    raw.execute(f"SET search_path = {', '.join(SCHEMAS)}, {_HELPERS}")
    raw.execute("SET lock_timeout = 60000")  # as SQLite's busy timeout: wait a minute, then say so
    if readonly:
        raw.execute("SET default_transaction_read_only = on")
    return PgConnection(raw)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def prepare_schemas(conn: PgConnection) -> None:
    """Create the schemas and Dalil's functions (once per database; idempotent)."""
    for schema in (*SCHEMAS, _HELPERS):
        conn.raw.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    conn.raw.execute(_NEXT_ID)


def redact(url: str) -> str:
    """The address without a password, to name in messages."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        return "(an unreadable address)"
    params.pop("password", None)
    user = f"{params['user']}@" if params.get("user") else ""
    host = params.get("host", "localhost")
    port = params.get("port", "5432")
    return f"postgresql://{user}{host}:{port}/{params.get('dbname', '')}"


def has_password(url: str) -> bool:
    """Does the address hold a password (or is it one PostgreSQL cannot read, so that it
    might)?"""
    try:
        return "password" in conninfo_to_dict(url) or bool(urlsplit(url).password)
    except (psycopg.Error, ValueError):
        return True


def readable(url: str) -> bool:
    try:
        conninfo_to_dict(url)
    except (psycopg.Error, ValueError):
        return False
    return True


def connect_port(url: str) -> str:
    return str(conninfo_to_dict(url).get("port", "5432"))


def database_name(url: str) -> str:
    return str(conninfo_to_dict(url).get("dbname", ""))


def with_database(url: str, name: str) -> str:
    """``url`` naming the database ``name`` (its other parts as they were)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(url: str, name: str) -> None:
    """Create the database ``name`` on the server at ``url``, ordered as SQLite orders text
    (byte order, collation "C")."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"unusable database name {name!r}")
    params = conninfo_to_dict(url)
    params["dbname"] = "postgres"
    try:
        with psycopg.connect(make_conninfo("", **params), autocommit=True) as raw:
            if raw.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return  # made by an earlier try that stopped before its vault was recorded
            raw.execute(
                f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"
                " LC_COLLATE 'C' LC_CTYPE 'C'"
            )
    except psycopg.Error as exc:
        raise VaultError(
            f"cannot create the database {name} at {redact(url)}: {_first_line(exc)}"
        ) from exc


def collation(conn: PgConnection) -> str:
    """How the database orders text: its libc collation, or ``icu:LOCALE``."""
    row = conn.raw.execute(
        "SELECT datcollate, datlocprovider, daticulocale FROM pg_database"
        " WHERE datname = current_database()"
    ).fetchone()
    if row is None:
        return ""
    return f"icu:{row[2]}" if row[1] == "i" else str(row[0])


def byte_order(collation: str) -> bool:
    """Does this collation order text as SQLite does (by code point)?"""
    return collation in ("C", "POSIX", "C.UTF-8", "C.utf8")


def holds_vault(conn: PgConnection) -> bool:
    """Does the database hold a vault's ledger (one event at least)?"""
    row = conn.raw.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'ledgerdb'"
        " AND table_name = 'ledger'"
    ).fetchone()
    if row is None:
        return False
    return conn.raw.execute("SELECT 1 FROM ledgerdb.ledger LIMIT 1").fetchone() is not None
