"""People who work in a vault: accounts, roles, passwords (argon2id), and what each role may do.

Users are a projection of the ledger: adding a user, changing a role, disabling an account and
setting a password are ledger events (the password's argon2 hash is in the event's payload,
never the password). Display settings are working state (``state.sqlite``). The command line names
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
        "SELECT u.name, u.role, u.disabled, COALESCE(s.blur, 3), COALESCE(s.greyscale, 1)"
        " FROM users u LEFT JOIN user_settings s ON s.name = u.name WHERE u.name = ?",
        (name,),
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


SELF_AUTHORISED = frozenset({"vault.created"})
"""Actions whose actor need not be a user yet: the creator of a vault becomes its admin."""

SYSTEM_ACTOR = "dalil"
"""Dalil itself, the actor of what no person decides (binding an old catalogue); no user may
take this name."""

SYSTEM_ACTIONS = frozenset({"catalog.bound"})


def check_actor(conn: sqlite3.Connection, name: str) -> str:
    """The role of the user ``name``; a usage error if there is none or it is disabled."""
    if not name:
        raise UsageError("an actor needs a name (--as NAME)")
    row = conn.execute("SELECT role, disabled FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        other = conn.execute(
            "SELECT name FROM users WHERE lower(name) = lower(?)", (name,)
        ).fetchone()
        if other is not None:  # one person, one name: no second spelling
            raise UsageError(f"the user is called {other[0]!r}; act under that name")
        raise UsageError(
            f"no user {name!r} in this vault; an administrator adds people with"
            f" 'dalil users add {name} --role ROLE --as ADMIN'"
        )
    if row[1]:
        raise UsageError(f"the account {name!r} is disabled")
    return str(row[0])


def may_record(conn: sqlite3.Connection, actor: str, action: str) -> None:
    """Raise unless ``actor`` may be the actor of a ledger event ``action``."""
    if action in SELF_AUTHORISED or (actor == SYSTEM_ACTOR and action in SYSTEM_ACTIONS):
        return
    check_actor(conn, actor)


def _require_admin(conn: sqlite3.Connection, actor: str, what: str) -> None:
    if check_actor(conn, actor) != "admin":
        raise UsageError(f"only an administrator can {what} ({actor} is not one)")


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
    if name == SYSTEM_ACTOR:
        raise UsageError(f"{SYSTEM_ACTOR!r} is the name Dalil itself uses in the ledger")
    if password is not None:
        _check_password(password)
    with atomic(conn):
        _require_admin(conn, actor, "add users")
        same = conn.execute(
            "SELECT name FROM users WHERE lower(name) = lower(?)", (name,)
        ).fetchone()
        if same:
            raise UsageError(f"user {same[0]!r} exists already (use `dalil users role`)")
        ledger.append(
            actor,
            "user.added",
            f"user:{name}",
            {"role": role},
            {
                "name": name,
                "role": role,
                "password_hash": None if password is None else _HASHER.hash(password),
            },
        )


def _existing(conn: sqlite3.Connection, name: str) -> None:
    if not conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
        raise UsageError(f"no user {name!r}")


def set_role(conn: sqlite3.Connection, ledger: Ledger, actor: str, name: str, role: str) -> None:
    _check_role(role)
    with atomic(conn):
        _require_admin(conn, actor, "change roles")
        _existing(conn, name)
        ledger.append(
            actor, "user.role", f"user:{name}", {"role": role}, {"name": name, "role": role}
        )
        conn.execute("UPDATE sessions SET revoked = 1 WHERE user = ?", (name,))


def set_disabled(
    conn: sqlite3.Connection, ledger: Ledger, actor: str, name: str, disabled: bool
) -> None:
    with atomic(conn):
        _require_admin(conn, actor, "disable or enable accounts")
        _existing(conn, name)
        action = "user.disabled" if disabled else "user.enabled"
        ledger.append(actor, action, f"user:{name}", {}, {"name": name})
        conn.execute("UPDATE sessions SET revoked = 1 WHERE user = ?", (name,))


def set_password(
    conn: sqlite3.Connection, ledger: Ledger, actor: str, name: str, password: str
) -> None:
    _check_password(password)
    with atomic(conn):
        if actor != name:
            _require_admin(conn, actor, "set another person's password")
        _existing(conn, name)
        ledger.append(
            actor,
            "user.password",
            f"user:{name}",
            {},
            {"name": name, "password_hash": _HASHER.hash(password)},
        )
        conn.execute("UPDATE sessions SET revoked = 1 WHERE user = ?", (name,))


def set_display(conn: sqlite3.Connection, name: str, blur: int, greyscale: bool) -> None:
    """A user's own display settings (working state, not evidence: no ledger event)."""
    if blur not in BLUR_LEVELS:
        raise UsageError(f"blur is one of {BLUR_LEVELS}")
    with atomic(conn):
        conn.execute(
            "INSERT OR REPLACE INTO user_settings (name, blur, greyscale) VALUES (?, ?, ?)",
            (name, blur, int(greyscale)),
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
