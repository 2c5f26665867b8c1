"""RFC 3161 tokens from a second encoder: built here with asn1crypto and ``cryptography``.

``test_timestamp.py`` checks tokens that ``openssl ts -reply`` signs; these tests sign their
own, with what OpenSSL's TSA does not send: an Ed25519 or ECDSA P-384 key, a SHA-512
signature digest and SigningCertificateV2 hash, a subject-key-identifier signer, signed
attributes out of DER order, a fraction of a second. Where ``openssl`` is installed it
accepts the same tokens, so they are not merely what our reader expects.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from dalil.ledger import timestamp as ts
from dalil.ledger.log import Checkpoint

CHECKPOINT = Checkpoint(
    "dalil-vault/6f1c2b9e", 42, "ab" * 32, "2026-01-02T03:00:00.000000Z", "c2lnbmF0dXJl"
)
GEN_TIME = "20260102030405.25Z"
POLICY = "1.3.6.1.4.1.99999.7"
Key = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Second encoder"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _certificate(
    key: Key, subject: str, issuer_key: Key, issuer: str, *, ca: bool, serial: int
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(datetime(2025, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2030, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    digest = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, digest)


@dataclass(frozen=True)
class Pki:
    ca: x509.Certificate
    ed25519: tuple[ed25519.Ed25519PrivateKey, x509.Certificate]
    p384: tuple[ec.EllipticCurvePrivateKey, x509.Certificate]
    rsa: tuple[rsa.RSAPrivateKey, x509.Certificate]

    def trusted(self) -> list[bytes]:
        return [self.ca.public_bytes(serialization.Encoding.DER)]


@cache
def pki() -> Pki:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(ca_key, "Root", ca_key, "Root", ca=True, serial=1)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    p384_key = ec.generate_private_key(ec.SECP384R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Pki(
        ca,
        (ed_key, _certificate(ed_key, "TSA Ed25519", ca_key, "Root", ca=False, serial=2)),
        (p384_key, _certificate(p384_key, "TSA P-384", ca_key, "Root", ca=False, serial=3)),
        (rsa_key, _certificate(rsa_key, "TSA RSA", ca_key, "Root", ca=False, serial=4)),
    )


@dataclass(frozen=True)
class Recipe:
    """How to sign a token; each test changes one thing."""

    tsa: str = "ed25519"
    digest: str = "sha512"
    sid: str = "subject_key_identifier"
    ess: str = "v2-sha512"  # "v2-sha512", "v2-default" (SHA-256), "v1" (SHA-1) or "none"
    ess_names: str = "signer"  # or "ca": the attribute names another certificate
    order: tuple[str, ...] = ("ess", "message_digest", "content_type")  # not DER order
    duplicate_content_type: bool = False
    pss: bool = False


HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def _attribute(kind: str, value: Any) -> bytes:
    return bytes(cms.CMSAttribute({"type": kind, "values": [value]}).dump())


def _ess(recipe: Recipe, cert_der: bytes) -> bytes:
    if recipe.ess == "v1":
        cert_id = {"cert_hash": hashlib.sha1(cert_der).digest()}
        return _attribute("signing_certificate", {"certs": [cert_id]})
    if recipe.ess == "v2-default":  # hashAlgorithm left out: DEFAULT sha256
        cert_id_v2 = {"cert_hash": hashlib.sha256(cert_der).digest()}
    else:
        cert_id_v2 = {
            "hash_algorithm": {"algorithm": "sha512"},
            "cert_hash": hashlib.sha512(cert_der).digest(),
        }
    return _attribute("signing_certificate_v2", {"certs": [cert_id_v2]})


def _sign(key: Key, recipe: Recipe, data: bytes) -> bytes:
    digest = HASHES[recipe.digest]()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(digest))
    if recipe.pss:
        return key.sign(data, padding.PSS(padding.MGF1(digest), 32), digest)
    return key.sign(data, padding.PKCS1v15(), digest)


def _signature_algorithm(key: Key, recipe: Recipe) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"{recipe.digest}_ecdsa"
    return "rsassa_pss" if recipe.pss else f"{recipe.digest}_rsa"


def make_token(recipe: Recipe = Recipe(), imprint: bytes | None = None) -> bytes:
    """A DER ContentInfo over a TSTInfo for ``CHECKPOINT``, signed as ``recipe`` says."""
    chain = pki()
    key, cert = getattr(chain, recipe.tsa)
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    tst_info = tsp.TSTInfo(
        {
            "version": "v1",
            "policy": POLICY,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": imprint or ts.checkpoint_imprint(CHECKPOINT),
            },
            "serial_number": 77,
            "gen_time": core.GeneralizedTime.load(
                bytes([0x18, len(GEN_TIME)]) + GEN_TIME.encode("ascii")
            ),
            "accuracy": {"seconds": 1},
            "nonce": 123456789,
        }
    ).dump()
    named = chain.ca if recipe.ess_names == "ca" else cert
    attributes = {
        "content_type": _attribute("content_type", "tst_info"),
        "message_digest": _attribute(
            "message_digest", hashlib.new(recipe.digest, tst_info).digest()
        ),
        "ess": b""
        if recipe.ess == "none"
        else _ess(recipe, named.public_bytes(serialization.Encoding.DER)),
    }
    contents = b"".join(attributes[name] for name in recipe.order)
    if recipe.duplicate_content_type:
        contents += attributes["content_type"]
    signed_attrs = cms.CMSAttributes.load(cms.CMSAttributes(contents=contents).dump())
    asn1_cert = asn1_x509.Certificate.load(cert_der)
    sid = (
        cms.SignerIdentifier(
            name="subject_key_identifier",
            value=cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest,
        )
        if recipe.sid == "subject_key_identifier"
        else cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={"issuer": asn1_cert.issuer, "serial_number": asn1_cert.serial_number},
        )
    )
    signer_info = {
        "version": "v3" if recipe.sid == "subject_key_identifier" else "v1",
        "sid": sid,
        "digest_algorithm": {"algorithm": recipe.digest},
        "signed_attrs": signed_attrs,
        "signature_algorithm": {"algorithm": _signature_algorithm(key, recipe)},
        "signature": _sign(key, recipe, cms.CMSAttributes(contents=contents).dump()),
    }
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": recipe.digest}],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": core.ParsableOctetString(tst_info),
            },
            "certificates": [
                asn1_cert,
                asn1_x509.Certificate.load(chain.ca.public_bytes(serialization.Encoding.DER)),
            ],
            "signer_infos": [signer_info],
        }
    )
    token = bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())
    assert contents in token and tst_info in token  # signed bytes kept as built
    return token


def test_a_token_from_another_encoder_verifies() -> None:
    recipe = Recipe()
    token = make_token(recipe)
    # The signed attributes are sent out of DER order (a SET OF sorts its encodings): the
    # signature covers them as sent, so a reader that re-encoded them would reject the token.
    signed_attrs = cms.ContentInfo.load(token)["content"]["signer_infos"][0]["signed_attrs"]
    encodings = [attribute.dump() for attribute in signed_attrs]
    assert encodings != sorted(encodings)

    check = ts.verify_token(token, CHECKPOINT, pki().trusted())
    assert check.ok, check.reason
    assert (check.gen_time, check.tsa_name) == (
        "2026-01-02T03:04:05.25Z",
        "CN=TSA Ed25519,O=Second encoder",
    )
    assert ts.verify_token(token, CHECKPOINT).ok  # without trust anchors too
    info = ts.read_token(token)
    assert (info.policy, info.serial, info.nonce) == (POLICY, 77, 123456789)
    assert info.imprint == ts.checkpoint_imprint(CHECKPOINT)
    assert info.certificate == pki().ed25519[1].public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    "recipe",
    [
        Recipe(tsa="p384", digest="sha384", sid="issuer_and_serial_number", ess="v1"),
        Recipe(tsa="p384", digest="sha512", ess="v2-default"),
        Recipe(tsa="rsa", digest="sha256", order=("content_type", "message_digest", "ess")),
    ],
    ids=["ecdsa-p384-ess-v1", "ecdsa-ess-v2-default-hash", "rsa-pkcs1"],
)
def test_other_keys_signers_and_ess_versions_verify(recipe: Recipe) -> None:
    check = ts.verify_token(make_token(recipe), CHECKPOINT, pki().trusted())
    assert check.ok, check.reason


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
@pytest.mark.parametrize(
    "recipe",
    [
        Recipe(tsa="rsa", sid="issuer_and_serial_number"),
        Recipe(tsa="p384", sid="issuer_and_serial_number", ess="v1"),
    ],
    ids=["rsa", "p384"],
)
def test_openssl_accepts_the_second_encoders_tokens(recipe: Recipe, tmp_path: Path) -> None:
    """``openssl ts`` reads tokens with its PKCS#7 code: a signer named by issuer and serial,
    no Ed25519 (OpenSSL 3.0); it too checks the signed attributes in the order sent."""
    (tmp_path / "token.der").write_bytes(make_token(recipe))
    (tmp_path / "checkpoint.txt").write_bytes(ts.timestamped_bytes(CHECKPOINT))
    (tmp_path / "ca.pem").write_bytes(pki().ca.public_bytes(serialization.Encoding.PEM))
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-in", "token.der", "-token_in",
         "-data", "checkpoint.txt", "-CAfile", "ca.pem"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr


def _flip(token: bytes, inside: bytes, offset: int) -> bytes:
    """``token`` with one byte flipped, ``offset`` bytes into the first copy of ``inside``."""
    at = token.index(inside) + offset
    return token[:at] + bytes([token[at] ^ 0x01]) + token[at + 1 :]


def _tst_info(token: bytes) -> bytes:
    return bytes(cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"])


def test_one_byte_changed_anywhere_signed_fails() -> None:
    token = make_token()
    tst_info = _tst_info(token)
    for offset in range(len(tst_info)):
        check = ts.verify_token(_flip(token, tst_info, offset), CHECKPOINT, pki().trusted())
        assert not check.ok, offset
    serial = ts.verify_token(
        _flip(token, tst_info, tst_info.index(b"\x02\x01\x4d") + 2), CHECKPOINT
    )
    assert serial.reason == "the messageDigest attribute is not the hash of the TSTInfo"
    signature = ts.verify_token(token[:-10] + bytes([token[-10] ^ 1]) + token[-9:], CHECKPOINT)
    assert signature.reason == "the TSA's signature does not verify"


def test_signed_attributes_resorted_no_longer_verify() -> None:
    """The signature is checked over the attributes as sent, not over a re-encoding."""
    token = make_token()
    parsed = cms.ContentInfo.load(token)
    signed_attrs = parsed["content"]["signer_infos"][0]["signed_attrs"]
    resorted = b"".join(sorted(attribute.dump() for attribute in signed_attrs))
    assert len(resorted) == len(signed_attrs.contents)
    changed = token.replace(signed_attrs.contents, resorted)
    check = ts.verify_token(changed, CHECKPOINT)
    assert check.reason == "the TSA's signature does not verify"


@pytest.mark.parametrize(
    ("recipe", "says"),
    [
        (Recipe(ess="none"), "does not name its signing certificate (no ESS attribute)"),
        (Recipe(ess_names="ca"), "the ESS signing-certificate attribute names another"),
        (Recipe(duplicate_content_type=True), "signed attribute 1.2.840.113549.1.9.3 appears"),
        (Recipe(order=("ess", "message_digest")), "contentType attribute is not TSTInfo"),
        (Recipe(order=("ess", "content_type")), "messageDigest attribute is not the hash"),
        (Recipe(tsa="rsa", digest="sha256", pss=True), "RSASSA-PSS signatures are not"),
    ],
    ids=["no-ess", "ess-names-ca", "duplicate", "no-content-type", "no-digest", "pss"],
)
def test_what_a_token_must_carry(recipe: Recipe, says: str) -> None:
    check = ts.verify_token(make_token(recipe), CHECKPOINT, pki().trusted())
    assert not check.ok
    assert says in check.reason


def test_a_token_over_another_checkpoint_fails() -> None:
    token = make_token(imprint=hashlib.sha256(b"something else").digest())
    check = ts.verify_token(token, CHECKPOINT)
    assert check.reason == "the token's message imprint is not the hash of this checkpoint"
    other = replace(CHECKPOINT, size=43)
    assert not ts.verify_token(make_token(), other).ok


@cache
def _fuzz_token() -> tuple[bytes, frozenset[int]]:
    """A token, and the offsets of the bytes that its signature and ESS hash cover."""
    token = make_token(Recipe(tsa="p384", digest="sha384", ess="v1"))
    signer = pki().p384[1].public_bytes(serialization.Encoding.DER)
    signer_info = cms.ContentInfo.load(token)["content"]["signer_infos"][0]
    covered = (
        _tst_info(token),
        signer_info["signed_attrs"].contents,
        signer_info["signature"].native,
        signer,
    )
    return token, frozenset(
        at for part in covered for at in range(token.index(part), token.index(part) + len(part))
    )


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_token_is_a_verdict_never_a_crash(data: st.DataObject) -> None:
    original, covered = _fuzz_token()
    token = bytearray(original)
    for _ in range(data.draw(st.integers(1, 3))):
        token[data.draw(st.integers(0, len(token) - 1))] = data.draw(st.integers(0, 255))
    damaged = bytes(token[: data.draw(st.integers(1, len(token)))])
    check = ts.verify_token(damaged, CHECKPOINT, pki().trusted())  # never raises
    changed = {at for at, byte in enumerate(damaged) if byte != original[at]}
    if len(damaged) < len(original) or changed & covered:
        assert not check.ok
    with contextlib.suppress(ValueError):
        ts.read_token(damaged)


def _response(status: int, text: list[str] | None = None) -> bytes:
    """A TimeStampResp without a token."""
    info: dict[str, Any] = {"status": status}
    if text is not None:
        info["status_string"] = text
    head = tsp.PKIStatusInfo(info).dump()
    return bytes([0x30, len(head)]) + head


def test_responses() -> None:
    url = "http://tsa.invalid/"
    refused = _response(2, ["unknown policy", "try later"])
    with pytest.raises(ts.TimestampError, match=r"refused the request \(rejected: unknown"):
        ts.parse_response(refused, url)
    with pytest.raises(ts.TimestampError, match=r"refused the request \(status 5\)"):
        ts.parse_response(_response(5), url)
    with pytest.raises(ts.TimestampError, match="granted the request but sent no token"):
        ts.parse_response(_response(0), url)
    token = make_token()
    granted = tsp.PKIStatusInfo({"status": 0}).dump() + token
    response = b"\x30\x82" + len(granted).to_bytes(2, "big") + granted
    assert ts.parse_response(response, url) == token  # the token's bytes, as sent
    with pytest.raises(ts.TimestampError, match="did not answer with an RFC 3161"):
        ts.parse_response(response + b"\x00", url)  # trailing bytes
    with pytest.raises(ts.TimestampError, match="did not answer with an RFC 3161"):
        ts.parse_response(token, url)  # a token alone is no response


def test_the_request_encoding_is_unchanged() -> None:
    """The bytes the hand-written encoder sent before asn1crypto wrote them."""
    assert ts.build_request(bytes(range(32)), 2**62 + 1).hex() == (
        "30430201013031300d060960864801650304020105000420000102030405060708090a0b0c0d0e0f"
        "101112131415161718191a1b1c1d1e1f020840000000000000010101ff"
    )
