"""Reading the numbers on the cases' photographs, started from the browser: a task that runs
`dalil cases ocr` in its turn, signs as the person who started it, and shows its progress."""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from dalil.vault import Vault
from dalil.web.app import create_app
from tests.web.conftest import ROLE_USERS, login


def test_an_ocr_run_from_the_cases_page(web_vault: Vault) -> None:
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["liaison"])
        assert 'action="/cases/ocr"' not in client.get("/cases").text
    with TestClient(create_app(web_vault.root)) as client:
        csrf = login(client, ROLE_USERS["investigator"])
        assert 'action="/cases/ocr"' in client.get("/cases").text
        started = client.post("/cases/ocr", data={"csrf": csrf}, follow_redirects=False)
        assert started.status_code == 303 and started.headers["location"].startswith("/tasks/")
        where = started.headers["location"]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            shown = client.get(where, headers={"hx-request": "true"})
            assert shown.status_code == 200
            if "hx-get" not in shown.text:  # no longer polling: done or failed
                break
            time.sleep(1)
        assert "done" in shown.text and 'class="error"' not in shown.text, shown.text
        assert "Review the claims" in shown.text
        assert client.get("/tasks/zzzzzzzzzzzz").status_code in (400, 404)
        assert client.get("/tasks/" + "0" * 12).status_code == 404
    conn = web_vault.connect()
    events = list(web_vault.ledger(conn, signing=False).events())
    conn.close()
    read = [e for e in events if e["action"].startswith("ocr") or "read" in e["action"]]
    assert read and all(e["actor"] == ROLE_USERS["investigator"] for e in read), read[-3:]


def test_a_task_whose_server_stopped_says_so_and_can_be_started_again(web_vault: Vault) -> None:
    from dalil.web.tasks import Task, folder_of

    orphan = Task("abcdef012345", ROLE_USERS["investigator"], "ocr", state="running", total=9)
    orphan.save(folder_of(web_vault))  # as a killed server left it: nobody holds its lock
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["investigator"])
        shown = client.get(f"/tasks/{orphan.id}").text
        assert "server stopped" in shown and 'action="/cases/ocr"' in shown
        assert "hx-get" not in shown  # the page no longer waits for it
    assert Task.load(folder_of(web_vault), orphan.id).state == "failed"  # type: ignore[union-attr]


def test_a_court_bundle_from_the_cases_page_downloads_and_verifies(
    web_vault: Vault, tmp_path: Path
) -> None:
    conn = web_vault.connect()
    case_id = conn.execute("SELECT case_id FROM cases WHERE status = 'open' LIMIT 1").fetchone()[0]
    conn.close()
    with TestClient(create_app(web_vault.root)) as client:
        csrf = login(client, ROLE_USERS["investigator"])
        assert f'action="/cases/{case_id}/bundle"' in client.get(f"/cases/{case_id}").text
        started = client.post(
            f"/cases/{case_id}/bundle", data={"csrf": csrf, "language": "ar"},
            follow_redirects=False,
        )  # fmt: skip
        assert started.status_code == 303, started.text
        where = started.headers["location"]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            shown = client.get(where, headers={"hx-request": "true"})
            if "hx-get" not in shown.text:
                break
            time.sleep(1)
        assert "Download the bundle" in shown.text, shown.text
        got = client.get(f"{where}/download")
        assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["reviewer"])  # may not make bundles, nor take someone's
        assert client.get(f"{where}/download").status_code == 403
    archive = tmp_path / "bundle.zip"
    archive.write_bytes(got.content)
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "out")
    (bag,) = (tmp_path / "out").iterdir()
    assert not bag.is_relative_to(web_vault.root)
    checked = subprocess.run(
        [sys.executable, "verify_bundle.py"], cwd=bag, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (bag / "report.pdf").is_file()


def test_a_public_release_from_the_cases_page_has_no_identifying_metadata(
    web_vault: Vault, tmp_path: Path
) -> None:
    from PIL import Image

    conn = web_vault.connect()
    case_id = conn.execute("SELECT case_id FROM cases WHERE status = 'open' LIMIT 1").fetchone()[0]
    conn.close()
    with TestClient(create_app(web_vault.root)) as client:
        csrf = login(client, ROLE_USERS["investigator"])
        started = client.post(
            f"/cases/{case_id}/release", data={"csrf": csrf, "max_side": "800", "blur": "0"},
            follow_redirects=False,
        )  # fmt: skip
        assert started.status_code == 303, started.text
        where = started.headers["location"]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            shown = client.get(where, headers={"hx-request": "true"})
            if "hx-get" not in shown.text:
                break
            time.sleep(1)
        assert "Download the release" in shown.text, shown.text
        got = client.get(f"{where}/download")
        assert got.status_code == 200
        refused = client.post(f"/cases/{case_id}/release", data={"csrf": csrf, "max_side": "99999"})
        assert refused.status_code == 400
    archive = tmp_path / "release.zip"
    archive.write_bytes(got.content)
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "out")
    photos = [p for p in (tmp_path / "out").rglob("*.jpg")]
    assert photos
    for photo in photos:
        with Image.open(photo) as im:
            assert max(im.size) <= 800
            exif = im.getexif()
            assert not exif.get(0xA431) and not exif.get_ifd(0x8825)  # no serial, no GPS
