"""Request bodies on the wire: nobody's body is read before they are known to be allowed, no
body is larger than its route allows (chunked ones included), and uploads go straight to the
vault's staging folder — never to the system's temporary folder."""

from __future__ import annotations

import json
import socket
import tempfile
import time
from pathlib import Path

import pytest

from dalil.vault import Vault
from dalil.web import upload
from tests.conftest import catalogue
from tests.web import live
from tests.web.conftest import ROLE_USERS

# answers must come while most of the body is still unsent: a server that waits for it fails
PROMPT = 5.0


def _case(vault: Vault) -> str:
    conn = catalogue(vault)
    try:
        return str(conn.execute("SELECT case_id FROM cases ORDER BY id LIMIT 1").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def empty_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temporary folder, as the server process sees it: empty to start with."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_no_body_is_read_before_the_user_is_known(web_vault: Vault, empty_temp: Path) -> None:
    announced = 200_000  # within every limit (forms: 256 KiB): only the login decides
    part = live.multipart_field("name", "intruder") + live.multipart_file(
        "role", "x.bin", b"\0" * 20_000
    )
    with live.serving(web_vault) as port:
        # anonymous: sent away at once, although the body is far from complete
        r = live.request(
            port,
            "POST",
            "/users",
            {"Content-Type": live.MULTIPART, "Content-Length": str(announced)},
            [part],
            timeout=PROMPT,
        )
        assert r.status == 303 and r.headers["location"].startswith("/login")
        assert r.headers.get("connection") == "close"  # and the rest is not read
        r = live.request(
            port,
            "POST",
            f"/api/cases/{_case(web_vault)}/claims",
            {"Content-Type": "application/json", "Content-Length": str(announced)},
            [b'{"kind": "note", "field": "note", "value": "' + b"x" * 5000],
            timeout=PROMPT,
        )
        assert r.status == 401
        # logged in, but without the permission, or without the CSRF token
        cookie, csrf = live.session_for(web_vault, ROLE_USERS["investigator"])
        r = live.request(
            port,
            "POST",
            "/users",
            {
                "Cookie": cookie,
                "X-CSRF-Token": csrf,
                "Content-Type": live.MULTIPART,
                "Content-Length": str(announced),
            },
            [part],
            timeout=PROMPT,
        )
        assert r.status == 403
        cookie, csrf = live.session_for(web_vault, ROLE_USERS["admin"])
        r = live.request(
            port,
            "POST",
            "/users",
            {"Cookie": cookie, "Content-Type": live.MULTIPART, "Content-Length": str(announced)},
            [part],
            timeout=PROMPT,
        )
        assert r.status == 403 and b"CSRF" in r.body
    assert not live.user_exists(web_vault, "intruder")
    assert live.files_under(empty_temp) == []


def test_every_body_is_limited_chunked_ones_included(web_vault: Vault, empty_temp: Path) -> None:
    big = b"name=x&role=admin&password=" + b"p" * (2 * 2**20)
    with live.serving(web_vault) as port:
        # announced too large: refused before a byte is read, whoever asks (a login too)
        r = live.request(
            port,
            "POST",
            "/login",
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Content-Length": str(200 * 2**20),
            },
            [b"name=a&password=" + b"p" * 10_000],
            timeout=PROMPT,
        )
        assert r.status == 413 and r.headers.get("connection") == "close"
        assert r.headers["x-frame-options"] == "DENY"  # error answers carry the headers too
        cookie, csrf = live.session_for(web_vault, ROLE_USERS["admin"])
        allowed = {"Cookie": cookie, "X-CSRF-Token": csrf, "Transfer-Encoding": "chunked"}
        # chunked: counted as it arrives, refused once past the limit
        r = live.request(
            port,
            "POST",
            "/users",
            {**allowed, "Content-Type": "application/x-www-form-urlencoded"},
            live.chunked(big[i : i + 65536] for i in range(0, len(big), 65536)),
            timeout=PROMPT,
        )
        assert r.status == 413, r.body[:300]
        claim = json.dumps({"kind": "note", "field": "note", "value": "v" * 2**20}).encode()
        r = live.request(
            port,
            "POST",
            f"/api/cases/{_case(web_vault)}/claims",
            {**allowed, "Content-Type": "application/json"},
            live.chunked([claim[: 2**19], claim[2**19 :]]),
            timeout=PROMPT,
        )
        assert r.status == 413 and "larger than allowed" in json.loads(r.body)["error"]
        # an anonymous multipart body that never ends: answered, and nothing spooled
        r = live.request(
            port,
            "POST",
            "/users",
            {"Content-Type": live.MULTIPART, "Transfer-Encoding": "chunked"},
            live.chunked([live.multipart_file("role", "x.bin", b"\0" * (3 * 2**20))]),
            timeout=PROMPT,
        )
        assert r.status == 303
    assert not live.user_exists(web_vault, "x")
    assert live.files_under(empty_temp) == []


def _upload_head(port: int, cookie: str, csrf: str) -> bytes:
    return (
        f"POST /upload?csrf={csrf} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
        f"Content-Type: {live.MULTIPART}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_uploads_stream_into_the_vault_and_nowhere_else(web_vault: Vault, empty_temp: Path) -> None:
    payload = bytes(range(256)) * (12 * 2**12)  # 12 MiB: far past any in-memory spooling
    with live.serving(web_vault) as port:
        cookie, csrf = live.session_for(web_vault, ROLE_USERS["archivist"])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(_upload_head(port, cookie, csrf))
            sock.sendall(_chunk(live.multipart_field("source", "USB stick 9, streamed")))
            head = live.multipart_file("files", "stream.bin", payload)
            sent = head[: len(head) - 2 - 2**20]  # all but the last MiB of the file
            for i in range(0, len(sent), 2**18):
                sock.sendall(_chunk(sent[i : i + 2**18]))
            # while the body is still arriving, the file is growing in the staging folder
            deadline = time.monotonic() + 20
            staged: list[Path] = []
            while time.monotonic() < deadline:
                staged = live.files_under(web_vault.uploads_dir)
                staged = [p for p in staged if p.name == "stream.bin"]
                if staged and staged[0].stat().st_size >= len(payload) - 2 * 2**20:
                    break
                time.sleep(0.05)
            assert staged, live.files_under(web_vault.uploads_dir)
            assert staged[0].stat().st_size >= len(payload) - 2 * 2**20
            assert live.files_under(empty_temp) == []  # the system's temp folder: untouched
            rest = head[len(sent) :] + live.MULTIPART_END
            sock.sendall(_chunk(rest) + b"0\r\n\r\n")
            answer = live._read_answer(sock)
        assert answer.status == 200, answer.body[:300]
    assert live.files_under(empty_temp) == []


def test_chunked_uploads_are_limited(
    web_vault: Vault, empty_temp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", 200_000)
    # 4 MB and counting: refused past 200 kB, not read to its end (spooled) and then refused
    body = live.multipart_field("source", "too big") + live.multipart_file(
        "files", "big.bin", b"\1" * 4_000_000
    )
    with live.serving(web_vault) as port:
        cookie, csrf = live.session_for(web_vault, ROLE_USERS["archivist"])
        r = live.request(
            port,
            "POST",
            f"/upload?csrf={csrf}",
            {"Cookie": cookie, "Content-Type": live.MULTIPART, "Transfer-Encoding": "chunked"},
            live.chunked((body[i : i + 50_000] for i in range(0, len(body), 50_000)), end=False),
            timeout=PROMPT,
        )
        assert r.status == 413, r.body[:300]
        # and announced too large: refused before a byte is read
        r = live.request(
            port,
            "POST",
            f"/upload?csrf={csrf}",
            {"Cookie": cookie, "Content-Type": live.MULTIPART, "Content-Length": "300000"},
            [body[:1000]],
            timeout=PROMPT,
        )
        assert r.status == 413
    assert live.files_under(web_vault.uploads_dir) == []
    assert live.files_under(empty_temp) == []
