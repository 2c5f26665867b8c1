"""Migrations are named, transactional, recorded, and back the catalogue up first."""

from __future__ import annotations

import json
import sqlite3
import tarfile
from pathlib import Path

import pytest

from dalil.catalog import connect, migrate
from dalil.catalog import migrations as mig
from dalil.catalog.db import tables
from dalil.vault import Vault
from tests.conftest import PASSWORD, catalogue, sqlite_only


def test_fresh_catalogue_gets_every_migration(tmp_path: Path) -> None:
    conn = connect(
        tmp_path / "c.sqlite",
        attach={"ledgerdb": tmp_path / "l.sqlite", "statedb": tmp_path / "s.sqlite"},
    )
    assert migrate(conn) == [m.name for m in mig.MIGRATIONS]
    assert migrate(conn) == []
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


@sqlite_only  # PostgreSQL runs every pending migration in one transaction (tested below)
def test_upgrade_from_previous_version_backs_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = Vault.init(tmp_path / "vault", "tester", PASSWORD)  # a vault at the current version

    def add_column(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE acquisitions ADD COLUMN custodian TEXT")

    monkeypatch.setattr(
        mig, "MIGRATIONS", (*mig.MIGRATIONS, mig.Migration("9999_test_custodian", add_column))
    )
    Vault.open(vault.root)
    backup = vault.catalog_path.with_name("catalog.sqlite.bak-9999_test_custodian")
    assert backup.is_file()
    conn = catalogue(vault)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(acquisitions)")]
    assert "custodian" in columns
    old = sqlite3.connect(backup)
    assert "custodian" not in [r[1] for r in old.execute("PRAGMA table_info(acquisitions)")]


def test_failing_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = Vault.init(tmp_path / "vault", "tester", PASSWORD)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("disk full")

    monkeypatch.setattr(mig, "MIGRATIONS", (*mig.MIGRATIONS, mig.Migration("9998_b", broken)))
    with pytest.raises(RuntimeError):
        Vault.open(vault.root)
    conn = vault.connect()
    assert "half_done" not in tables(conn)
    assert "9998_b" not in {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}


OLD_VAULT = Path(__file__).resolve().parents[1] / "data" / "vault-0006.tar.gz"


@pytest.fixture
def old_vault(tmp_path: Path) -> Path:
    """A vault made by the release before the ledger got its own file (migrations up to 0006):
    3 photographs, a copy, a broken JPEG, a text file, two users, a case with a confirmed
    claim. Built with that release's code (see tests/data/README.md)."""
    with tarfile.open(OLD_VAULT) as tar:
        tar.extractall(tmp_path, filter="tar")  # keeps the objects read-only
    return tmp_path / "vault"


def test_an_0006_vault_is_bound_to_its_ledger(old_vault: Path) -> None:
    from dalil.verify import verify

    assert not (old_vault / "ledger.sqlite").exists()
    vault = Vault.open(old_vault)  # 0007 moves the ledger out, 0008 binds the catalogue
    assert vault.catalog_path.with_name("catalog.sqlite.bak-0007_ledger_file").is_file()
    conn = vault.connect()
    events = [json.loads(r[0]) for r in conn.execute("SELECT event FROM ledger ORDER BY seq")]
    bound = [e for e in events if e["action"] == "catalog.bound"]
    assert len(bound) == 1 and bound[0]["details"]["problems_found_before"] == 0
    assert bound[0]["details"]["rows"]["items"] == 5
    tables = {r[0] for r in conn.execute("SELECT name FROM main.sqlite_master")}
    assert not tables & {"ledger", "checkpoints", "sessions"}  # moved to their own files
    conn.close()
    report = verify(vault, jobs=1)
    assert report.ok, report.problems
    Vault.open(old_vault)  # bound once only
    conn = vault.connect()
    assert (
        conn.execute("SELECT COUNT(*) FROM ledger WHERE event LIKE '%catalog.bound%'").fetchone()[0]
        == 1
    )
    # from now on an edit of what was bound is found
    conn.execute("UPDATE metadata SET camera_model = 'Forged' WHERE camera_model IS NOT NULL")
    conn.close()
    found = verify(vault, jobs=1)
    assert {p.kind for p in found.problems} == {"catalogue_row_altered"}
    assert all("camera_model is 'Forged'" in p.detail for p in found.problems)


def test_an_0006_vault_can_be_rebuilt_and_worked_on(old_vault: Path) -> None:
    from dalil.cases import model, review
    from dalil.projection.rebuild import rebuild
    from dalil.verify import verify

    vault = Vault.open(old_vault)
    (old_vault / "catalog.sqlite").unlink()
    done = rebuild(vault, "amina")
    assert done.items == 5 and not done.derivatives_remade
    vault = Vault.open(old_vault)
    conn = vault.connect()
    ledger = vault.ledger(conn)
    claim = conn.execute("SELECT id, state FROM annotations").fetchone()
    assert tuple(claim)[1] == "verified"
    case = model.new_case(conn, ledger, model.Actor("amina"), "place", "Yard")
    assert case == "L-00001"
    other, _ = model.add_annotation(conn, ledger, model.Actor("amina"), case, "note", "", "x")
    review.confirm(conn, ledger, model.Actor("omar"), other)
    with vault.writer_lock():
        ledger.sign_tail()
    conn.close()
    assert verify(vault, jobs=1).ok
