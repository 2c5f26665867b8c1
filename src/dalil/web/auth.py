"""Sessions, CSRF, login throttling and per-route permissions for the web workspace.

- A session is a random token in an HttpOnly, SameSite=strict cookie (Secure behind TLS);
  the catalogue keeps only its SHA-256, so a copied catalogue opens no session. Logging in
  always starts a new session (no fixation); sessions expire after a period of inactivity and
  at an absolute limit, and end when the user logs out, is disabled, changes role or password.
- Every state-changing request must carry the session's CSRF token (a form field or the
  ``X-CSRF-Token`` header that the pages' htmx sends); the login form uses a double-submit
  cookie.
- Login attempts are counted per name and per address before the password is checked (one
  transaction checks and counts, so parallel attempts cannot slip past the limit); too many
  failures within the window and the login is refused for the rest of it. Password hashing is
  bounded (:data:`PASSWORD_CHECKS` at once per process).
- Every route declares the permission it needs (:func:`need`); :data:`ROUTE_PERMISSIONS`
  records them so that tests can walk every route for every role.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, HTTPException, Request

from dalil import signing, users
from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.vault import Vault

COOKIE = "dalil_session"
LOGIN_CSRF_COOKIE = "dalil_login_csrf"
IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
FAILURE_WINDOW = 15 * 60
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

ROUTE_PERMISSIONS: dict[tuple[str, str], str | None] = {}
"""(method, path template) → permission needed (None: open, e.g. the login page)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    token_hash: str
    user: users.User
    csrf: str
    key: Ed25519PrivateKey | None = None  # the person's own key: it signs what they do


def address(request: Request) -> str:
    """The client's address: the connection's peer. A proxy's ``X-Forwarded-For`` replaces it
    only when ``dalil serve --trusted-proxy`` names that proxy (the server, not this code,
    decides: see :func:`dalil.cli.serve.server_options`)."""
    return request.client.host if request.client else "?"


_LOCAL = threading.local()


@contextmanager
def connection(vault: Vault, *, readonly: bool = True) -> Iterator[Db]:
    """A catalogue connection for one request. Read-only ones are kept per thread and reused
    (each statement is its own snapshot in autocommit mode); writable ones are fresh."""
    if readonly:
        cache: dict[str, Db] = getattr(_LOCAL, "connections", None) or {}
        _LOCAL.connections = cache
        key = str(vault.catalog_path)
        conn = cache.get(key)
        if conn is not None and getattr(conn, "broken", False):  # the database went away
            cache.pop(key, None)
            conn = None
        if conn is None:
            conn = cache[key] = vault.connect(readonly=True)
        if conn.in_transaction:  # never left open by a request, but never trust it
            conn.rollback()
        yield conn
        return
    conn = vault.connect()
    try:
        yield conn
        # what the request recorded is signed at once (if the key needs a passphrase the
        # server was not given, the tail stays unsigned until 'dalil ledger checkpoint')
        vault.ledger(conn).sign_tail()
    finally:
        conn.close()


def claim_attempt(conn: Db, name: str, where: str) -> int | None:
    """Count a login attempt for ``name`` from ``where`` before its password is checked; None
    if the name or the address has used up its attempts in the window.

    Checking and counting happen in one write transaction, so parallel attempts cannot all
    pass the check before any of them is counted. The attempt is counted as a failure until
    :func:`attempt_succeeded` takes it back."""
    now = time.time()
    since = now - FAILURE_WINDOW
    name = name[:200]
    with atomic(conn):
        by_user = conn.execute(
            "SELECT COUNT(*) FROM login_failures WHERE user = ? AND at > ?", (name, since)
        ).fetchone()[0]
        by_address = conn.execute(
            "SELECT COUNT(*) FROM login_failures WHERE address = ? AND at > ?", (where, since)
        ).fetchone()[0]
        if by_user >= MAX_FAILURES_PER_USER or by_address >= MAX_FAILURES_PER_ADDRESS:
            return None
        cursor = conn.execute(
            "INSERT INTO login_failures (user, address, at) VALUES (?, ?, ?) RETURNING id",
            (name, where, now),
        )
        attempt = int(cursor.fetchone()[0])
        conn.execute("DELETE FROM login_failures WHERE at < ?", (now - 86400,))
    return attempt


def attempt_succeeded(conn: Db, attempt: int) -> None:
    """The attempt :func:`claim_attempt` counted was the right password: not a failure."""
    with atomic(conn):
        conn.execute("DELETE FROM login_failures WHERE id = ?", (attempt,))


PASSWORD_CHECKS = 2
"""Password hashes computed at once by one server process (argon2id takes ~64 MiB each)."""

_CHECKING = threading.BoundedSemaphore(PASSWORD_CHECKS)


@contextmanager
def password_check(wait: float = 30.0) -> Iterator[bool]:
    """Take one of the :data:`PASSWORD_CHECKS` slots (False if none came within ``wait``
    seconds: the server is too busy)."""
    if not _CHECKING.acquire(timeout=wait):
        yield False
        return
    try:
        yield True
    finally:
        _CHECKING.release()


def start_session(
    conn: Db,
    user: str,
    where: str,
    old: str | None,
    key: Ed25519PrivateKey | None = None,
) -> str:
    """A new session for ``user`` (the old cookie's session, if any, ends); returns the token.
    The person's own key, unsealed with their password at login, is kept for the session
    sealed with its token (so it signs what they do, and opens only with their cookie)."""
    token = secrets.token_urlsafe(32)
    now = time.time()
    with atomic(conn):
        if old:
            conn.execute("UPDATE sessions SET revoked = 1 WHERE token_hash = ?", (_digest(old),))
        conn.execute(
            "INSERT INTO sessions (token_hash, user, csrf, address, created_at, last_seen,"
            " expires_at, revoked, sealed_key) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
            (
                _digest(token),
                user,
                secrets.token_urlsafe(32),
                where,
                now,
                now,
                now + ABSOLUTE_SECONDS,
                None if key is None else signing.seal_for_session(key, token),
            ),
        )
        conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now - 86400,))
    return token


def end_session(conn: Db, token: str) -> None:
    with atomic(conn):
        conn.execute("UPDATE sessions SET revoked = 1 WHERE token_hash = ?", (_digest(token),))


def revoke_all(conn: Db, user: str) -> None:
    with atomic(conn):
        conn.execute("UPDATE sessions SET revoked = 1 WHERE user = ?", (user,))


def lookup(vault: Vault, token: str | None) -> Session | None:
    if not token:
        return None
    with connection(vault) as conn:  # this thread's read-only connection
        row = conn.execute(
            "SELECT token_hash, user, csrf, last_seen, expires_at, revoked, sealed_key"
            " FROM sessions WHERE token_hash = ?",
            (_digest(token),),
        ).fetchone()
        if row is None or row[5]:
            return None
        now = time.time()
        if now > float(row[4]) or now - float(row[3]) > IDLE_SECONDS:
            return None
        user = users.get(conn, str(row[1]))
    if user is None or user.disabled:
        return None
    if now - float(row[3]) > 60:  # keep writes rare: refresh the idle clock once a minute
        try:
            with connection(vault, readonly=False) as writable:
                writable.execute("PRAGMA busy_timeout = 200")  # never wait long for this
                writable.execute(
                    "UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (now, row[0])
                )
        except sqlite3.OperationalError:
            pass  # busy: a later request will do it
    key = None if row[6] is None else signing.unseal_for_session(str(row[6]), token)
    return Session(str(row[0]), user, str(row[2]), key)


def session_of(request: Request) -> Session | None:
    found = getattr(request.state, "session", None)
    return found if isinstance(found, Session) else None


class NotLoggedIn(Exception):
    """Raised for a page that needs a login; the app redirects to /login."""


def _csrf_given(request: Request, form: dict[str, Any] | None) -> str:
    return str(request.headers.get("x-csrf-token") or (form or {}).get("csrf") or "")


def csrf_ok(request: Request, session: Session, form: dict[str, Any] | None) -> bool:
    return hmac.compare_digest(_csrf_given(request, form), session.csrf)


async def admit(request: Request, permission: str | None) -> Session | None:
    """Raise unless the request may reach a route that needs ``permission``: a live session,
    the permission, and for a change the session's CSRF token. Runs before the route's body
    is read (:class:`dalil.web.guard.GuardedRoute`): the token comes from the
    ``X-CSRF-Token`` header, from the query string of a multipart upload, or from the field
    ``csrf`` of a URL-encoded form — the one body read here, once the user is known, and held
    to the small form limit."""
    if permission is None:
        return None
    session = session_of(request)
    if session is None:
        if request.url.path.startswith("/api/"):
            raise HTTPException(401, "log in first")
        raise NotLoggedIn()
    if not session.user.may(permission):
        raise HTTPException(403, f"your role ({session.user.role}) may not do this")
    if request.method not in SAFE_METHODS:
        form: dict[str, Any] | None = None
        kind = request.headers.get("content-type", "")
        if "x-csrf-token" not in request.headers:
            if kind.startswith("application/x-www-form-urlencoded"):
                form = dict(await request.form())
            elif kind.startswith("multipart/form-data"):
                # never parse (spool) a multipart body to find the token: it comes in the
                # header (htmx) or the query string
                form = {"csrf": request.query_params.get("csrf", "")}
        if not csrf_ok(request, session, form):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page")
    return session


def need(permission: str | None) -> Callable[[Request], Any]:
    """A FastAPI dependency: the request's user must hold ``permission`` (and, for a request
    that changes something, present the CSRF token). Every route declares one; the route
    class checks it before the body is read, the dependency hands over the user."""

    async def check(request: Request) -> users.User | None:
        session = await admit(request, permission)
        return session.user if session is not None else None

    check.permission = permission  # type: ignore[attr-defined]
    return check


# The user of a request, for routes that need each permission (``user: Browse`` in a route's
# signature both checks the permission and hands over the user).
Browse = Annotated[users.User, Depends(need("browse"))]
Search = Annotated[users.User, Depends(need("search"))]
Reveal = Annotated[users.User, Depends(need("reveal"))]
Ingest = Annotated[users.User, Depends(need("ingest"))]
Edit = Annotated[users.User, Depends(need("cases.edit"))]
Review = Annotated[users.User, Depends(need("review"))]
Audit = Annotated[users.User, Depends(need("audit"))]
Admin = Annotated[users.User, Depends(need("users"))]
Own = Annotated[users.User, Depends(need("own-settings"))]
