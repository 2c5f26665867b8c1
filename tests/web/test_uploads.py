"""Uploads are never lost: parallel ones queue for the vault, names no file system takes are
shortened (and the names as sent kept), a failed one can be tried again."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable

from fastapi.testclient import TestClient
from PIL import Image

from dalil import users
from dalil.vault import Vault
from tests.conftest import catalogue
from tests.web import live
from tests.web.conftest import ROLE_USERS, login


def _jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 72), (shade, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def _status(client: TestClient, job: str) -> str:
    r = client.get(f"/upload/{job}")
    assert r.status_code == 200, r.text
    return r.text


def _wait(client: TestClient, job: str, *states: str, seconds: float = 180) -> str:
    deadline = time.monotonic() + seconds
    while True:
        text = _status(client, job)
        if any(f"<b>{s}</b>" in text for s in states) or time.monotonic() > deadline:
            return text
        time.sleep(0.2)


def _job(r: object) -> str:
    text = getattr(r, "text", "")
    found = re.search(r"Upload (\w+):", text)
    assert found, text
    return found.group(1)


def test_parallel_uploads_wait_their_turn(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    client = app_for()
    csrf = login(client, ROLE_USERS["archivist"])
    held = threading.Event()
    release = threading.Event()

    def hold_the_vault() -> None:  # another Dalil process writing (a terminal ingest, say)
        with web_vault.writer_lock():
            held.set()
            release.wait(120)

    holder = threading.Thread(target=hold_the_vault, daemon=True)
    holder.start()
    assert held.wait(10)
    jobs = []
    for i in range(3):
        r = client.post(
            f"/upload?csrf={csrf}",
            data={"source": f"parallel stick {i}"},
            files=[("files", (f"p{i}.jpg", _jpeg(i * 70), "image/jpeg"))],
        )
        assert r.status_code == 200, r.text
        jobs.append(_job(r))
    time.sleep(1.5)
    for job in jobs:
        text = _status(client, job)
        assert "<b>queued</b>" in text, text
        assert str(web_vault.root) not in text and "busy" not in text
    release.set()
    holder.join(10)
    for job in jobs:
        text = _wait(client, job, "done", "failed")
        assert "<b>done</b>" in text, text
    conn = catalogue(web_vault)
    sources = {r[0] for r in conn.execute("SELECT source_label FROM acquisitions")}
    conn.close()
    assert {f"parallel stick {i}" for i in range(3)} <= sources
    assert not list(web_vault.uploads_dir.glob("upload-*"))  # ingested, then cleared


def test_names_no_file_system_takes_are_kept(web_vault: Vault) -> None:
    long_arabic = "صورة من الحاجز الثاني شمال الجسر في الصباح الباكر " * 4 + ".jpg"
    assert len(long_arabic.encode()) > 255
    sent = [
        long_arabic,
        "nul\x00byte.jpg",
        "new\nline.jpg",
        "same.jpg",
        "same.jpg",
        "../../../outside.jpg",
    ]
    pictures = [_jpeg(10 + 30 * i) for i in range(len(sent))]
    body = live.multipart_field("source", "stick with odd names")
    for name, picture in zip(sent, pictures, strict=True):
        head = (
            f'--{live.BOUNDARY}\r\nContent-Disposition: form-data; name="files";'
            f' filename="{name}"\r\nContent-Type: image/jpeg\r\n\r\n'
        )
        body += head.encode("utf-8") + picture + b"\r\n"
    body += live.MULTIPART_END
    with live.serving(web_vault) as port:
        cookie, csrf = live.session_for(web_vault, ROLE_USERS["archivist"])
        r = live.request(
            port,
            "POST",
            f"/upload?csrf={csrf}",
            {"Cookie": cookie, "Content-Type": live.MULTIPART, "Content-Length": str(len(body))},
            [body],
            timeout=30,
        )
        assert r.status == 200, r.body[:500]
        job = re.search(rb"Upload (\w+):", r.body)
        assert job
        deadline = time.monotonic() + 180
        state = {}
        while time.monotonic() < deadline:
            state = json.loads(
                (web_vault.uploads_dir / f"{job.group(1).decode()}.json").read_text()
            )
            if state["state"] in ("done", "failed"):
                break
            time.sleep(0.2)
    assert state["state"] == "done", state
    conn = catalogue(web_vault)
    acquisition = conn.execute(
        "SELECT id, note FROM acquisitions WHERE source_label = 'stick with odd names'"
    ).fetchone()
    paths = [
        str(r[0])
        for r in conn.execute(
            "SELECT path_text FROM occurrences WHERE acquisition_id = ?", (acquisition[0],)
        )
    ]
    stored = {
        str(r[0])
        for r in conn.execute(
            "SELECT sha256 FROM occurrences WHERE acquisition_id = ?", (acquisition[0],)
        )
    }
    conn.close()
    # every file is there, under a name of at most 255 bytes that keeps its extension
    import hashlib

    assert {hashlib.sha256(p).hexdigest() for p in pictures} <= stored
    assert all(len(p.rsplit("/", 1)[-1].encode()) <= 255 for p in paths), paths
    assert sum(p.endswith(".jpg") for p in paths) == len(sent), paths
    # and the names as sent are kept with the acquisition
    assert "dalil-original-names.json" in acquisition[1]
    listing = next(p for p in paths if p.endswith("dalil-original-names.json"))
    assert listing
    names_file = [
        sha
        for sha in stored
        if web_vault.store().path(sha).read_bytes().startswith(b"{")
        and b"renamed" in web_vault.store().path(sha).read_bytes()
    ]
    assert len(names_file) == 1
    renamed = json.loads(web_vault.store().path(names_file[0]).read_text())["renamed"]
    assert {r["sent"] for r in renamed} >= {long_arabic, "nul\x00byte.jpg", "../../../outside.jpg"}


def test_a_failed_upload_keeps_its_files_and_can_be_tried_again(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    admin = app_for()
    login(admin, ROLE_USERS["admin"])
    client = app_for()
    csrf = login(client, ROLE_USERS["archivist"])
    with web_vault.writer_lock():  # the upload waits …
        r = client.post(
            f"/upload?csrf={csrf}",
            data={"source": "stick of a disabled account"},
            files=[("files", ("late.jpg", _jpeg(33), "image/jpeg"))],
        )
        assert r.status_code == 200
        job = _job(r)
        conn = web_vault.connect()  # … while its uploader is disabled: the ingest will refuse
        users.set_disabled(conn, web_vault.ledger(conn), "founder", ROLE_USERS["archivist"], True)
        conn.close()
    state: dict[str, str] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = json.loads((web_vault.uploads_dir / f"{job}.json").read_text())
        if state["state"] == "failed":
            break
        time.sleep(0.2)
    assert state["state"] == "failed", state
    assert str(web_vault.root) not in state["error"]
    assert (web_vault.uploads_dir / f"upload-{job}" / "late.jpg").is_file()  # kept
    conn = web_vault.connect()
    users.set_disabled(conn, web_vault.ledger(conn), "founder", ROLE_USERS["archivist"], False)
    conn.close()
    client = app_for()
    csrf = login(client, ROLE_USERS["archivist"])
    assert "Try again" in _status(client, job)
    r = client.post(f"/upload/{job}/retry", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert "<b>done</b>" in _wait(client, job, "done", "failed")
