"""The review queue with the evidence in view: each claim's photograph, value, source,
progress and the region it was read from — blurred until a reviewer shows it, which is a
recorded reveal of that region only; verdicts answered in place; the proposed-cases queue."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from dalil.vault import Vault
from dalil.web import crops
from tests.conftest import catalogue
from tests.web.conftest import REGION, ROLE_USERS, login

HTMX = {"HX-Request": "true"}


def _detail(data: bytes) -> float:
    """Edge energy: mean horizontal difference of grey levels (a blur lowers it)."""
    grey = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(grey, axis=1)).mean())


def _events(vault: Vault, action: str) -> list[dict]:  # type: ignore[type-arg]
    conn = catalogue(vault, "ledger")
    try:
        rows = conn.execute("SELECT event FROM ledger").fetchall()
    finally:
        conn.close()
    return [e for e in (json.loads(r[0]) for r in rows) if e["action"] == action]


def _cards(page: str) -> list[str]:
    return re.findall(r'<article class="claim[^"]*" id="claim-(\d+)"', page)


def test_each_claim_is_shown_with_its_evidence(
    app_for: Callable[[], TestClient], web_vault: Vault, ocr_claims: list[int]
) -> None:
    client = app_for()
    login(client, ROLE_USERS["reviewer"])
    page = client.get("/review").text
    # machine readings, lowest confidence first, then people's claims
    ids = [int(i) for i in _cards(page)]
    assert ids[:3] == ocr_claims and len(ids) == 4
    assert "showing 4 of 4 claim(s)" in page
    first = page.split(f'id="claim-{ocr_claims[0]}"')[1].split("</article>")[0]
    conn = catalogue(web_vault)
    item, case = conn.execute(
        "SELECT a.item, c.case_id FROM annotations a JOIN cases c ON c.id = a.case_pk"
        " WHERE a.id = ?",
        (ocr_claims[0],),
    ).fetchone()
    assert f'href="/cases/{case}"' in first
    assert f'src="/items/{item}/thumb?look=3g"' in first  # the reviewer's look
    assert ">215<" in first and "ocr:test" in first and "confidence 0.41" in first
    assert "0 of 2 confirmations" in first
    assert f'src="/review/{ocr_claims[0]}/crop?look=3g"' in first
    assert "/crop/view" not in first  # nothing unblurred before "show"
    assert 'class="show"' in first and 'class="confirm"' in first
    x0, y0, x1, y1 = REGION  # the region marked on the photograph
    assert f'x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}"' in first


def test_the_queue_filters_and_explains_bad_filters(
    app_for: Callable[[], TestClient], web_vault: Vault, ocr_claims: list[int]
) -> None:
    client = app_for()
    login(client, ROLE_USERS["reviewer"])
    assert len(_cards(client.get("/review", params={"max_confidence": "0.7"}).text)) == 2
    assert len(_cards(client.get("/review", params={"kind": "mark"}).text)) == 0
    conn = catalogue(web_vault)
    case = conn.execute(
        "SELECT c.case_id FROM annotations a JOIN cases c ON c.id = a.case_pk WHERE a.id = ?",
        (ocr_claims[1],),
    ).fetchone()[0]
    page = client.get("/review", params={"case": case}).text
    assert _cards(page) == [str(ocr_claims[1])] and "showing 1 of 1" in page
    bad = client.get("/review", params={"kind": "colour"})
    assert bad.status_code == 200 and "identifier, attribute, mark" in bad.text
    assert "Nothing to review" not in bad.text
    unknown = client.get("/review", params={"case": "P-99999"}).text
    assert "no case" in unknown and "Nothing to review" not in unknown
    for most in ("2", "high"):
        page = client.get("/review", params={"max_confidence": most}).text
        assert "give a number from 0 to 1" in page and "Nothing to review" not in page
    # the filter form as a browser sends it, fields left empty
    empty = {"queue": "unverified", "case": "", "kind": "", "max_confidence": "", "mine": "1"}
    assert len(_cards(client.get("/review", params=empty).text)) == 4
    # paging: "showing N of M"
    first = client.get("/review", params={"skip": "2"}).text
    assert "showing 2 of 4 claim(s) (from 3 to 4)" in first


def test_the_region_is_blurred_until_shown_and_the_showing_is_recorded(
    app_for: Callable[[], TestClient], web_vault: Vault, ocr_claims: list[int]
) -> None:
    claim = ocr_claims[0]
    client = app_for()
    csrf = login(client, ROLE_USERS["reviewer"])
    blurred = client.get(f"/review/{claim}/crop?look=3g")
    assert blurred.status_code == 200 and blurred.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(blurred.content)).width == crops.CROP_WIDTH
    assert client.get(f"/review/{claim}/crop/view").status_code == 428
    assert _events(web_vault, "item.revealed") == []
    shown = client.post(f"/review/{claim}/crop/reveal", headers={**HTMX, "X-CSRF-Token": csrf})
    assert shown.status_code == 200 and f"/review/{claim}/crop/view" in shown.text
    [event] = _events(web_vault, "item.revealed")
    assert event["actor"] == ROLE_USERS["reviewer"]
    assert event["details"]["region"] == REGION and event["details"]["annotation"] == claim
    sharp = client.get(f"/review/{claim}/crop/view")
    assert sharp.status_code == 200 and sharp.headers["cache-control"] == "no-store"
    picture = Image.open(io.BytesIO(sharp.content))
    assert picture.width == crops.CROP_WIDTH  # enlarged: the region is 240 px wide
    assert _detail(blurred.content) < 0.5 * _detail(sharp.content)
    # the crop is the region (with its margin) of the original, not the whole picture
    sha = event["details"]["sha256"]
    original = Image.open(web_vault.store().path(sha))
    box = crops.crop_box(REGION, original.size)
    assert box is not None
    expected = original.convert("RGB").crop(box).resize(picture.size)
    difference = np.abs(
        np.asarray(expected, dtype=np.float32) - np.asarray(picture.convert("RGB"), np.float32)
    )
    assert difference.mean() < 12
    # a region shown is not the whole picture, and not for another session
    assert client.get(f"/items/{sha}/view").status_code == 428
    other = app_for()
    login(other, ROLE_USERS["reviewer"])
    assert other.get(f"/review/{claim}/crop/view").status_code == 428
    assert f"/review/{claim}/crop/view" in client.get("/review").text  # shown for a while
    # the family-liaison role sees the blurred region only
    liaison = app_for()
    csrf = login(liaison, ROLE_USERS["liaison"])
    assert liaison.get(f"/review/{claim}/crop?look=3g").status_code == 200
    assert liaison.post(f"/review/{claim}/crop/reveal", data={"csrf": csrf}).status_code == 403
    assert liaison.get(f"/review/{claim}/crop/view").status_code == 403
    page = liaison.get("/review").text
    assert 'class="show"' not in page and "/crop/view" not in page
    assert len(_events(web_vault, "item.revealed")) == 1
    # a claim not read from a photograph has no region
    conn = catalogue(web_vault)
    plain = conn.execute("SELECT id FROM annotations WHERE item IS NULL LIMIT 1").fetchone()[0]
    assert client.get(f"/review/{plain}/crop").status_code == 404


def test_verdicts_answer_with_the_card_as_it_now_stands(
    app_for: Callable[[], TestClient], web_vault: Vault, ocr_claims: list[int]
) -> None:
    first, second = app_for(), app_for()
    csrf1 = login(first, ROLE_USERS["reviewer"])
    csrf2 = login(second, ROLE_USERS["investigator"])
    claim = ocr_claims[0]
    card = first.post(f"/review/{claim}/confirm", headers={**HTMX, "X-CSRF-Token": csrf1})
    assert card.status_code == 200 and card.text.lstrip().startswith("<article")
    assert "1 of 2 confirmations" in card.text and "claim done" in card.text
    assert "reviewed by you" in card.text
    # the reviewer's own queue no longer holds it; the whole queue still does
    assert str(claim) not in _cards(first.get("/review").text)
    assert str(claim) in _cards(first.get("/review", params={"mine": "0"}).text)
    card = second.post(f"/review/{claim}/confirm", headers={**HTMX, "X-CSRF-Token": csrf2})
    assert "2 of 2 confirmations" in card.text and "verified" in card.text
    # a rejection with the reviewer's own reading: a new claim, itself to be confirmed
    wrong = ocr_claims[1]
    card = first.post(
        f"/review/{wrong}/reject",
        data={"correct": "3318", "comment": "the last digit is an 8"},
        headers={**HTMX, "X-CSRF-Token": csrf1},
    )
    assert card.status_code == 200 and "rejected by" in card.text and "claim done" in card.text
    assert "Your reading 3318 is claim" in card.text
    assert "3318" in _cards_text(first.get("/review", params={"mine": "0"}).text)
    # a bad correction is refused, and nothing is recorded
    refused = second.post(
        f"/review/{wrong}/reject",
        data={"correct": "not a number"},
        headers={**HTMX, "X-CSRF-Token": csrf2},
    )
    assert refused.status_code == 400
    assert len(_events(web_vault, "annotation.rejected")) == 1
    # the API takes a correction too
    api = second.post(
        f"/api/annotations/{ocr_claims[2]}/reject",
        json={"comment": "a 1, not a 7", "correct": "2318"},
        headers={"X-CSRF-Token": csrf2},
    )
    assert api.status_code == 200 and api.json()["correction"]["value"] == "2318"
    assert api.json()["correction"]["author"] == ROLE_USERS["investigator"]
    # without htmx, a form goes back to where it came from
    plain = first.post(
        f"/review/{ocr_claims[2]}/confirm", data={"csrf": csrf1}, follow_redirects=False
    )
    assert plain.status_code == 303


def _cards_text(page: str) -> str:
    return " ".join(re.findall(r'<p class="value" dir="auto">([^<]*)</p>', page))


def test_progress_is_shown_wherever_claims_are_listed(
    app_for: Callable[[], TestClient], web_vault: Vault, ocr_claims: list[int]
) -> None:
    client = app_for()
    csrf = login(client, ROLE_USERS["reviewer"])
    client.post(f"/review/{ocr_claims[0]}/confirm", data={"csrf": csrf})
    conn = catalogue(web_vault)
    case = conn.execute(
        "SELECT c.case_id FROM annotations a JOIN cases c ON c.id = a.case_pk WHERE a.id = ?",
        (ocr_claims[0],),
    ).fetchone()[0]
    page = client.get(f"/cases/{case}").text
    assert "1 of 2 confirmations" in page  # the machine reading, confirmed once
    assert "0 of 1 confirmations" in page  # the investigator's own claim
    api = client.get(f"/api/cases/{case}").json()
    progress = {a["id"]: a["confirmations"]["text"] for a in api["annotations"]}
    assert progress[ocr_claims[0]] == "1 of 2 confirmations"
    found = client.get("/search", params={"identifier": "branch:215"}).text
    assert "1 of 2 confirmations" in found
    queue = client.get("/api/review/unverified", params={"max_confidence": "0.5"}).json()
    assert [r["confirmations"]["text"] for r in queue] == ["1 of 2 confirmations"]


def test_proposed_cases_show_their_photographs_and_can_be_rejected(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    client = app_for()
    csrf = login(client, ROLE_USERS["investigator"])
    page = client.get("/review", params={"queue": "proposed"}).text
    proposed = re.findall(r'<h3><a href="/cases/([^"]+)">', page)
    assert proposed and "showing 1 of 1 proposed case(s)" in page
    assert re.search(r'src="/items/[0-9a-f]{64}/thumb\?look=3g"', page)
    assert "Accept" in page and "Reject" in page
    r = client.post(f"/cases/{proposed[0]}/reject", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert "Nothing proposed" in client.get("/review", params={"queue": "proposed"}).text
    [event] = [e for e in _events(web_vault, "case.status") if e["details"]["to"] == "rejected"]
    assert event["actor"] == ROLE_USERS["investigator"]
    # a reviewer sees the proposals but does not decide on them
    reviewer = app_for()
    login(reviewer, ROLE_USERS["reviewer"])
    assert "Accept" not in reviewer.get("/review", params={"queue": "proposed"}).text


def test_the_look_is_part_of_every_blurred_image_url(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    client = app_for()
    csrf = login(client, ROLE_USERS["archivist"])
    sha = re.search(r"/items/([0-9a-f]{64})/thumb\?look=3g", client.get("/items").text)
    assert sha, "thumbnails carry the look"
    strong = client.get(f"/items/{sha.group(1)}/thumb?look=3g")
    assert strong.headers["cache-control"] == "private, max-age=3600"
    assert client.get(f"/items/{sha.group(1)}/thumb?look=9z").status_code == 400
    saved = client.post("/settings", data={"csrf": csrf, "blur": "1"}, follow_redirects=False)
    assert saved.status_code == 303
    assert f"/items/{sha.group(1)}/thumb?look=1c" in client.get("/items").text
    assert f"/items/{sha.group(1)}/thumb?look=1c" in client.get("/settings?saved=1").text
    # an address from before the change is sent to the current look
    old = client.get(f"/items/{sha.group(1)}/thumb?look=3g", follow_redirects=False)
    assert old.status_code == 303 and old.headers["location"].endswith("look=1c")
    light = client.get(f"/items/{sha.group(1)}/thumb?look=1c")
    assert _detail(light.content) > _detail(strong.content)
    assert Image.open(io.BytesIO(light.content)).mode == "RGB"
    # without a look (an old link), the picture as it is now, not to be kept
    bare = client.get(f"/items/{sha.group(1)}/thumb")
    assert bare.status_code == 200 and bare.headers["cache-control"] == "private, no-cache"


def test_match_evidence_is_in_plain_words(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    client = app_for()
    login(client, ROLE_USERS["liaison"])
    conn = catalogue(web_vault)
    label = conn.execute("SELECT label FROM clusters ORDER BY size DESC LIMIT 1").fetchone()[0]
    page = client.get(f"/clusters/{label}").text
    words = re.findall(r'<span class="evidence" title="([^"]*)">([^<]+)</span>', page)
    assert words, page
    for expert, plain in words:
        assert "stage" in expert  # the expert details stay, out of the way
        assert "pdq" not in plain.lower() and "inlier" not in plain.lower()
        assert "same" in plain or "identical" in plain
    assert '<details class="expert">' in page
    member = conn.execute(
        "SELECT m.sha256 FROM cluster_members m JOIN clusters c ON c.id = m.cluster_id"
        " WHERE c.label = ? ORDER BY m.sha256 LIMIT 1",
        (label,),
    ).fetchone()[0]
    item = client.get(f"/items/{member}").text
    assert re.search(r'<span class="evidence"( title="[^"]*")?>[^<]+</span>', item)


def test_photographs_that_need_a_human_reading_have_their_own_tab(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    """A value OCR read too doubtfully is not proposed: the photograph is listed in the
    needs-reading queue with what was read, blurred like every thumbnail."""
    from dalil.catalog import atomic
    from dalil.ocr import ENGINE_VERSION

    conn = web_vault.connect()
    case, item = conn.execute(
        "SELECT c.case_id, ci.sha256 FROM cases c JOIN case_items ci ON ci.case_pk = c.id"
        " WHERE c.status = 'open' ORDER BY c.id, ci.sha256 LIMIT 1"
    ).fetchone()
    readings = [
        {"field": "branch", "value": "23", "written": "٢٣", "script": "arabic-indic",
         "confidence": 0.7, "box": [1, 2, 30, 12], "engine": "digit-lines-v1",
         "assigned": "order", "field_confidence": 0.52},
        {"field": "detainee", "value": "4721", "written": "4721", "script": "western",
         "confidence": 0.99, "box": [1, 20, 30, 32], "engine": "pp-ocrv4",
         "assigned": "label", "field_confidence": 0.99},
    ]  # fmt: skip
    with atomic(conn):
        web_vault.ledger(conn).append(
            "founder",
            "ocr.read",
            f"sha256:{item}",
            {"sha256": item, "engine": ENGINE_VERSION, "numbers": 2},
            {"sha256": item, "engine": ENGINE_VERSION, "readings": readings, "text": "٢٣ 4721"},
        )
    conn.close()
    client = app_for()
    login(client, ROLE_USERS["reviewer"])
    page = client.get("/review", params={"queue": "needs-reading"}).text
    assert "showing 1 of 1 photograph(s) that need a human reading" in page
    assert f'href="/cases/{case}"' in page and f'src="/items/{item}/thumb?look=' in page
    assert "branch: ٢٣ (0.52)" in page
    assert "4721" not in page  # a sure value is proposed, not queued
