"""The exhibit report, from a small fake bag laid out as :mod:`dalil.export.bundle` writes it;
checked with poppler's pdftotext, pdftoppm and pdfimages."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dalil.errors import UsageError
from dalil.export.report import thumbnail_jpeg, write_report

POPPLER = ("pdftotext", "pdftoppm", "pdfimages")
needs_poppler = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in POPPLER),
    reason="poppler-utils (pdftotext, pdftoppm, pdfimages) is not installed:"
    " apt-get install poppler-utils",
)

ARABIC = "قضية المفقودين"
NASTY = "Notes <b>&amp; \x00 \x07 \ud800 🙂 漢字 " + ARABIC


@dataclass
class FakeBag:
    root: Path
    bundle_hash: str
    shas: list[str]  # in capture order: the three pictures, then the note
    models: list[str]


def _checkerboard(colour: tuple[int, int, int], size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A high-contrast test pattern (20 px squares): its edges vanish when blurred."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    mask = ((xx // 20 + yy // 20) % 2).astype(bool)
    pixels = np.zeros((h, w, 3), dtype=np.uint8)
    pixels[mask] = colour
    return Image.fromarray(pixels, "RGB")


def _picture(n: int, fmt: str, orientation: int = 1) -> bytes:
    colours = [(255, 255, 255), (250, 220, 40), (40, 200, 255)]
    exif = Image.Exif()
    exif[0x010F] = "Dalil"
    exif[0x0110] = f"TestCam {n}"
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = f"2013:05:0{n + 1} 10:11:12"
    exif.get_ifd(0x8769)[0xA431] = f"SN-{n:04d}"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (33.0, 30.0, 0.0)
    gps[3], gps[4] = "E", (36.0, 18.0, 0.0)
    buffer = io.BytesIO()
    _checkerboard(colours[n]).save(buffer, fmt, exif=exif)
    return buffer.getvalue()


def _write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")


def _build_bag(root: Path) -> FakeBag:
    files = [
        ("IMG_0001.JPG", _picture(0, "JPEG")),
        ("scan.tif", _picture(1, "TIFF")),
        ("IMG_0003.JPG", _picture(2, "JPEG", orientation=6)),
        ("statement.pdf", b"%PDF-1.4\n% not really a PDF, and certainly not a picture\n"),
    ]
    data = root / "data"
    shas, models = [], []
    seq = 0
    events: list[dict[str, object]] = []
    for n, (name, content) in enumerate(files):
        sha = hashlib.sha256(content).hexdigest()
        shas.append(sha)
        picture = n < 3
        model = f"TestCam {n}" if picture else None
        models.append(model or "")
        (data / "originals" / sha).mkdir(parents=True)
        (data / "originals" / sha / name).write_bytes(content)
        _write_json(
            data / "metadata" / f"{sha}.json",
            {
                "sha256": sha,
                "size": len(content),
                "media_type": "image/jpeg" if picture else "application/pdf",
                "ingested_at": "2024-01-02T03:04:05.000000Z",
                "flags": ["no_exif"] if not picture else [],
                "flag_reasons": {} if picture else {"no_exif": "not a picture"},
                "metadata": {
                    "camera_make": "Dalil" if picture else None,
                    "camera_model": model,
                    "camera_serial": f"SN-{n:04d}" if picture else None,
                    "lens": None,
                    "captured_at": f"2013-05-0{n + 1}T10:11:12" if picture else None,
                    "gps_lat": 33.5 if picture else None,
                    "gps_lon": 36.3 if picture else None,
                    "gps_alt": None,
                    "orientation": 1,
                    "software": None,
                    "width": 640,
                    "height": 480,
                },
                "occurrences": [
                    {
                        "acquisition": "ACQ-1",
                        "from": "phone of witness",
                        "path": f"DCIM/{ARABIC}/{name}",
                        "size": len(content),
                        "mtime_ns": 1_400_000_000_000_000_000,
                    }
                ],
                "fingerprint": None,
                "cases": [
                    {
                        "case_id": "CASE-1",
                        "title": ARABIC,
                        "role": "evidence",
                        "identifiers": [
                            {"type": "badge", "value": "B-4711", "state": "verified"},
                            {"type": "plate", "value": "XY 123", "state": "unverified"},
                        ],
                    }
                ]
                if n == 0
                else [],
            },
        )
        for action in ("item.ingested", "occurrence.added"):
            events.append(
                {
                    "seq": seq,
                    "time": f"2024-01-02T03:04:{seq:02d}.000000Z",
                    "actor": "archivist",
                    "action": action,
                    "subject": f"sha256:{sha}" if action == "item.ingested" else "acq:ACQ-1",
                    "details": {"sha256": sha},
                    "prev": "00" * 32,
                }
            )
            seq += 1
    events.append(
        {"seq": seq, "time": "2024-01-03T00:00:00Z", "actor": "lead", "action": "case.created",
         "subject": "case:CASE-1", "details": {}, "prev": "00" * 32}
    )  # fmt: skip
    (data / "custody").mkdir(parents=True)
    (data / "custody" / "events.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in events), encoding="utf-8"
    )
    _write_json(
        data / "custody" / "checkpoint.json",
        {"origin": "vault-test", "size": seq + 1, "root": "ab" * 32,
         "time": "2024-01-04T00:00:00Z", "signature": "c2ln"},
    )  # fmt: skip

    def note(i: int, kind: str, value: str, state: str, item: str | None) -> dict[str, object]:
        return {
            "id": i, "case": "CASE-1", "kind": kind, "field": "label", "value": value,
            "source": "manual", "confidence": None, "item": item, "region": None,
            "author": "alice", "created_at": "2024-01-03T00:00:00Z", "state": state,
            "ledger_seq": seq,
            "reviews": [{"reviewer": "bob", "verdict": "confirm", "comment": "", "at": "x"}],
        }  # fmt: skip

    _write_json(
        data / "cases" / "CASE-1.json",
        {
            "case_id": "CASE-1",
            "kind": "person",
            "title": ARABIC,
            "status": "open",
            "cluster": None,
            "notes": NASTY,
            "items": [{"sha256": shas[0], "role": "evidence"}],
            "annotations": [
                note(1, "attribute", "blue jacket", "verified", shas[0]),
                note(2, "attribute", "red-scarf-unconfirmed", "unverified", shas[0]),
                note(3, "attribute", "seen at checkpoint", "verified", None),
            ],
        },
    )
    manifest = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}\n"
        for p in sorted(data.rglob("*"))
        if p.is_file()
    )
    (root / "manifest-sha256.txt").write_text(manifest)
    (root / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    return FakeBag(root, hashlib.sha256(manifest.encode()).hexdigest(), shas, models)


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> FakeBag:
    return _build_bag(tmp_path_factory.mktemp("bag") / "BAG")


@pytest.fixture(scope="module")
def reports(bag: FakeBag, tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """The report written blurred (False) and revealed (True)."""
    out = tmp_path_factory.mktemp("reports")
    paths = {}
    for reveal in (False, True):
        paths[reveal] = out / f"report-{reveal}.pdf"
        write_report(bag.root, paths[reveal], bundle_hash=bag.bundle_hash, reveal=reveal)
    return paths


def _text(pdf: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True)
    pages = out.stdout.decode("utf-8").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def test_report_pages(bag: FakeBag, tmp_path: Path) -> None:
    pages = write_report(bag.root, tmp_path / "r.pdf", bundle_hash=bag.bundle_hash)
    assert pages >= 5  # a cover and at least a page per item
    if shutil.which("pdftotext"):
        assert len(_text(tmp_path / "r.pdf")) == pages


@needs_poppler
def test_report_text(bag: FakeBag, reports: dict[bool, Path]) -> None:
    pages = _text(reports[False])
    total = len(pages)
    for number, page in enumerate(pages, 1):
        assert bag.bundle_hash in page, f"page {number} lacks the full bundle hash"
        assert f"page {number} of {total}" in page
    text = "\n".join(pages)
    for sha in bag.shas:
        assert sha in text
    for model in filter(None, bag.models):
        assert model in text
    assert "item.ingested" in text and "occurrence.added" in text
    assert "case.created" not in text.split("Item 1 of")[1]  # not an item's event
    assert "vault-test" in text and "ab" * 32 in text
    assert "verify_bundle.py" in text and "sha256sum -c manifest-sha256.txt" in text
    assert "no picture" in text  # the statement is not a picture
    assert "B-4711" in text and "VERIFIED" in text
    assert "XY 123" in text and "NOT VERIFIED (unverified)" in text
    assert "blue jacket" in text and "seen at checkpoint" in text
    assert "red-scarf-unconfirmed" not in text
    # items follow capture time; the note without one comes last
    positions = [text.index(sha) for sha in bag.shas]
    assert positions == sorted(positions)


@needs_poppler
def test_pages_render_to_png(reports: dict[bool, Path], tmp_path: Path) -> None:
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "2", str(reports[False]),
         str(tmp_path / "page")],
        check=True,
    )  # fmt: skip
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == 2
    for png in pngs:
        with Image.open(png) as im:
            assert im.width > 300 and im.height > 400
            assert im.convert("L").getextrema()[0] < 100  # there is ink on the page


def _edge_energy(image: Image.Image) -> float:
    grey = np.asarray(image.convert("L").resize((160, 120), Image.Resampling.BILINEAR), float)
    return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())


def _embedded(pdf: Path, folder: Path) -> list[Image.Image]:
    folder.mkdir()
    subprocess.run(["pdfimages", "-png", str(pdf), str(folder / "img")], check=True)
    images = []
    for path in sorted(folder.glob("img-*.png")):
        with Image.open(path) as im:
            im.load()
            images.append(im)
    return images


@needs_poppler
def test_thumbnails_blurred_unless_revealed(reports: dict[bool, Path], tmp_path: Path) -> None:
    blurred = _embedded(reports[False], tmp_path / "blurred")
    sharp = _embedded(reports[True], tmp_path / "sharp")
    assert len(blurred) == len(sharp) == 3  # the three pictures; the note has none
    assert all(im.mode == "L" for im in blurred)
    assert all(max(im.size) <= 240 for im in blurred)
    for soft, crisp in zip(blurred, sharp, strict=True):
        assert _edge_energy(soft) < _edge_energy(crisp) / 5
    assert max(_edge_energy(im) for im in blurred) < 2.0


def test_thumbnail_is_upright(bag: FakeBag) -> None:
    rotated = next((bag.root / "data" / "originals" / bag.shas[2]).iterdir())
    jpeg = thumbnail_jpeg(rotated, reveal=True)
    assert jpeg is not None
    with Image.open(io.BytesIO(jpeg)) as im:
        assert im.height > im.width  # EXIF orientation 6: stored landscape, shown portrait


def test_unreadable_files_have_no_thumbnail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    assert thumbnail_jpeg(broken, reveal=False) is None
    assert thumbnail_jpeg(None, reveal=True) is None


def test_any_unicode_title(bag: FakeBag, tmp_path: Path) -> None:
    pages = write_report(bag.root, tmp_path / "r.pdf", bundle_hash=bag.bundle_hash, title=NASTY * 3)
    assert pages >= 5


def test_wrong_bundle_hash_is_refused(bag: FakeBag, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="manifest-sha256"):
        write_report(bag.root, tmp_path / "r.pdf", bundle_hash="0" * 64)
    with pytest.raises(UsageError, match="64 lowercase hex"):
        write_report(bag.root, tmp_path / "r.pdf", bundle_hash=bag.bundle_hash[:16])
    assert not (tmp_path / "r.pdf").exists()


def _reading(text: str) -> str:
    """Extracted text as a reader means it: presentation forms back to letters (NFKC), the
    direction marks pdftotext adds left out."""
    import unicodedata

    return "".join(
        c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf"
    )


@needs_poppler
@pytest.mark.parametrize("language", ["ar", "en"])
def test_arabic_names_are_joined_and_extract_in_reading_order(
    bag: FakeBag, tmp_path: Path, language: str
) -> None:
    pdf = tmp_path / f"report-{language}.pdf"
    write_report(bag.root, pdf, bundle_hash=bag.bundle_hash, language=language)
    done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True)
    raw = done.stdout.decode("utf-8")
    text = _reading(raw)
    assert ARABIC in text  # "قضية المفقودين", in logical order, not reversed
    assert ARABIC[::-1] not in text
    # drawn joined: qaf initial, dad medial, yeh medial, teh marbuta final (not isolated forms)
    assert "\ufed7\ufec0\ufef4\ufe94" in raw
    assert bag.bundle_hash in text
    if language == "ar":  # the fixed texts in Arabic, in reading order
        assert "حزمة الأدلة" in text and "أين وجدت" in text and "نقطة التحقق الموقعة" in text
        assert "Item 1 of" not in text and "Where it was found" not in text
    else:
        assert "Item 1 of 4" in text and "حزمة" not in text
        assert f"DCIM/{ARABIC}/IMG_0001.JPG" in text  # a Latin path around an Arabic folder


def test_an_unknown_report_language_is_refused(bag: FakeBag, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown report language 'fr'"):
        write_report(bag.root, tmp_path / "r.pdf", bundle_hash=bag.bundle_hash, language="fr")
