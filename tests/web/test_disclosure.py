"""What pages and the API disclose: no picture bytes hidden in metadata (an XMP preview, an
EXIF thumbnail) without a reveal, and to the family-liaison role no camera serial, no GPS
position, no source path or acquisition source."""

from __future__ import annotations

import base64
import io
import json
import re
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from tests.conftest import catalogue
from tests.web.conftest import ROLE_USERS, login

GPS_SHOWN = re.compile(r"(?<![\d:.])(33\.5|36\.28)")
"""The position (33.5 N, 36.28 E) as a page would show it — not the seconds of a timestamp
such as 05:51:33.517959."""
SERIAL = "SN-778899"
SOURCE = "USB stick 12 received from the family of K."
FOLDER = "Adobe-exports-from-K"


def _sharp_jpeg(width: int, height: int, shade: int) -> bytes:
    picture = Image.new("RGB", (width, height), (240, 240, 230))
    draw = ImageDraw.Draw(picture)
    for x in range(0, width, 8):
        draw.line([(x, 0), (width - x, height)], fill=((x * 7 + shade) % 255, 20, 120))
    draw.rectangle([width // 4, height // 4, width // 2, height // 2], outline=(0, 0, 0), width=3)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80)
    return out.getvalue()


def _exif(thumbnail: bytes) -> bytes:
    """A little-endian EXIF block: IFD0 (make, Exif and GPS pointers), the body serial, a GPS
    position, and IFD1 holding a JPEG thumbnail — as cameras write it."""

    def entry(tag: int, kind: int, count: int, value: bytes) -> bytes:
        return struct.pack("<HHI", tag, kind, count) + value

    make, serial = b"TestCam\0", SERIAL.encode() + b"\0"
    ifd0, exif = 8, 8 + 2 + 3 * 12 + 4
    gps = exif + 2 + 12 + 4
    data = gps + 2 + 4 * 12 + 4
    make_at, serial_at = data, data + len(make)
    lat_at = serial_at + len(serial)
    lon_at = lat_at + 24
    ifd1 = lon_at + 24
    thumb_at = ifd1 + 2 + 2 * 12 + 4
    out = b"II*\0" + struct.pack("<I", ifd0)
    out += struct.pack("<H", 3) + entry(0x010F, 2, len(make), struct.pack("<I", make_at))
    out += entry(0x8769, 4, 1, struct.pack("<I", exif)) + entry(
        0x8825, 4, 1, struct.pack("<I", gps)
    )
    out += struct.pack("<I", ifd1)
    out += struct.pack("<H", 1) + entry(0xA431, 2, len(serial), struct.pack("<I", serial_at))
    out += struct.pack("<I", 0)
    out += (
        struct.pack("<H", 4)
        + entry(1, 2, 2, b"N\0\0\0")
        + entry(2, 5, 3, struct.pack("<I", lat_at))
    )
    out += entry(3, 2, 2, b"E\0\0\0") + entry(4, 5, 3, struct.pack("<I", lon_at))
    out += struct.pack("<I", 0)
    out += make + serial + struct.pack("<6I", 33, 1, 30, 1, 0, 1)
    out += struct.pack("<6I", 36, 1, 17, 1, 0, 1)
    out += struct.pack("<H", 2) + entry(0x0201, 4, 1, struct.pack("<I", thumb_at))
    out += entry(0x0202, 4, 1, struct.pack("<I", len(thumbnail))) + struct.pack("<I", 0)
    return b"Exif\0\0" + out + thumbnail


def _xmp(preview: bytes) -> bytes:
    """An XMP packet as Adobe software writes it: a 320x240 JPEG preview in base64, in lines
    of 76 characters joined by XML line-break entities."""
    encoded = base64.b64encode(preview).decode()
    lines = "&#xA;".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description'
        ' rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:xmpGImg="http://ns.adobe.com/xap/1.0/g/img/">'
        "<xmp:CreatorTool>Adobe Photoshop CC 2019</xmp:CreatorTool><xmp:Thumbnails><rdf:Alt>"
        '<rdf:li rdf:parseType="Resource"><xmpGImg:width>320</xmpGImg:width>'
        "<xmpGImg:height>240</xmpGImg:height><xmpGImg:format>JPEG</xmpGImg:format>"
        f"<xmpGImg:image>{lines}</xmpGImg:image></rdf:li></rdf:Alt></xmp:Thumbnails>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


@pytest.fixture
def adobe_item(web_vault: Vault, tmp_path: Path) -> tuple[str, bytes, bytes]:
    """An item that carries a sharp preview in its XMP and a thumbnail in its EXIF: (sha256,
    preview, thumbnail)."""
    preview, thumbnail = _sharp_jpeg(320, 240, 1), _sharp_jpeg(160, 120, 90)
    folder = tmp_path / FOLDER
    folder.mkdir()
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 90, 90)).save(
        out, "JPEG", exif=_exif(thumbnail), xmp=_xmp(preview)
    )
    (folder / "exported.jpg").write_bytes(out.getvalue())
    IngestSession(web_vault, IngestOptions([folder], SOURCE, "founder")).run()
    conn = catalogue(web_vault)
    sha = conn.execute("SELECT sha256 FROM metadata WHERE camera_serial = ?", (SERIAL,)).fetchone()
    conn.close()
    assert sha is not None
    return str(sha[0]), preview, thumbnail


def _traces(data: bytes) -> list[str]:
    """Pieces of ``data`` as a page or JSON could carry them: base64 and hex, 48 characters
    each, from its start, middle and end."""
    encoded, hexed = base64.b64encode(data).decode(), data.hex()
    pieces = []
    for text in (encoded, hexed):
        for at in (0, len(text) // 2, len(text) - 60):
            pieces.append(text[at : at + 48])
    return pieces


def _shows_no_picture_bytes(text: str, *pictures: bytes) -> None:
    flat = text.replace("&#xA;", "").replace("&amp;#xA;", "").replace("\\n", "").replace("\n", "")
    for picture in pictures:
        for piece in _traces(picture):
            assert piece not in flat, piece


def test_no_picture_bytes_in_metadata_for_anyone(
    app_for: Callable[[], TestClient], adobe_item: tuple[str, bytes, bytes]
) -> None:
    sha, preview, thumbnail = adobe_item
    for role in ("admin", "investigator", "liaison"):
        client = app_for()
        login(client, ROLE_USERS[role])
        page = client.get(f"/items/{sha}")
        assert page.status_code == 200
        _shows_no_picture_bytes(page.text, preview, thumbnail)
        api = client.get(f"/api/items/{sha}")
        assert api.status_code == 200
        _shows_no_picture_bytes(json.dumps(api.json()), preview, thumbnail)
        if role != "liaison":  # the rest of the XMP packet is still shown
            assert "Adobe Photoshop CC 2019" in page.text
            assert "picture or binary data removed" in json.dumps(api.json()["metadata_raw"])


def test_the_liaison_role_sees_no_serial_position_or_source(
    app_for: Callable[[], TestClient], adobe_item: tuple[str, bytes, bytes]
) -> None:
    sha = adobe_item[0]
    liaison = app_for()
    login(liaison, ROLE_USERS["liaison"])
    seen = [
        liaison.get(f"/items/{sha}").text,
        json.dumps(liaison.get(f"/api/items/{sha}").json()),
        liaison.get("/acquisitions").text,
        liaison.get("/").text,
        liaison.get("/items").text,
    ]
    for text in seen:
        assert SERIAL not in text
        assert SOURCE not in text and FOLDER not in text and "exported.jpg" not in text
        assert not GPS_SHOWN.search(text)  # the GPS position
    detail = liaison.get(f"/api/items/{sha}").json()
    assert detail["metadata"]["camera_make"] == "TestCam"  # what identifies nobody stays
    assert detail["metadata"]["gps_lat"] is None and detail["metadata_raw"] == {}
    assert all(set(o) == {"acquisition", "size"} for o in detail["occurrences"])
    # no filter that would confirm a serial either
    assert liaison.get("/items", params={"camera": SERIAL}).status_code == 403
    assert liaison.get("/api/search", params={"camera": SERIAL}).status_code == 403
    # the roles that may see provenance still do
    investigator = app_for()
    login(investigator, ROLE_USERS["investigator"])
    page = investigator.get(f"/items/{sha}").text
    assert SERIAL in page and GPS_SHOWN.search(page) and FOLDER in page
    assert SOURCE in investigator.get("/acquisitions").text
    assert investigator.get("/items", params={"camera": SERIAL}).status_code == 200


def test_scrub_finds_picture_bytes_in_any_shape() -> None:
    from dalil.web.disclosure import scrub

    jpeg = _sharp_jpeg(64, 48, 3)
    encoded = base64.b64encode(jpeg).decode()
    raw = {
        "XMP": f'<x xmpGImg:image="{encoded}"/>',  # as an attribute, in one line
        "IFD1": {"JPEGInterchangeFormat": {"hex": jpeg[:64].hex()}, "note": jpeg.hex()},
        "Comment": f"data:image/jpeg;base64,{encoded}",
        "Wrapped": "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)),
        "MakerNote": jpeg.decode("latin-1"),  # raw binary read as text
        "list": [encoded, 7, None],
        # ordinary values stay
        "BodySerialNumber": SERIAL,
        "DocumentID": "xmp.did:0b8c5a3e-2a4f-4e2b-9f7d-3c1d2e4f5a6b",
        "ImageUniqueID": "a" * 64,
        "Description": "Photographed at the second checkpoint, north of the bridge. " * 4,
    }
    shown = json.dumps(scrub(raw))
    _shows_no_picture_bytes(shown, jpeg)
    for kept in (SERIAL, raw["DocumentID"], "a" * 64, "north of the bridge"):
        assert kept in shown
    assert scrub(raw)["list"][1:] == [7, None]
