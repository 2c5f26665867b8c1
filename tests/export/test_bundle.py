"""Court bundles: export → verify offline with the standalone script → tamper → each failure
named; validated by the Library of Congress bagit package and by sha256sum -c."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from dalil.cases import model
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from tests.conftest import PASSWORD, add_users, catalogue, run_dalil, write_photos


@pytest.fixture(scope="module")
def case_vault(tmp_path_factory: pytest.TempPathFactory) -> tuple[Vault, str]:
    base = tmp_path_factory.mktemp("bundle")
    write_photos(base / "stick" / "DCIM", 6)
    (base / "stick" / "notes.txt").write_text("field notes, not a picture\n")
    vault = Vault.init(base / "vault", "amina", PASSWORD)
    add_users(vault, "amina", "prosecutor-liaison")
    IngestSession(
        vault, IngestOptions([base / "stick"], "USB stick #2", "amina", group=False)
    ).run()
    write_photos(base / "copy", 2)  # the same two files found again on another drive
    IngestSession(vault, IngestOptions([base / "copy"], "USB stick #3", "amina", group=False)).run()
    conn = vault.connect()
    ledger = vault.ledger(conn)
    case = model.new_case(conn, ledger, model.Actor("amina"), "person", "Card 421")
    shas = [r[0] for r in conn.execute("SELECT sha256 FROM items ORDER BY sha256")]
    model.link(conn, ledger, model.Actor("amina"), case, shas[:4], "card")
    model.add_annotation(conn, ledger, model.Actor("amina"), case, "identifier", "detainee", "4721")
    conn.close()
    return vault, case


def _verify(bag: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(bag / "verify_bundle.py"), str(bag), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def bundle(case_vault: tuple[Vault, str], tmp_path: Path) -> Path:
    vault, case = case_vault
    out = tmp_path / "bundle"
    result = run_dalil(
        "export",
        "bundle",
        out,
        "--case",
        case,
        "--no-report",
        "--vault",
        vault.root,
        "--as",
        "prosecutor-liaison",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    return out


def test_bundle_verifies_offline_and_validates_as_a_bag(
    bundle: Path, case_vault: tuple[Vault, str]
) -> None:
    vault, case = case_vault
    ok = _verify(bundle, "--public-key", str(vault.keys_dir / "vault.pub"))
    assert ok.returncode == 0 and ok.stdout.strip().splitlines()[-1].startswith("VERIFIED"), (
        ok.stdout
    )
    import bagit

    bagit.Bag(str(bundle)).validate()
    sums = subprocess.run(
        ["sha256sum", "--quiet", "-c", "manifest-sha256.txt"], cwd=bundle, capture_output=True
    )
    assert sums.returncode == 0, sums.stdout
    index = (bundle / "data" / "index.csv").read_text().splitlines()
    assert len(index) == 1 + 4
    originals = sorted(p for p in (bundle / "data" / "originals").rglob("*") if p.is_file())
    assert len(originals) == 4
    for path in originals:
        sha = path.parent.name
        assert path.read_bytes() == vault.store().path(sha).read_bytes()
    meta = json.loads(next((bundle / "data" / "metadata").glob("*.json")).read_text())
    assert meta["cases"][0]["case_id"] == case
    actions = {
        json.loads(line)["action"]
        for line in (bundle / "data/custody/events.jsonl").read_text().splitlines()
    }
    assert {"item.ingested", "case.created", "case.linked", "annotation.added"} <= actions
    # a file found on two sticks: both occurrences are in the custody record
    twice = [
        m
        for m in (bundle / "data" / "metadata").glob("*.json")
        if len(json.loads(m.read_text())["occurrences"]) == 2
    ]
    assert twice, "expected a file found on both sticks"
    assert "occurrence.added" in actions
    conn = vault.connect()
    exported = conn.execute(
        "SELECT event FROM ledger WHERE event LIKE '%bundle.exported%'"
    ).fetchall()
    assert exported and json.loads(exported[-1][0])["actor"] == "prosecutor-liaison"
    assert run_dalil("verify", "--vault", vault.root).returncode == 0


def _fails_with(bundle: Path, words: str, *args: str) -> None:
    result = _verify(bundle, *args)
    assert result.returncode == 1, result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("FAILED"), result.stdout
    assert words in result.stdout, result.stdout


def test_one_changed_byte_is_named(bundle: Path) -> None:
    original = next((bundle / "data" / "originals").rglob("*.JPG"))
    data = bytearray(original.read_bytes())
    data[len(data) // 2] ^= 0x01
    original.write_bytes(bytes(data))
    _fails_with(bundle, f"{original.relative_to(bundle)} does not have the SHA-256")


def test_a_dropped_file_is_named(bundle: Path) -> None:
    original = next((bundle / "data" / "originals").rglob("*.JPG"))
    original.unlink()
    _fails_with(bundle, "missing from the bundle")


def test_an_added_file_is_named(bundle: Path) -> None:
    (bundle / "data" / "originals" / "extra.jpg").write_bytes(b"planted")
    _fails_with(bundle, "not in its manifest")


def test_an_edited_event_is_named(bundle: Path) -> None:
    events = bundle / "data" / "custody" / "events.jsonl"
    lines = events.read_text().splitlines()
    first = json.loads(lines[0])
    first["actor"] = "someone else"
    lines[0] = json.dumps(first, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    events.write_text("\n".join(lines) + "\n")
    # even a forger who also rewrites the manifest cannot get past the proofs
    manifest = bundle / "manifest-sha256.txt"
    import hashlib

    digest = hashlib.sha256(events.read_bytes()).hexdigest()
    manifest.write_text(
        "\n".join(
            f"{digest}  data/custody/events.jsonl"
            if line.endswith("data/custody/events.jsonl")
            else line
            for line in manifest.read_text().splitlines()
        )
        + "\n"
    )
    result = _verify(bundle)
    assert result.returncode == 1
    assert f"event {first['seq']}" in result.stdout, result.stdout


def test_a_swapped_public_key_is_named(bundle: Path, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (bundle / "data" / "custody" / "vault.pub").write_bytes(other)
    _fails_with(bundle, "signature is not valid")
    key = tmp_path / "attacker.pub"
    key.write_bytes(other)
    shutil.copy(key, tmp_path / "k.pem")
    _fails_with(bundle, "signature is not valid", "--public-key", str(key))


def test_a_bundle_of_one_item_and_refusals(case_vault: tuple[Vault, str], tmp_path: Path) -> None:
    vault, _ = case_vault
    conn = vault.connect()
    sha = conn.execute("SELECT sha256 FROM items ORDER BY sha256 DESC LIMIT 1").fetchone()[0]
    listing = tmp_path / "items.txt"
    listing.write_text(sha[:12] + "\n")
    out = tmp_path / "one"
    r = run_dalil(
        "export", "bundle", out, "--items", listing, "--no-report", "--vault", vault.root,
        "--as", "amina",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert _verify(out).returncode == 0
    again = run_dalil(
        "export", "bundle", out, "--items", listing, "--vault", vault.root, "--as", "amina"
    )
    assert again.returncode == 2 and "not empty" in again.stderr
    inside = run_dalil(
        "export", "bundle", vault.root / "x", "--items", listing, "--vault", vault.root,
        "--as", "amina",
    )  # fmt: skip
    assert inside.returncode == 2 and "outside the vault" in inside.stderr
    french = run_dalil(
        "export", "bundle", tmp_path / "fr", "--items", listing, "--language", "fr",
        "--vault", vault.root, "--as", "amina", "--json",
    )  # fmt: skip
    assert french.returncode == 2 and "unknown report language 'fr'" in french.stderr
    assert not (tmp_path / "fr").exists()
    arabic = run_dalil(
        "export", "bundle", tmp_path / "ar", "--items", listing, "--language", "ar",
        "--vault", vault.root, "--as", "amina",
    )  # fmt: skip
    assert arabic.returncode == 0, arabic.stderr
    assert _verify(tmp_path / "ar").returncode == 0
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(tmp_path / "ar" / "report.pdf"), "-"], capture_output=True
        ).stdout.decode()
        assert "حزمة الأدلة" in unicodedata.normalize("NFKC", text)


def test_a_bundle_of_two_thousand_items(tmp_path: Path) -> None:
    source = tmp_path / "many"
    for i in range(2000):
        (source / f"{i // 500}").mkdir(parents=True, exist_ok=True)
        (source / f"{i // 500}" / f"f{i:05d}.bin").write_bytes(i.to_bytes(4, "big") * 64)
    vault = Vault.init(tmp_path / "vault", "amina", PASSWORD)
    IngestSession(vault, IngestOptions([source], "archive", "amina", group=False)).run()
    conn = vault.connect()
    listing = tmp_path / "items.txt"
    listing.write_text("\n".join(r[0] for r in conn.execute("SELECT sha256 FROM items")))
    out = tmp_path / "big"
    r = run_dalil(
        "export", "bundle", out, "--items", listing, "--no-report", "--vault", vault.root,
        "--as", "amina", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["items"] == 2000
    result = _verify(out)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "2000 file(s)" in result.stdout


def test_a_bundle_ingested_elsewhere_keeps_its_provenance(bundle: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-vault"
    assert run_dalil("init", "--vault", other, "--as", "defence").returncode == 0
    r = run_dalil(
        "ingest",
        bundle,
        "--from",
        "bundle handed over by the prosecutor",
        "--vault",
        other,
        "--as",
        "defence",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["items_new"] == 4
    events = json.loads(
        run_dalil(
            "ledger", "events", "--action", "item.provenance", "--vault", other, "--json"
        ).stdout
    )["events"]
    assert len(events) == 4
    details = events[0]["details"]
    assert details["from_vault"] and details["bundle_hash"]
    assert {o["from"] for o in details["occurrences"]} <= {"USB stick #2", "USB stick #3"}
    assert any(h["action"] == "item.ingested" and h["actor"] == "amina" for h in details["custody"])
    assert run_dalil("verify", "--vault", other).returncode == 0


def test_a_tampered_bundle_is_refused(bundle: Path, tmp_path: Path) -> None:
    original = next(p for p in (bundle / "data" / "originals").rglob("*") if p.is_file())
    original.write_bytes(original.read_bytes() + b"x")
    other = tmp_path / "other-vault"
    run_dalil("init", "--vault", other, "--as", "defence")
    r = run_dalil("ingest", bundle, "--from", "x", "--vault", other, "--as", "defence")
    assert r.returncode == 2 and "does not verify" in r.stderr


def test_bundle_with_its_exhibit_report(case_vault: tuple[Vault, str], tmp_path: Path) -> None:
    vault, case = case_vault
    out = tmp_path / "with-report"
    r = run_dalil(
        "export", "bundle", out, "--case", case, "--vault", vault.root, "--as", "amina", "--json"
    )
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["report_pages"] >= 2 and (out / "report.pdf").is_file()
    assert "report.pdf" in (out / "tagmanifest-sha256.txt").read_text()
    import bagit

    bagit.Bag(str(out)).validate()
    assert _verify(out).returncode == 0
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True
        ).stdout
        assert info["bundle_hash"] in text


def test_a_planted_original_is_named_even_with_rewritten_manifests(bundle: Path) -> None:
    import hashlib

    planted = bundle / "data" / "originals" / ("f" * 64) / "planted.jpg"
    planted.parent.mkdir()
    planted.write_bytes(b"not from the vault")
    digest = hashlib.sha256(planted.read_bytes()).hexdigest()
    manifest = bundle / "manifest-sha256.txt"
    manifest.write_text(manifest.read_text() + f"{digest}  {planted.relative_to(bundle)}\n")
    tags = bundle / "tagmanifest-sha256.txt"
    tags.write_text(
        "".join(
            f"{hashlib.sha256((bundle / name).read_bytes()).hexdigest()}  {name}\n"
            for name in [line.split(None, 1)[1] for line in tags.read_text().splitlines()]
        )
    )
    _fails_with(bundle, "planted")


def _rewrite_manifests(bundle: Path) -> None:
    """What a forger does after editing payload files: make every manifest agree again."""
    import hashlib

    manifest = bundle / "manifest-sha256.txt"
    lines = []
    for line in manifest.read_text().splitlines():
        digest, rel = line.split(None, 1)
        if not rel.startswith("data/originals/"):
            digest = hashlib.sha256((bundle / rel).read_bytes()).hexdigest()
        lines.append(f"{digest}  {rel}")
    manifest.write_text("\n".join(lines) + "\n")
    info = bundle / "bag-info.txt"
    stated = hashlib.sha256(manifest.read_bytes()).hexdigest()
    info.write_text(
        "".join(
            f"Dalil-Bundle-Hash: {stated}\n" if line.startswith("Dalil-Bundle-Hash:") else line
            for line in info.read_text().splitlines(keepends=True)
        )
    )
    tags = bundle / "tagmanifest-sha256.txt"
    tags.write_text(
        "".join(
            f"{hashlib.sha256((bundle / name).read_bytes()).hexdigest()}  {name}\n"
            for name in [line.split(None, 1)[1] for line in tags.read_text().splitlines()]
        )
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("media_type", "image/png"),
        ("flags", ["corrupt"]),
        ("metadata.camera_model", "Forged"),
        ("occurrences.0.from", "another stick"),
    ],
)
def test_every_metadata_field_is_checked_against_the_custody_record(
    bundle: Path, field: str, value: object
) -> None:
    meta_path = sorted((bundle / "data" / "metadata").glob("*.json"))[0]
    meta = json.loads(meta_path.read_text())
    target = meta
    *parents, last = field.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    assert target[last] != value
    target[last] = value
    meta_path.write_text(json.dumps(meta))
    _rewrite_manifests(bundle)
    _fails_with(bundle, f"metadata of {meta_path.stem}")


def test_an_edited_case_file_is_named(bundle: Path) -> None:
    case_path = next((bundle / "data" / "cases").glob("*.json"))
    case = json.loads(case_path.read_text())
    case["annotations"][0]["value"] = "9999"
    case_path.write_text(json.dumps(case))
    _rewrite_manifests(bundle)
    _fails_with(bundle, f"case {case_path.stem}: annotations[0].value")


def test_an_edited_payload_is_named(bundle: Path) -> None:
    payloads = bundle / "data" / "custody" / "payloads.jsonl"
    lines = payloads.read_text().splitlines()
    first = json.loads(lines[0])
    first["payload"]["size"] = 1
    lines[0] = json.dumps(first)
    payloads.write_text("\n".join(lines) + "\n")
    _rewrite_manifests(bundle)
    _fails_with(bundle, f"the payload of event {first['seq']} is not the one")


def test_a_duplicate_manifest_line_fails_whichever_comes_first(bundle: Path) -> None:
    manifest = bundle / "manifest-sha256.txt"
    lines = manifest.read_text().splitlines()
    original = next(line for line in lines if "data/originals/" in line)
    manifest.write_text("\n".join(["0" * 64 + "  " + original.split(None, 1)[1], *lines]) + "\n")
    checked = subprocess.run(
        ["sha256sum", "--quiet", "-c", "manifest-sha256.txt"], cwd=bundle, capture_output=True
    )
    assert checked.returncode != 0
    _fails_with(bundle, "more than once")


@pytest.mark.parametrize(
    ("where", "content"),
    [
        ("data/metadata", "[]"),
        ("data/custody/events.jsonl", '{"seq": 0, "details": "a string", "action": "x"}\n'),
        ("data/custody/checkpoint.json", "[1, 2]"),
        ("data/custody/payloads.jsonl", '{"seq": "zero", "payload": []}\n'),
        ("data/custody/proofs.jsonl", '{"event": {"seq": 0}, "audit_path": 5}\n'),
    ],
)
def test_malformed_json_gets_a_verdict_not_a_traceback(
    bundle: Path, where: str, content: str
) -> None:
    target = bundle / where
    if target.is_dir():
        target = sorted(target.glob("*.json"))[0]
    target.write_text(content)
    _rewrite_manifests(bundle)
    result = _verify(bundle)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("FAILED"), result.stdout
    other = bundle.parent / "other"
    run_dalil("init", "--vault", other, "--as", "defence")
    refused = run_dalil("ingest", bundle, "--from", "x", "--vault", other, "--as", "defence")
    assert refused.returncode == 2 and "does not verify" in refused.stderr
    assert "Traceback" not in refused.stderr


def _forge_key(bundle: Path) -> str:
    """Re-sign a bundle's checkpoint with a new key (its origin unchanged), as a forger who
    wants forged custody accepted as the real vault's would."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from dalil import keys
    from dalil.ledger.canonical import canonical_json, checkpoint_message

    forger = Ed25519PrivateKey.generate()
    custody = bundle / "data" / "custody"
    cp = json.loads((custody / "checkpoint.json").read_text())
    cp["signature"] = base64.b64encode(
        forger.sign(checkpoint_message(cp["origin"], cp["size"], cp["root"], cp["time"]))
    ).decode()
    (custody / "checkpoint.json").write_text(json.dumps(cp, indent=2))
    proofs = []
    for line in (custody / "proofs.jsonl").read_text().splitlines():
        proof = json.loads(line)
        proof["checkpoint"] = cp
        proof["public_key"] = keys.public_raw_b64(forger.public_key())
        proofs.append(canonical_json(proof).decode())
    (custody / "proofs.jsonl").write_text("\n".join(proofs) + "\n")
    (custody / "vault.pub").write_bytes(keys.public_pem(forger.public_key()))
    _rewrite_manifests(bundle)
    return hashlib.sha256(keys.public_raw(forger.public_key())).hexdigest()


def test_a_bundle_signed_by_another_key_for_a_pinned_origin_is_refused(
    bundle: Path, tmp_path: Path
) -> None:
    other = tmp_path / "defence-vault"
    assert run_dalil("init", "--vault", other, "--as", "defence").returncode == 0
    first = run_dalil(
        "ingest", bundle, "--from", "prosecution", "--vault", other, "--as", "defence", "--json"
    )
    assert first.returncode == 0, first.stderr
    notes = " ".join(json.loads(first.stdout)["notes"])
    assert "first seen: compare it with the fingerprint" in notes
    # the same bundle again adds nothing
    ledger = catalogue(other, "ledger")
    size = ledger.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]
    again = run_dalil(
        "ingest", bundle, "--from", "prosecution", "--vault", other, "--as", "defence"
    )
    assert again.returncode == 0 and "nothing was added" in again.stdout
    assert ledger.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == size
    # a bundle claiming the same origin but signed by another key
    forged = tmp_path / "forged"
    shutil.copytree(bundle, forged)
    fingerprint = _forge_key(forged)
    assert _verify(forged).returncode == 0  # self-consistent with its own (bundled) key …
    refused = run_dalil("ingest", forged, "--from", "x", "--vault", other, "--as", "defence")
    assert refused.returncode == 2  # … but not the key this vault knows for that origin
    assert "signed by another key" in refused.stderr and fingerprint in refused.stderr
    assert ledger.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == size
    # only a person who confirmed the new key with that vault can say so, and it is recorded
    trusted = run_dalil(
        "ingest", forged, "--from", "x", "--trust-key", fingerprint, "--vault", other,
        "--as", "defence", "--json",
    )  # fmt: skip
    assert trusted.returncode == 0, trusted.stderr
    assert "given with --trust-key" in " ".join(json.loads(trusted.stdout)["notes"])
    pins = [
        json.loads(r[0])["details"]
        for r in ledger.execute("SELECT event FROM ledger WHERE event LIKE '%origin.trusted%'")
    ]
    assert [p["key_sha256"] for p in pins][-1] == fingerprint and len(pins) == 2
    assert run_dalil("verify", "--vault", other).returncode == 0


def test_the_standalone_verifier_knows_the_catalogue_s_metadata_fields() -> None:
    from dalil.catalog.queries import METADATA_FIELDS
    from dalil.export import verify_bundle

    assert verify_bundle.META_FIELDS == METADATA_FIELDS  # it runs without Dalil: a copy
