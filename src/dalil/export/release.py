"""Public releases: re-encoded copies that say nothing about who took the photographs.

A released copy is made from pixels only: the stored original is decoded upright, turned into
plain sRGB pixels (a colour profile is applied, then dropped; transparency is flattened onto
white so nothing hidden under it survives), optionally cropped, reduced and blurred, and
encoded as a fresh baseline JPEG with no metadata segment at all — no EXIF (so no maker notes,
serials, GPS or times), no XMP, no IPTC, no ICC profile, no comment, no embedded thumbnail. The
encoded bytes are checked marker by marker before they are written. Files are named by case
(``P-00042/P-00042-01.jpg``), never by the original name or a hash.

Each copy is a derivative of its source, recorded in the catalogue and the ledger in the same
transaction (``release.file``); the release as a whole is a ``release.created`` event.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import secrets
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import PIL
from PIL import Image, ImageCms, ImageFilter

from dalil.cases import model
from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.catalog.queries import resolve_item
from dalil.errors import EXIT_INTEGRITY, DalilError, UsageError
from dalil.export import folder as folder_state
from dalil.ingest import metadata as metadata_stage
from dalil.ingest.decode import register_heif
from dalil.ledger.log import Ledger
from dalil.store import write_atomic
from dalil.vault import Vault

QUALITY = 90
MIN_SIDE = 16
UNCASED = "no-case"
CSV_NAME = "identifiers.csv"
README_NAME = "README.txt"
CSV_COLUMNS = ("case", "identifier type", "value", "verified", "files")

Progress = Callable[[int, int], None]
Crop = tuple[float, float, float, float]

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class UnsafeCopy(DalilError):
    """An encoded copy held something other than pixels; nothing of it was written."""

    exit_code = EXIT_INTEGRITY


class _Undecodable(Exception):
    """The original cannot be turned into pixels (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class ReleasedFile:
    file: str  # relative to the release folder
    case: str | None
    source_sha256: str
    copy_sha256: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Skipped:
    sha256: str
    case: str | None
    why: str  # "not-an-image" | "undecodable"
    reason: str


@dataclass(slots=True)
class ReleaseReport:
    release_id: str
    out: str
    files: list[ReleasedFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    identifiers: int = 0
    empty_cases: list[str] = field(default_factory=list)

    @property
    def undecodable(self) -> list[Skipped]:
        return [s for s in self.skipped if s.why == "undecodable"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release_id,
            "out": self.out,
            "files": [_asdict(f) for f in self.files],
            "skipped": [_asdict(s) for s in self.skipped],
            "identifiers": self.identifiers,
            "empty_cases": self.empty_cases,
        }


def _asdict(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__slots__}


@dataclass(frozen=True, slots=True)
class _Planned:
    sha256: str
    media_type: str
    case: str | None
    digits: int  # of the numbers in this case's file names


class _Names:
    """File names by case, numbered in order among the copies actually made (a skipped item
    leaves no gap that would hint at what else the vault holds)."""

    def __init__(self) -> None:
        self.used: dict[str | None, int] = {}

    def next(self, plan: _Planned) -> str:
        n = self.used[plan.case] = self.used.get(plan.case, 0) + 1
        folder, stem = (plan.case, plan.case) if plan.case else (UNCASED, "photo")
        return f"{folder}/{stem}-{n:0{plan.digits}d}.jpg"


@dataclass(slots=True)
class _Job:
    """One release under way: where it reads, records and writes, and how."""

    vault: Vault
    conn: Db
    ledger: Ledger
    actor: model.Actor
    out: Path
    recipe: dict[str, Any]
    crop: Crop | None
    report: ReleaseReport
    names: _Names = field(default_factory=_Names)


# ---------------------------------------------------------------------------- the workflow


def release(
    vault: Vault,
    conn: Db,
    ledger: Ledger,
    actor: model.Actor,
    out_dir: Path,
    *,
    cases: list[str] | None = None,
    items: list[str] | None = None,
    blur: float = 0,
    max_side: int | None = None,
    crop: Crop | None = None,
    only_verified: bool = True,
    force: bool = False,
    progress: Progress | None = None,
) -> ReleaseReport:
    """Write a public release of the photographs of ``cases`` and/or ``items`` into
    ``out_dir`` (which must be empty unless ``force``, and outside the vault).

    ``crop`` is (left, top, right, bottom) as fractions of the upright picture; ``max_side``
    bounds the longer side in pixels; ``blur`` is a Gaussian radius in output pixels. Items
    that are not images or cannot be decoded are skipped and listed in the report. The caller
    holds the vault's writer lock.
    """
    _check_options(blur, max_side, crop)
    out = _check_out(vault, out_dir, force)
    planned, empty = _plan(conn, cases or [], items or [])
    if not planned:
        raise UsageError("nothing to release: the cases and items given hold no photographs")
    made_out = not out.exists()
    folder_state.begin(out)
    release_id = secrets.token_hex(8)
    report = ReleaseReport(release_id, str(out), empty_cases=empty)
    recipe = {
        "release": release_id,
        "format": "jpeg",
        "quality": QUALITY,
        "max_side": max_side,
        "blur": blur,
        "crop": list(crop) if crop else None,
        "colour": "sRGB, profile applied then dropped",
        "metadata": "none",
        "encoder": f"Pillow {PIL.__version__}",
    }
    job = _Job(vault, conn, ledger, actor, out, recipe, crop, report)
    batch = max(1, min(vault.settings.batch_size, 100))
    for start in range(0, len(planned), batch):
        _release_batch(job, planned[start : start + batch])
        if progress is not None:
            progress(min(start + batch, len(planned)), len(planned))
    if not report.files:
        folder_state.finish(out)
        if made_out:
            out.rmdir()
        raise UsageError(
            "nothing was released: "
            + "; ".join(f"{s.sha256[:12]}: {s.reason}" for s in report.skipped[:5])
        )
    _finish(job, only_verified)
    folder_state.finish(out)
    return report


def _check_options(blur: float, max_side: int | None, crop: Crop | None) -> None:
    if blur < 0:
        raise UsageError("--blur is a radius in pixels, 0 or more")
    if max_side is not None and max_side < MIN_SIDE:
        raise UsageError(f"--max-side must be at least {MIN_SIDE} pixels")
    if crop is not None:
        left, top, right, bottom = crop
        if not (0 <= left < right <= 1 and 0 <= top < bottom <= 1):
            raise UsageError(
                "a crop is LEFT,TOP,RIGHT,BOTTOM as fractions of the picture (0 to 1), "
                "left < right and top < bottom"
            )


def _check_out(vault: Vault, out_dir: Path, force: bool) -> Path:
    out = out_dir.expanduser().resolve()
    root = vault.root.resolve()
    if out == root or out.is_relative_to(root):
        raise UsageError(f"{out} is inside the vault; a release is written outside it")
    if root.is_relative_to(out):
        raise UsageError(f"{out} holds the vault; choose a folder of its own for the release")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder")
    if out.is_dir():
        folder_state.reclaim(out)  # left by an interrupted release: start over
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(f"{out} is not empty; choose an empty folder or use --force")
    return out


def _plan(conn: Db, case_refs: list[str], item_refs: list[str]) -> tuple[list[_Planned], list[str]]:
    """Which items go out and under which names; each item once, under its first case."""
    chosen: dict[str, str | None] = {}
    empty: list[str] = []
    for ref in case_refs:
        pk = model.case_pk(conn, ref)
        shas = _case_items(conn, pk)
        if not shas:
            empty.append(model.case_id_of(conn, pk))
        for sha in shas:
            chosen.setdefault(sha, model.case_id_of(conn, pk))
    for ref in item_refs:
        sha = resolve_item(conn, ref)
        if sha not in chosen:
            row = conn.execute(
                "SELECT c.case_id FROM case_items ci JOIN cases c ON c.id = ci.case_pk"
                " WHERE ci.sha256 = ? AND c.status != 'merged' ORDER BY c.id LIMIT 1",
                (sha,),
            ).fetchone()
            chosen[sha] = None if row is None else str(row[0])
    by_case: dict[str | None, list[str]] = {}
    for sha, case in chosen.items():
        by_case.setdefault(case, []).append(sha)
    planned: list[_Planned] = []
    for case, shas in by_case.items():
        digits = max(2, len(str(len(shas))))
        for sha in shas:
            media = conn.execute("SELECT media_type FROM items WHERE sha256 = ?", (sha,))
            planned.append(_Planned(sha, str(media.fetchone()[0]), case, digits))
    return planned, empty


def _case_items(conn: Db, pk: int) -> list[str]:
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT sha256 FROM case_items WHERE case_pk = ? ORDER BY linked_at, sha256", (pk,)
        )
    ]


def _release_batch(job: _Job, chunk: list[_Planned]) -> None:
    """Encode a batch into temporary files, record it in one transaction, then rename the
    files into place: a copy is never published without its ledger event."""
    staged: list[tuple[Path, Path, ReleasedFile]] = []
    try:
        for plan in chunk:
            made = _make_copy(job, plan)
            if made is not None:
                staged.append(made)
        with atomic(job.conn):
            job.actor.check(job.conn)
            for _tmp, _target, copy in staged:
                _record_copy(job, copy)
        for tmp, target, copy in staged:
            os.replace(tmp, target)
            job.report.files.append(copy)
    finally:
        for tmp, _target, _copy in staged:
            tmp.unlink(missing_ok=True)


def _make_copy(job: _Job, plan: _Planned) -> tuple[Path, Path, ReleasedFile] | None:
    """Encode one copy into a temporary file beside its final name (None: skipped)."""
    vault, recipe = job.vault, job.recipe
    if not plan.media_type.startswith("image/"):
        job.report.skipped.append(
            Skipped(plan.sha256, plan.case, "not-an-image", f"not an image ({plan.media_type})")
        )
        return None
    try:
        # DCT scaling decodes a JPEG straight to about the size wanted (not when cropping,
        # which needs the pixels of the part kept).
        draft = None if job.crop is not None else recipe["max_side"]
        picture = _pixels(
            vault.store().local_path(plan.sha256), vault.settings.max_image_pixels, draft
        )
    except _Undecodable as exc:
        job.report.skipped.append(Skipped(plan.sha256, plan.case, "undecodable", str(exc)))
        return None
    picture = _transform(picture, job.crop, recipe["max_side"], recipe["blur"])
    data = encode_clean_jpeg(picture)
    name = job.names.next(plan)
    target = job.out / name
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".release-", suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        if vault.settings.fsync:
            fh.flush()
            os.fdatasync(fh.fileno())
    os.chmod(tmp, 0o644)
    copy = ReleasedFile(
        name,
        plan.case,
        plan.sha256,
        hashlib.sha256(data).hexdigest(),
        picture.width,
        picture.height,
    )
    return Path(tmp), target, copy


def _record_copy(job: _Job, copy: ReleasedFile) -> None:
    release_id = job.recipe["release"]
    job.ledger.append(
        job.actor.name,
        "release.file",
        f"sha256:{copy.source_sha256}",
        {
            "sha256": copy.source_sha256,
            "copy_sha256": copy.copy_sha256,
            "release": release_id,
            "file": copy.file,
        },
        {
            "derivatives": [
                {
                    "sha256": copy.source_sha256,
                    "kind": f"release-{release_id}",
                    "path": f"release:{release_id}/{copy.file}",  # outside the vault: a name
                    "media_type": "image/jpeg",
                    "width": copy.width,
                    "height": copy.height,
                    "recipe": {**job.recipe, "copy_sha256": copy.copy_sha256},
                    "file_sha256": copy.copy_sha256,
                }
            ]
        },
    )


# ---------------------------------------------------------------------------- pixels


def _pixels(path: Path, max_pixels: int, draft_side: int | None) -> Image.Image:
    """The stored original as upright, plain sRGB pixels in a fresh image (no ``info``)."""
    register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as header:
                width, height = header.size
                if width * height > max_pixels:
                    raise _Undecodable(f"{width}x{height} pixels exceeds the vault's limit")
                meta, _ = metadata_stage.extract(header)
                if header.format == "JPEG" and draft_side is not None:
                    header.draft("RGB", (draft_side, draft_side))
                header.load()
                # pillow-heif rotates on decode and says so; others still need the EXIF turn.
                pending = None if "original_orientation" in header.info else meta.orientation
                picture = _srgb(header)
    except _Undecodable:
        raise
    except Exception as exc:  # Pillow raises many types on damaged input
        raise _Undecodable(f"cannot decode: {exc}") from exc
    method = _TRANSPOSE.get(pending or 1)
    if method is not None:
        picture = picture.transpose(method)
    # Copy the pixels alone: nothing the decoder attached (info, exif, palette) comes along.
    return Image.frombytes("RGB", picture.size, picture.tobytes())


def _srgb(image: Image.Image) -> Image.Image:
    """RGB pixels: 16-bit reduced, transparency flattened onto white, profile applied."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat = Image.alpha_composite(white, rgba).convert("RGB")
    else:
        flat = image.convert("RGB") if image.mode != "RGB" else image
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA"):
        try:
            converted = ImageCms.profileToProfile(
                flat,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
            if converted is not None:
                flat = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unreadable profile: the pixels are used as they are
    return flat


def _transform(
    picture: Image.Image, crop: Crop | None, max_side: int | None, blur: float
) -> Image.Image:
    if crop is not None:
        w, h = picture.size
        box = (
            round(crop[0] * w),
            round(crop[1] * h),
            max(round(crop[2] * w), round(crop[0] * w) + 1),
            max(round(crop[3] * h), round(crop[1] * h) + 1),
        )
        picture = picture.crop(box)
    if max_side is not None and max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if blur > 0:
        picture = picture.filter(ImageFilter.GaussianBlur(blur))
    return picture


def encode_clean_jpeg(picture: Image.Image) -> bytes:
    """A baseline JPEG of the pixels with nothing else: checked segment by segment."""
    fresh = Image.frombytes("RGB", picture.size, picture.convert("RGB").tobytes())
    buffer = io.BytesIO()
    fresh.save(buffer, "JPEG", quality=QUALITY, optimize=True)
    data = buffer.getvalue()
    check_clean_jpeg(data)
    return data


# Segments a plain JPEG needs; anything else (APP1-APP15, COM, …) could carry metadata.
_ALLOWED = {0xE0, 0xDB, 0xC4, 0xC0, 0xC1, 0xC2, 0xDD}
_BARE_JFIF = b"\x00\x00\x01\x00\x01\x00\x00"


def check_clean_jpeg(data: bytes) -> None:
    """Raise :class:`UnsafeCopy` unless ``data`` is SOI, a bare JFIF header (no thumbnail),
    tables, one frame, scans and EOI, with nothing after the end."""
    try:
        _check_segments(data)
    except (IndexError, ValueError) as exc:
        raise UnsafeCopy("an encoded copy is cut short") from exc


def _check_segments(data: bytes) -> None:
    if data[:2] != b"\xff\xd8":
        raise UnsafeCopy("the encoder did not write a JPEG")
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            raise UnsafeCopy(f"unexpected byte at {pos} in an encoded copy")
        marker = data[pos + 1]
        if marker == 0xD9:
            if pos + 2 != len(data):
                raise UnsafeCopy("an encoded copy has data after its end")
            return
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segment = data[pos + 4 : pos + 2 + length]
        if marker == 0xDA:
            pos = _skip_scan(data, pos + 2 + length)
            continue
        if marker not in _ALLOWED:
            raise UnsafeCopy(f"an encoded copy holds segment 0xFF{marker:02X}; refusing it")
        # JFIF: identifier, version, then no density unit, 1:1, and no thumbnail.
        if marker == 0xE0 and (segment[:5] != b"JFIF\x00" or segment[7:] != _BARE_JFIF):
            raise UnsafeCopy("an encoded copy's APP0 is not a bare JFIF header")
        pos += 2 + length
    raise UnsafeCopy("an encoded copy has no end marker")


def _skip_scan(data: bytes, pos: int) -> int:
    """Position of the next marker after entropy-coded data (stuffed bytes and restarts
    are part of the data)."""
    while True:
        pos = data.index(b"\xff", pos)
        following = data[pos + 1] if pos + 1 < len(data) else 0xD9
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
            continue
        return pos


# ---------------------------------------------------------------------------- for families


def _finish(job: _Job, only_verified: bool) -> None:
    """Write the CSV for families and the README, and record the release as a whole."""
    conn, out, report, recipe = job.conn, job.out, job.report, job.recipe
    rows = identifier_rows(conn, report.files, only_verified)
    report.identifiers = sum(1 for r in rows if r[1])
    csv_bytes = _csv_bytes(rows)
    readme = _readme(report, only_verified, recipe).encode("utf-8")
    fsync = job.vault.settings.fsync
    write_atomic(out / CSV_NAME, csv_bytes, out, fsync=fsync)
    write_atomic(out / README_NAME, readme, out, fsync=fsync)
    for name in (CSV_NAME, README_NAME):
        os.chmod(out / name, 0o644)
    with atomic(conn):
        job.ledger.append(
            job.actor.name,
            "release.created",
            f"release:{report.release_id}",
            {
                "release": report.release_id,
                "out": out.name,
                "files": len(report.files),
                "skipped": len(report.skipped),
                "cases": sorted({f.case for f in report.files if f.case}),
                "identifiers": report.identifiers,
                "only_verified": only_verified,
                "options": {k: recipe[k] for k in ("max_side", "blur", "crop", "quality")},
                "identifiers_sha256": hashlib.sha256(csv_bytes).hexdigest(),
                "readme_sha256": hashlib.sha256(readme).hexdigest(),
            },
        )
        job.ledger.try_checkpoint()  # the release is signed for at once, as an ingest is


def identifier_rows(
    conn: Db, files: Iterable[ReleasedFile], only_verified: bool
) -> list[tuple[str, str, str, str, str]]:
    """(case, identifier type, value, verified, files) per identifier of each released case;
    a case without identifiers gets one row with its files only."""
    by_case: dict[str, list[str]] = {}
    for f in files:
        by_case.setdefault(f.case or "", []).append(f.file)
    states = ("verified",) if only_verified else ("verified", "unverified")
    rows: list[tuple[str, str, str, str, str]] = []
    for case, names in by_case.items():
        joined = " ".join(sorted(names))
        found = (
            []
            if not case
            else conn.execute(
                f"SELECT a.field, a.value, a.state FROM annotations a JOIN cases c"
                f" ON c.id = a.case_pk WHERE c.case_id = ? AND a.kind = 'identifier'"
                f" AND a.state IN ({','.join('?' * len(states))}) ORDER BY a.field, a.id",
                (case, *states),
            ).fetchall()
        )
        if not found:
            rows.append((case, "", "", "", joined))
        for kind, value, state in found:
            verified = "yes" if state == "verified" else "no"
            rows.append((case, str(kind), _cell(str(value)), verified, joined))
    return rows


def _cell(value: str) -> str:
    """Keep a spreadsheet from reading a value as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _csv_bytes(rows: list[tuple[str, str, str, str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM lets spreadsheets read Arabic


def _readme(report: ReleaseReport, only_verified: bool, recipe: dict[str, Any]) -> str:
    kept = "verified identifiers only" if only_verified else "verified and unverified"
    lines = [
        "Public release",
        "==============",
        "",
        f"Release {report.release_id}: {len(report.files)} photograph(s).",
        "",
        "Every picture here is a new JPEG made from the pixels of the original. Removed:",
        "- all EXIF data: camera make, model and serial numbers, lens and its serial,",
        "  maker notes, capture and edit times, software, owner, artist and copyright;",
        "- GPS position and every other location tag;",
        "- XMP and IPTC (Photoshop) blocks, ICC colour profiles and their descriptions",
        "  (colours were converted to sRGB first), comments, embedded thumbnails and",
        "  previews, and any data after the end of the image;",
        "- the original file names: files are named by case (P-00042/P-00042-01.jpg).",
        "",
        "Kept: the picture itself, its width and height, and a bare JFIF header.",
    ]
    if recipe["crop"] or recipe["max_side"] or recipe["blur"]:
        lines.append(
            f"Changed: crop {recipe['crop'] or 'none'}, longest side at most "
            f"{recipe['max_side'] or 'unchanged'} px, blur radius {recipe['blur'] or 0} px."
        )
    lines += [
        "",
        f"{CSV_NAME} lists, for each case, its identifiers ({kept};",
        "the 'verified' column says which a second person confirmed) and the files",
        "that show it.",
        "",
        "Check any file yourself: exiftool -a -G1 -u FILE",
        "",
    ]
    return "\n".join(lines)
