"""The FastAPI application: sessions, security headers, templates, error pages, routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dalil.errors import DalilError, UsageError, VaultError
from dalil.vault import Vault
from dalil.web import auth

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape on for .html

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class _Sessions:
    """Attach the session (if any) to the request and security headers to every response
    (plain ASGI: Starlette's BaseHTTPMiddleware costs a task and a queue per request)."""

    def __init__(self, app: ASGIApp, vault: Vault, secure: bool) -> None:
        self.app = app
        self.vault = vault
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state = scope.setdefault("state", {})
        # SQLite work off the event loop: a busy catalogue must not stall every request
        state["session"] = await run_in_threadpool(
            auth.lookup, self.vault, request.cookies.get(auth.COOKIE)
        )
        state["secure"] = self.secure or scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(vault_root: Path, *, secure_cookies: bool = False) -> FastAPI:
    """The web workspace over one vault. ``secure_cookies``: mark cookies Secure (behind TLS);
    they are anyway when the request itself came over https."""
    vault = Vault.open(vault_root)
    app = FastAPI(
        title="Dalil",
        docs_url=None,  # Swagger UI would load scripts from a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.vault = vault
    app.add_middleware(_Sessions, vault=vault, secure=secure_cookies)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

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
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(DalilError)
    async def _dalil_error(request: Request, exc: DalilError) -> Response:
        status = 409 if isinstance(exc, VaultError) and "busy" in str(exc) else 400
        if isinstance(exc, UsageError) and str(exc).startswith("no "):
            status = 404
        return _error(request, status, str(exc))

    from dalil.web import api, images, pages, upload

    routers = [module.router for module in (pages, images, api, upload)]
    for router in routers:
        app.include_router(router)
    _record_permissions(routers)
    return app


def app_from_environment() -> FastAPI:
    """The app for ``uvicorn --factory`` worker processes: vault and options from the
    environment that ``dalil serve`` sets."""
    import os

    return create_app(
        Path(os.environ["DALIL_VAULT"]),
        secure_cookies=os.environ.get("DALIL_SECURE_COOKIES") == "1",
    )


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/") or request.headers.get("accept") == "application/json":
        return JSONResponse({"error": message}, status_code=status)
    return TEMPLATES.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "session": auth.session_of(request)},
        status_code=status,
    )


def _record_permissions(routers: list[Any]) -> None:
    from fastapi.routing import APIRoute

    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute):
            continue
        permission: str | None = None
        for dep in route.dependant.dependencies:
            if dep.call is not None and hasattr(dep.call, "permission"):
                permission = dep.call.permission
        for method in route.methods or ():
            auth.ROUTE_PERMISSIONS[(method, route.path)] = permission


def page(request: Request, template: str, **context: Any) -> HTMLResponse:
    session = auth.session_of(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"session": session, "user": session.user if session else None, **context},
    )
