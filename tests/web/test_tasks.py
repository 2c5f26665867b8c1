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


def _started(client: TestClient, path: str, data: dict[str, str]) -> tuple[str, str]:
    """Start a task with a form POST and follow its page until it stops polling (done or
    failed; the page polls itself while the task runs): (its address, its last state)."""
    started = client.post(path, data=data, follow_redirects=False)
    assert started.status_code == 303, started.text
    where = started.headers["location"]
    assert where.startswith("/tasks/")
    deadline = time.monotonic() + 240  # a generous bound, not a measured figure
    while True:
        shown = client.get(where, headers={"hx-request": "true"})
        assert shown.status_code == 200
        if "hx-get" not in shown.text or time.monotonic() > deadline:
            return where, shown.text
        time.sleep(1)


def test_an_ocr_run_from_the_cases_page(web_vault: Vault) -> None:
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["liaison"])
        assert 'action="/cases/ocr"' not in client.get("/cases").text
    with TestClient(create_app(web_vault.root)) as client:
        csrf = login(client, ROLE_USERS["investigator"])
        assert 'action="/cases/ocr"' in client.get("/cases").text
        _, shown = _started(client, "/cases/ocr", {"csrf": csrf})
        assert "done" in shown and 'class="error"' not in shown, shown
        assert "Review the claims" in shown
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
    with TestClient(create_app(web_vault.root)) as client:
        login(client, ROLE_USERS["liaison"])  # the weakest role sees no task
        assert client.get(f"/tasks/{orphan.id}").status_code == 403


def _an_open_case(vault: Vault) -> str:
    conn = vault.connect()
    try:
        return str(
            conn.execute("SELECT case_id FROM cases WHERE status = 'open' LIMIT 1").fetchone()[0]
        )
    finally:
        conn.close()


def test_a_court_bundle_from_the_cases_page_downloads_and_verifies(
    web_vault: Vault, tmp_path: Path
) -> None:
    case_id = _an_open_case(web_vault)
    with TestClient(create_app(web_vault.root)) as client:
        csrf = login(client, ROLE_USERS["investigator"])
        assert f'action="/cases/{case_id}/bundle"' in client.get(f"/cases/{case_id}").text
        where, shown = _started(
            client, f"/cases/{case_id}/bundle", {"csrf": csrf, "language": "ar"}
        )
        assert "Download the bundle" in shown, shown
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

    case_id = _an_open_case(web_vault)
    with TestClient(create_app(web_vault.root)) as client:
        csrf = login(client, ROLE_USERS["investigator"])
        where, shown = _started(
            client, f"/cases/{case_id}/release", {"csrf": csrf, "max_side": "800", "blur": "0"}
        )
        assert "Download the release" in shown, shown
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
