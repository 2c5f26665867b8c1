"""RFC 3161 trusted timestamps of signed checkpoints.

A timestamp authority (TSA) signs a token saying that a hash existed at a given time. The hash
Dalil sends is the SHA-256 of :func:`timestamped_bytes`: the checkpoint's signed text followed
by one more line, its signature as stored::

    dalil-checkpoint/1\\n<origin>\\n<size>\\n<root hex>\\n<time>\\n<signature base64>\\n

so a token proves that this tree head, signed by the vault key, existed at the TSA's time.
An offline verifier recomputes those bytes from the checkpoint alone (``openssl ts -verify
-data``). Tokens are DER ``ContentInfo`` values (CMS ``SignedData`` over a ``TSTInfo``), kept
verbatim in ``checkpoint_timestamps`` and recorded by a ``checkpoint.timestamped`` event.

The ASN.1 structures (``TimeStampReq``/``TimeStampResp`` of RFC 3161, CMS of RFC 5652, the
ESS signing-certificate attributes of RFC 5035) are read and written with ``asn1crypto``;
signatures, hashes and certificate chains are checked with ``cryptography``.
Requesting a token is the only network access in Dalil, and only to the URL the user gives.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from typing import IO, Any, ClassVar

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from dalil.catalog.db import Db
from dalil.errors import DalilError
from dalil.ledger.log import Checkpoint, Ledger
from dalil.timeutil import utc_now

__all__ = [
    "EVENT_ACTION",
    "StoredTimestamp",
    "TimestampError",
    "TokenCheck",
    "TokenInfo",
    "build_request",
    "checkpoint_imprint",
    "load_pem_certs",
    "parse_response",
    "read_token",
    "request_token",
    "stored_timestamps",
    "timestamp_checkpoint",
    "timestamped_bytes",
    "timestamps_for",
    "verify_token",
]

EVENT_ACTION = "checkpoint.timestamped"
DEFAULT_TIMEOUT = 30.0
MAX_RESPONSE = 1 << 20

OID_SHA256 = "2.16.840.1.101.3.4.2.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_TST_INFO = "1.2.840.113549.1.9.16.1.4"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_CERT = "1.2.840.113549.1.9.16.2.12"
OID_SIGNING_CERT_V2 = "1.2.840.113549.1.9.16.2.47"
OID_RSASSA_PSS = "1.2.840.113549.1.1.10"

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "1.3.14.3.2.26": hashes.SHA1,
    "2.16.840.1.101.3.4.2.4": hashes.SHA224,
    OID_SHA256: hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
_STATUS = {0: "granted", 1: "granted with modifications", 2: "rejected", 3: "waiting"}
# What a malformed token raises: asn1crypto parses lazily, so any field access may raise one of
# the first five; cryptography raises InvalidVersion (no ValueError) for a certificate's version.
_MALFORMED = (ValueError, TypeError, IndexError, KeyError, OverflowError, x509.InvalidVersion)


class TimestampError(DalilError):
    """The TSA could not be reached or gave no usable token; nothing was stored."""


# -- what is timestamped -----------------------------------------------------------------------


def timestamped_bytes(checkpoint: Checkpoint) -> bytes:
    """The exact bytes whose SHA-256 a token carries: the checkpoint's signed text, then its
    signature (base64, as stored) and a newline. Raises ``ValueError`` for a malformed
    checkpoint (see ``checkpoint_message``)."""
    return checkpoint.message() + checkpoint.signature.encode("ascii") + b"\n"


def checkpoint_imprint(checkpoint: Checkpoint) -> bytes:
    """SHA-256 of :func:`timestamped_bytes`: the ``hashedMessage`` of the token."""
    return hashlib.sha256(timestamped_bytes(checkpoint)).digest()


def _say(exc: Exception) -> str:
    """asn1crypto's message on one line (it adds "while parsing ..." lines)."""
    return " ".join(str(exc).split())


# -- requests and responses --------------------------------------------------------------------


def build_request(imprint: bytes, nonce: int) -> bytes:
    """A DER ``TimeStampReq``: version 1, SHA-256 ``imprint``, ``nonce``, certReq TRUE."""
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256", "parameters": core.Null()},
                "hashed_message": imprint,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return bytes(request.dump())


class _TimeStampResp(tsp.TimeStampResp):  # type: ignore[misc]
    """RFC 3161's ``TimeStampResp``, whose token is OPTIONAL: a refusal carries none
    (asn1crypto 1.5 declares it required)."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def parse_response(data: bytes, url: str) -> bytes:
    """The token (DER ``ContentInfo``) of a ``TimeStampResp``; ``TimestampError`` unless the
    TSA granted the request."""
    try:
        response = _TimeStampResp.load(data, strict=True)
        info = response["status"]
        status = int(info["status"])
        text = "; ".join(s.contents.decode("utf-8", "replace") for s in info["status_string"])
        token = response["time_stamp_token"]
    except _MALFORMED as exc:
        raise TimestampError(
            f"the TSA at {url} did not answer with an RFC 3161 timestamp response ({_say(exc)})"
        ) from exc
    if status not in (0, 1):
        said = _STATUS.get(status, f"status {status}") + (f": {text}" if text else "")
        raise TimestampError(f"the TSA at {url} refused the request ({said})")
    if isinstance(token, core.Void):
        raise TimestampError(f"the TSA at {url} granted the request but sent no token")
    return bytes(token.dump())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Talk only to the URL the user gave: a redirect is answered as the HTTP error it is."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def _post(url: str, body: bytes, timeout: float) -> bytes:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise TimestampError(f"the TSA URL must start with http:// or https://, got {url!r}")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/timestamp-query",
            "Accept": "application/timestamp-reply",
        },
    )
    try:
        opener = urllib.request.build_opener(_NoRedirect())
        with opener.open(request, timeout=timeout) as response:
            data: bytes = response.read(MAX_RESPONSE + 1)
    except urllib.error.HTTPError as exc:
        raise TimestampError(f"the TSA at {url} answered HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise TimestampError(f"could not reach the TSA at {url}: {exc.reason}") from exc
    except (OSError, ValueError) as exc:  # timeouts, resets, malformed URLs
        raise TimestampError(f"could not reach the TSA at {url}: {exc}") from exc
    if len(data) > MAX_RESPONSE:
        raise TimestampError(f"the TSA at {url} sent more than {MAX_RESPONSE} bytes")
    return data


# -- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a token says (not yet whether it is genuine: see :func:`verify_token`)."""

    gen_time: str  # the TSA's time, ISO 8601 UTC, e.g. "2026-01-02T03:04:05Z"
    policy: str
    serial: int
    nonce: int | None
    imprint_algorithm: str  # dotted OID
    imprint: bytes
    tsa_name: str  # subject of the signing certificate, RFC 4514
    certificate: bytes  # the signing certificate, DER


@dataclass(frozen=True, slots=True)
class _Token:
    info: TokenInfo
    gen: datetime
    tst_info: bytes  # the signed eContent, exactly as sent
    digest_oid: str
    signed_attrs: cms.CMSAttributes
    signed_bytes: bytes  # what the signature covers, taken before any attribute is read
    signature_oid: str
    signature: bytes
    signer: x509.Certificate
    certificates: list[x509.Certificate]


def read_token(token: bytes) -> TokenInfo:
    """Parse a token; ``ValueError`` if it is not a well-formed RFC 3161 token."""
    return _parse_token(token).info


def _parse_token(token: bytes) -> _Token:
    try:
        return _read_token(token)
    except _MALFORMED as exc:  # asn1crypto parses lazily: any access may meet a bad value
        raise ValueError(_say(exc)) from exc


def _read_token(token: bytes) -> _Token:
    content_info = cms.ContentInfo.load(token, strict=True)
    if content_info["content_type"].dotted != OID_SIGNED_DATA:
        raise ValueError("the token is not CMS SignedData")
    signed = content_info["content"]
    encap = signed["encap_content_info"]
    if encap["content_type"].dotted != OID_TST_INFO:
        raise ValueError("the signed content is not a TSTInfo")
    if isinstance(encap["content"], core.Void):
        raise ValueError("eContent is missing")
    tst_info = bytes(encap["content"])
    embedded = [
        (choice.chosen, x509.load_der_x509_certificate(choice.chosen.dump()))
        for choice in signed["certificates"]
        if choice.name == "certificate"
    ]
    signer_infos = signed["signer_infos"]
    if len(signer_infos) != 1:
        raise ValueError(f"a token has one signer, this one has {len(signer_infos)}")
    signer_info = signer_infos[0]
    signed_attrs = signer_info["signed_attrs"]
    if isinstance(signed_attrs, core.Void):
        raise ValueError("the signer info has no signed attributes")
    signed_bytes = _signed_bytes(signed_attrs)
    signer = _find_signer(signer_info["sid"], embedded)
    tst = tsp.TSTInfo.load(tst_info, strict=True)
    imprint = tst["message_imprint"]
    iso, gen = _gen_time(tst["gen_time"])
    info = TokenInfo(
        gen_time=iso,
        policy=tst["policy"].dotted,
        serial=tst["serial_number"].native,
        nonce=tst["nonce"].native,
        imprint_algorithm=imprint["hash_algorithm"]["algorithm"].dotted,
        imprint=imprint["hashed_message"].native,
        tsa_name=signer.subject.rfc4514_string(),
        certificate=signer.public_bytes(serialization.Encoding.DER),
    )
    return _Token(
        info=info,
        gen=gen,
        tst_info=tst_info,
        digest_oid=signer_info["digest_algorithm"]["algorithm"].dotted,
        signed_attrs=signed_attrs,
        signed_bytes=signed_bytes,
        signature_oid=signer_info["signature_algorithm"]["algorithm"].dotted,
        signature=signer_info["signature"].native,
        signer=signer,
        certificates=[cert for _, cert in embedded],
    )


def _gen_time(value: core.GeneralizedTime) -> tuple[str, datetime]:
    """RFC 3161 §2.4.2: genTime is UTC ("Z"), to the second at least; the ISO text keeps the
    TSA's fraction of a second as sent."""
    text = value.contents.decode("ascii", "replace")
    digits, _, fraction = text.removesuffix("Z").partition(".")
    if not text.endswith("Z") or len(digits) != 14 or not digits.isdigit():
        raise ValueError(f"genTime {text!r} is not a UTC GeneralizedTime")
    when = value.native
    if not isinstance(when, datetime):  # asn1crypto's extended_datetime: year 0
        raise ValueError(f"genTime {text!r} is out of range")
    iso = when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"
    return iso, when.replace(microsecond=0)


def _find_signer(
    sid: cms.SignerIdentifier, embedded: list[tuple[asn1_x509.Certificate, x509.Certificate]]
) -> x509.Certificate:
    for parsed, cert in embedded:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                parsed.issuer.dump() == wanted["issuer"].dump()  # the Name's DER, byte for byte
                and cert.serial_number == wanted["serial_number"].native
            ):
                return cert
        elif parsed.key_identifier == sid.chosen.native:  # [0] SubjectKeyIdentifier
            return cert
    raise ValueError("the token does not include the TSA's signing certificate")


def _attributes(signed_attrs: cms.CMSAttributes) -> dict[str, cms.SetOfAny]:
    """The signed attributes by type OID, each a SET OF values parsed by its type."""
    found: dict[str, cms.SetOfAny] = {}
    for attribute in signed_attrs:
        oid = attribute["type"].dotted
        if oid in found:
            raise ValueError(f"signed attribute {oid} appears twice")
        found[oid] = attribute["values"]
    return found


def _signed_bytes(signed_attrs: cms.CMSAttributes) -> bytes:
    """RFC 5652 §5.4: the signature covers the signed attributes as an explicit SET OF: their
    content bytes as sent under a SET OF tag. Call it before reading any attribute: asn1crypto
    re-encodes, and so re-sorts, a SET OF whose parsed values it has touched (reading an absent
    DEFAULT field is enough), and ``contents`` would then no longer be the bytes sent."""
    return bytes(cms.CMSAttributes(contents=signed_attrs.contents).dump())


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome of :func:`verify_token`; ``reason`` says what failed (empty when ok)."""

    ok: bool
    reason: str
    gen_time: str | None
    tsa_name: str | None


def verify_token(
    token: bytes, checkpoint: Checkpoint, trusted_certs: list[bytes] | None = None
) -> TokenCheck:
    """Check that ``token`` (DER) is a genuine timestamp of ``checkpoint``.

    The imprint must be SHA-256 of :func:`timestamped_bytes`; the CMS signature over the signed
    attributes must verify with the embedded TSA certificate (RSA PKCS#1 v1.5, ECDSA or
    Ed25519), whose ESS signing-certificate attribute must name it, whose extended key usage
    must be (critical) timeStamping and which must be valid at the token's time; the
    messageDigest attribute must be the hash of the TSTInfo. With ``trusted_certs`` (DER CA
    certificates), the TSA certificate must be one of them or chain to one of them (through
    CA certificates embedded in the token). Never raises for a bad token.
    """
    try:
        parsed = _parse_token(token)
    except ValueError as exc:
        return TokenCheck(
            False, f"the token is not a well-formed RFC 3161 token: {exc}", None, None
        )
    try:
        trusted = [x509.load_der_x509_certificate(c) for c in trusted_certs or []]
    except (ValueError, x509.InvalidVersion) as exc:
        return TokenCheck(False, f"a trusted CA certificate is unreadable: {exc}", None, None)
    try:
        reason = _check(parsed, checkpoint, trusted if trusted_certs is not None else None)
    except _MALFORMED as exc:  # an attribute's values are parsed only now
        reason = f"the token is not a well-formed RFC 3161 token: {_say(exc)}"
    return TokenCheck(not reason, reason, parsed.info.gen_time, parsed.info.tsa_name)


def _check(token: _Token, checkpoint: Checkpoint, trusted: list[x509.Certificate] | None) -> str:
    info = token.info
    try:
        expected = checkpoint_imprint(checkpoint)
    except ValueError as exc:
        return f"the checkpoint is malformed: {exc}"
    if info.imprint_algorithm != OID_SHA256 or info.imprint != expected:
        return "the token's message imprint is not the hash of this checkpoint"
    digest = _HASHES.get(token.digest_oid)
    if digest is None or digest is hashes.SHA1:
        return f"unsupported signature digest algorithm {token.digest_oid}"
    attributes = _attributes(token.signed_attrs)
    content_type = attributes.get(OID_CONTENT_TYPE, [])
    if len(content_type) != 1 or content_type[0].dotted != OID_TST_INFO:
        return "the signed contentType attribute is not TSTInfo"
    message_digest = attributes.get(OID_MESSAGE_DIGEST, [])
    if len(message_digest) != 1 or message_digest[0].native != _digest(digest, token.tst_info):
        return "the messageDigest attribute is not the hash of the TSTInfo"
    ess = _ess_mismatch(attributes, token.signer)
    if ess:
        return ess
    try:
        _verify_signature(
            token.signer, digest, token.signature_oid, token.signature, token.signed_bytes
        )
    except InvalidSignature:
        return "the TSA's signature does not verify"
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return f"the TSA's signature cannot be checked: {exc}"
    return _certificate_problem(token, trusted)


def _digest(algorithm: type[hashes.HashAlgorithm], data: bytes) -> bytes:
    hasher = hashes.Hash(algorithm())
    hasher.update(data)
    return hasher.finalize()


def _ess_mismatch(attributes: dict[str, cms.SetOfAny], signer: x509.Certificate) -> str:
    """RFC 3161/5035: the signed attributes must name the signing certificate by hash."""
    der = signer.public_bytes(serialization.Encoding.DER)
    if OID_SIGNING_CERT_V2 in attributes:
        cert_id = attributes[OID_SIGNING_CERT_V2][0]["certs"][0]  # ESSCertIDv2
        algorithm = cert_id["hash_algorithm"]["algorithm"].dotted  # DEFAULT sha256
        hash_class = _HASHES.get(algorithm)
        if hash_class is None:
            return f"unsupported ESS certificate hash algorithm {algorithm}"
    elif OID_SIGNING_CERT in attributes:
        cert_id = attributes[OID_SIGNING_CERT][0]["certs"][0]  # ESSCertID
        hash_class = hashes.SHA1
    else:
        return "the token does not name its signing certificate (no ESS attribute)"
    if cert_id["cert_hash"].native != _digest(hash_class, der):
        return "the ESS signing-certificate attribute names another certificate"
    return ""


def _verify_signature(
    cert: x509.Certificate,
    digest: type[hashes.HashAlgorithm],
    signature_oid: str,
    signature: bytes,
    data: bytes,
) -> None:
    key = cert.public_key()
    if signature_oid == OID_RSASSA_PSS:
        raise ValueError("RSASSA-PSS signatures are not supported")
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, data, padding.PKCS1v15(), digest())
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(digest()))
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, data)
    else:
        raise ValueError(f"unsupported TSA key type {type(key).__name__}")


def _certificate_problem(token: _Token, trusted: list[x509.Certificate] | None) -> str:
    signer = token.signer
    try:
        usage = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return "the TSA certificate has no extended key usage (timeStamping is required)"
    if not usage.critical or ExtendedKeyUsageOID.TIME_STAMPING not in usage.value:
        return "the TSA certificate is not for timestamping (critical timeStamping usage)"
    if not signer.not_valid_before_utc <= token.gen <= signer.not_valid_after_utc:
        return f"the TSA certificate was not valid at the token's time {token.info.gen_time}"
    if trusted is not None and not _chains_to(signer, token.certificates, trusted):
        return "the TSA certificate is not issued by any of the trusted CA certificates"
    return ""


def _chains_to(
    cert: x509.Certificate, embedded: list[x509.Certificate], trusted: list[x509.Certificate]
) -> bool:
    for _ in range(8):
        if any(cert == anchor or _issued_by(cert, anchor) for anchor in trusted):
            return True
        parent = next(
            (c for c in embedded if c != cert and _is_ca(c) and _issued_by(cert, c)), None
        )
        if parent is None:
            return False
        cert = parent
    return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def load_pem_certs(pem: bytes, name: str = "the CA file") -> list[bytes]:
    """The certificates (DER) in a PEM file; ``TimestampError`` when it holds none."""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except (ValueError, x509.InvalidVersion) as exc:
        raise TimestampError(f"{name} holds no readable PEM certificate") from exc
    return [c.public_bytes(serialization.Encoding.DER) for c in certs]


def _pem(der: bytes) -> str:
    cert = x509.load_der_x509_certificate(der)
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def request_token(
    url: str, checkpoint: Checkpoint, *, timeout: float = DEFAULT_TIMEOUT
) -> tuple[bytes, TokenInfo]:
    """Ask the TSA at ``url`` for a token over ``checkpoint``; checks imprint and nonce.

    The only network access in Dalil. Raises ``TimestampError`` naming the URL.
    """
    nonce = secrets.randbits(63) | 1 << 62  # positive, never a short encoding
    imprint = checkpoint_imprint(checkpoint)
    token = parse_response(_post(url, build_request(imprint, nonce), timeout), url)
    try:
        info = read_token(token)
    except ValueError as exc:
        raise TimestampError(f"the TSA at {url} sent a malformed token ({exc})") from exc
    if info.imprint_algorithm != OID_SHA256 or info.imprint != imprint:
        raise TimestampError(f"the TSA at {url} timestamped something else than was asked")
    if info.nonce != nonce:
        raise TimestampError(f"the TSA at {url} answered with another nonce (a replayed token?)")
    return token, info


# -- stored tokens -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredTimestamp:
    """A row of ``checkpoint_timestamps`` with its checkpoint (None if that row is gone)."""

    id: int
    checkpoint_id: int
    checkpoint: Checkpoint | None
    tsa_url: str
    token: bytes
    ca_pem: str | None
    gen_time: str
    tsa_name: str
    ledger_seq: int
    created_at: str

    def trusted_certs(self) -> list[bytes] | None:
        """The CA certificates stored with the token (DER), or None if none were given."""
        if self.ca_pem is None:
            return None
        return load_pem_certs(self.ca_pem.encode("ascii"), "the stored CA certificates")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "checkpoint": None if self.checkpoint is None else self.checkpoint.to_dict(),
            "tsa_url": self.tsa_url,
            "gen_time": self.gen_time,
            "tsa_name": self.tsa_name,
            "token_sha256": hashlib.sha256(self.token).hexdigest(),
            "ca_certificates": self.ca_pem is not None,
            "ledger_seq": self.ledger_seq,
            "created_at": self.created_at,
        }


def stored_timestamps(conn: Db) -> list[StoredTimestamp]:
    """Every stored token, oldest first."""
    rows = conn.execute(
        "SELECT t.id, t.checkpoint_id, c.id, c.origin, c.size, c.root, c.time, c.signature,"
        " t.tsa_url, t.token, t.ca_pem, t.gen_time, t.tsa_name, t.ledger_seq, t.created_at"
        " FROM checkpoint_timestamps t LEFT JOIN checkpoints c ON c.id = t.checkpoint_id"
        " ORDER BY t.id"
    )
    return [
        StoredTimestamp(
            int(r[0]),
            int(r[1]),
            None if r[2] is None else Checkpoint(*r[3:8]),
            str(r[8]),
            bytes(r[9]),
            r[10],
            str(r[11]),
            str(r[12]),
            int(r[13]),
            str(r[14]),
        )
        for r in rows
    ]


def timestamps_for(conn: Db, checkpoint: Checkpoint) -> list[StoredTimestamp]:
    """The stored tokens of one checkpoint (e.g. ``Ledger.latest_checkpoint()``)."""
    return [t for t in stored_timestamps(conn) if t.checkpoint == checkpoint]


def timestamp_checkpoint(
    ledger: Ledger,
    actor: str,
    tsa_url: str,
    *,
    ca_pem: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> StoredTimestamp:
    """Timestamp the latest checkpoint (signing a fresh one first if events are unsigned),
    store the token and record a ``checkpoint.timestamped`` event.

    Call inside one write transaction (``atomic``): on any error nothing is kept. ``ca_pem``
    (PEM CA certificates) is checked against the token and stored with it.
    """
    conn = ledger.conn
    if not conn.in_transaction:
        raise RuntimeError("timestamps must be stored inside a transaction")
    trusted = None if ca_pem is None else load_pem_certs(ca_pem)
    checkpoint = ledger.latest_checkpoint()
    if checkpoint is None or checkpoint.size < ledger.size():
        checkpoint = ledger.checkpoint()
    checkpoint_id = int(conn.execute("SELECT MAX(id) FROM checkpoints").fetchone()[0])
    token, info = request_token(tsa_url, checkpoint, timeout=timeout)
    check = verify_token(token, checkpoint, trusted)
    if not check.ok:
        raise TimestampError(f"the token from {tsa_url} does not verify: {check.reason}")
    token_sha256 = hashlib.sha256(token).hexdigest()
    event = ledger.append(
        actor,
        EVENT_ACTION,
        f"checkpoint:{checkpoint.size}",
        {
            "size": checkpoint.size,
            "root": checkpoint.root,
            "checkpoint_time": checkpoint.time,
            "tsa": tsa_url,
            "gen_time": info.gen_time,
            "tsa_name": info.tsa_name,
            "token_sha256": token_sha256,
        },
    )
    ca_text = None if trusted is None else "".join(_pem(der) for der in trusted)
    created_at = utc_now()
    cursor = conn.execute(
        "INSERT INTO checkpoint_timestamps (checkpoint_id, tsa_url, token, ca_pem, gen_time,"
        " tsa_name, ledger_seq, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            checkpoint_id,
            tsa_url,
            token,
            ca_text,
            info.gen_time,
            info.tsa_name,
            event["seq"],
            created_at,
        ),
    )
    stored_id = int(cursor.fetchone()[0])
    return StoredTimestamp(
        stored_id,
        checkpoint_id,
        checkpoint,
        tsa_url,
        token,
        ca_text,
        info.gen_time,
        info.tsa_name,
        int(event["seq"]),
        created_at,
    )
