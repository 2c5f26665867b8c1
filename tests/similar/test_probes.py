"""Extra probes of a query: the picture without a caption band, and the keypoint leader."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from dalil.similar.keypoints import KeypointIndex, sample
from dalil.similar.matcher import uncovered_box


def _textured(size: tuple[int, int] = (480, 360), seed: int = 3) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size[1] // 12, size[0] // 12, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def _band(image: Image.Image, share: float, edge: str = "bottom") -> Image.Image:
    out = image.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    box = {
        "bottom": (0, int(h * (1 - share)), w, h),
        "top": (0, 0, w, int(h * share)),
        "left": (0, 0, int(w * share), h),
    }[edge]
    draw.rectangle(box, fill=(180, 20, 30))
    x, y = box[0] + 8, box[1] + 8
    for k in range(3):  # lettering over the band: less than half of each row
        draw.text((x, y + 14 * k), "BREAKING NEWS shared 40,000 times", fill=(255, 255, 255))
    return out


def test_a_caption_band_is_cut_away_and_nothing_else() -> None:
    picture = _textured()
    assert uncovered_box(picture) is None
    for share in (0.1, 0.25, 0.4):
        box = uncovered_box(_band(picture, share))
        assert box is not None and box[:3] == (0, 0, 480), (share, box)
        assert abs(box[3] - 360 * (1 - share)) <= 4, (share, box)
    top = uncovered_box(_band(picture, 0.3, "top"))
    assert top is not None and abs(top[1] - 108) <= 4 and top[3] == 360
    left = uncovered_box(_band(picture, 0.2, "left"))
    assert left is not None and abs(left[0] - 96) <= 4 and left[2] == 480
    assert uncovered_box(_band(picture, 0.03)) is None  # a thin line: not a caption
    assert uncovered_box(Image.new("RGB", (300, 200), (20, 20, 20))) is None  # all one colour


def _descriptors(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32), dtype=np.uint8)


def test_a_query_also_checks_a_clear_leader_below_the_usual_votes() -> None:
    index = KeypointIndex()
    index.add([("a", _descriptors(300, 1)), ("b", _descriptors(300, 2))])
    a, b = sample(_descriptors(300, 1)), sample(_descriptors(300, 2))  # what was indexed
    noise = _descriptors(120, 9)
    five_of_a = np.vstack([a[:5], noise])
    assert index.candidates(five_of_a, 6) == []  # ingest: below MIN_VOTES, nothing
    assert [s for s, _ in index.candidates(five_of_a, 6, leader=True)] == ["a"]
    three_of_a = np.vstack([a[:3], noise])
    assert index.candidates(three_of_a, 6, leader=True) == []  # too few to lead
    tied = np.vstack([a[:5], b[:4], noise])
    assert index.candidates(tied, 6, leader=True) == []  # no clear lead


def test_ingest_checks_nearer_fingerprints_than_a_query() -> None:
    """A fingerprint 100 bits away is an unrelated picture at ingest (not checked: radius 90)
    but still worth a look for ``dalil similar`` (120)."""
    from dalil.settings import Settings
    from dalil.similar.index import FingerprintIndex
    from dalil.similar.matcher import Matcher, Probe, Thresholds

    rng = np.random.default_rng(5)
    theirs = rng.integers(0, 256, 32, dtype=np.uint8)
    bits = np.unpackbits(theirs)
    bits[:100] ^= 1  # 100 bits apart
    mine = np.packbits(bits).tobytes()
    index = FingerprintIndex()
    index.add(["a"], [theirs.tobytes() * 8], [100])
    from dalil.similar import geometry

    features = geometry.extract(_textured())
    for query, looked in ((False, []), (True, ["a"])):
        asked: list[str] = []
        matcher = Matcher(
            index,
            lambda item, asked=asked: asked.append(item),  # type: ignore[misc]
            Thresholds.from_settings(Settings()),
            query=query,
        )
        assert matcher.match(Probe(mine, 100, lambda: features)) == []
        assert asked == looked, (query, asked)
