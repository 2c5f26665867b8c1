"""Canonical byte encodings shared by the ledger and the standalone ``tools/verify_proof.py``.

The verification script duplicates these two functions on purpose (it must run without
Dalil installed); ``tests/ledger/test_verify_proof_script.py`` checks that both produce
identical bytes.  Changing either encoding is a format break: bump the version tags.
"""

from __future__ import annotations

import json
import re

__all__ = ["CHECKPOINT_TAG", "canonical_json", "checkpoint_message"]

CHECKPOINT_TAG = "dalil-checkpoint/1"
_ROOT_HEX = re.compile(r"[0-9a-f]{64}")


def canonical_json(obj: object) -> bytes:
    """Canonical JSON of ``obj``: sorted keys, no whitespace, raw UTF-8 (no ``\\u`` escapes).

    This is the exact leaf encoding of a ledger event; its leaf hash is
    ``merkle.leaf_hash(canonical_json(event))``.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def checkpoint_message(origin: str, size: int, root_hex: str, time: str) -> bytes:
    """The UTF-8 text signed for a checkpoint (tree head).

    ``"dalil-checkpoint/1\\n" + origin + "\\n" + size + "\\n" + root_hex + "\\n" + time + "\\n"``

    Raises ``ValueError`` when a field would make the message ambiguous: a newline in
    ``origin``/``time``, a negative size, or a root that is not 64 lowercase hex digits.
    """
    if "\n" in origin or "\n" in time:
        raise ValueError("checkpoint origin and time must not contain newlines")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"checkpoint size must be a non-negative int, got {size!r}")
    if not _ROOT_HEX.fullmatch(root_hex):
        raise ValueError("checkpoint root must be 64 lowercase hex digits")
    return f"{CHECKPOINT_TAG}\n{origin}\n{size}\n{root_hex}\n{time}\n".encode()
