"""Merkle tree core of the Dalil ledger, following Certificate Transparency (RFC 9162 §2.1).

All tree functions take *leaf hashes* (``leaf_hash(data)``), never raw leaf data.

* ``MTH({})        = SHA-256()``
* ``MTH({d0})      = SHA-256(0x00 || d0)``                       -> :func:`leaf_hash`
* ``MTH(D[n])      = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` -> :func:`node_hash`,
  where ``k`` is the largest power of two strictly smaller than ``n``.

Generators work on index ranges of the caller's sequence (no slicing copies) and hash
each leaf at most once per call, so they are O(n) time and O(log n) extra memory.
Verifiers implement the RFC 9162 §2.1.3.2 / §2.1.4.2 algorithms and never raise:
any malformed input simply yields ``False``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "RootAccumulator",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256

EMPTY_ROOT: bytes = _sha256(b"").digest()
"""Merkle tree hash of the empty tree: SHA-256 of the empty string."""


def leaf_hash(data: bytes) -> bytes:
    """Return ``SHA-256(0x00 || data)``."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return ``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (requires ``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_root(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH of ``leaves[lo:hi]`` without copying: O(hi - lo) hashes, O(log n) memory.

    Leaves are folded into a stack of perfect subtrees (one per set bit of the count);
    folding that stack right-to-left yields exactly the RFC's left-balanced split.
    """
    if hi <= lo:
        return EMPTY_ROOT
    sha = _sha256
    prefix = _NODE_PREFIX
    stack: list[bytes] = []
    pop = stack.pop
    push = stack.append
    for count in range(hi - lo):
        h = leaves[lo + count]
        while count & 1:
            h = sha(prefix + pop() + h).digest()
            count >>= 1
        push(h)
    acc = pop()
    while stack:
        acc = sha(prefix + pop() + acc).digest()
    return acc


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Merkle tree hash of all ``len(leaf_hashes)`` leaves (inputs are leaf hashes)."""
    return _range_root(leaf_hashes, 0, len(leaf_hashes))


class RootAccumulator:
    """Incremental Merkle tree hash with O(log n) memory.

    Keeps the roots of the perfect subtrees that make up the current tree (one per set
    bit of ``size``, largest first).  ``root()`` may be called at any time and equals
    :func:`root` of all leaves appended so far.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf hash (``leaf_hash(data)``, 32 bytes)."""
        if not isinstance(leaf_hash, bytes) or len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
        h = leaf_hash
        count = self._size
        stack = self._stack
        while count & 1:
            h = _sha256(_NODE_PREFIX + stack.pop() + h).digest()
            count >>= 1
        stack.append(h)
        self._size += 1

    def root(self) -> bytes:
        """Merkle tree hash of the leaves appended so far (``EMPTY_ROOT`` when none)."""
        stack = self._stack
        if not stack:
            return EMPTY_ROOT
        acc = stack[-1]
        for i in range(len(stack) - 2, -1, -1):
            acc = _sha256(_NODE_PREFIX + stack[i] + acc).digest()
        return acc

    def state(self) -> tuple[int, bytes]:
        """(size, the subtree roots concatenated): enough to go on appending later."""
        return self._size, b"".join(self._stack)

    @classmethod
    def from_state(cls, size: int, stack: bytes) -> RootAccumulator:
        acc = cls()
        hashes = [stack[i : i + HASH_SIZE] for i in range(0, len(stack), HASH_SIZE)]
        if len(hashes) != bin(size).count("1") or len(stack) % HASH_SIZE:
            raise ValueError("not a Merkle frontier of that size")
        acc._size, acc._stack = size, hashes
        return acc

    def __repr__(self) -> str:
        return f"RootAccumulator(size={self._size}, root={self.root().hex()})"


def inclusion_proof(
    leaf_hashes: Sequence[bytes], index: int, size: int | None = None
) -> list[bytes]:
    """Audit path ``PATH(index, D[0:size])`` (RFC 9162 §2.1.3.1), ordered leaf to root.

    ``size`` defaults to ``len(leaf_hashes)``.  Raises ``ValueError`` unless
    ``0 <= index < size <= len(leaf_hashes)``.
    """
    available = len(leaf_hashes)
    n = available if size is None else _check_int("size", size)
    _check_int("index", index)
    if not 0 < n <= available:
        raise ValueError(f"tree size {n} out of range: must be 1..{available}")
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} out of range for tree size {n}")
    top_down: list[bytes] = []
    lo, hi = 0, n
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            top_down.append(_range_root(leaf_hashes, mid, hi))
            hi = mid
        else:
            top_down.append(_range_root(leaf_hashes, lo, mid))
            lo = mid
    top_down.reverse()
    return top_down


def consistency_proof(
    leaf_hashes: Sequence[bytes], old_size: int, new_size: int | None = None
) -> list[bytes]:
    """Consistency proof ``PROOF(old_size, D[0:new_size])`` (RFC 9162 §2.1.4.1).

    ``new_size`` defaults to ``len(leaf_hashes)``.  Raises ``ValueError`` unless
    ``0 <= old_size <= new_size <= len(leaf_hashes)``.  The proof is empty when
    ``old_size == 0`` (the empty tree is a prefix of every tree) or
    ``old_size == new_size`` (the roots must simply be equal).
    """
    available = len(leaf_hashes)
    n = available if new_size is None else _check_int("new_size", new_size)
    m = _check_int("old_size", old_size)
    if not 0 <= n <= available:
        raise ValueError(f"new size {n} out of range: must be 0..{available}")
    if not 0 <= m <= n:
        raise ValueError(f"old size {m} out of range: must be 0..{n} (new size)")
    if m == 0 or m == n:
        return []
    # SUBPROOF(m, D[lo:hi], b), unrolled: `tail` collects the hashes appended on the way
    # down (they come out in reverse), the base case contributes the first element.
    tail: list[bytes] = []
    lo, hi, complete = 0, n, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            tail.append(_range_root(leaf_hashes, lo + k, hi))
            hi = lo + k
        else:
            tail.append(_range_root(leaf_hashes, lo, lo + k))
            lo += k
            m -= k
            complete = False
    proof = [] if complete else [_range_root(leaf_hashes, lo, hi)]
    proof.extend(reversed(tail))
    return proof


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _valid_path(proof: object) -> bool:
    return isinstance(proof, (list, tuple)) and all(_is_hash(p) for p in proof)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check an audit path (RFC 9162 §2.1.3.2).  Returns ``False`` on any bad input."""
    if not (_is_hash(leaf_hash) and _is_hash(root) and _valid_path(proof)):
        return False
    if not (_is_size(index) and _is_size(size)) or index >= size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(r, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check a consistency proof (RFC 9162 §2.1.4.2).  Returns ``False`` on any bad input.

    Edge cases (outside the RFC's ``0 < first < second`` algorithm):

    * ``old_size == new_size``: the proof must be empty and the roots equal;
    * ``old_size == 0``: the proof must be empty and ``old_root`` must be ``EMPTY_ROOT``
      (the empty tree is consistent with every tree; ``new_root`` cannot be checked).
    """
    if not (_is_hash(old_root) and _is_hash(new_root) and _valid_path(proof)):
        return False
    if not (_is_size(old_size) and _is_size(new_size)) or old_size > new_size:
        return False
    if old_size == new_size:
        return len(proof) == 0 and hmac.compare_digest(old_root, new_root)
    if old_size == 0:
        return len(proof) == 0 and hmac.compare_digest(old_root, EMPTY_ROOT)
    if len(proof) == 0:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # exact power of two: old root is a subtree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root)
