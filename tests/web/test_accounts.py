"""User names that pass for others are refused — by the library and so by every interface —
and names in any one script are welcome."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from dalil import users
from dalil.errors import UsageError
from dalil.vault import Vault
from tests.web.conftest import PASSWORD, ROLE_USERS, login

LOOKALIKES = [
    "\u0430dmin-user",  # a Cyrillic "a"
    "admin\u200b-user",  # a zero-width space
    "\uff41\uff44\uff4d\uff49\uff4e-user",  # full-width letters
    "ADMIN-USER",  # only the case differs
    "1iaison-user",  # the digit one for the letter l
    "\u0430\u0501m\u0456n-user",  # Cyrillic and Latin mixed
    "admin-user\u202e",  # a direction override
    "Dalil",  # Dalil's own name in the ledger
]


@pytest.mark.parametrize("name", LOOKALIKES)
def test_names_that_pass_for_others_are_refused(web_vault: Vault, name: str) -> None:
    conn = web_vault.connect()
    try:
        with pytest.raises(UsageError):
            users.add(conn, web_vault.ledger(conn), "founder", name, "reviewer", PASSWORD)
        assert conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None
    finally:
        conn.close()


def test_names_in_one_script_are_welcome(web_vault: Vault) -> None:
    conn = web_vault.connect()
    try:
        for name in ("عمر", "أمينة-الخطيب", "José", "山田たろう", "omar.k"):
            users.add(conn, web_vault.ledger(conn), "founder", name, "reviewer", PASSWORD)
        # one of two spellings of the same Arabic name is enough
        with pytest.raises(UsageError, match="looks like"):
            users.add(conn, web_vault.ledger(conn), "founder", "امينة-الخطيب", "reviewer", PASSWORD)
    finally:
        conn.close()


def test_the_users_page_refuses_a_lookalike(
    app_for: Callable[[], TestClient], web_vault: Vault
) -> None:
    admin = app_for()
    csrf = login(admin, ROLE_USERS["admin"])
    form = {"csrf": csrf, "role": "admin", "password": PASSWORD}
    r = admin.post("/users", data={**form, "name": "\u0430dmin-user"}, follow_redirects=False)
    assert r.status_code == 400 and "script" in r.text
    r = admin.post("/users", data={**form, "name": "سلمى"}, follow_redirects=False)
    assert r.status_code == 303
