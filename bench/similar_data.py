"""Data for ``bench/similar.py``: the labelled near-duplicate set and synthetic PDQ-like codes.

Not a package module: ``bench/similar.py`` imports it as ``similar_data`` (the script's own
folder comes first on ``sys.path``).

The labelled set (cached in ``WORKDIR/similar-vN/``):

* **originals**: real photos from the shared corpus (``exif-samples/jpg``, recursive; files
  that fail to decode, thumbnails below ``min_side`` px and near-copies of an earlier corpus
  photo are skipped) and one shot of each of ``cards`` index cards of a generated demo
  collection;
* **queries**, each labelled with the original it derives from (or none):

  - ``copy``: Pillow transforms of every original, in families (jpeg, resize, crop, rotate,
    rotate-90s, flip, mirror-crop, tone, greyscale, text, caption-band, collage, screenshot,
    negative, sepia),
    and the demo collection's own
    re-circulated copies (family ``demo-copy``);
  - ``same-scene``: the other shots of an indexed card (a different photograph of the same
    card; counted separately, never as a copy);
  - ``unrelated``: every shot of ``distractor_cards`` further cards that are not indexed (same
    card template, tables and cameras: hard negatives);
  - ``peer``: each original queried against the index with itself excluded (every hit is a
    false positive).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

DATA_VERSION = 3  # bump when transforms or labelling change: the cache is then rebuilt
CORPUS_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
CORPUS_PHOTOS = CORPUS_ROOT / "exif-samples" / "jpg"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif"}
MIN_GREY_STD = 4.0  # a 64x64 grey thumbnail flatter than this is a test pattern, not a photo
DEDUPE_CORRELATION = 0.9  # 32x32 grey thumbnails this alike (any of 8 orientations): one photo


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- records -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Original:
    key: str  # "corpus/<relpath>" or "demo/<path in the collection>"
    path: str  # absolute path of the file as stored (EXIF orientation not applied)
    source: str  # "corpus" or "demo"
    width: int  # displayed size (EXIF orientation applied)
    height: int
    orientation: int  # EXIF orientation tag of the file (1 when absent)


@dataclass(frozen=True, slots=True)
class Query:
    path: str
    kind: str  # "copy", "same-scene", "unrelated", "peer"
    family: str  # transform family, or "same-scene", "unrelated", "peer", "demo-copy"
    transform: str  # e.g. "jpeg-q30", "crop-40", "rotate+5"
    expect: int | None  # index of the original it derives from (None for "unrelated")
    note: str = ""


@dataclass(slots=True)
class QualitySet:
    workdir: Path
    originals: list[Original]
    queries: list[Query]
    skipped: list[dict[str, str]]
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "originals": [asdict(o) for o in self.originals],
            "queries": [asdict(q) for q in self.queries],
            "skipped": self.skipped,
        }


# -- transforms ----------------------------------------------------------------------------

JPEG_QUALITIES = (10, 30, 50, 70, 90)
RESIZE_PERCENT = (10, 25, 50, 150, 200)
CROP_REMOVED_PERCENT = (5, 10, 20, 30, 40)
SMALL_ANGLES = (-10, -5, -3, -1, 1, 3, 5, 10)
SAVE_QUALITY = 90  # every non-"jpeg" transform is saved as JPEG at this quality
CAPTION = "Shared 1,024 times - source unknown - 12/03/2014"

Transformed = tuple[str, str, Image.Image, str]  # family, transform name, image, "JPEG"/"PNG"


def _resample(scale: float) -> Image.Resampling:
    return Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=max(8, size))
    except (TypeError, ValueError, OSError):  # Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def caption_banner(img: Image.Image) -> Image.Image:
    """A news-style caption: a dark translucent band over the bottom ~14%, white text."""
    base = img.convert("RGBA")
    w, h = base.size
    band = max(10, round(h * 0.14))
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((0, h - band, w, h), fill=(0, 0, 0, 165))
    font = _font(round(band * 0.45))
    draw.text(
        (max(2, w // 40), h - band + band // 4), CAPTION, fill=(255, 255, 255, 255), font=font
    )
    draw.text(
        (max(2, w // 40), max(2, h // 40)),
        "@channel",
        fill=(255, 255, 255, 200),
        font=_font(round(band * 0.3)),
    )
    return Image.alpha_composite(base, overlay).convert("RGB")


def caption_band(img: Image.Image, share: float) -> Image.Image:
    """An opaque caption band over the bottom ``share`` of the picture, two lines of text."""
    out = img.convert("RGB").copy()
    w, h = out.size
    band = max(10, round(h * share))
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, h - band, w, h), fill=(180, 20, 30))
    font = _font(max(8, round(band * 0.22)))
    for k in range(2):
        draw.text(
            (max(2, w // 30), h - band + band // 6 + k * band // 3),
            CAPTION,
            fill="white",
            font=font,
        )
    return out


def _filler(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A made-up picture (shapes on a gradient) to fill a collage's other tiles."""
    w, h = size
    tile = Image.new("RGB", size, tuple(rng.randrange(40, 220) for _ in range(3)))  # type: ignore[arg-type]
    draw = ImageDraw.Draw(tile)
    for _ in range(12):
        x0, y0 = rng.randrange(0, w), rng.randrange(0, h)
        x1, y1 = x0 + rng.randrange(10, max(11, w // 2)), y0 + rng.randrange(10, max(11, h // 2))
        colour = tuple(rng.randrange(0, 256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)  # type: ignore[arg-type]
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)  # type: ignore[arg-type]
    return tile


def collage(img: Image.Image, rng: random.Random) -> Image.Image:
    """The picture as one tile of a 2x2 collage (each tile half its size, white gaps), the
    other tiles made-up pictures."""
    w, h = img.size
    tw, th = max(1, w // 2), max(1, h // 2)
    gap = max(2, w // 100)
    canvas = Image.new("RGB", (2 * tw + 3 * gap, 2 * th + 3 * gap), (255, 255, 255))
    mine = rng.randrange(4)
    for k in range(4):
        tile = img.resize((tw, th), _resample(0.5)) if k == mine else _filler((tw, th), rng)
        canvas.paste(tile, (gap + (k % 2) * (tw + gap), gap + (k // 2) * (th + gap)))
    return canvas


def screenshot(img: Image.Image) -> Image.Image:
    """The photo as a phone shows it, screenshotted: shown at 75% with side margins, a status
    bar (clock, signal, battery), an app bar with a title and a navigation bar below."""
    shown = img.resize(
        (max(1, round(img.width * 0.75)), max(1, round(img.height * 0.75))),
        Image.Resampling.LANCZOS,
    )
    w, h = shown.size
    margin = max(4, round(w * 0.03))
    status = max(12, round(w * 0.07))
    appbar = max(16, round(w * 0.11))
    navbar = max(16, round(w * 0.12))
    width = w + 2 * margin
    height = status + appbar + margin + h + margin + navbar
    canvas = Image.new("RGB", (width, height), (18, 18, 20))
    draw = ImageDraw.Draw(canvas)
    small = _font(round(status * 0.6))
    draw.text((margin, round(status * 0.15)), "12:34", fill=(235, 235, 235), font=small)
    bx = width - margin - round(status * 1.6)
    draw.rectangle(
        (bx, round(status * 0.25), bx + round(status * 1.2), round(status * 0.75)),
        outline=(235, 235, 235),
        width=max(1, status // 12),
    )
    draw.rectangle(
        (bx + 2, round(status * 0.25) + 2, bx + round(status * 0.8), round(status * 0.75) - 2),
        fill=(235, 235, 235),
    )
    for k in range(4):  # signal bars
        x = bx - round(status * (1.6 - 0.3 * k))
        draw.rectangle(
            (
                x,
                round(status * (0.75 - 0.12 * (k + 1))),
                x + round(status * 0.18),
                round(status * 0.75),
            ),
            fill=(235, 235, 235),
        )
    draw.rectangle((0, status, width, status + appbar), fill=(32, 33, 36))
    draw.text(
        (margin * 3, status + round(appbar * 0.25)),
        "<  Photo",
        fill=(250, 250, 250),
        font=_font(round(appbar * 0.45)),
    )
    canvas.paste(shown, (margin, status + appbar + margin))
    top = height - navbar
    draw.rectangle((0, top, width, height), fill=(10, 10, 12))
    r = max(3, navbar // 4)
    for k, x in enumerate((width // 4, width // 2, 3 * width // 4)):
        cy = top + navbar // 2
        if k == 1:
            draw.ellipse((x - r, cy - r, x + r, cy + r), outline=(220, 220, 220), width=2)
        else:
            draw.rectangle((x - r, cy - r, x + r, cy + r), outline=(220, 220, 220), width=2)
    return canvas


def transforms(img: Image.Image, rng: random.Random) -> list[Transformed]:
    """Every labelled transform of one (displayed, RGB) original."""
    w, h = img.size
    out: list[Transformed] = []
    for q in JPEG_QUALITIES:
        out.append(("jpeg", f"jpeg-q{q}", img, f"JPEG:{q}"))
    for pct in RESIZE_PERCENT:
        scale = pct / 100
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        out.append(("resize", f"resize-{pct}", img.resize(size, _resample(scale)), "JPEG"))
    for pct in CROP_REMOVED_PERCENT:
        side = math.sqrt(1 - pct / 100)  # same aspect ratio, pct % of the area removed
        cw, ch = max(1, round(w * side)), max(1, round(h * side))
        # off-centre: the kept window hugs one side in each axis
        fx = rng.uniform(0.0, 0.25) if rng.random() < 0.5 else rng.uniform(0.75, 1.0)
        fy = rng.uniform(0.0, 0.25) if rng.random() < 0.5 else rng.uniform(0.75, 1.0)
        x0, y0 = round((w - cw) * fx), round((h - ch) * fy)
        out.append(("crop", f"crop-{pct}", img.crop((x0, y0, x0 + cw, y0 + ch)), "JPEG"))
    for angle in SMALL_ANGLES:
        rotated = img.rotate(
            angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0)
        )
        out.append(("rotate", f"rotate{angle:+d}", rotated, "JPEG"))
    for name, op in (
        ("rotate-90", Image.Transpose.ROTATE_90),
        ("rotate-180", Image.Transpose.ROTATE_180),
        ("rotate-270", Image.Transpose.ROTATE_270),
    ):
        out.append(("rotate-90s", name, img.transpose(op), "JPEG"))
    out.append(("flip", "flip-horizontal", img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "JPEG"))
    out.append(("flip", "flip-vertical", img.transpose(Image.Transpose.FLIP_TOP_BOTTOM), "JPEG"))
    # mirrored and cropped: neither the fingerprint (crop) nor ORB (not mirror-invariant) holds
    mirrored = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for pct in (30, 50):
        side = math.sqrt(1 - pct / 100)
        cw, ch = max(1, round(w * side)), max(1, round(h * side))
        x0 = round((w - cw) * rng.uniform(0.0, 1.0))
        y0 = round((h - ch) * rng.uniform(0.0, 1.0))
        out.append(
            ("mirror-crop", f"mirror-crop-{pct}", mirrored.crop((x0, y0, x0 + cw, y0 + ch)), "JPEG")
        )
    for name, enhancer, factor in (
        ("brightness+30", ImageEnhance.Brightness, 1.3),
        ("brightness-30", ImageEnhance.Brightness, 0.7),
        ("contrast+30", ImageEnhance.Contrast, 1.3),
        ("contrast-30", ImageEnhance.Contrast, 0.7),
    ):
        out.append(("tone", name, enhancer(img).enhance(factor), "JPEG"))
    out.append(("greyscale", "greyscale", img.convert("L"), "JPEG"))
    out.append(("text", "caption-banner", caption_banner(img), "JPEG"))
    for pct in (25, 35):
        out.append(("caption-band", f"caption-band-{pct}", caption_band(img, pct / 100), "JPEG"))
    out.append(("collage", "collage-2x2", collage(img, rng), "JPEG"))
    out.append(("screenshot", "phone-screenshot", screenshot(img), "PNG"))
    # strong colour changes: light and dark swapped; an old-photo brown tint
    out.append(("negative", "negative", ImageOps.invert(img), "JPEG"))
    sepia = ImageOps.colorize(img.convert("L"), black=(43, 26, 14), white=(243, 226, 192))
    out.append(("sepia", "sepia", sepia, "JPEG"))
    return out


def save(img: Image.Image, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if fmt == "PNG":
        img.save(tmp, "PNG", compress_level=1)
    else:
        quality = int(fmt.split(":")[1]) if ":" in fmt else SAVE_QUALITY
        img.save(tmp, "JPEG", quality=quality)
    os.replace(tmp, path)


def open_displayed(path: Path) -> Image.Image:
    """Decode fully, apply EXIF orientation, convert to RGB (raises on a broken file)."""
    with Image.open(path) as im:
        im.load()
        shown = ImageOps.exif_transpose(im)
        return shown.convert("RGB")


def open_reduced(path: Path, side: int = 512) -> Image.Image:
    """Decode at reduced size, upright, RGB: JPEG DCT scaling (``draft``) then a box
    ``reduce``, keeping the shorter side at least ``side`` px where the image has it (as
    Dalil's ingest decodes for fingerprints)."""
    with Image.open(path) as im:
        if im.format == "JPEG":
            im.draft("RGB", (side, side))
        im.load()
        img = ImageOps.exif_transpose(im).convert("RGB")
    factor = max(1, min(img.size) // side)
    return img.reduce(factor) if factor > 1 else img


def _orientation(path: Path) -> int:
    try:
        with Image.open(path) as im:
            return int(im.getexif().get(0x0112, 1) or 1)
    except (OSError, ValueError):
        return 1


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key)


def _make_transforms(job: tuple[int, str, str, str]) -> list[dict[str, Any]]:
    """Write (once) every transform of one original; its folder's ``done.json`` lists them."""
    index, key, path, folder = job
    where = Path(folder) / _safe(key)
    done = where / "done.json"
    if done.is_file():
        listed = json.loads(done.read_text())
        if all(Path(r["path"]).is_file() for r in listed):
            return [{**r, "expect": index} for r in listed]
    img = open_displayed(Path(path))
    rng = random.Random(f"dalil-similar-bench/{key}")
    rows = []
    for family, name, out, fmt in transforms(img, rng):
        target = where / f"{name}{'.png' if fmt == 'PNG' else '.jpg'}"
        save(out, target, fmt)
        rows.append(asdict(Query(str(target), "copy", family, name, index)))
    done.write_text(json.dumps(rows, indent=1) + "\n")
    return rows


# -- originals -----------------------------------------------------------------------------


def _thumb(img: Image.Image) -> npt.NDArray[np.float32]:
    grey = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.BOX), dtype=np.float32)
    grey = grey - grey.mean()
    unit: npt.NDArray[np.float32] = (grey / max(float(np.linalg.norm(grey)), 1e-6)).astype(
        np.float32
    )
    return unit


def _dihedral(a: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
    return [np.rot90(a, k) for k in range(4)] + [np.rot90(a.T, k) for k in range(4)]


#: Corpus photos that are another shot of the same scene as a kept photo, found by looking
#: (hand-held, framing moved: below the thumbnail-correlation test). Queried as "same-scene".
CORPUS_SAME_SCENE = {"hdr/canon_hdr_YES.jpg": "hdr/canon_hdr_NO.jpg"}


@dataclass(frozen=True, slots=True)
class Twin:
    path: str
    rel: str
    of: int  # index of the kept original it is a near-copy of
    correlation: float
    orientation: int


def corpus_originals(min_side: int) -> tuple[list[Original], list[Twin], list[dict[str, str]]]:
    """The decodable corpus photos, minus thumbnails and near-copies of an earlier one.

    Near-copies (``orientation/landscape_1..8``, one picture stored eight ways with an EXIF
    orientation tag each; an HDR and a plain version of one frame) would make a correct match
    look like a false positive, so only the first is an original; the others become queries
    (returned as twins). They are found by a method-neutral check: 32x32 grey thumbnails of the
    displayed pictures whose correlation is at least ``DEDUPE_CORRELATION`` in any of the eight
    orientations; plus the pairs listed in ``CORPUS_SAME_SCENE``.
    """
    skipped: list[dict[str, str]] = []
    twins: list[Twin] = []
    if not CORPUS_PHOTOS.is_dir():
        log(f"corpus not found at {CORPUS_PHOTOS}: skipping the real-photo originals")
        return [], [], [{"path": str(CORPUS_PHOTOS), "why": "corpus folder absent"}]
    kept: list[Original] = []
    thumbs: list[list[npt.NDArray[np.float32]]] = []
    for path in sorted(p for p in CORPUS_PHOTOS.rglob("*") if p.is_file()):
        rel = str(path.relative_to(CORPUS_PHOTOS))
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            img = open_displayed(path)
        except Exception as exc:  # any decoder failure: skip the file
            skipped.append({"path": rel, "why": f"does not decode: {type(exc).__name__}"})
            continue
        if min(img.size) < min_side:
            skipped.append({"path": rel, "why": f"smaller than {min_side} px ({img.size})"})
            continue
        spread = float(
            np.asarray(
                img.convert("L").resize((64, 64), Image.Resampling.BOX), dtype=np.float32
            ).std()
        )
        if spread < MIN_GREY_STD:
            skipped.append(
                {
                    "path": rel,
                    "why": f"featureless (grey std {spread:.1f} < {MIN_GREY_STD}): not a photo",
                }
            )
            continue
        variants = _dihedral(_thumb(img))
        twin = None
        for k, other in enumerate(thumbs):
            corr = max(float(np.sum(other[0] * v)) for v in variants)
            if corr >= DEDUPE_CORRELATION or CORPUS_SAME_SCENE.get(rel) == kept[k].key[7:]:
                twin = (k, corr)
                break
        if twin is not None:
            skipped.append(
                {
                    "path": rel,
                    "why": f"near-copy of {kept[twin[0]].key} "
                    f"(thumbnail correlation {twin[1]:.2f}): "
                    "a query, not an original",
                }
            )
            twins.append(Twin(str(path), rel, twin[0], round(twin[1], 3), _orientation(path)))
            continue
        thumbs.append(variants)
        kept.append(
            Original(
                f"corpus/{rel}", str(path), "corpus", img.width, img.height, _orientation(path)
            )
        )
    return kept, twins, skipped


def twin_queries(twins: list[Twin], kept: list[Original]) -> list[Query]:
    """A twin stored with another EXIF orientation than its original is the same picture (a
    ``copy``, family ``exif-orientation``); any other twin (HDR vs plain, a re-shot) is
    ``same-scene``."""
    out = []
    for t in twins:
        note = f"of {kept[t.of].key}, thumbnail correlation {t.correlation}"
        if t.orientation != kept[t.of].orientation and t.rel not in CORPUS_SAME_SCENE:
            out.append(
                Query(
                    t.path, "copy", "exif-orientation", f"orientation-{t.orientation}", t.of, note
                )
            )
        else:
            out.append(Query(t.path, "same-scene", "same-scene", "corpus-twin", t.of, note))
    return out


# -- the demo collection -------------------------------------------------------------------


def demo_collection(workdir: Path, cards: int, seed: int) -> tuple[Path, Any]:
    from dalil.demo.generate import DemoManifest, generate_collection

    root = workdir / f"demo-c{cards}-s{seed}"
    manifest_path = workdir / f"demo-c{cards}-s{seed}.manifest.json"
    if root.is_dir() and manifest_path.is_file():
        return root, DemoManifest.read_json(manifest_path)
    if root.exists():
        shutil.rmtree(root)
    log(f"generating a demo collection of {cards} cards in {root} ...")
    manifest = generate_collection(
        root, cards=cards, seed=seed, manifest_path=manifest_path, workers=2
    )
    return root, manifest


def demo_sets(
    workdir: Path, cards: int, distractor_cards: int, seed: int, first_index: int
) -> tuple[list[Original], list[Query]]:
    """One shot per indexed card as an original; its other shots ``same-scene``; the
    collection's re-circulated copies of an indexed shot ``demo-copy``; every shot of the
    distractor cards ``unrelated``."""
    root, manifest = demo_collection(workdir, cards + distractor_cards, seed)
    photos = [f for f in manifest.files if f.kind == "photo" and f.card is not None]
    copies = [
        f
        for f in manifest.files
        if f.kind in ("copy", "wrong_extension") and f.source and f.card is not None
    ]
    card_ids = sorted({f.card.card_id for f in photos})
    indexed, distractors = card_ids[:cards], set(card_ids[cards:])
    copied_sources = {f.source for f in copies}
    originals: list[Original] = []
    queries: list[Query] = []
    chosen: dict[str, tuple[int, str]] = {}
    for card_id in indexed:
        shots = sorted(
            (f for f in photos if f.card.card_id == card_id),
            key=lambda f: (f.path not in copied_sources, f.shot or 0, f.path),
        )
        pick = shots[0]  # prefer a shot the collection re-circulated, so its copies count
        path = root / pick.path
        img = open_displayed(path)
        index = first_index + len(originals)
        chosen[card_id] = (index, pick.path)
        originals.append(
            Original(
                f"demo/{pick.path}", str(path), "demo", img.width, img.height, _orientation(path)
            )
        )
        for other in shots[1:]:
            queries.append(
                Query(
                    str(root / other.path),
                    "same-scene",
                    "same-scene",
                    f"shot-{other.shot}",
                    index,
                    f"card {card_id}",
                )
            )
    for f in photos:
        if f.card.card_id in distractors:
            queries.append(
                Query(
                    str(root / f.path),
                    "unrelated",
                    "unrelated",
                    "other-card",
                    None,
                    f"card {f.card.card_id}",
                )
            )
    for f in copies:
        card_id = f.card.card_id
        if card_id in distractors:
            queries.append(
                Query(
                    str(root / f.path),
                    "unrelated",
                    "unrelated",
                    "other-card-copy",
                    None,
                    f"card {card_id}: {f.note}",
                )
            )
        elif chosen[card_id][1] == f.source:
            queries.append(
                Query(
                    str(root / f.path),
                    "copy",
                    "demo-copy",
                    f.kind,
                    chosen[card_id][0],
                    f.note or "",
                )
            )
        else:
            queries.append(
                Query(
                    str(root / f.path),
                    "same-scene",
                    "same-scene",
                    f"copy-of-shot-{f.shot}",
                    chosen[card_id][0],
                    f.note or "",
                )
            )
    return originals, queries


# -- the whole set -------------------------------------------------------------------------


def build_quality_set(
    workdir: Path,
    *,
    cards: int,
    distractor_cards: int,
    seed: int,
    min_side: int,
    max_originals: int | None,
    procs: int,
) -> QualitySet:
    """Build (or load from ``WORKDIR/similar-vN/labels-*.json``) the labelled set."""
    params: dict[str, Any] = {
        "version": DATA_VERSION,
        "cards": cards,
        "distractor_cards": distractor_cards,
        "seed": seed,
        "min_side": min_side,
        "max_originals": max_originals,
        "min_grey_std": MIN_GREY_STD,
        "dedupe_correlation": DEDUPE_CORRELATION,
        "corpus": str(CORPUS_PHOTOS),
    }
    base = workdir / f"similar-v{DATA_VERSION}"
    tag = f"c{cards}-d{distractor_cards}-s{seed}-m{min_side}-n{max_originals or 'all'}"
    labels = base / f"labels-{tag}.json"
    if labels.is_file():
        data = json.loads(labels.read_text())
        if data.get("params") == params and all(Path(q["path"]).is_file() for q in data["queries"]):
            log(f"reusing the labelled set {labels}")
            return QualitySet(
                base,
                [Original(**o) for o in data["originals"]],
                [Query(**q) for q in data["queries"]],
                data["skipped"],
                params,
            )
    started = time.perf_counter()
    corpus, twins, skipped = corpus_originals(min_side)
    if max_originals is not None:
        corpus = corpus[:max_originals]
        twins = [t for t in twins if t.of < max_originals]
    demo, demo_queries = (
        demo_sets(base, cards, distractor_cards, seed, len(corpus)) if cards > 0 else ([], [])
    )
    originals = corpus + demo
    folder = base / "queries"
    jobs = [(i, o.key, o.path, str(folder)) for i, o in enumerate(originals)]
    log(
        f"writing transforms of {len(originals)} originals into {folder} with {procs} processes ..."
    )
    rows: list[dict[str, Any]] = []
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        for done, part in enumerate(pool.imap(_make_transforms, jobs), start=1):
            rows.extend(part)
            if done % 10 == 0 or done == len(jobs):
                log(f"  {done}/{len(jobs)} originals transformed")
    queries = [Query(**r) for r in rows] + twin_queries(twins, corpus) + demo_queries
    queries += [
        Query(o.path, "peer", "peer", "other-originals", i) for i, o in enumerate(originals)
    ]
    result = QualitySet(base, originals, queries, skipped, params)
    labels.parent.mkdir(parents=True, exist_ok=True)
    labels.write_text(json.dumps(result.to_dict(), indent=1) + "\n")
    log(
        f"labelled set ready in {time.perf_counter() - started:.1f} s: {len(originals)} "
        f"originals, {len(queries)} queries ({labels})"
    )
    return result


# -- synthetic codes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Codes:
    codes: npt.NDArray[np.uint8]  # (n, 32), shuffled
    cluster: npt.NDArray[np.int64]  # generating cluster of each code (-1: singleton)
    clusters: int
    clustered: int


def _flip_bits(
    centres: npt.NDArray[np.uint8], distance: npt.NDArray[np.int64], rng: np.random.Generator
) -> npt.NDArray[np.uint8]:
    """Each row of ``centres`` with exactly ``distance[row]`` random bits flipped."""
    keys = rng.random((len(centres), 256), dtype=np.float32)
    kth = np.sort(keys, axis=1)[np.arange(len(centres)), distance - 1]
    mask = np.packbits(keys <= kth[:, None], axis=1)
    return np.bitwise_xor(centres, mask)


def synthetic_codes(
    n: int,
    seed: int = 1,
    *,
    cluster_share: float = 0.1,
    progress: Callable[[str], None] | None = None,
) -> Codes:
    """``n`` 256-bit codes clustered like a photo collection's PDQ hashes.

    ``n * cluster_share`` random centres each get 1-9 members (uniform) at Hamming distance
    2-24 (uniform) from the centre, so a cluster holds 2-10 codes (6 on average, ~60% of all
    codes for the default share); the rest are independent random singletons. Members of one
    cluster may be up to 48 bits apart, so clusters chain through their centre as real
    near-duplicate groups do. Rows are shuffled; ``cluster`` keeps the ground truth.
    """
    rng = np.random.default_rng([seed, n])
    n_clusters = int(n * cluster_share)
    members = rng.integers(1, 10, n_clusters)
    while n_clusters and int(members.sum()) + n_clusters > n:  # never more than n codes
        n_clusters -= 1
        members = members[:n_clusters]
    clustered = int(members.sum()) + n_clusters
    codes = np.empty((n, 32), dtype=np.uint8)
    cluster = np.full(n, -1, dtype=np.int64)
    codes[:n_clusters] = rng.integers(0, 256, (n_clusters, 32), dtype=np.uint8)
    cluster[:n_clusters] = np.arange(n_clusters)
    owner = np.repeat(np.arange(n_clusters), members)
    chunk = 200_000
    for start in range(0, len(owner), chunk):
        part = owner[start : start + chunk]
        dist = rng.integers(2, 25, len(part))
        at = n_clusters + start
        codes[at : at + len(part)] = _flip_bits(codes[part], dist, rng)
        cluster[at : at + len(part)] = part
        if progress is not None and start:
            progress(f"  {start + len(part)}/{len(owner)} cluster members")
    codes[clustered:] = rng.integers(0, 256, (n - clustered, 32), dtype=np.uint8)
    order = rng.permutation(n)
    return Codes(codes[order], cluster[order], n_clusters, clustered)


def chunks(n: int, size: int) -> Iterable[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)
