"""A small real vault with one user per role, and logged-in test clients."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
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
from tests.conftest import PASSWORD

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
    shutil.copytree(web_vault_template, root)
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
