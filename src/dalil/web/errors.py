"""Errors in the web workspace, translated in one place: the status, a message meant for the
user — never a path on the server's disk — and the same page or JSON shape for every route.

- :class:`~dalil.web.auth.NotLoggedIn` → the login page (401 for htmx and the API);
- ``HTTPException`` → its status; a :class:`~dalil.errors.DalilError` → 400, 404 for "no …",
  409 when the vault is busy;
- parameters out of range or malformed → 400 with a sentence naming them
  (:func:`dalil.web.params.explain`);
- anything else → 500 with a fixed message (the details go to the server's log).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException  # also what routing raises for an unknown path

from dalil.errors import DalilError, NotFound, UsageError, VaultError
from dalil.vault import Vault
from dalil.web import auth, params
from dalil.web.render import render

_PATH = re.compile(r"""(?<![\w.:/~-])(?:~|\.{1,2})?/(?:[^\s/'"():;,]+/)*[^\s/'"():;,]*""")
"""An absolute or relative file-system path (two components at least, see :func:`public`)."""


def public(message: str, vault: Vault | None = None) -> str:
    """``message`` without file-system paths: the vault's own folder becomes "the vault", any
    other path "…"; what the server's disk looks like is nobody's business in a browser."""
    if vault is not None:
        message = message.replace(str(vault.root), "the vault")

    def hide(match: re.Match[str]) -> str:
        text = match.group(0)
        return "…" if text.count("/") >= 2 else text  # "a/b" words and single "/x" stay

    return _PATH.sub(hide, message)


def error_response(request: Request, status: int, message: str) -> Response:
    """The error page, or ``{"error": message}`` for the API and JSON clients."""
    message = public(message, getattr(request.app.state, "vault", None))
    if request.url.path.startswith("/api/") or request.headers.get("accept") == "application/json":
        return JSONResponse({"error": message}, status_code=status)
    session = auth.session_of(request)
    return render(
        request,
        "error.html",
        {
            "status": status,
            "message": message,
            "session": session,
            "user": session and session.user,
        },
        status_code=status,
    )


def install(app: FastAPI) -> None:
    """Register the translations on ``app``."""

    @app.exception_handler(auth.NotLoggedIn)
    async def _login_first(request: Request, exc: auth.NotLoggedIn) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404 and exc.detail == "Not Found":  # no such page at all
            return error_response(request, 404, "There is no page at this address.")
        return error_response(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 400, params.explain(list(exc.errors())))

    @app.exception_handler(DalilError)
    async def _dalil_error(request: Request, exc: DalilError) -> Response:
        status = 409 if isinstance(exc, VaultError) and "busy" in str(exc) else 400
        if isinstance(exc, NotFound) or (
            isinstance(exc, UsageError) and str(exc).startswith("no ")
        ):
            status = 404
        return error_response(request, status, str(exc))

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        # a number no parameter declaration caught (params.py) reached SQLite
        return error_response(request, 400, "a number in the request is out of range")

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> Response:
        # Starlette's outermost error middleware calls this, then re-raises for the log
        message = "Something went wrong on the server. It has been logged; try again later."
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=500)
        return HTMLResponse(
            "<!doctype html><title>500 · Dalil</title><h1>Something is wrong</h1>"
            f"<p>{message}</p><p><a href='/'>Back to the dashboard</a></p>",
            status_code=500,
        )
