"""Ingest of real camera files: everything preserved, metadata equal to exiftool's."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from dalil.verify import verify
from tests.conftest import PASSWORD, catalogue


@pytest.fixture(scope="module")
def samples() -> Path:
    from tests.conftest import CORPUS

    path = CORPUS / "exif-samples"
    if not path.is_dir():
        pytest.skip(f"the shared corpus is absent ({path}); it is not part of a clone")
    return path


@pytest.fixture(scope="module")
def vault(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Vault:
    vault = Vault.init(tmp_path_factory.mktemp("corpus") / "vault", "tester", PASSWORD)
    report = IngestSession(vault, IngestOptions([samples], "exif-samples", "tester")).run()
    assert report.tally.unreadable == []
    return vault


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_every_file_preserved_byte_for_byte(vault: Vault, samples: Path) -> None:
    store = vault.store()
    for path in _files(samples):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert store.path(digest).read_bytes() == path.read_bytes(), path


def test_corrupt_file_flagged_and_rest_described(vault: Vault) -> None:
    conn = catalogue(vault)
    flagged = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT o.path_text, f.flag FROM item_flags f JOIN occurrences o USING (sha256)"
        )
    }
    assert flagged.get("exif-samples/jpg/corrupted.jpg") == "corrupt"
    images = conn.execute("SELECT COUNT(*) FROM items WHERE media_type LIKE 'image/%'").fetchone()
    thumbs = conn.execute("SELECT COUNT(*) FROM derivatives").fetchone()
    prints = conn.execute("SELECT COUNT(*) FROM fingerprints").fetchone()
    assert images[0] == thumbs[0] == prints[0] > 90  # every image, HEIC and TIFF included
    assert verify(vault, jobs=2).ok


def _exiftool(samples: Path) -> list[dict[str, object]]:
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed (scripts/setup.sh installs it)")
    out = subprocess.run(
        [
            "exiftool",
            "-j",
            "-n",
            "-r",
            "-q",
            "-q",
            "-ext",
            "jpg",
            "-ext",
            "jpeg",
            "-ext",
            "heic",
            "-ext",
            "heif",
            "-ext",
            "tiff",
            "-IFD0:Make",
            "-IFD0:Model",
            "-ExifIFD:DateTimeOriginal",
            "-IFD0:Orientation",
            "-Composite:GPSLatitude",
            "-Composite:GPSLongitude",
            str(samples),
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return list(json.loads(out))


def _norm_time(value: str) -> str:
    return value.replace(":", "-", 2).replace(" ", "T")[:19]


def test_metadata_matches_exiftool(vault: Vault, samples: Path) -> None:
    records = _exiftool(samples)
    assert len(records) > 90
    conn = catalogue(vault)
    conn.row_factory = sqlite3.Row
    compared = {"make": 0, "model": 0, "time": 0, "gps": 0, "orientation": 0}
    for record in records:
        path = Path(str(record["SourceFile"]))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        row = conn.execute("SELECT * FROM metadata WHERE sha256 = ?", (digest,)).fetchone()
        assert row is not None, path
        if "Make" in record:
            assert row["camera_make"] == str(record["Make"]).strip(), path
            compared["make"] += 1
        if "Model" in record:
            assert row["camera_model"] == str(record["Model"]).strip(), path
            compared["model"] += 1
        if "DateTimeOriginal" in record and str(record["DateTimeOriginal"])[:4] != "0000":
            assert row["captured_at"] is not None, path
            assert row["captured_at"][:19] == _norm_time(str(record["DateTimeOriginal"])), path
            compared["time"] += 1
        if "GPSLatitude" in record and "GPSLongitude" in record:
            assert row["gps_lat"] == pytest.approx(float(record["GPSLatitude"]), abs=1e-5), path
            assert row["gps_lon"] == pytest.approx(float(record["GPSLongitude"]), abs=1e-5), path
            compared["gps"] += 1
        if "Orientation" in record:
            assert row["orientation"] == record["Orientation"], path
            compared["orientation"] += 1
    assert compared["make"] > 50 and compared["gps"] >= 9 and compared["orientation"] > 40
    assert compared["time"] > 40
