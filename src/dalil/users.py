"""People who work in a vault: accounts, roles, passwords (argon2id), and what each role may do.

Users live in the vault's catalogue. Adding a user, changing a role, disabling an account and
setting a password are ledger events (the password itself never is). The command line names
its actor with ``--as``; the web workspace requires a login.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dalil.catalog import atomic
from dalil.errors import UsageError
from dalil.ledger.log import Ledger
from dalil.timeutil import utc_now

ROLES = ("admin", "archivist", "investigator", "reviewer", "liaison", "auditor")

PERMISSIONS: dict[str, frozenset[str]] = {
    # see what is in the vault, blurred: dashboard, items, clusters, cases, acquisitions
    "browse": frozenset(ROLES),
    "search": frozenset(ROLES),
    # see an unblurred image (each time a ledger event); never the family-liaison role
    "reveal": frozenset({"admin", "archivist", "investigator", "reviewer"}),
    "ingest": frozenset({"admin", "archivist"}),
    "cases.edit": frozenset({"admin", "investigator"}),
    "review": frozenset({"admin", "investigator", "reviewer"}),
    "audit": frozenset({"admin", "auditor"}),
    "users": frozenset({"admin"}),
    "own-settings": frozenset(ROLES),
}
"""Permission → roles that hold it. docs/web.md shows this table; tests walk it."""

BLUR_LEVELS = (1, 2, 3, 4)
"""1: light … 4: heavy (the thumbnail's blur radius grows with it). Default 3."""

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD = 12


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    disabled: bool
    blur: int
    greyscale: bool

    def may(self, permission: str) -> bool:
        return not self.disabled and self.role in PERMISSIONS[permission]


def get(conn: sqlite3.Connection, name: str) -> User | None:
    row = conn.execute(
        "SELECT name, role, disabled, blur, greyscale FROM users WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        return None
    return User(str(row[0]), str(row[1]), bool(row[2]), int(row[3]), bool(row[4]))


def list_users(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT name, role, disabled, created_at, password_hash IS NOT NULL FROM users"
        " ORDER BY name"
    )
    return [
        {
            "name": r[0],
            "role": r[1],
            "disabled": bool(r[2]),
            "created_at": r[3],
            "can_log_in": bool(r[4]),
        }
        for r in rows
    ]


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UsageError(f"a role is one of: {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")


def add(
    conn: sqlite3.Connection,
    ledger: Ledger,
    actor: str,
    name: str,
    role: str,
    password: str | None,
) -> None:
    _check_role(role)
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise UsageError("a user name is 1-64 characters without spaces")
    if password is not None:
        _check_password(password)
    with atomic(conn):
        same = conn.execute(
            "SELECT name FROM users WHERE lower(name) = lower(?)", (name,)
        ).fetchone()
        if same:
            raise UsageError(f"user {same[0]!r} exists already (use `dalil users role`)")
        conn.execute(
            "INSERT INTO users (name, role, created_at, password_hash) VALUES (?, ?, ?, ?)",
            (name, role, utc_now(), None if password is None else _HASHER.hash(password)),
        )
        ledger.append(actor, "user.added", f"user:{name}", {"role": role})


def _existing(conn: sqlite3.Connection, name: str) -> None:
    if not conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
        raise UsageError(f"no user {name!r}")


def set_role(conn: sqlite3.Connection, ledger: Ledger, actor: str, name: str, role: str) -> None:
    _check_role(role)
    with atomic(conn):
        _existing(conn, name)
        conn.execute("UPDATE users SET role = ? WHERE name = ?", (role, name))
        conn.execute("UPDATE sessions SET revoked = 1 WHERE user = ?", (name,))
        ledger.append(actor, "user.role", f"user:{name}", {"role": role})


def set_disabled(
    conn: sqlite3.Connection, ledger: Ledger, actor: str, name: str, disabled: bool
) -> None:
    with atomic(conn):
        _existing(conn, name)
        conn.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
        conn.execute("UPDATE sessions SET revoked = 1 WHERE user = ?", (name,))
        ledger.append(actor, "user.disabled" if disabled else "user.enabled", f"user:{name}", {})


def set_password(
    conn: sqlite3.Connection, ledger: Ledger, actor: str, name: str, password: str
) -> None:
    _check_password(password)
    with atomic(conn):
        _existing(conn, name)
        conn.execute(
            "UPDATE users SET password_hash = ? WHERE name = ?", (_HASHER.hash(password), name)
        )
        conn.execute("UPDATE sessions SET revoked = 1 WHERE user = ?", (name,))
        ledger.append(actor, "user.password", f"user:{name}", {})


def set_display(conn: sqlite3.Connection, name: str, blur: int, greyscale: bool) -> None:
    """A user's own display settings (not evidence: no ledger event)."""
    if blur not in BLUR_LEVELS:
        raise UsageError(f"blur is one of {BLUR_LEVELS}")
    with atomic(conn):
        conn.execute(
            "UPDATE users SET blur = ?, greyscale = ? WHERE name = ?", (blur, int(greyscale), name)
        )


def check_password(conn: sqlite3.Connection, name: str, password: str) -> User | None:
    """The user, if ``password`` is theirs and the account may log in."""
    row = conn.execute(
        "SELECT password_hash FROM users WHERE name = ? AND disabled = 0", (name,)
    ).fetchone()
    if row is None or row[0] is None:
        _HASHER.hash(password)  # same time whether or not the user exists
        return None
    try:
        _HASHER.verify(str(row[0]), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return get(conn, name)
