"""Projectors of accounts: who may act in the vault, with which role."""

from __future__ import annotations

import json
from typing import Any

from dalil.catalog.db import Db
from dalil.projection import Fact, projects


def _key(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """(public key, sealed private key as JSON) of a person, where the event gives one."""
    key = payload.get("key")
    if not isinstance(key, dict):
        return None, None
    return str(key["public"]), json.dumps(key, sort_keys=True)


@projects("vault.created")
def _created(conn: Db, fact: Fact) -> None:
    """Whoever creates a vault is its first administrator."""
    public, sealed = _key(fact.payload)
    conn.execute(
        "INSERT INTO users (name, role, created_at, password_hash, public_key, sealed_key)"
        " VALUES (?, 'admin', ?, ?, ?, ?)",
        (fact.payload["user"], fact.time, fact.payload.get("password_hash"), public, sealed),
    )


@projects("user.added")
def _added(conn: Db, fact: Fact) -> None:
    p = fact.payload
    public, sealed = _key(p)
    conn.execute(
        "INSERT INTO users (name, role, created_at, password_hash, public_key, sealed_key)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (p["name"], p["role"], fact.time, p.get("password_hash"), public, sealed),
    )


@projects("user.role")
def _role(conn: Db, fact: Fact) -> None:
    conn.execute(
        "UPDATE users SET role = ? WHERE name = ?", (fact.payload["role"], fact.payload["name"])
    )


@projects("user.disabled", "user.enabled")
def _disabled(conn: Db, fact: Fact) -> None:
    disabled = int(fact.event["action"] == "user.disabled")
    conn.execute("UPDATE users SET disabled = ? WHERE name = ?", (disabled, fact.payload["name"]))


@projects("user.password")
def _password(conn: Db, fact: Fact) -> None:
    """A new password; with it the private key sealed anew (the same key when its owner
    changed the password, a new key when an administrator reset it)."""
    public, sealed = _key(fact.payload)
    conn.execute(
        "UPDATE users SET password_hash = ?, public_key = COALESCE(?, public_key),"
        " sealed_key = COALESCE(?, sealed_key) WHERE name = ?",
        (fact.payload["password_hash"], public, sealed, fact.payload["name"]),
    )
