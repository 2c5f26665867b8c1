"""Two-stage matching: PDQ fingerprints first, local features for the harder candidates.

A :class:`Matcher` answers "which known images is this one a copy of, or a shot of the same
scene as?" over a :class:`~dalil.similar.index.FingerprintIndex`. It is used for vault items
(features cached as derivatives) and for files outside the vault (``dalil similar --image``,
benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dalil.ingest import decode
from dalil.settings import Settings
from dalil.similar import geometry
from dalil.similar.index import FingerprintIndex
from dalil.similar.keypoints import KeypointIndex

FeatureSource = Callable[[str], "geometry.Features | None"]


@dataclass(frozen=True, slots=True)
class Match:
    item: str
    stage: str  # "pdq": fingerprints within the threshold; "geometric": local features agree
    distance: int  # PDQ distance of the best-matching variant
    variant: str  # which rotation/reflection of the match fits best
    inliers: int | None = None
    matches: int | None = None

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
    """What is known about the image being matched."""

    code: bytes  # its plain PDQ hash (32 bytes)
    quality: int
    features: Callable[[], geometry.Features | None]


class Matcher:
    def __init__(
        self,
        index: FingerprintIndex,
        features: FeatureSource,
        thresholds: Thresholds,
        keypoints: KeypointIndex | None = None,
    ) -> None:
        self.index = index
        self.features = features
        self.t = thresholds
        self.keypoints = keypoints

    def match(
        self, probe: Probe, *, exclude: str | None = None, extra: Iterable[str] = ()
    ) -> list[Match]:
        """Matches for one probe; ``extra`` names more candidates (same camera, same minute).

        Candidates for the local-feature check: the nearest fingerprints, the items with the
        most keypoint votes (crops, rotations, screenshots) and ``extra``."""
        found: dict[str, Match] = {}
        for hit in self.index.search(probe.code, self.t.threshold):
            if hit.item == exclude:
                continue
            quality = self.index.quality[self.index.position(hit.item)]
            if min(quality, probe.quality) >= self.t.min_quality:
                found[hit.item] = Match(hit.item, "pdq", hit.distance, hit.variant)
        candidates = [
            hit
            for hit in self.index.nearest(probe.code, self.t.candidates + 1)
            if hit.item != exclude and hit.item not in found and hit.distance <= self.t.radius
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
                    mine.descriptors, self.t.candidates, exclude=exclude
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
                    result = geometry.match(mine, theirs)
                    if geometry.is_same_image_or_scene(result, min_inliers=self.t.min_inliers):
                        found[item] = Match(
                            item,
                            "geometric",
                            hit.distance,
                            hit.variant,
                            result.inliers,
                            result.matches,
                        )
        return sorted(found.values(), key=lambda m: (m.stage != "pdq", m.distance, m.item))


@dataclass(frozen=True, slots=True)
class ImageFingerprint:
    code: bytes
    variants: bytes
    quality: int
    features: geometry.Features | None


def fingerprint_image(data: bytes) -> ImageFingerprint | None:
    """PDQ, its variants and local features of an image file's bytes, from one decode,
    exactly as ingest computes them."""
    analysis = decode.analyse(
        data, thumbnail_side=256, thumbnail_quality=80, max_pixels=150_000_000
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

    def __init__(self, paths: list[Path], thresholds: Thresholds | None = None) -> None:
        self.paths = paths
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
        self.matcher = Matcher(index, self._features.get, chosen, keypoints)

    def query(self, path: Path) -> list[tuple[int, Match]]:
        """(position in ``paths``, match) for every original that ``path`` matches."""
        fp = fingerprint_image(path.read_bytes())
        if fp is None:
            return []
        probe = Probe(fp.code, fp.quality, lambda: fp.features)
        return [(int(m.item), m) for m in self.matcher.match(probe)]
