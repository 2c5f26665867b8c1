"""What the browser tests share: Debian's Chromium, where screenshots go, a live server over
a test vault (the ``server`` fixture, in conftest.py), and logging in through the form."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tests.web.conftest import PASSWORD, ROLE_USERS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(
    os.environ.get("DALIL_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


def launch(playwright: Any) -> Any:
    """Headless Chromium (Debian's, not a downloaded one)."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
    )


def log_in(browser: Any, server: str, role: str) -> tuple[Any, Any]:
    """A fresh browser context logged in as the test user of ``role``: (context, page)."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/login")
    page.fill("input[name=name]", ROLE_USERS[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    return context, page
