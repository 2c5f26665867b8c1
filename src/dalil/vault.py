"""A vault on disk: settings, catalogue, object store, derivatives, keys and ledger."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dalil import keys
from dalil.catalog import atomic, connect, migrate
from dalil.errors import UsageError, VaultError
from dalil.ledger.log import Ledger
from dalil.settings import FORMAT_VERSION, Settings, read_config, render_config
from dalil.store import ObjectStore, derived_relpath
from dalil.timeutil import utc_now

DEFAULT_VAULT = "dalil-vault"
CONFIG_NAME = "dalil.toml"
CATALOG_NAME = "catalog.sqlite"


def default_vault_path() -> Path:
    """``$DALIL_VAULT`` if set, else ``./dalil-vault``."""
    return Path(os.environ.get("DALIL_VAULT") or DEFAULT_VAULT)


@dataclass(frozen=True, slots=True)
class Vault:
    root: Path
    vault_id: str
    settings: Settings

    # -- layout -----------------------------------------------------------------------------
    @property
    def catalog_path(self) -> Path:
        return self.root / CATALOG_NAME

    @property
    def objects_dir(self) -> Path:
        return self.root / "objects"

    @property
    def derived_dir(self) -> Path:
        return self.root / "derived"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def uploads_dir(self) -> Path:
        """Where browser uploads wait to be ingested (the one place inside the vault that
        ingest accepts as a source: nothing there is evidence yet)."""
        return self.root / "tmp" / "uploads"

    @property
    def origin(self) -> str:
        return f"dalil-vault/{self.vault_id}"

    def store(self) -> ObjectStore:
        return ObjectStore(self.objects_dir, self.tmp_dir, fsync=self.settings.fsync)

    def derived_path(self, kind: str, hexdigest: str, suffix: str) -> Path:
        return self.root / derived_relpath(kind, hexdigest, suffix)

    # -- lifecycle --------------------------------------------------------------------------
    @classmethod
    def init(cls, root: Path, actor: str) -> Vault:
        """Create a new vault at ``root`` (which must not hold one already)."""
        root = root.absolute()
        if (root / CONFIG_NAME).exists():
            raise UsageError(f"{root} already holds a Dalil vault")
        if root.exists() and any(root.iterdir()):
            raise UsageError(f"{root} exists and is not empty; choose a new folder")
        vault_id = str(uuid.uuid4())
        created_at = utc_now()
        for sub in ("objects/sha256", "derived", "keys", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(root / "keys", 0o700)
        keys.generate(root / "keys")
        settings = Settings()
        vault = cls(root, vault_id, settings)
        conn = connect(vault.catalog_path)
        try:
            migrate(conn)
            ledger = vault.ledger(conn)
            with atomic(conn):
                ledger.append(
                    actor,
                    "vault.created",
                    f"vault:{vault_id}",
                    {
                        "format_version": FORMAT_VERSION,
                        "public_key": keys.public_raw_b64(ledger.public_key),
                    },
                )
                ledger.checkpoint()
        finally:
            conn.close()
        # The config is written last: a vault without it is an unfinished init, never opened.
        (root / CONFIG_NAME).write_text(render_config(vault_id, created_at, settings))
        return vault

    @classmethod
    def open(cls, root: Path) -> Vault:
        """Open an existing vault, applying pending catalogue migrations."""
        root = root.absolute()
        config = read_config(root / CONFIG_NAME)
        meta = config.get("vault", {})
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise VaultError(
                f"{root}: vault format {version!r} is not supported by this Dalil "
                f"(expects {FORMAT_VERSION})"
            )
        vault = cls(root, str(meta["id"]), Settings.from_mapping(config.get("settings", {})))
        conn = connect(vault.catalog_path)
        try:
            migrate(conn, vault.catalog_path)
        finally:
            conn.close()
        return vault

    def connect(self, *, readonly: bool = False) -> sqlite3.Connection:
        return connect(self.catalog_path, readonly=readonly)

    def ledger(self, conn: sqlite3.Connection, *, signing: bool = True) -> Ledger:
        private = keys.load_private(self.keys_dir) if signing else None
        return Ledger(conn, self.origin, keys.load_public(self.keys_dir), private)

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the vault's single-writer lock (ingest, checkpoint); fail fast if taken."""
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise VaultError(
                    f"{self.root} is busy: another Dalil process is writing to it"
                ) from exc
            yield
        finally:
            os.close(fd)
