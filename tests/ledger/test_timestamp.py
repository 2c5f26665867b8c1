"""RFC 3161 timestamps of checkpoints, against a real local TSA (``openssl ts -reply``).

The test PKI (a root CA, an RSA and an ECDSA TSA certificate, and an unrelated CA) is made
with the ``openssl`` CLI; the TSA is a tiny HTTP server on 127.0.0.1. No other network.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dalil.catalog import atomic
from dalil.ledger import timestamp as ts
from dalil.vault import Vault
from dalil.verify import TIMESTAMP_INVALID, verify
from tests.conftest import PASSWORD, catalogue, copy_vault, run_dalil

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

TSA_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
"""

TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {dir}/serial-{name}
crypto_device = builtin
signer_cert = {dir}/tsa-{name}.crt
signer_key = {dir}/tsa-{name}.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
certs = {dir}/ca.crt
"""

KEYS = {
    "rsa": ["-newkey", "rsa:2048"],
    "ec": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
}


def openssl(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        ["openssl", *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def make_ca(folder: Path, name: str) -> None:
    openssl(
        "req", "-x509", *KEYS["ec"], "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt",
        "-subj", f"/CN=Dalil test {name}", "-days", "2",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    make_ca(folder, "ca")
    make_ca(folder, "other-ca")
    (folder / "tsa.ext").write_text(TSA_EXTENSIONS)
    for serial, name in enumerate(KEYS, 2):
        openssl(
            "req", "-new", *KEYS[name], "-nodes", "-keyout", f"tsa-{name}.key",
            "-out", f"tsa-{name}.csr", "-subj", f"/O=Dalil tests/CN=Test TSA {name}",
            cwd=folder,
        )  # fmt: skip
        openssl(
            "x509", "-req", "-in", f"tsa-{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-set_serial", str(serial), "-days", "1", "-extfile", "tsa.ext",
            "-out", f"tsa-{name}.crt",
            cwd=folder,
        )  # fmt: skip
        (folder / f"serial-{name}").write_text("01\n")
        (folder / f"ts-{name}.cnf").write_text(TSA_CONFIG.format(dir=folder, name=name))
    return folder


class _TSAHandler(BaseHTTPRequestHandler):
    pki: Path

    def do_POST(self) -> None:
        query = self.rfile.read(int(self.headers["Content-Length"]))
        name = self.path.strip("/")
        if name == "error":
            self.send_error(500, "TSA on fire")
            return
        if name == "redirect":
            self.send_response(302)
            self.send_header("Location", "/rsa")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if name == "garbage":
            self._answer(b"<html>not a timestamp</html>", "text/html")
            return
        work = self.pki / f"work-{name}"
        work.mkdir(exist_ok=True)
        (work / "query.tsq").write_bytes(query)
        openssl(
            "ts", "-reply", "-config", self.pki / f"ts-{name}.cnf",
            "-queryfile", "query.tsq", "-out", "reply.tsr",
            cwd=work,
        )  # fmt: skip
        self._answer((work / "reply.tsr").read_bytes(), "application/timestamp-reply")

    def _answer(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tsa(pki: Path) -> Iterator[str]:
    """The base URL of a local TSA: ``/rsa`` and ``/ec`` sign; ``/garbage``, ``/error`` and
    ``/redirect`` misbehave."""
    handler = type("Handler", (_TSAHandler,), {"pki": pki})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def stamp(
    vault: Vault, url: str, ca: Path | None = None, *, sign: bool = True
) -> ts.StoredTimestamp:
    """Timestamp as ``dalil ledger timestamp`` does (which signs its own event afterwards)."""
    conn = vault.connect()
    try:
        with atomic(conn):
            pem = None if ca is None else ca.read_bytes()
            done = ts.timestamp_checkpoint(vault.ledger(conn), "tester", url, ca_pem=pem)
        if sign:
            vault.ledger(conn).sign_tail()
        return done
    finally:
        conn.close()


def stored(vault: Vault) -> list[ts.StoredTimestamp]:
    conn = vault.connect(readonly=True)
    try:
        return ts.stored_timestamps(conn)
    finally:
        conn.close()


def counts(vault: Vault) -> tuple[int, int, int]:
    conn = vault.connect(readonly=True)
    try:
        return tuple(  # type: ignore[return-value]
            conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("checkpoint_timestamps", "ledger", "checkpoints")
        )
    finally:
        conn.close()


def test_cli_timestamp_verifies_with_dalil_and_openssl(
    vault: Vault, tsa: str, pki: Path, tmp_path: Path
) -> None:
    done = run_dalil(
        "ledger", "timestamp", "--tsa", f"{tsa}/rsa", "--ca-file", pki / "ca.crt",
        "--vault", vault.root, "--as", "tester", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["checkpoint"]["size"] == 1  # the checkpoint Vault.init signed
    assert answer["tsa_name"] == "CN=Test TSA rsa,O=Dalil tests"
    assert answer["ca_certificates"] is True

    [token] = stored(vault)
    assert token.gen_time == answer["gen_time"]
    assert token.checkpoint is not None
    conn = vault.connect(readonly=True)
    [event] = [
        e for e in vault.ledger(conn, signing=False).events() if e["action"] == ts.EVENT_ACTION
    ]
    conn.close()
    assert event["actor"] == "tester"
    assert event["details"]["token_sha256"] == answer["token_sha256"]

    checked = run_dalil("verify", "--vault", vault.root, "--json")
    assert checked.returncode == 0, checked.stdout

    # The same token, checked by OpenSSL from the documented bytes alone.
    (tmp_path / "token.der").write_bytes(token.token)
    (tmp_path / "checkpoint.txt").write_bytes(ts.timestamped_bytes(token.checkpoint))
    out = openssl(
        "ts", "-verify", "-in", "token.der", "-token_in", "-data", "checkpoint.txt",
        "-CAfile", pki / "ca.crt",
        cwd=tmp_path,
    )  # fmt: skip
    assert "Verification: OK" in out
    out = openssl(
        "ts", "-verify", "-in", "token.der", "-token_in",
        "-digest", ts.checkpoint_imprint(token.checkpoint).hex(), "-CAfile", pki / "ca.crt",
        cwd=tmp_path,
    )  # fmt: skip
    assert "Verification: OK" in out

    assert ts.verify_token(token.token, token.checkpoint, token.trusted_certs()).ok
    other = ts.load_pem_certs((pki / "other-ca.crt").read_bytes())
    wrong_ca = ts.verify_token(token.token, token.checkpoint, other)
    assert not wrong_ca.ok
    assert "not issued by any of the trusted" in wrong_ca.reason


def test_ecdsa_tsa_and_a_fresh_checkpoint_for_unsigned_events(
    vault: Vault, tsa: str, pki: Path
) -> None:
    first = stamp(vault, f"{tsa}/ec", pki / "ca.crt", sign=False)
    assert first.tsa_name == "CN=Test TSA ec,O=Dalil tests"
    # The first timestamp's own event is not yet signed: the second signs a fresh checkpoint.
    second = stamp(vault, f"{tsa}/ec")
    assert first.checkpoint is not None and second.checkpoint is not None
    assert (first.checkpoint.size, second.checkpoint.size) == (1, 2)
    conn = vault.connect(readonly=True)
    assert ts.timestamps_for(conn, second.checkpoint) == [second]
    conn.close()
    assert ts.verify_token(second.token, second.checkpoint).ok
    assert not ts.verify_token(second.token, first.checkpoint).ok
    report = verify(vault, jobs=1)
    assert report.ok, report.problems


@pytest.fixture(scope="module")
def stamped(tmp_path_factory: pytest.TempPathFactory, tsa: str, pki: Path) -> Path:
    vault = Vault.init(tmp_path_factory.mktemp("stamped") / "vault", "tester", PASSWORD)
    stamp(vault, f"{tsa}/rsa", pki / "ca.crt")
    return vault.root


def _flip_token_byte(db: sqlite3.Connection, pki: Path) -> None:
    token = bytearray(db.execute("SELECT token FROM checkpoint_timestamps").fetchone()[0])
    token[-40] ^= 0x01  # inside the signature
    db.execute("UPDATE checkpoint_timestamps SET token = ?", (bytes(token),))


def _edit_checkpoint_time(db: sqlite3.Connection, pki: Path) -> None:
    db.execute("UPDATE checkpoints SET time = '2001-01-01T00:00:00.000000Z'")


def _swap_stored_ca(db: sqlite3.Connection, pki: Path) -> None:
    db.execute("UPDATE checkpoint_timestamps SET ca_pem = ?", ((pki / "other-ca.crt").read_text(),))


def _delete_token(db: sqlite3.Connection, pki: Path) -> None:
    db.execute("DELETE FROM checkpoint_timestamps")


def _point_at_a_missing_checkpoint(db: sqlite3.Connection, pki: Path) -> None:
    db.execute("UPDATE checkpoint_timestamps SET checkpoint_id = 999")


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (_flip_token_byte, "signature does not verify"),
        (_edit_checkpoint_time, "imprint is not the hash of this checkpoint"),
        (_swap_stored_ca, "not issued by any of the trusted"),
        (_delete_token, "recorded by ledger event 1 is gone"),
        (_point_at_a_missing_checkpoint, "its checkpoint 999 is gone"),
    ],
)
def test_tampering_is_reported(
    stamped: Path,
    tmp_path: Path,
    pki: Path,
    tamper: Callable[[sqlite3.Connection, Path], None],
    says: str,
) -> None:
    copy_vault(stamped, tmp_path / "vault")
    vault = Vault.open(tmp_path / "vault")
    db = catalogue(vault, "ledger", isolation_level=None)
    tamper(db, pki)
    db.close()
    problems = [p for p in verify(vault, jobs=1).problems if p.kind == TIMESTAMP_INVALID]
    assert len(problems) == 1, problems
    assert says in problems[0].detail


def test_dalil_verify_names_a_tampered_token(stamped: Path, tmp_path: Path, pki: Path) -> None:
    copy_vault(stamped, tmp_path / "vault")
    db = catalogue(tmp_path / "vault", "ledger", None)
    _flip_token_byte(db, pki)
    db.close()
    for command in (["verify"], ["ledger", "verify"]):
        done = run_dalil(*command, "--vault", tmp_path / "vault", "--json")
        assert done.returncode == 1
        kinds = [p["kind"] for p in json.loads(done.stdout)["problems"]]
        assert kinds == [TIMESTAMP_INVALID]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/garbage", "did not answer with an RFC 3161 timestamp response"),
        ("/error", "answered HTTP 500 TSA on fire"),
        ("/redirect", "answered HTTP 302 Found"),  # only the URL the user gave
        (None, "could not reach the TSA at http://127.0.0.1:"),
    ],
)
def test_tsa_failures_are_clear_and_store_nothing(
    vault: Vault, tsa: str, path: str | None, says: str
) -> None:
    before = counts(vault)
    url = f"http://127.0.0.1:{_free_port()}/" if path is None else tsa + path
    done = run_dalil("ledger", "timestamp", "--tsa", url, "--vault", vault.root)
    assert done.returncode == 2, done.stderr
    message = " ".join(done.stderr.split())
    assert says in message and url in message
    assert counts(vault) == before


def test_a_token_that_fails_the_given_ca_is_not_stored(vault: Vault, tsa: str, pki: Path) -> None:
    before = counts(vault)
    with pytest.raises(ts.TimestampError, match="not issued by any of the trusted"):
        stamp(vault, f"{tsa}/rsa", pki / "other-ca.crt")
    with pytest.raises(ts.TimestampError, match="must start with http"):
        stamp(vault, "file:///etc/passwd")
    assert counts(vault) == before


def test_a_vault_from_an_earlier_release_can_be_timestamped(tmp_path: Path, tsa: str) -> None:
    with tarfile.open(Path(__file__).resolve().parents[1] / "data" / "vault-0006.tar.gz") as tar:
        tar.extractall(tmp_path, filter="tar")  # keeps the objects read-only
    vault = Vault.open(tmp_path / "vault")
    conn = vault.connect()
    try:
        with atomic(conn):
            ts.timestamp_checkpoint(vault.ledger(conn), "amina", f"{tsa}/ec")
        vault.ledger(conn).sign_tail()
    finally:
        conn.close()
    assert verify(vault, jobs=1).ok


@settings(max_examples=30, deadline=None)  # one openssl process an example
@given(st.binary(min_size=32, max_size=32), st.integers(min_value=1, max_value=2**63 - 1))
def test_openssl_reads_the_request(imprint: bytes, nonce: int) -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        (folder / "query.tsq").write_bytes(ts.build_request(imprint, nonce))
        text = openssl("ts", "-query", "-in", "query.tsq", "-text", cwd=folder)
    finally:
        shutil.rmtree(folder)
    rows = re.findall(r"^ +[0-9a-f]{4} - ([0-9a-f -]{47})", text, re.MULTILINE)
    assert bytes.fromhex("".join(rows).replace("-", " ")) == imprint
    assert "Hash Algorithm: sha256" in text and "Certificate required: yes" in text
    found = re.search(r"^Nonce: 0x([0-9A-Fa-f]+)$", text, re.MULTILINE)
    assert found is not None and int(found[1], 16) == nonce


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@settings(deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_a_damaged_openssl_token_is_a_verdict(stamped: Path, at: int, flip: int) -> None:
    [stored_token] = stored(Vault.open(stamped))
    assert stored_token.checkpoint is not None
    token = bytearray(stored_token.token)
    token[at % len(token)] ^= flip
    check = ts.verify_token(bytes(token), stored_token.checkpoint, stored_token.trusted_certs())
    assert isinstance(check.reason, str)  # a verdict, never an exception
    with contextlib.suppress(ValueError):
        ts.read_token(bytes(token))


def test_a_court_bundle_carries_and_checks_the_token(
    vault: Vault, tsa: str, pki: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from tests.conftest import run_dalil, write_photos

    write_photos(tmp_path / "stick", 3)
    assert run_dalil("ingest", tmp_path / "stick", "--from", "stick", "--no-group",
                     "--vault", vault.root, "--as", "tester").returncode == 0  # fmt: skip
    stamp(vault, f"{tsa}/rsa", pki / "ca.crt")
    conn = vault.connect(readonly=True)
    listing = tmp_path / "items.txt"
    listing.write_text("\n".join(r[0] for r in conn.execute("SELECT sha256 FROM items")))
    conn.close()
    out = tmp_path / "bundle"
    r = run_dalil("export", "bundle", out, "--items", listing, "--no-report", "--vault",
                  vault.root, "--as", "tester", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["timestamps"] == 1
    assert (out / "data" / "custody" / "timestamps" / "1.ca.pem").is_file()
    check = subprocess.run(
        [sys.executable, str(out / "verify_bundle.py"), str(out)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    assert "1 timestamp token(s)" in check.stdout
