"""Rendering pages: the Jinja2 environment (autoescape on for ``.html``) and the one helper
every route uses, so that routes and the application never import each other.

Every text of the templates is translated (``{{ _("…") }}``, ``{% trans %}``; jinja2's i18n
extension, new-style: values put into a message are escaped). The language of a page is the
user's choice in their settings, else the browser's ``Accept-Language`` (:mod:`dalil.i18n`);
it is held in a context variable while the page is rendered, so that concurrent requests in
other languages never mix."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dalil import i18n, users
from dalil.web import auth

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
)

_LANGUAGE: ContextVar[str] = ContextVar("language", default=i18n.DEFAULT_LANGUAGE)
_DIGITS: ContextVar[str] = ContextVar("digits", default="western")


def gettext(message: str) -> str:
    """``message`` in the language of the page being rendered."""
    return i18n.translations(_LANGUAGE.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(_LANGUAGE.get()).ngettext(singular, plural, n)


def shown(value: object) -> str:
    """A number or identifier with the digits the reader chose (display only)."""
    return i18n.show_digits("" if value is None else str(value), _DIGITS.get())


def when(value: object) -> str:
    """A time as people read it, in the page's language and digits."""
    if not isinstance(value, str | datetime):
        return shown("" if value is None else str(value))
    return shown(i18n.format_time(value, _LANGUAGE.get()))


TEMPLATES.env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
TEMPLATES.env.filters["shown"] = shown
TEMPLATES.env.filters["when"] = when


def language_of(request: Request, user: users.User | None) -> str:
    """The page's language: the user's choice, else the browser's."""
    if user is not None and user.language:
        return user.language
    return i18n.negotiate(request.headers.get("accept-language"))


def look_of(user: users.User) -> str:
    """A user's look — blur level and colour — as every blurred image's URL carries it
    (``?look=3g``, ``1c``): a changed setting is a new URL, never a copy the browser kept."""
    return f"{user.blur}{'g' if user.greyscale else 'c'}"


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """``template`` rendered in the request's language, with ``lang`` and ``dir`` for the
    page and ``languages`` for a language menu."""
    user = context.get("user")
    language = language_of(request, user if isinstance(user, users.User) else None)
    digits = user.digits if isinstance(user, users.User) else "western"
    tokens = (_LANGUAGE.set(language), _DIGITS.set(digits))
    try:
        return cast(
            HTMLResponse,
            TEMPLATES.TemplateResponse(
                request,
                template,
                {
                    "lang": language,
                    "dir": i18n.direction(language),
                    "languages": i18n.LANGUAGES,
                    **context,
                },
                status_code=status_code,
            ),
        )
    finally:
        _DIGITS.reset(tokens[1])
        _LANGUAGE.reset(tokens[0])


def page(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` rendered with the request's session, user, the user's ``look`` and
    ``context``."""
    session = auth.session_of(request)
    user = session.user if session else None
    return render(
        request,
        template,
        {"session": session, "user": user, "look": look_of(user) if user else "", **context},
        status_code=status_code,
    )
