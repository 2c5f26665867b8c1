"""Projectors of accounts: who may act in the vault, with which role."""

from __future__ import annotations

import sqlite3

from dalil.projection import Fact, projects


@projects("vault.created")
def _created(conn: sqlite3.Connection, fact: Fact) -> None:
    """Whoever creates a vault is its first administrator."""
    conn.execute(
        "INSERT INTO users (name, role, created_at) VALUES (?, 'admin', ?)",
        (fact.payload["user"], fact.time),
    )


@projects("user.added")
def _added(conn: sqlite3.Connection, fact: Fact) -> None:
    p = fact.payload
    conn.execute(
        "INSERT INTO users (name, role, created_at, password_hash) VALUES (?, ?, ?, ?)",
        (p["name"], p["role"], fact.time, p.get("password_hash")),
    )


@projects("user.role")
def _role(conn: sqlite3.Connection, fact: Fact) -> None:
    conn.execute(
        "UPDATE users SET role = ? WHERE name = ?", (fact.payload["role"], fact.payload["name"])
    )


@projects("user.disabled", "user.enabled")
def _disabled(conn: sqlite3.Connection, fact: Fact) -> None:
    disabled = int(fact.event["action"] == "user.disabled")
    conn.execute("UPDATE users SET disabled = ? WHERE name = ?", (disabled, fact.payload["name"]))


@projects("user.password")
def _password(conn: sqlite3.Connection, fact: Fact) -> None:
    conn.execute(
        "UPDATE users SET password_hash = ? WHERE name = ?",
        (fact.payload["password_hash"], fact.payload["name"]),
    )
