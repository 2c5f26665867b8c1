"""The fingerprint index: every item's eight PDQ variants in a FAISS binary index.

Each item contributes eight entries (its dihedral variants), so a query with one image's
plain fingerprint also finds flipped and rotated copies. The index is a derivative: it is
persisted under ``derived/index/``, extended incrementally after each ingest, and rebuilt from
the catalogue whenever it does not match it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from dalil.catalog.db import Db
from dalil.media.pdq import DIHEDRAL_NAMES

# Dalil parallelises with processes; FAISS's own OpenMP threads only contend with them.
faiss.omp_set_num_threads(1)

CODE_BYTES = 32
VARIANTS = len(DIHEDRAL_NAMES)
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Hit:
    item: str  # sha256
    distance: int
    variant: (
        str  # which of the item's variants matched (``original`` for an exact-orientation copy)
    )


def _new_faiss() -> Any:
    return faiss.IndexBinaryFlat(CODE_BYTES * 8)


class FingerprintIndex:
    """Items (by sha256) and their PDQ variants, searchable by Hamming distance."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.quality: list[int] = []
        self._position: dict[str, int] = {}
        self._blocks: list[bytes] = []  # each item's eight variants, for direct distances
        self._faiss = _new_faiss()

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, sha256: object) -> bool:
        return sha256 in self._position

    def add(self, items: list[str], variants: list[bytes], quality: list[int]) -> None:
        """Add items; ``variants[i]`` is item i's 8 x 32-byte variant block."""
        fresh = [i for i, sha in enumerate(items) if sha not in self._position]
        if not fresh:
            return
        codes = np.frombuffer(b"".join(variants[i] for i in fresh), dtype=np.uint8)
        self._faiss.add(codes.reshape(-1, CODE_BYTES))
        for i in fresh:
            self._position[items[i]] = len(self.items)
            self.items.append(items[i])
            self.quality.append(quality[i])
            self._blocks.append(variants[i])

    def position(self, sha256: str) -> int:
        return self._position[sha256]

    def distance(self, code: bytes, sha256: str) -> Hit:
        """The distance from ``code`` to an item's nearest variant."""
        block = np.frombuffer(self._blocks[self._position[sha256]], dtype=np.uint8)
        query = np.frombuffer(code, dtype=np.uint8)
        diffs = np.unpackbits(block.reshape(VARIANTS, CODE_BYTES) ^ query, axis=1).sum(axis=1)
        best = int(np.argmin(diffs))
        return Hit(sha256, int(diffs[best]), DIHEDRAL_NAMES[best])

    def search(self, code: bytes, radius: int) -> list[Hit]:
        """Items with a variant within ``radius`` of ``code`` (best variant per item)."""
        return self.search_many([code], radius)[0]

    def search_many(self, codes: list[bytes], radius: int) -> list[list[Hit]]:
        if not self.items or not codes:
            return [[] for _ in codes]
        query = np.frombuffer(b"".join(codes), dtype=np.uint8).reshape(-1, CODE_BYTES)
        lims, distances, labels = self._faiss.range_search(query, radius + 1)
        out: list[list[Hit]] = []
        for q in range(len(codes)):
            best: dict[int, tuple[int, int]] = {}
            for d, label in zip(
                distances[lims[q] : lims[q + 1]], labels[lims[q] : lims[q + 1]], strict=True
            ):
                item, variant = divmod(int(label), VARIANTS)
                if item not in best or d < best[item][0]:
                    best[item] = (int(d), variant)
            out.append(
                sorted(
                    (Hit(self.items[i], d, DIHEDRAL_NAMES[v]) for i, (d, v) in best.items()),
                    key=lambda h: (h.distance, h.item),
                )
            )
        return out

    def nearest(self, code: bytes, k: int) -> list[Hit]:
        """The ``k`` nearest items (best variant each), however far."""
        if not self.items:
            return []
        query = np.frombuffer(code, dtype=np.uint8).reshape(1, CODE_BYTES)
        want = min(len(self.items) * VARIANTS, (k + 1) * VARIANTS)
        distances, labels = self._faiss.search(query, want)
        best: dict[int, tuple[int, int]] = {}
        for d, label in zip(distances[0], labels[0], strict=True):
            if label < 0:
                continue
            item, variant = divmod(int(label), VARIANTS)
            if item not in best or d < best[item][0]:
                best[item] = (int(d), variant)
        hits = sorted(
            (Hit(self.items[i], d, DIHEDRAL_NAMES[v]) for i, (d, v) in best.items()),
            key=lambda h: (h.distance, h.item),
        )
        return hits[: k + 1]

    # -- persistence ------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp_index = folder / "pdq.faiss.tmp"
        faiss.write_index_binary(self._faiss, str(tmp_index))
        tmp_items = folder / "pdq.items.tmp"
        tmp_items.write_text(
            "".join(f"{sha} {q}\n" for sha, q in zip(self.items, self.quality, strict=True))
        )
        os.replace(tmp_index, folder / "pdq.faiss")
        os.replace(tmp_items, folder / "pdq.items")

    @classmethod
    def load(cls, folder: Path) -> FingerprintIndex | None:
        try:
            lines = (folder / "pdq.items").read_text().splitlines()
            raw = faiss.read_index_binary(str(folder / "pdq.faiss"))
        except (OSError, RuntimeError):
            return None
        if raw.ntotal != len(lines) * VARIANTS:
            return None
        index = cls()
        index._faiss = raw
        codes = raw.reconstruct_n(0, raw.ntotal).reshape(-1, VARIANTS * CODE_BYTES)
        for line, block in zip(lines, codes, strict=True):
            sha, quality = line.split()
            index._position[sha] = len(index.items)
            index.items.append(sha)
            index.quality.append(int(quality))
            index._blocks.append(block.tobytes())
        return index


def fingerprint_rows(
    conn: Db, only: list[str] | None = None
) -> tuple[list[str], list[bytes], list[int]]:
    """(items, variant blocks, qualities) of catalogued PDQ fingerprints."""
    sql = (
        "SELECT sha256, variants, quality FROM fingerprints"
        " WHERE algorithm = 'pdq' AND variants IS NOT NULL"
    )
    rows = conn.execute(sql + " ORDER BY sha256").fetchall()
    if only is not None:
        wanted = set(only)
        rows = [r for r in rows if r[0] in wanted]
    return [r[0] for r in rows], [bytes(r[1]) for r in rows], [int(r[2]) for r in rows]


def open_index(conn: Db, folder: Path) -> FingerprintIndex:
    """The persisted index, extended with any catalogued item it lacks (or rebuilt)."""
    index = FingerprintIndex.load(folder) or FingerprintIndex()
    items, variants, quality = fingerprint_rows(conn)
    known = set(items)
    if any(sha not in known for sha in index.items):
        index = FingerprintIndex()  # it knows items the catalogue does not: rebuild
    before = len(index)
    index.add(items, variants, quality)
    if len(index) != before or not (folder / "pdq.faiss").exists():
        index.save(folder)
    return index
