"""Bad input never loses evidence: everything is stored or listed with a reason."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from dalil.verify import verify
from tests.conftest import PASSWORD, catalogue, jpeg_bytes, run_dalil

NON_UTF8 = b"caf\xe9-\xff.jpg"


def _tree_state(root: Path) -> dict[bytes, tuple[bytes, int]]:
    state = {}
    for dirpath, dirs, files in os.walk(os.fsencode(root)):
        for name in files + dirs:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            content = b""
            if os.path.isfile(path) and not os.path.islink(path):
                content = hashlib.sha256(Path(os.fsdecode(path)).read_bytes()).digest()
            state[path] = (content, st.st_mtime_ns)
    return state


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("hostile") / "stick"
    (src / "photos").mkdir(parents=True)
    good = jpeg_bytes(1)
    (src / "photos" / "good.jpg").write_bytes(good)
    (src / "photos" / "copy-of-good.jpg").write_bytes(good)
    (src / "photos" / "empty.jpg").write_bytes(b"")
    (src / "photos" / "truncated.jpg").write_bytes(jpeg_bytes(2)[:3000])
    # fixed noise: a fresh os.urandom() now and then matches some file signature
    (src / "photos" / "noise.jpg").write_bytes(random.Random(0).randbytes(4096))
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(png, "PNG")
    (src / "photos" / "really-a-png.jpg").write_bytes(png.getvalue())
    bomb = io.BytesIO()
    Image.new("1", (13_000, 13_000)).save(bomb, "PNG")
    (src / "photos" / "bomb.png").write_bytes(bomb.getvalue())
    with open(os.path.join(os.fsencode(src / "photos"), NON_UTF8), "wb") as fh:
        fh.write(jpeg_bytes(3))
    os.mkfifo(src / "a-fifo")
    os.symlink("loop-b", src / "loop-a")
    os.symlink("loop-a", src / "loop-b")
    os.symlink(".", src / "photos" / "self")
    os.symlink("/etc/passwd", src / "outside")
    with zipfile.ZipFile(src / "slip.zip", "w") as zf:
        zf.writestr("../../evil.txt", "escape attempt")
        zf.writestr("/abs/evil2.txt", "absolute")
        zf.writestr("inner/ok.jpg", jpeg_bytes(4))
    with zipfile.ZipFile(src / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (50 * 1024 * 1024))
        zf.writestr("small.jpg", jpeg_bytes(5))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("deep/photo.jpg", jpeg_bytes(6))
    with zipfile.ZipFile(src / "outer.zip", "w") as zf:
        zf.writestr("nested.zip", inner.getvalue())
    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w") as zf:
        zf.writestr("a.jpg", jpeg_bytes(7))
    (src / "not-really.zip").write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    return src


@pytest.fixture(scope="module")
def ingested(hostile: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Vault, dict]:
    before = _tree_state(hostile)
    vault = Vault.init(tmp_path_factory.mktemp("v") / "vault", "tester", PASSWORD)
    report = IngestSession(vault, IngestOptions([hostile], "hostile stick", "tester")).run()
    assert _tree_state(hostile) == before, "the source was modified"
    return vault, report.to_dict()


def _flags(vault: Vault) -> dict[str, set[str]]:
    conn = catalogue(vault)
    out: dict[str, set[str]] = {}
    for path, flag in conn.execute(
        "SELECT o.path_text, f.flag FROM item_flags f JOIN occurrences o USING (sha256)"
    ):
        out.setdefault(path, set()).add(flag)
    return out


def test_every_regular_file_is_stored(ingested: tuple[Vault, dict], hostile: Path) -> None:
    vault, _ = ingested
    store = vault.store()
    for dirpath, _dirs, files in os.walk(os.fsencode(hostile)):
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            digest = hashlib.sha256(Path(os.fsdecode(path)).read_bytes()).hexdigest()
            assert store.path(digest).read_bytes() == Path(os.fsdecode(path)).read_bytes()


def test_flags_name_the_problem(ingested: tuple[Vault, dict]) -> None:
    vault, report = ingested
    flags = _flags(vault)
    assert "empty" in flags["stick/photos/empty.jpg"]
    assert "truncated" in flags["stick/photos/truncated.jpg"]
    assert "unknown_type" in flags["stick/photos/noise.jpg"]
    assert "extension_mismatch" in flags["stick/photos/really-a-png.jpg"]
    assert "decompression_bomb" in flags["stick/photos/bomb.png"]
    assert "zip_unsafe_path" in flags["stick/slip.zip"]
    assert "zip_bomb" in flags["stick/bomb.zip"]
    assert "corrupt_archive" in flags["stick/not-really.zip"]
    assert "stick/photos/good.jpg" not in flags
    flagged_paths = {f["path"] for f in report["flagged"]}
    assert "stick/photos/truncated.jpg" in flagged_paths


def test_special_entries_are_recorded_not_followed(ingested: tuple[Vault, dict]) -> None:
    _, report = ingested
    skipped = {s["path"]: s["kind"] for s in report["skipped"]}
    assert skipped["stick/a-fifo"] == "fifo"
    assert skipped["stick/loop-a"] == "symlink"
    assert skipped["stick/loop-b"] == "symlink"
    assert skipped["stick/photos/self"] == "symlink"
    assert skipped["stick/outside"] == "symlink"
    assert skipped["stick/bomb.zip!/zeros.bin"] == "zip_bomb"
    assert report["unreadable"] == []


def test_zip_members_and_nesting(ingested: tuple[Vault, dict]) -> None:
    vault, _ = ingested
    conn = catalogue(vault)
    paths = {r[0] for r in conn.execute("SELECT path_text FROM occurrences")}
    assert "stick/slip.zip!/../../evil.txt" in paths
    assert "stick/slip.zip!/inner/ok.jpg" in paths
    assert "stick/outer.zip!/nested.zip!/deep/photo.jpg" in paths
    assert "stick/bomb.zip!/small.jpg" in paths
    assert not (vault.root.parent / "evil.txt").exists()


def test_non_utf8_name_kept_exactly(ingested: tuple[Vault, dict]) -> None:
    vault, _ = ingested
    conn = catalogue(vault)
    raw = [bytes(r[0]) for r in conn.execute("SELECT path FROM occurrences")]
    assert b"stick/photos/" + NON_UTF8 in raw


def test_duplicate_content_is_one_item_two_occurrences(ingested: tuple[Vault, dict]) -> None:
    vault, _ = ingested
    conn = catalogue(vault)
    digest = hashlib.sha256(jpeg_bytes(1)).hexdigest()
    count = conn.execute("SELECT COUNT(*) FROM occurrences WHERE sha256 = ?", (digest,))
    assert count.fetchone()[0] == 2


def test_vault_verifies_after_hostile_ingest(ingested: tuple[Vault, dict]) -> None:
    vault, _ = ingested
    report = verify(vault, jobs=1)
    assert report.ok, report.problems


def test_reingest_adds_nothing(ingested: tuple[Vault, dict], hostile: Path) -> None:
    vault, _ = ingested
    again = IngestSession(vault, IngestOptions([hostile], "hostile stick", "tester")).run()
    assert again.tally.items_new == 0
    assert again.tally.occurrences_new == 0
    assert verify(vault, jobs=1).ok


def test_unreadable_file_is_listed_and_exit_3(tmp_path: Path) -> None:
    src = tmp_path / "stick"
    src.mkdir()
    (src / "ok.jpg").write_bytes(jpeg_bytes(10))
    secret = src / "locked.jpg"
    secret.write_bytes(jpeg_bytes(11))
    secret.chmod(0)
    locked_dir = src / "locked-folder"
    locked_dir.mkdir()
    (locked_dir / "inside.jpg").write_bytes(jpeg_bytes(12))
    locked_dir.chmod(0)
    vault = tmp_path / "vault"
    assert run_dalil("init", "--vault", vault).returncode == 0
    prefix: list[str] = []
    if os.geteuid() == 0:  # root reads everything: drop the capabilities that allow it
        caps = "-dac_override,-dac_read_search"
        prefix = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]
    try:
        result = run_dalil("ingest", src, "--from", "x", "--vault", vault, "--json", prefix=prefix)
    finally:
        secret.chmod(0o644)
        locked_dir.chmod(0o755)
    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    reasons = {u["path"]: u["reason"] for u in report["unreadable"]}
    assert "Permission denied" in reasons["stick/locked.jpg"]
    assert "Permission denied" in reasons["stick/locked-folder"]
    assert report["items_new"] == 1
