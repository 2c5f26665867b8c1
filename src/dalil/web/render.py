"""Rendering pages: the Jinja2 environment (autoescape on for ``.html``) and the one helper
every route uses, so that routes and the application never import each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dalil.web import auth

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))


def page(request: Request, template: str, **context: Any) -> HTMLResponse:
    """``template`` rendered with the request's session and user and ``context``."""
    session = auth.session_of(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"session": session, "user": session.user if session else None, **context},
    )
