"""Tests for :mod:`dalil.demo` -- the synthetic, non-graphic sample collection."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import random
import shutil
import subprocess
import zipfile
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError
from PIL.ExifTags import GPS, IFD, Base

from dalil.demo.generate import (
    FILE_KINDS,
    ZIP_PATH,
    DemoFile,
    DemoManifest,
    default_manifest_path,
    generate_collection,
)
from dalil.demo.handwriting import (
    ARABIC_INDIC_DIGITS,
    SUPPORTED,
    Style,
    draw_text,
    render_specimen,
    text_width,
    to_arabic_indic,
)

CARDS = 6
SIZE = (640, 480)
ARABIC = set(ARABIC_INDIC_DIGITS)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoManifest]:
    root = tmp_path_factory.mktemp("demo") / "collection"
    manifest = generate_collection(root, cards=CARDS, seed=11, photo_size=SIZE)
    return root, manifest


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _photos(m: DemoManifest) -> list[DemoFile]:
    return m.of_kind("photo")


# ------------------------------------------------------------------ layout and counts


def test_manifest_is_next_to_not_inside_the_collection(demo: tuple[Path, DemoManifest]) -> None:
    root, m = demo
    path = default_manifest_path(root)
    assert path == root.parent / "collection.manifest.json"
    assert path.is_file()
    assert root not in path.parents
    assert not any(p.name.endswith(".manifest.json") for p in root.rglob("*"))
    loaded = DemoManifest.read_json(path)
    assert loaded == m
    assert loaded.to_dict() == m.to_dict()


def test_every_file_on_disk_is_in_the_manifest_and_matches(
    demo: tuple[Path, DemoManifest],
) -> None:
    root, m = demo
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    listed = {f.path for f in m.files}
    assert on_disk == listed
    for f in m.files:
        if f.kind == "zip_member":
            continue
        p = root / f.path
        assert p.stat().st_size == f.size, f.path
        assert _sha(p) == f.sha256, f.path


def test_counts_and_kinds(demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    kinds = Counter(f.kind for f in m.files)
    assert set(kinds) == set(FILE_KINDS)
    assert len(m.cards) == CARDS
    # 3-6 shots per card, counting the shots that exist only inside the zip
    shots: Counter[str] = Counter()
    for f in m.of_kind("photo", "zip_member"):
        if f.kind == "photo" or f.source is None:
            assert f.card is not None
            shots[f.card.card_id] += 1
    assert set(shots) == {c.card_id for c in m.cards}
    assert all(3 <= n <= 6 for n in shots.values()), shots
    assert kinds["copy"] >= 3
    assert kinds["duplicate"] >= 2
    assert kinds["zip"] == 1
    assert kinds["pdf"] == 1 and kinds["text"] == 1 and kinds["wrong_extension"] == 1
    assert sorted(f.defect or "" for f in m.of_kind("corrupt")) == [
        "empty",
        "random-bytes",
        "truncated",
    ]
    # nested folders
    assert any(f.path.count("/") >= 2 for f in _photos(m))
    assert {f.camera.camera_id for f in _photos(m) if f.camera} == {"nikon", "canon", "fuji"}


def test_cards_numbers_and_digit_systems(demo: tuple[Path, DemoManifest]) -> None:
    root, m = demo
    systems = Counter(c.digits for c in m.cards)
    assert systems["arabic-indic"] >= 1 and systems["western"] >= 1
    assert {c.style for c in m.cards} == {"handwritten", "printed"}
    for c in m.cards:
        assert c.detainee.isascii() and c.detainee.isdigit() and 4 <= len(c.detainee) <= 5
        assert c.branch in {"215", "227", "235", "248", "251"}
        assert c.report.isascii() and c.report.isdigit()
        if c.digits == "arabic-indic":
            assert c.detainee_written == to_arabic_indic(c.detainee)
            assert set(c.detainee_written) <= ARABIC
            assert set(c.branch_written + c.report_written) <= ARABIC
        else:
            assert (c.detainee_written, c.branch_written, c.report_written) == (
                c.detainee,
                c.branch,
                c.report,
            )
    assert len({c.detainee for c in m.cards}) == len(m.cards)
    text = default_manifest_path(root).read_text(encoding="utf-8")
    assert any(ch in ARABIC for ch in text)  # stored as text, not \u escapes


# ---------------------------------------------------------------------------- photos


def test_photos_decode_and_carry_exif(demo: tuple[Path, DemoManifest]) -> None:
    root, m = demo
    orientations: Counter[int] = Counter()
    for f in _photos(m):
        assert f.camera is not None and f.captured is not None and f.has_exif
        with Image.open(root / f.path) as im:
            im.load()
            assert im.format == "JPEG"
            assert im.size == (f.width, f.height) == SIZE
            exif = im.getexif()
            upright = ImageOps.exif_transpose(im)
        assert exif[Base.Make] == f.camera.make
        assert exif[Base.Model] == f.camera.model
        assert exif[Base.Software] == f.camera.software
        assert exif[Base.Orientation] == f.orientation
        sub = exif.get_ifd(IFD.Exif)
        date, _, time = f.captured[:19].partition("T")
        assert sub[Base.DateTimeOriginal] == f"{date.replace('-', ':')} {time}"
        assert sub[Base.OffsetTimeOriginal] == f.captured[19:]
        assert sub[Base.BodySerialNumber] == f.camera.serial
        assert sub[Base.LensModel] == f.camera.lens
        gps = exif.get_ifd(IFD.GPSInfo)
        if f.camera.has_gps:
            assert f.gps is not None
            assert gps[GPS.GPSLatitudeRef] == "N" and gps[GPS.GPSLongitudeRef] == "E"
            d, mi, s = (float(v) for v in gps[GPS.GPSLatitude])
            assert d + mi / 60 + s / 3600 == pytest.approx(f.gps[0], abs=1e-9)
            d, mi, s = (float(v) for v in gps[GPS.GPSLongitude])
            assert d + mi / 60 + s / 3600 == pytest.approx(f.gps[1], abs=1e-9)
        else:
            assert not gps and f.gps is None
        # rotated shots are stored landscape and display portrait
        expected = SIZE if f.orientation == 1 else (SIZE[1], SIZE[0])
        assert upright.size == expected
        orientations[f.orientation or 0] += 1
    assert orientations[1] > orientations[6] + orientations[8]
    assert orientations[6] >= 1 and orientations[8] >= 1


def test_capture_times(demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    by_card: dict[str, list[datetime]] = {}
    for f in m.of_kind("photo", "zip_member"):
        assert f.captured is not None and f.card is not None
        t = datetime.fromisoformat(f.captured)
        assert t.utcoffset() is not None
        assert 2012 <= t.year <= 2013
        by_card.setdefault(f.card.card_id, []).append(t)
    for times in by_card.values():
        assert (max(times) - min(times)).total_seconds() < 60
    days = {min(ts).date() for ts in by_card.values()}
    assert len(days) > 1


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_exiftool_reads_the_same_metadata(demo: tuple[Path, DemoManifest]) -> None:
    root, m = demo
    photos = _photos(m)
    tags = [
        "-Make",
        "-Model",
        "-DateTimeOriginal",
        "-OffsetTimeOriginal",
        "-SerialNumber",
        "-GPSLatitude",
        "-GPSLongitude",
        "-Orientation",
    ]
    out = subprocess.run(
        ["exiftool", "-json", "-n", *tags, *[f.path for f in photos]],
        cwd=root,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    rows = {r["SourceFile"]: r for r in json.loads(out)}
    assert len(rows) == len(photos)
    for f in photos:
        r = rows[f.path]
        assert f.camera is not None and f.captured is not None
        assert r["Make"] == f.camera.make
        assert r["Model"] == f.camera.model
        assert str(r["SerialNumber"]) == f.camera.serial
        assert r["DateTimeOriginal"] == f.captured[:19].replace("-", ":").replace("T", " ")
        assert r["OffsetTimeOriginal"] == f.captured[19:]
        assert r["Orientation"] == f.orientation
        if f.gps is not None:
            assert r["GPSLatitude"] == pytest.approx(f.gps[0], abs=1e-6)
            assert r["GPSLongitude"] == pytest.approx(f.gps[1], abs=1e-6)
        else:
            assert "GPSLatitude" not in r and "GPSLongitude" not in r


# --------------------------------------------------------------- copies and duplicates


def test_recirculated_copies(demo: tuple[Path, DemoManifest]) -> None:
    root, m = demo
    for f in m.of_kind("copy"):
        assert f.path.startswith("shared_online/") and f.source is not None
        assert not f.has_exif
        with Image.open(root / f.path) as im:
            im.load()
            assert im.format == "JPEG"
            assert not im.getexif()
            size = im.size
        with Image.open(root / f.source) as orig:
            upright = ImageOps.exif_transpose(orig).size
        assert size[0] < 0.8 * upright[0] and size[1] < 0.8 * upright[1]
        assert _sha(root / f.path) != _sha(root / f.source)


def test_duplicates_are_byte_identical(demo: tuple[Path, DemoManifest]) -> None:
    root, m = demo
    for f in m.of_kind("duplicate"):
        assert f.source is not None and f.source != f.path
        assert (root / f.path).read_bytes() == (root / f.source).read_bytes()


# ------------------------------------------------------------------------- bad files


def test_bad_files_are_bad(demo: tuple[Path, DemoManifest]) -> None:
    root, m = demo
    bad = {f.defect: f for f in m.of_kind("corrupt")}
    truncated = bad["truncated"]
    assert truncated.source is not None
    full = (root / truncated.source).read_bytes()
    cut = (root / truncated.path).read_bytes()
    assert full.startswith(cut) and len(cut) < len(full)
    with Image.open(root / truncated.path) as im, pytest.raises(OSError):
        im.load()
    assert (root / bad["empty"].path).stat().st_size == 0
    for key in ("empty", "random-bytes"):
        with pytest.raises(UnidentifiedImageError):
            Image.open(root / bad[key].path)

    (wrong,) = m.of_kind("wrong_extension")
    assert wrong.path.endswith(".jpg")
    with Image.open(root / wrong.path) as im:
        assert im.format == "PNG"

    (pdf,) = m.of_kind("pdf")
    assert (root / pdf.path).read_bytes().startswith(b"%PDF-")
    (text,) = m.of_kind("text")
    (root / text.path).read_text(encoding="ascii")


def test_zip_holds_nested_duplicates_and_zip_only_photos(
    demo: tuple[Path, DemoManifest],
) -> None:
    root, m = demo
    members = m.of_kind("zip_member")
    outside = {f.sha256 for f in m.files if f.kind != "zip_member"}
    with zipfile.ZipFile(root / ZIP_PATH) as zf:
        assert zf.testzip() is None
        assert sorted(zf.namelist()) == sorted(str(f.member) for f in members)
        for f in members:
            assert f.path == ZIP_PATH and f.member is not None
            assert f.member.count("/") >= 2
            data = zf.read(f.member)
            assert hashlib.sha256(data).hexdigest() == f.sha256
            with Image.open(io.BytesIO(data)) as im:
                im.load()
            if f.source is not None:
                assert data == (root / f.source).read_bytes()
            else:
                assert f.sha256 not in outside
    assert any(f.source is None for f in members)
    assert any(f.source is not None for f in members)


# ---------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_different_seed_different(
    demo: tuple[Path, DemoManifest],
    tmp_path: Path,
) -> None:
    root, m = demo
    calls: list[tuple[int, int]] = []
    again = generate_collection(
        tmp_path / "again",
        cards=CARDS,
        seed=11,
        photo_size=SIZE,
        workers=1,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert [(f.path, f.member, f.sha256) for f in again.files] == [
        (f.path, f.member, f.sha256) for f in m.files
    ]
    first = _photos(m)[0]
    assert (tmp_path / "again" / first.path).read_bytes() == (root / first.path).read_bytes()
    # progress: starts at 0, ends at total, never goes backwards
    total = calls[0][1]
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(calls))

    other = generate_collection(tmp_path / "other", cards=2, seed=12, photo_size=(320, 240))
    assert not {f.sha256 for f in _photos(other)} & {f.sha256 for f in _photos(m)}


def test_refuses_a_non_empty_target(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate_collection(tmp_path, cards=1, photo_size=(320, 240))
    assert (tmp_path / "x").read_text() == "keep me"


# ----------------------------------------------------------------------- handwriting


def _render(rng: random.Random | np.random.Generator, text: str, style: Style) -> bytes:
    img = Image.new("L", (400, 80), 0)
    draw_text(ImageDraw.Draw(img), (10, 10), text, 50, rng, style)
    return img.tobytes()


def test_handwriting_is_deterministic_and_jittered() -> None:
    text = "27318/" + to_arabic_indic("4051")
    assert _render(random.Random(1), text, "handwritten") == _render(
        random.Random(1), text, "handwritten"
    )
    assert _render(np.random.default_rng(1), text, "handwritten") == _render(
        np.random.default_rng(1), text, "handwritten"
    )
    assert _render(random.Random(1), text, "handwritten") != _render(
        random.Random(2), text, "handwritten"
    )
    # the printed style does not depend on the generator
    assert _render(random.Random(1), text, "printed") == _render(
        np.random.default_rng(9), text, "printed"
    )


def test_every_glyph_leaves_ink_inside_its_bbox() -> None:
    rng = random.Random(3)
    for ch in sorted(SUPPORTED - {" "}):
        img = Image.new("L", (120, 120), 0)
        box = draw_text(ImageDraw.Draw(img), (30, 30), ch, 50, rng, "handwritten")
        ink = img.getbbox()
        assert ink is not None, repr(ch)
        assert box[0] - 2 <= ink[0] and ink[2] <= box[2] + 2, repr(ch)
        assert box[1] - 2 <= ink[1] and ink[3] <= box[3] + 2, repr(ch)
    assert text_width("123", 10) > text_width("1", 10) > 0
    with pytest.raises(ValueError, match="unsupported"):
        draw_text(ImageDraw.Draw(Image.new("L", (10, 10))), (0, 0), "x", 5, rng)
    assert render_specimen(0, 24).mode == "L"
