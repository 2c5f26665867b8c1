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
from reportlab.lib.enums import TA_RIGHT  # type: ignore[import-untyped]
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

from dalil import i18n
from dalil.errors import UsageError
from dalil.i18n import N_
from dalil.i18n import pdf as rtl
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
    ("camera_make", N_("camera make")),
    ("camera_model", N_("camera model")),
    ("camera_serial", N_("camera serial")),
    ("lens", N_("lens")),
    ("captured_at", N_("captured at")),
    ("software", N_("software")),
)


@dataclass(frozen=True, slots=True)
class _Lang:
    """The language a report is written in: its messages and its direction."""

    code: str

    @property
    def rtl(self) -> bool:
        return self.code in i18n.RIGHT_TO_LEFT

    def __call__(self, message: str, **values: object) -> str:
        """``message`` in this language, with ``values`` put in; right to left, each value keeps
        its own direction (:func:`dalil.i18n.pdf.embed`)."""
        text = i18n.translations(self.code).gettext(message)
        if not values:
            return text
        if self.rtl or any(i18n.is_right_to_left(str(v)) for v in values.values()):
            values = {k: rtl.embed(str(v)) for k, v in values.items()}
        return text.format(**values)

    def row(self, cells: list[Any]) -> list[Any]:
        """A table row in reading order: the first cell on the right in a right-to-left report."""
        return cells[::-1] if self.rtl else cells


ENGLISH = _Lang("en")


# ---------------------------------------------------------------------------- fonts, text


@dataclass(frozen=True, slots=True)
class _Fonts:
    regular: str
    bold: str
    mono: str
    unicode: bool  # False: only the standard PDF fonts, so text is reduced to Latin-1
    file: str | None = None  # the regular font's file (which Arabic letter forms it has)


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
            return _Fonts("DalilSans", "DalilSans-Bold", "DalilMono", True, str(files[0]))
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
def _styles(right_to_left: bool = False) -> _Styles:
    """The paragraph styles; aligned on the right for a right-to-left report."""
    f = _fonts()
    body = ParagraphStyle(
        "body", fontName=f.regular, fontSize=9, leading=11.5, alignment=TA_RIGHT * right_to_left
    )
    return _Styles(
        title=ParagraphStyle("title", body, fontName=f.bold, fontSize=18, leading=22),
        heading=ParagraphStyle("heading", body, fontName=f.bold, fontSize=12, leading=15),
        body=body,
        small=ParagraphStyle("small", body, fontSize=7.5, leading=9),
        small_bold=ParagraphStyle("small-bold", body, fontName=f.bold, fontSize=7.5, leading=9),
        mono=ParagraphStyle("mono", body, fontName=f.mono, fontSize=8, leading=10),
    )


def _p(value: object, style: ParagraphStyle | None = None, *, bold: bool = False) -> Paragraph:
    text = _clean(value)
    style = style or _styles().body
    if i18n.is_right_to_left(text):
        return _RightToLeft(text, style, bold)
    marked = escape(text).replace("\n", "<br/>")
    return Paragraph(f"<b>{marked}</b>" if bold else marked, style)


class _RightToLeft(Paragraph):  # type: ignore[misc]
    """A paragraph with right-to-left text: broken into lines in reading order once its width
    is known, each line then shaped and reordered (:mod:`dalil.i18n.pdf`), set on the right."""

    def __init__(self, text: str, style: ParagraphStyle, bold: bool) -> None:
        self._logical, self._bold = text, bold
        self._right = ParagraphStyle(f"{style.name}-rtl", style, alignment=TA_RIGHT)
        super().__init__(self._markup(rtl.visual(text, _fonts().file).split("\n")), self._right)

    def _markup(self, lines: list[str]) -> str:
        body = "<br/>".join(escape(line) for line in lines)
        return f"<b>{body}</b>" if self._bold else body

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        f, st = _fonts(), self._right
        font = f.bold if self._bold else st.fontName
        width = availWidth - st.leftIndent - st.rightIndent - 1

        def measure(piece: str) -> float:
            return float(pdfmetrics.stringWidth(piece, font, st.fontSize))

        shown = rtl.lines(self._logical, width, measure, f.file)
        Paragraph.__init__(self, self._markup(shown), st)
        return super().wrap(availWidth, availHeight)  # type: ignore[no-any-return]


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


def _picture(jpeg: bytes | None, _: _Lang = ENGLISH) -> Flowable:
    if jpeg is None:
        box = Table(
            [[rtl.visual(_("no picture"), _fonts().file)]],
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
    wrapping paragraph; right-to-left text shaped and in visual order either way."""
    text = _clean(value)
    shown = rtl.visual(text, _fonts().file)
    fits = pdfmetrics.stringWidth(shown, style.fontName, style.fontSize) <= width - 6
    return shown if fits and "\n" not in text else _p(text, style)


def _font(cells: tuple[tuple[int, int], tuple[int, int]], style: ParagraphStyle) -> tuple[Any, ...]:
    return ("FONT", *cells, style.fontName, style.fontSize, style.leading)


def _facts(
    rows: Iterable[tuple[str, object]],
    *,
    mono: Iterable[str] = (),
    width: float = CONTENT_WIDTH,
    lang: _Lang = ENGLISH,
) -> Table:
    """A two-column label/value table; values under a label in ``mono`` are set in mono.
    Right to left, the label is the right-hand column."""
    s = _styles(lang.rtl)
    mono_labels = set(mono)
    label_width = min(3.6 * cm, 0.3 * width)
    widths = [label_width, width - label_width]
    lc, vc = (1, 0) if lang.rtl else (0, 1)
    data: list[list[Any]] = []
    commands = [_font(((lc, 0), (lc, -1)), s.small), _font(((vc, 0), (vc, -1)), s.body)]
    for n, (label, value) in enumerate(rows):
        style = s.mono if label in mono_labels else s.body
        if label in mono_labels:
            commands.append(_font(((vc, n), (vc, n)), s.mono))
        data.append(lang.row([_cell(label, s.small, widths[0]), _cell(value, style, widths[1])]))
    if lang.rtl:
        commands.append(("ALIGN", (0, 0), (-1, -1), "RIGHT"))
    table = Table(data, colWidths=lang.row(widths), hAlign="RIGHT" if lang.rtl else "LEFT")
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


def _rows_table(
    head: list[str], rows: list[list[object]], widths: list[float | None], lang: _Lang = ENGLISH
) -> Table:
    """A table with a header row; the one column of width None takes the remaining width.
    Right to left, the first column is on the right."""
    s = _styles(lang.rtl)
    rest = CONTENT_WIDTH - sum(w for w in widths if w is not None)
    fixed = [rest if w is None else w for w in widths]
    bold = s.small_bold
    data = [lang.row([_cell(h, bold, w) for h, w in zip(head, fixed, strict=True)])]
    data += [
        lang.row([_cell(c, s.small, w) for c, w in zip(row, fixed, strict=True)]) for row in rows
    ]
    table = Table(
        data, colWidths=lang.row(fixed), hAlign="RIGHT" if lang.rtl else "LEFT", repeatRows=1
    )
    commands = [_font(((0, 0), (-1, -1)), s.small), _font(((0, 0), (-1, 0)), bold)]
    if lang.rtl:
        commands.append(("ALIGN", (0, 0), (-1, -1), "RIGHT"))
    table.setStyle(_grid_style(commands, header=True))
    return table


def _cover(bag: _Bag, bundle_hash: str, title: str, _: _Lang = ENGLISH) -> list[Flowable]:
    s = _styles(_.rtl)
    cp = bag.checkpoint
    bundle_label = _("bundle hash (SHA-256 of manifest-sha256.txt)")
    root_label = _("checkpoint root")
    rows: list[tuple[str, object]] = [
        (bundle_label, bundle_hash),
        (_("vault origin"), bag.origin or _("(not recorded)")),
        (
            _("signed checkpoint"),
            _("{size} events, at {time}", size=cp.get("size", "?"), time=cp.get("time", "?")),
        ),
        (root_label, cp.get("root", _("(none)"))),
        (_("items"), len(bag.items)),
        (_("cases"), ", ".join(bag.cases) or _("(none)")),
        (
            _("trusted timestamps"),
            _("{count} RFC 3161 token(s) in data/custody/timestamps", count=bag.timestamps)
            if bag.timestamps
            else _("none in this bundle"),
        ),
        (_("report generated"), utc_now()),
    ]
    how = _(
        "How to verify. Every page of this report carries the bundle hash above. Compute the"
        " SHA-256 of the file {manifest} at the top of the bundle (for example with {sum}); it"
        " must equal that hash. Then, inside the bundle folder, run {verify}: it re-hashes every"
        " file and checks the custody events against the signed checkpoint with the vault's"
        " public key.",
        manifest="manifest-sha256.txt",
        sum="'sha256sum manifest-sha256.txt'",
        verify="'python3 verify_bundle.py'",
    )
    if bag.timestamps:
        how += " " + _("It also checks the trusted timestamps.")
    how += " " + _(
        "For the files alone, {check} is enough. Each item's SHA-256 below names its original"
        " file: {folder}.",
        check="'sha256sum -c manifest-sha256.txt'",
        folder="data/originals/<sha256>/",
    )
    flow: list[Flowable] = [
        _p(title, s.title),
        Spacer(1, 0.5 * cm),
        _facts(rows, mono=(bundle_label, root_label), lang=_),
        Spacer(1, 0.5 * cm),
        _p(how, s.body),
    ]
    for case_id, case in bag.cases.items():
        heading = _("Case {case}: {title}", case=case_id, title=case.get("title") or "")
        flow += [Spacer(1, 0.4 * cm), _p(heading, s.heading)]
        flow.append(
            _facts(
                [
                    (
                        _("kind / status"),
                        f"{case.get('kind') or '-'} / {case.get('status') or '-'}",
                    ),
                    (_("items in the case"), len(case.get("items") or [])),
                    (_("notes"), case.get("notes") or "-"),
                ],
                lang=_,
            )
        )
        notes = bag.verified.get((case_id, ""), [])
        flow += _annotations(notes, _("verified case annotations"), _)
    return flow


def _annotations(notes: list[Json], heading: str, _: _Lang = ENGLISH) -> list[Flowable]:
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
    head = [_("kind"), _("field"), _("value"), _("author"), _("reviewed by"), _("ledger seq")]
    return [
        Spacer(1, 0.15 * cm),
        _p(heading, _styles(_.rtl).small, bold=True),
        _rows_table(head, rows, [2.2 * cm, 2.6 * cm, None, 2.4 * cm, 2.8 * cm, 1.6 * cm], _),
    ]


def _gps(meta: Json, _: _Lang = ENGLISH) -> str:
    lat, lon, alt = meta.get("gps_lat"), meta.get("gps_lon"), meta.get("gps_alt")
    if lat is None or lon is None:
        return "-"
    return f"{lat}, {lon}" + (" " + _("(altitude {alt} m)", alt=alt) if alt is not None else "")


def _item_section(
    bag: _Bag, item: Json, n: int, total: int, picture: bytes | None, _: _Lang = ENGLISH
) -> list[Flowable]:
    s = _styles(_.rtl)
    sha = str(item.get("sha256", ""))
    meta = item.get("metadata") or {}
    size = item.get("size")
    key: list[tuple[str, object]] = [
        (_("media type"), item.get("media_type") or "-"),
        (_("size"), _("{size} bytes", size=format(size, ",")) if isinstance(size, int) else size),
        *((_(label), meta.get(name) or "-") for name, label in _META_FIELDS),
        (_("GPS"), _gps(meta, _)),
        (_("pixels"), f"{meta.get('width')} x {meta.get('height')}" if meta.get("width") else "-"),
        (_("ingested at"), item.get("ingested_at") or "-"),
    ]
    side = CONTENT_WIDTH - THUMB_WIDTH - 0.3 * cm
    cells = _.row([_picture(picture, _), _facts(key, width=side - 6, lang=_)])
    top = Table([cells], colWidths=_.row([THUMB_WIDTH + 0.3 * cm, side]))
    top.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    )
    reasons = item.get("flag_reasons") or {}
    flags = "; ".join(
        f"{f}: {reasons[f]}" if reasons.get(f) else str(f) for f in item.get("flags") or []
    )
    flow: list[Flowable] = [
        KeepTogether(
            [_p(_("Item {n} of {total}", n=n, total=total), s.heading), Spacer(1, 0.2 * cm), top]
        ),
        Spacer(1, 0.2 * cm),
        _facts([("SHA-256", sha), (_("flags"), flags or _("none"))], mono=("SHA-256",), lang=_),
    ]
    occurrences = [
        [o.get("acquisition"), o.get("from"), o.get("path"), o.get("size")]
        for o in item.get("occurrences") or []
    ]
    if occurrences:
        flow += [Spacer(1, 0.2 * cm), _p(_("Where it was found"), s.small, bold=True)]
        flow.append(
            _rows_table(
                [_("acquisition"), _("from"), _("path"), _("bytes")],
                occurrences,
                [3 * cm, 3 * cm, None, 2 * cm],
                _,
            )
        )
    events = sorted(bag.events.get(sha, []), key=lambda e: int(e.get("seq") or 0))
    flow += [Spacer(1, 0.2 * cm), _p(_("Custody timeline (ledger events)"), s.small, bold=True)]
    if events:
        rows = [[e.get("seq"), e.get("time"), e.get("actor"), e.get("action")] for e in events]
        flow.append(
            _rows_table(
                [_("seq"), _("time"), _("actor"), _("action")],
                rows,
                [1.5 * cm, 5.2 * cm, 3.5 * cm, None],
                _,
            )
        )
    else:
        flow.append(_p(_("no ledger event in this bundle names this item"), s.small))
    for case in item.get("cases") or []:
        flow += _case_of_item(bag, case, sha, _)
    return flow


def _case_of_item(bag: _Bag, case: Json, sha: str, _: _Lang = ENGLISH) -> list[Flowable]:
    s = _styles(_.rtl)
    case_id = str(case.get("case_id") or "")
    heading = _(
        "Case {case} — {title} (role: {role})",
        case=case_id,
        title=case.get("title") or "",
        role=case.get("role") or "-",
    )
    flow: list[Flowable] = [Spacer(1, 0.25 * cm), _p(heading, s.body, bold=True)]
    identifiers = [
        [
            i.get("type"),
            i.get("value"),
            _("VERIFIED")
            if i.get("state") == "verified"
            else _("NOT VERIFIED ({state})", state=i.get("state")),
        ]
        for i in case.get("identifiers") or []
    ]
    if identifiers:
        flow.append(
            _rows_table(
                [_("identifier"), _("value"), _("state")],
                identifiers,
                [3.5 * cm, None, 4 * cm],
                _,
            )
        )
    flow += _annotations(bag.verified.get((case_id, sha), []), _("verified annotations"), _)
    return flow


# ---------------------------------------------------------------------------- the document


def _numbered_canvas(
    bundle_hash: str, title: str, pages: list[int], _: _Lang = ENGLISH
) -> Callable[..., Any]:
    """A canvas that holds every page until the end, so each can say "page N of M"."""
    fonts = _fonts()
    header = rtl.visual(_clean(title)[:90], fonts.file)

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
            page = rtl.visual(_("page {n} of {total}", n=number, total=total), fonts.file)
            # the title where a reader starts, the page number at the other end
            start, end = (
                (self.drawRightString, self.drawString)
                if _.rtl
                else (self.drawString, self.drawRightString)
            )
            at_start, at_end = (width - 2 * cm, 2 * cm) if _.rtl else (2 * cm, width - 2 * cm)
            self.setFillColor(colors.black)
            self.setFont(fonts.regular, 8)
            start(at_start, height - 1.2 * cm, header)
            end(at_end, height - 1.2 * cm, page)
            self.setFont(fonts.mono, 6.5)
            start(at_start, 1.0 * cm, f"bundle sha256:{bundle_hash}")
            self.setFont(fonts.regular, 6.5)
            end(at_end, 1.0 * cm, page)

    return NumberedCanvas


def _check_hash(bag: Path, bundle_hash: str) -> None:
    if not _HEX64.fullmatch(bundle_hash):
        raise UsageError(f"bundle hash must be 64 lowercase hex digits, not {bundle_hash!r}")
    manifest = bag / "manifest-sha256.txt"
    if manifest.is_file() and hashlib.sha256(manifest.read_bytes()).hexdigest() != bundle_hash:
        raise UsageError("the bundle hash is not the SHA-256 of the bag's manifest-sha256.txt")


def write_report(
    bag: Path,
    out_pdf: Path,
    *,
    bundle_hash: str,
    reveal: bool = False,
    title: str | None = None,
    language: str = i18n.DEFAULT_LANGUAGE,
) -> int:
    """Write the exhibit report of the BagIt bundle ``bag`` to ``out_pdf``; return its pages.

    ``bundle_hash`` is printed in full on every page; when the bag has its
    ``manifest-sha256.txt`` the hash must be that file's SHA-256. Pictures are blurred and
    greyscale unless ``reveal``. ``language``: one of :data:`dalil.i18n.LANGUAGES` (Arabic is
    set right to left). Raises :class:`UsageError` for a wrong bundle hash or language.
    """
    if language not in i18n.LANGUAGES:
        known = ", ".join(i18n.LANGUAGES)
        raise UsageError(f"unknown report language {language!r} (one of {known})")
    _ = _Lang(language)
    _check_hash(bag, bundle_hash)
    contents = _read_bag(bag)
    if title is None:
        title = _("Exhibit bundle")
        if contents.cases:
            title += f" — {', '.join(contents.cases)}"
    with ThreadPoolExecutor(max_workers=2) as pool:  # Pillow decodes without the GIL
        pictures = list(
            pool.map(lambda i: thumbnail_jpeg(_original(bag, i), reveal=reveal), contents.items)
        )
    story = _cover(contents, bundle_hash, title, _)
    total = len(contents.items)
    for n, (item, picture) in enumerate(zip(contents.items, pictures, strict=True), 1):
        story.append(PageBreak())
        story += _item_section(contents, item, n, total, picture, _)
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
    doc.build(story, canvasmaker=_numbered_canvas(bundle_hash, title, pages, _))
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out_pdf, buffer.getvalue(), out_pdf.parent)
    return pages[-1]
