"""Authorization matrix, CSRF, sessions, throttling, path traversal, uploads, XSS, and the
rule that no unblurred image byte leaves the server without a reveal event."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from dalil import users
from dalil.vault import Vault
from dalil.web import auth, upload
from tests.conftest import catalogue
from tests.web.conftest import PASSWORD, ROLE_USERS, login


def _first(conn: sqlite3.Connection, sql: str) -> str:
    row = conn.execute(sql).fetchone()
    assert row is not None, sql
    return str(row[0])


def _path_values(vault: Vault) -> dict[str, str]:
    conn = catalogue(vault)
    return {
        "ref": _first(conn, "SELECT sha256 FROM items WHERE media_type LIKE 'image/%' LIMIT 1"),
        "case_id": _first(conn, "SELECT case_id FROM cases ORDER BY id LIMIT 1"),
        "label": _first(conn, "SELECT label FROM clusters LIMIT 1"),
        "annotation": _first(conn, "SELECT id FROM annotations LIMIT 1"),
        "name": "nobody-at-all",
        "job_id": "000000000000",
        "queue": "unverified",
        "form": "csv",
        "task_id": "000000000000",
        "number": "1",  # a saved estimate (none: 404 for those allowed)
    }


def test_every_route_checks_the_role(app_for: Callable[[], TestClient], web_vault: Vault) -> None:
    clients = {}
    for role, name in ROLE_USERS.items():
        client = app_for()
        clients[role] = (client, login(client, name))
    values = _path_values(web_vault)
    table = dict(auth.ROUTE_PERMISSIONS)
    assert len(table) >= 40, table
    walked = 0
    for (method, template), permission in sorted(table.items()):
        if template in ("/logout", "/login"):
            continue  # walked below
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        anonymous = TestClient(clients["admin"][0].app).request(
            method, path, follow_redirects=False
        )
        if permission is not None:
            assert anonymous.status_code in (303, 401), (method, path, anonymous.status_code)
        for role, (client, csrf) in clients.items():
            r = client.request(method, path, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
            allowed = permission is None or role in users.PERMISSIONS[permission]
            if allowed:
                assert r.status_code not in (401, 403), (
                    role,
                    method,
                    path,
                    r.status_code,
                    r.text[:200],
                )
            else:
                assert r.status_code == 403, (role, method, path, r.status_code)
            walked += 1
    assert walked >= 40 * len(users.ROLES)
    for name in ROLE_USERS.values():  # /logout: everyone may end their own session
        client = app_for()
        csrf = login(client, name)
        assert (
            client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
        )
        assert client.get("/api/me").status_code == 401


def test_csrf_is_required_on_every_change(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    client = app_for()
    csrf = login(client, ROLE_USERS["investigator"])
    case = _path_values(web_vault)["case_id"]
    form = {"kind": "note", "field": "note", "value": "seen on the second stick"}
    assert client.post(f"/cases/{case}/claims", data=form).status_code == 403
    assert client.post(f"/cases/{case}/claims", data={**form, "csrf": "forged"}).status_code == 403
    ok = client.post(f"/cases/{case}/claims", data={**form, "csrf": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    api = client.post(
        f"/api/cases/{case}/claims", json={"kind": "mark", "field": "mark", "value": "scar"}
    )
    assert api.status_code == 403
    api = client.post(
        f"/api/cases/{case}/claims",
        json={"kind": "mark", "field": "mark", "value": "scar"},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 200 and api.json()["author"] == ROLE_USERS["investigator"]
    # the login form itself is protected by a double-submit cookie
    stranger = app_for()
    r = stranger.post(
        "/login",
        data={"name": ROLE_USERS["admin"], "password": PASSWORD, "csrf": "x"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "error=expired" in r.headers["location"]
    assert stranger.get("/api/me").status_code == 401


def test_sessions_are_fresh_at_login_expire_and_can_be_revoked(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    client = app_for()
    client.get("/login")
    domain = next(c.domain for c in client.cookies.jar)
    client.cookies.set(auth.COOKIE, "chosen-by-an-attacker", domain=domain)
    login(client, ROLE_USERS["reviewer"])
    token = client.cookies.get(auth.COOKIE, domain=domain)
    assert token and token != "chosen-by-an-attacker"  # no fixation
    set_cookie = client.get("/login").headers.get("set-cookie", "")
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
    conn = web_vault.connect()
    # idle too long
    conn.execute("UPDATE sessions SET last_seen = ?", (time.time() - auth.IDLE_SECONDS - 5,))
    assert client.get("/", follow_redirects=False).status_code == 303
    login(client, ROLE_USERS["reviewer"])
    assert client.get("/").status_code == 200
    # past the absolute limit
    conn.execute("UPDATE sessions SET expires_at = ? WHERE revoked = 0", (time.time() - 1,))
    assert client.get("/api/me").status_code == 401
    login(client, ROLE_USERS["reviewer"])
    # an admin disables the account: every session ends at once
    admin = app_for()
    csrf = login(admin, ROLE_USERS["admin"])
    r = admin.post(
        f"/users/{ROLE_USERS['reviewer']}/disable", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get("/api/me").status_code == 401
    events = [json.loads(r[0])["action"] for r in conn.execute("SELECT event FROM ledger")]
    assert "user.disabled" in events and "user.login" in events


def test_failed_logins_are_throttled(app_for: Callable[[], TestClient]) -> None:
    client = app_for()
    for _ in range(auth.MAX_FAILURES_PER_USER):
        page = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = client.post(
            "/login",
            data={"name": ROLE_USERS["archivist"], "password": "wrong password!", "csrf": token},
            follow_redirects=False,
        )
        assert "error=wrong" in r.headers["location"]
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/login",
        data={"name": ROLE_USERS["archivist"], "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 429  # even the right password waits


def test_no_unblurred_byte_without_a_reveal_event(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    values = _path_values(web_vault)
    sha = values["ref"]
    client = app_for()
    csrf = login(client, ROLE_USERS["investigator"])
    original_thumb = (web_vault.derived_path("thumbnail", sha, ".jpg")).read_bytes()
    blurred = client.get(f"/items/{sha}/thumb")
    assert blurred.status_code == 200 and blurred.content != original_thumb

    def detail(data: bytes) -> float:
        grey = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)
        return float(np.abs(np.diff(grey, axis=1)).mean())

    assert detail(blurred.content) < 0.35 * detail(original_thumb)
    for route in ("view", "original"):
        assert client.get(f"/items/{sha}/{route}").status_code == 428  # reveal first
    conn = catalogue(web_vault, "ledger")

    def reveals() -> list[dict]:
        rows = conn.execute("SELECT event FROM ledger WHERE event LIKE '%item.revealed%'")
        return [json.loads(r[0]) for r in rows]

    assert reveals() == []
    r = client.post(f"/items/{sha}/reveal", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    events = reveals()
    assert len(events) == 1 and events[0]["actor"] == ROLE_USERS["investigator"]
    assert events[0]["details"]["sha256"] == sha
    assert client.get(f"/items/{sha}/view").headers["content-type"] == "image/jpeg"
    original = client.get(f"/items/{sha}/original")
    assert original.content == web_vault.store().path(sha).read_bytes()
    # another session of the same user has not revealed anything
    other = app_for()
    login(other, ROLE_USERS["investigator"])
    assert other.get(f"/items/{sha}/view").status_code == 428
    # the family-liaison role never gets the unblurred picture
    liaison = app_for()
    csrf = login(liaison, ROLE_USERS["liaison"])
    assert liaison.post(f"/items/{sha}/reveal", data={"csrf": csrf}).status_code == 403
    assert liaison.get(f"/items/{sha}/view").status_code == 403
    assert "Reveal" not in liaison.get(f"/items/{sha}").text
    assert len(reveals()) == 1


def test_path_traversal_goes_nowhere(app_for: Callable[[], TestClient], web_vault: Vault) -> None:
    client = app_for()
    login(client, ROLE_USERS["admin"])
    for path in (
        "/items/..%2F..%2F..%2Fetc%2Fpasswd/thumb",
        "/items/../../dalil.toml/view",
        "/static/..%2Fapp.py",
        "/static/../../users.py",
        "/items/%2e%2e%2f%2e%2e%2fkeys%2fvault.key/original",
    ):
        r = client.get(path)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert b"PRIVATE KEY" not in r.content and b"def " not in r.content
    # uploaded file names cannot climb out of the upload folder
    csrf = client.get("/api/me").json()["csrf"]
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(jpeg, "JPEG")
    r = client.post(
        f"/upload?csrf={csrf}",
        data={"source": "hostile names"},
        files=[("files", ("../../../../outside.jpg", jpeg.getvalue(), "image/jpeg"))],
    )
    assert r.status_code == 200, r.text
    assert not (web_vault.root.parent / "outside.jpg").exists()
    assert not (web_vault.root / "outside.jpg").exists()


def test_uploads_are_limited_and_ingested(
    app_for: Callable[[], TestClient], web_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app_for()
    csrf = login(client, ROLE_USERS["archivist"])
    pictures = []
    for i in range(3):
        data = io.BytesIO()
        Image.new("RGB", (120, 90), (i * 60, 100, 200)).save(data, "JPEG")
        pictures.append(("files", (f"p{i}.jpg", data.getvalue(), "image/jpeg")))
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", 1000)
    r = client.post(
        "/upload", data={"source": "too big"}, files=pictures, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 413
    assert not list(web_vault.uploads_dir.glob("upload-*"))
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", 10 * 2**20)
    assert (
        client.post("/upload", data={"csrf": csrf, "source": "x"}, files=pictures).status_code
        == 403
    )
    r = client.post(f"/upload?csrf={csrf}", data={"source": "USB stick 7"}, files=pictures)
    assert r.status_code == 200
    job = re.search(r'hx-get="/upload/(\w+)"', r.text)
    assert job, r.text
    deadline = time.monotonic() + 180  # a busy CI machine ingests slowly
    while True:
        status = client.get(f"/upload/{job.group(1)}").text
        if "done" in status or "failed" in status or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "done" in status, status
    conn = catalogue(web_vault)
    label = conn.execute(
        "SELECT label, actor FROM acquisitions WHERE source_label = 'USB stick 7'"
    ).fetchone()
    assert label is not None and label[1] == ROLE_USERS["archivist"]
    # investigators may not upload
    other = app_for()
    csrf = login(other, ROLE_USERS["investigator"])
    assert (
        other.post("/upload", data={"csrf": csrf, "source": "x"}, files=pictures).status_code == 403
    )


def test_hostile_metadata_is_escaped(
    app_for: Callable[[], TestClient], web_vault: Vault, tmp_path: Path
) -> None:
    from dalil.ingest.session import IngestOptions, IngestSession

    payload = '<script>alert("exif")</script>'
    image = Image.new("RGB", (160, 120), (30, 120, 40))
    exif = Image.Exif()
    exif[0x010E] = payload  # ImageDescription
    exif[0x0110] = payload  # Model
    folder = tmp_path / "hostile"
    folder.mkdir()
    image.save(folder / "x.jpg", "JPEG", exif=exif.tobytes())
    IngestSession(web_vault, IngestOptions([folder], payload, "founder")).run()
    conn = catalogue(web_vault)
    sha = conn.execute("SELECT sha256 FROM metadata WHERE camera_model LIKE '%script%'").fetchone()[
        0
    ]
    client = app_for()
    login(client, ROLE_USERS["admin"])
    for path in (f"/items/{sha}", "/acquisitions", "/"):
        page = client.get(path).text
        assert payload not in page, path
        assert "&lt;script&gt;" in page, path
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]


def test_docs_role_table_matches_the_code() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "web.md").read_text()
    table = text.split("<!-- roles-table -->")[1].split("<!-- /roles-table -->")[0]
    rows = [r for r in table.strip().splitlines()[2:]]
    documented = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        documented[cells[0]] = {
            role for role, cell in zip(users.ROLES, cells[1:], strict=True) if cell == "yes"
        }
    assert documented == {p: set(r) for p, r in users.PERMISSIONS.items()}


def test_negative_limits_are_refused(app_for: Callable[[], TestClient]) -> None:
    client = app_for()
    login(client, ROLE_USERS["liaison"])
    for path in ("/api/items?limit=-1", "/api/cases?offset=-5", "/api/search?per_page=0"):
        assert client.get(path).status_code == 400, path


def test_a_malformed_search_filter_is_explained_on_the_page(
    app_for: Callable[[], TestClient],
) -> None:
    client = app_for()
    login(client, ROLE_USERS["liaison"])
    page = client.get("/search", params={"identifier": "detainee:"})
    assert page.status_code == 200 and "give an identifier value" in page.text
