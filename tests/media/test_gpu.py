"""GPU decoding: the CPU path, unchanged, wherever no GPU is usable; nvJPEG where one is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dalil.ingest import decode
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.media import gpu, pdq
from dalil.vault import Vault
from tests.conftest import PASSWORD, catalogue, jpeg_bytes, write_photos
from tests.store.conftest import set_settings

ROWS = (
    "SELECT sha256, size, media_type FROM items",
    "SELECT * FROM fingerprints",
    "SELECT sha256, kind, width, height, recipe, file_sha256 FROM derivatives",
)


def _rows(vault: Vault) -> list[list[tuple[object, ...]]]:
    conn = catalogue(vault)
    try:
        return [sorted(conn.execute(sql)) for sql in ROWS]
    finally:
        conn.close()


def test_without_a_gpu_the_cpu_path_runs_unchanged(tmp_path: Path) -> None:
    if gpu.available() is not None:
        pytest.skip("a GPU is usable here: the fallback is what machines without one run")
    write_photos(tmp_path / "stick", 4)
    vaults = []
    for name, device in (("cpu", "cpu"), ("gpu", "gpu")):
        vault = Vault.init(tmp_path / name, "tester", PASSWORD)
        set_settings(vault.root, decode_device=device)
        vault = Vault.open(vault.root)
        report = IngestSession(
            vault, IngestOptions([tmp_path / "stick"], "stick", "tester", jobs=2)
        ).run()
        vaults.append((vault, report))
    (cpu_vault, cpu_report), (gpu_vault, gpu_report) = vaults
    assert _rows(cpu_vault) == _rows(gpu_vault), "same fingerprints, thumbnails and recipes"
    assert not cpu_report.notes
    assert any("no GPU is usable here" in n for n in gpu_report.notes)
    with pytest.raises(RuntimeError, match="no GPU decoding here"):
        gpu.decode_reduced([jpeg_bytes(1)], 256)
    assert decode.use_gpu(True) is None


def test_dalil_gpu_0_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a GPU is usable (the device tool's machine), ``DALIL_GPU=0`` turns it off."""
    if gpu.available() is None:
        pytest.skip("no GPU usable here: nothing to turn off")
    monkeypatch.setenv("DALIL_GPU", "0")
    gpu.available.cache_clear()
    try:
        assert gpu.available() is None
    finally:
        monkeypatch.undo()
        gpu.available.cache_clear()


def test_the_reduction_keeps_both_sides_at_least_the_side_asked() -> None:
    assert decode.scale_for((4000, 3000), 256) == 8
    assert decode.scale_for((1200, 900), 256) == 2
    assert decode.scale_for((300, 200), 256) == 1


def test_gpu_decode_matches_the_cpu_decode() -> None:
    """Runs only where the device tool lends a GPU (torch with CUDA installed there)."""
    if gpu.available() is None:
        pytest.skip("no GPU usable here (torch with CUDA and a visible GPU): the GPU path is"
                    " tested where one is lent")  # fmt: skip
    datas = [jpeg_bytes(i, (2400, 1800)) for i in range(6)] + [jpeg_bytes(9)[:700]]
    decoded = gpu.decode_reduced(datas, 256)
    assert decoded[-1] is None or decoded[-1].size > 0  # damaged: left to the CPU, or partial
    for data, array in zip(datas[:-1], decoded[:-1], strict=True):
        assert array is not None
        cpu = np.asarray(decode.reduced_image(data, 256))
        assert array.shape == cpu.shape
        assert float(np.abs(array.astype(int) - cpu.astype(int)).mean()) < 4.0
        a = pdq.dihedral_hashes(pdq.luma_from_image(decode.Image.fromarray(array)))["original"]
        b = pdq.dihedral_hashes(pdq.luma_from_image(decode.Image.fromarray(cpu)))["original"]
        assert pdq.hamming(a.hash, b.hash) <= 16
