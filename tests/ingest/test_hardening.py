"""What broke when a vault was interrupted, filled up or fed hostile input, and must not again."""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import signal
import subprocess
import zipfile
from pathlib import Path

import pytest

from dalil.ingest import worker
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from dalil.verify import verify
from tests.conftest import catalogue, dalil_command, jpeg_bytes, run_dalil


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2013, 5, 4, 10, 0, 0)), data)
    return buffer.getvalue()


def _occurrences(vault: Vault) -> list[tuple[str, bytes]]:
    conn = catalogue(vault)
    return sorted(conn.execute("SELECT source_label, path FROM occurrences").fetchall())


def test_two_members_with_the_same_name_are_both_kept(vault: Vault, tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        data = _zip([("photo.jpg", jpeg_bytes(1)), ("photo.jpg", jpeg_bytes(2))])
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "twice.zip").write_bytes(data)
    report = IngestSession(vault, IngestOptions([tmp_path / "in"], "x", "tester")).run()
    assert report.tally.items_new == 3  # the archive and both pictures
    paths = [p for _, p in _occurrences(vault)]
    assert b"in/twice.zip!/photo.jpg" in paths and b"in/twice.zip!1/photo.jpg" in paths
    flagged = {f["path"]: f["flags"] for f in report.tally.flagged}
    assert "zip_duplicate_names" in flagged["in/twice.zip"]


def test_a_known_archive_from_a_new_source_records_its_members_there(
    vault: Vault, tmp_path: Path
) -> None:
    data = _zip([("a.jpg", jpeg_bytes(3)), ("b.jpg", jpeg_bytes(4))])
    for stick in ("one", "two"):
        (tmp_path / stick).mkdir()
        (tmp_path / stick / "cards.zip").write_bytes(data)
        IngestSession(vault, IngestOptions([tmp_path / stick], stick, "tester")).run()
    by_source = {}
    for source, path in _occurrences(vault):
        by_source.setdefault(source, []).append(path)
    assert len(by_source["two"]) == 3, by_source  # the zip and both members, as on "one"
    assert verify(vault, jobs=1).ok


def test_a_file_that_grows_while_read_is_flagged(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in" / "growing.log"
    source.parent.mkdir()
    source.write_bytes(b"first line\n" * 100)
    real = worker._Source.read

    def read_then_grow(self: worker._Source, n: int = -1) -> bytes:
        chunk = real(self, n)
        with source.open("ab") as fh:  # another program keeps writing to it
            fh.write(b"more\n")
        return chunk

    monkeypatch.setattr(worker._Source, "read", read_then_grow)
    report = IngestSession(vault, IngestOptions([source.parent], "x", "tester", jobs=1)).run()
    [flagged] = report.tally.flagged
    assert "changed_while_read" in flagged["flags"]
    assert "1100 bytes when opened" in flagged["reasons"]["changed_while_read"]


def _limited(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("size", [2_000_000, 80_000_000], ids=["in-memory", "streamed"])
def test_a_full_disk_stops_cleanly_and_records_nothing_false(tmp_path: Path, size: int) -> None:
    vault = tmp_path / "vault"
    assert run_dalil("init", "--vault", vault, "--as", "amina").returncode == 0
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "small.txt").write_bytes(b"small")
    (stick / "video.bin").write_bytes(os.urandom(size))
    full = subprocess.run(
        dalil_command("ingest", stick, "--from", "s", "--vault", vault, "--as", "amina"),
        capture_output=True, text=True, preexec_fn=lambda: _limited(1_500_000), check=False,
    )  # fmt: skip
    assert full.returncode == 2, full.stderr
    assert "Traceback" not in full.stderr
    assert "cannot write to the vault" in full.stderr or "disk is full" in full.stderr
    ledger = catalogue(vault, "ledger")
    events = " ".join(r[0] for r in ledger.execute("SELECT event FROM ledger"))
    assert "unreadable" not in events  # the source was never at fault
    again = run_dalil("ingest", stick, "--from", "s", "--vault", vault, "--as", "amina", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["resumed"] is True
    assert run_dalil("verify", "--vault", vault).returncode == 0


def test_terminal_escapes_in_names_never_reach_the_terminal(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    run_dalil("init", "--vault", vault, "--as", "amina")
    stick = tmp_path / "stick"
    stick.mkdir()
    evil = "x\x1b]0;owned\x07\x1b[2J[bold]\u202egpj.exe"
    whole = jpeg_bytes(5)
    (stick / f"{evil}.jpg").write_bytes(whole[: len(whole) // 2])  # flagged: it is listed
    os.symlink("\x1b[31mred", stick / f"link{evil}")
    done = run_dalil("ingest", stick, "--from", f"from {evil}", "--vault", vault, "--as", "amina")
    assert done.returncode == 0, done.stderr
    for command in (["acquisitions"], ["items"], ["verify"]):
        out = run_dalil(*command, "--vault", vault)
        assert "\x1b" not in out.stdout + out.stderr and "\u202e" not in out.stdout
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout
    assert "\\x1b]0;owned" in done.stdout  # shown, harmlessly


def test_an_object_that_can_be_changed_behind_dalil_s_back_is_reported(
    vault: Vault, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    for i in range(3):
        (tmp_path / "in" / f"{i}.jpg").write_bytes(jpeg_bytes(10 + i))
    IngestSession(vault, IngestOptions([tmp_path / "in"], "x", "tester")).run()
    assert verify(vault, jobs=1).ok
    first, second, third = sorted(p for _, p in vault.store().iter_objects())
    os.chmod(first, 0o644)  # writable
    outside = tmp_path / "outside.jpg"
    shutil.copyfile(second, outside)
    second.unlink()
    os.symlink(outside, second)  # a link to a file anyone may write
    os.link(third, tmp_path / "another-name.jpg")  # a second name, writable elsewhere
    problems = verify(vault, jobs=1).problems
    unprotected = {p.sha256: p.detail for p in problems if p.kind == "object_unprotected"}
    assert "is writable" in unprotected[first.name]
    assert "symbolic link" in unprotected[second.name]
    assert "2 names" in unprotected[third.name]


def test_a_large_archive_is_opened_once_per_batch_of_thousands(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [(f"f{i:05d}.txt", f"{i}".encode()) for i in range(6000)]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "many.zip").write_bytes(_zip(entries))
    opened = []
    real = zipfile.ZipFile

    def counting(*args: object, **kwargs: object) -> zipfile.ZipFile:
        opened.append(args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(worker.zipfile, "ZipFile", counting)
    report = IngestSession(
        vault, IngestOptions([tmp_path / "in"], "x", "tester", jobs=1, group=False)
    ).run()
    assert report.tally.files_seen == 6001
    assert len(opened) <= 3  # listed once, read once (was once per 64 members: 95 times)


def test_an_interrupted_bundle_export_is_started_over(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    run_dalil("init", "--vault", vault, "--as", "amina")
    (tmp_path / "in").mkdir()
    for i in range(3):
        (tmp_path / "in" / f"{i}.jpg").write_bytes(jpeg_bytes(20 + i))
    run_dalil("ingest", tmp_path / "in", "--from", "x", "--vault", vault, "--as", "amina")
    listing = tmp_path / "items.txt"
    conn = catalogue(vault)
    listing.write_text("\n".join(r[0] for r in conn.execute("SELECT sha256 FROM items")))
    out = tmp_path / "exhibit"
    args = ["export", "bundle", out, "--items", listing, "--no-report", "--vault", vault]
    killed = subprocess.run(
        dalil_command(*args, "--as", "amina"),
        env={**os.environ, "DALIL_KILL_AT": "export.originals-copied"},
        capture_output=True, check=False,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    assert (out / ".dalil-export-incomplete").is_file()
    again = run_dalil(*args, "--as", "amina", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["restarted"] is True
    assert not (out / ".dalil-export-incomplete").exists()
    check = subprocess.run(
        ["python3", str(out / "verify_bundle.py"), str(out)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    refused = run_dalil(*args, "--as", "amina")  # a finished bundle is never overwritten
    assert refused.returncode == 2 and "not empty" in refused.stderr
