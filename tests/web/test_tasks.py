"""Reading the numbers on the cases' photographs, started from the browser: a task that runs
`dalil cases ocr` in its turn, signs as the person who started it, and shows its progress."""

from __future__ import annotations

import time

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
