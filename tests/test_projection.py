"""Every fact Dalil shows is proven by the ledger: the catalogue is a projection of it.

Each edit an attacker with disk access was seen to make, and that verify once missed, is made
here and must be reported, by kind and row; the catalogue rebuilt from the ledger equals the
original; and any single-row change of any catalogue table is reported (a property test).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dalil.cases import model, review
from dalil.catalog.db import Db
from dalil.catalog.db import columns as table_columns
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.projection.rebuild import rebuild
from dalil.similar import clusters as grouping
from dalil.vault import Vault
from dalil.verify import Problem, verify
from dalil.verify.catalogue import compare, replayed, tables
from dalil.verify.report import VerifyReport as Report
from tests.conftest import (
    PASSWORD,
    add_users,
    catalogue,
    copy_vault,
    jpeg_bytes,
    run_dalil,
    sqlite_only,
    write_photos,
)


def _build(base: Path) -> Path:
    source = base / "stick"
    write_photos(source / "DCIM", 4)
    (source / "DCIM" / "copy-of-0.jpg").write_bytes((source / "DCIM" / "IMG_0000.JPG").read_bytes())
    (source / "DCIM" / "IMG_0000-large.jpg").write_bytes(jpeg_bytes(0, (640, 480)))
    whole = jpeg_bytes(9)
    (source / "broken.jpg").write_bytes(whole[: len(whole) // 2])  # flagged truncated
    (source / "notes.txt").write_text("custody notes\n")
    (source / "x\xe9.bin".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(
        b"raw name"
    )
    (source / "x\\xe9.bin").write_bytes(b"literal name")
    os.symlink("/nowhere", source / "dangling-link")
    vault = Vault.init(base / "vault", "amina", PASSWORD)
    add_users(vault, "amina", "omar")
    IngestSession(vault, IngestOptions([source], "USB stick #2", "amina", jobs=1)).run()
    conn = vault.connect()
    ledger = vault.ledger(conn)
    amina = model.Actor("amina")
    model.add_identifier_type(conn, ledger, amina, "grave", "Grave", r"G-\d+", "G-12")
    shas = [r[0] for r in conn.execute("SELECT sha256 FROM items ORDER BY sha256")]
    case = model.new_case(conn, ledger, amina, "person", "Card 7")
    model.link(conn, ledger, amina, case, shas[:2], "card")
    claim, _ = model.add_annotation(conn, ledger, amina, case, "identifier", "detainee", "4721")
    review.confirm(conn, ledger, model.Actor("omar"), claim)
    from dalil.catalog import atomic

    with atomic(conn):
        ledger.append(
            "amina",
            "ocr.read",
            f"sha256:{shas[0]}",
            {"sha256": shas[0]},
            {"sha256": shas[0], "engine": "test/1", "readings": [], "text": "4721 215"},
        )
    grouping.merge(conn, ledger, "amina", shas[-2:])  # a person's decision
    from dalil.similar.links import _link, _record_links

    link = _link(shas[0], shas[1], "geometric", 80, "original", {}) | {"inliers": 40}
    _record_links(vault, conn, "amina", [link], [])  # a link found by matching, with evidence
    with vault.writer_lock():
        ledger.sign_tail()
    conn.close()
    return vault.root


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _build(tmp_path_factory.mktemp("proven"))
    assert verify(Vault.open(root), jobs=1).ok
    return root


@pytest.fixture
def vault(pristine: Path, tmp_path: Path) -> Vault:
    copy_vault(pristine, tmp_path / "vault", symlinks=True)
    return Vault.open(tmp_path / "vault")


def _catalogue(vault: Vault) -> sqlite3.Connection:
    return catalogue(vault, isolation_level=None)


def _problems(vault: Vault) -> list[Problem]:
    report = verify(vault, jobs=1)
    assert not report.ok
    return report.problems


def _named(problems: list[Problem], kind: str, *words: str) -> bool:
    return any(p.kind == kind and all(w in p.detail for w in words) for p in problems)


def _first(conn: sqlite3.Connection, sql: str) -> Any:
    return conn.execute(sql).fetchone()[0]


# -- the edits that verify once missed ---------------------------------------------------------


def test_a_deleted_truncated_flag_is_reported(vault: Vault) -> None:
    with _catalogue(vault) as db:
        sha = _first(db, "SELECT sha256 FROM item_flags WHERE flag = 'truncated'")
        db.execute("DELETE FROM item_flags WHERE sha256 = ?", (sha,))
    problems = _problems(vault)
    assert _named(problems, "catalogue_row_missing", "item_flags", sha[:20], "truncated")


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("items", "media_type", "'image/png'"),
        ("metadata", "gps_lat", "48.85"),
        ("metadata", "captured_at", "'2011-03-15T10:00:00'"),
        ("metadata", "camera_model", "'Forged'"),
    ],
)
def test_an_item_fact_rewritten_is_reported(
    vault: Vault, table: str, column: str, value: str
) -> None:
    with _catalogue(vault) as db:
        sha = _first(db, f"SELECT sha256 FROM {table} ORDER BY sha256 LIMIT 1")
        db.execute(f"UPDATE {table} SET {column} = {value} WHERE sha256 = ?", (sha,))
    problems = _problems(vault)
    assert _named(problems, "catalogue_row_altered", table, sha[:20], f"{column} is")


@pytest.mark.parametrize(
    ("column", "value"),
    [("source_label", "'handed over by Y'"), ("actor", "'someone'"), ("opened_at", "'2001'")],
)
def test_an_acquisition_rewritten_is_reported(vault: Vault, column: str, value: str) -> None:
    with _catalogue(vault) as db:
        db.execute(f"UPDATE acquisitions SET {column} = {value}")
    assert _named(_problems(vault), "catalogue_row_altered", "acquisitions", f"{column} is")


def test_an_occurrence_time_or_acquisition_rewritten_is_reported(vault: Vault) -> None:
    with _catalogue(vault) as db:
        db.execute("UPDATE occurrences SET mtime_ns = 0 WHERE id = 1")
        db.execute("UPDATE occurrences SET acquisition_id = 99 WHERE id = 2")
    problems = _problems(vault)
    assert _named(problems, "catalogue_row_altered", "occurrences (id=1)", "mtime_ns is 0")
    assert _named(problems, "catalogue_row_altered", "occurrences (id=2)", "acquisition_id")


@pytest.mark.parametrize("table", ["derivatives", "fingerprints", "skipped_entries"])
def test_deleted_thumbnails_fingerprints_and_skipped_entries_are_reported(
    vault: Vault, table: str
) -> None:
    with _catalogue(vault) as db:
        db.execute(f"DELETE FROM {table}")
    assert _named(_problems(vault), "catalogue_row_missing", table)


def test_a_thumbnail_file_replaced_is_reported(vault: Vault) -> None:
    thumb = next((vault.derived_dir / "thumbnail").rglob("*.jpg"))
    thumb.write_bytes(jpeg_bytes(77))
    assert _named(_problems(vault), "derivative_altered", thumb.stem)


def test_occurrences_are_keyed_on_raw_path_bytes(vault: Vault) -> None:
    """``x\\xE9.bin`` (a Latin-1 byte) and a file literally named ``x\\\\xe9.bin`` display
    alike; deleting one must not go unnoticed."""
    with _catalogue(vault) as db:
        rows = db.execute(
            "SELECT id, path, path_text FROM occurrences WHERE path_text LIKE '%x%.bin'"
        ).fetchall()
        assert len(rows) == 2 and rows[0][2] == rows[1][2] and rows[0][1] != rows[1][1]
        raw = next(r for r in rows if r[1].endswith(b"x\xe9.bin"))
        db.execute("DELETE FROM occurrences WHERE id = ?", (raw[0],))
    problems = _problems(vault)
    assert _named(problems, "catalogue_row_missing", "occurrences", f"id={raw[0]}")


# -- keys, tails and history ------------------------------------------------------------------


def _resign_everything(vault: Vault) -> None:
    """What an attacker with disk access does: a new key pair, every checkpoint re-signed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from dalil import keys
    from dalil.ledger.canonical import checkpoint_message

    forger = Ed25519PrivateKey.generate()
    (vault.keys_dir / "vault.key").unlink()
    (vault.keys_dir / "vault.pub").write_bytes(keys.public_pem(forger.public_key()))
    with catalogue(vault, "ledger", isolation_level=None) as db:
        for cid, origin, size, root, time in db.execute(
            "SELECT id, origin, size, root, time FROM checkpoints"
        ).fetchall():
            signature = keys.sign(forger, checkpoint_message(origin, size, root, time))
            db.execute("UPDATE checkpoints SET signature = ? WHERE id = ?", (signature, cid))


def test_a_new_key_with_every_checkpoint_resigned_is_reported(vault: Vault) -> None:
    fingerprint = verify(vault, jobs=1).key_fingerprint
    _resign_everything(vault)
    problems = _problems(vault)
    assert _named(problems, "key_mismatch", "is not the key")
    assert _named(problems, "checkpoint_signature_invalid")
    # and against a fingerprint the user wrote down, via the command line
    done = run_dalil(
        "ledger", "verify", "--fingerprint", fingerprint, "--vault", vault.root, "--json"
    )
    assert done.returncode == 1
    assert "key_mismatch" in {p["kind"] for p in json.loads(done.stdout)["problems"]}


def _plant_ingest(vault: Vault, *, closed_label: str = "A0001") -> str:
    """What a forger with the files does: a well-formed, backdated ``item.ingested`` event at
    the tail (chained to the one before it, with its payload), its catalogue rows and its
    object, claiming an acquisition that was closed — then signed with the key on the vault."""
    import hashlib

    from dalil.catalog import atomic
    from dalil.ledger.canonical import canonical_json
    from dalil.ledger.merkle import leaf_hash

    data = b"planted evidence"
    sha = hashlib.sha256(data).hexdigest()
    vault.store().put_bytes(data, sha)
    occurrence = {
        "acquisition": closed_label,
        "source": "USB stick #2",
        "path": "planted.bin",
        "size": len(data),
        "mtime_ns": 0,
        "ctime_ns": 0,
        "atime_ns": 0,
        "mode": 0o100644,
    }
    payload = {
        "sha256": sha,
        "size": len(data),
        "media_type": "application/octet-stream",
        "occurrence": occurrence,
        "flags": {},
        "metadata": None,
        "fingerprint": None,
        "derivatives": [],
    }
    conn = vault.connect()
    try:
        seq, prev = conn.execute("SELECT seq, leaf_hash FROM ledger ORDER BY seq DESC").fetchone()
        event = {
            "seq": seq + 1,
            "time": "2013-05-04T10:00:00.000000Z",
            "actor": "amina",
            "action": "item.ingested",
            "subject": f"sha256:{sha}",
            "details": {
                "sha256": sha,
                "size": len(data),
                "media_type": "application/octet-stream",
                "payload": hashlib.sha256(canonical_json(payload)).hexdigest(),
            },
            "prev": bytes(prev).hex(),
        }
        text = canonical_json(event)
        acquisition = conn.execute(
            "SELECT id FROM acquisitions WHERE label = ?", (closed_label,)
        ).fetchone()[0]
        with atomic(conn):
            conn.execute(
                "INSERT INTO ledger VALUES (?, ?, ?)", (seq + 1, text.decode(), leaf_hash(text))
            )
            conn.execute(
                "INSERT INTO payloads VALUES (?, ?)", (seq + 1, canonical_json(payload).decode())
            )
            conn.execute(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?)",
                (sha, len(data), "application/octet-stream", acquisition, event["time"]),
            )
            conn.execute(
                "INSERT INTO occurrences (sha256, acquisition_id, source_label, path, path_text,"
                " size, mtime_ns, ctime_ns, atime_ns, mode) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?)",
                (sha, acquisition, "USB stick #2", b"planted.bin", "planted.bin", len(data), 33188),
            )
            conn.execute(
                "UPDATE projection SET seq = ?, head = ?", (seq + 2, leaf_hash(text).hex())
            )
        with vault.writer_lock():
            vault.ledger(conn).sign_tail()
    finally:
        conn.close()
    return sha


def test_a_planted_backdated_event_in_a_closed_acquisition_is_reported(vault: Vault) -> None:
    _plant_ingest(vault)
    problems = _problems(vault)
    assert _named(problems, "ledger_rule_broken", "acquisition A0001 after it was closed")
    assert _named(problems, "ledger_rule_broken", "dated 2013-05-04", "not written in this order")


def test_an_unsigned_tail_fails_unless_allowed(vault: Vault) -> None:
    from dalil.verify import Trust

    conn = vault.connect()
    try:
        model.new_case(conn, vault.ledger(conn), model.Actor("amina"), "place", "Yard")
    finally:
        conn.close()
    report = verify(vault, jobs=1)
    assert [p.kind for p in report.problems] == ["ledger_unsigned_tail"]
    assert verify(vault, jobs=1, trust=Trust(allow_unsigned_tail=True)).ok
    assert run_dalil("verify", "--vault", vault.root).returncode == 1
    assert run_dalil("verify", "--allow-unsigned-tail", "--vault", vault.root).returncode == 0


def test_an_event_by_someone_who_could_not_act_is_reported(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dalil import users

    conn = vault.connect()
    try:
        ledger = vault.ledger(conn)
        users.set_disabled(conn, ledger, "amina", "omar", True)
        with pytest.raises(Exception, match="disabled"):
            model.new_case(conn, ledger, model.Actor("omar"), "place", "Yard")
        # written past the library's checks, as a forger with the files would
        monkeypatch.setattr(users, "may_record", lambda *args: None)
        from dalil.catalog import atomic

        for n, who in enumerate(("omar", "nobody")):
            case = f"L-0009{n}"
            with atomic(conn):
                ledger.append(
                    who,
                    "case.created",
                    f"case:{case}",
                    {},
                    {"case": case, "kind": "place", "title": "Forged", "status": "open",
                     "cluster": None, "items": []},
                )  # fmt: skip
        ledger.sign_tail()
    finally:
        conn.close()
    monkeypatch.undo()
    problems = _problems(vault)
    assert _named(problems, "ledger_rule_broken", "by 'omar', who could not act then")
    assert _named(problems, "ledger_rule_broken", "by 'nobody', who could not act then")


def test_tail_deletion_and_rollback_are_caught_by_a_kept_checkpoint(
    vault: Vault, tmp_path: Path
) -> None:
    kept = tmp_path / "kept-off-the-vault.txt"
    old = tmp_path / "old-copy"
    copy_vault(vault.root, old, symlinks=True)  # the vault as it was
    conn = vault.connect()
    try:
        model.new_case(conn, vault.ledger(conn), model.Actor("amina"), "place", "Yard")
    finally:
        conn.close()
    done = run_dalil("ledger", "checkpoint", "--out", kept, "--vault", vault.root, "--json")
    assert done.returncode == 0, done.stderr
    assert kept.read_text().startswith(vault.origin + "\n")
    assert "\u2014 " + vault.origin in kept.read_text()  # a C2SP signed note
    # more work is done; the log still extends the kept checkpoint
    conn = vault.connect()
    try:
        model.new_case(conn, vault.ledger(conn), model.Actor("amina"), "place", "Yard 2")
        vault.ledger(conn).sign_tail()
    finally:
        conn.close()
    ok = run_dalil("ledger", "verify", "--since", kept, "--vault", vault.root, "--json")
    assert ok.returncode == 0, ok.stdout
    assert json.loads(ok.stdout)["extends_checkpoint"] > 0
    # the whole vault rolled back to the older copy: verify alone cannot tell, the kept
    # checkpoint can
    assert run_dalil("verify", "--vault", old).returncode == 0
    rolled = run_dalil("ledger", "verify", "--since", kept, "--vault", old, "--json")
    assert rolled.returncode == 1
    [problem] = json.loads(rolled.stdout)["problems"]
    assert problem["kind"] == "ledger_not_extended" and "rolled back" in problem["detail"]
    # the last events deleted with their checkpoints (rows and payloads too)
    with catalogue(vault, "ledger", isolation_level=None) as db:
        size = _first(db, "SELECT MAX(seq) FROM ledger") + 1
        db.execute("DELETE FROM ledger WHERE seq >= ?", (size - 4,))
        db.execute("DELETE FROM payloads WHERE seq >= ?", (size - 4,))
        db.execute("DELETE FROM checkpoints WHERE size > ?", (size - 4,))
    cut = run_dalil("verify", "--since", kept, "--vault", vault.root, "--json")
    assert cut.returncode == 1
    assert "ledger_not_extended" in {p["kind"] for p in json.loads(cut.stdout)["problems"]}


def test_init_prints_the_fingerprint_and_keeps_a_first_checkpoint(tmp_path: Path) -> None:
    done = run_dalil("init", "--vault", tmp_path / "v", "--as", "amina", "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert len(info["key_fingerprint"]) == 64
    kept = Path(info["checkpoint_file"])
    assert kept.is_file() and not kept.is_relative_to(tmp_path / "v")
    again = run_dalil(
        "verify", "--since", kept, "--fingerprint", info["key_fingerprint"], "--vault",
        tmp_path / "v",
    )  # fmt: skip
    assert again.returncode == 0, again.stdout


def test_a_passphrase_protected_key(tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import dalil_command

    secret = "correct horse battery staple"
    made = subprocess.run(
        dalil_command("init", "--vault", tmp_path / "v", "--as", "amina", "--passphrase-stdin"),
        input=secret + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert b"ENCRYPTED" in (tmp_path / "v" / "keys" / "vault.key").read_bytes()
    write_photos(tmp_path / "s", 1)
    env = {k: v for k, v in os.environ.items() if k != "DALIL_KEY_PASSPHRASE"}
    unsigned = subprocess.run(
        dalil_command("ingest", tmp_path / "s", "--from", "s", "--vault", tmp_path / "v",
                      "--as", "amina", "--json"),
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert unsigned.returncode == 0, unsigned.stderr
    assert json.loads(unsigned.stdout)["checkpoint"] == {}  # no passphrase: left unsigned
    assert run_dalil("verify", "--vault", tmp_path / "v").returncode == 1
    wrong = subprocess.run(
        dalil_command("ledger", "checkpoint", "--vault", tmp_path / "v"),
        capture_output=True, text=True, check=False,
        env={**env, "DALIL_KEY_PASSPHRASE": "not the passphrase"},
    )  # fmt: skip
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr
    signed = subprocess.run(
        dalil_command("ledger", "checkpoint", "--vault", tmp_path / "v"),
        capture_output=True, text=True, check=False, env={**env, "DALIL_KEY_PASSPHRASE": secret},
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert run_dalil("verify", "--vault", tmp_path / "v").returncode == 0


# -- rebuilding -------------------------------------------------------------------------------


def _dump(vault: Vault) -> dict[str, list[tuple[Any, ...]]]:
    conn = catalogue(vault)
    out = {}
    for table in tables(conn):
        if table == "projection":
            continue
        out[table] = sorted((tuple(r) for r in conn.execute(f"SELECT * FROM {table}")), key=repr)
    conn.close()
    return out


def test_a_rebuilt_catalogue_equals_the_original(vault: Vault) -> None:
    before = _dump(vault)
    thumb = next((vault.derived_dir / "thumbnail").rglob("*.jpg"))
    thumb.unlink()
    done = rebuild(vault, "amina")
    assert done.derivatives_remade == [f"thumbnail of {thumb.stem}"]
    assert thumb.is_file()
    after = _dump(vault)
    changed = {t for t in before if before[t] != after.get(t)}
    assert changed == {"derivatives"}  # the thumbnail made again has a new time
    assert verify(vault, jobs=1).ok


@sqlite_only  # deletes or overwrites the file catalog.sqlite
@pytest.mark.parametrize("damage", ["delete", "garbage"])
def test_a_lost_or_damaged_catalogue_is_reported_then_rebuilt(vault: Vault, damage: str) -> None:
    for side in vault.root.glob("catalog.sqlite*"):
        side.unlink()
    if damage == "garbage":
        vault.catalog_path.write_bytes(os.urandom(8192))
    checked = run_dalil("verify", "--vault", vault.root)
    assert checked.returncode == 1
    assert "dalil catalog rebuild" in checked.stderr and "Traceback" not in checked.stderr
    assert run_dalil("items", "--vault", vault.root).returncode == 1
    done = run_dalil("catalog", "rebuild", "--vault", vault.root, "--as", "amina", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["items"] == 9
    assert run_dalil("verify", "--vault", vault.root).returncode == 0


def test_a_catalogue_ahead_of_its_ledger_is_refused_until_rebuilt(vault: Vault) -> None:
    with _catalogue(vault) as db:
        db.execute("UPDATE projection SET seq = seq + 1")
    refused = run_dalil("cases", "list", "--vault", vault.root)
    assert refused.returncode == 1 and "catalog rebuild" in refused.stderr
    assert run_dalil("catalog", "rebuild", "--vault", vault.root, "--as", "amina").returncode == 0
    assert run_dalil("cases", "list", "--vault", vault.root).returncode == 0


# -- any change of any row --------------------------------------------------------------------


@pytest.fixture(scope="module")
def truth(pristine: Path) -> Iterator[tuple[Vault, Db]]:
    """The pristine catalogue and the one its ledger gives."""
    vault = Vault.open(pristine, follow=False)
    conn = vault.connect(readonly=True)
    report = Report()
    given = replayed(conn, report, None)
    conn.close()
    assert report.ok
    yield vault, given
    given.close()


def _changed(value: Any) -> Any:
    if value is None:
        return "x"
    if isinstance(value, bool | int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, bytes):
        return value + b"x"
    return str(value) + "x"


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_single_row_change_of_any_table_is_reported(
    truth: tuple[Vault, Db], data: st.DataObject
) -> None:
    vault, given_rows = truth
    db = catalogue(vault, isolation_level=None)
    db.execute("PRAGMA foreign_keys=OFF")
    db.execute("BEGIN")  # the change is seen by this connection only, then rolled back
    try:
        table = data.draw(st.sampled_from(tables(db)))
        info = table_columns(db, table)
        columns = [name for name, _ in info]
        key = [name for at, name in sorted((at, n) for n, at in info if at)] or ["rowid"]
        rows = db.execute(f"SELECT {', '.join(key)}, * FROM {table}").fetchall()
        assume(rows)
        row = data.draw(st.sampled_from(rows))
        at = row[: len(key)]
        where = " AND ".join(f"{k} = ?" for k in key)
        if data.draw(st.booleans()):
            db.execute(f"DELETE FROM {table} WHERE {where}", at)
            what = f"deleted {table} row {at}"
        else:
            column = data.draw(st.sampled_from(columns))
            new = _changed(row[len(key) + columns.index(column)])
            db.execute("SAVEPOINT change")
            try:
                db.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (new, *at))
            except sqlite3.DatabaseError:  # a constraint forbids it: nothing to detect
                db.execute("ROLLBACK TO change")
                assume(False)
            db.execute("RELEASE change")
            what = f"set {table}.{column} = {new!r} in row {at}"
        report = Report()
        compare(db, given_rows, report)
        assert not report.ok, what
        assert all(p.kind.startswith("catalogue_") for p in report.problems), report.problems
    finally:
        db.execute("ROLLBACK")
        db.close()
