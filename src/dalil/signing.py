"""People's own keys: every decision is signed by the person who made it.

Each user has an Ed25519 key pair. The public key is in the ledger (the event that added the
user or set their password); the private key is kept *sealed*: encrypted (AES-256-GCM) with a
key derived from the user's password by argon2id, so it is useless to anyone who has the files
but not the password — an administrator included. When a person proves who they are (a
password on the command line, an unlocked key, a login in the web workspace), their private key
is unsealed for the process or the request, and every ledger event they record is signed with
it: the signature covers the whole event (its number, time, the event before it, what it
records). ``dalil verify`` checks every signature against the key the ledger registered for
that person at that moment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dalil.errors import UsageError
from dalil.ledger.canonical import canonical_json

KDF = {"name": "argon2id", "time_cost": 3, "memory_cost": 32768, "parallelism": 1}
"""How a password becomes the key that seals a private key (argon2id, 32 MiB)."""


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def public_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def fingerprint(public: str) -> str:
    """SHA-256 of a raw public key given in base64, in hex."""
    return hashlib.sha256(base64.b64decode(public)).hexdigest()


def _kek(password: str, salt: bytes, kdf: dict[str, Any]) -> bytes:
    if kdf.get("name") != "argon2id":
        raise UsageError(f"unknown key derivation {kdf.get('name')!r}")
    return hash_secret_raw(
        password.encode("utf-8"),
        salt,
        time_cost=int(kdf["time_cost"]),
        memory_cost=int(kdf["memory_cost"]),
        parallelism=int(kdf["parallelism"]),
        hash_len=32,
        type=Type.ID,
    )


def seal(key: Ed25519PrivateKey, password: str) -> dict[str, Any]:
    """The private key encrypted with the password (what the ledger keeps)."""
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    sealed = AESGCM(_kek(password, salt, KDF)).encrypt(nonce, _raw(key), b"dalil-user-key/1")
    return {
        "format": "dalil-user-key/1",
        "kdf": dict(KDF),
        "salt": base64.b64encode(salt).decode("ascii"),
        "nonce": base64.b64encode(nonce).decode("ascii"),
        "sealed": base64.b64encode(sealed).decode("ascii"),
        "public": public_b64(key),
    }


def unseal(sealed: dict[str, Any], password: str) -> Ed25519PrivateKey:
    """The private key, if ``password`` is the one it was sealed with; else a usage error."""
    try:
        kek = _kek(password, base64.b64decode(sealed["salt"]), sealed["kdf"])
        raw = AESGCM(kek).decrypt(
            base64.b64decode(sealed["nonce"]),
            base64.b64decode(sealed["sealed"]),
            b"dalil-user-key/1",
        )
    except (InvalidTag, KeyError, ValueError, TypeError) as exc:
        raise UsageError("wrong password") from exc
    return Ed25519PrivateKey.from_private_bytes(raw)


def new_key(password: str) -> tuple[Ed25519PrivateKey, dict[str, Any]]:
    key = Ed25519PrivateKey.generate()
    return key, seal(key, password)


# -- who is acting, proved ----------------------------------------------------------------------

_PROCESS: dict[tuple[str, str], Ed25519PrivateKey] = {}
_REQUEST: ContextVar[dict[tuple[str, str], Ed25519PrivateKey] | None] = ContextVar(
    "dalil_request_keys", default=None
)


def remember(origin: str, user: str, key: Ed25519PrivateKey) -> None:
    """``user`` proved who they are in this process (the command line, a test)."""
    _PROCESS[(origin, user)] = key


def forget(origin: str | None = None) -> None:
    for known in list(_PROCESS):
        if origin is None or known[0] == origin:
            del _PROCESS[known]


@contextmanager
def acting(origin: str, user: str, key: Ed25519PrivateKey) -> Iterator[None]:
    """``user`` proved who they are for the duration of one request (the web workspace)."""
    token = _REQUEST.set({(origin, user): key})
    try:
        yield
    finally:
        _REQUEST.reset(token)


Prover = Callable[[str, str, dict[str, Any]], "Ed25519PrivateKey | None"]
prover: Prover | None = None
"""Set by an interface that can ask a person to prove who they are (the CLI: an unlocked key,
``DALIL_PASSWORD``, or a password prompt on a terminal); called with (vault origin, user,
sealed key) when a person with a key acts without having proved it yet."""


def key_for(origin: str, user: str) -> Ed25519PrivateKey | None:
    request = _REQUEST.get()
    if request is not None and (origin, user) in request:
        return request[(origin, user)]
    return _PROCESS.get((origin, user))


def export_key(key: Ed25519PrivateKey) -> str:
    """The raw private key in base64, to hand to a child process through a pipe."""
    return base64.b64encode(_raw(key)).decode("ascii")


def import_key(text: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError as exc:
        raise UsageError("not a key") from exc


# -- a person's key for the length of a web session --------------------------------------------


def _session_kek(token: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(hashes.SHA256(), 32, None, b"dalil-session-key/1").derive(token.encode("ascii"))


def seal_for_session(key: Ed25519PrivateKey, token: str) -> str:
    """The key sealed with the session's token, which only the browser's cookie holds (the
    server keeps the token's hash): at rest it opens with nothing the server has."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_session_kek(token)).encrypt(nonce, _raw(key), b"dalil-session/1")
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal_for_session(sealed: str, token: str) -> Ed25519PrivateKey | None:
    try:
        blob = base64.b64decode(sealed)
        raw = AESGCM(_session_kek(token)).decrypt(blob[:12], blob[12:], b"dalil-session/1")
    except (InvalidTag, ValueError, UnicodeEncodeError):
        return None
    return Ed25519PrivateKey.from_private_bytes(raw)


# -- signatures on events -----------------------------------------------------------------------


def statement(event: dict[str, Any]) -> bytes:
    """What a person's signature covers: the whole event but the signature itself."""
    details = {k: v for k, v in (event.get("details") or {}).items() if k != "signature"}
    return canonical_json({**event, "details": details})


def sign_event(event: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, str]:
    signature = key.sign(b"dalil-event/1\n" + statement(event))
    return {
        "key": fingerprint(public_b64(key)),
        "sig": base64.b64encode(signature).decode("ascii"),
    }


def check_event(event: dict[str, Any], public: str) -> str | None:
    """None if the event carries a valid signature by ``public``; else what is wrong."""
    signature = (event.get("details") or {}).get("signature")
    if not isinstance(signature, dict):
        return "it is not signed"
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public))
        key.verify(base64.b64decode(signature["sig"]), b"dalil-event/1\n" + statement(event))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return "its signature does not verify with the key registered for its author"
    return None


# -- keys unlocked for a while (dalil unlock) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unlocked:
    path: Path
    expires: float


def _folder() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime else Path.home() / ".cache"
    return base / "dalil" / "unlocked"


def _file(vault_id: str, user: str) -> Path:
    name = hashlib.sha256(f"{vault_id}\n{user}".encode()).hexdigest()[:32]
    return _folder() / name


def unlock(vault_id: str, user: str, key: Ed25519PrivateKey, minutes: int) -> Unlocked:
    """Keep ``user``'s unsealed key for ``minutes`` in a file only this system user can read
    (in ``$XDG_RUNTIME_DIR``, memory on most systems), so that commands need no password."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    path = _file(vault_id, user)
    expires = time.time() + minutes * 60
    data = json.dumps(
        {
            "vault": vault_id,
            "user": user,
            "expires": expires,
            "key": base64.b64encode(_raw(key)).decode(),
        }
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return Unlocked(path, expires)


def unlocked(vault_id: str, user: str) -> Ed25519PrivateKey | None:
    """``user``'s key if it was unlocked and has not expired."""
    path = _file(vault_id, user)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("vault") != vault_id or data.get("user") != user:
        return None
    if float(data.get("expires", 0)) < time.time():
        path.unlink(missing_ok=True)
        return None
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(data["key"]))


def lock(vault_id: str, user: str) -> bool:
    path = _file(vault_id, user)
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed
