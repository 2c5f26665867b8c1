"""Tests for dalil.ledger.merkle: RFC 9162 §2.1 Merkle tree hash, audit and consistency proofs."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from typing import overload

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dalil.ledger.merkle import (
    EMPTY_ROOT,
    RootAccumulator,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

MAX = 300
LEAVES = [leaf_hash(b"dalil test leaf %d" % i) for i in range(2 * MAX + 1)]
PROPERTY = settings(max_examples=150, deadline=None)


@functools.cache
def root_of(n: int) -> bytes:
    return root(LEAVES[:n])


def flip(h: bytes, byte: int = 0, bit: int = 0) -> bytes:
    return h[:byte] + bytes([h[byte] ^ (1 << bit)]) + h[byte + 1 :]


# --- a deliberately naive reference, straight from the RFC's recursive definitions ---------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def path_shape(m: int, n: int) -> tuple[str, ...]:
    """Sibling sides along PATH(m, D[n]); a proof only authenticates size through this shape."""
    if n == 1:
        return ()
    k = _k(n)
    return (*path_shape(m, k), "R") if m < k else (*path_shape(m - k, n - k), "L")


def subproof_shape(m: int, n: int, b: bool = True) -> tuple[str, ...]:
    if m == n:
        return () if b else ("seed",)
    k = _k(n)
    if m <= k:
        return (*subproof_shape(m, k, b), "R")
    return (*subproof_shape(m - k, n - k, False), "L")


# --- Certificate Transparency reference vectors ----------------------------------------------
# Data from transparency-dev/merkle (proof/verify_test.go, Apache-2.0), used as test data only.

CT_LEAVES = [
    leaf_hash(bytes.fromhex(h))
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
_A = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
_B = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
_C = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
_D = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
_E = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
_F = "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
_G = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"
_H = "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"
_ROOT1 = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
_ROOT2 = "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
CT_INCLUSION = [  # (0-based index, size, proof)
    (0, 1, []),
    (0, 8, [_A, _B, _C]),
    (5, 8, [_D, _E, _F]),
    (2, 3, [_ROOT2]),
    (1, 5, [_ROOT1, _B, _D]),
]
CT_CONSISTENCY = [
    (1, 1, []),
    (1, 8, [_A, _B, _C]),
    (6, 8, [_G, _E, _F]),
    (2, 5, [_B, _D]),
    (6, 7, [_G, _H, _F]),
]


def test_ct_reference_roots() -> None:
    assert EMPTY_ROOT.hex() == CT_ROOTS[0] == hashlib.sha256(b"").hexdigest()
    for n in range(len(CT_LEAVES) + 1):
        assert root(CT_LEAVES[:n]).hex() == CT_ROOTS[n]


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_ct_reference_inclusion(index: int, size: int, proof: list[str]) -> None:
    got = inclusion_proof(CT_LEAVES, index, size)
    assert [h.hex() for h in got] == proof
    want_root = bytes.fromhex(CT_ROOTS[size])
    assert verify_inclusion(CT_LEAVES[index], index, size, got, want_root)


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY)
def test_ct_reference_consistency(old: int, new: int, proof: list[str]) -> None:
    got = consistency_proof(CT_LEAVES, old, new)
    assert [h.hex() for h in got] == proof
    old_root, new_root = bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new])
    assert verify_consistency(old, new, old_root, new_root, got)


# --- hand-computed known answers --------------------------------------------------------------


def H(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def test_hash_primitives() -> None:
    assert leaf_hash(b"abc") == H(b"\x00abc")
    a, b = H(b"a"), H(b"b")
    assert node_hash(a, b) == H(b"\x01", a, b)
    assert node_hash(a, b) != node_hash(b, a)
    assert H(b"") == EMPTY_ROOT


def test_known_answer_three_leaves() -> None:
    d = [b"alpha", b"beta", b"gamma"]
    l0, l1, l2 = (H(b"\x00" + x) for x in d)
    n01 = H(b"\x01", l0, l1)
    expected = H(b"\x01", n01, l2)  # left subtree is the largest power of two (2) < 3
    leaves = [leaf_hash(x) for x in d]
    assert root(leaves) == expected
    assert inclusion_proof(leaves, 0) == [l1, l2]
    assert inclusion_proof(leaves, 1) == [l0, l2]
    assert inclusion_proof(leaves, 2) == [n01]
    assert consistency_proof(leaves, 1) == [l1, l2]
    assert consistency_proof(leaves, 2) == [l2]
    assert verify_consistency(2, 3, n01, expected, [l2])
    assert verify_consistency(1, 3, l0, expected, [l1, l2])


def test_known_answer_seven_leaves() -> None:
    d = [bytes([65 + i]) * (i + 1) for i in range(7)]
    lh = [H(b"\x00" + x) for x in d]
    n01, n23, n45 = H(b"\x01", lh[0], lh[1]), H(b"\x01", lh[2], lh[3]), H(b"\x01", lh[4], lh[5])
    n0123 = H(b"\x01", n01, n23)
    n456 = H(b"\x01", n45, lh[6])
    expected = H(b"\x01", n0123, n456)
    leaves = [leaf_hash(x) for x in d]
    assert leaves == lh
    assert root(leaves) == expected
    assert inclusion_proof(leaves, 3) == [lh[2], n01, n456]
    assert inclusion_proof(leaves, 6) == [n45, n0123]
    assert inclusion_proof(leaves, 5, 6) == [lh[4], n0123]
    root4 = n0123
    assert consistency_proof(leaves, 4) == [n456]
    assert verify_consistency(4, 7, root4, expected, [n456])
    root3 = H(b"\x01", n01, lh[2])
    assert consistency_proof(leaves, 3) == [lh[2], lh[3], n01, n456]
    assert verify_consistency(3, 7, root3, expected, [lh[2], lh[3], n01, n456])


# --- properties -------------------------------------------------------------------------------


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, MAX))
    return n, draw(st.integers(0, n - 1))


@st.composite
def old_and_new(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, MAX))
    return draw(st.integers(1, n)), n


@PROPERTY
@given(tree_and_index(), st.data())
def test_inclusion_proofs_verify_and_resist_alteration(
    ni: tuple[int, int], data: st.DataObject
) -> None:
    n, i = ni
    r = root_of(n)
    proof = inclusion_proof(LEAVES, i, n)
    assert proof == ref_path(i, LEAVES[:n])
    assert inclusion_proof(LEAVES[:n], i) == proof
    assert verify_inclusion(LEAVES[i], i, n, proof, r)

    byte, bit = data.draw(st.integers(0, 31)), data.draw(st.integers(0, 7))
    assert not verify_inclusion(flip(LEAVES[i], byte, bit), i, n, proof, r)
    assert not verify_inclusion(LEAVES[(i + 1) % len(LEAVES)], i, n, proof, r)
    assert not verify_inclusion(LEAVES[i], i, n, proof, flip(r, byte, bit))
    assert not verify_inclusion(LEAVES[i], i, n, proof, root_of(n + 1))
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        altered = [*proof[:k], flip(proof[k], byte, bit), *proof[k + 1 :]]
        assert not verify_inclusion(LEAVES[i], i, n, altered, r)
        assert not verify_inclusion(LEAVES[i], i, n, proof[:-1], r)
        assert not verify_inclusion(LEAVES[i], i, n, proof[1:], r)
        assert not verify_inclusion(LEAVES[i], i, n, proof[::-1], r) or len(proof) == 1
    assert not verify_inclusion(LEAVES[i], i, n, [*proof, r], r)
    assert not verify_inclusion(LEAVES[i], i, n, [r, *proof], r)

    other = data.draw(st.integers(0, 2 * MAX).filter(lambda j: j != i))
    assert not verify_inclusion(LEAVES[i], other, n, proof, r)
    # Tree size is authenticated by the signed checkpoint, not by the path: the path only
    # pins the size down to sizes whose audit path for `i` has exactly the same shape.
    other_n = data.draw(st.integers(0, 2 * MAX).filter(lambda m: m != n))
    same_shape = i < other_n and path_shape(i, other_n) == path_shape(i, n)
    assert verify_inclusion(LEAVES[i], i, other_n, proof, r) is same_shape


@PROPERTY
@given(old_and_new(), st.data())
def test_consistency_proofs_verify_and_resist_alteration(
    mn: tuple[int, int], data: st.DataObject
) -> None:
    m, n = mn
    old_root, new_root = root_of(m), root_of(n)
    proof = consistency_proof(LEAVES, m, n)
    assert proof == ref_subproof(m, LEAVES[:n], True)
    assert consistency_proof(LEAVES[:n], m) == proof
    assert verify_consistency(m, n, old_root, new_root, proof)
    if m == n:
        assert proof == []
        assert not verify_consistency(m, n, old_root, root_of(n + 1), proof)
        assert not verify_consistency(m, n, old_root, new_root, [old_root])
        return

    byte, bit = data.draw(st.integers(0, 31)), data.draw(st.integers(0, 7))
    k = data.draw(st.integers(0, len(proof) - 1))
    altered = [*proof[:k], flip(proof[k], byte, bit), *proof[k + 1 :]]
    assert not verify_consistency(m, n, old_root, new_root, altered)
    assert not verify_consistency(m, n, flip(old_root, byte, bit), new_root, proof)
    assert not verify_consistency(m, n, old_root, flip(new_root, byte, bit), proof)
    assert not verify_consistency(m, n, new_root, old_root, proof)
    assert not verify_consistency(m, n, root_of(m - 1), new_root, proof)
    assert not verify_consistency(m, n, old_root, root_of(n + 1), proof)
    assert not verify_consistency(m, n, old_root, new_root, [])
    assert not verify_consistency(m, n, old_root, new_root, proof[:-1])
    assert not verify_consistency(m, n, old_root, new_root, [*proof, new_root])
    assert not verify_consistency(m, n, old_root, new_root, [proof[0], *proof])
    assert not verify_consistency(m, n, old_root, new_root, [old_root, *proof])

    # As with inclusion, sizes are bound by signed checkpoints; the proof only pins them down
    # to pairs whose SUBPROOF has the same shape.
    m2 = data.draw(st.integers(0, 2 * MAX))
    n2 = data.draw(st.integers(m2, 2 * MAX))
    if (m2, n2) != (m, n):
        same_shape = 0 < m2 < n2 and subproof_shape(m2, n2) == subproof_shape(m, n)
        assert verify_consistency(m2, n2, old_root, new_root, proof) is same_shape


def test_accumulator_matches_root_for_every_prefix() -> None:
    acc = RootAccumulator()
    assert acc.size == 0
    assert acc.root() == EMPTY_ROOT
    for n, h in enumerate(LEAVES, start=1):
        acc.append(h)
        assert acc.size == n
        assert acc.root() == root_of(n)
    assert acc.root() == ref_mth(LEAVES)
    assert "size=601" in repr(acc)


@PROPERTY
@given(st.lists(st.binary(max_size=40), max_size=80))
def test_accumulator_and_root_agree_with_reference(data: list[bytes]) -> None:
    leaves = [leaf_hash(x) for x in data]
    acc = RootAccumulator()
    for k, h in enumerate(leaves):
        assert acc.root() == root(leaves[:k]) == ref_mth(leaves[:k])
        acc.append(h)
    assert acc.root() == root(leaves) == ref_mth(leaves)


def test_accumulator_rejects_non_hashes() -> None:
    acc = RootAccumulator()
    with pytest.raises(ValueError, match="32 bytes"):
        acc.append(b"short")
    assert acc.size == 0


def test_consistency_edge_cases() -> None:
    r5, r8 = root_of(5), root_of(8)
    assert consistency_proof(LEAVES, 0, 8) == []
    assert consistency_proof(LEAVES, 8, 8) == []
    assert consistency_proof(LEAVES[:0], 0) == []
    # old_size == new_size: empty proof and equal roots.
    assert verify_consistency(8, 8, r8, r8, [])
    assert not verify_consistency(8, 8, r8, r5, [])
    assert not verify_consistency(8, 8, r8, r8, [r8])
    # old_size == 0: the empty tree is a prefix of every tree; its root must be EMPTY_ROOT.
    assert verify_consistency(0, 8, EMPTY_ROOT, r8, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 8, r5, r8, [])
    assert not verify_consistency(0, 8, EMPTY_ROOT, r8, [EMPTY_ROOT])
    # Going backwards or a missing proof.
    assert not verify_consistency(8, 5, r8, r5, consistency_proof(LEAVES, 5, 8))
    assert not verify_consistency(5, 8, r5, r8, [])


def test_generators_reject_out_of_range() -> None:
    leaves = LEAVES[:8]
    for index, size in [(8, None), (-1, None), (8, 8), (0, 9), (0, 0), (3, -1)]:
        with pytest.raises(ValueError, match="out of range"):
            inclusion_proof(leaves, index, size)
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof([], 0)
    for old, new in [(9, None), (-1, None), (5, 3), (0, 9), (1, -1)]:
        with pytest.raises(ValueError, match="out of range"):
            consistency_proof(leaves, old, new)
    with pytest.raises(TypeError):
        inclusion_proof(leaves, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        consistency_proof(leaves, True)


_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.binary(max_size=40),
    st.text(max_size=5),
    st.lists(st.binary(min_size=31, max_size=33), max_size=12),
    st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=3)), max_size=3),
)


@PROPERTY
@given(_junk, _junk, _junk, _junk, _junk)
def test_verifiers_never_raise(a: object, b: object, c: object, d: object, e: object) -> None:
    assert verify_inclusion(a, b, c, d, e) in (True, False)  # type: ignore[arg-type]
    assert verify_consistency(a, b, c, d, e) in (True, False)  # type: ignore[arg-type]
    r8 = root_of(8)
    proof = inclusion_proof(LEAVES, 3, 8)
    assert verify_inclusion(LEAVES[3], 3, 8, a, r8) is False or a == proof  # type: ignore[arg-type]
    assert not verify_inclusion(LEAVES[3], 3, 8, proof, a)  # type: ignore[arg-type]
    assert not verify_consistency(5, 8, root_of(5), r8, a)  # type: ignore[arg-type]


def test_bool_sizes_are_not_ints() -> None:
    assert verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])
    assert not verify_inclusion(LEAVES[0], False, True, [], LEAVES[0])


class NoSlices(Sequence[bytes]):
    """A sequence that refuses slicing, to prove the generators work on index ranges."""

    def __init__(self, items: list[bytes]) -> None:
        self._items = items
        self.reads = 0

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, i: int) -> bytes: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[bytes]: ...
    def __getitem__(self, i: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(i, slice):
            raise AssertionError("generator copied a slice")
        self.reads += 1
        return self._items[i]

    def __iter__(self) -> Iterator[bytes]:
        raise AssertionError("generator iterated the whole sequence")


def test_generators_read_each_leaf_at_most_once_and_never_slice() -> None:
    seq = NoSlices(LEAVES[:300])
    assert root(seq) == root_of(300)
    assert seq.reads == 300
    seq.reads = 0
    assert inclusion_proof(seq, 123, 250) == inclusion_proof(LEAVES, 123, 250)
    assert seq.reads <= 250
    seq.reads = 0
    assert consistency_proof(seq, 77, 299) == consistency_proof(LEAVES, 77, 299)
    assert seq.reads <= 299


@pytest.mark.slow
def test_million_leaf_proofs_verify() -> None:
    # Correctness at scale only; timings live in bench/, never in tests.
    n = 1_000_000
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(n)]
    big_root = root(leaves)
    proof = inclusion_proof(leaves, 765_432)
    assert verify_inclusion(leaves[765_432], 765_432, n, proof, big_root)
    cproof = consistency_proof(leaves, 654_321)
    assert verify_consistency(654_321, n, root(leaves[:654_321]), big_root, cproof)
