"""Rendering pages: the Jinja2 environment (autoescape on for ``.html``) and the one helper
every route uses, so that routes and the application never import each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dalil import users
from dalil.web import auth

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))


def look_of(user: users.User) -> str:
    """A user's look — blur level and colour — as every blurred image's URL carries it
    (``?look=3g``, ``1c``): a changed setting is a new URL, never a copy the browser kept."""
    return f"{user.blur}{'g' if user.greyscale else 'c'}"


def page(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` rendered with the request's session, user, the user's ``look`` and
    ``context``."""
    session = auth.session_of(request)
    user = session.user if session else None
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"session": session, "user": user, "look": look_of(user) if user else "", **context},
        status_code=status_code,
    )
