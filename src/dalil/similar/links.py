"""Find and record links between vault items (the expensive, incremental part).

Each item is matched against the index; every link found is stored in ``pair_checks`` with
its evidence (stage, PDQ distance and variant, keypoint inliers and matches, same camera and
seconds apart), so people can see why two images were grouped and recomputing clusters needs
no image work.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

import numpy as np

from dalil import faults
from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.ingest import decode
from dalil.ingest.worker import FEATURES_KIND
from dalil.media import pdq
from dalil.similar import FEATURES, geometry
from dalil.similar.allpairs import close_pairs
from dalil.similar.index import CODE_BYTES, FingerprintIndex, fingerprint_rows, open_index
from dalil.similar.keypoints import KeypointIndex, open_keypoint_index
from dalil.similar.matcher import Match, Matcher, Probe, Thresholds
from dalil.store import write_atomic
from dalil.vault import Vault
from dalil.workers import executor

Progress = Callable[[int, int], None]


def index_folder(vault: Vault) -> Path:
    return vault.derived_dir / "index"


def open_indexes(
    vault: Vault, conn: Db, features: VaultFeatures | None = None
) -> tuple[FingerprintIndex, KeypointIndex]:
    """Both indexes of the vault, extended with new items (or rebuilt) and saved."""
    folder = index_folder(vault)
    index = open_index(conn, folder)
    keypoints = open_keypoint_index(index.items, features or VaultFeatures(vault), folder)
    return index, keypoints


class VaultFeatures:
    """Local features of vault items, computed on first use and cached as derivatives."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._memory: dict[str, geometry.Features | None] = {}

    def __call__(self, sha256: str) -> geometry.Features | None:
        if sha256 in self._memory:
            return self._memory[sha256]
        path = self.vault.derived_path(FEATURES_KIND, sha256, ".orb")
        found: geometry.Features | None = None
        if path.is_file():
            try:
                found = geometry.Features.from_bytes(path.read_bytes())
            except ValueError:  # written by another version: recompute below
                found = None
        if found is None:
            image = decode.reduced_image(self.vault.store().local_path(sha256), geometry.WORK_SIDE)
            if image is not None:
                found = geometry.extract(image, max_features=FEATURES)
                write_atomic(path, found.to_bytes(), self.vault.tmp_dir, fsync=False)
        self._memory[sha256] = found
        return found


@dataclass(frozen=True, slots=True)
class Shot:
    serial: str
    seconds: float


def _shots(conn: Db) -> dict[str, Shot]:
    out: dict[str, Shot] = {}
    for sha, serial, captured in conn.execute(
        "SELECT sha256, camera_serial, captured_at FROM metadata"
        " WHERE camera_serial IS NOT NULL AND captured_at IS NOT NULL"
    ):
        try:
            when = datetime.fromisoformat(str(captured)[:19])
        except ValueError:
            continue
        out[sha] = Shot(str(serial), when.timestamp())
    return out


def _same_camera_neighbours(shots: dict[str, Shot], window: int, most: int) -> dict[str, list[str]]:
    """For each shot, the ``most`` shots by the same body nearest in time within ``window``."""
    by_serial: dict[str, list[tuple[float, str]]] = {}
    for sha, shot in shots.items():
        by_serial.setdefault(shot.serial, []).append((shot.seconds, sha))
    out: dict[str, list[str]] = {}
    for series in by_serial.values():
        series.sort()
        for i, (seconds, sha) in enumerate(series):
            lo, hi = max(0, i - most), min(len(series), i + most + 1)
            near = [
                (abs(t - seconds), other)
                for t, other in series[lo:hi]
                if other != sha and abs(t - seconds) <= window
            ]
            out[sha] = [other for _, other in sorted(near)[:most]]
    return out


def backfill_variants(vault: Vault, conn: Db, actor: str) -> int:
    """Compute the dihedral variants of fingerprints made before they were stored (0001)."""
    missing = [
        r[0]
        for r in conn.execute(
            "SELECT sha256 FROM fingerprints WHERE algorithm = 'pdq' AND variants IS NULL"
        )
    ]
    updates: dict[str, str] = {}
    for sha in missing:
        image = decode.reduced_image(vault.store().local_path(sha), vault.settings.thumbnail_size)
        if image is None:
            continue
        variants = pdq.dihedral_hashes(pdq.luma_from_image(image))
        block = b"".join(variants[n].hash for n in pdq.DIHEDRAL_NAMES)
        updates[sha] = base64.b64encode(block).decode("ascii")
    if updates:
        with atomic(conn):
            vault.ledger(conn).append(
                actor,
                "fingerprint.variants",
                "fingerprints",
                {"items": len(updates)},
                {"variants": updates},
            )
    return len(updates)


@dataclass(frozen=True, slots=True)
class _Chunk:
    vault: Vault
    probes: list[tuple[str, bytes, int, list[str]]]  # item, variants, quality, signalled


_WORKER_INDEX: dict[str, tuple[tuple[float, float], FingerprintIndex, KeypointIndex]] = {}


def _worker_indexes(vault: Vault) -> tuple[FingerprintIndex, KeypointIndex]:
    folder = index_folder(vault)
    stamp = ((folder / "pdq.faiss").stat().st_mtime, (folder / "orb.faiss").stat().st_mtime)
    cached = _WORKER_INDEX.get(str(folder))
    if cached is None or cached[0] != stamp:
        index, keypoints = FingerprintIndex.load(folder), KeypointIndex.load(folder)
        if index is None or keypoints is None:
            raise RuntimeError(f"the similarity indexes in {folder} are unreadable")
        cached = _WORKER_INDEX[str(folder)] = (stamp, index, keypoints)
    return cached[1], cached[2]


def _match_chunk(chunk: _Chunk) -> list[tuple[str, Match]]:
    """Match a chunk of items (runs in a worker process; reads only)."""
    index, keypoints = _worker_indexes(chunk.vault)
    matcher = Matcher(
        index,
        VaultFeatures(chunk.vault),
        Thresholds.from_settings(chunk.vault.settings),
        keypoints,
    )
    found: list[tuple[str, Match]] = []
    for sha, block, quality, signalled in chunk.probes:
        probe = Probe(block[:CODE_BYTES], quality, partial(matcher.features, sha))
        found.extend((sha, m) for m in matcher.match(probe, exclude=sha, extra=signalled))
    return found


def update_links(
    vault: Vault,
    conn: Db,
    actor: str,
    items: list[str] | None = None,
    *,
    progress: Progress | None = None,
    jobs: int = 0,
    ray: str | None = None,
) -> int:
    """Match ``items`` (default: all) against the whole vault; record every new link.

    Returns the number of new links. The index is extended (or rebuilt) first; matching runs
    in ``jobs`` processes (default: the vault's setting, else one per core).
    """
    backfill_variants(vault, conn, actor)
    open_indexes(vault, conn)  # extended and saved for the workers
    names, variants, quality = fingerprint_rows(conn, items)
    shots = _shots(conn)
    neighbours = _same_camera_neighbours(shots, vault.settings.similar_time_window, 2)
    matched = set(names)

    def signalled(sha: str) -> list[str]:
        # two shots matched in this run that are each other's neighbour: one check, not two
        return [
            other
            for other in neighbours.get(sha, [])
            if not (other < sha and other in matched and sha in neighbours.get(other, ()))
        ]

    probes = [
        (sha, block, q, signalled(sha))
        for sha, block, q in zip(names, variants, quality, strict=True)
    ]
    size = 16
    chunks = [_Chunk(vault, probes[i : i + size]) for i in range(0, len(probes), size)]
    workers = max(1, jobs or vault.settings.jobs or (os.cpu_count() or 1))
    results: Iterator[list[tuple[str, Match]]]
    pool = executor(workers, ray=ray) if (workers > 1 or ray) and len(chunks) > 1 else None
    results = pool.map(_match_chunk, chunks) if pool is not None else map(_match_chunk, chunks)
    checked = {(a, b) for a, b in conn.execute("SELECT a, b FROM pair_checks")}
    pending: list[dict[str, object]] = []
    try:
        for done, found in enumerate(results, 1):
            for sha, match in found:
                a, b = sorted((sha, match.item))
                if (a, b) in checked:
                    continue
                checked.add((a, b))
                pending.append(
                    _link(a, b, match.stage, match.distance, match.variant, shots)
                    | {"inliers": match.inliers, "matches": match.matches}
                )
            if progress is not None:
                progress(min(done * size, len(probes)), len(probes))
    finally:
        if pool is not None:
            pool.shutdown()
    faults.point("grouping.matched")
    _record_links(vault, conn, actor, pending, names)
    faults.point("grouping.recorded")
    return len(pending)


def _link(
    a: str, b: str, stage: str, distance: int | None, variant: str | None, shots: dict[str, Shot]
) -> dict[str, object]:
    return {
        "a": a,
        "b": b,
        "stage": stage,
        "linked": 1,
        "distance": distance,
        "variant": variant,
        "inliers": None,
        "matches": None,
        "signals": _signals(shots.get(a), shots.get(b)),
    }


def _record_links(
    vault: Vault,
    conn: Db,
    actor: str,
    links: list[dict[str, object]],
    matched: list[str],
) -> None:
    """One ``grouping.linked`` event: the links with their evidence, the items matched."""
    if not links and not matched:
        return
    with atomic(conn):
        vault.ledger(conn).append(
            actor,
            "grouping.linked",
            "clusters",
            {"links": len(links), "matched": len(matched)},
            {"links": links, "matched": matched},
        )


def pdq_links(vault: Vault, conn: Db, actor: str) -> int:
    """Link every pair of items whose fingerprints match (the first stage, for the whole vault
    at once, by multi-index hashing). Returns the number of new links."""
    names, blocks, quality = fingerprint_rows(conn)
    if len(names) < 2:
        return 0
    codes = np.frombuffer(b"".join(blocks), dtype=np.uint8).reshape(len(names), -1)
    pairs = close_pairs(codes, vault.settings.similar_threshold)
    good = np.asarray(quality) >= vault.settings.similar_min_quality
    shots = _shots(conn)
    checked = {(a, b) for a, b in conn.execute("SELECT a, b FROM pair_checks")}
    links: list[dict[str, object]] = []
    for i, j, d, v in zip(
        pairs.first.tolist(),
        pairs.second.tolist(),
        pairs.distance.tolist(),
        pairs.variant.tolist(),
        strict=True,
    ):
        if not (good[i] and good[j]):
            continue
        a, b = sorted((names[i], names[j]))
        if (a, b) in checked:
            continue
        links.append(_link(a, b, "pdq", d, pdq.DIHEDRAL_NAMES[v], shots))
    _record_links(vault, conn, actor, links, [])
    return len(links)


def unmatched_items(conn: Db) -> list[str]:
    """Fingerprinted items that never went through the two-stage match."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT f.sha256 FROM fingerprints f"
            " LEFT JOIN match_checks m ON m.sha256 = f.sha256"
            " WHERE f.algorithm = 'pdq' AND m.sha256 IS NULL ORDER BY f.sha256"
        )
    ]


def _signals(a: Shot | None, b: Shot | None) -> dict[str, object]:
    if a is None or b is None:
        return {"same_camera": False}
    same = a.serial == b.serial
    return {
        "same_camera": same,
        "seconds_apart": abs(a.seconds - b.seconds) if same else None,
    }
