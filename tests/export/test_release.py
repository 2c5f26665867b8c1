"""Public releases from real camera photos (serials, GPS, maker notes): exiftool finds nothing."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from dalil.cases import model, review
from dalil.errors import UsageError
from dalil.export.release import (
    ReleaseReport,
    UnsafeCopy,
    check_clean_jpeg,
    encode_clean_jpeg,
    release,
)
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from tests.conftest import PASSWORD, add_users, copy_vault, jpeg_bytes, run_dalil, sign_and_verify

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "exif-samples"

# A subset, to keep the run short: cameras with serials and maker notes, GPS, XMP, HEIC, TIFF,
# EXIF orientations and a text file; the fixture adds a truncated JPEG.
SUBSET = (
    "jpg/Canon_40D.jpg",
    "jpg/Canon_40D_photoshop_import.jpg",
    "jpg/Nikon_D70.jpg",
    "jpg/Pentax_K10D.jpg",
    "jpg/Olympus_C8080WZ.jpg",
    "jpg/Panasonic_DMC-FZ30.jpg",
    "jpg/Fujifilm_FinePix_E500.jpg",
    "jpg/Sony_HDR-HC3.jpg",
    "jpg/Reconyx_HC500_Hyperfire.jpg",
    "jpg/Konica_Minolta_DiMAGE_Z3.jpg",
    "jpg/long_description.jpg",
    "jpg/PaintTool_sample.jpg",
    "jpg/corrupted.jpg",
    "jpg/gps/DSCN0010.jpg",
    "jpg/gps/DSCN0012.jpg",
    "jpg/gps/DSCN0021.jpg",
    "jpg/gps/DSCN0025.jpg",
    "jpg/gps/DSCN0027.jpg",
    "jpg/gps/DSCN0029.jpg",
    "jpg/gps/DSCN0038.jpg",
    "jpg/mobile/jolla.jpg",
    "jpg/hdr/iphone_hdr_YES.jpg",
    "jpg/orientation/landscape_1.jpg",
    "jpg/orientation/landscape_3.jpg",
    "jpg/orientation/landscape_6.jpg",
    "jpg/orientation/landscape_8.jpg",
    "heic/IMG_5195.HEIC",
    "tiff/Arbitro.tiff",
    "jpg/README",
)
MAX_SIDE = 320

# exiftool's own and the file system's facts, and a plain JPEG's structure: nothing else.
ALLOWED = {
    "SourceFile",
    "ExifTool:ExifToolVersion",
    "System:FileName",
    "System:Directory",
    "System:FileSize",
    "System:FileModifyDate",
    "System:FileAccessDate",
    "System:FileInodeChangeDate",
    "System:FilePermissions",
    "File:FileType",
    "File:FileTypeExtension",
    "File:MIMEType",
    "File:ImageWidth",
    "File:ImageHeight",
    "File:EncodingProcess",
    "File:BitsPerSample",
    "File:ColorComponents",
    "File:YCbCrSubSampling",
    "JFIF:JFIFVersion",
    "JFIF:ResolutionUnit",
    "JFIF:XResolution",
    "JFIF:YResolution",
    "Composite:ImageSize",
    "Composite:Megapixels",
}
IDENTIFYING = re.compile(
    r"Make|Model|Serial|Lens|GPS|Date|Time|Software|Artist|Copyright|Owner|Maker|XMP|IPTC|ICC"
    r"|Profile|Comment|Thumbnail|Preview|Photoshop",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Setup:
    root: Path
    cases: tuple[str, str]
    by_name: dict[str, str]  # original file name -> sha256


def _sha_by_name(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute("SELECT path_text, sha256 FROM occurrences").fetchall()
    return {Path(str(p)).name: str(s) for p, s in rows}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared exif-samples corpus is absent ({SAMPLES}); not part of a clone")
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed; the release check needs it")
    base = tmp_path_factory.mktemp("release")
    for rel in SUBSET:
        target = base / "card" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLES / rel, target)
    whole = (SAMPLES / "jpg/gps/DSCN0012.jpg").read_bytes()
    (base / "card" / "damaged.jpg").write_bytes(whole[: len(whole) // 2])
    vault = Vault.init(base / "vault", "amina", PASSWORD)
    add_users(vault, "amina", "omar", "karim")
    IngestSession(vault, IngestOptions([base / "card"], "seized card", "amina")).run()
    conn = vault.connect()
    ledger = vault.ledger(conn)
    amina, omar = model.Actor("amina"), model.Actor("omar")
    by_name = _sha_by_name(conn)
    first = model.new_case(conn, ledger, amina, "person", "Unidentified man, branch 215")
    second = model.new_case(conn, ledger, amina, "person", "Second card")
    halves = sorted(by_name)
    loose = {"landscape_8.jpg"}  # in no case: released by --item only
    model.link(
        conn, ledger, amina, first, [by_name[n] for n in halves[::2] if n not in loose], "face"
    )
    model.link(
        conn, ledger, amina, second, [by_name[n] for n in halves[1::2] if n not in loose], "other"
    )
    verified, _ = model.add_annotation(conn, ledger, amina, first, "identifier", "detainee", "4721")
    review.confirm(conn, ledger, omar, verified)
    model.add_annotation(conn, ledger, amina, first, "identifier", "branch", "215")  # unverified
    conn.close()
    return Setup(vault.root, (first, second), by_name)


def _copy_vault(setup: Setup, tmp_path: Path) -> Vault:
    root = tmp_path / "vault"
    copy_vault(setup.root, root)
    return Vault.open(root)


def _release(vault: Vault, out: Path, **options: Any) -> ReleaseReport:
    conn = vault.connect()
    try:
        return release(vault, conn, vault.ledger(conn), model.Actor("karim"), out, **options)
    finally:
        conn.close()


@dataclass(frozen=True)
class Released:
    vault: Vault
    out: Path
    report: dict[str, Any]


@pytest.fixture(scope="module")
def released(setup: Setup, tmp_path_factory: pytest.TempPathFactory) -> Released:
    vault = _copy_vault(setup, tmp_path_factory.mktemp("released"))
    out = vault.root.parent / "public"
    report = _release(
        vault,
        out,
        cases=list(setup.cases),
        items=[setup.by_name["landscape_8.jpg"]],
        max_side=MAX_SIDE,
    )
    return Released(vault, out, report.to_dict())


def _jpegs(out: Path) -> list[Path]:
    return sorted(out.rglob("*.jpg"))


def _exiftool(paths: list[Path]) -> list[dict[str, Any]]:
    result = subprocess.run(
        ["exiftool", "-j", "-G1", "-a", "-u", *[str(p) for p in paths]],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    tags: list[dict[str, Any]] = json.loads(result.stdout)
    return tags


def test_exiftool_finds_no_identifying_tag_in_any_released_file(
    setup: Setup, released: Released
) -> None:
    files = _jpegs(released.out)
    # every image (the truncated one is not in SUBSET) but the text file
    assert len(files) == len(SUBSET) - 1 == len(released.report["files"])
    # the originals do carry what must go (so the check below is not vacuous)
    originals = _exiftool([SAMPLES / rel for rel in SUBSET if not rel.endswith("README")])
    keys = {k for tags in originals for k in tags}
    for needle in ("SerialNumber", "GPSLatitude", "MakerNote", "XMP-", "ICC", "Model"):
        assert any(needle in k for k in keys), needle
    serials = {
        str(v)
        for tags in originals
        for k, v in tags.items()
        if "Serial" in k and len(str(v)) >= 6 and str(v).strip("0#-")
    }
    assert len(serials) >= 3
    for path in files:
        data = path.read_bytes()
        assert not [s for s in serials if s.encode() in data], path
    for tags in _exiftool(files):
        extra = sorted(set(tags) - ALLOWED)
        assert not extra, f"{tags['SourceFile']} still has {extra}"
        inside = [k for k in tags if not k.startswith(("System:", "SourceFile"))]  # in the file
        assert not [k for k in inside if IDENTIFYING.search(k.split(":")[-1])], tags
        assert tags["File:MIMEType"] == "image/jpeg"
        assert max(int(tags["File:ImageWidth"]), int(tags["File:ImageHeight"])) <= MAX_SIDE


def test_released_bytes_hold_no_camera_strings(setup: Setup, released: Released) -> None:
    conn = released.vault.connect(readonly=True)
    secrets = {
        str(v)
        for row in conn.execute("SELECT camera_make, camera_model, camera_serial FROM metadata")
        for v in row
        if v and len(str(v).strip()) >= 5
    }
    assert any("NIKON" in s.upper() for s in secrets)
    for path in _jpegs(released.out):
        data = path.read_bytes()
        check_clean_jpeg(data)
        for secret in secrets:
            assert secret.strip().encode() not in data, (path, secret)


def test_names_come_from_cases_never_from_originals_or_hashes(
    setup: Setup, released: Released
) -> None:
    first, second = setup.cases
    names = [p.relative_to(released.out).as_posix() for p in _jpegs(released.out)]
    assert all(
        re.fullmatch(rf"({first}|{second})/\1-\d\d\.jpg|no-case/photo-01\.jpg", n) for n in names
    ), names
    assert "no-case/photo-01.jpg" in names
    for case in setup.cases:  # numbered without gaps, though some of their items were skipped
        numbers = sorted(int(n[-6:-4]) for n in names if n.startswith(case))
        assert numbers == list(range(1, len(numbers) + 1))
    fragments = {re.sub(r"\W", "", Path(n).stem.lower()) for n in setup.by_name}
    fragments |= {
        part for n in setup.by_name for part in re.split(r"[_\W]+", Path(n).stem) if len(part) >= 4
    }
    hashes = set(setup.by_name.values()) | {f["copy_sha256"] for f in released.report["files"]}
    for name in names:
        flat = re.sub(r"\W", "", name.lower())
        assert not [
            f for f in fragments if f.lower() in flat and f.lower() not in ("photo", "case")
        ], name
        assert not [h for h in hashes if any(h[i : i + 8] in flat for i in range(0, 57))], name


def test_orientation_is_applied_to_the_pixels(setup: Setup, released: Released) -> None:
    by_source = {f["source_sha256"]: f for f in released.report["files"]}
    for name in ("landscape_1.jpg", "landscape_3.jpg", "landscape_6.jpg", "landscape_8.jpg"):
        copy = by_source[setup.by_name[name]]
        assert copy["width"] > copy["height"], name
    upright = Image.open(released.out / by_source[setup.by_name["landscape_1.jpg"]]["file"])
    turned = Image.open(released.out / by_source[setup.by_name["landscape_6.jpg"]]["file"])
    diff = ImageChops.difference(upright.convert("L"), turned.convert("L").resize(upright.size))
    assert ImageStat.Stat(diff).mean[0] < 20  # the same picture, the same way up


def test_families_csv_has_only_verified_identifiers(setup: Setup, released: Released) -> None:
    text = (released.out / "identifiers.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    first, second = setup.cases
    ids = [(r["case"], r["identifier type"], r["value"]) for r in rows if r["value"]]
    assert ids == [(first, "detainee", "4721")]
    files = {r["case"]: r["files"].split() for r in rows}
    assert set(files) == {first, second, ""}
    for case, listed in files.items():
        for name in listed:
            assert (released.out / name).is_file() and name.startswith(case or "no-case")
    readme = (released.out / "README.txt").read_text()
    assert "GPS" in readme and "serial" in readme


def test_skipped_items_are_listed_with_reasons(setup: Setup, released: Released) -> None:
    skipped = {s["sha256"]: s for s in released.report["skipped"]}
    assert skipped[setup.by_name["README"]]["why"] == "not-an-image"
    assert skipped[setup.by_name["damaged.jpg"]]["why"] == "undecodable"
    assert len(skipped) == 2


def test_every_copy_is_a_recorded_derivative_and_verify_stays_clean(released: Released) -> None:
    conn = released.vault.connect(readonly=True)
    release_id = released.report["release"]
    events = [json.loads(r[0]) for r in conn.execute("SELECT event FROM ledger ORDER BY seq")]
    by_copy = {e["details"]["copy_sha256"]: e for e in events if e["action"] == "release.file"}
    derivatives = {
        (r["sha256"], json.loads(r["recipe"])["copy_sha256"])
        for r in conn.execute(
            "SELECT * FROM derivatives WHERE kind = ?", (f"release-{release_id}",)
        )
    }
    files = released.report["files"]
    assert len(by_copy) == len(derivatives) == len(files)
    for f in files:
        data = (released.out / f["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["copy_sha256"]
        event = by_copy[f["copy_sha256"]]
        assert event["subject"] == f"sha256:{f['source_sha256']}"
        assert {k: v for k, v in event["details"].items() if k not in ("payload", "signature")} == {
            "sha256": f["source_sha256"],
            "copy_sha256": f["copy_sha256"],
            "release": release_id,
            "file": f["file"],
        }
        assert (f["source_sha256"], f["copy_sha256"]) in derivatives
    created = [e for e in events if e["action"] == "release.created"]
    assert len(created) == 1 and created[0]["actor"] == "karim"
    assert created[0]["details"]["out"] == "public" and created[0]["details"]["files"] == len(files)
    assert sign_and_verify(released.vault).ok


def test_blur_changes_the_pixels_and_unverified_can_be_included(
    setup: Setup, tmp_path: Path, released: Released
) -> None:
    vault = _copy_vault(setup, tmp_path)
    out = tmp_path / "blurred"
    _release(vault, out, cases=[setup.cases[0]], max_side=MAX_SIDE, blur=4, only_verified=False)
    sharp_dir = released.out / setup.cases[0]
    for blurred in sorted((out / setup.cases[0]).glob("*.jpg"))[:3]:
        with Image.open(blurred) as b, Image.open(sharp_dir / blurred.name) as s:
            assert b.size == s.size
            diff = ImageChops.difference(b.convert("L"), s.convert("L"))
            assert ImageStat.Stat(diff).extrema[0][1] > 30
    text = (out / "identifiers.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    got = {(r["identifier type"], r["value"], r["verified"]) for r in rows}
    assert got == {("detainee", "4721", "yes"), ("branch", "215", "no")}


def test_refuses_non_empty_folders_and_the_vault(setup: Setup, tmp_path: Path) -> None:
    vault = _copy_vault(setup, tmp_path)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        _release(vault, busy, cases=[setup.cases[1]])
    for inside in (vault.root / "public", vault.root, tmp_path):
        with pytest.raises(UsageError, match="vault"):
            _release(vault, inside, cases=[setup.cases[1]], force=True)
    with pytest.raises(UsageError, match="crop"):
        _release(vault, tmp_path / "x", cases=[setup.cases[1]], crop=(0.5, 0, 0.2, 1))
    assert not (vault.root / "public").exists() and not (tmp_path / "x").exists()
    forced = _release(vault, busy, cases=[setup.cases[1]], max_side=64, force=True)
    assert forced.to_dict()["files"] and (busy / "notes.txt").read_text() == "mine"


def test_cli_release_with_crop(setup: Setup, tmp_path: Path) -> None:
    vault = _copy_vault(setup, tmp_path)
    out = tmp_path / "out"
    sha = setup.by_name["DSCN0010.jpg"]  # 640 x 480
    args: list[str | Path] = [
        "export",
        "release",
        out,
        "--item",
        sha[:12],
        "--max-side",
        "200",
        "--crop",
    ]
    result = run_dalil(*args, "0,0,0.5,1", "--vault", vault.root, "--as", "karim", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (copy,) = report["files"]
    assert copy["source_sha256"] == sha and copy["file"].endswith("-01.jpg")
    assert (copy["width"], copy["height"]) == (133, 200)  # the left half, 320 x 480, reduced
    assert _exiftool([out / copy["file"]])[0].keys() <= ALLOWED
    again = run_dalil(*args, "0,0,0.5,1", "--vault", vault.root, "--as", "karim")
    assert again.returncode == 2 and "not empty" in " ".join(again.stderr.split())
    nothing = run_dalil("export", "release", tmp_path / "o2", "--vault", vault.root)
    assert nothing.returncode == 2 and "--case" in nothing.stderr


def test_the_jpeg_check_refuses_metadata() -> None:
    with_exif = jpeg_bytes(1)  # carries make, model, serial in APP1
    with pytest.raises(UnsafeCopy, match="FFE1"):
        check_clean_jpeg(with_exif)
    with Image.open(io.BytesIO(with_exif)) as im:
        im.load()
        clean = encode_clean_jpeg(im)
    check_clean_jpeg(clean)
    assert b"SN-0001" not in clean and b"Dalil" not in clean
    with pytest.raises(UnsafeCopy, match="after its end"):
        check_clean_jpeg(clean + b"hidden")
    with pytest.raises(UnsafeCopy, match="cut short"):
        check_clean_jpeg(clean[: len(clean) // 2])
    commented = clean[:2] + b"\xff\xfe\x00\x07Nikon" + clean[2:]
    with pytest.raises(UnsafeCopy, match="FFFE"):
        check_clean_jpeg(commented)
