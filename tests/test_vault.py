"""Creating and opening vaults."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dalil.errors import UsageError, VaultError
from dalil.settings import SETTINGS, Settings
from dalil.vault import Vault
from dalil.verify import verify
from tests.conftest import PASSWORD, REPO


def test_init_layout(tmp_path: Path) -> None:
    vault = Vault.init(tmp_path / "v", "tester", PASSWORD)
    files = ["dalil.toml", "objects/sha256", "derived", "keys", "tmp"]
    if not vault.on_postgres:
        files += ["catalog.sqlite", "ledger.sqlite"]
    for sub in files:
        assert (vault.root / sub).exists(), sub
    mode = stat.S_IMODE((vault.root / "keys" / "vault.key").stat().st_mode)
    assert mode == 0o600
    reopened = Vault.open(vault.root)
    assert reopened.vault_id == vault.vault_id
    assert reopened.settings == Settings(catalog=vault.settings.catalog)
    report = verify(reopened, jobs=1)
    assert report.ok and report.events_checked == 1


def test_init_refuses_existing_or_nonempty(tmp_path: Path) -> None:
    Vault.init(tmp_path / "v", "tester", PASSWORD)
    with pytest.raises(UsageError):
        Vault.init(tmp_path / "v", "tester", PASSWORD)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(UsageError):
        Vault.init(tmp_path / "busy", "tester", PASSWORD)


def test_open_rejects_non_vault_and_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(VaultError):
        Vault.open(tmp_path)
    vault = Vault.init(tmp_path / "v", "tester", PASSWORD)
    config = vault.root / "dalil.toml"
    config.write_text(config.read_text().replace("jobs = 0", 'jobs = "many"'))
    with pytest.raises(VaultError, match="jobs"):
        Vault.open(vault.root)


def test_single_writer_lock(tmp_path: Path) -> None:
    vault = Vault.init(tmp_path / "v", "tester", PASSWORD)
    with vault.writer_lock(), pytest.raises(VaultError, match="busy"), vault.writer_lock():
        pass


def test_every_setting_is_documented() -> None:
    docs = (REPO / "docs" / "settings.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in docs, setting.name
    assert {s.name for s in SETTINGS} == set(Settings.__dataclass_fields__)


def test_every_problem_kind_is_documented() -> None:
    from dalil.verify import KINDS
    from tests.conftest import REPO

    text = (REPO / "docs" / "verify.md").read_text(encoding="utf-8")
    missing = [kind for kind in KINDS if f"| `{kind}` |" not in text]
    assert not missing, f"docs/verify.md does not explain: {missing}"
