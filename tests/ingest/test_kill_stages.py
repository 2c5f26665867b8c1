"""An ingest killed at any stage boundary, then run again, gives the vault an uninterrupted
ingest of the same sources gives: the same items, places found and clusters, nothing orphaned.

The boundaries are the named points of ``dalil.faults`` (``DALIL_KILL_AT``), among them the
moment after a zip's own occurrence is recorded but before its members, and grouping.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import zipfile
from pathlib import Path

import pytest

from dalil.vault import Vault
from dalil.verify import verify
from tests.conftest import catalogue, dalil_command, jpeg_bytes, run_dalil

POINTS = [
    "ingest.walked",
    "ingest.batch-recorded:1",
    "ingest.batch-recorded:3",
    "ingest.archive-recorded",
    "ingest.closed",
    "grouping.matched",
    "grouping.recorded",
]


def _sources(root: Path) -> list[Path]:
    stick = root / "stick"
    (stick / "DCIM").mkdir(parents=True)
    for i in range(6):
        (stick / "DCIM" / f"IMG_{i:04d}.JPG").write_bytes(jpeg_bytes(100 + i))
    (stick / "DCIM" / "IMG_0000-small.JPG").write_bytes(jpeg_bytes(100, (160, 120)))
    whole = jpeg_bytes(200)
    (stick / "broken.jpg").write_bytes(whole[: len(whole) // 2])
    os.symlink("/etc/hostname", stick / "a-link")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:

        def put(name: str, data: bytes | str) -> None:  # fixed times: the same bytes each run
            zf.writestr(zipfile.ZipInfo(name, date_time=(2013, 5, 4, 10, 0, 0)), data)

        for i in range(5):
            put(f"photos/p{i}.jpg", jpeg_bytes(300 + i))
        put("photos/p0-copy.jpg", jpeg_bytes(300))  # the same picture, another name
        put("notes.txt", "field notes")
    (stick / "archive.zip").write_bytes(buffer.getvalue())
    return [stick]


def _new_vault(root: Path) -> Path:
    vault = root / "vault"
    assert run_dalil("init", "--vault", vault, "--as", "amina").returncode == 0
    config = vault / "dalil.toml"  # small batches: more boundaries to kill at
    config.write_text(config.read_text().replace("batch_size = 200", "batch_size = 3"))
    return vault


def _ingest(vault: Path, sources: list[Path], kill_at: str | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "DALIL_KILL_AT"}
    if kill_at:
        env["DALIL_KILL_AT"] = kill_at
    done = subprocess.run(
        dalil_command(
            "ingest", *sources, "--from", "USB stick #2", "--vault", vault, "--as", "amina",
            "--jobs", "2",
        ),
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    return done.returncode


def _state(vault_root: Path) -> dict[str, object]:
    conn = catalogue(vault_root)
    clusters: dict[int, set[str]] = {}
    for cid, sha in conn.execute("SELECT cluster_id, sha256 FROM cluster_members"):
        clusters.setdefault(cid, set()).add(sha)
    return {
        "items": sorted(r[0] for r in conn.execute("SELECT sha256 FROM items")),
        "flags": sorted(conn.execute("SELECT sha256, flag FROM item_flags").fetchall()),
        "occurrences": sorted(
            conn.execute("SELECT sha256, source_label, path FROM occurrences").fetchall()
        ),
        "skipped": sorted(
            conn.execute("SELECT DISTINCT path, kind FROM skipped_entries").fetchall()
        ),
        "clusters": sorted(sorted(c) for c in clusters.values()),
    }


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("uninterrupted")
    sources = _sources(root)
    vault = _new_vault(root)
    assert _ingest(vault, sources) == 0
    state = _state(vault)
    assert len(state["items"]) == 15 and state["clusters"]  # type: ignore[arg-type]
    return state


@pytest.mark.parametrize("point", POINTS)
def test_killed_at_a_stage_boundary_then_run_again(
    point: str, expected: dict[str, object], tmp_path: Path
) -> None:
    sources = _sources(tmp_path)
    vault = _new_vault(tmp_path)
    assert _ingest(vault, sources, kill_at=point) == -signal.SIGKILL
    assert _ingest(vault, sources) == 0  # not "busy": no orphaned worker holds the lock
    assert _state(vault) == expected
    report = verify(Vault.open(vault), jobs=1)
    assert report.ok, report.problems  # no orphaned object, nothing unrecorded
    assert not [p for p in (vault / "tmp").iterdir() if p.is_file()]
