"""kill -9 at any moment, then the same command again: the job completes, nothing is lost."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ON_POSTGRES, catalogue, dalil_command, jpeg_bytes, run_dalil


@pytest.fixture(scope="module")
def big_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("kill") / "stick"
    for folder in range(4):
        (src / f"DCIM/10{folder}CAM").mkdir(parents=True)
        for i in range(40):
            n = folder * 40 + i
            data = jpeg_bytes(n, (640, 480))
            (src / f"DCIM/10{folder}CAM/IMG_{n:04d}.JPG").write_bytes(data)
    with zipfile.ZipFile(src / "handover.zip", "w") as zf:
        for i in range(30):
            zf.writestr(f"batch/IMG_{i:04d}.JPG", jpeg_bytes(1000 + i, (640, 480)))
        zf.writestr("batch/dup.JPG", jpeg_bytes(3, (640, 480)))
    return src


def _open_acquisition(vault: Path) -> bool:
    try:
        if ON_POSTGRES:
            conn = catalogue(vault)
        else:
            conn = sqlite3.connect(f"file:{vault / 'catalog.sqlite'}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT 1 FROM acquisitions WHERE closed_at IS NULL").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return False
    return row is not None


def _kill_during_ingest(command: list[str], vault: Path, seconds: float) -> None:
    """Start ingest, wait until it has opened its acquisition, then kill -9 it after a delay."""
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while not _open_acquisition(vault) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(seconds)
    assert proc.poll() is None, "ingest finished before it could be killed"
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the main process and its workers, mid-write
    proc.wait()


def test_kill_nine_then_rerun_completes(big_source: Path, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    assert run_dalil("init", "--vault", vault).returncode == 0
    config = vault / "dalil.toml"  # small batches: more transaction boundaries to land in
    config.write_text(config.read_text().replace("batch_size = 200", "batch_size = 8"))
    command = dalil_command(
        "ingest", big_source, "--from", "stick #7", "--vault", vault, "--jobs", "2"
    )
    rng = random.Random(20261126)
    for _ in range(3):
        _kill_during_ingest(command, vault, rng.uniform(0.0, 0.8))
    done = run_dalil(*command[3:], "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["resumed"], "no kill landed mid-ingest"
    check = run_dalil("verify", "--vault", vault, "--json")
    report = json.loads(check.stdout)
    assert report["ok"], report["problems"]
    assert check.returncode == 0

    conn = catalogue(vault)
    # 160 loose photos + 30 zip members (+1 duplicate member) + the zip itself
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 160 + 30 + 1
    assert conn.execute("SELECT COUNT(*) FROM occurrences").fetchone()[0] == 160 + 31 + 1
    acquisitions = conn.execute("SELECT label, closed_at FROM acquisitions").fetchall()
    assert len(acquisitions) == 1 and acquisitions[0][1] is not None
    objects = [p for p in (vault / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 191
    assert not [p for p in (vault / "tmp").iterdir() if p.is_file()]

    again = run_dalil(*command[3:], "--json")
    assert json.loads(again.stdout)["occurrences_new"] == 0
