"""A small real vault with one user per role, and logged-in test clients."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dalil import users
from dalil.cases import model
from dalil.demo.generate import generate_collection
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from dalil.web import auth
from dalil.web.app import create_app
from tests.conftest import PASSWORD, copy_vault

ROLE_USERS = {role: f"{role}-user" for role in users.ROLES}


@pytest.fixture(scope="session")
def web_vault_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("web")
    generate_collection(base / "cards", cards=3, seed=9, photo_size=(800, 600))
    vault = Vault.init(base / "vault", "founder", PASSWORD)
    IngestSession(vault, IngestOptions([base / "cards"], "demo stick", "founder")).run()
    conn = vault.connect()
    ledger = vault.ledger(conn)
    for role, name in ROLE_USERS.items():
        users.add(conn, ledger, "founder", name, role, PASSWORD)
    made = model.propose(conn, ledger, model.Actor("founder"))
    model.accept(conn, ledger, model.Actor("founder"), made[:2])
    model.add_annotation(
        conn,
        ledger,
        model.Actor(ROLE_USERS["investigator"]),
        made[0],
        "identifier",
        "detainee",
        "4721",
    )
    conn.close()
    return vault.root


@pytest.fixture
def web_vault(web_vault_template: Path, tmp_path: Path) -> Vault:
    root = tmp_path / "vault"
    copy_vault(web_vault_template, root)
    return Vault.open(root)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    r = client.post(
        "/login",
        data={"name": name, "password": password, "csrf": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/", (r.status_code, r.text[:300])
    me = client.get("/api/me")
    assert me.status_code == 200
    return str(me.json()["csrf"])


@pytest.fixture
def app_for(web_vault: Vault) -> Callable[[], TestClient]:
    auth.ROUTE_PERMISSIONS.clear()
    app = create_app(web_vault.root)

    def make() -> TestClient:
        return TestClient(app, base_url="http://testserver")

    return make


OCR_CLAIMS = (  # (case index, field, value, confidence): as `dalil cases ocr` records them
    (0, "branch", "215", 0.41),
    (1, "detainee", "3310", 0.62),
    (0, "report", "2381", 0.93),
)
REGION = [200, 150, 440, 260]
"""Where the values were "read", in the original's upright pixels (the photos are 800x600)."""


@pytest.fixture
def ocr_claims(web_vault: Vault) -> list[int]:
    """Machine readings (source ``ocr:test``, each with its photograph and region) on the two
    open cases, as unverified claims needing two people's confirmations; their ids, lowest
    confidence first."""
    from dalil.catalog import atomic

    conn = web_vault.connect()
    ledger = web_vault.ledger(conn)
    cases = [
        r[0] for r in conn.execute("SELECT case_id FROM cases WHERE status = 'open' ORDER BY id")
    ]
    made = []
    for index, field, value, confidence in OCR_CLAIMS:
        case = cases[index]
        item = conn.execute(
            "SELECT ci.sha256 FROM case_items ci JOIN cases c ON c.id = ci.case_pk"
            " WHERE c.case_id = ? ORDER BY ci.sha256 LIMIT 1",
            (case,),
        ).fetchone()[0]
        with atomic(conn):
            claim, _ = model.annotate(
                conn,
                ledger,
                model.Actor("founder"),
                case,
                "identifier",
                field,
                value,
                source="ocr:test",
                confidence=confidence,
                item=item,
                region=REGION,
            )
        made.append(claim)
    conn.close()
    return made


@pytest.fixture
def server(web_vault: Vault) -> Iterator[str]:
    """The workspace over the test vault on a loopback port; yields its base URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(web_vault.root), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
