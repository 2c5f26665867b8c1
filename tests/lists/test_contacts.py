"""A family's contact details and consent: encrypted at rest under a key kept outside the vault,
readable by the liaison and admin roles only, and absent from everything else Dalil writes or
prints — the ledger and its payloads, the catalogue and its search index, exports, the output
of every other command, and error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dalil.vault import Vault
from tests.conftest import add_users, run_dalil, sign_and_verify, write_photos

CONTACT = "Umm Khaled أم خالد +963-944-555-0101 via cousin in Gaziantep"
CONSENT = "consent-only-for-identification رضا-العائلة"
SECRETS = ["+963-944-555-0101", "Gaziantep", "أم خالد", "consent-only-for-identification", "رضا"]


def _forms(text: str) -> list[bytes]:
    """Every way a string could be written down: UTF-8, JSON-escaped, UTF-16."""
    escaped = json.dumps(text)[1:-1].encode("ascii")
    return [text.encode("utf-8"), escaped, text.encode("utf-16-le")]


def _leaks(data: bytes) -> list[str]:
    return [s for s in SECRETS if any(form in data for form in _forms(s))]


def _scan(folder: Path, skip: set[str] = frozenset()) -> dict[str, list[str]]:  # type: ignore[assignment]
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in skip:
            leaks = _leaks(path.read_bytes())
            if leaks:
                found[str(path.relative_to(folder))] = leaks
    return found


@pytest.fixture
def keyed(vault: Vault, tmp_path: Path) -> tuple[Vault, Path]:
    """A vault with photographs, a liaison and an investigator, and a contacts key outside it."""
    add_users(vault, "tester", "layla", role="liaison")
    add_users(vault, "tester", "omar", role="investigator")
    key = tmp_path / "keys" / "contacts.key"
    key.parent.mkdir()
    made = run_dalil("reports", "new-key", key, "--json")
    assert made.returncode == 0, made.stderr
    assert (key.stat().st_mode & 0o777) == 0o600
    settings = vault.root / "dalil.toml"
    text = re.sub(
        r"^#? *contacts_key_file *=.*$",
        f'contacts_key_file = "{key}"',
        settings.read_text(encoding="utf-8"),
        flags=re.M,
    )
    assert f'contacts_key_file = "{key}"' in text
    settings.write_text(text, encoding="utf-8")
    photos = write_photos(tmp_path / "photos", 3)
    ingested = run_dalil(
        "ingest", photos[0].parent, "--from", "test card", "--vault", vault.root, "--as", "tester"
    )
    assert ingested.returncode == 0, ingested.stderr
    return vault, key


def _add(vault: Vault, *extra: str) -> str:
    r = run_dalil(
        "reports", "add", "--name", "محمد أحمد الحلبي", "--name-latin", "Mohammad al-Halabi",
        "--birth-year", "1985", "--contact", CONTACT, "--consent", CONSENT,
        "--vault", vault.root, "--as", "layla", "--json", *extra,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert not _leaks((r.stdout + r.stderr).encode())
    return str(json.loads(r.stdout)["report"])


def test_contacts_never_leave_their_sealed_store(keyed: tuple[Vault, Path], tmp_path: Path) -> None:
    vault, _key = keyed
    report = _add(vault)

    # at rest: the contacts store holds only ciphertext; nothing else in the vault holds them
    assert not _leaks((vault.root / "contacts.sqlite").read_bytes())
    assert _scan(vault.root) == {}

    # every other command's output, in both forms
    for args in (
        ("reports", "list"), ("reports", "list", "--json"),
        ("reports", "show", report), ("reports", "show", report, "--json"),
        ("search", "Gaziantep", "--json"), ("search", "أم خالد"),
        ("ledger", "events", "--json", "--all"), ("items", "--json"),
    ):  # fmt: skip
        r = run_dalil(*args, "--vault", vault.root)
        assert r.returncode == 0, (args, r.stderr)
        assert not _leaks((r.stdout + r.stderr).encode()), args
    found = run_dalil("search", "Gaziantep", "--json", "--vault", vault.root)
    assert json.loads(found.stdout)["total"] == 0

    # exports: a court bundle of everything, and a public release
    listing = tmp_path / "items.txt"
    items = run_dalil("items", "--json", "--all", "--vault", vault.root)
    shas = [i["sha256"] for i in json.loads(items.stdout)["items"]]
    listing.write_text("\n".join(shas) + "\n")
    bundle = run_dalil(
        "export", "bundle", tmp_path / "bundle", "--items", listing, "--no-report",
        "--vault", vault.root, "--as", "tester",
    )  # fmt: skip
    assert bundle.returncode == 0, bundle.stderr
    assert _scan(tmp_path / "bundle") == {}
    release = run_dalil(
        "export", "release", tmp_path / "release", *(a for s in shas for a in ("--item", s)),
        "--include-unverified", "--vault", vault.root, "--as", "tester",
    )  # fmt: skip
    assert release.returncode in (0, 1), release.stderr
    assert _scan(tmp_path / "release") == {}
    assert not _leaks((bundle.stdout + bundle.stderr + release.stdout + release.stderr).encode())

    # and only now, asked by the liaison, are they read: the reading is an event, not its content
    read = run_dalil("reports", "contact", report, "--json", "--vault", vault.root, "--as", "layla")
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout) == {"contact": CONTACT, "consent": CONSENT}
    assert _scan(vault.root, skip={"contacts.sqlite"}) == {}
    events = json.loads(
        run_dalil("ledger", "events", "--json", "--all", "--vault", vault.root).stdout
    )
    kinds = [e["action"] for e in events["events"]]
    assert "report.contact-read" in kinds
    assert sign_and_verify(vault).ok


def test_only_liaison_and_admin_may_read_them(keyed: tuple[Vault, Path]) -> None:
    vault, _key = keyed
    report = _add(vault)
    refused = run_dalil("reports", "contact", report, "--json", "--vault", vault.root,
                        "--as", "omar")  # fmt: skip
    assert refused.returncode == 2
    error = json.loads(refused.stderr)
    assert "liaison" in error["error"]
    assert not _leaks((refused.stdout + refused.stderr).encode())
    admin = run_dalil("reports", "contact", report, "--vault", vault.root, "--as", "tester")
    assert admin.returncode == 0 and "+963-944-555-0101" in admin.stdout


def test_without_the_key_contacts_are_unreadable_and_the_rest_works(
    keyed: tuple[Vault, Path], tmp_path: Path
) -> None:
    vault, key = keyed
    report = _add(vault)

    # another key does not open them, and the error says so without showing anything
    key.rename(tmp_path / "keys" / "old.key")
    made = run_dalil("reports", "new-key", key)
    assert made.returncode == 0, made.stderr
    wrong = run_dalil(
        "reports", "contact", report, "--json", "--vault", vault.root, "--as", "layla"
    )
    assert wrong.returncode == 2
    assert "does not open" in json.loads(wrong.stderr)["error"]
    assert not _leaks((wrong.stdout + wrong.stderr).encode())

    # no key at all: reading and adding contacts is refused, clearly …
    key.unlink()
    missing = run_dalil("reports", "contact", report, "--vault", vault.root, "--as", "layla")
    assert missing.returncode == 2 and "contacts key" in missing.stderr
    refused = run_dalil(
        "reports", "add", "--name", "خالد", "--contact", "+963-944-555-0101",
        "--vault", vault.root, "--as", "layla", "--json",
    )  # fmt: skip
    assert refused.returncode == 2
    assert "+963-944-555-0101" not in refused.stderr + refused.stdout
    assert (
        json.loads(run_dalil("reports", "list", "--json", "--vault", vault.root).stdout)["total"]
        == 1
    )  # the refused report was not half-recorded

    # … and everything else still works
    plain = run_dalil(
        "reports", "add", "--name", "خالد العلي", "--vault", vault.root, "--as", "layla", "--json"
    )
    assert plain.returncode == 0, plain.stderr
    assert run_dalil("reports", "show", report, "--vault", vault.root).returncode == 0
    checked = run_dalil("verify", "--vault", vault.root, "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sign_and_verify(vault).ok
