"""The keypoint vote index that nominates crops, rotations and screenshots for geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dalil.similar import geometry, keypoints
from dalil.similar.keypoints import KeypointIndex, open_keypoint_index


def _descriptors(rng: np.random.Generator, n: int = 300) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)


def _noisy(desc: np.ndarray, rng: np.random.Generator, bits: int) -> np.ndarray:
    """The same descriptors with ``bits`` random bits flipped in each (a re-detection)."""
    unpacked = np.unpackbits(desc, axis=1)
    for row in unpacked:
        row[rng.choice(256, size=bits, replace=False)] ^= 1
    return np.packbits(unpacked, axis=1)


def _collection(rng: np.random.Generator, items: int) -> dict[str, np.ndarray]:
    return {f"{i:064x}": _descriptors(rng) for i in range(items)}


@pytest.mark.parametrize("ivf_from", [keypoints.IVF_FROM, 3_000])
def test_votes_go_to_the_item_whose_keypoints_reappear(
    ivf_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keypoints, "IVF_FROM", ivf_from)
    rng = np.random.default_rng(3)
    items = _collection(rng, 120)
    index = KeypointIndex()
    index.add(items.items())
    assert index.descriptors == 120 * keypoints.SAMPLE
    flat = ivf_from > index.descriptors
    assert ("Flat" in type(index._faiss).__name__) == flat
    target = f"{17:064x}"
    # a crop: 40 % of the keypoints survive, each re-detected with a few bits changed
    kept = items[target][rng.choice(300, size=120, replace=False)]
    query = np.concatenate([_noisy(kept, rng, 12), _descriptors(rng, 200)])
    ranked = index.candidates(query, 3)
    assert ranked and ranked[0][0] == target
    assert ranked[0][1] >= 10
    # the item itself is left out when asked (a vault item matched against the rest)
    assert all(sha != target for sha, _ in index.candidates(query, 3, exclude=target))
    # unrelated descriptors nominate nobody
    assert index.candidates(_descriptors(rng, 500), 3) == []


def test_index_persists_and_follows_the_catalogue(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    items = _collection(rng, 10)
    calls: list[str] = []

    def features(sha: str) -> geometry.Features:
        calls.append(sha)
        return geometry.Features(descriptors=items[sha], keypoints=np.zeros((300, 2), np.float32))

    names = sorted(items)
    first = open_keypoint_index(names[:6], features, tmp_path)
    assert len(first) == 6 and (tmp_path / "orb.faiss").exists()
    query = _noisy(items[names[2]], rng, 10)
    again = open_keypoint_index(names, features, tmp_path)  # extended, not rebuilt
    assert len(again) == 10 and len(calls) == 10
    assert again.candidates(query, 1) == first.candidates(query, 1)
    loaded = KeypointIndex.load(tmp_path)
    assert loaded is not None and loaded.items == again.items
    assert loaded.votes(query) == again.votes(query)
    # an item the catalogue no longer has: rebuilt from the catalogue's items
    rebuilt = open_keypoint_index(names[1:], features, tmp_path)
    assert names[0] not in rebuilt and len(rebuilt) == 9


def test_damaged_index_files_are_rebuilt(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    items = _collection(rng, 4)

    def features(sha: str) -> geometry.Features:
        return geometry.Features(descriptors=items[sha], keypoints=np.zeros((300, 2), np.float32))

    open_keypoint_index(sorted(items), features, tmp_path)
    (tmp_path / "orb.owners").write_bytes(b"\x00" * 8)
    assert KeypointIndex.load(tmp_path) is None
    assert len(open_keypoint_index(sorted(items), features, tmp_path)) == 4


def test_real_photo_crop_and_rotation_vote_for_their_original() -> None:
    photos = []
    for seed in range(6):  # textured, unrelated "photos"
        r = np.random.default_rng(seed)
        small = r.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
        photos.append(Image.fromarray(small).resize((1024, 768), Image.Resampling.BICUBIC))
    index = KeypointIndex()
    index.add(
        (str(i), geometry.extract(p, max_features=500).descriptors) for i, p in enumerate(photos)
    )
    original = photos[4]
    crop = original.crop((300, 250, 1024, 768))  # ~53 % of the area removed
    rotated = original.rotate(7, expand=True)
    for copy in (crop, rotated):
        found = index.candidates(geometry.extract(copy, max_features=500).descriptors, 2)
        assert found and found[0][0] == "4", found
