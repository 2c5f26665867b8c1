"""The catalogue against the ledger: replay every event into an empty catalogue and compare
every row of every table with the real one.

Each difference is named by table and key: a row that differs (and in which columns), a row the
ledger records that the catalogue lost, a row no event records. While replaying, every event's
actor must be a user who could act at that moment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dalil.catalog import atomic
from dalil.catalog.db import Db, is_postgres
from dalil.catalog.db import columns as db_columns
from dalil.catalog.db import tables as db_tables
from dalil.projection import apply, begin_replay, end_replay
from dalil.projection.replay import empty_catalogue, ledger_events
from dalil.verify import report as r

MAX_PER_TABLE = 200
"""Differences named per table; beyond that a count (a wholesale change is one problem)."""

_NOT_COMPARED = {"schema_migrations"}


def replayed(conn: Db, report: r.VerifyReport, bound_seq: int | None) -> Db:
    """The catalogue the ledger describes, built in memory from ``conn``'s ledger."""
    from dalil.users import may_record

    truth = empty_catalogue()
    with atomic(truth):
        begin_replay(truth)
        try:
            for event, payload, leaf in ledger_events(conn):
                seq = int(event.get("seq", -1))
                checked = bound_seq is None or seq > bound_seq
                if checked:
                    try:
                        may_record(truth, str(event.get("actor")), str(event.get("action")))
                    except Exception as exc:
                        report.add(
                            r.LEDGER_RULE_BROKEN,
                            None,
                            f"event {seq} ({event.get('action')}) is by {event.get('actor')!r},"
                            f" who could not act then: {exc}",
                        )
                    if event.get("action") != "vault.created":
                        _check_signature(truth, event, report)
                try:
                    with atomic(truth):
                        apply(truth, event, payload, leaf)
                except Exception as exc:  # a forged or damaged event: report, go on
                    report.add(
                        r.LEDGER_RULE_BROKEN,
                        None,
                        f"event {seq} ({event.get('action')}) cannot be applied: {exc}",
                    )
                if checked and event.get("action") == "vault.created":
                    _check_signature(truth, event, report)  # signed by the key it brings
        finally:
            end_replay(truth)
    return truth


def _check_signature(truth: Db, event: dict[str, Any], report: r.VerifyReport) -> None:
    """An event by a person with a registered key must carry that person's signature."""
    from dalil import signing

    row = truth.execute(
        "SELECT public_key FROM users WHERE name = ?", (str(event.get("actor")),)
    ).fetchone()
    if row is None or row[0] is None:
        return  # Dalil itself, or an account from before people had keys
    problem = signing.check_event(event, str(row[0]))
    if problem is not None:
        details = event.get("details")
        item = details.get("sha256") if isinstance(details, dict) else None
        report.add(
            r.SIGNATURE_INVALID,
            item if isinstance(item, str) else None,
            f"event {event.get('seq')} ({event.get('action')}) by {event.get('actor')!r}:"
            f" {problem}",
        )


def tables(conn: Db) -> list[str]:
    """Every table of the catalogue, the shadow tables of full-text indexes excepted."""
    if is_postgres(conn):
        return [t for t in db_tables(conn, "main") if t not in _NOT_COMPARED]
    rows = conn.execute(
        "SELECT name, sql FROM main.sqlite_master WHERE type = 'table' ORDER BY name"
    ).fetchall()
    virtual = [str(n) for n, sql in rows if str(sql or "").upper().startswith("CREATE VIRTUAL")]
    return [
        str(n)
        for n, _ in rows
        if not str(n).startswith("sqlite_")
        and str(n) not in _NOT_COMPARED
        and not any(str(n).startswith(f"{v}_") for v in virtual)
    ]


def _key_columns(conn: Db, table: str) -> list[str]:
    keyed = sorted((at, name) for name, at in db_columns(conn, table) if at)
    return [name for _, name in keyed] or ["rowid"]


def _columns(conn: Db, table: str) -> list[str]:
    return [name for name, _ in db_columns(conn, table)]


def _ordered(
    conn: Db, table: str, key: list[str], columns: list[str]
) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    select = ", ".join(dict.fromkeys([*key, *columns]))
    cursor = conn.execute(f"SELECT {select} FROM main.{table} ORDER BY {', '.join(key)}")
    names = list(dict.fromkeys([*key, *columns]))
    at_key = [names.index(k) for k in key]
    at_col = [names.index(c) for c in columns]
    for row in cursor:
        yield tuple(row[i] for i in at_key), tuple(row[i] for i in at_col)


def _sortable(key: tuple[Any, ...]) -> tuple[Any, ...]:
    # SQLite orders NULL < numbers < text < blobs; mirror that for the merge
    rank = {type(None): 0, int: 1, float: 1, str: 2, bytes: 3}
    return tuple((rank.get(type(v), 4), v if v is not None else 0) for v in key)


def _name(
    table: str, key_cols: list[str], key: tuple[Any, ...], columns: list[str], row: Any
) -> str:
    shown = ", ".join(f"{c}={_short(v)}" for c, v in zip(key_cols, key, strict=True))
    return f"{table} ({shown})"


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.decode("utf-8", "backslashreplace")
        return repr(text if len(text) <= 80 else text[:77] + "...")
    text = repr(value)
    return text if len(text) <= 90 else text[:87] + "..."


def _sha_of(
    columns: list[str], row: tuple[Any, ...] | None, key_cols: list[str], key: Any
) -> str | None:
    for name in ("sha256", "a", "item"):
        if name in key_cols:
            value = key[key_cols.index(name)]
            return value if isinstance(value, str) else None
        if row is not None and name in columns:
            value = row[columns.index(name)]
            return value if isinstance(value, str) else None
    return None


def compare(conn: Db, truth: Db, report: r.VerifyReport) -> None:
    """Every table and row of ``conn``'s catalogue against the ``truth`` the ledger gives."""
    real, wanted = set(tables(conn)), set(tables(truth))
    for table in sorted(real - wanted):
        report.add(r.CATALOGUE_ROW_UNRECORDED, None, f"table {table} is not part of a catalogue")
    for table in sorted(wanted - real):
        report.add(r.CATALOGUE_ROW_MISSING, None, f"table {table} is missing from the catalogue")
    for table in sorted(real & wanted):
        columns = _columns(truth, table)
        if _columns(conn, table) != columns:
            report.add(r.CATALOGUE_ROW_ALTERED, None, f"table {table} has other columns")
            continue
        _compare_table(conn, truth, table, columns, report)


def _compare_table(
    conn: Db,
    truth: Db,
    table: str,
    columns: list[str],
    report: r.VerifyReport,
) -> None:
    key_cols = _key_columns(truth, table)
    ours = _ordered(conn, table, key_cols, columns)
    theirs = _ordered(truth, table, key_cols, columns)
    a, b = next(ours, None), next(theirs, None)
    found = 0

    def add(kind: str, key: tuple[Any, ...], row: tuple[Any, ...] | None, detail: str) -> None:
        nonlocal found
        found += 1
        if found <= MAX_PER_TABLE:
            sha = _sha_of(columns, row, key_cols, key)
            report.add(kind, sha, f"{_name(table, key_cols, key, columns, row)} {detail}")

    while a is not None or b is not None:
        report.rows_checked += 1
        if b is None or (a is not None and _sortable(a[0]) < _sortable(b[0])):
            assert a is not None
            if table == "projection":
                add(r.CATALOGUE_BEHIND, a[0], a[1], "is not what the ledger gives")
            else:
                add(r.CATALOGUE_ROW_UNRECORDED, a[0], a[1], "is recorded by no ledger event")
            a = next(ours, None)
        elif a is None or _sortable(b[0]) < _sortable(a[0]):
            add(r.CATALOGUE_ROW_MISSING, b[0], b[1], "is recorded in the ledger but missing")
            b = next(theirs, None)
        else:
            if a[1] != b[1]:
                diffs = [
                    f"{col} is {_short(x)}, the ledger says {_short(y)}"
                    for col, x, y in zip(columns, a[1], b[1], strict=True)
                    if x != y
                ]
                kind = r.CATALOGUE_BEHIND if table == "projection" else r.CATALOGUE_ROW_ALTERED
                add(kind, a[0], a[1], "differs: " + "; ".join(diffs))
            a, b = next(ours, None), next(theirs, None)
    if found > MAX_PER_TABLE:
        report.add(
            r.CATALOGUE_ROW_ALTERED,
            None,
            f"{table}: {found - MAX_PER_TABLE} more differences not listed",
        )
