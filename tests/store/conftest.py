"""A real S3-compatible server on loopback for the S3 store's tests.

SeaweedFS (the issue's choice) is not packaged for Debian 12 (bookworm), the system the tests
install on; moto's server (``python -m moto.server``, from PyPI) is an S3-compatible HTTP server
that honours what the store relies on: conditional writes (``If-None-Match: *`` on PUT and on
completing a multipart upload), SHA-256 checksums, Object Lock. Dalil talks to it through
boto3 over HTTP exactly as it would to SeaweedFS, MinIO or AWS. It is started once per run and
stopped at the end; each test has its own bucket.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from dalil.settings import Settings, read_config, render_config
from dalil.vault import CONFIG_NAME, Vault
from tests.conftest import PASSWORD

KEY_ID = "DALILTESTKEYID0000000"
SECRET = "dalil-test-secret-9f3b7c1e-never-to-be-seen"
"""The credentials the tests give (through the environment only): tests look for them in
every output, log, event and error."""


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def client(self) -> object:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def new_bucket(self, *, lock: bool = False) -> str:
        name = f"dalil-{uuid.uuid4().hex[:12]}"
        kwargs = {"ObjectLockEnabledForBucket": True} if lock else {}
        self.client().create_bucket(Bucket=name, **kwargs)  # type: ignore[attr-defined]
        return name


def closed_port_url() -> str:
    """An http URL on loopback where nothing listens (a port just freed): an unreachable
    server, whatever this machine runs on the well-known ports."""
    return f"http://127.0.0.1:{_free_port()}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    pytest.importorskip("moto.server", reason="moto[server] is a test dependency (pip)")
    with s3_server_running(tmp_path_factory.mktemp("aws")) as server:
        yield server


@contextmanager
def s3_server_running(home: Path) -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port, the test credentials in the environment
    (and ``home`` for the AWS configuration files) while it runs (bench/scale.py uses it)."""
    saved = {
        k: os.environ.get(k)
        for k in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_PROFILE",
        )
    }
    os.environ.update(
        AWS_ACCESS_KEY_ID=KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(home / "config"),  # never the machine's own ~/.aws
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
    )
    os.environ.pop("AWS_PROFILE", None)
    log = (home / "moto.log").open("w")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto's S3 server did not start (see {log.name})") from None
                time.sleep(0.1)
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def set_settings(root: Path, **values: object) -> None:
    """Rewrite a vault's dalil.toml with these settings changed."""
    raw = read_config(root / CONFIG_NAME)
    settings = Settings.from_mapping({**raw.get("settings", {}), **values})
    meta = raw["vault"]
    (root / CONFIG_NAME).write_text(render_config(meta["id"], meta["created_at"], settings))


@pytest.fixture
def s3_vault(tmp_path: Path, s3_server: S3Server) -> Vault:
    """A new vault whose originals go to a fresh bucket (small files read into memory up to
    6 MB, larger ones sent in 5 MiB parts)."""
    root = tmp_path / "vault"
    Vault.init(root, "tester", PASSWORD)
    set_settings(
        root,
        store=f"s3://{s3_server.new_bucket()}/evidence",
        s3_endpoint=s3_server.endpoint,
        s3_part_size_mib=5,
        in_memory_limit=6_000_000,
    )
    return Vault.open(root)
