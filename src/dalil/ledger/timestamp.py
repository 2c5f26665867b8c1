"""RFC 3161 trusted timestamps of signed checkpoints.

A timestamp authority (TSA) signs a token saying that a hash existed at a given time. The hash
Dalil sends is the SHA-256 of :func:`timestamped_bytes`: the checkpoint's signed text followed
by one more line, its signature as stored::

    dalil-checkpoint/1\\n<origin>\\n<size>\\n<root hex>\\n<time>\\n<signature base64>\\n

so a token proves that this tree head, signed by the vault key, existed at the TSA's time.
An offline verifier recomputes those bytes from the checkpoint alone (``openssl ts -verify
-data``). Tokens are DER ``ContentInfo`` values (CMS ``SignedData`` over a ``TSTInfo``), kept
verbatim in ``checkpoint_timestamps`` and recorded by a ``checkpoint.timestamped`` event.

The ASN.1 needed here is read and written by the small DER codec below (no extra dependency,
so a standalone verifier can copy this module); signatures are checked with ``cryptography``.
Requesting a token is the only network access in Dalil, and only to the URL the user gives.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from typing import IO, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

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


# -- a minimal DER codec -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Der:
    tag: int
    content: bytes
    raw: bytes  # the whole encoding: tag, length and content

    def children(self) -> list[_Der]:
        if not self.tag & 0x20:
            raise ValueError(f"tag 0x{self.tag:02x} is not a constructed value")
        items, pos = [], 0
        while pos < len(self.content):
            item, pos = _read(self.content, pos)
            items.append(item)
        return items


def _read(data: bytes, pos: int) -> tuple[_Der, int]:
    start = pos
    if pos + 2 > len(data):
        raise ValueError("truncated DER value")
    tag, length = data[pos], data[pos + 1]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte DER tags are not supported")
    pos += 2
    if length & 0x80:  # long form; 0x80 alone (BER indefinite length) is not DER
        count = length & 0x7F
        if not 0 < count <= 4 or pos + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise ValueError("truncated DER value")
    return _Der(tag, data[pos:end], data[start:end]), end


def _decode(data: bytes) -> _Der:
    node, end = _read(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes after the DER value")
    return node


def _expect(node: _Der, tag: int, what: str) -> _Der:
    if node.tag != tag:
        raise ValueError(f"{what}: expected DER tag 0x{tag:02x}, found 0x{node.tag:02x}")
    return node


def _at(items: list[_Der], index: int, what: str) -> _Der:
    if index >= len(items):
        raise ValueError(f"{what} is missing")
    return items[index]


def _integer(node: _Der, what: str) -> int:
    return int.from_bytes(_expect(node, 0x02, what).content, "big", signed=True)


def _oid(node: _Der, what: str) -> str:
    arcs, value = [], 0
    for byte in _expect(node, 0x06, what).content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise ValueError(f"{what}: empty object identifier")
    head = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [head, arcs[0] - 40 * head, *arcs[1:]])


def _octets(node: _Der, what: str) -> bytes:
    if node.tag == 0x24:  # a constructed (BER) OCTET STRING, as some TSAs send eContent
        return b"".join(_octets(part, what) for part in node.children())
    return _expect(node, 0x04, what).content


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _enc_integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _enc_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _generalized_time(node: _Der) -> tuple[str, datetime]:
    text = _expect(node, 0x18, "genTime").content.decode("ascii", "replace")
    digits, _, fraction = text.removesuffix("Z").partition(".")
    if not text.endswith("Z") or len(digits) != 14 or not digits.isdigit():
        raise ValueError(f"genTime {text!r} is not a UTC GeneralizedTime")
    when = datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    iso = when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"
    return iso, when


# -- requests and responses --------------------------------------------------------------------


def build_request(imprint: bytes, nonce: int) -> bytes:
    """A DER ``TimeStampReq``: version 1, SHA-256 ``imprint``, ``nonce``, certReq TRUE."""
    algorithm = _tlv(0x30, _enc_oid(OID_SHA256) + b"\x05\x00")
    message_imprint = _tlv(0x30, algorithm + _tlv(0x04, imprint))
    return _tlv(0x30, _enc_integer(1) + message_imprint + _enc_integer(nonce) + b"\x01\x01\xff")


def parse_response(data: bytes, url: str) -> bytes:
    """The token (DER ``ContentInfo``) of a ``TimeStampResp``; ``TimestampError`` unless the
    TSA granted the request."""
    try:
        parts = _expect(_decode(data), 0x30, "TimeStampResp").children()
        info = _expect(_at(parts, 0, "PKIStatusInfo"), 0x30, "PKIStatusInfo").children()
        status = _integer(_at(info, 0, "status"), "status")
        text = "; ".join(
            s.content.decode("utf-8", "replace")
            for s in (info[1].children() if len(info) > 1 and info[1].tag == 0x30 else [])
        )
    except ValueError as exc:
        raise TimestampError(
            f"the TSA at {url} did not answer with an RFC 3161 timestamp response ({exc})"
        ) from exc
    if status not in (0, 1):
        said = _STATUS.get(status, f"status {status}") + (f": {text}" if text else "")
        raise TimestampError(f"the TSA at {url} refused the request ({said})")
    if len(parts) < 2:
        raise TimestampError(f"the TSA at {url} granted the request but sent no token")
    return parts[1].raw


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
    tst_info: bytes
    digest_oid: str
    signed_attrs: _Der
    signature_oid: str
    signature: bytes
    signer: x509.Certificate
    certificates: list[x509.Certificate]


def read_token(token: bytes) -> TokenInfo:
    """Parse a token; ``ValueError`` if it is not a well-formed RFC 3161 token."""
    return _parse_token(token).info


def _parse_token(token: bytes) -> _Token:
    content_info = _expect(_decode(token), 0x30, "ContentInfo").children()
    if _oid(_at(content_info, 0, "contentType"), "contentType") != OID_SIGNED_DATA:
        raise ValueError("the token is not CMS SignedData")
    wrapper = _expect(_at(content_info, 1, "content"), 0xA0, "content").children()
    signed = _expect(_at(wrapper, 0, "SignedData"), 0x30, "SignedData").children()
    encap = _expect(_at(signed, 2, "encapContentInfo"), 0x30, "encapContentInfo").children()
    if _oid(_at(encap, 0, "eContentType"), "eContentType") != OID_TST_INFO:
        raise ValueError("the signed content is not a TSTInfo")
    econtent = _expect(_at(encap, 1, "eContent"), 0xA0, "eContent").children()
    tst_info = _octets(_at(econtent, 0, "eContent"), "eContent")
    certificates = [
        x509.load_der_x509_certificate(c.raw)
        for node in signed[3:]
        if node.tag == 0xA0
        for c in node.children()
        if c.tag == 0x30
    ]
    signer_infos = _expect(signed[-1], 0x31, "signerInfos").children()
    if len(signer_infos) != 1:
        raise ValueError(f"a token has one signer, this one has {len(signer_infos)}")
    si = _expect(signer_infos[0], 0x30, "SignerInfo").children()
    rest = si[3:]
    if not rest or rest[0].tag != 0xA0:
        raise ValueError("the signer info has no signed attributes")
    signed_attrs = rest[0]
    signature_alg = _expect(_at(rest, 1, "signatureAlgorithm"), 0x30, "signatureAlgorithm")
    signer = _find_signer(_at(si, 1, "signer identifier"), certificates)
    tst = _expect(_decode(tst_info), 0x30, "TSTInfo").children()
    imprint = _expect(_at(tst, 2, "messageImprint"), 0x30, "messageImprint").children()
    iso, gen = _generalized_time(_at(tst, 4, "genTime"))
    nonce = next((_integer(n, "nonce") for n in tst[5:] if n.tag == 0x02), None)
    info = TokenInfo(
        gen_time=iso,
        policy=_oid(_at(tst, 1, "policy"), "policy"),
        serial=_integer(_at(tst, 3, "serialNumber"), "serialNumber"),
        nonce=nonce,
        imprint_algorithm=_algorithm(_at(imprint, 0, "hashAlgorithm")),
        imprint=_octets(_at(imprint, 1, "hashedMessage"), "hashedMessage"),
        tsa_name=signer.subject.rfc4514_string(),
        certificate=signer.public_bytes(serialization.Encoding.DER),
    )
    return _Token(
        info=info,
        gen=gen,
        tst_info=tst_info,
        digest_oid=_algorithm(_at(si, 2, "digestAlgorithm")),
        signed_attrs=signed_attrs,
        signature_oid=_algorithm(signature_alg),
        signature=_octets(_at(rest, 2, "signature"), "signature"),
        signer=signer,
        certificates=certificates,
    )


def _algorithm(node: _Der) -> str:
    return _oid(_at(_expect(node, 0x30, "AlgorithmIdentifier").children(), 0, "algorithm"), "alg")


def _find_signer(sid: _Der, certificates: list[x509.Certificate]) -> x509.Certificate:
    for cert in certificates:
        if sid.tag == 0x30:  # IssuerAndSerialNumber
            issuer, serial = _expect(sid, 0x30, "sid").children()[:2]
            tbs = _decode(cert.tbs_certificate_bytes).children()
            offset = 1 if tbs[0].tag == 0xA0 else 0  # explicit [0] version
            if tbs[offset + 2].raw == issuer.raw and cert.serial_number == _integer(serial, "sn"):
                return cert
        elif sid.tag == 0x80:  # [0] SubjectKeyIdentifier
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ski.value.digest == sid.content:
                return cert
    raise ValueError("the token does not include the TSA's signing certificate")


def _attributes(signed_attrs: _Der) -> dict[str, list[_Der]]:
    found: dict[str, list[_Der]] = {}
    for attribute in signed_attrs.children():
        parts = _expect(attribute, 0x30, "Attribute").children()
        oid = _oid(_at(parts, 0, "attrType"), "attrType")
        if oid in found:
            raise ValueError(f"signed attribute {oid} appears twice")
        found[oid] = _expect(_at(parts, 1, "attrValues"), 0x31, "attrValues").children()
    return found


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
    except (ValueError, IndexError) as exc:
        return TokenCheck(
            False, f"the token is not a well-formed RFC 3161 token: {exc}", None, None
        )
    try:
        trusted = [x509.load_der_x509_certificate(c) for c in trusted_certs or []]
    except ValueError as exc:
        return TokenCheck(False, f"a trusted CA certificate is unreadable: {exc}", None, None)
    try:
        reason = _check(parsed, checkpoint, trusted if trusted_certs is not None else None)
    except (ValueError, IndexError) as exc:
        reason = f"the token is not a well-formed RFC 3161 token: {exc}"
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
    if len(content_type) != 1 or _oid(content_type[0], "contentType") != OID_TST_INFO:
        return "the signed contentType attribute is not TSTInfo"
    message_digest = attributes.get(OID_MESSAGE_DIGEST, [])
    if len(message_digest) != 1 or _octets(message_digest[0], "messageDigest") != _digest(
        digest, token.tst_info
    ):
        return "the messageDigest attribute is not the hash of the TSTInfo"
    ess = _ess_mismatch(attributes, token.signer)
    if ess:
        return ess
    signed_bytes = b"\x31" + token.signed_attrs.raw[1:]  # signed as an explicit SET OF
    try:
        _verify_signature(token.signer, digest, token.signature_oid, token.signature, signed_bytes)
    except InvalidSignature:
        return "the TSA's signature does not verify"
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return f"the TSA's signature cannot be checked: {exc}"
    return _certificate_problem(token, trusted)


def _digest(algorithm: type[hashes.HashAlgorithm], data: bytes) -> bytes:
    hasher = hashes.Hash(algorithm())
    hasher.update(data)
    return hasher.finalize()


def _ess_mismatch(attributes: dict[str, list[_Der]], signer: x509.Certificate) -> str:
    """RFC 3161/5035: the signed attributes must name the signing certificate by hash."""
    der = signer.public_bytes(serialization.Encoding.DER)
    if OID_SIGNING_CERT_V2 in attributes:
        values = attributes[OID_SIGNING_CERT_V2]
        ids = _expect(values[0], 0x30, "SigningCertificateV2").children()[0].children()
        first = _expect(ids[0], 0x30, "ESSCertIDv2").children()
        algorithm = _algorithm(first[0]) if first[0].tag == 0x30 else OID_SHA256
        cert_hash = first[1] if first[0].tag == 0x30 else first[0]
        hash_class = _HASHES.get(algorithm)
        if hash_class is None:
            return f"unsupported ESS certificate hash algorithm {algorithm}"
    elif OID_SIGNING_CERT in attributes:
        values = attributes[OID_SIGNING_CERT]
        ids = _expect(values[0], 0x30, "SigningCertificate").children()[0].children()
        cert_hash = _expect(ids[0], 0x30, "ESSCertID").children()[0]
        hash_class = hashes.SHA1
    else:
        return "the token does not name its signing certificate (no ESS attribute)"
    if _octets(cert_hash, "certHash") != _digest(hash_class, der):
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
    except ValueError as exc:
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
    except (ValueError, IndexError) as exc:
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


def stored_timestamps(conn: sqlite3.Connection) -> list[StoredTimestamp]:
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


def timestamps_for(conn: sqlite3.Connection, checkpoint: Checkpoint) -> list[StoredTimestamp]:
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
        " tsa_name, ledger_seq, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
    return StoredTimestamp(
        int(cursor.lastrowid or 0),
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
