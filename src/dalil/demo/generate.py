"""Generate a synthetic, non-graphic sample collection for demos, tests and benchmarks.

The collection imitates the hand-over of a large archive of identification photographs:
every *card* is an index card on a table carrying three fictitious numbers, photographed
3-6 times by one of three fictitious cameras.  Nothing in it shows a person.

Numbers on a card (all fictitious, see :class:`Card`):

* ``detainee`` -- 4 or 5 digits, unique within the collection;
* ``branch``   -- 3 digits, one of :data:`BRANCHES`;
* ``report``   -- a forensic report number: plain digits (4 digits with the default
  sizes), increasing with the capture date.

About a third of the cards are written with Arabic-Indic digits (``٢٧٣١٨``), the rest
with Western digits; about a fifth are *printed* (typed labels), the rest handwritten
with :mod:`dalil.demo.handwriting`.  The manifest records the canonical ASCII number and
the string exactly as written on the card.

Layout of a generated collection ``out/`` (paths relative to ``out``)::

    DCIM/100NIKON/DSCN0001.JPG ...         photos from camera "nikon" (GPS-tagged)
    stick2/batch_01/IMG_2231.JPG ...       photos from camera "canon", 40 per batch
    laptop/Pictures/FinePix/2012-05-03/... photos from camera "fuji", one folder per day
    shared_online/{whatsapp,facebook,telegram}/...   re-circulated copies (kind "copy")
    backup/old_stick/<original path>, misc/<name> - Copy.JPG   byte duplicates
    stick2/incomplete_copy/<name>           a truncated JPEG          (kind "corrupt")
    stick2/recovered/FILE0001.JPG           a zero-byte file          (kind "corrupt")
    stick2/recovered/FILE0002.JPG           random bytes              (kind "corrupt")
    shared_online/screenshots/*.jpg         a PNG named .jpg          (kind "wrong_extension")
    reports/card_<id>.pdf                   a PDF of one photo        (kind "pdf")
    notes/transfer_log.txt                  a text file               (kind "text")
    archive/handover.zip                    zip with handover/disk_1/* (duplicates of
                                            photos outside) and handover/disk_2/unsorted/*
                                            (photos that exist only inside the zip)

The manifest (:class:`DemoManifest`) is written *next to* the collection, by default to
``out.parent / (out.name + ".manifest.json")``, so that ingesting ``out`` does not ingest
it.  Generation is deterministic: the same ``seed``, ``cards`` and ``photo_size`` give
byte-identical files (independent of ``workers``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
import random
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps
from PIL.ExifTags import GPS, IFD, Base
from PIL.TiffImagePlugin import IFDRational

from dalil.demo.handwriting import Style, draw_text, text_width, to_arabic_indic

__all__ = [
    "BRANCHES",
    "CAMERAS",
    "FILE_KINDS",
    "Camera",
    "Card",
    "DemoFile",
    "DemoManifest",
    "DigitSystem",
    "FileKind",
    "default_manifest_path",
    "generate_collection",
]

DigitSystem = Literal["western", "arabic-indic"]
Layout = Literal["form", "blank"]
FileKind = Literal[
    "photo",  # an original camera JPEG with full EXIF
    "copy",  # a re-circulated copy: resized, re-compressed, EXIF stripped
    "duplicate",  # an exact byte copy of a "photo" at another path
    "corrupt",  # truncated JPEG, zero-byte file or random bytes (see ``defect``)
    "wrong_extension",  # a PNG saved with a .jpg extension
    "pdf",  # a PDF containing one photo of a card
    "text",  # a plain text note
    "zip",  # the zip archive itself
    "zip_member",  # a photo inside the zip archive (``member`` names it)
]
FILE_KINDS: tuple[str, ...] = (
    "photo",
    "copy",
    "duplicate",
    "corrupt",
    "wrong_extension",
    "pdf",
    "text",
    "zip",
    "zip_member",
)

MANIFEST_FORMAT = "dalil-demo-manifest/1"
BRANCHES: tuple[str, ...] = ("215", "227", "235", "248", "251")
ZIP_PATH = "archive/handover.zip"

# A fictitious place for the GPS-tagged camera (central Damascus, rounded).
_GPS_LAT, _GPS_LON, _GPS_ALT = 33.5138, 36.2765, 690.0
_FIRST_DAY = dt.date(2012, 3, 1)
_LAST_DAY = dt.date(2013, 8, 31)


@dataclass(frozen=True)
class Camera:
    """A fictitious camera.  ``serial`` goes to EXIF BodySerialNumber (0xA431)."""

    camera_id: str
    make: str
    model: str
    serial: str
    lens: str
    software: str
    has_gps: bool


CAMERAS: tuple[Camera, ...] = (
    Camera(
        "nikon",
        "NIKON",
        "COOLPIX P7000",
        "4017392",
        "6.0-42.6 mm f/2.8-5.6",
        "COOLPIX P7000V1.1",
        True,
    ),
    Camera(
        "canon",
        "Canon",
        "Canon EOS 550D",
        "0380149627",
        "EF-S18-55mm f/3.5-5.6 IS II",
        "Firmware Version 1.0.9",
        False,
    ),
    Camera(
        "fuji",
        "FUJIFILM",
        "FinePix S2950",
        "2TK08835",
        "FUJINON 18x 4.0-72.0mm",
        "Digital Camera FinePix S2950 Ver1.00",
        False,
    ),
)

# per-camera rendering habits: JPEG quality, chroma subsampling (0=4:4:4, 1=4:2:2,
# 2=4:2:0), sensor noise sigma, table background, probability of a portrait shot,
# f-numbers, focal lengths (mm), ISO values
_HABITS: dict[str, dict[str, Any]] = {
    "nikon": {
        "quality": 92,
        "subsampling": 2,
        "noise": 3.5,
        "table": "wood",
        "portrait": 0.04,
        "f": (2.8, 4.0, 5.6),
        "focal": (6.0, 42.6),
        "iso": (100, 200, 400),
        "weight": 0.45,
    },
    "canon": {
        "quality": 90,
        "subsampling": 1,
        "noise": 2.5,
        "table": "sheet",
        "portrait": 0.1,
        "f": (3.5, 5.0, 5.6, 8.0),
        "focal": (18.0, 55.0),
        "iso": (100, 400, 800),
        "weight": 0.35,
    },
    "fuji": {
        "quality": 86,
        "subsampling": 2,
        "noise": 6.0,
        "table": "felt",
        "portrait": 0.1,
        "f": (3.1, 4.5, 5.6),
        "focal": (4.0, 72.0),
        "iso": (64, 200, 400, 800),
        "weight": 0.2,
    },
}


@dataclass(frozen=True)
class Card:
    """One index card and its (fictitious) numbers.

    ``detainee``/``branch``/``report`` are canonical ASCII digits; the ``*_written``
    fields are the strings as they appear on the card (Arabic-Indic digits where
    ``digits == "arabic-indic"``).  ``style`` is how the numbers were written,
    ``layout`` whether the card is a pre-printed form or a blank ruled index card, and
    ``ink`` one of ``ballpoint-blue``, ``ballpoint-black``, ``marker``, ``typed``."""

    card_id: str
    detainee: str
    branch: str
    report: str
    digits: DigitSystem
    style: Style
    layout: Layout
    ink: str
    detainee_written: str
    branch_written: str
    report_written: str


@dataclass(frozen=True)
class DemoFile:
    """One generated file (or, for ``kind == "zip_member"``, one member of the zip).

    ``path`` is relative to the collection root, POSIX separators; for zip members it is
    the zip's path and ``member`` is the name inside the zip.  ``size``/``sha256`` are of
    the file (or member) bytes.  ``card``, ``camera``, ``captured`` (ISO 8601 local time
    with UTC offset) and ``shot`` (0-based index of the shot of that card) are the ground
    truth of the picture the file derives from, also for copies whose EXIF was stripped;
    ``has_exif`` says whether the file itself carries it.  ``gps`` is (latitude,
    longitude, altitude in m) as written to the GPS IFD of the GPS-tagged camera.
    ``width``/``height`` are the stored pixel dimensions (before applying
    ``orientation``).  ``source`` names the original that a copy, duplicate or truncated
    file was made from; ``defect`` says what is wrong with a bad file (``truncated``,
    ``empty``, ``random-bytes``, ``png-with-jpg-extension``); ``note`` is free text
    (e.g. how a copy was altered)."""

    path: str
    kind: FileKind
    size: int
    sha256: str
    member: str | None = None
    card: Card | None = None
    shot: int | None = None
    camera: Camera | None = None
    captured: str | None = None
    orientation: int | None = None
    gps: tuple[float, float, float] | None = None
    width: int | None = None
    height: int | None = None
    has_exif: bool = False
    source: str | None = None
    defect: str | None = None
    note: str | None = None


@dataclass
class DemoManifest:
    """Ground truth for a generated collection."""

    collection: str
    seed: int
    photo_size: tuple[int, int]
    cameras: list[Camera]
    cards: list[Card]
    files: list[DemoFile] = field(default_factory=list)

    def of_kind(self, *kinds: str) -> list[DemoFile]:
        """The entries whose kind is one of ``kinds``."""
        return [f for f in self.files if f.kind in kinds]

    def card(self, card_id: str) -> Card:
        """The card with this id."""
        for c in self.cards:
            if c.card_id == card_id:
                return c
        raise KeyError(card_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (Arabic-Indic digits kept as text)."""
        return {
            "format": MANIFEST_FORMAT,
            "collection": self.collection,
            "seed": self.seed,
            "photo_size": list(self.photo_size),
            "cameras": [asdict(c) for c in self.cameras],
            "cards": [asdict(c) for c in self.cards],
            "files": [asdict(f) for f in self.files],
        }

    def write_json(self, path: Path | str) -> Path:
        """Write the manifest as UTF-8 JSON to ``path``; returns the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1)
        p.write_text(text + "\n", encoding="utf-8")
        return p

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoManifest:
        """Inverse of :meth:`to_dict`."""
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"not a {MANIFEST_FORMAT} manifest")
        files: list[DemoFile] = []
        for f in data["files"]:
            f = dict(f)
            f["card"] = Card(**f["card"]) if f.get("card") else None
            f["camera"] = Camera(**f["camera"]) if f.get("camera") else None
            f["gps"] = tuple(f["gps"]) if f.get("gps") else None
            files.append(DemoFile(**f))
        w, h = data["photo_size"]
        return cls(
            collection=data["collection"],
            seed=int(data["seed"]),
            photo_size=(int(w), int(h)),
            cameras=[Camera(**c) for c in data["cameras"]],
            cards=[Card(**c) for c in data["cards"]],
            files=files,
        )

    @classmethod
    def read_json(cls, path: Path | str) -> DemoManifest:
        """Load a manifest written by :meth:`write_json`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("manifest is not a JSON object")
        return cls.from_dict(data)


def default_manifest_path(out: Path | str) -> Path:
    """Where :func:`generate_collection` puts the manifest by default: next to ``out``."""
    p = Path(out)
    return p.parent / (p.name + ".manifest.json")


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Shot:
    card_index: int
    shot: int
    camera: Camera
    local_time: dt.datetime
    offset: str
    orientation: int
    name: str
    path: str | None  # None: exists only inside the zip
    member: str | None
    f_number: float
    exposure: int  # denominator of 1/x s
    iso: int
    focal: float
    gps: tuple[float, float, float] | None


@dataclass
class _Rendered:
    shot: _Shot
    data: bytes
    width: int
    height: int


def _utc_offset(day: dt.date) -> str:
    # Simplified local rule for the demo: summer time April to October.
    return "+03:00" if 4 <= day.month <= 10 else "+02:00"


def _plan_cards(rng: random.Random, n: int) -> list[Card]:
    detainees = rng.sample(range(1000, 60000), n)
    arabic = set(rng.sample(range(n), round(n / 3)))
    printed = set(rng.sample(range(n), round(n * 0.2)))
    report = rng.randint(1200, 2400)
    cards: list[Card] = []
    width = max(3, len(str(n)))
    for i in range(n):
        report += rng.randint(1, 30)
        digits: DigitSystem = "arabic-indic" if i in arabic else "western"
        style: Style = "printed" if i in printed else "handwritten"
        layout: Layout = "form" if style == "printed" or rng.random() < 0.5 else "blank"
        if style == "printed":
            ink = "typed"
        else:
            ink = rng.choices(["ballpoint-blue", "ballpoint-black", "marker"], [2, 1, 1])[0]
        det, br, rep = str(detainees[i]), rng.choice(BRANCHES), str(report)

        def written(s: str, digits: DigitSystem = digits) -> str:
            return to_arabic_indic(s) if digits == "arabic-indic" else s

        cards.append(
            Card(
                card_id=f"C{i + 1:0{width}d}",
                detainee=det,
                branch=br,
                report=rep,
                digits=digits,
                style=style,
                layout=layout,
                ink=ink,
                detainee_written=written(det),
                branch_written=written(br),
                report_written=written(rep),
            )
        )
    return cards


def _photo_path(cam: Camera, n: int, when: dt.datetime) -> tuple[str, str]:
    if cam.camera_id == "nikon":
        name = f"DSCN{n:04d}.JPG"
        return name, f"DCIM/{100 + (n - 1) // 100}NIKON/{name}"
    if cam.camera_id == "canon":
        name = f"IMG_{2230 + n:04d}.JPG"
        return name, f"stick2/batch_{(n - 1) // 40 + 1:02d}/{name}"
    name = f"DSCF{100 + n:04d}.JPG"
    return name, f"laptop/Pictures/FinePix/{when:%Y-%m-%d}/{name}"


def _plan_shots(rng: random.Random, cards: list[Card]) -> list[list[_Shot]]:
    n = len(cards)
    cams = list(CAMERAS)
    weights = [_HABITS[c.camera_id]["weight"] for c in cams]
    chosen = [rng.choices(cams, weights)[0] for _ in range(n)]
    if n >= len(cams):  # every camera is used at least once
        for cam, i in zip(cams, rng.sample(range(n), len(cams)), strict=True):
            chosen[i] = cam
    span = (_LAST_DAY - _FIRST_DAY).days
    days = sorted(rng.randrange(span + 1) for _ in range(n))
    counts = [rng.randint(3, 6) for _ in range(n)]

    zip_only: set[int] = set()
    n_zip_only = min(5, max(2, n // 10), n)
    rich = [i for i in range(n) if counts[i] >= 4]
    pool = rich if len(rich) >= n_zip_only else list(range(n))
    zip_only = set(rng.sample(pool, n_zip_only))

    counters = {c.camera_id: 0 for c in cams}
    plan: list[list[_Shot]] = []
    all_shots: list[tuple[int, int]] = []
    for i in range(n):
        cam = chosen[i]
        habits = _HABITS[cam.camera_id]
        day = _FIRST_DAY + dt.timedelta(days=days[i])
        t = dt.datetime(day.year, day.month, day.day) + dt.timedelta(
            seconds=rng.randint(8 * 3600 + 1800, 15 * 3600 + 1800)
        )
        shots: list[_Shot] = []
        for k in range(counts[i]):
            if k:
                t += dt.timedelta(seconds=rng.randint(3, 11))
            counters[cam.camera_id] += 1
            name, path = _photo_path(cam, counters[cam.camera_id], t)
            orientation = 1
            if rng.random() < habits["portrait"]:
                orientation = rng.choice((6, 8))
            only_in_zip = i in zip_only and k == counts[i] - 1
            gps: tuple[float, float, float] | None = None
            if cam.has_gps:  # quantised exactly as written to EXIF
                gps = (
                    _dms_value(_GPS_LAT + rng.gauss(0.0, 5e-5)),
                    _dms_value(_GPS_LON + rng.gauss(0.0, 5e-5)),
                    round(_GPS_ALT + rng.gauss(0.0, 3.0), 1),
                )
            shots.append(
                _Shot(
                    card_index=i,
                    shot=k,
                    camera=cam,
                    local_time=t,
                    offset=_utc_offset(day),
                    orientation=orientation,
                    name=name,
                    path=None if only_in_zip else path,
                    member=f"handover/disk_2/unsorted/{name}" if only_in_zip else None,
                    f_number=rng.choice(habits["f"]),
                    exposure=rng.choice((30, 40, 60, 80, 125)),
                    iso=rng.choice(habits["iso"]),
                    focal=round(rng.uniform(*habits["focal"]), 1),
                    gps=gps,
                )
            )
            all_shots.append((i, k))
        plan.append(shots)

    # make sure both rotated orientations occur (the tests and the demo rely on it)
    if len(all_shots) >= 6:
        for want in (6, 8):
            if not any(s.orientation == want for card in plan for s in card):
                free = [(i, k) for i, k in all_shots if plan[i][k].orientation == 1]
                i, k = rng.choice(free)
                old = plan[i][k]
                plan[i][k] = replace(old, orientation=want)
    return plan


# ---------------------------------------------------------------------------- images


def _fbm(
    rng: np.random.Generator, w: int, h: int, scales: Sequence[int], stretch: float = 1.0
) -> NDArray[np.float32]:
    """Smooth value noise in [0, 1] built from a few upsampled random grids; ``stretch``
    makes the features that many times longer horizontally than vertically."""
    acc = np.zeros((h, w), np.float32)
    total = 0.0
    for k, s in enumerate(scales):
        gw, gh = max(2, int(w / (s * stretch)) + 2), max(2, h // s + 2)
        grid = (rng.random((gh, gw)) * 255).astype(np.uint8)
        up = Image.fromarray(grid).resize((w, h), Image.Resampling.BICUBIC)
        amp = 0.55**k
        acc += np.asarray(up, np.float32) * (amp / 255.0)
        total += amp
    acc /= total
    lo, hi = float(acc.min()), float(acc.max())
    return (acc - lo) / max(hi - lo, 1e-6)


def _colorize(t: NDArray[np.float32], c0: Sequence[float], c1: Sequence[float]) -> Image.Image:
    a = np.asarray(c0, np.float32)
    b = np.asarray(c1, np.float32)
    rgb = a + (b - a) * t[..., None]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def _table(kind: str, w: int, h: int, rng: np.random.Generator) -> Image.Image:
    lw, lh = max(8, w // 4), max(8, h // 4)
    shade = float(rng.uniform(0.85, 1.1))
    if kind == "wood":
        n = _fbm(rng, lw, lh, (64, 16), stretch=6.0)
        y = np.linspace(0.0, 1.0, lh, dtype=np.float32)[:, None]
        freq = float(rng.uniform(10, 18))
        grain = 0.5 + 0.5 * np.sin((y * freq + 1.3 * n) * 2 * np.pi)
        streaks = _fbm(rng, lw, lh, (3, 1), stretch=14.0)
        t = (0.6 * grain + 0.4 * streaks).astype(np.float32)
        img = _colorize(t, (92 * shade, 58 * shade, 34 * shade), (165 * shade, 114 * shade, 70))
    elif kind == "sheet":
        n = _fbm(rng, lw, lh, (128, 32, 8))
        x = np.linspace(0.0, 1.0, lw, dtype=np.float32)[None, :]
        folds = 0.5 + 0.5 * np.sin((x * float(rng.uniform(2, 4)) + 0.8 * n) * 2 * np.pi)
        t = (0.55 * n + 0.45 * folds).astype(np.float32)
        img = _colorize(t, (112 * shade, 120 * shade, 128 * shade), (178, 186, 192))
    else:  # felt
        t = _fbm(rng, lw, lh, (64, 8, 2))
        img = _colorize(t, (34 * shade, 64 * shade, 50 * shade), (72, 106, 82))
    return img.resize((w, h), Image.Resampling.BILINEAR)


_INK: dict[str, tuple[tuple[int, int, int], float, float]] = {
    # colour, opacity, stroke weight
    "ballpoint-blue": ((28, 44, 138), 0.88, 1.0),
    "ballpoint-black": ((30, 30, 38), 0.9, 1.0),
    "marker": ((18, 18, 22), 0.95, 1.7),
    "typed": ((24, 24, 26), 0.92, 0.85),
}

_FORM_LABELS = ("DETAINEE No.", "BRANCH", "REPORT No.")
_HAND_LABELS = ("DET", "BR", "REP")


def _lut_scale(alpha: float) -> list[int]:
    return [round(v * alpha) for v in range(256)]


def _render_card(
    card: Card, cw: int, ch: int, rr: random.Random, rng: np.random.Generator
) -> Image.Image:
    """The flat card as RGBA (alpha: rounded corners).  Everything is drawn at twice the
    size and reduced once at the end, for anti-aliased lines, text and edges."""
    s = 2
    w2, h2 = cw * s, ch * s
    tint = rng.uniform(-6, 6, 3)
    t = _fbm(rng, max(8, cw // 4), max(8, ch // 4), (32, 8, 2))
    base = [float(v) for v in np.array((239.0, 235.0, 224.0)) + tint]
    paper = _colorize(t, [v - 12 for v in base], [v + 6 for v in base])
    paper = paper.resize((w2, h2), Image.Resampling.BILINEAR)
    d = ImageDraw.Draw(paper)
    lw = max(2, round(h2 / 180))
    rows = (0.3, 0.56, 0.82)
    if card.layout == "blank":
        d.line([(0, round(0.17 * h2)), (w2, round(0.17 * h2))], fill=(214, 92, 96), width=lw)
        y = 0.17 + 0.13
        while y < 0.97:
            d.line([(0, round(y * h2)), (w2, round(y * h2))], fill=(150, 176, 212), width=lw)
            y += 0.13
        rows = (0.43, 0.69, 0.95)
    ink = Image.new("L", (w2, h2), 0)
    prn = Image.new("L", (w2, h2), 0)
    di, dp = ImageDraw.Draw(ink), ImageDraw.Draw(prn)
    font = ImageFont.load_default(size=max(8, round(0.065 * h2)))
    small = ImageFont.load_default(size=max(6, round(0.035 * h2)))
    if card.layout == "form":
        foot_xy, foot_anchor = (0.05 * w2, 0.95 * h2), "ls"
    else:  # above the red line, right-aligned, out of the way of the writing
        foot_xy, foot_anchor = (0.95 * w2, 0.1 * h2), "rs"
    dp.text(foot_xy, "DALIL DEMO - SYNTHETIC SAMPLE", fill=150, font=small, anchor=foot_anchor)
    numbers = (card.detainee_written, card.branch_written, card.report_written)
    colour, opacity, weight = _INK[card.ink]
    hand = card.style == "handwritten"
    slant = rr.gauss(0.16, 0.06) if hand else 0.0
    if card.layout == "form":
        dp.text((0.05 * w2, 0.1 * h2), "IDENTIFICATION CARD", fill=235, font=font, anchor="ls")
        for row, label in zip(rows, _FORM_LABELS, strict=True):
            yb = row * h2
            dp.text((0.05 * w2, yb), label, fill=235, font=font, anchor="ls")
            dp.line([(0.42 * w2, yb + 0.02 * h2), (0.95 * w2, yb + 0.02 * h2)], fill=200, width=lw)
        for k, (row, text) in enumerate(zip(rows, numbers, strict=True)):
            hgt = (0.15 if k == 0 else 0.12) * h2
            x = (0.46 + rr.uniform(-0.02, 0.04)) * w2
            draw_text(
                di,
                (x, row * h2 - hgt),
                text,
                hgt,
                rr,
                card.style,
                fill=255,
                weight=weight,
                slant=slant + rr.gauss(0, 0.02) if hand else 0.0,
            )
    else:
        arabic = card.digits == "arabic-indic"
        for k, (row, text) in enumerate(zip(rows, numbers, strict=True)):
            hgt = (0.17 if k == 0 else 0.13) * h2
            yb = row * h2 - 0.025 * h2
            rslant = slant + rr.gauss(0, 0.02)
            if arabic:  # numbers only, right-aligned
                wdt = text_width(text, hgt, "handwritten")
                x = 0.92 * w2 - wdt + rr.uniform(-0.03, 0.01) * w2
            else:  # handwritten label, then the number
                lab = draw_text(
                    di,
                    ((0.05 + rr.uniform(0, 0.02)) * w2, yb - 0.75 * hgt),
                    _HAND_LABELS[k],
                    0.75 * hgt,
                    rr,
                    "handwritten",
                    fill=255,
                    weight=weight,
                    slant=rslant,
                )
                x = lab[2] + rr.uniform(0.04, 0.08) * w2
            draw_text(
                di,
                (x, yb - hgt),
                text,
                hgt,
                rr,
                "handwritten",
                fill=255,
                weight=weight,
                slant=rslant,
            )
    paper = Image.composite(
        Image.new("RGB", paper.size, (35, 35, 38)), paper, prn.point(_lut_scale(0.9))
    )
    paper = Image.composite(
        Image.new("RGB", paper.size, colour), paper, ink.point(_lut_scale(opacity))
    )
    alpha = Image.new("L", (w2, h2), 0)
    ImageDraw.Draw(alpha).rounded_rectangle(
        (0, 0, w2 - 1, h2 - 1), radius=max(4, h2 // 40), fill=255
    )
    out = paper.reduce(s).convert("RGBA")
    out.putalpha(alpha.reduce(s))
    return out


@dataclass
class _Scene:
    image: Image.Image
    center: tuple[float, float]


def _compose_scene(
    card_img: Image.Image, table: str, size: tuple[int, int], rng: np.random.Generator
) -> _Scene:
    sw, sh = size
    scene = _table(table, sw, sh, rng)
    rot = float(rng.normal(0.0, 4.0))
    edge = card_img.getpixel((card_img.width // 2, 2))
    fill = (*edge[:3], 0) if isinstance(edge, tuple) else None
    card = card_img.rotate(rot, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
    cx = sw / 2 + float(rng.uniform(-0.03, 0.03)) * sw
    cy = sh / 2 + float(rng.uniform(-0.03, 0.03)) * sh
    pos = (round(cx - card.width / 2), round(cy - card.height / 2))
    # soft shadow under the card, blurred at quarter resolution with a margin around it
    alpha = card.getchannel("A")
    q, margin = 4, max(8, card_img.height // 12)
    padded = ImageOps.expand(alpha, border=margin, fill=0)
    small = padded.reduce(q).filter(ImageFilter.GaussianBlur(max(1.0, card_img.height / 160)))
    shadow = small.resize(padded.size, Image.Resampling.BILINEAR).point(_lut_scale(0.5))
    off = max(2, card_img.height // 70)
    scene.paste((12, 10, 8), (pos[0] + off - margin, pos[1] + off - margin), shadow)
    scene.paste(card, pos, alpha)
    return _Scene(scene, (cx, cy))


def _perspective_coeffs(
    dst: Sequence[tuple[float, float]], src: Sequence[tuple[float, float]]
) -> tuple[float, ...]:
    """Coefficients for ``Image.transform(PERSPECTIVE)`` mapping output points ``dst``
    to input points ``src``."""
    a = np.zeros((8, 8))
    bvec = np.zeros(8)
    for i, ((x, y), (u, v)) in enumerate(zip(dst, src, strict=True)):
        a[2 * i] = (x, y, 1, 0, 0, 0, -x * u, -y * u)
        a[2 * i + 1] = (0, 0, 0, x, y, 1, -x * v, -y * v)
        bvec[2 * i], bvec[2 * i + 1] = u, v
    sol = np.linalg.solve(a, bvec)
    return tuple(float(c) for c in sol)


def _view_quad(
    scene: _Scene, out: tuple[int, int], portrait: bool, rng: np.random.Generator
) -> list[tuple[float, float]]:
    sw, sh = scene.image.size
    ow, oh = out
    zoom = float(rng.uniform(1.05, 1.3) if portrait else rng.uniform(0.85, 1.15))
    roll = math.radians(float(rng.normal(0.0, 4.0)))
    kx, ky = (float(v) for v in rng.uniform(-0.12, 0.12, 2))
    ox, oy = (float(v) for v in rng.uniform(-0.07, 0.07, 2))
    jitter = rng.normal(0.0, 0.005, (4, 2))
    cx, cy = scene.center
    cr, sr = math.cos(roll), math.sin(roll)
    quad: list[tuple[float, float]] = []
    for _attempt in range(30):
        hw, hh = zoom * ow / 2, zoom * oh / 2
        quad = []
        for j, (u, v) in enumerate(((-1, -1), (1, -1), (1, 1), (-1, 1))):
            x = u * hw * (1 + kx * v) + float(jitter[j, 0]) * ow
            y = v * hh * (1 + ky * u) + float(jitter[j, 1]) * oh
            quad.append((cx + ox * ow + x * cr - y * sr, cy + oy * oh + x * sr + y * cr))
        if all(0 <= x <= sw - 1 and 0 <= y <= sh - 1 for x, y in quad):
            break
        zoom *= 0.95
        ox *= 0.8
        oy *= 0.8
    return quad


def _light_field(out: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    gw, gh = 16, 12
    xs = np.linspace(-1.0, 1.0, gw, dtype=np.float32)[None, :]
    ys = np.linspace(-1.0, 1.0, gh, dtype=np.float32)[:, None]
    phi = float(rng.uniform(0, 2 * math.pi))
    grad = float(rng.uniform(0.05, 0.35))
    vig = float(rng.uniform(0.0, 0.3))
    field_ = 1 - grad * (0.5 + 0.5 * (math.cos(phi) * xs + math.sin(phi) * ys))
    field_ = field_ * (1 - vig * (xs**2 + ys**2) / 2)
    arr = np.clip(field_ * 255, 0, 255).astype(np.uint8)
    return Image.fromarray(arr).resize(out, Image.Resampling.BILINEAR)


def _glare(out: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    gw, gh = 16, 12
    xs = np.linspace(-1.0, 1.0, gw, dtype=np.float32)[None, :]
    ys = np.linspace(-1.0, 1.0, gh, dtype=np.float32)[:, None]
    mx, my = (float(v) for v in rng.uniform(-0.6, 0.6, 2))
    r2 = (xs - mx) ** 2 + (ys - my) ** 2
    amp = float(rng.uniform(0.15, 0.45))
    arr = np.clip(amp * np.exp(-r2 / float(rng.uniform(0.05, 0.2))) * 255, 0, 255)
    return Image.fromarray(arr.astype(np.uint8)).resize(out, Image.Resampling.BILINEAR)


def _tone_lut(rng: np.random.Generator, wb: Sequence[float]) -> list[int]:
    exposure = float(rng.uniform(0.95, 1.3))
    gamma = float(rng.uniform(0.85, 1.1))
    x = np.arange(256, dtype=np.float64) / 255.0
    lut: list[int] = []
    for gain in wb:
        lut.extend(
            np.clip(np.round(255 * (x**gamma) * exposure * gain), 0, 255).astype(int).tolist()
        )
    return lut


def _exif_bytes(shot: _Shot, width: int, height: int) -> bytes:
    cam = shot.camera
    ts = shot.local_time.strftime("%Y:%m:%d %H:%M:%S")
    exif = Image.Exif()
    exif[Base.Make] = cam.make
    exif[Base.Model] = cam.model
    exif[Base.Software] = cam.software
    exif[Base.Orientation] = shot.orientation
    exif[Base.DateTime] = ts
    exif[Base.XResolution] = IFDRational(300, 1)
    exif[Base.YResolution] = IFDRational(300, 1)
    exif[Base.ResolutionUnit] = 2
    exif[Base.YCbCrPositioning] = 2
    sub = exif.get_ifd(IFD.Exif)
    sub[Base.ExifVersion] = b"0231"
    sub[Base.FlashPixVersion] = b"0100"
    sub[Base.ColorSpace] = 1
    sub[Base.DateTimeOriginal] = ts
    sub[Base.DateTimeDigitized] = ts
    sub[Base.OffsetTime] = shot.offset
    sub[Base.OffsetTimeOriginal] = shot.offset
    sub[Base.OffsetTimeDigitized] = shot.offset
    sub[Base.ExposureTime] = IFDRational(1, shot.exposure)
    sub[Base.FNumber] = IFDRational(round(shot.f_number * 10), 10)
    sub[Base.ISOSpeedRatings] = shot.iso
    sub[Base.FocalLength] = IFDRational(round(shot.focal * 10), 10)
    sub[Base.ExifImageWidth] = width
    sub[Base.ExifImageHeight] = height
    sub[Base.BodySerialNumber] = cam.serial
    sub[Base.LensModel] = cam.lens
    if shot.gps is not None:
        lat, lon, alt = shot.gps
        utc = shot.local_time - dt.timedelta(hours=int(shot.offset[1:3]))
        gps = exif.get_ifd(IFD.GPSInfo)
        gps[GPS.GPSVersionID] = b"\x02\x03\x00\x00"
        gps[GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        gps[GPS.GPSLatitude] = _dms(abs(lat))
        gps[GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        gps[GPS.GPSLongitude] = _dms(abs(lon))
        gps[GPS.GPSAltitudeRef] = 0 if alt >= 0 else 1
        gps[GPS.GPSAltitude] = IFDRational(round(abs(alt) * 10), 10)
        gps[GPS.GPSTimeStamp] = (
            IFDRational(utc.hour, 1),
            IFDRational(utc.minute, 1),
            IFDRational(utc.second, 1),
        )
        gps[GPS.GPSDateStamp] = utc.strftime("%Y:%m:%d")
        gps[GPS.GPSMapDatum] = "WGS-84"
    return exif.tobytes()


def _dms_parts(value: float) -> tuple[int, int, int]:
    """Degrees, minutes and thousandths of arc seconds of ``abs(value)``."""
    total = round(abs(value) * 3600 * 1000)
    deg, rest = divmod(total, 3600 * 1000)
    minutes, millis = divmod(rest, 60 * 1000)
    return deg, minutes, millis


def _dms_value(value: float) -> float:
    deg, minutes, millis = _dms_parts(value)
    return math.copysign(deg + minutes / 60 + millis / 3_600_000, value)


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    deg, minutes, millis = _dms_parts(value)
    return IFDRational(deg, 1), IFDRational(minutes, 1), IFDRational(millis, 1000)


class _Noise:
    """Shared fields of RGB sensor noise (uint8 around 128), one per camera at that
    camera's noise level; each shot adds a random window of its camera's field."""

    def __init__(self, seed: int, side: int) -> None:
        rng = np.random.default_rng([seed, 99])
        self.side = side
        unit = rng.standard_normal((side, side, 3), dtype=np.float32)
        self.fields: dict[str, NDArray[np.uint8]] = {}
        for cam in CAMERAS:
            sigma = float(_HABITS[cam.camera_id]["noise"])
            self.fields[cam.camera_id] = np.clip(unit * sigma + 128.5, 0, 255).astype(np.uint8)

    def layer(self, camera_id: str, out: tuple[int, int], rng: np.random.Generator) -> Image.Image:
        w, h = out
        x = int(rng.integers(0, self.side - w + 1))
        y = int(rng.integers(0, self.side - h + 1))
        return Image.fromarray(np.ascontiguousarray(self.fields[camera_id][y : y + h, x : x + w]))


@dataclass(frozen=True)
class _Ctx:
    seed: int
    photo_size: tuple[int, int]
    noise: _Noise


def _render_card_shots(card: Card, shots: Sequence[_Shot], ctx: _Ctx) -> list[_Rendered]:
    idx = shots[0].card_index
    rng = np.random.default_rng([ctx.seed, 17, idx])
    rr = random.Random(int(rng.integers(0, 2**62)))
    pw, ph = ctx.photo_size
    # Optics are simulated at a reduced scale ("sharp") and scaled up to the photo size:
    # cheaper, free of aliasing, and the upscaling is the lens/demosaicing softness of a
    # compact camera.  The card and the scene are built at that scale.
    sharp = float(rng.uniform(0.55, 0.8))
    cw = round(0.55 * pw * sharp)
    chh = round(cw * 0.6)
    card_img = _render_card(card, cw, chh, rr, rng)
    any_portrait = any(s.orientation != 1 for s in shots)
    side = max(pw, ph) * sharp
    scene_size = (
        (round(1.5 * side), round(1.5 * side))
        if any_portrait
        else (round(1.5 * pw * sharp), round(1.5 * ph * sharp))
    )
    cam = shots[0].camera
    habits = _HABITS[cam.camera_id]
    scene = _compose_scene(card_img, habits["table"], scene_size, rng)
    wb = tuple(float(v) for v in rng.uniform(0.92, 1.06, 3))
    out: list[_Rendered] = []
    for shot in shots:
        portrait = shot.orientation != 1
        view = (ph, pw) if portrait else (pw, ph)
        low = (max(16, round(view[0] * sharp)), max(16, round(view[1] * sharp)))
        quad = _view_quad(scene, low, portrait, rng)
        coeffs = _perspective_coeffs(((0, 0), (low[0], 0), low, (0, low[1])), quad)
        img = scene.image.transform(
            low, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
        )
        img = img.point(_tone_lut(rng, wb))
        img = ImageChops.multiply(img, _light_field(low, rng).convert("RGB"))
        if rng.random() < 0.3:
            img = ImageChops.screen(img, _glare(low, rng).convert("RGB"))
        if rng.random() < 0.15:  # a shot slightly out of focus
            img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.6, 1.4)) * low[0] / 1000))
        img = img.resize(view, Image.Resampling.BILINEAR)
        img = ImageChops.add(img, ctx.noise.layer(cam.camera_id, view, rng), 1.0, -128)
        if shot.orientation == 6:
            img = img.transpose(Image.Transpose.ROTATE_90)
        elif shot.orientation == 8:
            img = img.transpose(Image.Transpose.ROTATE_270)
        buf = io.BytesIO()
        img.save(
            buf,
            "JPEG",
            quality=habits["quality"],
            subsampling=habits["subsampling"],
            exif=_exif_bytes(shot, img.width, img.height),
        )
        out.append(_Rendered(shot, buf.getvalue(), img.width, img.height))
    return out


# ------------------------------------------------------------------------ the writer


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(shot: _Shot) -> str:
    return shot.local_time.strftime("%Y-%m-%dT%H:%M:%S") + shot.offset


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[DemoFile] = []

    def write(self, rel: str, data: bytes) -> None:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)

    def add(self, rel: str, data: bytes, kind: FileKind, **kw: Any) -> DemoFile:
        self.write(rel, data)
        entry = DemoFile(path=rel, kind=kind, size=len(data), sha256=_sha(data), **kw)
        self.files.append(entry)
        return entry


def _photo_fields(r: _Rendered, card: Card) -> dict[str, Any]:
    return {
        "card": card,
        "shot": r.shot.shot,
        "camera": r.shot.camera,
        "captured": _iso(r.shot),
        "orientation": r.shot.orientation,
        "gps": r.shot.gps,
        "width": r.width,
        "height": r.height,
        "has_exif": True,
    }


def _copy_name(rng: random.Random, shot: _Shot, k: int) -> str:
    later = shot.local_time + dt.timedelta(days=rng.randint(20, 400), seconds=rng.randint(0, 86399))
    style = rng.choice(("whatsapp", "facebook", "telegram"))
    if style == "whatsapp":
        return f"shared_online/whatsapp/IMG-{later:%Y%m%d}-WA{k:04d}.jpg"
    if style == "facebook":
        ms = int((later - dt.datetime(1970, 1, 1)).total_seconds()) * 1000 + rng.randint(0, 999)
        return f"shared_online/facebook/FB_IMG_{ms}.jpg"
    return f"shared_online/telegram/photo_{later:%Y-%m-%d_%H-%M-%S}.jpg"


def _make_copy(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    with Image.open(io.BytesIO(data)) as im:
        img = ImageOps.exif_transpose(im)
    scale = rng.uniform(0.3, 0.7)
    img = img.resize(
        (max(16, round(img.width * scale)), max(16, round(img.height * scale))),
        Image.Resampling.BICUBIC,
    )
    notes = [f"resized {scale:.2f}"]
    variant = rng.random()
    if variant < 0.3:
        w, h = img.size
        left, top = round(w * rng.uniform(0.01, 0.06)), round(h * rng.uniform(0.01, 0.06))
        right, bottom = round(w * rng.uniform(0.01, 0.06)), round(h * rng.uniform(0.01, 0.06))
        img = img.crop((left, top, w - right, h - bottom))
        notes.append("cropped")
    elif variant < 0.5:
        border = max(2, round(min(img.size) * rng.uniform(0.02, 0.06)))
        colour = rng.choice(((255, 255, 255), (0, 0, 0)))
        img = ImageOps.expand(img, border=border, fill=colour)
        notes.append("border")
    quality = rng.randint(40, 70)
    notes.append(f"quality {quality}")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, progressive=rng.random() < 0.5)
    return buf.getvalue(), ", ".join(notes) + ", EXIF stripped"


_TRANSFER_NOTE = """\
TRANSFER LOG (synthetic demo data - all numbers are fictitious)

stick2 ............ copied from USB stick no. 2, batches 01..nn
DCIM .............. camera card as received
laptop ............ export from a laptop, FinePix folders by day
shared_online ..... pictures found re-circulated online (no metadata)
archive ........... handover.zip as received
recovered ......... files recovered from a damaged card, unreadable
"""


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def generate_collection(
    out: Path | str,
    *,
    cards: int = 70,
    seed: int = 7,
    photo_size: tuple[int, int] = (1600, 1200),
    manifest_path: Path | str | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> DemoManifest:
    """Write a synthetic collection into ``out`` (created; must be absent or empty).

    ``cards`` index cards are each photographed 3-6 times (about 4.5 photos per card);
    ``photo_size`` is the (width, height) of the camera JPEGs.  ``manifest_path`` is
    where the manifest JSON goes, by default :func:`default_manifest_path` -- next to,
    not inside, ``out``.  ``progress(done, total)`` is called from the calling thread as
    the work advances (first ``(0, total)``, last ``(total, total)``).  ``workers`` is
    the number of rendering threads (default: up to 4, as many as there are CPUs); the
    output does not depend on it.  Returns the manifest.
    """
    if cards < 1:
        raise ValueError("cards must be >= 1")
    pw, ph = photo_size
    if pw < 160 or ph < 120:
        raise ValueError("photo_size must be at least 160x120")
    root = Path(out)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"{root} exists and is not an empty directory")
    root.mkdir(parents=True, exist_ok=True)

    plan_rng = random.Random(seed)
    card_list = _plan_cards(plan_rng, cards)
    plan = _plan_shots(plan_rng, card_list)
    n_shots = sum(len(s) for s in plan)
    total = n_shots + 1
    done = 0
    if progress is not None:
        progress(0, total)

    ctx = _Ctx(seed=seed, photo_size=(pw, ph), noise=_Noise(seed, max(pw, ph) + 64))
    writer = _Writer(root)
    rendered: dict[tuple[int, int], _Rendered] = {}
    n_workers = workers if workers is not None else min(4, _cpu_count())
    with ThreadPoolExecutor(max_workers=max(1, n_workers)) as pool:
        futures = [
            pool.submit(_render_card_shots, card_list[i], plan[i], ctx) for i in range(cards)
        ]
        for fut in as_completed(futures):
            for r in fut.result():
                rendered[(r.shot.card_index, r.shot.shot)] = r
                if r.shot.path is not None:
                    writer.add(
                        r.shot.path,
                        r.data,
                        "photo",
                        **_photo_fields(r, card_list[r.shot.card_index]),
                    )
            done += len(plan[r.shot.card_index])
            if progress is not None:
                progress(done, total)

    extra = random.Random(f"dalil-demo-extras/{seed}")
    in_tree = sorted(
        (r for r in rendered.values() if r.shot.path is not None), key=lambda r: str(r.shot.path)
    )
    zip_only = sorted(
        (r for r in rendered.values() if r.shot.path is None), key=lambda r: str(r.shot.member)
    )

    def card_of(r: _Rendered) -> Card:
        return card_list[r.shot.card_index]

    # re-circulated copies
    n_copies = min(20, max(3, len(in_tree) // 15), len(in_tree))
    used_names: set[str] = set()
    for k, r in enumerate(extra.sample(in_tree, n_copies), start=1):
        data, note = _make_copy(r.data, extra)
        name = _copy_name(extra, r.shot, k)
        while name in used_names:
            name = _copy_name(extra, r.shot, k)
        used_names.add(name)
        with Image.open(io.BytesIO(data)) as im:
            size = im.size
        writer.add(
            name,
            data,
            "copy",
            card=card_of(r),
            shot=r.shot.shot,
            camera=r.shot.camera,
            captured=_iso(r.shot),
            width=size[0],
            height=size[1],
            has_exif=False,
            source=r.shot.path,
            note=note,
        )

    # exact duplicates at other paths
    n_dups = min(6, max(2, len(in_tree) // 50), len(in_tree))
    for k, r in enumerate(extra.sample(in_tree, n_dups)):
        src = str(r.shot.path)
        if k % 2 == 0:
            dst = f"backup/old_stick/{src}"
        else:
            stem, _, ext = r.shot.name.rpartition(".")
            dst = f"misc/{stem} - Copy.{ext}"
        fields = _photo_fields(r, card_of(r))
        writer.add(dst, r.data, "duplicate", source=src, **fields)

    # bad files
    r = extra.choice(in_tree)
    cut = round(len(r.data) * extra.uniform(0.35, 0.6))
    writer.add(
        f"stick2/incomplete_copy/{r.shot.name}",
        r.data[:cut],
        "corrupt",
        defect="truncated",
        source=r.shot.path,
        card=card_of(r),
        shot=r.shot.shot,
        camera=r.shot.camera,
        captured=_iso(r.shot),
        has_exif=True,
        note=f"first {cut} of {len(r.data)} bytes",
    )
    writer.add("stick2/recovered/FILE0001.JPG", b"", "corrupt", defect="empty")
    junk = b"\x13\x37\xc0\xde" + extra.randbytes(extra.randint(20_000, 60_000))
    writer.add("stick2/recovered/FILE0002.JPG", junk, "corrupt", defect="random-bytes")

    r = extra.choice(in_tree)
    with Image.open(io.BytesIO(r.data)) as im:
        shot_img = ImageOps.exif_transpose(im)
    screen = shot_img.resize(
        (shot_img.width * 45 // 100, shot_img.height * 45 // 100), Image.Resampling.BILINEAR
    )
    buf = io.BytesIO()
    screen.save(buf, "PNG", compress_level=1)
    stamp = r.shot.local_time + dt.timedelta(days=extra.randint(30, 300))
    writer.add(
        f"shared_online/screenshots/Screenshot_{stamp:%Y-%m-%d-%H-%M-%S}.jpg",
        buf.getvalue(),
        "wrong_extension",
        defect="png-with-jpg-extension",
        card=card_of(r),
        shot=r.shot.shot,
        camera=r.shot.camera,
        captured=_iso(r.shot),
        width=screen.width,
        height=screen.height,
        source=r.shot.path,
    )

    r = extra.choice(in_tree)
    with Image.open(io.BytesIO(r.data)) as im:
        page = ImageOps.exif_transpose(im)
    page = page.resize((page.width // 2, page.height // 2), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    when = r.shot.local_time + dt.timedelta(days=2)
    page.save(
        buf,
        "PDF",
        resolution=100.0,
        title=f"Card {card_of(r).card_id}",
        creationDate=when.timetuple(),
        modDate=when.timetuple(),
    )
    writer.add(
        f"reports/card_{card_of(r).card_id}.pdf",
        buf.getvalue(),
        "pdf",
        card=card_of(r),
        shot=r.shot.shot,
        camera=r.shot.camera,
        captured=_iso(r.shot),
        source=r.shot.path,
    )

    writer.add("notes/transfer_log.txt", _TRANSFER_NOTE.encode("ascii"), "text")

    # the zip: duplicates of photos outside it plus photos that exist only inside
    n_zip_dups = min(5, max(2, len(in_tree) // 40), len(in_tree))
    members: list[tuple[str, _Rendered, str | None]] = [
        (f"handover/disk_1/{r.shot.name}", r, r.shot.path)
        for r in sorted(extra.sample(in_tree, n_zip_dups), key=lambda r: r.shot.name)
    ]
    members += [(str(r.shot.member), r, None) for r in zip_only]
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_STORED) as zf:
        for name, r, _src in members:
            t = r.shot.local_time
            info = zipfile.ZipInfo(name, (t.year, t.month, t.day, t.hour, t.minute, t.second))
            info.external_attr = 0o644 << 16
            zf.writestr(info, r.data)
    writer.add(ZIP_PATH, zbuf.getvalue(), "zip", note=f"{len(members)} members")
    for name, r, origin in members:
        writer.files.append(
            DemoFile(
                path=ZIP_PATH,
                kind="zip_member",
                size=len(r.data),
                sha256=_sha(r.data),
                member=name,
                source=origin,
                **_photo_fields(r, card_of(r)),
            )
        )

    writer.files.sort(key=lambda f: (f.path, f.member or ""))
    manifest = DemoManifest(
        collection=root.name,
        seed=seed,
        photo_size=(pw, ph),
        cameras=list(CAMERAS),
        cards=card_list,
        files=writer.files,
    )
    manifest.write_json(default_manifest_path(root) if manifest_path is None else manifest_path)
    if progress is not None:
        progress(total, total)
    return manifest
