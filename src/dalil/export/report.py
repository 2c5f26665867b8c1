"""The exhibit report: one PDF per court bundle, readable by people who never run a command.

A cover page (bundle hash, signed checkpoint, how to verify), then one section per item:
a thumbnail — blurred and greyscale unless the caller asks to reveal — the full SHA-256,
key metadata, flags, where it was found, its custody timeline from the bundle's ledger
events, and the cases it belongs to with their identifiers (verified or not) and verified
annotations. Every page carries "page N of M" and the full bundle hash, so a single printed
page can be tied back to the bundle.

The report reads only the bag (see :mod:`dalil.export.bundle`), never the vault.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image, ImageFilter
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import cm  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus import Image as PdfImage

from dalil.errors import UsageError
from dalil.ingest import decode
from dalil.store import write_atomic
from dalil.timeutil import utc_now

Json = dict[str, Any]

THUMB_WIDTH = 8 * cm
THUMB_HEIGHT = 6 * cm
CONTENT_WIDTH = A4[0] - 4 * cm - 12  # 2 cm margins, the frame's padding
THUMB_SIDE = 480
"""Longest side (px) of an embedded unblurred thumbnail: about 150 dpi at 8 cm."""
BLUR_SIDE = 240
BLUR_SHRINK = 6
BLUR_RADIUS = 8
"""Blurred thumbnails: shrunk to 1/6 (what is not embedded cannot be de-blurred), then
enlarged back to :data:`BLUR_SIDE` px and Gaussian-blurred with this radius."""

_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/TTF", "/usr/share/fonts/dejavu")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_META_FIELDS = (
    ("camera_make", "camera make"),
    ("camera_model", "camera model"),
    ("camera_serial", "camera serial"),
    ("lens", "lens"),
    ("captured_at", "captured at"),
    ("software", "software"),
)


# ---------------------------------------------------------------------------- fonts, text


@dataclass(frozen=True, slots=True)
class _Fonts:
    regular: str
    bold: str
    mono: str
    unicode: bool  # False: only the standard PDF fonts, so text is reduced to Latin-1


@cache
def _fonts() -> _Fonts:
    """DejaVu (which has Arabic glyphs) where installed, else the standard PDF fonts."""
    for folder in map(Path, _FONT_DIRS):
        files = [folder / f"DejaVuSans{s}.ttf" for s in ("", "-Bold", "Mono")]
        if all(f.is_file() for f in files):
            for name, path in zip(("DalilSans", "DalilSans-Bold", "DalilMono"), files, strict=True):
                pdfmetrics.registerFont(TTFont(name, str(path)))
            pdfmetrics.registerFontFamily(
                "DalilSans",
                normal="DalilSans",
                bold="DalilSans-Bold",
                italic="DalilSans",
                boldItalic="DalilSans-Bold",
            )
            return _Fonts("DalilSans", "DalilSans-Bold", "DalilMono", unicode=True)
    return _Fonts("Helvetica", "Helvetica-Bold", "Courier", unicode=False)


def _clean(value: object) -> str:
    """Any value as text the PDF can hold: no control characters, no lone surrogates."""
    text = "" if value is None else str(value)
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub("\ufffd", text.replace("\r\n", "\n").replace("\t", " "))
    if not _fonts().unicode:
        text = text.encode("latin-1", "replace").decode("latin-1")
    return text


@dataclass(frozen=True, slots=True)
class _Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    small_bold: ParagraphStyle
    mono: ParagraphStyle


@cache
def _styles() -> _Styles:
    f = _fonts()
    body = ParagraphStyle("body", fontName=f.regular, fontSize=9, leading=11.5)
    return _Styles(
        title=ParagraphStyle("title", body, fontName=f.bold, fontSize=18, leading=22),
        heading=ParagraphStyle("heading", body, fontName=f.bold, fontSize=12, leading=15),
        body=body,
        small=ParagraphStyle("small", body, fontSize=7.5, leading=9),
        small_bold=ParagraphStyle("small-bold", body, fontName=f.bold, fontSize=7.5, leading=9),
        mono=ParagraphStyle("mono", body, fontName=f.mono, fontSize=8, leading=10),
    )


def _p(value: object, style: ParagraphStyle | None = None, *, bold: bool = False) -> Paragraph:
    text = escape(_clean(value)).replace("\n", "<br/>")
    return Paragraph(f"<b>{text}</b>" if bold else text, style or _styles().body)


# ---------------------------------------------------------------------------- the bag


@dataclass(slots=True)
class _Bag:
    root: Path
    items: list[Json]
    events: dict[str, list[Json]]
    checkpoint: Json
    cases: dict[str, Json]
    timestamps: int
    origin: str
    verified: dict[tuple[str, str], list[Json]] = field(default_factory=dict)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _capture_key(item: Json) -> tuple[bool, str, str]:
    captured = (item.get("metadata") or {}).get("captured_at")
    return (not captured, str(captured or ""), str(item.get("sha256", "")))


def _item_sha(value: object) -> str:
    return str(value or "").removeprefix("sha256:")


def _read_bag(bag: Path) -> _Bag:
    data = bag / "data"
    items = [_load(p) for p in sorted((data / "metadata").glob("*.json"))]
    items.sort(key=_capture_key)
    shas = {str(i.get("sha256")) for i in items}
    events: dict[str, list[Json]] = {}
    ledger = data / "custody" / "events.jsonl"
    lines = ledger.read_text(encoding="utf-8").splitlines() if ledger.is_file() else []
    for line in lines:
        if not line.strip():
            continue
        event = json.loads(line)
        details = event.get("details") if isinstance(event.get("details"), dict) else {}
        subjects = {_item_sha(event.get("subject")), _item_sha(details.get("sha256"))}
        for sha in subjects & shas:
            events.setdefault(sha, []).append(event)
    checkpoint_file = data / "custody" / "checkpoint.json"
    checkpoint = _load(checkpoint_file) if checkpoint_file.is_file() else {}
    cases = {p.stem: _load(p) for p in sorted((data / "cases").glob("*.json"))}
    result = _Bag(
        root=bag,
        items=items,
        events=events,
        checkpoint=checkpoint,
        cases=cases,
        timestamps=len(list((data / "custody" / "timestamps").glob("*.tsr"))),
        origin=str(checkpoint.get("origin") or ""),
    )
    for case_id, case in cases.items():
        for note in case.get("annotations") or []:
            if note.get("state") == "verified":
                key = (case_id, _item_sha(note.get("item")))
                result.verified.setdefault(key, []).append(note)
    return result


def _original(bag: Path, item: Json) -> Path | None:
    named = item.get("bundle_file")
    if named and (bag / str(named)).is_file():
        return bag / str(named)
    folder = bag / "data" / "originals" / str(item.get("sha256"))
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    return files[0] if files else None


# ---------------------------------------------------------------------------- thumbnails


def thumbnail_jpeg(path: Path | None, *, reveal: bool) -> bytes | None:
    """A small JPEG of the picture, upright; blurred and greyscale unless ``reveal``.

    None when the file is not a picture Pillow (or pillow-heif) can decode.
    """
    if path is None:
        return None
    # reduced_image uses DCT scaling (draft) for JPEGs, so a 24 MP photograph is never
    # decoded at full size, and applies the EXIF orientation; asking for a short side of
    # half the thumbnail's long side lets a 12 MP photograph decode at 1/8 scale
    image = decode.reduced_image(path, THUMB_SIDE // 2)
    if image is None:
        return None
    image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    if not reveal:
        image = image.convert("L")
        image.thumbnail((BLUR_SIDE, BLUR_SIDE))
        small = image.resize(
            (max(1, image.width // BLUR_SHRINK), max(1, image.height // BLUR_SHRINK)),
            Image.Resampling.BOX,
        )
        image = small.resize(image.size, Image.Resampling.BILINEAR).filter(
            ImageFilter.GaussianBlur(BLUR_RADIUS)
        )
    elif image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80 if reveal else 70)
    return buffer.getvalue()


def _picture(jpeg: bytes | None) -> Flowable:
    if jpeg is None:
        box = Table(
            [["no picture"]],
            colWidths=[THUMB_WIDTH],
            rowHeights=[THUMB_HEIGHT / 2],
        )
        box.setStyle(
            TableStyle(
                [
                    _font(((0, 0), (-1, -1)), _styles().body),
                    ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#d9d9d9")),
                    ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        return box
    with Image.open(io.BytesIO(jpeg)) as im:
        width, height = im.size
    scale = min(THUMB_WIDTH / width, THUMB_HEIGHT / height)
    return PdfImage(io.BytesIO(jpeg), width * scale, height * scale)


# ---------------------------------------------------------------------------- pages


def _cell(value: object, style: ParagraphStyle, width: float) -> str | Paragraph:
    """Plain text where it fits on one line (tables lay that out far faster), else a
    wrapping paragraph."""
    text = _clean(value)
    fits = pdfmetrics.stringWidth(text, style.fontName, style.fontSize) <= width - 6
    return text if fits and "\n" not in text else _p(text, style)


def _font(cells: tuple[tuple[int, int], tuple[int, int]], style: ParagraphStyle) -> tuple[Any, ...]:
    return ("FONT", *cells, style.fontName, style.fontSize, style.leading)


def _facts(
    rows: Iterable[tuple[str, object]], *, mono: Iterable[str] = (), width: float = CONTENT_WIDTH
) -> Table:
    """A two-column label/value table; values under a label in ``mono`` are set in mono."""
    s = _styles()
    mono_labels = set(mono)
    label = min(3.6 * cm, 0.3 * width)
    widths = [label, width - label]
    data, commands = [], [_font(((0, 0), (0, -1)), s.small), _font(((1, 0), (1, -1)), s.body)]
    for n, (label, value) in enumerate(rows):
        style = s.mono if label in mono_labels else s.body
        if label in mono_labels:
            commands.append(_font(((1, n), (1, n)), s.mono))
        data.append([_cell(label, s.small, widths[0]), _cell(value, style, widths[1])])
    table = Table(data, colWidths=widths, hAlign="LEFT")
    table.setStyle(_grid_style(commands))
    return table


def _grid_style(commands: list[tuple[Any, ...]], header: bool = False) -> TableStyle:
    commands = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        *commands,
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    return TableStyle(commands)


def _rows_table(head: list[str], rows: list[list[object]], widths: list[float | None]) -> Table:
    """A table with a header row; the one column of width None takes the remaining width."""
    s = _styles()
    rest = CONTENT_WIDTH - sum(w for w in widths if w is not None)
    fixed = [rest if w is None else w for w in widths]
    bold = s.small_bold
    data = [[_cell(h, bold, w) for h, w in zip(head, fixed, strict=True)]]
    data += [[_cell(c, s.small, w) for c, w in zip(row, fixed, strict=True)] for row in rows]
    table = Table(data, colWidths=fixed, hAlign="LEFT", repeatRows=1)
    commands = [_font(((0, 0), (-1, -1)), s.small), _font(((0, 0), (-1, 0)), bold)]
    table.setStyle(_grid_style(commands, header=True))
    return table


def _cover(bag: _Bag, bundle_hash: str, title: str) -> list[Flowable]:
    s = _styles()
    cp = bag.checkpoint
    rows: list[tuple[str, object]] = [
        ("bundle hash (SHA-256 of manifest-sha256.txt)", bundle_hash),
        ("vault origin", bag.origin or "(not recorded)"),
        ("signed checkpoint", f"{cp.get('size', '?')} events, at {cp.get('time', '?')}"),
        ("checkpoint root", cp.get("root", "(none)")),
        ("items", len(bag.items)),
        ("cases", ", ".join(bag.cases) or "(none)"),
        (
            "trusted timestamps",
            f"{bag.timestamps} RFC 3161 token(s) in data/custody/timestamps"
            if bag.timestamps
            else "none in this bundle",
        ),
        ("report generated", utc_now()),
    ]
    how = (
        "How to verify. Every page of this report carries the bundle hash above. Compute the"
        " SHA-256 of the file manifest-sha256.txt at the top of the bundle (for example with"
        " 'sha256sum manifest-sha256.txt'); it must equal that hash. Then, inside the bundle"
        " folder, run 'python3 verify_bundle.py': it re-hashes every file, checks the custody"
        " events against the signed checkpoint with the vault's public key"
        + (", and checks the trusted timestamps" if bag.timestamps else "")
        + ". For the files alone, 'sha256sum -c manifest-sha256.txt' is enough. Each item's"
        " SHA-256 below names its original file: data/originals/<sha256>/."
    )
    flow: list[Flowable] = [
        _p(title, s.title),
        Spacer(1, 0.5 * cm),
        _facts(rows, mono=("bundle hash (SHA-256 of manifest-sha256.txt)", "checkpoint root")),
        Spacer(1, 0.5 * cm),
        _p(how),
    ]
    for case_id, case in bag.cases.items():
        flow += [Spacer(1, 0.4 * cm), _p(f"Case {case_id}: {case.get('title') or ''}", s.heading)]
        flow.append(
            _facts(
                [
                    ("kind / status", f"{case.get('kind') or '-'} / {case.get('status') or '-'}"),
                    ("items in the case", len(case.get("items") or [])),
                    ("notes", case.get("notes") or "-"),
                ]
            )
        )
        flow += _annotations(bag.verified.get((case_id, ""), []), "verified case annotations")
    return flow


def _annotations(notes: list[Json], heading: str) -> list[Flowable]:
    if not notes:
        return []
    rows: list[list[object]] = []
    for note in notes:
        reviewers = ", ".join(
            str(r.get("reviewer")) for r in note.get("reviews") or [] if r.get("verdict")
        )
        rows.append(
            [
                note.get("kind"),
                note.get("field"),
                note.get("value"),
                note.get("author"),
                reviewers or "-",
                note.get("ledger_seq"),
            ]
        )
    return [
        Spacer(1, 0.15 * cm),
        _p(heading, _styles().small, bold=True),
        _rows_table(
            ["kind", "field", "value", "author", "reviewed by", "ledger seq"],
            rows,
            [2.2 * cm, 2.6 * cm, None, 2.4 * cm, 2.8 * cm, 1.6 * cm],
        ),
    ]


def _gps(meta: Json) -> str:
    lat, lon, alt = meta.get("gps_lat"), meta.get("gps_lon"), meta.get("gps_alt")
    if lat is None or lon is None:
        return "-"
    return f"{lat}, {lon}" + (f" (altitude {alt} m)" if alt is not None else "")


def _item_section(
    bag: _Bag, item: Json, n: int, total: int, picture: bytes | None
) -> list[Flowable]:
    s = _styles()
    sha = str(item.get("sha256", ""))
    meta = item.get("metadata") or {}
    size = item.get("size")
    key: list[tuple[str, object]] = [
        ("media type", item.get("media_type") or "-"),
        ("size", f"{size:,} bytes" if isinstance(size, int) else size),
        *((label, meta.get(name) or "-") for name, label in _META_FIELDS),
        ("GPS", _gps(meta)),
        ("pixels", f"{meta.get('width')} x {meta.get('height')}" if meta.get("width") else "-"),
        ("ingested at", item.get("ingested_at") or "-"),
    ]
    side = CONTENT_WIDTH - THUMB_WIDTH - 0.3 * cm
    top = Table(
        [[_picture(picture), _facts(key, width=side - 6)]], colWidths=[THUMB_WIDTH + 0.3 * cm, side]
    )
    top.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    )
    reasons = item.get("flag_reasons") or {}
    flags = "; ".join(
        f"{f}: {reasons[f]}" if reasons.get(f) else str(f) for f in item.get("flags") or []
    )
    flow: list[Flowable] = [
        KeepTogether([_p(f"Item {n} of {total}", s.heading), Spacer(1, 0.2 * cm), top]),
        Spacer(1, 0.2 * cm),
        _facts([("SHA-256", sha), ("flags", flags or "none")], mono=("SHA-256",)),
    ]
    occurrences = [
        [o.get("acquisition"), o.get("from"), o.get("path"), o.get("size")]
        for o in item.get("occurrences") or []
    ]
    if occurrences:
        flow += [Spacer(1, 0.2 * cm), _p("Where it was found", s.small, bold=True)]
        flow.append(
            _rows_table(
                ["acquisition", "from", "path", "bytes"],
                occurrences,
                [3 * cm, 3 * cm, None, 2 * cm],
            )
        )
    events = sorted(bag.events.get(sha, []), key=lambda e: int(e.get("seq") or 0))
    flow += [Spacer(1, 0.2 * cm), _p("Custody timeline (ledger events)", s.small, bold=True)]
    if events:
        rows = [[e.get("seq"), e.get("time"), e.get("actor"), e.get("action")] for e in events]
        flow.append(
            _rows_table(
                ["seq", "time", "actor", "action"], rows, [1.5 * cm, 5.2 * cm, 3.5 * cm, None]
            )
        )
    else:
        flow.append(_p("no ledger event in this bundle names this item", s.small))
    for case in item.get("cases") or []:
        flow += _case_of_item(bag, case, sha)
    return flow


def _case_of_item(bag: _Bag, case: Json, sha: str) -> list[Flowable]:
    s = _styles()
    case_id = str(case.get("case_id") or "")
    flow: list[Flowable] = [
        Spacer(1, 0.25 * cm),
        _p(
            f"Case {case_id} — {case.get('title') or ''} (role: {case.get('role') or '-'})",
            s.body,
            bold=True,
        ),
    ]
    identifiers = [
        [
            i.get("type"),
            i.get("value"),
            "VERIFIED" if i.get("state") == "verified" else f"NOT VERIFIED ({i.get('state')})",
        ]
        for i in case.get("identifiers") or []
    ]
    if identifiers:
        flow.append(
            _rows_table(["identifier", "value", "state"], identifiers, [3.5 * cm, None, 4 * cm])
        )
    flow += _annotations(bag.verified.get((case_id, sha), []), "verified annotations")
    return flow


# ---------------------------------------------------------------------------- the document


def _numbered_canvas(bundle_hash: str, title: str, pages: list[int]) -> Callable[..., Any]:
    """A canvas that holds every page until the end, so each can say "page N of M"."""
    fonts = _fonts()
    header = _clean(title)

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:  # ReportLab's name
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            pages.append(total)
            for number, state in enumerate(self._held, 1):
                self.__dict__.update(state)
                self._furniture(number, total)
                super().showPage()
            super().save()

        def _furniture(self, number: int, total: int) -> None:
            width, height = self._pagesize
            self.setFillColor(colors.black)
            self.setFont(fonts.regular, 8)
            self.drawString(2 * cm, height - 1.2 * cm, header[:90])
            self.drawRightString(width - 2 * cm, height - 1.2 * cm, f"page {number} of {total}")
            self.setFont(fonts.mono, 6.5)
            self.drawString(2 * cm, 1.0 * cm, f"bundle sha256:{bundle_hash}")
            self.setFont(fonts.regular, 6.5)
            self.drawRightString(width - 2 * cm, 1.0 * cm, f"page {number} of {total}")

    return NumberedCanvas


def _check_hash(bag: Path, bundle_hash: str) -> None:
    if not _HEX64.fullmatch(bundle_hash):
        raise UsageError(f"bundle hash must be 64 lowercase hex digits, not {bundle_hash!r}")
    manifest = bag / "manifest-sha256.txt"
    if manifest.is_file() and hashlib.sha256(manifest.read_bytes()).hexdigest() != bundle_hash:
        raise UsageError("the bundle hash is not the SHA-256 of the bag's manifest-sha256.txt")


def write_report(
    bag: Path, out_pdf: Path, *, bundle_hash: str, reveal: bool = False, title: str | None = None
) -> int:
    """Write the exhibit report of the BagIt bundle ``bag`` to ``out_pdf``; return its pages.

    ``bundle_hash`` is printed in full on every page; when the bag has its
    ``manifest-sha256.txt`` the hash must be that file's SHA-256. Pictures are blurred and
    greyscale unless ``reveal``. Raises :class:`UsageError` for a wrong bundle hash.
    """
    _check_hash(bag, bundle_hash)
    contents = _read_bag(bag)
    if title is None:
        title = "Exhibit bundle" + (f" — {', '.join(contents.cases)}" if contents.cases else "")
    with ThreadPoolExecutor(max_workers=2) as pool:  # Pillow decodes without the GIL
        pictures = list(
            pool.map(lambda i: thumbnail_jpeg(_original(bag, i), reveal=reveal), contents.items)
        )
    story = _cover(contents, bundle_hash, title)
    total = len(contents.items)
    for n, (item, picture) in enumerate(zip(contents.items, pictures, strict=True), 1):
        story.append(PageBreak())
        story += _item_section(contents, item, n, total, picture)
    pages: list[int] = []
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=1.8 * cm,
        bottomMargin=1.6 * cm,
        title=_clean(title),
        author="Dalil",
        subject=f"bundle sha256:{bundle_hash}",
        invariant=True,
    )
    doc.build(story, canvasmaker=_numbered_canvas(bundle_hash, title, pages))
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out_pdf, buffer.getvalue(), out_pdf.parent)
    return pages[-1]
