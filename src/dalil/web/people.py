"""Accounts and one's own settings: the administrator's user list (add, role, disable, end
sessions) and each user's display settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from dalil import users
from dalil.vault import Vault
from dalil.web import auth
from dalil.web.auth import Admin, Own
from dalil.web.guard import GuardedRoute
from dalil.web.redirects import back as _back
from dalil.web.render import page

router = APIRouter(route_class=GuardedRoute)


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, user: Admin) -> Response:
    with auth.connection(_vault(request)) as conn:
        rows = users.list_users(conn)
    return page(request, "users.html", rows=rows, roles=users.ROLES)


@router.post("/users")
def users_add(
    request: Request,
    user: Admin,
    name: Annotated[str, Form()],
    role: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        users.add(conn, vault.ledger(conn), user.name, name, role, password)
    return _back("/users")


@router.post("/users/{name}/role")
def users_role(request: Request, name: str, user: Admin, role: Annotated[str, Form()]) -> Response:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        users.set_role(conn, vault.ledger(conn), user.name, name, role)
    return _back("/users")


@router.post("/users/{name}/disable")
def users_disable(
    request: Request, name: str, user: Admin, enable: Annotated[str, Form()] = ""
) -> Response:
    vault = _vault(request)
    with auth.connection(vault, readonly=False) as conn:
        users.set_disabled(conn, vault.ledger(conn), user.name, name, not enable)
    return _back("/users")


@router.post("/users/{name}/sessions")
def users_revoke(request: Request, name: str, user: Admin) -> Response:
    with auth.connection(_vault(request), readonly=False) as conn:
        auth.revoke_all(conn, name)
    return _back("/users")


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, user: Own, saved: bool = False) -> Response:
    with auth.connection(_vault(request)) as conn:  # a picture to show the blur on
        sample = conn.execute(
            "SELECT sha256 FROM items WHERE media_type LIKE 'image/%' ORDER BY sha256 LIMIT 1"
        ).fetchone()
    return page(
        request,
        "settings.html",
        levels=users.BLUR_LEVELS,
        saved=saved,
        sample=sample[0] if sample else None,
    )


@router.post("/settings")
def settings_save(
    request: Request,
    user: Own,
    blur: Annotated[int, Form(ge=min(users.BLUR_LEVELS), le=max(users.BLUR_LEVELS))],
    greyscale: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
    digits: Annotated[str, Form()] = "western",
) -> Response:
    with auth.connection(_vault(request), readonly=False) as conn:
        users.set_display(conn, user.name, blur, bool(greyscale), language or None, digits)
    return _back("/settings?saved=1")
