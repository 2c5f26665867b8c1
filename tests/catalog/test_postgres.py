"""The catalogue on PostgreSQL: what only that back-end has to prove (the whole suite also runs
on it: DALIL_TEST_CATALOG=postgresql, scripts/test.sh). These tests run in both passes, on the
pass's own server or on one they start."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dalil.cases import model
from dalil.cases.search import SearchQuery, search
from dalil.catalog import pg
from dalil.errors import UsageError, VaultError
from dalil.vault import Vault, update_settings
from tests.conftest import (
    ON_POSTGRES,
    PASSWORD,
    add_users,
    catalogue,
    dalil_command,
    run_dalil,
    write_photos,
)
from tests.pgcluster import Cluster, binaries

pytestmark = pytest.mark.skipif(
    binaries() is None, reason="PostgreSQL is not installed (scripts/setup.sh installs it)"
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A server's address, without a database: the run's own, or one started here."""
    if ON_POSTGRES:
        yield os.environ["DALIL_CATALOG"]
        return
    cluster = Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def _pg_vault(root: Path, server: str) -> Vault:
    return Vault.init(root, "tester", PASSWORD, catalog=server)


def test_a_vault_on_postgres_keeps_nothing_of_its_catalogue_in_the_folder(
    tmp_path: Path, server: str
) -> None:
    vault = _pg_vault(tmp_path / "vault", server)
    assert vault.on_postgres
    assert pg.database_name(vault.settings.catalog) == "dalil_" + vault.vault_id.replace("-", "")
    assert not list(vault.root.glob("*.sqlite"))
    conn = vault.connect()
    try:
        assert isinstance(conn, pg.PgConnection)
        schemas = {
            r[0]
            for r in conn.execute(
                "SELECT schema_name FROM information_schema.schemata"
                " WHERE schema_name IN ('main', 'ledgerdb', 'statedb')"
            )
        }
        assert schemas == {"main", "ledgerdb", "statedb"}
        assert conn.execute("SELECT COUNT(*) FROM ledgerdb.ledger").fetchone()[0] == 1
    finally:
        conn.close()
    assert run_dalil("verify", "--vault", str(vault.root)).returncode == 0


def test_a_database_holding_a_vault_or_sorting_otherwise_is_refused(
    tmp_path: Path, server: str
) -> None:
    first = _pg_vault(tmp_path / "one", server)
    with pytest.raises(UsageError, match="already holds a vault"):
        Vault.init(tmp_path / "two", "tester", PASSWORD, catalog=first.settings.catalog)
    assert not (tmp_path / "two" / "dalil.toml").exists()
    admin = pg.connect(pg.with_database(server, "postgres"))
    try:
        admin.raw.execute(
            "CREATE DATABASE sorted_by_language TEMPLATE template0 LOCALE_PROVIDER icu"
            " ICU_LOCALE 'ar-SY'"
        )
    finally:
        admin.close()
    with pytest.raises(UsageError, match="byte order"):
        Vault.init(
            tmp_path / "three",
            "tester",
            PASSWORD,
            catalog=pg.with_database(server, "sorted_by_language"),
        )


def test_a_password_in_the_address_is_refused_and_never_repeated(tmp_path: Path) -> None:
    address = "postgresql://dalil:hunter2-secret@127.0.0.1:1/x"
    with pytest.raises(VaultError) as caught:
        Vault.init(tmp_path / "vault", "tester", PASSWORD, catalog=address)
    assert "hunter2" not in str(caught.value)
    done = run_dalil("init", "--vault", str(tmp_path / "v2"), "--as", "tester",
                     "--catalog", address)  # fmt: skip
    assert done.returncode != 0
    assert "hunter2" not in done.stdout + done.stderr
    assert not (tmp_path / "v2" / "dalil.toml").exists()


def test_an_unreachable_server_is_named_without_credentials(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="cannot") as caught:
        Vault.init(
            tmp_path / "vault", "tester", PASSWORD, catalog="postgresql://someone@127.0.0.1:1/"
        )
    assert "127.0.0.1:1" in str(caught.value)


def _writer(vault: Vault, n: int, who: int) -> list[str]:
    """One writer with its own connection (as each web request and each worker has)."""
    conn = vault.connect()
    try:
        ledger = vault.ledger(conn)
        return [
            model.new_case(conn, ledger, model.Actor("tester"), "place", f"writer {who} case {i}")
            for i in range(n)
        ]
    finally:
        vault.ledger(conn).sign_tail()
        conn.close()


def test_many_writers_at_once_make_one_ledger(tmp_path: Path, server: str) -> None:
    """Eight connections record at once: the database's writer lock is the sequencer, so every
    event has its own number, the numbers run without a gap, and the Merkle log verifies."""
    vault = _pg_vault(tmp_path / "vault", server)
    with ThreadPoolExecutor(8) as pool:
        made = [c for cases in pool.map(lambda w: _writer(vault, 10, w), range(8)) for c in cases]
    assert len(made) == len(set(made)) == 80  # no case number given twice
    conn = vault.connect()
    try:
        seqs = [int(r[0]) for r in conn.execute("SELECT seq FROM ledger ORDER BY seq")]
        events = [json.loads(r[0]) for r in conn.execute("SELECT event FROM ledger ORDER BY seq")]
    finally:
        conn.close()
    assert seqs == list(range(len(seqs)))
    assert sum(e["action"] == "case.created" for e in events) == 80
    for before, after in itertools.pairwise(events):
        assert after["seq"] == before["seq"] + 1
    done = run_dalil("verify", "--vault", str(vault.root))
    assert done.returncode == 0, done.stdout + done.stderr


def test_search_finds_the_same_cases_on_both_back_ends(tmp_path: Path, server: str) -> None:
    """The same cases, made on SQLite and on PostgreSQL, are found by the same searches (FTS5
    there, tsvector here): words in any order, the last one a prefix, accents and case and
    Arabic spellings folded, Arabic-Indic digits read as digits."""
    titles = [
        "Mohammad al-Halabi, card 7731",
        "Muḥammad Ḥalabī at the yard",
        "محمد الحلبي ٧٧٣١",
        "Yard near the bakery",
        "Ahmad Kurdi, branch 215",
        "احمد كردي فرع ٢١٥",
        "ÉCOLE Sainte-Marie",
    ]
    queries = ["7731", "٧٧٣١", "halabi", "Halab", "محمد", "yard", "ecole", "sainte mar",
               "215", "branch 21", "كردي", "nothing-here"]  # fmt: skip
    found = {}
    for name, catalog in (("sqlite", ""), ("postgresql", server)):
        vault = Vault.init(tmp_path / name, "tester", PASSWORD, catalog=catalog)
        conn = vault.connect()
        try:
            ledger = vault.ledger(conn)
            for title in titles:
                model.new_case(conn, ledger, model.Actor("tester"), "place", title)
            found[name] = {
                q: sorted(c["case_id"] for c in search(conn, SearchQuery(text=q))["results"])
                for q in queries
            }
        finally:
            conn.close()
    assert found["postgresql"] == found["sqlite"]
    assert found["sqlite"]["7731"] == found["sqlite"]["٧٧٣١"] != []
    assert found["sqlite"]["nothing-here"] == []


def test_a_rebuild_keeps_the_old_catalogue_and_verifies(tmp_path: Path, server: str) -> None:
    vault = _pg_vault(tmp_path / "vault", server)
    conn = vault.connect()
    try:
        model.new_case(conn, vault.ledger(conn), model.Actor("tester"), "place", "Yard")
        conn.execute("UPDATE cases SET title = 'edited behind the ledger'")
    finally:
        conn.close()
    assert run_dalil("verify", "--vault", str(vault.root)).returncode == 1
    done = run_dalil("catalog", "rebuild", "--vault", str(vault.root), "--as", "tester", "--json")
    assert done.returncode == 0, done.stderr
    kept = json.loads(done.stdout)["replaced"]
    assert kept.startswith("schema main_replaced_")
    db = catalogue(vault)
    try:
        assert db.execute("SELECT title FROM cases").fetchall() == [("Yard",)]
        old = kept.split()[1]
        assert db.execute(f"SELECT title FROM {old}.cases").fetchall() == [
            ("edited behind the ledger",)
        ]
    finally:
        db.close()
    assert run_dalil("verify", "--vault", str(vault.root)).returncode == 0


def test_the_statements_are_rewritten_once_into_postgresql() -> None:
    assert pg.translate("SELECT a FROM t WHERE b = ? AND c LIKE '%x?'") == (
        "SELECT a FROM t WHERE b = %s AND c ILIKE '%%x?'",
    )
    assert pg.translate("BEGIN IMMEDIATE") == (
        "BEGIN ISOLATION LEVEL READ COMMITTED",
        f"SELECT pg_advisory_xact_lock({pg.WRITER_LOCK})",
    )
    assert pg.translate("SELECT 1 FROM t WHERE a LIKE ?") == (
        "SELECT 1 FROM t WHERE a ILIKE %s ESCAPE ''",  # no escape character, as in SQLite
    )
    assert pg.translate("PRAGMA foreign_keys=ON") == ()
    create = pg.translate("CREATE TABLE t (id INTEGER PRIMARY KEY, x BLOB, y REAL) WITHOUT ROWID")
    assert create[0] == "CREATE TABLE t (id BIGINT PRIMARY KEY, x BYTEA, y DOUBLE PRECISION)"
    assert "EXECUTE FUNCTION dalil.next_id('id')" in create[1]
    assert pg.translate("SELECT json_extract(event, '$.details.a') FROM ledger") == (
        "SELECT (CAST(event AS jsonb) #>> '{details,a}') FROM ledger",
    )
    assert pg.translate("SELECT user FROM sessions WHERE user = ?") == (
        'SELECT "user" FROM sessions WHERE "user" = %s',
    )


def test_the_suite_can_run_on_postgresql() -> None:
    """scripts/test.sh runs every test a second time on PostgreSQL."""
    script = (Path(__file__).resolve().parents[2] / "scripts" / "test.sh").read_text()
    assert "DALIL_TEST_CATALOG=postgresql" in script


def test_a_folder_vault_moves_to_postgresql_proved_row_for_row(tmp_path: Path, server: str) -> None:
    vault = Vault.init(tmp_path / "vault", "tester", PASSWORD, catalog="")
    write_photos(tmp_path / "stick", 4)
    done = run_dalil("ingest", tmp_path / "stick", "--from", "stick 1", "--vault", vault.root,
                     "--as", "tester")  # fmt: skip
    assert done.returncode == 0, done.stderr
    conn = vault.connect()
    try:
        model.new_case(conn, vault.ledger(conn), model.Actor("tester"), "place", "Yard 7")
        root_before = vault.ledger(conn).head_root()
        items = [r[0] for r in conn.execute("SELECT sha256 FROM items ORDER BY sha256")]
    finally:
        conn.close()
    run_dalil("ledger", "checkpoint", "--vault", str(vault.root), "--as", "tester")
    done = run_dalil("catalog", "move", server, "--vault", str(vault.root), "--as", "tester",
                     "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["events"] >= 8 and report["rows_compared"] > 0
    moved = Vault.open(vault.root)
    assert moved.on_postgres and "password" not in moved.settings.catalog
    assert not (vault.root / "catalog.sqlite").exists()
    assert sorted(report["kept"])[0].startswith("catalog.sqlite.moved-")
    conn = moved.connect()
    try:
        assert [r[0] for r in conn.execute("SELECT sha256 FROM items ORDER BY sha256")] == items
        ledger = moved.ledger(conn)
        events = [json.loads(r[0]) for r in conn.execute("SELECT event FROM ledger ORDER BY seq")]
        # the same log, grown by one event: the move itself
        assert ledger.root(root_before[0]) == root_before[1]
        assert events[-1]["action"] == "catalog.moved" and events[-1]["actor"] == "tester"
        hits = search(conn, SearchQuery(text="yard"))["results"]
        assert [h["title"] for h in hits] == ["Yard 7"]
    finally:
        conn.close()
    assert run_dalil("verify", "--vault", str(vault.root)).returncode == 0
    again = run_dalil("catalog", "move", server, "--vault", str(vault.root), "--as", "tester")
    assert again.returncode == 2 and "already on" in again.stderr


def test_a_move_is_refused_before_anything_is_written(tmp_path: Path, server: str) -> None:
    vault = Vault.init(tmp_path / "vault", "tester", PASSWORD, catalog="")
    add_users(vault, "tester", "omar", role="reviewer")
    target = pg.with_database(server, "dalil_move_refused")
    done = run_dalil("catalog", "move", target, "--vault", str(vault.root), "--as", "omar")
    assert done.returncode == 2 and "administrator" in done.stderr
    unproved = subprocess.run(
        dalil_command("catalog", "move", target, "--vault", vault.root, "--as", "tester"),
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
        env={k: v for k, v in os.environ.items() if k != "DALIL_PASSWORD"},
    )  # fmt: skip
    assert unproved.returncode == 2 and "proved" in unproved.stderr, unproved.stderr
    admin = pg.connect(pg.with_database(server, "postgres"))
    try:
        made = admin.raw.execute(
            "SELECT 1 FROM pg_database WHERE datname = 'dalil_move_refused'"
        ).fetchone()
    finally:
        admin.close()
    assert made is None  # nothing was created on the server
    assert not Vault.open(vault.root).on_postgres


def test_a_catalogue_server_that_is_down_is_a_clear_error(tmp_path: Path, server: str) -> None:
    vault = _pg_vault(tmp_path / "vault", server)
    with socket.socket() as s:  # a port just freed: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = vault.settings.catalog.replace(f":{pg.connect_port(server)}/", f":{port}/")
    update_settings(vault.root, catalog=down)
    for args in (("items",), ("verify",), ("items", "--json")):
        done = run_dalil(*args, "--vault", vault.root)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "cannot connect to the catalogue" in done.stderr
        assert "Traceback" not in done.stderr
    assert json.loads(run_dalil("items", "--json", "--vault", vault.root).stderr)["code"] == 2


def test_a_move_killed_before_the_switch_is_finished_by_the_next(
    tmp_path: Path, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dalil import move_catalog

    vault = Vault.init(tmp_path / "vault", "tester", PASSWORD, catalog="")

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies after the database committed

    monkeypatch.setattr(move_catalog, "update_settings", killed)
    with pytest.raises(KeyboardInterrupt):
        move_catalog.move(vault, "tester", server)
    assert not Vault.load(vault.root).on_postgres  # the folder's catalogue is still the one
    monkeypatch.undo()
    report = move_catalog.move(Vault.open(vault.root), "tester", server)
    moved = Vault.open(vault.root)
    assert moved.on_postgres and report.kept
    conn = moved.connect()
    try:
        actions = [json.loads(r[0])["action"] for r in conn.execute("SELECT event FROM ledger")]
    finally:
        conn.close()
    assert actions.count("catalog.moved") == 1
    assert run_dalil("verify", "--vault", vault.root).returncode == 0


def test_a_failed_statement_swallowed_in_a_transaction_is_not_a_silent_loss(
    tmp_path: Path, server: str
) -> None:
    """On SQLite the rest of the transaction would commit; PostgreSQL would roll all of it
    back without a word at COMMIT. Dalil says so instead."""
    import sqlite3

    from dalil.catalog import atomic

    vault = _pg_vault(tmp_path / "vault", server)
    conn = vault.connect()
    try:
        refused = pytest.raises(sqlite3.OperationalError, match="none of it was recorded")
        with refused, atomic(conn):
            conn.execute("UPDATE cases SET title = 'kept?'")
            with contextlib.suppress(sqlite3.IntegrityError):  # no annotation 1: refused
                conn.execute("INSERT INTO identifier_keys VALUES ('k', 1)")
        assert not conn.in_transaction
        assert conn.execute("SELECT COUNT(*) FROM identifier_keys").fetchone()[0] == 0
    finally:
        conn.close()


def test_a_ledger_damaged_in_the_copy_is_not_moved(
    tmp_path: Path, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dalil import move_catalog

    vault = Vault.init(tmp_path / "vault", "tester", PASSWORD, catalog="")
    real_copy = move_catalog._copy

    def damaging(source: object, target: object, schema: str, table: str) -> int:
        copied = real_copy(source, target, schema, table)  # type: ignore[arg-type]
        if table == "ledger":  # one event's text changed on its way
            target.execute(  # type: ignore[attr-defined]
                "UPDATE ledger SET event = replace(event, 'vault.created', 'vault.creatEd')"
            )
        return copied

    monkeypatch.setattr(move_catalog, "_copy", damaging)
    with pytest.raises(UsageError, match="copied into PostgreSQL fails verification"):
        move_catalog.move(Vault.open(vault.root), "tester", server)
    assert not Vault.load(vault.root).on_postgres
    assert (vault.root / "catalog.sqlite").is_file()
    assert run_dalil("verify", "--vault", vault.root).returncode == 0
