"""Decisions belong to people who proved who they are, and carry their signature."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from dalil import keys, signing
from dalil.cases import model, review
from dalil.catalog import atomic
from dalil.errors import UsageError
from dalil.ledger.canonical import canonical_json, checkpoint_message
from dalil.ledger.merkle import leaf_hash
from dalil.vault import Vault
from dalil.verify import verify
from tests.conftest import PASSWORD, add_users, catalogue, dalil_command, run_dalil


@pytest.fixture
def people(tmp_path: Path) -> Vault:
    vault = Vault.init(tmp_path / "vault", "amina", PASSWORD)
    add_users(vault, "amina", "omar", role="reviewer")
    return vault


def _claim(vault: Vault) -> int:
    conn = vault.connect()
    try:
        ledger = vault.ledger(conn)
        case = model.new_case(conn, ledger, model.Actor("amina"), "person", "Card 7")
        claim, _ = model.add_annotation(
            conn, ledger, model.Actor("amina"), case, "identifier", "detainee", "4721"
        )
        ledger.sign_tail()
        return claim
    finally:
        conn.close()


def _events(vault: Vault) -> list[dict]:
    conn = catalogue(vault, "ledger")
    return [json.loads(r[0]) for r in conn.execute("SELECT event FROM ledger ORDER BY seq")]


def test_a_typo_in_as_is_refused_and_creates_nothing(people: Vault) -> None:
    claim = _claim(people)
    before = len(_events(people))
    done = run_dalil("review", "confirm", str(claim), "--vault", people.root, "--as", "omra")
    assert done.returncode == 2 and "no user 'omra'" in done.stderr
    assert len(_events(people)) == before
    conn = people.connect()
    assert [r[0] for r in conn.execute("SELECT name FROM users ORDER BY name")] == ["amina", "omar"]


def test_every_decision_is_signed_by_its_author(people: Vault) -> None:
    claim = _claim(people)
    conn = people.connect()
    review.confirm(conn, people.ledger(conn), model.Actor("omar"), claim)
    conn.close()
    registered = dict(catalogue(people).execute("SELECT name, public_key FROM users"))
    for event in _events(people):
        if event["actor"] in registered:
            assert signing.check_event(event, registered[event["actor"]]) is None, event
            assert event["details"]["signature"]["key"] == signing.fingerprint(
                registered[event["actor"]]
            )


def test_one_person_cannot_supply_both_confirmations(people: Vault) -> None:
    """amina, with the files and the vault key but not omar's password, writes omar's
    confirmation of her own claim: verify names it."""
    claim = _claim(people)
    conn = people.connect()
    try:
        ledger = people.ledger(conn)
        forged = signing.Ed25519PrivateKey.generate()
        with signing.acting(people.origin, "omar", forged), atomic(conn):
            conn.execute(  # past the library's check: the forger's own key, set as omar's
                "UPDATE users SET public_key = ? WHERE name = 'omar'",
                (signing.public_b64(forged),),
            )
            review.confirm(conn, ledger, model.Actor("omar"), claim)
            conn.execute(
                "UPDATE users SET public_key = ? WHERE name = 'omar'",
                (
                    json.loads(
                        conn.execute("SELECT sealed_key FROM users WHERE name = 'omar'").fetchone()[
                            0
                        ]
                    )["public"],
                ),
            )
        ledger.sign_tail()
        state = conn.execute("SELECT state FROM annotations WHERE id = ?", (claim,)).fetchone()
        assert state[0] == "verified"  # the catalogue believes it …
    finally:
        conn.close()
    problems = verify(people, jobs=1).problems
    forged_ones = [p for p in problems if p.kind == "signature_invalid"]
    assert forged_ones and "by 'omar'" in forged_ones[0].detail  # … the ledger does not


def test_an_edited_decision_is_reported_even_with_every_hash_redone(people: Vault) -> None:
    """The comment of omar's rejection rewritten in the ledger file, its payload digest, leaf
    hash and every checkpoint redone with the vault key (anyone with the files has it)."""
    claim = _claim(people)
    conn = people.connect()
    review.reject(conn, people.ledger(conn), model.Actor("omar"), claim, "it is a 7")
    people.ledger(conn).sign_tail()
    conn.close()
    db = catalogue(people, "ledger", isolation_level=None)
    seq, text = db.execute("SELECT seq, event FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    event = json.loads(text)
    assert event["action"] == "annotation.rejected"
    payload = json.loads(
        db.execute("SELECT data FROM payloads WHERE seq = ?", (seq,)).fetchone()[0]
    )
    payload["comment"] = "it is right"
    data = canonical_json(payload)
    import hashlib

    event["details"]["payload"] = hashlib.sha256(data).hexdigest()
    encoded = canonical_json(event)
    db.execute("UPDATE payloads SET data = ? WHERE seq = ?", (data.decode(), seq))
    db.execute(
        "UPDATE ledger SET event = ?, leaf_hash = ? WHERE seq = ?",
        (encoded.decode(), leaf_hash(encoded), seq),
    )
    private = keys.load_private(people.keys_dir)
    ledger = people.ledger(people.connect(readonly=True), signing=False)
    size, root = len(ledger.stored_leaf_hashes()), ledger.root().hex()
    for cid, origin, cp_size, _root, time in db.execute(
        "SELECT id, origin, size, root, time FROM checkpoints WHERE size = ?", (size,)
    ).fetchall():
        db.execute(
            "UPDATE checkpoints SET root = ?, signature = ? WHERE id = ?",
            (root, keys.sign(private, checkpoint_message(origin, cp_size, root, time)), cid),
        )
    problems = verify(people, jobs=1).problems
    assert {p.kind for p in problems} >= {"signature_invalid"}
    assert not [p for p in problems if p.kind.startswith("checkpoint")]


def test_a_password_reset_by_an_administrator_gives_a_new_key(people: Vault) -> None:
    from dalil import users

    claim = _claim(people)
    conn = people.connect()
    review.confirm(conn, people.ledger(conn), model.Actor("omar"), claim)
    before = conn.execute("SELECT public_key FROM users WHERE name = 'omar'").fetchone()[0]
    users.set_password(conn, people.ledger(conn), "amina", "omar", "a brand new password")
    after = conn.execute("SELECT public_key FROM users WHERE name = 'omar'").fetchone()[0]
    assert before != after
    signing.forget(people.origin)
    with pytest.raises(UsageError, match="wrong password"):  # the old password opens nothing
        model.new_case(conn, people.ledger(conn), model.Actor("omar"), "place", "x")
    people.ledger(conn).sign_tail()
    conn.close()
    assert verify(people, jobs=1).ok  # omar's earlier confirmation still checks


def test_unlock_then_act_without_a_password(people: Vault) -> None:
    claim = _claim(people)
    env = {k: v for k, v in os.environ.items() if k != "DALIL_PASSWORD"}
    confirm = dalil_command("review", "confirm", str(claim), "--vault", people.root, "--as", "omar")
    refused = subprocess.run(confirm, capture_output=True, text=True, env=env, check=False)
    assert refused.returncode == 2 and "has not proved who they are" in refused.stderr
    unlock = dalil_command("unlock", "--password-stdin", "--vault", people.root, "--as", "omar")
    done = subprocess.run(
        unlock, input="wrong password!!\n", capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 2 and "wrong password" in done.stderr
    done = subprocess.run(
        unlock, input=PASSWORD + "\n", capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    worked = subprocess.run(confirm, capture_output=True, text=True, env=env, check=False)
    assert worked.returncode == 0, worked.stderr
    assert "1 of 1 confirmations" in worked.stdout
    lock = dalil_command("lock", "--vault", people.root, "--as", "omar")
    assert subprocess.run(lock, capture_output=True, env=env, check=False).returncode == 0
    assert run_dalil("verify", "--vault", people.root).returncode == 0
