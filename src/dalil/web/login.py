"""Logging in and out.

An attempt is counted before its password is checked (:func:`dalil.web.auth.claim_attempt`),
so parallel guesses cannot overrun the limit; at most :data:`dalil.web.auth.PASSWORD_CHECKS`
passwords are hashed at once. The login page shows one of a few fixed messages, chosen by a
code in the query string: it never repeats what the query string says."""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from dalil import signing, users
from dalil.catalog import atomic
from dalil.i18n import N_
from dalil.vault import Vault
from dalil.web import auth
from dalil.web.auth import Own
from dalil.web.guard import GuardedRoute
from dalil.web.redirects import back, safe_path
from dalil.web.render import page

router = APIRouter(route_class=GuardedRoute)

MESSAGES = {
    "wrong": N_("Wrong name or password."),
    "expired": N_("The form expired; please try again."),
    "throttled": N_("Too many failed attempts. Wait 15 minutes, or ask an admin."),
    "busy": N_("Too many people are logging in at this moment; please try again."),
}
"""Message codes of the login page (``/login?error=CODE``); any other code shows nothing."""


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def _login_form(request: Request, next: str, error: str, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(
        request, "login.html", next=safe_path(next), message=MESSAGES.get(error), login_csrf=token
    )
    response.status_code = status
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=bool(request.state.secure),
        max_age=3600,
    )
    return response


@router.get("/login", dependencies=[Depends(auth.need(None))])
def login_page(request: Request, next: str = "/", error: str = "") -> Response:
    return _login_form(request, next, error)


@router.post("/login", dependencies=[Depends(auth.need(None))])
def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    cookie = request.cookies.get(auth.LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf):
        return back("/login?error=expired")
    where = auth.address(request)
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        attempt = auth.claim_attempt(conn, name, where)
        if attempt is None:
            return _login_form(request, next, "throttled", 429)
        with auth.password_check() as slot:
            if not slot:  # counted, but not checked: the server is saturated
                auth.attempt_succeeded(conn, attempt)
                return _login_form(request, next, "busy", 503)
            user = users.check_password(conn, name, password)
        if user is None:
            return back("/login?error=wrong")
        auth.attempt_succeeded(conn, attempt)
        key = _own_key(conn, user.name, password)
        token = auth.start_session(conn, user.name, where, request.cookies.get(auth.COOKIE), key)
        with atomic(conn):
            if key is None:
                vault.ledger(conn).append(
                    user.name, "user.login", f"user:{user.name}", {"via": "web"}
                )
            else:
                with signing.acting(vault.origin, user.name, key):
                    vault.ledger(conn).append(
                        user.name, "user.login", f"user:{user.name}", {"via": "web"}
                    )
    done: Response = back(safe_path(next))
    done.set_cookie(
        auth.COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=bool(request.state.secure),
        max_age=auth.ABSOLUTE_SECONDS,
        path="/",
    )
    done.delete_cookie(auth.LOGIN_CSRF_COOKIE)
    return done


def _own_key(conn: Any, name: str, password: str) -> Any:
    """The person's own key, unsealed with the password they just gave (None for an account
    from before people had keys)."""
    row = conn.execute("SELECT sealed_key FROM users WHERE name = ?", (name,)).fetchone()
    if row is None or not row[0]:
        return None
    return signing.unseal(json.loads(row[0]), password)


@router.post("/logout")
def logout(request: Request, user: Own) -> Response:
    token = request.cookies.get(auth.COOKIE)
    if token:
        with auth.connection(_vault(request), readonly=False) as conn:
            auth.end_session(conn, token)
    response = back("/login")
    response.delete_cookie(auth.COOKIE, path="/")
    return response
