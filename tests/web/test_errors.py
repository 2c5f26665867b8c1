"""Errors: numbers out of range are refused with 400 on every route that takes one, every
answer (a 500 included) carries the security headers, and no message shows a path on the
server's disk."""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from dalil.errors import VaultError
from dalil.vault import Vault
from dalil.web import auth
from tests.conftest import catalogue
from tests.web.conftest import ROLE_USERS
from tests.web.conftest import login as log_in

HUGE = (10**30, 2**63, -(2**63) - 1)


def _int_parameters(route: APIRoute) -> list[tuple[str, str]]:
    """(where, name) of every integer the route takes from the path or the query."""
    found = []
    for where, params in (
        ("path", route.dependant.path_params),
        ("query", route.dependant.query_params),
    ):
        for param in params:
            annotation = param.field_info.annotation
            kinds = getattr(annotation, "__args__", None) or (annotation,)
            if int in kinds and bool not in kinds:
                found.append((where, param.name))
    return found


def _routes(routes: list[Any]) -> list[Any]:
    """Every route, those of included routers too (FastAPI ≥ 0.130 keeps them apart)."""
    found = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        found += _routes(inner.routes) if inner is not None else [route]
    return found


def _sample(vault: Vault) -> dict[str, str]:
    conn = catalogue(vault)
    try:
        return {
            "ref": str(conn.execute("SELECT sha256 FROM items LIMIT 1").fetchone()[0]),
            "case_id": str(conn.execute("SELECT case_id FROM cases LIMIT 1").fetchone()[0]),
            "label": str(conn.execute("SELECT label FROM clusters LIMIT 1").fetchone()[0]),
            "annotation": "1",
            "name": ROLE_USERS["liaison"],
            "job_id": "000000000000",
            "queue": "unverified",
        }
    finally:
        conn.close()


def test_numbers_out_of_range_are_refused_everywhere(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    client = app_for()
    csrf = log_in(client, ROLE_USERS["admin"])
    client = TestClient(client.app, raise_server_exceptions=False, cookies=client.cookies)
    values = _sample(web_vault)
    answers: dict[tuple[str, str, str, int], int] = {}
    wrong: list[tuple[str, str, str, int]] = []
    for route in _routes(client.app.routes):  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute):
            continue
        for where, name in _int_parameters(route):
            for method in sorted(route.methods or ()):
                for number in HUGE:
                    path = re.sub(
                        r"\{(\w+)\}",
                        lambda m, n=name, x=number: (
                            str(x) if m.group(1) == n else values[m.group(1)]
                        ),
                        route.path,
                    )
                    query = {name: str(number)} if where == "query" else {}
                    r = client.request(method, path, params=query, headers={"X-CSRF-Token": csrf})
                    answers[(method, route.path, name, number)] = r.status_code
                    # refused, with a message that names the parameter
                    if r.status_code != 400 or name not in r.text:
                        wrong.append((method, route.path, name, r.status_code))
    assert len(answers) >= 9 * len(HUGE)  # pages, offsets, ledger positions, claim numbers
    assert 500 not in answers.values(), sorted(k for k, v in answers.items() if v == 500)
    assert wrong == []


def test_every_answer_carries_the_security_headers(
    app_for: Callable[[], TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dalil.web import pages

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database at /srv/evidence/vault/catalog.sqlite is on fire")

    monkeypatch.setattr(pages, "grouping", types.SimpleNamespace(list_clusters=broken))
    client = app_for()
    log_in(client, ROLE_USERS["admin"])
    client = TestClient(client.app, raise_server_exceptions=False, cookies=client.cookies)
    answers = {
        "500": client.get("/clusters"),
        "404": client.get("/static/nothing-here.css"),
        "400": client.get("/cases", params={"page_no": "x"}),
        "api 404": client.get("/api/items/ffff0000"),
    }
    assert answers["500"].status_code == 500
    for what, r in answers.items():
        for header in ("content-security-policy", "x-frame-options", "x-content-type-options"):
            assert header in r.headers, (what, r.status_code, dict(r.headers))
        assert r.headers["cache-control"] == "no-store", what
    assert "/srv/evidence" not in answers["500"].text and "fire" not in answers["500"].text


def test_error_messages_show_no_paths(
    app_for: Callable[[], TestClient], web_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dalil.web import pages

    def busy(*args: Any, **kwargs: Any) -> Any:
        raise VaultError(
            f"{web_vault.root} is busy: process 4242 (dalil ingest /media/usb-7/DCIM --as x)"
            " is writing to it"
        )

    monkeypatch.setattr(pages, "grouping", types.SimpleNamespace(list_clusters=busy))
    client = app_for()
    log_in(client, ROLE_USERS["admin"])
    for accept in ("text/html", "application/json"):
        r = client.get("/clusters", headers={"accept": accept})
        assert r.status_code == 409
        assert str(web_vault.root) not in r.text and "/media/usb-7" not in r.text, r.text
        assert "busy" in r.text
    assert auth.ROUTE_PERMISSIONS  # the app was built


def test_public_messages() -> None:
    from dalil.web.errors import public

    assert public("/srv/evidence/vault is busy") == "… is busy"
    assert "/home/amina" not in public("cannot read /home/amina/cards/x.jpg: gone")
    assert public("queues: unverified, proposed") == "queues: unverified, proposed"
    assert public("no item matches 'ab/cd'") == "no item matches 'ab/cd'"
    assert public("dates like 2014/05/03 stay") == "dates like 2014/05/03 stay"


def test_an_unknown_address_or_item_is_a_page_saying_so(web_vault: Vault) -> None:
    """Not raw JSON, not 400: a 404 page in the workspace's look, with the way back; JSON
    clients still get JSON."""
    from dalil.web.app import create_app

    with TestClient(create_app(web_vault.root)) as client:
        log_in(client, ROLE_USERS["investigator"])
        for path in ("/no/such/page", "/items/doesnotexist", "/items/" + "0" * 64):
            r = client.get(path)
            assert r.status_code == 404, (path, r.status_code)
            assert r.headers["content-type"].startswith("text/html"), path
            assert "Back to the dashboard" in r.text and "<nav" in r.text, path
        r = client.get("/no/such/page", headers={"accept": "application/json"})
        assert r.status_code == 404 and r.json()["error"]
