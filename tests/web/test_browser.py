"""The workspace in a real browser: Debian's Chromium driven by Playwright, against
`dalil serve`'s application on a loopback port. Screenshots of the main pages go to
``test-artifacts/screenshots/`` (or ``$DALIL_TEST_ARTIFACTS``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dalil.vault import Vault
from tests.conftest import catalogue
from tests.web.browser import ARTIFACTS, CHROMIUM, launch
from tests.web.conftest import PASSWORD, ROLE_USERS

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (scripts/setup.sh)"
)


def test_browse_reveal_annotate_confirm_and_liaison_denied(server: str, web_vault: Vault) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    conn = catalogue(web_vault)
    sha = conn.execute(
        "SELECT sha256 FROM items WHERE media_type LIKE 'image/%' ORDER BY sha256 LIMIT 1"
    ).fetchone()[0]
    case_id = conn.execute(
        "SELECT case_id FROM cases WHERE status = 'open' ORDER BY id"
    ).fetchone()[0]

    with sync_playwright() as p:
        browser = launch(p)

        def log_in(role: str):  # type: ignore[no-untyped-def]
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{server}/")
            expect(page).to_have_url(f"{server}/login?next=%2F")
            page.fill("input[name=name]", ROLE_USERS[role])
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_have_text("Dashboard")
            return context, page

        # an investigator browses, reveals one picture, and adds an identifier
        context, page = log_in("investigator")
        page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
        page.click("nav >> text=Items")
        expect(page.locator(".grid .tile").first).to_be_visible()
        page.screenshot(path=str(shots / "items.png"), full_page=True)
        page.goto(f"{server}/items/{sha}")
        expect(page.locator("img.revealed")).to_have_count(0)
        page.screenshot(path=str(shots / "item-blurred.png"), full_page=True)
        page.click("button.reveal")
        expect(page.locator("img.revealed")).to_be_visible()
        page.screenshot(path=str(shots / "item-revealed.png"), full_page=True)
        page.goto(f"{server}/cases/{case_id}")
        page.select_option("form.claim select[name=field]", "detainee")
        page.fill("form.claim input[name=value]", "٣٣١٠")
        page.click("form.claim button")
        row = page.locator("tr", has_text="3310")
        expect(row).to_contain_text("unverified")
        page.screenshot(path=str(shots / "case.png"), full_page=True)
        context.close()

        # the auditor sees who revealed what
        context, page = log_in("auditor")
        page.goto(f"{server}/ledger?action=item.revealed")
        expect(page.locator("table")).to_contain_text(ROLE_USERS["investigator"])
        expect(page.locator("table")).to_contain_text("item.revealed")
        page.screenshot(path=str(shots / "audit.png"), full_page=True)
        context.close()

        # a reviewer confirms the investigator's claim
        context, page = log_in("reviewer")
        page.click("nav >> text=Review")
        card = page.locator("article.claim", has_text="3310")
        card.locator("button.confirm").click()
        expect(page.locator("article.claim", has_text="3310")).to_contain_text("verified")
        page.screenshot(path=str(shots / "review.png"), full_page=True)
        page.goto(f"{server}/search?identifier=detainee:~3301")
        expect(page.locator("table")).to_contain_text(case_id)
        page.screenshot(path=str(shots / "search.png"), full_page=True)
        context.close()

        # the family-liaison officer never gets an unblurred picture
        context, page = log_in("liaison")
        page.goto(f"{server}/items/{sha}")
        expect(page.locator("button.reveal")).to_have_count(0)
        status = page.evaluate(
            """async (sha) => {
                const token = document.querySelector('meta[name="csrf-token"]').content;
                const r = await fetch(`/items/${sha}/reveal`, {method: "POST",
                    headers: {"X-CSRF-Token": token}});
                const v = await fetch(`/items/${sha}/view`);
                return [r.status, v.status];
            }""",
            sha,
        )
        assert status == [403, 403]
        page.screenshot(path=str(shots / "liaison-item.png"), full_page=True)
        context.close()
        browser.close()

    ledger = catalogue(web_vault, "ledger")
    events = [json.loads(r[0]) for r in ledger.execute("SELECT event FROM ledger")]
    reveals = [e for e in events if e["action"] == "item.revealed"]
    assert [(e["actor"], e["details"]["sha256"]) for e in reveals] == [
        (ROLE_USERS["investigator"], sha)
    ]
    confirmed = [e for e in events if e["action"] == "annotation.confirmed"]
    assert confirmed and confirmed[-1]["actor"] == ROLE_USERS["reviewer"]
