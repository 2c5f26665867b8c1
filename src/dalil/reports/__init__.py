"""Families' missing-person reports, and their contact details kept apart.

A report describes the missing person (names in Arabic and Latin letters, parents' names, birth
year and place, arrest date and place, the branch that took them, marks, perhaps a
photograph); it is a ``report.added`` ledger event (the person's details in its payload, never
in the event) and takes part in linkage like a list record. **How to reach the family, and what
they consented to, are not part of it**: they are encrypted with AES-256-GCM under a key kept
*outside* the vault (the setting ``contacts_key_file``) and stored in ``contacts.sqlite``,
read only by the liaison and admin roles (each reading a ledger event that says so, never what
was read). They never enter the ledger, the catalogue, exports, search indexes or logs.
Without the key file, contacts cannot be added or read; everything else works.

**The family's photograph** is the family's personal data too: it is sealed the same way in
``contacts.sqlite`` (never ingested as evidence), and the report records only its SHA-256.
:func:`seal` and :func:`unseal` let other personal data (face embeddings, :mod:`dalil.faces`)
share the key and the store.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.ledger.log import Ledger
from dalil.timeutil import utc_now
from dalil.vault import Vault

REPORT_FIELDS = (
    "full_name",
    "full_name_latin",
    "given_name",
    "father_name",
    "grandfather_name",
    "family_name",
    "mother_name",
    "sex",
    "birth_year",
    "birth_date",
    "birth_place",
    "arrest_date",
    "arrest_place",
    "branch",
    "detainee_number",
    "national_id",
    "note",
)
CONTACT_ROLES = ("liaison", "admin")
CONTACTS_NAME = "contacts.sqlite"
MAX_PHOTO_BYTES = 64 * 1024 * 1024


# -- the contacts key, outside the vault ---------------------------------------------------------


def new_key_file(path: Path) -> Path:
    """Write a new contacts key (32 random bytes, base64) to ``path``, readable by its owner
    only. Keep it off the vault, and back it up: contacts cannot be read without it."""
    if path.exists():
        raise UsageError(f"{path} exists already: a key is never overwritten")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(secrets.token_bytes(32)).decode("ascii") + "\n")
    return path


def check_key(vault: Vault) -> None:
    """Raise a usage error, saying what to do, unless the contacts key can be read."""
    _key(vault)


def _key(vault: Vault) -> bytes:
    named = vault.settings.contacts_key_file
    if not named:
        raise UsageError(
            "contact details are encrypted with a key kept outside the vault: make one with"
            " 'dalil reports new-key FILE' and name it in dalil.toml (contacts_key_file)"
        )
    path = Path(named).expanduser()
    if path.resolve().is_relative_to(vault.root.resolve()):
        raise UsageError("the contacts key must be kept outside the vault")
    try:
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the contacts key file {path}") from exc
    if len(key) != 32:
        raise UsageError(f"{path} is not a contacts key (32 bytes, base64)")
    return key


def personal_store(vault: Vault) -> Db:
    """The store of sealed personal data (``contacts.sqlite``, autocommit); close it after use.
    Nothing in it is readable without the contacts key."""
    conn = sqlite3.connect(vault.root / CONTACTS_NAME, isolation_level=None)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS contacts (report_id TEXT PRIMARY KEY, nonce BLOB NOT NULL,"
        " sealed BLOB NOT NULL, updated_at TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS family_photos (report_id TEXT PRIMARY KEY,"
        " sha256 TEXT NOT NULL, nonce BLOB NOT NULL, sealed BLOB NOT NULL,"
        " added_at TEXT NOT NULL)"
    )
    return conn


def seal(vault: Vault, bound_to: str, plain: bytes) -> tuple[bytes, bytes]:
    """(nonce, ciphertext) of ``plain`` under the contacts key (AES-256-GCM). ``bound_to``
    names what it is (a report, a photograph): the ciphertext opens only under that name, so
    sealed rows cannot be swapped."""
    nonce = secrets.token_bytes(12)
    return nonce, AESGCM(_key(vault)).encrypt(nonce, plain, bound_to.encode("utf-8"))


def unseal(vault: Vault, bound_to: str, nonce: bytes, sealed: bytes, what: str) -> bytes:
    """What :func:`seal` sealed under the name ``bound_to``; a usage error (naming ``what``,
    never the content) when the key does not open it."""
    key = _key(vault)
    try:
        return AESGCM(key).decrypt(bytes(nonce), bytes(sealed), bound_to.encode("utf-8"))
    except Exception as exc:
        raise UsageError(f"the contacts key does not open {what}") from exc


def _store_contact(vault: Vault, report_id: str, contact: dict[str, str], when: str) -> None:
    plain = json.dumps(contact, ensure_ascii=False).encode("utf-8")
    nonce, sealed = seal(vault, report_id, plain)
    conn = personal_store(vault)
    try:
        conn.execute(
            "INSERT OR REPLACE INTO contacts (report_id, nonce, sealed, updated_at)"
            " VALUES (?, ?, ?, ?)",
            (report_id, nonce, sealed, when),
        )
    finally:
        conn.close()


def _photo_name(report_id: str, sha: str) -> str:
    return f"family-photo|{report_id}|{sha}"


def _store_photo(vault: Vault, report_id: str, data: bytes, sha: str, when: str) -> None:
    nonce, sealed = seal(vault, _photo_name(report_id, sha), data)
    conn = personal_store(vault)
    try:
        conn.execute(
            "INSERT OR REPLACE INTO family_photos (report_id, sha256, nonce, sealed, added_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (report_id, sha, nonce, sealed, when),
        )
    finally:
        conn.close()


def family_photo(vault: Vault, report_id: str, sha: str) -> bytes | None:
    """The photograph a family gave with report ``report_id`` (SHA-256 ``sha``), unsealed; None
    when it is not in the sealed store. For library callers that have checked the role."""
    conn = personal_store(vault)
    try:
        row = conn.execute(
            "SELECT nonce, sealed FROM family_photos WHERE report_id = ? AND sha256 = ?",
            (report_id, sha),
        ).fetchone()
    finally:
        conn.close()
    if row is None:
        return None
    data = unseal(vault, _photo_name(report_id, sha), row[0], row[1], "the family's photograph")
    if hashlib.sha256(data).hexdigest() != sha:
        raise UsageError(f"the sealed photograph of {report_id} is not the one recorded")
    return data


def check_photo(data: bytes) -> str:
    """The SHA-256 of a family's photograph, after checking that it is an image Dalil can
    read; a usage error otherwise."""
    from PIL import Image

    from dalil.ingest.decode import register_heif

    if len(data) > MAX_PHOTO_BYTES:
        raise UsageError(f"the photograph is larger than {MAX_PHOTO_BYTES // 2**20} MiB")
    register_heif()
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception as exc:
        raise UsageError("the photograph is not an image Dalil can read") from exc
    return hashlib.sha256(data).hexdigest()


def read_contact(
    vault: Vault, conn: Db, ledger: Ledger, actor: str, report_id: str
) -> dict[str, str]:
    """A report's contact details, for the liaison and admin roles only (the reading is a
    ledger event; what was read is not)."""
    from dalil.users import check_actor

    if check_actor(conn, actor) not in CONTACT_ROLES:
        raise UsageError("only the liaison and admin roles may read a family's contact details")
    report_id = _existing(conn, report_id)
    _key(vault)
    store = personal_store(vault)
    try:
        row = store.execute(
            "SELECT nonce, sealed FROM contacts WHERE report_id = ?", (report_id,)
        ).fetchone()
    finally:
        store.close()
    if row is None:
        raise UsageError(f"{report_id} has no contact details")
    plain = unseal(vault, report_id, row[0], row[1], "these contact details")
    with atomic(conn):
        ledger.append(actor, "report.contact-read", f"report:{report_id}", {})
    found: dict[str, str] = json.loads(plain)
    return found


# -- reports --------------------------------------------------------------------------------------


def _existing(conn: Db, report_id: str) -> str:
    report_id = report_id.strip().upper()
    if not conn.execute("SELECT 1 FROM reports WHERE report_id = ?", (report_id,)).fetchone():
        raise UsageError(f"no report {report_id!r}")
    return report_id


def add_report(
    vault: Vault,
    conn: Db,
    ledger: Ledger,
    actor: str,
    fields: dict[str, str],
    *,
    marks: list[str] | None = None,
    photo: bytes | None = None,
    contact: str | None = None,
    consent: str | None = None,
) -> str:
    """Record a family's report; returns its id (R-00001 …). ``photo`` is the bytes of a
    photograph the family gave: it is sealed with the contacts details, and the report holds
    only its SHA-256. A photograph and contact details need the contacts key (see module)."""
    from dalil.users import check_actor

    unknown = sorted(set(fields) - set(REPORT_FIELDS))
    if unknown:
        raise UsageError(f"unknown report fields {unknown}; fields: {', '.join(REPORT_FIELDS)}")
    clean = {k: v.strip() for k, v in fields.items() if v and v.strip()}
    if not any(clean.get(k) for k in ("full_name", "full_name_latin", "given_name")):
        raise UsageError("a report needs the missing person's name (Arabic or Latin letters)")
    check_actor(conn, actor)
    sha = check_photo(photo) if photo is not None else None
    if contact or consent or photo is not None:
        _key(vault)  # refuse before anything is recorded
    with atomic(conn):
        number = int(conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0]) + 1
        report_id = f"R-{number:05d}"
        if photo is not None and sha is not None:  # sealed first: the event never claims
            _store_photo(vault, report_id, photo, sha, utc_now())  # a photograph not kept
        event = ledger.append(
            actor,
            "report.added",
            f"report:{report_id}",
            {"report": report_id, "photo": photo is not None, "contact": bool(contact)},
            {"report": report_id, "fields": clean, "marks": marks or [], "photo": sha},
        )
    if contact or consent:
        _store_contact(
            vault, report_id, {"contact": contact or "", "consent": consent or ""}, event["time"]
        )
    return report_id


def list_reports(conn: Db) -> list[dict[str, Any]]:
    return [
        {"report": r[0], "fields": json.loads(r[1]), "marks": json.loads(r[2]), "photo": r[3],
         "status": r[4], "created_by": r[5], "created_at": r[6]}
        for r in conn.execute(
            "SELECT report_id, fields, marks, photo, status, created_by, created_at FROM reports"
            " ORDER BY report_id"
        )
    ]  # fmt: skip


def report(conn: Db, report_id: str) -> dict[str, Any]:
    report_id = _existing(conn, report_id)
    return next(r for r in list_reports(conn) if r["report"] == report_id)
