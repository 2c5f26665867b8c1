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


def test_0002_similar_upgrades_a_0001_vault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dalil.ingest.session import IngestOptions, IngestSession
    from dalil.similar.clusters import assemble
    from dalil.similar.links import update_links
    from dalil.verify import verify
    from tests.conftest import write_photos

    src = tmp_path / "stick"
    write_photos(src, 3)
    with monkeypatch.context() as patch:  # a vault as version 0001 made it
        patch.setattr(mig, "MIGRATIONS", mig.MIGRATIONS[:1])
        patch.setattr("dalil.ingest.session.IngestSession._group", lambda self, conn, items: {})
        old = Vault.init(tmp_path / "vault", "tester")
        conn = sqlite3.connect(old.catalog_path)
        conn.execute("ALTER TABLE fingerprints ADD COLUMN variants BLOB")  # 0001 ingest code
        conn.close()
        IngestSession(old, IngestOptions([src], "x", "tester")).run()
        conn = sqlite3.connect(old.catalog_path)
        conn.execute("ALTER TABLE fingerprints DROP COLUMN variants")
        conn.close()
    vault = Vault.open(old.root)  # applies 0002
    assert vault.catalog_path.with_name("catalog.sqlite.bak-0002_similar").is_file()
    conn = vault.connect()
    names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names[:2] == ["0001_initial", "0002_similar"]
    assert conn.execute("SELECT COUNT(*) FROM fingerprints WHERE variants IS NULL").fetchone()[0]
    update_links(vault, conn)  # backfills the variants from the originals
    assert not conn.execute("SELECT COUNT(*) FROM fingerprints WHERE variants IS NULL").fetchone()[
        0
    ]
    with conn:
        assemble(conn)
    conn.close()
    assert verify(vault, jobs=1).ok


def test_0004_cases_upgrades_a_0003_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dalil.cases import model

    with monkeypatch.context() as patch:
        patch.setattr(mig, "MIGRATIONS", mig.MIGRATIONS[:3])
        old = Vault.init(tmp_path / "vault", "tester")
    vault = Vault.open(old.root)
    assert vault.catalog_path.with_name("catalog.sqlite.bak-0004_cases").is_file()
    conn = vault.connect()
    case = model.new_case(conn, vault.ledger(conn), model.Actor("tester"), "place", "Yard")
    assert case == "L-00001"
