"""Migrations are named, transactional, recorded, and back the catalogue up first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dalil.catalog import connect, migrate
from dalil.catalog import migrations as mig
from dalil.vault import Vault


def test_fresh_catalogue_gets_every_migration(tmp_path: Path) -> None:
    conn = connect(tmp_path / "c.sqlite")
    assert migrate(conn) == [m.name for m in mig.MIGRATIONS]
    assert migrate(conn) == []
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_upgrade_from_previous_version_backs_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = Vault.init(tmp_path / "vault", "tester")  # a vault at the current version

    def add_column(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE acquisitions ADD COLUMN custodian TEXT")

    monkeypatch.setattr(
        mig, "MIGRATIONS", (*mig.MIGRATIONS, mig.Migration("9999_test_custodian", add_column))
    )
    Vault.open(vault.root)
    backup = vault.catalog_path.with_name("catalog.sqlite.bak-9999_test_custodian")
    assert backup.is_file()
    conn = sqlite3.connect(vault.catalog_path)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(acquisitions)")]
    assert "custodian" in columns
    old = sqlite3.connect(backup)
    assert "custodian" not in [r[1] for r in old.execute("PRAGMA table_info(acquisitions)")]


def test_failing_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = Vault.init(tmp_path / "vault", "tester")

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("disk full")

    monkeypatch.setattr(mig, "MIGRATIONS", (*mig.MIGRATIONS, mig.Migration("9998_b", broken)))
    with pytest.raises(RuntimeError):
        Vault.open(vault.root)
    conn = sqlite3.connect(vault.catalog_path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables
    assert "9998_b" not in {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
