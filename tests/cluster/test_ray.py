"""Ingest, verify and OCR on a Ray cluster: the same stage functions, the same results, one
ledger; a worker killed mid-run loses nothing."""

from __future__ import annotations

import collections
import io
import os
import signal
import subprocess
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from dalil.verify import verify
from tests.cluster.conftest import RayCluster
from tests.conftest import PASSWORD, catalogue, dalil_command, jpeg_bytes, run_dalil, write_photos

ROWS = {
    "items": "SELECT sha256, size, media_type FROM items",
    "occurrences": "SELECT sha256, path, size, mtime_ns, mode FROM occurrences",
    "metadata": "SELECT * FROM metadata",
    "fingerprints": "SELECT * FROM fingerprints",
    "flags": "SELECT * FROM item_flags",
    "derivatives": "SELECT sha256, kind, path, width, height, recipe, file_sha256 FROM derivatives",
    "links": "SELECT a, b, stage, distance, variant FROM pair_checks",
}


def _collection(folder: Path) -> None:
    """Photographs (two of them copies of another, resized), a zip with more, a broken file."""
    write_photos(folder, 8)
    blocks = np.random.default_rng(7).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    textured = Image.fromarray(blocks, "RGB").resize((640, 480), Image.Resampling.NEAREST)
    textured.save(folder / "textured.jpg", quality=92)
    textured.resize((320, 240)).save(folder / "copy-small.jpg", quality=60)  # a copy of it
    (folder / "broken.jpg").write_bytes(jpeg_bytes(5)[:900])
    (folder / "notes.txt").write_text("not a photograph")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(20, 23):
            zf.writestr(f"inner/IMG_{i}.JPG", jpeg_bytes(i))
    (folder / "archive.zip").write_bytes(buffer.getvalue())


def _catalogue(vault: Vault) -> dict[str, Any]:
    conn = catalogue(vault)
    try:
        return {name: sorted(map(repr, conn.execute(sql))) for name, sql in ROWS.items()}
    finally:
        conn.close()


def _actions(vault: Vault) -> collections.Counter[tuple[str, str]]:
    """Every ledger event as (action, subject): the same events, whatever order results came
    back in (times and signatures differ, of course)."""
    conn = vault.connect(readonly=True)
    try:
        return collections.Counter(
            (e["action"], e["subject"])
            for e in vault.ledger(conn).events()
            if e["action"] != "vault.created"
        )
    finally:
        conn.close()


def test_ray_ingest_equals_local_ingest_item_for_item(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    _collection(tmp_path / "stick")
    here = Vault.init(tmp_path / "here", "tester", PASSWORD)
    there = Vault.init(tmp_path / "there", "tester", PASSWORD)
    local = IngestSession(here, IngestOptions([tmp_path / "stick"], "stick", "tester", jobs=2))
    remote = IngestSession(
        there, IngestOptions([tmp_path / "stick"], "stick", "tester", ray=ray_cluster.address)
    )
    a, b = local.run(), remote.run()
    assert a.tally.items_new == b.tally.items_new == 16  # 13 files (the zip too) and its 3 members
    assert a.tally.flagged == b.tally.flagged
    ours, theirs = _catalogue(here), _catalogue(there)
    for name in ROWS:
        assert ours[name] == theirs[name], name
    assert ours["links"], "the resized copy was grouped, on both"
    assert _actions(here) == _actions(there)
    assert verify(there, ray=ray_cluster.address).ok
    assert verify(here).ok


def test_verify_on_ray_finds_an_altered_object(ray_cluster: RayCluster, tmp_path: Path) -> None:
    write_photos(tmp_path / "stick", 4)
    vault = Vault.init(tmp_path / "vault", "tester", PASSWORD)
    IngestSession(
        vault, IngestOptions([tmp_path / "stick"], "stick", "tester", ray=ray_cluster.address)
    ).run()
    victim = next(p for p in (vault.objects_dir / "sha256").rglob("*") if p.is_file())
    victim.chmod(0o644)
    victim.write_bytes(b"altered")
    victim.chmod(0o444)
    result = run_dalil("verify", "--ray", ray_cluster.address, "--vault", vault.root, "--json")
    assert result.returncode == 1
    assert victim.name in result.stdout and "object_altered" in result.stdout


def _ray_workers_running(name: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", f"ray::{name}"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_a_worker_killed_mid_run_loses_nothing(ray_cluster: RayCluster, tmp_path: Path) -> None:
    # photographs large enough that a task runs for a while (a worker is seen at work)
    (tmp_path / "stick").mkdir()
    photos = []
    for i in range(40):
        photos.append(tmp_path / "stick" / f"IMG_{i:04d}.JPG")
        photos[-1].write_bytes(jpeg_bytes(i, (1600, 1200)))
    vault = Vault.init(tmp_path / "vault", "tester", PASSWORD)
    killed: list[int] = []
    finished = threading.Event()

    def kill_one() -> None:
        while not finished.is_set() and not killed:
            for pid in _ray_workers_running("_run_one"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                killed.append(pid)
                return
            time.sleep(0.01)

    command = dalil_command(
        "ingest", tmp_path / "stick", "--from", "stick", "--ray", ray_cluster.address,
        "--no-group", "--vault", vault.root, "--as", "tester", "--json",
    )  # fmt: skip
    killer = threading.Thread(target=kill_one)
    killer.start()
    first = subprocess.run(command, capture_output=True, text=True, timeout=600)
    finished.set()
    killer.join()
    assert killed, "no Ray worker was seen running a task"
    if first.returncode != 0:  # the run may stop; running it again completes it
        again = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stderr
    conn = catalogue(vault)
    items = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    paths = [r[0] for r in conn.execute("SELECT path_text FROM occurrences")]
    conn.close()
    assert items == len(photos)
    assert len(paths) == len(set(paths)) == len(photos), "every file recorded exactly once"
    assert verify(vault).ok


def test_the_vault_setting_chooses_ray(ray_cluster: RayCluster, tmp_path: Path) -> None:
    from tests.store.conftest import set_settings

    write_photos(tmp_path / "stick", 3)
    vault = Vault.init(tmp_path / "vault", "tester", PASSWORD)
    set_settings(vault.root, executor="ray", ray_address=ray_cluster.address)
    result = run_dalil(
        "ingest", tmp_path / "stick", "--from", "stick", "--vault", vault.root, "--as", "tester"
    )
    assert result.returncode == 0, result.stderr
    config = vault.root / "dalil.toml"
    config.write_text(config.read_text().replace('executor = "ray"', 'executor = "cluster"'))
    wrong = run_dalil("verify", "--vault", vault.root)
    assert wrong.returncode == 2 and 'executor must be "local" or "ray"' in wrong.stderr


def test_an_unreachable_cluster_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="ray is a test dependency (pip)")
    from tests.store.conftest import closed_port_url

    address = closed_port_url().removeprefix("http://")  # nothing listens there
    write_photos(tmp_path / "stick", 1)
    vault = Vault.init(tmp_path / "vault", "tester", PASSWORD)
    result = run_dalil(
        "ingest", tmp_path / "stick", "--from", "stick", "--ray", address,
        "--vault", vault.root, "--as", "tester", "--json",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Ray cluster" in result.stderr and "Traceback" not in result.stderr


def test_ocr_on_ray_reads_what_the_local_pool_reads(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    import json

    from dalil.demo.generate import generate_collection

    generate_collection(tmp_path / "cards", cards=2, seed=21, photo_size=(1200, 900))
    read = {}
    for name, extra in (("here", []), ("there", ["--ray", ray_cluster.address])):
        root = tmp_path / name
        Vault.init(root, "tester", PASSWORD)

        def dalil(*args: str, root: Path = root) -> Any:
            out = run_dalil(*args, "--vault", root, "--as", "tester", "--json")
            assert out.returncode in (0, 3), out.stderr
            return json.loads(out.stdout)

        dalil("ingest", str(tmp_path / "cards"), "--from", "generated cards")
        dalil("cases", "accept", *dalil("cases", "propose")["proposed"])
        report = dalil("cases", "ocr", *extra)
        assert report["photos_read"] >= 4, report
        conn = catalogue(root)
        read[name] = sorted(map(tuple, conn.execute("SELECT sha256, readings FROM ocr_runs")))
        conn.close()
    assert read["here"] == read["there"]


def test_ray_workers_read_a_source_bucket_themselves(
    ray_cluster: RayCluster, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.store.conftest import s3_server_running

    write_photos(tmp_path / "stick", 6)
    with s3_server_running(tmp_path_factory.mktemp("aws")) as s3:
        client: Any = s3.client()
        bucket = s3.new_bucket()
        for photo in (tmp_path / "stick").iterdir():
            client.put_object(Bucket=bucket, Key=f"in/{photo.name}", Body=photo.read_bytes())
        vault = Vault.init(tmp_path / "vault", "tester", PASSWORD)
        result = run_dalil(
            "ingest", f"s3://{bucket}/in", "--source-endpoint", s3.endpoint, "--ray",
            ray_cluster.address, "--from", "bucket", "--vault", vault.root, "--as", "tester",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    conn = catalogue(vault)
    paths = sorted(r[0] for r in conn.execute("SELECT path_text FROM occurrences"))
    conn.close()
    assert paths == sorted(f"{bucket}/in/{p.name}" for p in (tmp_path / "stick").iterdir())
    assert verify(vault).ok


def test_a_worker_that_does_not_see_the_vault_says_so(tmp_path: Path) -> None:
    from dalil.errors import VaultError
    from dalil.ingest.worker import init_worker
    from dalil.settings import Settings

    with pytest.raises(VaultError, match="does not see the vault folder"):
        init_worker(str(tmp_path / "elsewhere"), Settings())
