"""The workspace in Arabic and English: the language from the browser or the user's settings,
right-to-left pages that mirror, digits as the reader chose; in a real browser, every main page
in both languages without sideways scrolling at a desktop and a phone width, and without a
serious or critical accessibility violation (axe-core). Screenshots of every page in both
languages go to ``test-artifacts/screenshots/languages/``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dalil.vault import Vault
from dalil.web.app import create_app
from tests.conftest import catalogue
from tests.web.browser import ARTIFACTS, CHROMIUM, launch
from tests.web.conftest import PASSWORD, ROLE_USERS, login


def _html(client: TestClient, path: str, **headers: str) -> tuple[str, str, str]:
    """(lang, dir, text) of a page."""
    r = client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    head = re.search(r'<html lang="(\w+)" dir="(\w+)">', r.text)
    assert head, r.text[:200]
    return head.group(1), head.group(2), r.text


def test_the_language_follows_the_browser_then_the_settings(web_vault: Vault) -> None:
    with TestClient(create_app(web_vault.root)) as client:
        assert _html(client, "/login")[:2] == ("en", "ltr")
        lang, direction, text = _html(client, "/login", **{"Accept-Language": "ar-SY,ar;q=0.9"})
        assert (lang, direction) == ("ar", "rtl") and "تسجيل الدخول" in text
        csrf = login(client, ROLE_USERS["investigator"])
        assert _html(client, "/")[:2] == ("en", "ltr")
        r = client.post(
            "/settings",
            data={"csrf": csrf, "blur": "3", "greyscale": "1", "language": "ar",
                  "digits": "arabic-indic"},
        )  # fmt: skip
        assert r.status_code in (200, 303)
        lang, direction, text = _html(client, "/", **{"Accept-Language": "en"})
        assert (lang, direction) == ("ar", "rtl")  # the setting wins over the browser
        assert "لوحة" in text or "المواد" in text
        counts = re.findall(r"<b>([^<]*)</b>", text)
        arabic_indic = r"[\u0660-\u0669]+"
        assert counts and all(re.fullmatch(arabic_indic, c) for c in counts if c.strip()), counts
        r = client.post(
            "/settings",
            data={"csrf": csrf, "blur": "3", "language": "", "digits": "western"},
        )
        assert _html(client, "/", **{"Accept-Language": "en-GB"})[:2] == ("en", "ltr")
        refused = client.post(
            "/settings", data={"csrf": csrf, "blur": "3", "language": "xx", "digits": "western"}
        )
        assert refused.status_code == 400
        assert _html(client, "/")[:2] == ("en", "ltr")  # nothing saved


def test_names_keep_their_own_direction(web_vault: Vault) -> None:
    """User-written text (a case title in Arabic) is isolated from the page's direction."""
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["investigator"])
        text = client.get("/cases").text
        assert "<bdi>" in text


def _pages(vault: Vault) -> list[str]:
    conn = catalogue(vault)
    sha = conn.execute(
        "SELECT sha256 FROM items WHERE media_type LIKE 'image/%' ORDER BY sha256 LIMIT 1"
    ).fetchone()[0]
    case_id = conn.execute("SELECT case_id FROM cases ORDER BY id LIMIT 1").fetchone()[0]
    cluster = conn.execute("SELECT label FROM clusters ORDER BY label LIMIT 1").fetchone()
    conn.close()
    pages = ["/", "/items", f"/items/{sha}", "/clusters", "/cases", f"/cases/{case_id}"]
    pages += ["/review", "/search?q=card", "/acquisitions", "/ledger", "/users", "/settings"]
    pages += ["/upload", "/reports", "/reports/new", "/estimates"]
    if cluster:
        pages.append(f"/clusters/{cluster[0]}")
    return pages


def _overflow(page: Any) -> int:
    """How many pixels the page scrolls sideways."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_every_main_page_in_both_languages(server: str, web_vault: Vault) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright

    shots = ARTIFACTS / "screenshots" / "languages"
    shots.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    problems: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        for language in ("en", "ar"):
            context = browser.new_context(
                viewport={"width": 1280, "height": 900},
                extra_http_headers={"Accept-Language": language},
            )
            page = context.new_page()
            console: list[str] = []
            page.on(
                "console", lambda m, out=console: out.append(m.text) if m.type == "error" else None
            )
            page.goto(f"{server}/login")
            page.fill("input[name=name]", ROLE_USERS["admin"])
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("nav.top")).to_be_visible()
            for path in _pages(web_vault):
                page.set_viewport_size({"width": 1280, "height": 900})
                page.goto(f"{server}{path}")
                html = page.locator("html")
                expect(html).to_have_attribute("lang", language)
                expect(html).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
                name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")[:40] or "dashboard"
                page.screenshot(path=str(shots / f"{language}-{name}-1280.png"), full_page=True)
                if (extra := _overflow(page)) > 1:
                    problems.append(f"{language} {path} at 1280 px scrolls {extra} px sideways")
                results = axe.run(page)
                for violation in results.response["violations"]:
                    if violation["impact"] in ("serious", "critical"):
                        where = [n["target"] for n in violation["nodes"]][:3]
                        problems.append(f"{language} {path}: axe {violation['id']} at {where}")
                blocked = [m for m in console if "Content Security Policy" in m]
                problems += [f"{language} {path}: console: {m}" for m in blocked]
                console.clear()
                page.set_viewport_size({"width": 390, "height": 844})
                page.screenshot(path=str(shots / f"{language}-{name}-390.png"), full_page=True)
                if (extra := _overflow(page)) > 1:
                    problems.append(f"{language} {path} at 390 px scrolls {extra} px sideways")
            if language == "ar":  # the navigation mirrors: Dalil's name on the right
                page.set_viewport_size({"width": 1280, "height": 900})
                page.goto(f"{server}/")
                brand = page.locator("nav.top .brand").bounding_box()
                items = page.locator("nav.top a[href='/items']").bounding_box()
                assert brand and items and brand["x"] > items["x"]
            context.close()
        browser.close()
    assert problems == [], "\n".join(problems)
