"""The vault's Ed25519 signing key (cryptography)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dalil.errors import VaultError

PRIVATE_NAME = "vault.key"
PUBLIC_NAME = "vault.pub"


def generate(keys_dir: Path) -> Ed25519PublicKey:
    """Create a new key pair in ``keys_dir``; the private key file is mode 0600."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(keys_dir / PRIVATE_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = key.public_key()
    (keys_dir / PUBLIC_NAME).write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public


def load_private(keys_dir: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key((keys_dir / PRIVATE_NAME).read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise VaultError(f"cannot load the vault signing key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise VaultError("the vault signing key is not an Ed25519 key")
    return key


def load_public(keys_dir: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key((keys_dir / PUBLIC_NAME).read_bytes())
    except (OSError, ValueError) as exc:
        raise VaultError(f"cannot load the vault public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise VaultError("the vault public key is not an Ed25519 key")
    return key


def public_raw_b64(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64, as embedded in proofs and bundles."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def verify_signature(key: Ed25519PublicKey, signature_b64: str, message: bytes) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode("ascii")
