"""Request bodies: who may send one is decided before a byte of it is read, and no body is
larger than its route allows.

- :class:`BodyGuard` (plain ASGI, in front of routing) refuses a declared ``Content-Length``
  over the route's limit at once and counts the bytes actually received — chunked bodies
  included — failing with 413 as soon as the limit is passed. Forms and JSON are limited to
  :data:`FORM_LIMIT`, below Starlette's 1 MiB spooling threshold, so that no form part ever
  reaches the system's temporary folder; a route that takes large bodies (the upload) names
  its own limit in :data:`LIMITS`. A response sent before the body was read closes the
  connection, so the server does not go on reading (and discarding) what the client sends.
- :class:`GuardedRoute`, the route class of every router, checks the session, the route's
  permission and the CSRF token (:func:`dalil.web.auth.admit`) before FastAPI reads the body
  for the route's parameters. Every route must declare its permission (``auth.need``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dalil.web import auth

FORM_LIMIT = 256 * 1024
"""Bytes in any request body but the routes' in :data:`LIMITS` (forms, JSON, logins)."""

LIMITS: dict[tuple[str, str], Callable[[], int]] = {}
"""(method, path) → the body limit of that route, asked for each request."""


def limit_for(method: str, path: str) -> int:
    found = LIMITS.get((method, path))
    return found() if found is not None else FORM_LIMIT


def _size(limit: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if limit >= scale:
            return f"{limit / scale:.0f} {unit}"
    return f"{limit} bytes"


class BodyTooLarge(HTTPException):
    """Raised (to the route reading the body) when more arrives than its limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request is larger than allowed ({_size(limit)})")


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _announces_body(scope: Scope) -> bool:
    for key, value in scope.get("headers", []):
        if key == b"content-length" and value.strip() not in (b"", b"0"):
            return True
        if key == b"transfer-encoding" and b"chunked" in value.lower():
            return True
    return False


class BodyGuard:
    """Limit every request body (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["method"], scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            too_large = BodyTooLarge(limit)
            response: Response
            if scope["path"].startswith("/api/"):
                response = JSONResponse({"error": too_large.detail}, status_code=413)
            else:
                response = PlainTextResponse(too_large.detail, status_code=413)
            response.headers["connection"] = "close"
            await response(scope, receive, send)
            return
        received = 0
        finished = not _announces_body(scope)

        async def counted() -> Message:
            nonlocal received, finished
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
                finished = finished or not message.get("more_body", False)
            return message

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and not finished:
                # answered before the body was read: stop the client sending the rest
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0].lower() != b"connection"),
                    (b"connection", b"close"),
                ]
            await send(message)

        await self.app(scope, counted, closing)


def _permission(dependant: Dependant) -> tuple[bool, str | None]:
    """Whether the route declares its permission (``auth.need``), and which."""
    for dep in dependant.dependencies:
        if dep.call is not None and hasattr(dep.call, "permission"):
            return True, dep.call.permission
        found = _permission(dep)
        if found[0]:
            return found
    return False, None


class GuardedRoute(APIRoute):
    """An API route that admits the request (session, permission, CSRF) before its body is
    read for the route's parameters."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        declared, permission = _permission(self.dependant)
        if not declared:
            raise RuntimeError(f"{self.path}: every route declares its permission (auth.need)")
        handler = super().get_route_handler()

        async def admitted(request: Request) -> Response:
            await auth.admit(request, permission)
            return await handler(request)

        return admitted
