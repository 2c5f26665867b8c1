"""The FastAPI application: body limits, sessions, security headers, error pages, routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dalil import signing
from dalil.vault import Vault
from dalil.web import auth, errors, guard, render

HERE = render.HERE
TEMPLATES = render.TEMPLATES  # autoescape on for .html

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


class _SecurityHeaders:
    """The security headers (and ``Cache-Control: no-store`` unless a route chose otherwise)
    on every response — the outermost layer, so error pages, 413s and 500s carry them too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

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


class _Sessions:
    """Attach the session (if any) to the request (plain ASGI: Starlette's BaseHTTPMiddleware
    costs a task and a queue per request)."""

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
        session = state["session"]
        if session is None or session.key is None:
            await self.app(scope, receive, send)
            return
        # what this person does in this request is signed with their own key
        with signing.acting(self.vault.origin, session.user.name, session.key):
            await self.app(scope, receive, send)


class _Workspace(FastAPI):
    """FastAPI with the security headers outside everything, Starlette's error middleware
    (which answers 500s) included."""

    def build_middleware_stack(self) -> ASGIApp:
        return _SecurityHeaders(super().build_middleware_stack())


def create_app(vault_root: Path, *, secure_cookies: bool = False) -> FastAPI:
    """The web workspace over one vault. ``secure_cookies``: mark cookies Secure (behind TLS);
    they are anyway when the request itself came over https."""
    vault = Vault.open(vault_root)
    app = _Workspace(
        title="Dalil",
        docs_url=None,  # Swagger UI would load scripts from a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.vault = vault
    app.add_middleware(_Sessions, vault=vault, secure=secure_cookies)
    app.add_middleware(guard.BodyGuard)  # outside the session lookup: refuse before any work
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    errors.install(app)

    from dalil.web import (
        api,
        crops,
        estimates,
        exports,
        family,
        images,
        login,
        pages,
        people,
        queues,
        tasks,
        upload,
    )

    modules = (
        login, pages, queues, people, images, crops, api, upload, family, estimates, exports,
        tasks,
    )  # fmt: skip
    routers = [module.router for module in modules]
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


def _record_permissions(routers: list[Any]) -> None:
    from fastapi.routing import APIRoute

    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute):
            continue
        if not isinstance(route, guard.GuardedRoute):
            raise RuntimeError(f"{route.path}: routers use guard.GuardedRoute")
        permission: str | None = None
        for dep in route.dependant.dependencies:
            if dep.call is not None and hasattr(dep.call, "permission"):
                permission = dep.call.permission
        for method in route.methods or ():
            auth.ROUTE_PERMISSIONS[(method, route.path)] = permission
