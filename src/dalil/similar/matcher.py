"""Two-stage matching: PDQ fingerprints first, local features for the harder candidates.

A :class:`Matcher` answers "which known images is this one a copy of, or a shot of the same
scene as?" over a :class:`~dalil.similar.index.FingerprintIndex`. It is used for vault items
(features cached as derivatives) and for files outside the vault (``dalil similar --image``,
benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dalil.ingest import decode
from dalil.settings import Settings
from dalil.similar import geometry
from dalil.similar.index import FingerprintIndex
from dalil.similar.keypoints import KeypointIndex

if TYPE_CHECKING:
    from PIL import Image

FeatureSource = Callable[[str], "geometry.Features | None"]
THUMBNAIL_SIDE = 256  # the decode ingest describes and fingerprints an image from
PART_SIDE = 512  # a query's mirror image and parts are cut from a decode at least this large
PART_MIN_INLIERS = 30  # a part's link needs this many consistent keypoint matches
PART_VOTES = 3  # a part of a query is checked against this many most-voted images only


@dataclass(frozen=True, slots=True)
class Match:
    item: str
    stage: str  # "pdq": fingerprints within the threshold; "geometric": local features agree
    distance: int  # PDQ distance of the best-matching variant
    variant: str  # which rotation/reflection of the match fits best
    inliers: int | None = None
    matches: int | None = None
    covered: float | None = None  # share of the picture left out of the agreement (a caption)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The matching settings (declared once, with their help, in :mod:`dalil.settings`)."""

    threshold: int
    min_quality: int
    candidates: int
    radius: int
    min_inliers: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            threshold=settings.similar_threshold,
            min_quality=settings.similar_min_quality,
            candidates=settings.similar_candidates,
            radius=settings.similar_candidate_radius,
            min_inliers=settings.similar_min_inliers,
        )


@dataclass(frozen=True, slots=True)
class Probe:
    """What is known about the image being matched. ``mirrored``: local features of its mirror
    image (ORB is not mirror-invariant: a mirrored copy, cropped so that its fingerprint no
    longer matches, is found only through these)."""

    code: bytes  # its plain PDQ hash (32 bytes)
    quality: int
    features: Callable[[], geometry.Features | None]
    mirrored: Callable[[], geometry.Features | None] | None = None


class Matcher:
    def __init__(
        self,
        index: FingerprintIndex,
        features: FeatureSource,
        thresholds: Thresholds,
        keypoints: KeypointIndex | None = None,
        *,
        query: bool = False,
    ) -> None:
        """``query``: matching pictures brought to ``dalil similar`` (not ingest's grouping),
        which may spend a little more (the keypoint leader below the usual votes)."""
        self.index = index
        self.features = features
        self.t = thresholds
        self.keypoints = keypoints
        self.query = query

    def match_parts(
        self, parts: list[tuple[str, Probe]], found: list[Match], *, exclude: str | None = None
    ) -> list[Match]:
        """``found`` (the whole image's matches) and what each part of the image matches
        besides; a part's match says ``part:<which>`` as its variant."""
        out = {m.item: m for m in found}
        for name, probe in parts:
            # the picture with a caption band cut away is the whole picture, not a part of it
            whole = name == UNCOVERED
            votes = None if whole else PART_VOTES
            for m in self.match(probe, exclude=exclude, nearest=whole, votes=votes, part=not whole):
                if m.item not in out:
                    out[m.item] = replace(m, variant=f"part:{name}")
        return sorted(out.values(), key=lambda m: (m.stage != "pdq", m.distance, m.item))

    def match(
        self,
        probe: Probe,
        *,
        exclude: str | None = None,
        extra: Iterable[str] = (),
        nearest: bool = True,
        votes: int | None = None,
        part: bool = False,
    ) -> list[Match]:
        """Matches for one probe; ``extra`` names more candidates (same camera, same minute).

        Candidates for the local-feature check: the nearest fingerprints (unless not
        ``nearest``), the ``votes`` (default: the candidates setting) items with the most
        keypoint votes (crops, rotations, screenshots) and ``extra``. A ``part`` of a picture
        needs :data:`PART_MIN_INLIERS` and full agreement (no band left out): half a printed
        form matches the same half of every card written on it."""
        min_inliers = max(self.t.min_inliers, PART_MIN_INLIERS) if part else self.t.min_inliers
        radius = max(self.t.radius, QUERY_RADIUS) if self.query else self.t.radius
        found: dict[str, Match] = {}
        for hit in self.index.search(probe.code, self.t.threshold):
            if hit.item == exclude:
                continue
            quality = self.index.quality[self.index.position(hit.item)]
            if min(quality, probe.quality) >= self.t.min_quality:
                found[hit.item] = Match(hit.item, "pdq", hit.distance, hit.variant)
        # a negative (light and dark swapped) has exactly the complement of the PDQ hash
        negative = bytes(255 - b for b in probe.code)
        for hit in self.index.search(negative, self.t.threshold):
            if hit.item == exclude or hit.item in found:
                continue
            quality = self.index.quality[self.index.position(hit.item)]
            if min(quality, probe.quality) >= self.t.min_quality:
                turn = "" if hit.variant == "original" else f"+{hit.variant}"
                found[hit.item] = Match(hit.item, "pdq", hit.distance, f"negative{turn}")
        candidates = [
            hit
            for hit in (self.index.nearest(probe.code, self.t.candidates + 1) if nearest else [])
            if hit.item != exclude and hit.item not in found and hit.distance <= radius
        ][: self.t.candidates]
        near = {hit.item: hit for hit in candidates}
        signalled = set(extra)
        for item in signalled:
            if item != exclude and item not in found and item not in near and item in self.index:
                near[item] = self.index.distance(probe.code, item)
        mine: geometry.Features | None = None
        if self.keypoints is not None:
            mine = probe.features()
            if mine is not None:
                for item, _votes in self.keypoints.candidates(
                    mine.descriptors,
                    self.t.candidates if votes is None else votes,
                    exclude=exclude,
                    leader=self.query,
                ):
                    if item not in found and item not in near and item in self.index:
                        near[item] = self.index.distance(probe.code, item)
        if near:
            if mine is None:
                mine = probe.features()
            if mine is not None:
                for item, hit in near.items():
                    theirs = self.features(item)
                    if theirs is None:
                        continue
                    result = geometry.match(mine, theirs, bands=not part)
                    if geometry.is_same_image_or_scene(result, min_inliers=min_inliers):
                        found[item] = Match(
                            item,
                            "geometric",
                            hit.distance,
                            hit.variant,
                            result.inliers,
                            result.matches,
                            round(result.covered, 3),
                        )
        if probe.mirrored is not None:
            self._mirrored(probe, probe.mirrored(), near, found, exclude)
        return sorted(found.values(), key=lambda m: (m.stage != "pdq", m.distance, m.item))

    def _mirrored(
        self,
        probe: Probe,
        flipped: geometry.Features | None,
        near: dict[str, Any],
        found: dict[str, Match],
        exclude: str | None,
    ) -> None:
        """The mirror image of the probe, nominated by its own keypoint votes and checked like
        the probe against every candidate not yet matched: a link says ``mirrored``."""
        if flipped is None or len(flipped) == 0:
            return
        pool = {item: hit for item, hit in near.items() if item not in found}
        if self.keypoints is not None:
            for item, _votes in self.keypoints.candidates(
                flipped.descriptors, self.t.candidates, exclude=exclude
            ):
                if item not in found and item not in pool and item in self.index:
                    pool[item] = self.index.distance(probe.code, item)
        for item, hit in pool.items():
            theirs = self.features(item)
            if theirs is None:
                continue
            result = geometry.match(flipped, theirs)
            if geometry.is_same_image_or_scene(result, min_inliers=self.t.min_inliers):
                found[item] = Match(
                    item,
                    "geometric",
                    hit.distance,
                    "mirrored",
                    result.inliers,
                    result.matches,
                    round(result.covered, 3),
                )


@dataclass(frozen=True, slots=True)
class ImageFingerprint:
    code: bytes
    variants: bytes
    quality: int
    features: geometry.Features | None


def query_view(source: bytes | Path) -> Image.Image | None:
    """The query decoded once more, upright and reduced (at least :data:`PART_SIDE` px a side
    where it has them), for its mirror image and its parts; None when it cannot be read."""
    image = decode.reduced_image(source, PART_SIDE)
    return None if image is None else image.convert("RGB")


def mirrored_features(view: Image.Image | None) -> geometry.Features | None:
    """ORB features of the query's mirror image (left and right swapped)."""
    from PIL import ImageOps

    from dalil.similar import FEATURES

    if view is None:
        return None
    return geometry.extract(ImageOps.mirror(view), max_features=FEATURES)


def given(features: geometry.Features | None) -> geometry.Features | None:
    """``features`` as a probe's feature source (features already at hand)."""
    return features


BAND_FLAT = 0.6  # a band's edge row: this share of its pixels within BAND_TOLERANCE
BAND_TOLERANCE = 24  # ... of the row's median colour (0-255 per channel)
BAND_TEXT = 0.35  # a row further in, across the band's lettering: at least this share
BAND_MIN, BAND_MAX = 0.08, 0.6  # a band this share of the side is cut away for a probe
UNCOVERED = "uncovered"  # that probe's name: checked by the whole picture's rules
QUERY_RADIUS = 120
"""A query (``dalil similar``) checks nearest fingerprints up to this distance at least. Ingest
checks them up to ``similar_candidate_radius`` (90): beyond 90 bits the nearest fingerprints of
a picture that has no copy are unrelated pictures (96-110 bits away on 120 distinct camera
photos, every one checked for nothing: 6 geometric checks, ~10 ms, per item), and on bench set
v3 matching as ingest does at 90 instead of 120 found 2,609 of the 2,611 copies (two captioned
by a band over 35 %, which keypoint votes and ``dalil similar`` find)."""


def uncovered_box(view: Image.Image) -> tuple[int, int, int, int] | None:
    """The query without the solid bands laid along its edges (a caption bar, a banner, the
    blank margin of a screenshot): rows (columns) from an edge that are mostly one colour, the
    same colour all the way. None when there is no such band (or it is too thin or too
    large to be one). The keypoints of a caption's letters otherwise crowd out the picture's."""
    import numpy as np

    pixels = np.asarray(view.convert("RGB"), dtype=np.int16)
    h, w = pixels.shape[:2]

    def run(lines: np.ndarray) -> int:
        """How many of ``lines`` (each an array of pixels), from the first, are the band."""
        first: np.ndarray | None = None
        count = 0
        for line in lines:
            if first is None:
                median = np.median(line, axis=0)
                if (np.abs(line - median).max(axis=1) <= BAND_TOLERANCE).mean() < BAND_FLAT:
                    break
                first = median
            elif (np.abs(line - first).max(axis=1) <= BAND_TOLERANCE).mean() < BAND_TEXT:
                break  # no longer the band's colour (its letters cover less than this)
            count += 1
        return count

    top = run(pixels)
    bottom = run(pixels[::-1])
    left = run(pixels.transpose(1, 0, 2))
    right = run(pixels.transpose(1, 0, 2)[::-1])
    cut = [
        n if BAND_MIN * side <= n <= BAND_MAX * side else 0
        for n, side in ((top, h), (bottom, h), (left, w), (right, w))
    ]
    if not any(cut):
        return None
    box = (cut[2], cut[0], w - cut[3], h - cut[1])
    return box if box[2] - box[0] >= 32 and box[3] - box[1] >= 32 else None


def part_probes(view: Image.Image | None) -> list[tuple[str, Probe]]:
    """Probes for the parts of the query — its four quarters, and its halves side by side and
    one above the other — each with its own fingerprint and local features, so that a picture
    that is one tile of a collage, one photo of a screenshot of a post, or a picture inside a
    page is found by the part that holds it (the whole image's keypoints are spread over every
    tile, too few on the one that matters); and the picture without a caption band laid over
    an edge (:func:`uncovered_box`). Mirror images are not tried for parts."""
    from dalil.media import pdq
    from dalil.similar import FEATURES

    if view is None:
        return []
    w, h = view.size
    boxes = {
        "top-left": (0, 0, w // 2, h // 2),
        "top-right": (w // 2, 0, w, h // 2),
        "bottom-left": (0, h // 2, w // 2, h),
        "bottom-right": (w // 2, h // 2, w, h),
        "left": (0, 0, w // 2, h),
        "right": (w // 2, 0, w, h),
        "top": (0, 0, w, h // 2),
        "bottom": (0, h // 2, w, h),
    }
    uncovered = uncovered_box(view)
    if uncovered is not None:
        boxes[UNCOVERED] = uncovered
    out: list[tuple[str, Probe]] = []
    for name, box in boxes.items():
        part = view.crop(box)
        if min(part.size) < 32:
            continue
        code = pdq.dihedral_hashes(pdq.luma_from_image(part))["original"]
        features = geometry.extract(part, max_features=FEATURES)
        out.append((name, Probe(code.hash, code.quality, partial(given, features))))
    return out


def fingerprint_image(data: bytes) -> ImageFingerprint | None:
    """PDQ, its variants and local features of an image file's bytes, from one decode,
    exactly as ingest computes them."""
    analysis = decode.analyse(
        data, thumbnail_side=THUMBNAIL_SIDE, thumbnail_quality=80, max_pixels=150_000_000
    )
    if analysis.pdq is None or analysis.pdq_variants is None:
        return None
    features = None
    if analysis.features is not None:
        features = geometry.Features.from_bytes(analysis.features)
    return ImageFingerprint(
        analysis.pdq.hash, analysis.pdq_variants, analysis.pdq.quality, features
    )


class ImageSetMatcher:
    """A matcher over image files outside any vault (benchmarks, quick checks)."""

    def __init__(
        self, paths: list[Path], thresholds: Thresholds | None = None, *, parts: bool = True
    ) -> None:
        self.paths = paths
        self.parts = parts
        self._features: dict[str, geometry.Features | None] = {}
        index = FingerprintIndex()
        keypoints = KeypointIndex()
        for i, path in enumerate(paths):
            fp = fingerprint_image(path.read_bytes())
            if fp is not None:
                index.add([str(i)], [fp.variants], [fp.quality])
                self._features[str(i)] = fp.features
                if fp.features is not None:
                    keypoints.add([(str(i), fp.features.descriptors)])
        chosen = thresholds or Thresholds.from_settings(Settings())
        self.matcher = Matcher(index, self._features.get, chosen, keypoints, query=True)

    def query(self, path: Path) -> list[tuple[int, Match]]:
        """(position in ``paths``, match) for every original that ``path`` matches."""
        fp = fingerprint_image(path.read_bytes())
        if fp is None:
            return []
        view = query_view(path)
        probe = Probe(fp.code, fp.quality, lambda: fp.features, lambda: mirrored_features(view))
        found = self.matcher.match(probe)
        if self.parts:
            found = self.matcher.match_parts(part_probes(view), found)
        return [(int(m.item), m) for m in found]
