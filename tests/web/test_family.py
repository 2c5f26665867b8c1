"""Families in the browser: the liaison officer records a report (contact details and consent
sealed), looks for candidates and sees them with the evidence first, pictures blurred, the
review state in words, Arabic names right to left — and the family's contact details appear
nowhere but in the one answer that shows them: not in other pages or the API, not in the
server's logs, the ledger, the catalogue, error pages or URLs."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from dalil import names, reports
from dalil.cases import model
from dalil.demo.people import FAMILY, GIVEN, Person, people, write_lists
from dalil.errors import UsageError
from dalil.linkage import family, review
from dalil.lists import import_list
from dalil.vault import Vault
from dalil.web import family as family_web
from dalil.web.app import create_app
from tests.conftest import catalogue, copy_vault
from tests.web.browser import ARTIFACTS, CHROMIUM, launch, log_in
from tests.web.conftest import ROLE_USERS, login

CONTACT = "Umm Khaled أم خالد +963-944-555-0101 via her cousin in Gaziantep"
CONSENT = "consent-only-for-identification رضا-العائلة"
SECRETS = ["+963-944-555-0101", "Gaziantep", "أم خالد", "consent-only-for-identification", "رضا"]


def _forms(text: str) -> list[bytes]:
    """Every way a string could be written down: UTF-8, JSON-escaped, UTF-16, URL-encoded."""
    from urllib.parse import quote, quote_plus

    escaped = json.dumps(text)[1:-1].encode("ascii")
    return [
        text.encode("utf-8"),
        escaped,
        text.encode("utf-16-le"),
        quote(text).encode("ascii"),
        quote_plus(text).encode("ascii"),
    ]


def _leaks(data: bytes | str) -> list[str]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return [s for s in SECRETS if any(form in raw for form in _forms(s))]


def _scan(folder: Path, skip: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in skip:
            leaks = _leaks(path.read_bytes())
            if leaks:
                found[str(path.relative_to(folder))] = leaks
    return found


# -- a vault with lists, a case and a contacts key ------------------------------------------------


def _person(folder: Path) -> Person:
    """The person the family reports: one found in both generated lists."""
    persons = people(40, seed=7)
    truth = write_lists(folder, persons, seed=8)
    both = set(truth["arabic"].values()) & set(truth["latin"].values())
    return next(p for p in persons if p.pid in both)


def _report_fields(p: Person) -> dict[str, str]:
    return {
        "full_name": f"{GIVEN[p.given][0]} {GIVEN[p.father][0]} {FAMILY[p.family][0]}",
        "full_name_latin": f"{GIVEN[p.given][1][0]} {FAMILY[p.family][1][0]}",
        "mother_name": GIVEN[p.mother][0],
        "birth_year": str(p.birth_year),
        "branch": p.branch,
        "detainee_number": p.detainee,
        "sex": "male" if p.sex == "m" else "female",
    }


@pytest.fixture(scope="session")
def family_template(web_vault_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("family")
    copy_vault(web_vault_template, base / "vault")
    vault = Vault.open(base / "vault")
    person = _person(base / "lists")
    import_list(vault, base / "lists" / "arabic.csv", "arabic", "an Arabic list", "founder",
                id_column="الرقم")  # fmt: skip
    import_list(vault, base / "lists" / "latin.csv", "latin", "a Latin list", "founder",
                id_column="ID")  # fmt: skip
    conn = vault.connect()
    ledger = vault.ledger(conn)
    founder = model.Actor("founder")
    case = model.new_case(conn, ledger, founder, "person", "Unidentified man, branch photographs")
    model.add_annotation(conn, ledger, founder, case, "identifier", "detainee", person.detainee)
    model.add_annotation(conn, ledger, founder, case, "identifier", "branch", person.branch)
    model.add_annotation(conn, ledger, founder, case, "attribute", "sex", "male")
    pictures = [
        r[0]
        for r in conn.execute(
            "SELECT sha256 FROM items WHERE media_type LIKE 'image/%' ORDER BY sha256 LIMIT 2"
        )
    ]
    model.link(conn, ledger, founder, case, pictures, "other")
    ledger.sign_tail()
    conn.close()
    (base / "person.json").write_text(json.dumps({"case": case, **_report_fields(person)}))
    key = reports.new_key_file(base / "contacts.key")
    _set_key(vault, str(key))
    return vault.root


def _set_key(vault: Vault, key: str) -> None:
    settings = vault.root / "dalil.toml"
    text = re.sub(
        r"^#? *contacts_key_file *=.*$",
        f'contacts_key_file = "{key}"',
        settings.read_text(encoding="utf-8"),
        flags=re.M,
    )
    assert f'contacts_key_file = "{key}"' in text
    settings.write_text(text, encoding="utf-8")


@pytest.fixture
def web_vault(family_template: Path, tmp_path: Path) -> Vault:
    """This module's vault (``app_for`` and ``server`` serve it): the web test vault with two
    lists, a person case with photographs, and a contacts key outside the vault."""
    copy_vault(family_template, tmp_path / "vault")
    return Vault.open(tmp_path / "vault")


@pytest.fixture
def person(family_template: Path) -> dict[str, str]:
    found: dict[str, str] = json.loads((family_template.parent / "person.json").read_text())
    return found


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), (150, 110, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


def _send(
    client: Any, csrf: str, fields: dict[str, str], *, photo: bytes | None = None, **extra: Any
) -> Any:
    """Send the report form as the browser does: multipart, the token in the query string,
    an empty file part when no photograph is chosen."""
    form = {k: v for k, v in fields.items() if k != "case"}
    form.update(extra)
    if photo is None:
        files = {"photo": ("", b"", "application/octet-stream")}
    else:
        files = {"photo": ("face.jpg", photo, "image/jpeg")}
    return client.post(f"/reports/new?csrf={csrf}", data=form, files=files, follow_redirects=False)


# -- the tests ------------------------------------------------------------------------------------


def test_liaison_records_a_report_and_sees_its_candidates(
    app_for: Callable[[], TestClient],
    web_vault: Vault,
    person: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import starlette.formparsers

    def no_spooling(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a family's form never goes through the system's temporary folder")

    monkeypatch.setattr(starlette.formparsers, "SpooledTemporaryFile", no_spooling)
    client = app_for()
    csrf = login(client, ROLE_USERS["liaison"])
    assert 'href="/reports"' in client.get("/").text  # the nav shows the liaison's pages
    form = client.get("/reports/new")
    assert form.status_code == 200 and 'name="contact"' in form.text
    assert re.search(r'name="full_name"[^>]*dir="rtl" lang="ar"', form.text)
    assert "cannot be stored" not in form.text
    done = _send(
        client, csrf, person, photo=_jpeg(), mark=["scar above the left eyebrow", "gold tooth"],
        contact=CONTACT, consent=CONSENT,
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/reports/R-00001", done.text
    assert not _leaks(done.headers["location"])
    listing = client.get("/reports")
    assert "R-00001" in listing.text and not _leaks(listing.text)

    view = client.get("/reports/R-00001")
    assert view.status_code == 200 and not _leaks(view.text)
    assert "A candidate is not an identification" in view.text
    assert f'<bdi lang="ar" dir="rtl">{person["full_name"]}</bdi>' in view.text
    assert f'<bdi dir="auto">{person["full_name_latin"]}</bdi>' in view.text
    assert "scar above the left eyebrow" in view.text and "Show contact details" in view.text
    assert "No candidates yet" in view.text

    looked = client.post("/reports/R-00001/look", data={"csrf": csrf}, follow_redirects=False)
    assert looked.status_code == 303 and "/reports/R-00001?looked=" in looked.headers["location"]
    view = client.get(looked.headers["location"])
    assert "is recorded" in view.text and not _leaks(view.text)
    # the library's answer: the Arabic list's record and the case, the evidence facing the report
    conn = web_vault.connect(readonly=True)
    found = family.candidates(conn, "r-00001")
    conn.close()
    records = {c["record"] for c in found}
    assert f"cases:{person['case']}" in records, records
    assert any(r.startswith("arabic:") for r in records), records
    listed = next(c for c in found if c["record"].startswith("arabic:"))
    given = next(e for e in listed["evidence"] if e["field"] == "given")
    assert given["report"] == person["full_name"].split()[0]
    assert given["report_compared"] == names.comparison_form(given["report"])
    assert given["agreement"] == "the same" and given["weight"] > 0
    assert listed["state"] == "pending" and listed["confirmations"] == "0 of 2"
    assert [c["probability"] for c in found] == sorted((c["probability"] for c in found),
                                                       reverse=True)  # fmt: skip

    # the page: each candidate's text evidence first, then probability and state, then pictures
    articles = re.findall(r'<article class="candidate.*?</article>', view.text, flags=re.S)
    assert len(articles) == len(found)
    for article in articles:
        assert article.index('<table class="evidence"') < article.index("probability")
        assert "not yet confirmed — 0 of 2 reviewers" in article
    case_card = next(a for a in articles if f"cases:{person['case']}" in a)
    assert "detainee number" in case_card and "the same" in case_card
    assert case_card.index("probability") < case_card.index("<img")
    images = re.findall(r'<img[^>]+src="([^"]+)"', view.text)
    assert images and all(re.fullmatch(r"/items/[0-9a-f]{64}/thumb\?look=\dg", s) for s in images)
    for forbidden in ("/view", "/original", "/reveal", "/crop", "Reveal"):
        assert forbidden not in view.text, forbidden
    assert "counts strongly for" in view.text or "counts for" in view.text

    # the CLI says the same
    from tests.conftest import run_dalil

    out = run_dalil("link", "candidates", "R-00001", "--json", "--vault", web_vault.root)
    assert out.returncode == 0, out.stderr
    listed_json = json.loads(out.stdout)
    assert listed_json["total"] == len(found) == listed_json["shown"]
    assert {c["record"] for c in listed_json["candidates"]} == records
    assert not _leaks(out.stdout + out.stderr)
    missing = run_dalil("link", "candidates", "R-09999", "--json", "--vault", web_vault.root)
    assert missing.returncode == 2 and "no report" in json.loads(missing.stderr)["error"]


def test_reviewers_confirmations_show_in_the_family_view(
    app_for: Callable[[], TestClient], web_vault: Vault, person: dict[str, str]
) -> None:
    client = app_for()
    csrf = login(client, ROLE_USERS["liaison"])
    assert _send(client, csrf, person).status_code == 303
    assert client.post("/reports/R-00001/look", data={"csrf": csrf}).status_code == 200
    conn = web_vault.connect()
    ledger = web_vault.ledger(conn)
    pair = (f"cases:{person['case']}", "reports:R-00001")
    with pytest.raises(UsageError, match="may not review links"):  # the liaison never decides
        review.confirm(conn, ledger, ROLE_USERS["liaison"], *pair)

    def card() -> str:
        page = client.get("/reports/R-00001").text
        cards = re.findall(r'<article class="candidate.*?</article>', page, flags=re.S)
        found = [c for c in cards if f'data-record="{pair[0]}"' in c]
        assert len(found) == 1, page
        assert cards.index(found[0]) == 0 or "state-confirmed" not in found[0]
        return found[0]

    assert "not yet confirmed — 0 of 2 reviewers" in card()
    review.confirm(conn, ledger, ROLE_USERS["reviewer"], *pair)
    shown = card()
    assert "not yet confirmed — 1 of 2 reviewers" in shown
    assert f"confirmed by {ROLE_USERS['reviewer']}" in shown
    review.confirm(conn, ledger, ROLE_USERS["investigator"], *pair)
    shown = card()
    assert "confirmed by two reviewers" in shown and "state-confirmed" in shown
    page = client.get("/reports/R-00001").text
    first = re.search(r'<article class="candidate ([^"]+)"[^>]*data-record="([^"]+)"', page)
    assert first and first.group(2) == pair[0]  # a confirmed link comes first
    conn.close()


@contextmanager
def _serve(vault: Vault) -> Iterator[str]:
    """The workspace on a loopback port with every log record (uvicorn's access log and
    errors, the app's) going to the root logger, where ``caplog`` reads them."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(vault.root), host="127.0.0.1", port=port, log_config=None,
        log_level="debug", access_log=True,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_contact_details_appear_nowhere_else(
    web_vault: Vault, person: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with ExitStack() as stack:
        base = stack.enter_context(_serve(web_vault))
        liaison, admin, investigator = (
            stack.enter_context(httpx.Client(base_url=base)) for _ in range(3)
        )
        csrf = login(liaison, ROLE_USERS["liaison"])  # type: ignore[arg-type]
        answers: list[httpx.Response] = []

        # a mistake: the form comes back without the contact details, nothing is saved
        wrong = _send(liaison, csrf, {**person, "birth_year": "19x5"}, contact=CONTACT,
                      consent=CONSENT, photo=_jpeg())  # fmt: skip
        assert wrong.status_code == 400 and "year of birth" in wrong.text
        assert person["full_name"] in wrong.text  # what may come back does
        assert "give them again" in wrong.text
        answers.append(wrong)
        superscript = _send(liaison, csrf, {**person, "birth_year": "\u00b2" * 4})
        assert superscript.status_code == 400 and "year of birth" in superscript.text
        unreadable = _send(liaison, csrf, person, contact=CONTACT, consent=CONSENT,
                           photo=b"not a picture at all")  # fmt: skip
        assert unreadable.status_code == 400 and "not an image" in unreadable.text
        answers.append(unreadable)
        assert liaison.get("/reports/R-00001").status_code == 404

        done = _send(liaison, csrf, person, contact=CONTACT, consent=CONSENT,
                     mark="a scar on the right hand")  # fmt: skip
        assert done.status_code == 303, done.text
        answers.append(done)
        login(admin, ROLE_USERS["admin"])  # type: ignore[arg-type]
        other_csrf = login(investigator, ROLE_USERS["investigator"])  # type: ignore[arg-type]
        for client in (liaison, admin, investigator):
            for path in ("/", "/reports", "/reports/R-00001", "/api/me", "/search?q=cousin",
                         "/cases", "/review", "/ledger", "/api/ledger", "/reports/R-09999",
                         "/reports/new"):  # fmt: skip
                answers.append(client.get(path))
            assert client.get("/api/search", params={"q": "cousin"}).json()["total"] == 0
        assert answers[-1].status_code == 403  # the investigator: no family pages
        assert investigator.get("/reports/R-00001").status_code == 403
        refused = investigator.post("/reports/R-00001/contact", data={"csrf": other_csrf})
        assert refused.status_code == 403
        answers.append(refused)
        leaking = [(str(r.url), _leaks(r.text)) for r in answers if _leaks(r.text + str(r.url))]
        assert leaking == []

        # shown once, to the liaison who asks; the reading is an event, not its content
        shown = liaison.post("/reports/R-00001/contact", data={"csrf": csrf})
        assert shown.status_code == 200 and CONTACT in shown.text and CONSENT in shown.text
        assert "no-store" in shown.headers["cache-control"]
        again = liaison.get("/reports/R-00001")
        assert not _leaks(again.text) and "Read 1 time(s)" in again.text
        events = admin.get("/api/ledger").json()
        assert not _leaks(json.dumps(events, ensure_ascii=False))
        assert "report.contact-read" in json.dumps(events)
    assert not _leaks(caplog.text), _leaks(caplog.text)
    assert "POST /reports/new?csrf=" in caplog.text  # the access log was captured
    # nothing in the vault holds them but their sealed store: ledger, payloads, catalogue
    assert _scan(web_vault.root, skip=frozenset({"contacts.sqlite"})) == {}
    assert not _leaks((web_vault.root / "contacts.sqlite").read_bytes())
    conn = catalogue(web_vault)
    assert conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 1
    conn.close()


def test_without_the_contacts_key_the_rest_still_works(
    web_vault: Vault, person: dict[str, str]
) -> None:
    _set_key(web_vault, "")
    client = TestClient(create_app(web_vault.root), base_url="http://testserver")
    csrf = login(client, ROLE_USERS["liaison"])
    form = client.get("/reports/new").text
    assert "cannot be stored in this vault now" in form
    assert re.search(r'name="contact"[^>]*disabled', form)
    refused = _send(client, csrf, person, contact=CONTACT)
    assert refused.status_code == 400 and "Nothing was saved" in refused.text
    assert not _leaks(refused.text) and "contacts_key_file" in refused.text
    assert client.get("/reports/R-00001").status_code == 404
    saved = _send(client, csrf, person, contact="", consent="")
    assert saved.status_code == 303
    view = client.get("/reports/R-00001").text
    assert "cannot be read in this vault now" in view and "Show contact details" not in view


def test_the_form_checks_what_it_is_given(
    app_for: Callable[[], TestClient], person: dict[str, str]
) -> None:
    assert set(family_web.LABELS) == set(reports.REPORT_FIELDS)
    client = app_for()
    csrf = login(client, ROLE_USERS["admin"])
    nameless = _send(client, csrf, {"birth_year": "1985"})
    assert nameless.status_code == 400 and "the missing person" in nameless.text
    for field, value, said in (
        ("birth_date", "1985-13-40", "date of birth"),
        ("arrest_date", "2999", "date of arrest"),
        ("sex", "x", "sex: male, female"),
    ):
        r = _send(client, csrf, {**person, field: value})
        assert r.status_code == 400 and said in r.text, (field, r.text[:400])
    # Arabic-Indic digits are digits; a date may be a month; the page shows them as 0-9
    r = _send(client, csrf, {**person, "birth_year": "١٩٨٥", "arrest_date": "2013/5"})
    assert r.status_code == 303, r.text[:600]
    view = client.get(r.headers["location"]).text
    assert '<bdi dir="ltr" class="number">1985</bdi>' in view
    assert '<bdi dir="ltr" class="number">2013-05</bdi>' in view
    # urlencoded forms (scripts) work too, the token in the body
    plain = client.post(
        "/reports/new", data={"csrf": csrf, "full_name_latin": "Samer Haddad"},
        follow_redirects=False,
    )  # fmt: skip
    assert plain.status_code == 303 and plain.headers["location"] == "/reports/R-00002"
    nothing = client.post("/reports/R-00002/contact", data={"csrf": csrf})
    assert nothing.status_code == 400 and "has no contact details" in nothing.text
    assert client.post("/reports/new", data={"full_name": "x"}).status_code == 403  # no token


pytestmark_browser = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (scripts/setup.sh)"
)


@pytestmark_browser
def test_an_arabic_name_reads_right_to_left_in_the_browser(
    server: str, person: dict[str, str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        context, page = log_in(browser, server, "liaison")
        page.click("nav a[href='/reports']")
        page.click("a[href='/reports/new']")
        field = page.locator("input[name=full_name]")
        assert field.evaluate("e => getComputedStyle(e).direction") == "rtl"
        field.fill(person["full_name"])
        page.fill("input[name=full_name_latin]", person["full_name_latin"])
        page.fill("input[name=birth_year]", person["birth_year"])
        page.locator("input[name=mark]").first.fill("ندبة فوق الحاجب الأيسر")
        page.fill("textarea[name=contact]", CONTACT)
        page.screenshot(path=str(shots / "family-report-form.png"), full_page=True)
        page.click("button.save")
        expect(page.locator("h1")).to_contain_text("R-00001")
        assert "/reports/R-00001" in page.url and not _leaks(page.url)
        name = page.locator("h1 bdi[lang=ar]")
        assert name.inner_text() == person["full_name"]
        assert name.evaluate("e => getComputedStyle(e).direction") == "rtl"
        mark = page.locator("ul.marks bdi")
        assert mark.evaluate("e => getComputedStyle(e).direction") == "rtl"
        latin = page.locator("p.latin bdi")
        assert latin.evaluate("e => getComputedStyle(e).direction") == "ltr"
        assert not _leaks(page.content())
        page.screenshot(path=str(shots / "family-view.png"), full_page=True)
        page.click("button.look")
        expect(page.locator("p.ok")).to_contain_text("is recorded")
        first = page.locator("article.candidate").first
        expect(first.locator("table.evidence")).to_be_visible()
        arabic = first.locator("table.evidence bdi[lang=ar]").first
        assert arabic.evaluate("e => getComputedStyle(e).direction") == "rtl"
        page.screenshot(path=str(shots / "family-candidates.png"), full_page=True)
        context.close()
        browser.close()
