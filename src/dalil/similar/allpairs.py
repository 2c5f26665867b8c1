"""Every pair of items whose PDQ fingerprints are within a distance, for the whole vault at once.

Querying the index once per item costs O(N^2) comparisons: about half an hour for a million
items on two cores. Multi-index hashing does it in minutes: each 256-bit code is cut into 16
substrings of 16 bits; two codes within 15 bits agree exactly on at least one substring
(pigeonhole), so only codes sharing a substring value ("bucket") are compared. Pairs at 16..31
bits are found when some substring still agrees, which is most of them (98.7 % of the pairs
within 31 bits of the synthetic clustered collection in ``bench/similar.py``); the incremental
matching at ingest, which uses the exact index, has already recorded any that are missed.

Flipped and rotated copies are found by joining each item's plain code with every item's eight
dihedral variants. Buckets holding more than ``max_bucket`` codes (blank or uniform images all
hash alike) are skipped and counted: comparing them is quadratic and their fingerprints have
too little quality to link anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from dalil.media.pdq import DIHEDRAL_NAMES

CODE_BYTES = 32
VARIANTS = len(DIHEDRAL_NAMES)
_CHUNK = 2_000_000  # candidate pairs verified at once (~100 MB of temporaries)

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Pairs:
    """Unordered item pairs (``first < second``, positions in the input) with the smallest
    distance between one's plain code and the other's variants, and that variant's index."""

    first: I64
    second: I64
    distance: I64
    variant: I64
    compared: int  # candidate pairs whose distance was computed
    skipped_buckets: int  # buckets over ``max_bucket``

    def __len__(self) -> int:
        return int(self.first.shape[0])


def _popcount(x: npt.NDArray[np.uint64]) -> I64:
    return cast(I64, np.bitwise_count(x).sum(axis=1, dtype=np.int64))


def _joined(
    left: npt.NDArray[np.unsignedinteger], right: npt.NDArray[np.unsignedinteger], max_bucket: int
) -> Iterator[tuple[I64, I64] | int]:
    """Every (left row, right row) whose keys are equal, in chunks; buckets with more than
    ``max_bucket`` rows on either side are reported (as an int: their number) and skipped."""
    l_keys, l_order = np.unique(left, return_inverse=False), np.argsort(left, kind="stable")
    r_order = np.argsort(right, kind="stable")
    l_sorted, r_sorted = left[l_order], right[r_order]
    l_start = np.searchsorted(l_sorted, l_keys, side="left")
    l_count = np.searchsorted(l_sorted, l_keys, side="right") - l_start
    r_start = np.searchsorted(r_sorted, l_keys, side="left")
    r_count = np.searchsorted(r_sorted, l_keys, side="right") - r_start
    both = r_count > 0
    big = both & ((l_count > max_bucket) | (r_count > max_bucket))
    yield int(big.sum())
    usable = both & ~big
    l_start, l_count = l_start[usable].astype(np.int64), l_count[usable].astype(np.int64)
    r_start, r_count = r_start[usable].astype(np.int64), r_count[usable].astype(np.int64)
    if not len(l_start):
        return
    total = l_count * r_count
    ends = np.cumsum(total)
    cuts = np.searchsorted(ends, np.arange(_CHUNK, int(ends[-1]), _CHUNK))
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(total)], strict=True):
        if hi <= lo:
            continue
        t = total[lo:hi]
        bucket = np.repeat(np.arange(hi - lo), t)
        local = np.arange(int(t.sum()), dtype=np.int64) - np.repeat(np.cumsum(t) - t, t)
        width = r_count[lo:hi][bucket]
        row = local // width
        yield (
            l_order[l_start[lo:hi][bucket] + row].astype(np.int64),
            r_order[r_start[lo:hi][bucket] + local - row * width].astype(np.int64),
        )


def close_pairs(blocks: npt.NDArray[np.uint8], max_distance: int, max_bucket: int = 512) -> Pairs:
    """Pairs of items within ``max_distance`` bits; ``blocks`` is N x 256 bytes (each item's
    eight 32-byte variants, the plain code first), as the catalogue stores them.

    Plain codes are joined with each other on 16 substrings of 16 bits (exact up to 15 bits);
    plain codes with the other seven variants on 8 substrings of 32 bits (exact up to 7 bits,
    most flipped or rotated copies further: a pure flip or rotation keeps the code almost
    intact), which costs little because random 32-bit substrings rarely collide."""
    n = int(blocks.shape[0])
    codes = np.ascontiguousarray(blocks, dtype=np.uint8).reshape(n * VARIANTS, CODE_BYTES)
    plain = np.ascontiguousarray(codes[::VARIANTS])
    plain_wide, all_wide = plain.view(np.uint64), codes.view(np.uint64)
    turned_rows = np.flatnonzero(np.arange(n * VARIANTS) % VARIANTS != 0)
    found: list[tuple[I64, I64, I64]] = []
    compared = skipped = 0
    passes: list[tuple[npt.NDArray[Any], npt.NDArray[Any], I64 | None]] = [
        (plain.view(np.uint16), codes.view(np.uint16)[::VARIANTS], None),
        (plain.view(np.uint32), codes[turned_rows].view(np.uint32), turned_rows),
    ]
    for left_sub, right_sub, rows in passes:
        for s in range(left_sub.shape[1]):
            for part in _joined(left_sub[:, s], np.ascontiguousarray(right_sub[:, s]), max_bucket):
                if isinstance(part, int):
                    skipped += part
                    continue
                i, r = part
                jv = r * VARIANTS if rows is None else rows[r]
                j = jv // VARIANTS
                keep = i < j if rows is None else i != j
                i, jv = i[keep], jv[keep]
                compared += int(i.shape[0])
                dist = _popcount(plain_wide[i] ^ all_wide[jv])
                close = dist <= max_distance
                found.append((i[close], jv[close], dist[close]))
    i = np.concatenate([f[0] for f in found]) if found else np.zeros(0, np.int64)
    if not i.size:
        empty = np.zeros(0, np.int64)
        return Pairs(empty, empty, empty, empty, compared, skipped)
    jv = np.concatenate([f[1] for f in found])
    dist = np.concatenate([f[2] for f in found])
    j, variant = jv // VARIANTS, jv % VARIANTS
    first, second = np.minimum(i, j), np.maximum(i, j)
    key = first * n + second
    order = np.lexsort((variant, dist, key))  # per pair: smallest distance first
    key, dist, variant = key[order], dist[order], variant[order]
    head = np.r_[True, key[1:] != key[:-1]]
    key = key[head]
    return Pairs(key // n, key % n, dist[head], variant[head], compared, skipped)
