"""Where the workspace sends a browser next: only to a path on this site, whatever a request
says (``?next=`` after login, htmx's ``HX-Current-URL`` after a review)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse


def safe_path(target: str | None, fallback: str = "/") -> str:
    """``target`` if it is a path on this site (``/…``), else ``fallback``. Browsers read
    ``//host`` and ``/\\host`` as another host, and ignore tabs and newlines in a URL, so any
    backslash, control character or space makes the target unsafe."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if any(c == "\\" or c.isspace() or not c.isprintable() for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def back(to: str) -> RedirectResponse:
    """A 303 to ``to`` (a path this code chose)."""
    return RedirectResponse(to, status_code=303)


def current_page(request: Request, fallback: str) -> str:
    """The page the request came from (htmx's ``HX-Current-URL``: a full URL), as a path on
    this site; ``fallback`` when it names another host or is not a plain path."""
    given = request.headers.get("hx-current-url")
    if not given:
        return fallback
    parts = urlsplit(given)
    if parts.scheme not in ("", "http", "https"):
        return fallback
    # another host: not ours to send people to (the scheme may differ behind a TLS proxy)
    if parts.netloc and parts.netloc != request.headers.get("host", ""):
        return fallback
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_path(path, fallback)
