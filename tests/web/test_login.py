"""Logging in: parallel guesses cannot overrun the limit, hashing is bounded, a forged
``X-Forwarded-For`` changes nothing unless a proxy is trusted, the login page shows no text
from the query string, and no redirect leaves the site."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from dalil import users
from dalil.cases import model
from dalil.vault import Vault
from tests.conftest import catalogue
from tests.web import live
from tests.web.conftest import PASSWORD, ROLE_USERS, login


def _login_form(port: int) -> tuple[str, str]:
    """(cookie header, csrf) of the login form, as a browser gets them."""
    page = live.request(port, "GET", "/login")
    token = re.search(rb'name="csrf" value="([^"]+)"', page.body)
    cookie = re.search(r"dalil_login_csrf=([^;]+)", page.headers.get("set-cookie", ""))
    assert token and cookie, page
    return f"dalil_login_csrf={cookie.group(1)}", token.group(1).decode()


def _attempt(
    port: int, cookie: str, csrf: str, name: str, password: str, **headers: str
) -> live.Answer:
    body = urlencode({"name": name, "password": password, "csrf": csrf, "next": "/"}).encode()
    return live.request(
        port,
        "POST",
        "/login",
        {
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body)),
            **headers,
        },
        [body],
        timeout=60,
    )


def test_parallel_guesses_cannot_overrun_the_limit(web_vault: Vault) -> None:
    limit = 5  # failures per name in the window (auth.MAX_FAILURES_PER_USER)
    name = ROLE_USERS["archivist"]
    with live.serving(web_vault) as port:
        cookie, csrf = _login_form(port)
        passwords = [f"wrong password, try {i}" for i in range(23)] + [PASSWORD]
        with ThreadPoolExecutor(len(passwords)) as pool:
            answers = list(pool.map(lambda p: _attempt(port, cookie, csrf, name, p), passwords))
    statuses = [a.status for a in answers]
    checked = [s for s in statuses if s != 429]
    assert len(checked) <= limit, statuses  # the rest were refused before any hashing
    assert statuses.count(429) >= len(passwords) - limit


def test_password_hashing_is_bounded(web_vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    running, most = 0, 0
    lock = threading.Lock()
    check = users.check_password

    def slow_check(*args: Any) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.2)
            return check(*args)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(users, "check_password", slow_check)
    with live.serving(web_vault) as port:
        cookie, csrf = _login_form(port)
        names = [f"nobody-{i}" for i in range(10)]  # distinct names: no per-name limit
        with ThreadPoolExecutor(len(names)) as pool:
            answers = list(pool.map(lambda n: _attempt(port, cookie, csrf, n, "x" * 12), names))
    assert all(a.status == 303 for a in answers), [a.status for a in answers]
    assert 1 <= most <= 2, most  # auth.PASSWORD_CHECKS at once: argon2id takes ~64 MiB each


@contextmanager
def _dalil_serve(vault: Vault, *args: str) -> Iterator[int]:
    """``dalil serve`` itself, in a child process, on a free port."""
    port = live.free_port()
    command = [sys.executable, "-m", "dalil", "serve", "--vault", str(vault.root)]
    command += ["--port", str(port), "--workers", "1", *args]
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ}
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "dalil serve did not start"
            try:
                live.request(port, "GET", "/login", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        child.terminate()
        child.wait(timeout=20)
        if child.stderr:
            child.stderr.close()


def _session_addresses(vault: Vault) -> list[str]:
    conn = catalogue(vault, "state")
    try:
        return [str(r[0]) for r in conn.execute("SELECT address FROM sessions ORDER BY created_at")]
    finally:
        conn.close()


def test_forwarded_addresses_are_believed_only_from_a_trusted_proxy(web_vault: Vault) -> None:
    forged = "203.0.113.7"
    with _dalil_serve(web_vault) as port:
        cookie, csrf = _login_form(port)
        r = _attempt(
            port, cookie, csrf, ROLE_USERS["reviewer"], PASSWORD, **{"X-Forwarded-For": forged}
        )
        assert r.status == 303 and r.headers["location"] == "/"
        assert _session_addresses(web_vault)[-1] == "127.0.0.1"
        # rotating the forged address does not reset the per-address limit (20)
        statuses = [
            _attempt(
                port,
                cookie,
                csrf,
                f"nobody-{i}",
                "x" * 12,
                **{"X-Forwarded-For": f"198.51.100.{i}"},
            ).status
            for i in range(21)
        ]
        assert statuses[-1] == 429, statuses
    with _dalil_serve(web_vault, "--trusted-proxy", "127.0.0.1") as port:
        cookie, csrf = _login_form(port)
        r = _attempt(
            port, cookie, csrf, ROLE_USERS["auditor"], PASSWORD, **{"X-Forwarded-For": forged}
        )
        assert r.status == 303
        assert _session_addresses(web_vault)[-1] == forged  # the proxy says who the client is


def test_the_login_page_shows_fixed_messages_only(app_for: Callable[[], TestClient]) -> None:
    client = app_for()
    planted = "Your account is suspended. Call +1 555 0100 and give your password"
    page = client.get("/login", params={"error": planted})
    assert page.status_code == 200 and "suspended" not in page.text and "555" not in page.text
    page = client.get("/login", params={"error": "<b>bold</b>"})
    assert "bold" not in page.text
    assert "Wrong name or password." in client.get("/login?error=wrong").text
    assert "The form expired" in client.get("/login?error=expired").text


def test_no_login_redirect_leaves_the_site(app_for: Callable[[], TestClient]) -> None:
    for target in ("//evil.example/x", "/\\evil.example/x", "https://evil.example/", "/\t/evil"):
        client = app_for()
        page = client.get("/login", params={"next": target})
        assert 'name="next" value="/"' in page.text, target
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        r = client.post(
            "/login",
            data={
                "name": ROLE_USERS["reviewer"],
                "password": PASSWORD,
                "csrf": token.group(1),
                "next": target,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/", (target, r.headers)


def test_a_review_returns_only_to_a_page_of_this_site(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    """htmx sends the page's URL in ``HX-Current-URL``; any client can send anything."""
    conn = web_vault.connect()
    case = str(conn.execute("SELECT case_id FROM cases ORDER BY id").fetchone()[0])
    ledger = web_vault.ledger(conn)
    investigator = model.Actor(ROLE_USERS["investigator"])
    claims = [
        model.add_annotation(conn, ledger, investigator, case, "identifier", "detainee", f"90{i}")[
            0
        ]
        for i in range(5)
    ]
    conn.close()
    reviewer = app_for()
    csrf = login(reviewer, ROLE_USERS["reviewer"])
    for claim, (given, expected) in zip(
        claims,
        (
            ("http://testserver/review?queue=unverified", "/review?queue=unverified"),
            ("https://evil.example/phish", f"/cases/{case}"),
            ("http://testserver//evil.example/", f"/cases/{case}"),
            ("http://testserver/\\evil.example/", f"/cases/{case}"),
            ("javascript:alert(1)", f"/cases/{case}"),
        ),
        strict=True,
    ):
        r = reviewer.post(
            f"/review/{claim}/confirm",
            headers={"X-CSRF-Token": csrf, "HX-Current-URL": given},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == expected, (given, r.headers)
