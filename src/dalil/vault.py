"""A vault on disk: settings, catalogue, object store, derivatives, keys and ledger."""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dalil import keys
from dalil.catalog import atomic, migrate
from dalil.catalog.db import Db, open_catalogue
from dalil.errors import CatalogueDamaged, UsageError, VaultError
from dalil.ledger.log import Ledger
from dalil.settings import (
    FORMAT_VERSION,
    Settings,
    check_catalog_url,
    is_postgres_url,
    read_config,
    render_config,
)
from dalil.store import ObjectStore, derived_relpath, open_store
from dalil.timeutil import utc_now

if TYPE_CHECKING:
    from dalil.s3store import S3Store

DEFAULT_VAULT = "dalil-vault"
CONFIG_NAME = "dalil.toml"
CATALOG_NAME = "catalog.sqlite"
LEDGER_NAME = "ledger.sqlite"
STATE_NAME = "state.sqlite"


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """Is this SQLite's way of saying the file is not (any more) a sound database?"""
    text = str(exc).lower()
    return type(exc) is sqlite3.DatabaseError or any(
        word in text for word in ("malformed", "not a database", "disk image", "corrupt")
    )


def _has_table(path: Path, table: str) -> bool:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()
    return row is not None


def new_database(url: str, vault_id: str) -> str:
    """The address of an empty database for a new vault: the one ``url`` names, or one created
    on its server; refused if it holds a vault or orders text otherwise than SQLite does."""
    from dalil.catalog import pg

    if not pg.database_name(url):
        name = "dalil_" + vault_id.replace("-", "")
        pg.create_database(url, name)
        url = pg.with_database(url, name)
    conn = pg.connect(url)
    try:
        if pg.holds_vault(conn):
            raise UsageError(
                f"the database {pg.redact(url)} already holds a vault's catalogue; name an empty"
                " one, or only the server (a database is then created)"
            )
        if not pg.byte_order(pg.collation(conn)):
            raise UsageError(
                f"the database {pg.redact(url)} sorts text by {pg.collation(conn)!r}; Dalil needs"
                " byte order, as SQLite: CREATE DATABASE … TEMPLATE template0 LC_COLLATE 'C'"
                " LC_CTYPE 'C', or name only the server and Dalil creates one"
            )
        pg.prepare_schemas(conn)
    finally:
        conn.close()
    return url


def update_settings(root: Path, **values: Any) -> Settings:
    """Rewrite ``dalil.toml`` with some settings changed (checked as when read), in one step."""
    path = root / CONFIG_NAME
    raw = read_config(path)
    merged = dict(raw.get("settings", {}))
    merged.update(values)
    settings = Settings.from_mapping(merged)
    meta = raw.get("vault", {})
    text = render_config(str(meta["id"]), str(meta.get("created_at", "")), settings)
    tmp = path.with_name(f".{CONFIG_NAME}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return settings


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
    def on_postgres(self) -> bool:
        """Is the catalogue (with the ledger and the working state) on PostgreSQL?"""
        return is_postgres_url(self.settings.catalog)

    @property
    def catalog_path(self) -> Path:
        return self.root / CATALOG_NAME

    @property
    def ledger_path(self) -> Path:
        return self.root / LEDGER_NAME

    @property
    def state_path(self) -> Path:
        return self.root / STATE_NAME

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

    def store(self) -> ObjectStore | S3Store:
        """The object store of originals: the ``objects/`` folder, or S3 (``store``)."""
        return open_store(self.root, self.settings)

    def folder_store(self) -> ObjectStore:
        """The ``objects/`` folder, whatever ``store`` says (migration reads it)."""
        return ObjectStore(self.objects_dir, self.tmp_dir, fsync=self.settings.fsync)

    def derived_path(self, kind: str, hexdigest: str, suffix: str) -> Path:
        return self.root / derived_relpath(kind, hexdigest, suffix)

    # -- lifecycle --------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        root: Path,
        actor: str,
        password: str,
        *,
        passphrase: str | None = None,
        catalog: str | None = None,
    ) -> Vault:
        """Create a new vault at ``root`` (which must not hold one already); ``actor`` is its
        first administrator, with ``password`` (their own key is made and sealed with it).
        With ``passphrase``, the vault's signing key is encrypted with it.

        ``catalog`` (default ``$DALIL_CATALOG``, else SQLite files in the folder) may be a
        PostgreSQL address: an empty database of it, or a server (no database named), where
        a database ``dalil_<vault id>`` is created."""
        from dalil import signing
        from dalil.users import check_new_name, check_password_strength, hash_password

        root = root.absolute()
        actor = check_new_name(actor)
        check_password_strength(password)
        if (root / CONFIG_NAME).exists():
            raise UsageError(f"{root} already holds a Dalil vault")
        if root.exists() and any(root.iterdir()):
            raise UsageError(f"{root} exists and is not empty; choose a new folder")
        if catalog is None:
            catalog = os.environ.get("DALIL_CATALOG", "")
        if catalog:
            check_catalog_url(catalog, "the catalogue address")
        vault_id = str(uuid.uuid4())
        created_at = utc_now()
        if catalog:
            catalog = new_database(catalog, vault_id)
        for sub in ("objects/sha256", "derived", "keys", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(root / "keys", 0o700)
        private = keys.generate(root / "keys", passphrase)
        settings = Settings(catalog=catalog)
        vault = cls(root, vault_id, settings)
        person, sealed = signing.new_key(password)
        signing.remember(vault.origin, actor, person)
        conn = vault.connect(create=True)
        try:
            migrate(conn)
            ledger = Ledger(conn, vault.origin, private.public_key(), private)
            with atomic(conn):
                if ledger.size():  # another init took this database a moment ago
                    raise UsageError("the catalogue's database already holds a vault")
                ledger.append(
                    actor,
                    "vault.created",
                    f"vault:{vault_id}",
                    {
                        "format_version": FORMAT_VERSION,
                        "public_key": keys.public_raw_b64(ledger.public_key),
                        "admin_key": signing.fingerprint(sealed["public"]),
                    },
                    {"user": actor, "password_hash": hash_password(password), "key": sealed},
                )
                ledger.checkpoint()
        finally:
            conn.close()
        # The config is written last: a vault without it is an unfinished init, never opened.
        (root / CONFIG_NAME).write_text(render_config(vault_id, created_at, settings))
        return vault

    @classmethod
    def open(cls, root: Path, *, follow: bool = True) -> Vault:
        """Open an existing vault, applying pending catalogue migrations; a catalogue made
        before the projection design is bound to the ledger.

        With ``follow`` (the default), a catalogue that lags behind the ledger is caught up,
        and one that holds what the ledger does not is refused (``dalil catalog rebuild``
        repairs it). ``dalil verify`` opens without following, to report instead.
        """
        vault = cls.load(root)
        vault.check_files()
        try:
            conn = vault.connect()
            try:
                migrate(conn, None if vault.on_postgres else vault.catalog_path)
                from dalil.projection.replay import follow as follow_ledger

                follow_ledger(vault, conn, catch_up=follow)
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise
            raise CatalogueDamaged(
                f"{vault.catalog_path} cannot be read ({exc}); the catalogue can be rebuilt"
                f" from the ledger: dalil catalog rebuild --vault {vault.root}"
            ) from exc
        return vault

    @classmethod
    def load(cls, root: Path) -> Vault:
        """The vault's settings only; its catalogue is not opened (``catalog rebuild``)."""
        root = root.absolute()
        config = read_config(root / CONFIG_NAME)
        meta = config.get("vault", {})
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise VaultError(
                f"{root}: vault format {version!r} is not supported by this Dalil "
                f"(expects {FORMAT_VERSION})"
            )
        return cls(root, str(meta["id"]), Settings.from_mapping(config.get("settings", {})))

    def check_files(self) -> None:
        """The catalogue and the ledger must both be there (a catalogue that is not, can be
        rebuilt; a ledger that is not, cannot)."""
        if self.on_postgres:
            from dalil.catalog import pg

            conn = self.connect(readonly=True)
            try:
                if not isinstance(conn, pg.PgConnection) or not pg.holds_vault(conn):
                    raise VaultError(
                        f"the catalogue database {pg.redact(self.settings.catalog)} holds no"
                        " ledger: nothing in this vault can be proven until it is restored"
                        " from a backup"
                    )
            finally:
                conn.close()
            return
        if not self.catalog_path.is_file():
            if self.ledger_path.is_file():
                raise CatalogueDamaged(
                    f"the catalogue {self.catalog_path} is missing; rebuild it from the ledger:"
                    f" dalil catalog rebuild --vault {self.root}"
                )
            raise VaultError(f"{self.root} has neither a catalogue nor a ledger")
        if not self.ledger_path.is_file() and not _has_table(self.catalog_path, "ledger"):
            raise VaultError(
                f"the ledger {self.ledger_path} is missing: nothing in this vault can be proven"
                " until it is restored from a backup"
            )

    def connect(self, *, readonly: bool = False, create: bool = False) -> Db:
        """The catalogue, with the ledger and the working state attached (``create``: a new
        vault's, made)."""
        return open_catalogue(self.root, self.settings.catalog, readonly=readonly, create=create)

    def ledger(self, conn: Db, *, signing: bool = True) -> Ledger:
        """The ledger over ``conn``; with ``signing``, the signing key is loaded when first
        needed (it may ask for a passphrase)."""
        return Ledger(
            conn,
            self.origin,
            keys.load_public(self.keys_dir),
            (lambda: keys.load_private(self.keys_dir)) if signing else None,
        )

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the vault's single-writer lock (ingest, checkpoint); fail fast if taken.

        The lock file says who holds it (process id, command, since when), so a "busy" error
        can name them. The lock ends with the process that holds it, however it ends; worker
        processes never hold it (:mod:`dalil.workers`)."""
        from dalil.workers import HELD_LOCKS

        path = self.root / "lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise VaultError(_busy(path)) from exc
            HELD_LOCKS.add(fd)
            os.ftruncate(fd, 0)
            holder = f"{os.getpid()}\n{_command_words()}\n{utc_now()}\n"
            os.pwrite(fd, holder.encode("utf-8", "replace"), 0)
            yield
        finally:
            HELD_LOCKS.discard(fd)
            os.close(fd)


def _command_words() -> str:
    """The command being run (``dalil reports add``), never its arguments: they may hold names,
    paths or a family's contact details, and the lock file is readable by anyone."""
    words = ["dalil"]
    for word in sys.argv[1:4]:
        if not re.fullmatch(r"[a-z][a-z-]{0,20}", word):
            break
        words.append(word)
    return " ".join(words)


def _busy(lock: Path) -> str:
    """Who holds the writer lock, for the "busy" message."""
    try:
        pid, command, since = [*lock.read_text(errors="replace").splitlines(), "", "", ""][:3]
    except OSError:
        pid, command, since = "", "", ""
    who = (
        f"process {pid} ({command.strip() or 'dalil'}), since {since}" if pid else "another process"
    )
    return (
        f"the vault is busy: {who} is writing to it. Wait for it to finish (or stop it);"
        " the lock ends with that process, however it ends"
    )
