"""Local features and geometric verification (dalil.similar.geometry) on demo pictures.

The demo collection's cards are all filled in on the same printed form, and all lie on
similar tables: pictures of *different* cards share the form's labels and rules, which
match consistently.  These negatives are deliberately hard.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import zipfile
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from dalil.demo.generate import generate_collection
from dalil.similar import geometry
from dalil.similar.geometry import (
    WORK_SIDE,
    Features,
    GeometricMatch,
    extract,
    is_same_image_or_scene,
    match,
)

Shot = tuple[str, int]  # (card id, shot number)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> dict[Shot, Image.Image]:
    """Every camera shot of 4 cards (3-6 each), including those only inside the zip."""
    out = tmp_path_factory.mktemp("geometry") / "collection"
    manifest = generate_collection(out, cards=4, seed=7, photo_size=(1024, 768))
    found: dict[Shot, Image.Image] = {}
    for f in manifest.files:
        if f.kind == "photo":
            data = (out / f.path).read_bytes()
        elif f.kind == "zip_member" and f.member is not None:
            with zipfile.ZipFile(out / f.path) as z:
                data = z.read(f.member)
        else:
            continue
        assert f.card is not None and f.shot is not None
        image = Image.open(io.BytesIO(data))
        image.load()
        found[(f.card.card_id, f.shot)] = image
    assert len({card for card, _ in found}) == 4
    return found


@pytest.fixture(scope="module")
def features(shots: dict[Shot, Image.Image]) -> dict[Shot, Features]:
    return {key: extract(image) for key, image in shots.items()}


# ------------------------------------------------------------------- transformations


def _crop(fraction: float) -> Callable[[Image.Image], Image.Image]:
    """Cut ``fraction`` off both width and height, off-centre."""

    def crop(im: Image.Image) -> Image.Image:
        w, h = im.size
        cw, ch = round(w * (1 - fraction)), round(h * (1 - fraction))
        x0, y0 = round((w - cw) * 0.3), round((h - ch) * 0.7)
        return im.crop((x0, y0, x0 + cw, y0 + ch))

    return crop


def _rotate(degrees: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.rotate(degrees, Image.Resampling.BICUBIC, expand=True)


def _resize(factor: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.resize(
        (round(im.width * factor), round(im.height * factor)), Image.Resampling.LANCZOS
    )


def _jpeg(im: Image.Image, quality: int = 15) -> Image.Image:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out


def _brighter_flatter(im: Image.Image) -> Image.Image:
    return ImageEnhance.Contrast(ImageEnhance.Brightness(im).enhance(1.4)).enhance(0.6)


def _darker_harder(im: Image.Image) -> Image.Image:
    return ImageEnhance.Contrast(ImageEnhance.Brightness(im).enhance(0.55)).enhance(1.4)


def _banner(im: Image.Image) -> Image.Image:
    """A news-style banner with text over the bottom fifth."""
    out = im.convert("RGB")
    draw = ImageDraw.Draw(out)
    w, h = out.size
    draw.rectangle((0, round(h * 0.8), w, h), fill=(190, 20, 20))
    font = ImageFont.load_default(size=max(12, h // 12))
    draw.text((w * 0.04, h * 0.83), "BREAKING - shared 1.2k times", fill="white", font=font)
    return out


def _screenshot(im: Image.Image) -> Image.Image:
    """The picture inside a phone screenshot: status bar, margins, buttons below."""
    w, h = im.size
    canvas = Image.new("RGB", (round(w * 1.1), round(h * 1.6)), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, canvas.width, round(h * 0.12)), fill=(30, 30, 60))
    draw.text((20, 20), "12:41  LTE  87%", fill="white", font=ImageFont.load_default(size=h // 25))
    canvas.paste(im.convert("RGB"), (round(w * 0.05), round(h * 0.2)))
    draw.text(
        (20, round(h * 1.3)),
        "Like   Comment   Share",
        fill="black",
        font=ImageFont.load_default(size=h // 20),
    )
    return canvas


def _sixteen_bit(im: Image.Image) -> Image.Image:
    """A 16-bit grey version (as from a scanner or a converted TIFF)."""
    grey = np.asarray(im.convert("L"), dtype=np.uint16) * 257
    return Image.fromarray(grey)


TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "crop 5%": _crop(0.05),
    "crop 10%": _crop(0.10),
    "crop 20%": _crop(0.20),
    "crop 30%": _crop(0.30),
    "crop 40%": _crop(0.40),
    "rotate +3": _rotate(3),
    "rotate -3": _rotate(-3),
    "rotate +10": _rotate(10),
    "rotate -10": _rotate(-10),
    "rotate 90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "resize 25%": _resize(0.25),
    "resize 50%": _resize(0.5),
    "jpeg q15": _jpeg,
    "brighter, flatter": _brighter_flatter,
    "darker, harder": _darker_harder,
    "text banner": _banner,
    "screenshot border": _screenshot,
    "palette (GIF-like)": lambda im: im.quantize(64),
    "16-bit grey": _sixteen_bit,
    "crop 20% + resize 50% + jpeg q40": lambda im: _jpeg(_resize(0.5)(_crop(0.2)(im)), 40),
}


@pytest.fixture(scope="module")
def transformed(shots: dict[Shot, Image.Image]) -> dict[tuple[str, str], Features]:
    """(card, transform name) -> features of that transform of the card's first shot."""
    cards = sorted({card for card, _ in shots})
    return {
        (card, name): extract(fn(shots[(card, 0)]))
        for card in cards
        for name, fn in TRANSFORMS.items()
    }


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_every_transform_matches_its_original(
    name: str, features: dict[Shot, Features], transformed: dict[tuple[str, str], Features]
) -> None:
    for (card, tname), feats in transformed.items():
        if tname != name:
            continue
        original = features[(card, 0)]
        for m in (match(original, feats), match(feats, original)):
            assert m.plausible, (card, m)
            assert is_same_image_or_scene(m), (card, m)


def test_transforms_do_not_match_other_cards(
    features: dict[Shot, Features], transformed: dict[tuple[str, str], Features]
) -> None:
    wrong = []
    for (card, name), feats in transformed.items():
        for (other, shot), theirs in features.items():
            if other != card and shot == 0:
                m = match(theirs, feats)
                if is_same_image_or_scene(m):
                    wrong.append((card, name, other, m))
    assert wrong == []


def test_different_cards_never_match(features: dict[Shot, Features]) -> None:
    """All pairs of shots of different cards (one printed form: hard negatives)."""
    pairs = [(a, b) for a, b in itertools.combinations(sorted(features), 2) if a[0] != b[0]]
    assert len(pairs) > 80
    wrong = [
        (a, b, m) for a, b in pairs if is_same_image_or_scene(m := match(features[a], features[b]))
    ]
    assert wrong == []


def test_shots_of_the_same_card_match(features: dict[Shot, Features]) -> None:
    """Different shots of one card: other angle, zoom, light, glare, sometimes blur."""
    pairs = [(a, b) for a, b in itertools.combinations(sorted(features), 2) if a[0] == b[0]]
    assert len(pairs) >= 12
    matched = [is_same_image_or_scene(match(features[a], features[b])) for a, b in pairs]
    # all 25 pairs match here, and all 1134 in calibration runs over 138 demo cards
    assert sum(matched) / len(matched) >= 0.9


def test_working_size_and_arrays() -> None:
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 256, (768, 1024, 3), dtype=np.uint8), "RGB")
    f = extract(noise, max_features=300)
    assert f.size == (WORK_SIDE, 480)
    assert 0 < len(f) <= 300
    assert f.keypoints.dtype == np.float32 and f.keypoints.shape == (len(f), 2)
    assert f.descriptors.dtype == np.uint8 and f.descriptors.shape == (len(f), 32)
    assert float(f.keypoints[:, 0].max()) < WORK_SIDE and float(f.keypoints[:, 1].max()) < 480
    assert f.thumb.shape == (480 // geometry.THUMB_DIV, WORK_SIDE // geometry.THUMB_DIV)
    # small pictures are enlarged at most twice
    assert extract(noise.resize((200, 150))).size == (400, 300)
    assert extract(noise.resize((400, 300))).size == (WORK_SIDE, 480)


def test_features_round_trip(features: dict[Shot, Features]) -> None:
    f = features[("C001", 0)]
    data = f.to_bytes()
    back = Features.from_bytes(data)
    assert back == f
    assert back.size == f.size and len(back) == len(f)
    assert back.keypoints.dtype == np.float32 and back.descriptors.dtype == np.uint8
    assert len(data) < 70_000
    assert match(back, features[("C001", 1)]) == match(f, features[("C001", 1)])
    empty = Features()
    assert Features.from_bytes(empty.to_bytes()) == empty
    for bad in (b"", b"nope", data[:-1], data + b"\0", b"DLGF1" + bytes(20)):
        if bad == empty.to_bytes():
            continue
        with pytest.raises(ValueError):
            Features.from_bytes(bad)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (1, 1)),
        Image.new("L", (7, 3), 128),
        Image.new("RGB", (40, 30), (200, 10, 10)),
        Image.new("L", (1024, 768), 255),  # blank
        Image.new("RGBA", (300, 200), (0, 0, 0, 0)),
        Image.new("P", (64, 64)),
        Image.new("1", (64, 64)),
        Image.new("I;16", (120, 90), 40000),
        Image.new("F", (50, 50), 3.5),
        Image.new("CMYK", (60, 60)),
        Image.new("LA", (33, 900)),
        Image.new("RGB", (4000, 2)),
    ],
    ids=lambda im: f"{im.mode}-{im.width}x{im.height}",
)
def test_blank_tiny_and_odd_images_do_not_raise(
    image: Image.Image, features: dict[Shot, Features]
) -> None:
    f = extract(image)
    assert f.keypoints.shape == (len(f), 2) and f.descriptors.shape == (len(f), 32)
    assert Features.from_bytes(f.to_bytes()) == f
    for m in (match(f, f), match(f, features[("C001", 0)]), match(features[("C001", 0)], f)):
        assert not is_same_image_or_scene(m)


def test_match_never_raises_on_inconsistent_features() -> None:
    broken = Features(
        keypoints=np.zeros((5, 2), dtype=np.float32),
        descriptors=np.zeros((9, 32), dtype=np.uint8),
        size=(10, 10),
    )
    rng = np.random.default_rng(3)
    noise = extract(Image.fromarray(rng.integers(0, 256, (480, 640), dtype=np.uint8), "L"))
    for m in (match(broken, noise), match(noise, broken), match(Features(), Features())):
        assert isinstance(m, GeometricMatch) and not is_same_image_or_scene(m)


def test_to_dict_is_json(features: dict[Shot, Features]) -> None:
    m = match(features[("C001", 0)], features[("C001", 1)])
    d = m.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert set(d) == {
        "inliers",
        "matches",
        "inlier_ratio",
        "homography",
        "plausible",
        "agreement",
        "covered",
    }
    assert 0 < m.inliers <= m.matches and m.inlier_ratio == m.inliers / m.matches
    assert m.homography is not None and len(m.homography) == 3
    assert is_same_image_or_scene(m)


def test_plausibility_of_homographies() -> None:
    size = (640, 480)

    def plausible(h: list[list[float]]) -> bool:
        return geometry._plausible(np.array(h, dtype=np.float64), size)

    c, s = math.cos(math.radians(10)), math.sin(math.radians(10))
    assert plausible([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert plausible([[0, -1, 480], [1, 0, 0], [0, 0, 1]])  # 90 degrees
    assert plausible([[0.5 * c, -0.5 * s, 10], [0.5 * s, 0.5 * c, 5], [0, 0, 1]])
    assert plausible([[1, 0.05, 0], [0, 1, 0], [0.0004, 0.0003, 1]])  # a tilted re-shot
    assert not plausible([[10, 0, 0], [0, 10, 0], [0, 0, 1]])  # far too much zoom
    assert not plausible([[0.05, 0, 0], [0, 0.05, 0], [0, 0, 1]])
    assert not plausible([[-1, 0, 640], [0, 1, 0], [0, 0, 1]])  # mirror image
    assert not plausible([[1, 0, 0], [0, 0.1, 0], [0, 0, 1]])  # squashed flat
    assert not plausible([[1, 0, 0], [0, 1, 0], [0.004, 0, 1]])  # wild perspective
    assert not plausible([[1, 0, 0], [0, 1, 0], [-0.002, 0, 1]])  # folds behind the camera
    assert not plausible([[math.nan, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert not plausible([[1, 0, 0], [0, 1, 0], [0, 0, 0]])


def test_decision_rule() -> None:
    def m(inliers: int, agreement: float | None, plausible: bool = True) -> GeometricMatch:
        return GeometricMatch(inliers, inliers, 1.0, None, plausible, agreement)

    assert is_same_image_or_scene(m(30, 0.9))
    assert not is_same_image_or_scene(m(30, 0.9, plausible=False))
    assert not is_same_image_or_scene(m(geometry.DEFAULT_MIN_INLIERS - 1, 1.0))
    assert not is_same_image_or_scene(m(50, 0.7))  # a shared form, other content
    assert is_same_image_or_scene(m(300, 0.55))  # a heavily re-compressed copy
    assert not is_same_image_or_scene(m(300, 0.3))
    assert not is_same_image_or_scene(m(50, None))  # nothing to compare: must be strong
    assert is_same_image_or_scene(m(geometry.STRONG_INLIERS, None))
    assert is_same_image_or_scene(m(20, 0.7), min_agreement=0.6)


def test_edge_bands_keep_a_caption_whatever_the_other_sides_hold() -> None:
    """A band of rows at the bottom where nothing agrees is left out, whole, even where the
    columns at the sides agree (a side pass that finds nothing must not undo another side's
    band); up to a third of the rows and more, never the middle of the picture."""
    from dalil.similar.geometry import _edge_bands

    textured = np.ones((7, 10), dtype=bool)
    agree = np.ones((7, 10), dtype=bool)
    agree[5:, :] = False  # a caption over the bottom two rows and a bit
    agree[4, 1:] = False  # ... and most of a third row
    left = _edge_bands(textured, agree)
    assert left[4:, :].all() and not left[:4, :].any()
    middle = np.ones((7, 10), dtype=bool)
    middle[2:5, 2:8] = False  # a difference in the middle (the writing on another card)
    assert not _edge_bands(textured, middle).any()
    flat_side = textured.copy()
    flat_side[:, 0] = False  # a flat first column: not a band, and not a reason to drop one
    assert _edge_bands(flat_side, agree)[5:, :].all()
