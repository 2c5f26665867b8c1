"""In a real browser (Debian's Chromium, Playwright): reviewing from the keyboard with the
evidence in view, and a changed blur setting showing at once on the same browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dalil.vault import Vault
from tests.conftest import catalogue
from tests.web.browser import ARTIFACTS, CHROMIUM, launch, log_in
from tests.web.conftest import ROLE_USERS

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (scripts/setup.sh)"
)

MEASURE = """img => {
    // what the browser shows: edge energy (mean |grey difference| of neighbours) and
    // colour (mean difference between channels) of the picture as decoded
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const g = canvas.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
    let edges = 0, colour = 0, n = 0;
    for (let y = 0; y < canvas.height; y++) {
        for (let x = 1; x < canvas.width; x++) {
            const i = (y * canvas.width + x) * 4, j = i - 4;
            edges += Math.abs((d[i] + d[i + 1] + d[i + 2]) - (d[j] + d[j + 1] + d[j + 2])) / 3;
            colour += Math.abs(d[i] - d[i + 1]) + Math.abs(d[i + 1] - d[i + 2]);
            n++;
        }
    }
    return {edges: edges / n, colour: colour / n, width: img.naturalWidth, src: img.src};
}"""

LOADED = "img => img.complete && img.naturalWidth > 0"


def _events(vault: Vault) -> list[dict]:  # type: ignore[type-arg]
    conn = catalogue(vault, "ledger")
    try:
        return [json.loads(r[0]) for r in conn.execute("SELECT event FROM ledger")]
    finally:
        conn.close()


def test_review_from_the_keyboard(server: str, web_vault: Vault, ocr_claims: list[int]) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    current = re.compile(r"\bcurrent\b")
    with sync_playwright() as p:
        browser = launch(p)
        context, page = log_in(browser, server, "reviewer")
        page.goto(f"{server}/review")
        first = page.locator(f"#claim-{ocr_claims[0]}")
        expect(first).to_have_class(current)  # the lowest confidence comes first
        expect(first).to_contain_text("0 of 2 confirmations")
        crop = first.locator("img.crop")
        crop.wait_for()
        page.wait_for_function(LOADED, arg=crop.element_handle())
        blurred = crop.evaluate(MEASURE)
        assert "/crop?look=3g" in blurred["src"] and blurred["width"] == 480
        page.screenshot(path=str(shots / "review-queue.png"), full_page=True)

        page.keyboard.press("s")  # show the region: recorded
        shown = first.locator("img.crop.revealed")
        expect(shown).to_be_visible()
        page.wait_for_function(LOADED, arg=shown.element_handle())
        sharp = shown.evaluate(MEASURE)
        assert sharp["width"] == 480 and sharp["edges"] > 2 * blurred["edges"]
        page.screenshot(path=str(shots / "review-region-shown.png"), full_page=True)

        page.keyboard.press("c")  # confirm: the card says so, the next claim is selected
        expect(page.locator(f"#claim-{ocr_claims[0]}")).to_contain_text("1 of 2 confirmations")
        second = page.locator(f"#claim-{ocr_claims[1]}")
        expect(second).to_have_class(current)

        page.keyboard.press("x")  # reject, typing the right reading
        expect(second.locator("input[name=correct]")).to_be_focused()
        page.keyboard.type("3318")
        page.keyboard.press("Enter")
        expect(page.locator(f"#claim-{ocr_claims[1]}")).to_contain_text("rejected by")
        expect(page.locator(f"#claim-{ocr_claims[2]}")).to_have_class(current)

        third = page.locator(f"#claim-{ocr_claims[2]}")
        page.keyboard.press("x")  # a correction that is not a report number: said in the card
        page.keyboard.type("abc")
        page.keyboard.press("Enter")
        expect(third.locator(".message")).to_contain_text("is not a valid")
        page.keyboard.press("Escape")
        expect(third).to_have_class(current)
        expect(third).not_to_have_class(re.compile(r"\bdone\b"))

        page.keyboard.press("k")  # back, and on again
        expect(page.locator(f"#claim-{ocr_claims[1]}")).to_have_class(current)
        page.keyboard.press("j")
        expect(page.locator(f"#claim-{ocr_claims[2]}")).to_have_class(current)
        page.screenshot(path=str(shots / "review-after-verdicts.png"), full_page=True)
        context.close()
        browser.close()

    events = _events(web_vault)
    reviewer = ROLE_USERS["reviewer"]
    [reveal] = [e for e in events if e["action"] == "item.revealed"]
    assert reveal["actor"] == reviewer and reveal["details"]["annotation"] == ocr_claims[0]
    assert reveal["details"]["region"]
    verdicts = [
        (e["action"], e["details"]["annotation"])
        for e in events
        if e["action"] in ("annotation.confirmed", "annotation.rejected")
    ]
    assert verdicts == [
        ("annotation.confirmed", ocr_claims[0]),
        ("annotation.rejected", ocr_claims[1]),
    ]
    correction = [e for e in events if e["action"] == "annotation.added"][-1]
    assert correction["actor"] == reviewer  # the reviewer's reading, signed by them


def test_a_changed_blur_shows_at_once(server: str, web_vault: Vault) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        context, page = log_in(browser, server, "investigator")

        def first_thumbnail() -> dict:  # type: ignore[type-arg]
            page.click("nav >> text=Items")
            img = page.locator(".grid .tile img").first
            img.wait_for()
            page.wait_for_function(LOADED, arg=img.element_handle())
            measured: dict = img.evaluate(MEASURE)  # type: ignore[type-arg]
            return measured

        before = first_thumbnail()  # strong blur, greyscale: the defaults
        assert before["colour"] < 1.0
        page.click("nav .who a")  # the user's settings
        page.select_option("select[name=blur]", "1")
        page.uncheck("input[name=greyscale]")
        page.click("form:has(select[name=blur]) button")
        expect(page.locator("p.ok")).to_have_text("Saved.")
        after = first_thumbnail()  # the same browser, the same page, no reload
        assert after["src"] != before["src"]
        assert after["edges"] > 1.25 * before["edges"], (before, after)
        assert after["colour"] > before["colour"] + 2, (before, after)
        context.close()
        browser.close()
