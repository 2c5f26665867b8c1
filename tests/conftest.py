"""Shared fixtures: real vaults in temporary folders, real files, the real CLI."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from dalil.cli.app import app
from dalil.vault import Vault
from dalil.verify import VerifyReport

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared test corpus is absent ({CORPUS}); it is not part of a clone")
    return CORPUS


PASSWORD = "correct horse battery staple"
"""Every person in the tests has this password; commands prove who they are with it
($DALIL_PASSWORD, set for the whole run)."""


@pytest.fixture(scope="session", autouse=True)
def _people_prove_who_they_are(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Subprocesses and in-process calls alike prove who they are with the test password;
    keys unlocked with 'dalil unlock' go to a folder of this run, never the machine's."""
    saved = {k: os.environ.get(k) for k in ("DALIL_PASSWORD", "XDG_RUNTIME_DIR")}
    os.environ["DALIL_PASSWORD"] = PASSWORD
    os.environ["XDG_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("runtime"))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


ON_POSTGRES = os.environ.get("DALIL_TEST_CATALOG", "sqlite") == "postgresql"
"""The suite runs twice (scripts/test.sh): with the default SQLite catalogue, and with every
vault's catalogue on a PostgreSQL server the run starts itself (tests/pgcluster.py)."""

sqlite_only = pytest.mark.skipif(
    ON_POSTGRES, reason="about the SQLite files of a folder vault (this run: PostgreSQL)"
)


@pytest.fixture(scope="session", autouse=True)
def _catalogue_server() -> Iterator[None]:
    """With DALIL_TEST_CATALOG=postgresql, a server for the run; every vault made (in this
    process or a subprocess) gets a database of its own there ($DALIL_CATALOG)."""
    if not ON_POSTGRES:  # a developer's own $DALIL_CATALOG must not get the tests' vaults
        saved = os.environ.pop("DALIL_CATALOG", None)
        yield
        if saved is not None:
            os.environ["DALIL_CATALOG"] = saved
        return
    from tests.pgcluster import Cluster

    cluster = Cluster()
    saved = os.environ.get("DALIL_CATALOG")
    os.environ["DALIL_CATALOG"] = cluster.start()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DALIL_CATALOG", None)
        else:
            os.environ["DALIL_CATALOG"] = saved
        cluster.stop()


def catalogue(vault: Vault | Path, part: str = "catalog", isolation_level: str | None = "") -> Any:
    """A connection to a vault's catalogue (``part``: its catalog, ledger or state file) as a
    test inspects or tampers with it: plain ``sqlite3`` on the file, rows as tuples; on a
    PostgreSQL run, the vault's own connection (all three parts; rows equal to tuples)."""
    opened = vault if isinstance(vault, Vault) else Vault.load(vault)
    if opened.on_postgres:  # as plain sqlite3: foreign keys not checked (an attacker's view)
        conn = opened.connect()
        conn.execute("SET session_replication_role = replica")
        return conn
    return sqlite3.connect(opened.root / f"{part}.sqlite", isolation_level=isolation_level)


def copy_vault(source: Path, target: Path, **options: Any) -> Path:
    """A copy of a vault folder (a test's own vault made from a shared one); on a PostgreSQL
    run its database is copied too, and the copy's dalil.toml names the new one."""
    shutil.copytree(source, target, **options)
    settings = Vault.load(source).settings
    if settings.catalog:
        from dalil.catalog import pg

        old = pg.database_name(settings.catalog)
        new = f"t{uuid.uuid4().hex}"
        server = pg.connect(pg.with_database(settings.catalog, "postgres"))
        try:  # a copy needs the template to itself: end what the run left connected
            server.raw.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (old,),
            )
            server.raw.execute(f'CREATE DATABASE "{new}" TEMPLATE "{old}"')
        finally:
            server.close()
        config = target / "dalil.toml"
        text = config.read_text()
        config.write_text(text.replace(f'/{old}"', f'/{new}"'))
    return target


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault.init(tmp_path / "vault", "tester", PASSWORD)


def jpeg_bytes(
    seed: int,
    size: tuple[int, int] = (320, 240),
    *,
    make: str = "Dalil",
    model: str = "TestCam",
    serial: str | None = "SN-0001",
    when: str = "2013:05:04 10:11:12",
    quality: int = 90,
) -> bytes:
    """A small, distinct, non-graphic JPEG (smooth random shapes) with EXIF."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), dtype=np.float32)
    for c in range(3):
        fx, fy, phase = [*rng.uniform(0.5, 6, 2).tolist(), rng.uniform(0, 6.28)]
        img[..., c] = 127 + 100 * np.sin(xx / w * fx * 6.28 + phase) * np.cos(yy / h * fy * 6.28)
    img += rng.normal(0, 6, img.shape)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0112] = 1
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = when
    if serial:
        ifd[0xA431] = serial
    buffer = io.BytesIO()
    pil.save(buffer, "JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


@pytest.fixture
def make_jpeg() -> Callable[..., bytes]:
    return jpeg_bytes


def write_photos(folder: Path, count: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / f"IMG_{i:04d}.JPG"
        path.write_bytes(jpeg_bytes(i))
        paths.append(path)
    return paths


@pytest.fixture
def cli() -> Callable[..., tuple[int, str]]:
    """Run the CLI in-process (Typer's runner); returns (exit code, stdout)."""
    runner = CliRunner()

    def run(*args: str | os.PathLike[str]) -> tuple[int, str]:
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return result.exit_code, result.stdout

    return run


def dalil_command(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "dalil", *[str(a) for a in args]]


def run_dalil(
    *args: str | os.PathLike[str], prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real ``dalil`` in a subprocess."""
    return subprocess.run(
        (prefix or []) + dalil_command(*args),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def add_users(vault: Vault, admin: str, *names: str, role: str = "investigator") -> None:
    """Accounts for the people a test acts as (Dalil never creates one implicitly)."""
    from dalil import users

    conn = vault.connect()
    try:
        ledger = vault.ledger(conn)
        for name in names:
            users.add(conn, ledger, admin, name, role, PASSWORD)
        ledger.sign_tail()
    finally:
        conn.close()


def sign_and_verify(vault: Vault, jobs: int = 1) -> VerifyReport:
    """Sign what library calls recorded (the CLI and the web do it after each command or
    request), then verify the whole vault."""
    from dalil.verify import verify

    conn = vault.connect()
    try:
        with vault.writer_lock():
            vault.ledger(conn).sign_tail()
    finally:
        conn.close()
    return verify(vault, jobs=jobs)
