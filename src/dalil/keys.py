"""The vault's Ed25519 signing key (cryptography).

The private key is ``keys/vault.key`` (mode 0600), optionally encrypted with a passphrase
(``dalil init --passphrase``); it can also be kept off the vault entirely and named with
``$DALIL_SIGNING_KEY`` when signing. A passphrase is taken from ``$DALIL_KEY_PASSPHRASE`` or
from the interface's :data:`passphrase_prompt` (the CLI asks on the terminal).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography loads when a key is used, not when a command starts
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

from dalil.errors import VaultError

PRIVATE_NAME = "vault.key"
PUBLIC_NAME = "vault.pub"
KEY_ENV = "DALIL_SIGNING_KEY"
PASSPHRASE_ENV = "DALIL_KEY_PASSPHRASE"

passphrase_prompt: Callable[[str], str | None] | None = None
"""Set by an interface that can ask a person (the CLI on a terminal); None: do not ask."""

_LOADED: dict[tuple[str, float], Ed25519PrivateKey] = {}
_REMEMBERED: list[str] = []


def remember_passphrase(passphrase: str) -> None:
    """Use this passphrase for the rest of the process (it was just given, e.g. by init)."""
    _REMEMBERED[:] = [passphrase]


def generate(keys_dir: Path, passphrase: str | None = None) -> Ed25519PrivateKey:
    """Create a new key pair in ``keys_dir``; the private key file is mode 0600, encrypted
    with ``passphrase`` when one is given."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    fd = os.open(keys_dir / PRIVATE_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = key.public_key()
    (keys_dir / PUBLIC_NAME).write_bytes(public_pem(public))
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_path(keys_dir: Path) -> Path:
    """Where the signing key is: ``$DALIL_SIGNING_KEY`` if set, else ``keys/vault.key``."""
    named = os.environ.get(KEY_ENV)
    return Path(named) if named else keys_dir / PRIVATE_NAME


def _passphrase(path: Path) -> bytes:
    given = os.environ.get(PASSPHRASE_ENV) or (_REMEMBERED[0] if _REMEMBERED else None)
    if given is None and passphrase_prompt is not None:
        given = passphrase_prompt(f"Passphrase of the vault signing key {path}: ")
    if not given:
        raise VaultError(
            f"the vault signing key {path} is protected by a passphrase: set "
            f"{PASSPHRASE_ENV} or run the command on a terminal"
        )
    return given.encode("utf-8")


def load_private(keys_dir: Path) -> Ed25519PrivateKey:
    """The signing key, decrypted if it has a passphrase (asked once per process)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = private_path(keys_dir)
    try:
        pem = path.read_bytes()
        stamp = (str(path.resolve()), path.stat().st_mtime)
    except OSError as exc:
        raise VaultError(
            f"cannot read the vault signing key {path}: {exc.strerror or exc} (if it is kept "
            f"off the vault, name it with {KEY_ENV})"
        ) from exc
    if stamp in _LOADED:
        return _LOADED[stamp]
    password = _passphrase(path) if b"ENCRYPTED" in pem.split(b"\n", 1)[0] else None
    try:
        key = serialization.load_pem_private_key(pem, password)
    except (ValueError, TypeError) as exc:
        reason = "wrong passphrase or damaged key" if password else str(exc)
        raise VaultError(f"cannot load the vault signing key {path}: {reason}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise VaultError("the vault signing key is not an Ed25519 key")
    _LOADED[stamp] = key
    return key


def load_public(keys_dir: Path) -> Ed25519PublicKey:
    return load_public_file(keys_dir / PUBLIC_NAME)


def load_public_file(path: Path) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise VaultError(f"cannot load the public key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise VaultError(f"{path} is not an Ed25519 public key")
    return key


def public_raw(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_raw_b64(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64, as embedded in proofs and bundles."""
    return base64.b64encode(public_raw(key)).decode("ascii")


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, in hex: what people compare and pin."""
    return hashlib.sha256(public_raw(key)).hexdigest()


def fingerprint_of_b64(raw_b64: str) -> str:
    return hashlib.sha256(base64.b64decode(raw_b64)).hexdigest()


def verify_signature(key: Ed25519PublicKey, signature_b64: str, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode("ascii")
