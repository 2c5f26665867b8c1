"""Tampering with any part of a vault is detected and named by ``verify``."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dalil import keys
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.ledger.canonical import canonical_json
from dalil.ledger.merkle import leaf_hash
from dalil.vault import Vault
from dalil.verify import verify
from tests.conftest import PASSWORD, catalogue, copy_vault, write_photos


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("pristine")
    source = base / "stick"
    write_photos(source / "DCIM", 6)
    (source / "notes.txt").write_text("chain of custody notes\n")
    vault = Vault.init(base / "vault", "tester", PASSWORD)
    IngestSession(vault, IngestOptions([source], "stick #1", "tester", jobs=1)).run()
    return vault.root


@pytest.fixture
def copy(pristine: Path, tmp_path: Path) -> Vault:
    target = tmp_path / "vault"
    copy_vault(pristine, target)
    return Vault.open(target)


def kinds(vault: Vault) -> set[str]:
    report = verify(vault, jobs=1)
    assert not report.ok
    return {p.kind for p in report.problems}


def db(vault: Vault) -> sqlite3.Connection:
    return catalogue(vault, isolation_level=None)


def ledger_db(vault: Vault) -> sqlite3.Connection:
    return catalogue(vault, "ledger", isolation_level=None)


def some_object(vault: Vault) -> Path:
    return next(p for _, p in vault.store().iter_objects())


def test_pristine_vault_verifies(copy: Vault) -> None:
    report = verify(copy, jobs=2)
    assert report.ok, report.problems
    assert report.objects_checked == 7
    assert report.derivatives_checked == 6
    assert report.checkpoints_checked >= 2


def test_flipped_byte_in_object(copy: Vault) -> None:
    path = some_object(copy)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify(copy, jobs=1)
    altered = [p for p in report.problems if p.kind == "object_altered"]
    assert [p.sha256 for p in altered] == [path.name]


def test_deleted_object(copy: Vault) -> None:
    path = some_object(copy)
    path.unlink()
    report = verify(copy, jobs=1)
    assert [(p.kind, p.sha256) for p in report.problems] == [("object_missing", path.name)]


def test_stray_object(copy: Vault) -> None:
    stray = copy.store().path("ab" * 32)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"planted")
    assert kinds(copy) == {"unexpected_object", "object_unprotected"}  # and it is writable


def test_catalogue_size_edited(copy: Vault) -> None:
    with db(copy) as conn:
        conn.execute(
            "UPDATE items SET size = size + 1 WHERE sha256 = (SELECT MIN(sha256) FROM items)"
        )
    assert kinds(copy) == {"catalogue_row_altered"}  # the object matches what the ledger says


def test_catalogue_hash_edited(copy: Vault) -> None:
    with db(copy) as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        digest = conn.execute("SELECT sha256 FROM items LIMIT 1").fetchone()[0]
        conn.execute("UPDATE items SET sha256 = ? WHERE sha256 = ?", ("0" * 64, digest))
    found = kinds(copy)
    assert {"catalogue_row_unrecorded", "catalogue_row_missing"} <= found


def test_occurrence_planted(copy: Vault) -> None:
    with db(copy) as conn:
        row = conn.execute("SELECT * FROM occurrences LIMIT 1").fetchone()
        conn.execute(
            "INSERT INTO occurrences (sha256, acquisition_id, source_label, path, path_text, size)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (row[1], row[2], row[3], b"fake/path.jpg", "fake/path.jpg", row[6]),
        )
    assert kinds(copy) == {"catalogue_row_unrecorded"}


def _rewrite_event(
    conn: sqlite3.Connection, seq: int, change: Callable[[dict], None], *, fix_hash: bool
) -> None:
    text = conn.execute("SELECT event FROM ledger WHERE seq = ?", (seq,)).fetchone()[0]
    event = json.loads(text)
    change(event)
    data = canonical_json(event)
    if fix_hash:
        conn.execute(
            "UPDATE ledger SET event = ?, leaf_hash = ? WHERE seq = ?",
            (data.decode(), leaf_hash(data), seq),
        )
    else:
        conn.execute("UPDATE ledger SET event = ? WHERE seq = ?", (data.decode(), seq))


def _first_ingest_seq(conn: sqlite3.Connection) -> int:
    return int(
        conn.execute(
            'SELECT MIN(seq) FROM ledger WHERE event LIKE \'%"action":"item.ingested"%\''
        ).fetchone()[0]
    )


@pytest.mark.parametrize("fix_hash", [False, True])
def test_ledger_event_edited(copy: Vault, fix_hash: bool) -> None:
    with ledger_db(copy) as conn:
        seq = _first_ingest_seq(conn)
        _rewrite_event(conn, seq, lambda e: e["details"].update(size=1), fix_hash=fix_hash)
    report = verify(copy, jobs=1)
    found = {p.kind for p in report.problems}
    assert "ledger_event_altered" in found
    assert "checkpoint_mismatch" in found
    assert any(
        f"event {seq}" in p.detail or f"event {seq + 1}" in p.detail
        for p in report.problems
        if p.kind == "ledger_event_altered"
    )


def test_ledger_event_deleted(copy: Vault) -> None:
    with ledger_db(copy) as conn:
        seq = _first_ingest_seq(conn)
        conn.execute("DELETE FROM ledger WHERE seq = ?", (seq,))
    found = kinds(copy)
    assert "ledger_event_removed" in found
    assert "catalogue_row_unrecorded" in found  # its item is no longer recorded


def test_ledger_event_inserted(copy: Vault) -> None:
    with ledger_db(copy) as conn:
        seq = _first_ingest_seq(conn)
        last = conn.execute("SELECT MAX(seq) FROM ledger").fetchone()[0]
        for s in range(last, seq - 1, -1):  # make room, as a forger would
            conn.execute("UPDATE ledger SET seq = seq + 1 WHERE seq = ?", (s,))
        forged = {
            "seq": seq,
            "time": "2013-01-01T00:00:00Z",
            "actor": "forger",
            "action": "item.ingested",
            "subject": "sha256:" + "1" * 64,
            "details": {"sha256": "1" * 64, "size": 1},
            "prev": "",
        }
        data = canonical_json(forged)
        conn.execute(
            "INSERT INTO ledger (seq, event, leaf_hash) VALUES (?, ?, ?)",
            (seq, data.decode(), leaf_hash(data)),
        )
    found = kinds(copy)
    assert "ledger_event_inserted" in found


def test_ledger_truncated_below_checkpoint(copy: Vault) -> None:
    with ledger_db(copy) as conn:
        size = conn.execute("SELECT MAX(size) FROM checkpoints").fetchone()[0]
        conn.execute("DELETE FROM ledger WHERE seq >= ?", (size - 3,))
    found = kinds(copy)
    assert "ledger_truncated" in found


def test_checkpoint_forged_with_another_key(copy: Vault) -> None:
    forger = Ed25519PrivateKey.generate()
    with ledger_db(copy) as conn:
        cp_id, origin, size, _root, time = conn.execute(
            "SELECT id, origin, size, root, time FROM checkpoints ORDER BY id DESC LIMIT 1"
        ).fetchone()
        from dalil.ledger.canonical import checkpoint_message

        signature = keys.sign(forger, checkpoint_message(origin, size, "0" * 64, time))
        conn.execute(
            "UPDATE checkpoints SET root = ?, signature = ? WHERE id = ?",
            ("0" * 64, signature, cp_id),
        )
    found = kinds(copy)
    assert "checkpoint_signature_invalid" in found
    assert "checkpoint_mismatch" in found


def test_checkpoint_size_edited(copy: Vault) -> None:
    with ledger_db(copy) as conn:
        conn.execute(
            "UPDATE checkpoints SET size = size - 1 WHERE id = (SELECT MAX(id) FROM checkpoints)"
        )
    assert "checkpoint_signature_invalid" in kinds(copy)


def test_checkpoints_deleted(copy: Vault) -> None:
    with ledger_db(copy) as conn:
        conn.execute("DELETE FROM checkpoints")
    assert kinds(copy) == {"checkpoint_missing", "ledger_unsigned_tail"}


def _snapshot(root: Path) -> dict[Path, bytes]:
    # SQLite's -wal/-shm side files and the writer lock (which names its holder) are
    # machinery, not vault content.
    return {
        p: p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith(("-wal", "-shm")) and p.name != "lock"
    }


def test_verify_never_modifies(copy: Vault) -> None:
    before = _snapshot(copy.root)
    verify(copy, jobs=2)
    assert _snapshot(copy.root) == before
