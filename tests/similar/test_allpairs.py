"""Whole-vault PDQ pairs by multi-index hashing agree with brute force."""

from __future__ import annotations

import numpy as np

from dalil.similar.allpairs import VARIANTS, close_pairs


def _flip_bits(code: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    unpacked = np.unpackbits(code)
    unpacked[rng.choice(256, size=bits, replace=False)] ^= 1
    return np.packbits(unpacked)


def _collection(rng: np.random.Generator) -> np.ndarray:
    """Items with eight 'variants' each; some items are noisy copies of others, some of a
    variant of others (a flipped copy)."""
    blocks = []
    for _ in range(150):
        blocks.append(rng.integers(0, 256, size=(VARIANTS, 32), dtype=np.uint8))
    for k in range(150):  # copies: 0..40 bits away from an existing item's plain or variant
        source = blocks[k % 150]
        which = k % VARIANTS
        plain = _flip_bits(source[which], int(rng.integers(0, 41)), rng)
        variants = rng.integers(0, 256, size=(VARIANTS, 32), dtype=np.uint8)
        variants[0] = plain
        blocks.append(variants)
    return np.stack(blocks).reshape(len(blocks), VARIANTS * 32)


def _brute(blocks: np.ndarray) -> dict[tuple[int, int], tuple[int, bool]]:
    """(distance, whether the plain codes alone are that close) for every pair within 31."""
    n = len(blocks)
    codes = blocks.reshape(n, VARIANTS, 32)
    bits = np.unpackbits(codes, axis=2)  # n, 8, 256
    plain = bits[:, 0, :]
    out: dict[tuple[int, int], tuple[int, bool]] = {}
    for i in range(n):
        every = (plain[i][None, None, :] != bits).sum(axis=2)  # vs every item's variants
        d = every.min(axis=1)
        for j in np.flatnonzero(d <= 31):
            if j != i:
                key = (min(i, int(j)), max(i, int(j)))
                best = min(out.get(key, (256, False))[0], int(d[j]))
                out[key] = (best, int(every[j, 0]) == best)
    return out


def test_multi_index_hashing_matches_brute_force() -> None:
    rng = np.random.default_rng(12)
    blocks = _collection(rng)
    truth = _brute(blocks)
    pairs = close_pairs(blocks, 31)
    found = {
        (int(a), int(b)): int(d)
        for a, b, d in zip(pairs.first, pairs.second, pairs.distance, strict=True)
    }
    assert all(a < b for a, b in found)
    assert all(d <= 31 for d in found.values())
    assert set(found) <= set(truth)
    # pigeonhole: plain codes within 15 bits and any variant within 7 bits are always found
    sure = {k: d for k, (d, plain) in truth.items() if d <= 7 or (plain and d <= 15)}
    assert len(sure) > 20 and all(found.get(k) == d for k, d in sure.items())
    assert len(found) >= 0.6 * len(truth)
    assert all(found[k] >= truth[k][0] for k in found)
    # flips: a copy of a non-plain variant is found through that variant
    assert any(v != 0 for v in pairs.variant)


def test_huge_buckets_are_skipped_not_compared() -> None:
    blank = np.zeros((600, VARIANTS * 32), dtype=np.uint8)  # 600 identical codes
    pairs = close_pairs(blank, 31, max_bucket=512)
    assert len(pairs) == 0 and pairs.skipped_buckets > 0
    small = close_pairs(blank[:20], 31)
    assert len(small) == 20 * 19 // 2 and set(small.distance.tolist()) == {0}


def test_no_close_pair_at_all() -> None:
    rng = np.random.default_rng(4)
    pairs = close_pairs(rng.integers(0, 256, size=(50, VARIANTS * 32), dtype=np.uint8), 31)
    assert len(pairs) == 0
    assert len(close_pairs(np.zeros((1, VARIANTS * 32), dtype=np.uint8), 31)) == 0
