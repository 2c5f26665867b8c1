"""The web workspace on a vault whose originals are on S3: the same pages, the same bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dalil.migrate_store import migrate
from dalil.s3store import S3Config, S3Location, S3Store
from dalil.vault import Vault
from dalil.web.app import create_app
from tests.store.conftest import S3Server, s3_server_running
from tests.web.conftest import ROLE_USERS, login


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    pytest.importorskip("moto.server", reason="moto[server] is a test dependency (pip)")
    with s3_server_running(tmp_path_factory.mktemp("aws")) as server:
        yield server


def test_revealed_pictures_and_originals_come_from_s3(
    web_vault: Vault, s3_server: S3Server
) -> None:
    config = S3Config(S3Location.parse(f"s3://{s3_server.new_bucket()}/web"), s3_server.endpoint)
    conn = web_vault.connect()
    with web_vault.writer_lock():
        assert migrate(web_vault, conn, "founder", config, switch=True).ok
        web_vault.ledger(conn).sign_tail()
    sha = str(
        conn.execute("SELECT sha256 FROM items WHERE media_type LIKE 'image/%' LIMIT 1").fetchone()[
            0
        ]
    )
    conn.close()
    vault = Vault.open(web_vault.root)
    assert isinstance(vault.store(), S3Store)
    folder = vault.folder_store().path(sha)
    original = folder.read_bytes()
    folder.chmod(0o644)
    folder.unlink()  # the folder's copy gone: whatever is served came from the store
    with TestClient(create_app(vault.root)) as client:
        csrf = login(client, ROLE_USERS["investigator"])
        assert client.get(f"/items/{sha}/original").status_code == 428  # reveal first
        assert client.post(f"/items/{sha}/reveal", data={"csrf": csrf}).status_code == 200
        view = client.get(f"/items/{sha}/view")
        assert view.status_code == 200 and view.headers["content-type"] == "image/jpeg"
        served = client.get(f"/items/{sha}/original")
        assert served.status_code == 200
        assert hashlib.sha256(served.content).hexdigest() == sha and served.content == original
        s3_server.client().delete_object(  # type: ignore[attr-defined]
            Bucket=config.location.bucket, Key=config.location.key(sha)
        )
        for cached in (vault.tmp_dir / "s3-cache").rglob(sha):
            cached.chmod(0o644)
            cached.unlink()
        assert client.get(f"/items/{sha}/original").status_code == 404
