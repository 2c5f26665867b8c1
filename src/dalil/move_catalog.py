"""``dalil catalog move``: a folder vault's catalogue, ledger and settings into PostgreSQL.

What moves is the truth, and the rest is made from it: the ledger (events, payloads, signed
checkpoints, RFC 3161 tokens, the Merkle frontier) and people's display settings are copied row
for row, and the copy is verified there as ``dalil verify`` verifies a ledger (every event,
hash, signature, checkpoint and token); the catalogue is then replayed from that ledger in the
new database (the projection design: it needs nothing else) and compared, table by table and
row by row, with the folder's catalogue. Only when they are equal is the move recorded
(``catalog.moved``, by an administrator, in the moved ledger), signed, and ``dalil.toml``
switched; the SQLite files are then renamed ``*.moved-<time>`` (kept, never read again).
Anything that fails leaves the vault as it was: the copy is one transaction, and the settings
change last. Web sessions are not moved: people log in again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from dalil.catalog import atomic, migrate
from dalil.catalog.db import Db, columns
from dalil.errors import UsageError, VaultError
from dalil.projection.replay import replay
from dalil.settings import check_catalog_url
from dalil.timeutil import utc_now
from dalil.users import check_actor
from dalil.vault import Vault, new_database, update_settings

Progress = Callable[[int, int], None]

# What is copied as it is: (schema, table), in an order foreign keys accept.
COPIED = (
    ("ledgerdb", "ledger"),
    ("ledgerdb", "payloads"),
    ("ledgerdb", "checkpoints"),
    ("ledgerdb", "checkpoint_timestamps"),
    ("ledgerdb", "frontier"),
    ("statedb", "user_settings"),
)
_BATCH = 2000


@dataclass(slots=True)
class MoveReport:
    target: str
    events: int = 0
    items: int = 0
    rows_copied: int = 0
    rows_compared: int = 0
    kept: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def move(vault: Vault, actor: str, url: str, *, progress: Progress | None = None) -> MoveReport:
    """Move the vault's catalogue to the PostgreSQL database at ``url`` (an empty one, or a
    server, where ``dalil_<vault id>`` is created). Administrators only."""
    from dalil.catalog import pg
    from dalil.projection.rebuild import ledger_problems

    if vault.on_postgres:
        raise UsageError(
            f"this vault's catalogue is already on {pg.redact(vault.settings.catalog)}"
        )
    check_catalog_url(url, "the catalogue address")
    with vault.writer_lock():
        source = vault.connect()
        try:
            if check_actor(source, actor) != "admin":
                raise UsageError(f"only an administrator can move the catalogue ({actor} is not)")
            vault.ledger(source).prove(actor)  # before anything is written anywhere
            problems = ledger_problems(vault)
            if problems:
                raise UsageError(
                    f"the ledger fails verification ({problems[0]}); a moved catalogue would"
                    " carry that on. Run 'dalil verify' and repair the vault first"
                )
            # from here the folder's catalogue is held still: a writer left running (a web
            # server: stop it first) waits, and records nothing the move would leave behind
            source.execute("BEGIN IMMEDIATE")
            finished = _moved_before(vault, source, url)
            if finished is not None:  # an earlier move stopped after its database was done
                url, report = finished, MoveReport(pg.redact(finished))
                target = pg.connect(url)
                try:
                    vault.ledger(target).sign_tail()
                finally:
                    target.close()
            else:
                url = new_database(url, vault.vault_id)
                report = _fill(vault, source, url, actor, progress)
            update_settings(vault.root, catalog=url)
        finally:
            if source.in_transaction:
                source.rollback()  # nothing was written to the folder's files
            source.close()
        _keep_files(vault, report)
    return report


def _fill(vault: Vault, source: Db, url: str, actor: str, progress: Progress | None) -> MoveReport:
    """Copy the ledger into the empty database at ``url``, replay the catalogue there and
    compare it with the folder's, then record and sign the move (one transaction)."""
    from dalil.catalog import pg
    from dalil.projection.rebuild import ledger_problems
    from dalil.verify.catalogue import compare
    from dalil.verify.report import VerifyReport

    report = MoveReport(pg.redact(url))
    target = pg.connect(url)
    try:
        migrate(target)
        with atomic(target):
            for schema, table in COPIED:
                report.rows_copied += _copy(source, target, schema, table)
            copied = ledger_problems(vault, target)  # every event, signature, checkpoint, token
            if copied:
                raise UsageError(
                    f"the ledger copied into PostgreSQL fails verification ({copied[0]});"
                    " nothing was moved"
                )
            report.events = replay(target, target, progress=progress)
            compared = VerifyReport()
            compare(target, source, compared)
            if not compared.ok:
                first = compared.problems[0]
                raise UsageError(
                    f"the catalogue replayed in PostgreSQL differs from the folder's"
                    f" ({first.kind}: {first.detail}); nothing was moved. Run"
                    " 'dalil verify' on the vault"
                )
            report.rows_compared = compared.rows_checked
            vault.ledger(target).append(
                actor,
                "catalog.moved",
                f"vault:{vault.vault_id}",
                {
                    "to": "postgresql",
                    "database": pg.database_name(url),
                    "events": report.events,
                    "rows_compared": report.rows_compared,
                },
            )
        vault.ledger(target).sign_tail()
        report.items = int(target.execute("SELECT COUNT(*) FROM items").fetchone()[0])
    finally:
        target.close()
    return report


def _keep_files(vault: Vault, report: MoveReport) -> None:
    """The SQLite files, renamed: kept, never read again."""
    stamp = "".join(c for c in utc_now() if c.isdigit())[:14]
    for path in (vault.catalog_path, vault.ledger_path, vault.state_path):
        for suffix in ("", "-wal", "-shm"):
            old = path.with_name(path.name + suffix)
            if old.exists():
                kept = old.with_name(f"{path.name}.moved-{stamp}{suffix}")
                os.replace(old, kept)
                if not suffix:
                    report.kept.append(kept.name)


def _moved_before(vault: Vault, source: Db, url: str) -> str | None:
    """The address of a database that already holds this vault's moved ledger — every event of
    the folder's, in the same order with the same leaf hashes, then ``catalog.moved`` — or
    None (a kill between the move's commit and the switch of dalil.toml)."""
    from dalil.catalog import pg

    if not pg.database_name(url):
        url = pg.with_database(url, "dalil_" + vault.vault_id.replace("-", ""))
    try:
        target = pg.connect(url, readonly=True)
    except VaultError:
        return None
    try:
        if not pg.holds_vault(target):
            return None
        ours = [bytes(r[0]) for r in source.execute("SELECT leaf_hash FROM ledger ORDER BY seq")]
        theirs = target.execute(
            "SELECT leaf_hash, event FROM ledger ORDER BY seq LIMIT ?", (len(ours) + 1,)
        ).fetchall()
        if [bytes(r[0]) for r in theirs[: len(ours)]] != ours or len(theirs) != len(ours) + 1:
            return None
        last = json.loads(theirs[-1][1])
        if (
            last.get("action") != "catalog.moved"
            or last.get("subject") != f"vault:{vault.vault_id}"
        ):
            return None
        return url
    finally:
        target.close()


def _copy(source: Db, target: Db, schema: str, table: str) -> int:
    names = [name for name, _ in columns(source, table, schema)]
    listed = ", ".join(names)
    rows = source.execute(f"SELECT {listed} FROM {schema}.{table} ORDER BY 1")
    insert = f"INSERT INTO {schema}.{table} ({listed}) VALUES ({', '.join('?' * len(names))})"
    copied = 0
    while batch := rows.fetchmany(_BATCH):
        target.executemany(insert, [tuple(r) for r in batch])
        copied += len(batch)
    return copied
