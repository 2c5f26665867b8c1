"""End-to-end tests of tools/verify_proof.py, the standalone verifier given to court experts."""

from __future__ import annotations

import base64
import copy
import functools
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from dalil.ledger.canonical import canonical_json, checkpoint_message
from dalil.ledger.merkle import inclusion_proof, leaf_hash, root

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "verify_proof.py"
ORIGIN = "dalil-vault/6f1c2b7e-3d4a-4c1e-9a8b-2f0e5d7c9b10"
TIME = "2026-11-26T22:00:00Z"
SIZE = 40
INDEX = 12


@functools.cache
def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dalil_verify_proof_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_events(n: int) -> list[dict[str, Any]]:
    return [
        {
            "seq": i,
            "time": f"2026-11-26T21:{i // 60:02d}:{i % 60:02d}Z",
            "actor": "investigator:amal" if i % 3 else "system",
            "action": "ingest" if i % 2 else "annotate",
            "subject": f"sha256:{i:064x}",
            "details": {"note": f"ملاحظة رقم {i} — “quoted”", "n": i, "ok": True, "x": None},
        }
        for i in range(n)
    ]


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def build_proof(key: Ed25519PrivateKey, index: int = INDEX) -> dict[str, Any]:
    events = make_events(SIZE)
    leaves = [leaf_hash(canonical_json(e)) for e in events]
    root_hex = root(leaves).hex()
    signature = key.sign(checkpoint_message(ORIGIN, SIZE, root_hex, TIME))
    return {
        "format": "dalil-inclusion-proof/1",
        "event": events[index],
        "leaf_index": index,
        "tree_size": SIZE,
        "audit_path": [h.hex() for h in inclusion_proof(leaves, index, SIZE)],
        "checkpoint": {
            "origin": ORIGIN,
            "size": SIZE,
            "root": root_hex,
            "time": TIME,
            "signature": base64.b64encode(signature).decode(),
        },
        "public_key": base64.b64encode(raw_public(key)).decode(),
    }


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def good(key: Ed25519PrivateKey) -> dict[str, Any]:
    return build_proof(key)


def run(tmp_path: Path, doc: object, *args: str) -> tuple[int, str]:
    path = tmp_path / "proof.json"
    if isinstance(doc, str):
        path.write_text(doc, encoding="utf-8")
    else:
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    # -I: isolated mode, no PYTHONPATH and no cwd on sys.path, so `dalil` cannot be imported.
    proc = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(path), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.stderr == ""
    return proc.returncode, proc.stdout


def assert_failed(result: tuple[int, str], reason: str) -> None:
    code, out = result
    assert code == 1, out
    assert out.startswith("FAILED: "), out
    assert reason in out, out


def test_genuine_proof_verifies(tmp_path: Path, good: dict[str, Any]) -> None:
    code, out = run(tmp_path, good)
    assert code == 0, out
    assert out.startswith("VERIFIED: ")
    assert f"event {INDEX} of {SIZE} in {ORIGIN}" in out
    assert "action='annotate'" in out
    assert f"subject='sha256:{INDEX:064x}'" in out
    assert "embedded key only" in out


def test_every_leaf_verifies_against_the_same_checkpoint(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    for index in (0, 1, 31, 32, 39):
        code, out = run(tmp_path, build_proof(key, index))
        assert code == 0, out


@pytest.mark.parametrize("encoding", ["pem", "base64"])
def test_independent_public_key_file(
    tmp_path: Path, key: Ed25519PrivateKey, good: dict[str, Any], encoding: str
) -> None:
    keyfile = tmp_path / "vault.pub"
    if encoding == "pem":
        keyfile.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    else:
        keyfile.write_text(base64.b64encode(raw_public(key)).decode() + "\n")
    code, out = run(tmp_path, good, "--public-key", str(keyfile))
    assert code == 0, out
    assert out.startswith("VERIFIED: ") and "embedded key only" not in out
    without_embedded = {k: v for k, v in good.items() if k != "public_key"}
    code, out = run(tmp_path, without_embedded, "--public-key", str(keyfile))
    assert code == 0, out


def test_altered_event_field(tmp_path: Path, good: dict[str, Any]) -> None:
    for field, value in [("action", "delete"), ("actor", "someone else"), ("time", TIME)]:
        doc = copy.deepcopy(good)
        doc["event"][field] = value
        assert_failed(run(tmp_path, doc), "event altered or not in the log")
    doc = copy.deepcopy(good)
    doc["event"]["details"]["note"] += " "
    assert_failed(run(tmp_path, doc), "event altered or not in the log")


def test_altered_audit_path_byte(tmp_path: Path, good: dict[str, Any]) -> None:
    doc = copy.deepcopy(good)
    h = doc["audit_path"][2]
    doc["audit_path"][2] = h[:10] + ("0" if h[10] != "0" else "1") + h[11:]
    assert_failed(run(tmp_path, doc), "event altered or not in the log")
    doc = copy.deepcopy(good)
    doc["audit_path"].pop()
    assert_failed(run(tmp_path, doc), "event altered or not in the log")


def test_event_swapped_for_another_logged_event(tmp_path: Path, good: dict[str, Any]) -> None:
    doc = copy.deepcopy(good)
    doc["event"] = make_events(SIZE)[INDEX + 1]
    doc["event"]["seq"] = INDEX
    assert_failed(run(tmp_path, doc), "event altered or not in the log")
    doc["event"]["seq"] = INDEX + 1
    assert_failed(run(tmp_path, doc), f"event seq {INDEX + 1} does not match leaf_index {INDEX}")


def test_altered_checkpoint_root(tmp_path: Path, good: dict[str, Any]) -> None:
    doc = copy.deepcopy(good)
    r = doc["checkpoint"]["root"]
    doc["checkpoint"]["root"] = ("f" if r[0] != "f" else "e") + r[1:]
    assert_failed(run(tmp_path, doc), "checkpoint signature invalid")


def test_altered_signature(tmp_path: Path, good: dict[str, Any]) -> None:
    doc = copy.deepcopy(good)
    sig = bytearray(base64.b64decode(doc["checkpoint"]["signature"]))
    sig[5] ^= 0x01
    doc["checkpoint"]["signature"] = base64.b64encode(bytes(sig)).decode()
    assert_failed(run(tmp_path, doc), "checkpoint signature invalid")
    doc["checkpoint"]["signature"] = base64.b64encode(bytes(sig[:63])).decode()
    assert_failed(run(tmp_path, doc), "checkpoint signature invalid")


def test_altered_checkpoint_fields(tmp_path: Path, good: dict[str, Any]) -> None:
    for field, value in [("time", "2027-01-01T00:00:00Z"), ("origin", "dalil-vault/other")]:
        doc = copy.deepcopy(good)
        doc["checkpoint"][field] = value
        assert_failed(run(tmp_path, doc), "checkpoint signature invalid")
    doc = copy.deepcopy(good)
    doc["checkpoint"]["size"] = SIZE + 1
    assert_failed(run(tmp_path, doc), f"checkpoint size {SIZE + 1} does not match tree_size")


def test_embedded_key_swapped(tmp_path: Path, good: dict[str, Any]) -> None:
    doc = copy.deepcopy(good)
    doc["public_key"] = base64.b64encode(raw_public(Ed25519PrivateKey.generate())).decode()
    assert_failed(run(tmp_path, doc), "checkpoint signature invalid")


def test_everything_resigned_with_another_key_is_caught_by_key_file(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    forged = build_proof(Ed25519PrivateKey.generate())
    assert run(tmp_path, forged)[0] == 0  # self-consistent forgery: only an outside key helps
    keyfile = tmp_path / "vault.pub"
    keyfile.write_text(base64.b64encode(raw_public(key)).decode())
    assert_failed(run(tmp_path, forged, "--public-key", str(keyfile)), "public key does not match")
    no_key = {k: v for k, v in forged.items() if k != "public_key"}
    assert_failed(run(tmp_path, no_key, "--public-key", str(keyfile)), "signature invalid")


def test_bad_public_key_files(tmp_path: Path, good: dict[str, Any]) -> None:
    keyfile = tmp_path / "vault.pub"
    keyfile.write_text("not base64 at all!")
    assert_failed(run(tmp_path, good, "--public-key", str(keyfile)), "not valid base64")
    keyfile.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    assert_failed(run(tmp_path, good, "--public-key", str(keyfile)), "not a valid PEM")
    assert_failed(
        run(tmp_path, good, "--public-key", str(tmp_path / "missing.pub")),
        "cannot read public key file",
    )
    no_key = {k: v for k, v in good.items() if k != "public_key"}
    assert_failed(run(tmp_path, no_key), "no public key")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.pop("event"), "'event' missing"),
        (lambda d: d.update(format="dalil-inclusion-proof/2"), "format is"),
        (lambda d: d.update(leaf_index="12"), "'leaf_index' missing or not a int"),
        (lambda d: d.update(leaf_index=SIZE), "outside a tree"),
        (lambda d: d["checkpoint"].pop("signature"), "'checkpoint.signature' missing"),
        (lambda d: d.update(audit_path=["zz"]), "audit_path entries"),
        (lambda d: d["checkpoint"].update(root="AB" * 32), "checkpoint.root"),
        (lambda d: d["checkpoint"].update(signature="***"), "bad signature encoding"),
        (lambda d: d.update(public_key=42), "'public_key' is not a string"),
    ],
)
def test_malformed_fields(tmp_path: Path, good: dict[str, Any], mutate: Any, reason: str) -> None:
    doc = copy.deepcopy(good)
    mutate(doc)
    assert_failed(run(tmp_path, doc), reason)


def test_malformed_files(tmp_path: Path, good: dict[str, Any]) -> None:
    assert_failed(run(tmp_path, '{"format": "dalil-inclusion-proof/1",'), "malformed proof file")
    assert_failed(run(tmp_path, "[1, 2, 3]"), "malformed proof file: top level")
    dup = json.dumps(good)[:-1] + ', "leaf_index": 3}'
    assert_failed(run(tmp_path, dup), "duplicate key")
    (tmp_path / "proof.json").write_bytes(b"\xff\xfe{}")
    proc = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(tmp_path / "proof.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and proc.stdout.startswith("FAILED: malformed proof file")
    proc = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and proc.stdout.startswith("FAILED: cannot read proof file")


# --- the script's duplicated encoders must agree byte for byte with the library ---------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_json_values)
def test_script_canonical_json_matches_library(value: object) -> None:
    script = load_script()
    try:
        expected = canonical_json(value)
    except UnicodeEncodeError:  # lone surrogates: neither side can encode them
        with pytest.raises(UnicodeEncodeError):
            script.canonical_json(value)
        return
    assert script.canonical_json(value) == expected
    assert script.canonical_json(json.loads(expected.decode("utf-8"))) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.text().filter(lambda s: "\n" not in s),
    st.integers(0, 2**64),
    st.binary(min_size=32, max_size=32).map(bytes.hex),
    st.text().filter(lambda s: "\n" not in s),
)
def test_script_checkpoint_message_matches_library(
    origin: str, size: int, root_hex: str, time: str
) -> None:
    script = load_script()
    try:
        expected = checkpoint_message(origin, size, root_hex, time)
    except UnicodeEncodeError:
        return
    assert script.checkpoint_message(origin, size, root_hex, time) == expected


def test_known_encodings() -> None:
    expected = '{"a":"é→","b":[1,2.5,null]}'.encode()
    assert canonical_json({"b": [1, 2.5, None], "a": "é→"}) == expected
    assert checkpoint_message(ORIGIN, 40, "ab" * 32, TIME) == (
        f"dalil-checkpoint/1\n{ORIGIN}\n40\n{'ab' * 32}\n{TIME}\n".encode()
    )
    for bad in [("a\nb", 1, "ab" * 32, TIME), (ORIGIN, -1, "ab" * 32, TIME),
                (ORIGIN, 1, "AB" * 32, TIME), (ORIGIN, 1, "ab" * 31, TIME)]:  # fmt: skip
        with pytest.raises(ValueError):
            checkpoint_message(*bad)
