"""Candidates by keypoint votes: a FAISS index of a sample of every item's ORB descriptors.

PDQ's nearest neighbours make a poor short list for heavy crops, small rotations and
screenshots: such a copy is as far from its original as from anything else. Local features
survive those changes, so each item also puts :data:`SAMPLE` of its ORB descriptors (spread
over all pyramid levels) into one binary index. A query image looks up each of its own
descriptors; every indexed descriptor within :data:`VOTE_DISTANCE` bits and clearly nearer
than the second-nearest owner (a ratio test) is a vote for the item that owns it. Items with
the most votes are the candidates that geometric verification then checks — votes nominate,
they never link.

Below :data:`IVF_FROM` descriptors the index is exact (``IndexBinaryFlat``); above, it is an
inverted-file index (``IndexBinaryIVF``) trained on the descriptors present when it is built,
which keeps queries at a few milliseconds for millions of descriptors (about 2 KB per item).
Like the fingerprint index it is a derivative: persisted under ``derived/index/``, extended
after each ingest, rebuilt when it disagrees with the catalogue.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from dalil.similar import geometry

SAMPLE = 64
"""Descriptors indexed per item (a strided sample of its ORB keypoints)."""

VOTE_DISTANCE = 56
"""Largest Hamming distance (of 256 bits) at which a descriptor votes."""

RATIO = 0.85
"""A vote counts only if the nearest owner is this much nearer than the next owner."""

MIN_VOTES = 8
"""Fewer votes than this never make an item a candidate. Measured on the benchmark's labelled
set (66 originals): crops of 20-40 %, rotations of 5-10 degrees, captions and phone screenshots
collected 13 votes or more for their original (median 26-50); unrelated images 7 or fewer in
99 % of cases. Below 8, pictures of different cards on one printed form nominate each other
(3-7 votes) and cost a geometric check each for nothing."""

LEADER_VOTES, LEADER_LEAD = 4, 1.6
"""A query (``dalil similar``, not ingest) also checks the most-voted item below
:data:`MIN_VOTES` when it has at least 4 votes and 1.6 times the runner-up's: a picture with
little texture, cut by a caption band, gives its original only 4-7 votes (set v3: 5 against
3 for the next), and one more geometric check costs about a millisecond."""

IVF_FROM = 20_000
"""From this many indexed descriptors on (about 300 items), an inverted-file index replaces the
exact one: an exact search costs O(N) per query (15 ms at 300 items, 100 ms at 2,000), the
inverted file a few milliseconds. Measured on the benchmark's copies, the votes an original
collects through it are as many as through the exact index (crops, rotations, screenshots:
12 or more)."""

_BITS = 256
_NPROBE = 8

U8 = npt.NDArray[np.uint8]
Features = Callable[[str], "geometry.Features | None"]


def sample(descriptors: U8, size: int = SAMPLE) -> U8:
    """A deterministic sample of ``size`` descriptors spread over the whole list (ORB lists
    keypoints pyramid level by level, so a stride keeps every scale)."""
    n = int(descriptors.shape[0])
    if n <= size:
        return np.ascontiguousarray(descriptors, dtype=np.uint8)
    picks = np.linspace(0, n - 1, size).round().astype(np.int64)
    return np.ascontiguousarray(descriptors[picks], dtype=np.uint8)


def _flat() -> Any:
    return faiss.IndexBinaryFlat(_BITS)


def _lists(n: int) -> int:
    return int(2 ** round(np.log2(max(64.0, 4 * np.sqrt(n)))))


TRAIN_PER_LIST = 40
"""Descriptors per inverted list the index is trained on (a fixed random sample; faiss wants
39 at least). Measured on 2,000 camera photographs (128,000 descriptors, 1,024 lists): the
nearest owner of a noisy descriptor is found as often as with every descriptor trained on
(95.3 % against 95.6 % of what the exact index finds), and training takes 2.0 s, not 6.0 s."""


def _ivf(training: U8) -> Any:
    lists = _lists(len(training))
    quantizer = faiss.IndexBinaryFlat(_BITS)
    index = faiss.IndexBinaryIVF(quantizer, _BITS, lists)  # keeps a reference to quantizer
    most = TRAIN_PER_LIST * lists
    if len(training) > most:
        picks = np.random.default_rng(0).choice(len(training), most, replace=False)
        training = training[np.sort(picks)]
    # Training runs alone (before any matching): it may use every core the process has.
    faiss.omp_set_num_threads(max(1, len(os.sched_getaffinity(0))))
    try:
        index.train(training)
    finally:
        faiss.omp_set_num_threads(1)
    index.nprobe = _NPROBE
    return index


class KeypointIndex:
    """Sampled ORB descriptors of items (by sha256), searchable for votes."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._position: dict[str, int] = {}
        self._owners = np.zeros(0, dtype=np.int64)
        self._codes: list[U8] = []  # kept for an exact → IVF rebuild
        self._faiss = _flat()

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, sha256: object) -> bool:
        return sha256 in self._position

    @property
    def descriptors(self) -> int:
        return int(self._owners.shape[0])

    def add(self, entries: Iterable[tuple[str, U8]]) -> None:
        """Add items with their descriptors (sampled here); items already present are skipped."""
        codes: list[U8] = []
        owners: list[npt.NDArray[np.int64]] = []
        for sha, descriptors in entries:
            if sha in self._position:
                continue
            position = len(self.items)
            self._position[sha] = position
            self.items.append(sha)
            picked = sample(descriptors)
            if len(picked):
                codes.append(picked)
                owners.append(np.full(len(picked), position, dtype=np.int64))
        if not codes:
            return
        block = np.concatenate(codes)
        self._codes.append(block)
        self._owners = np.concatenate([self._owners, *owners])
        if isinstance(self._faiss, faiss.IndexBinaryFlat) and self.descriptors >= IVF_FROM:
            everything = np.concatenate(self._codes)
            self._faiss = _ivf(everything)
            self._faiss.add(everything)
            self._codes = [everything]
        else:
            self._faiss.add(block)

    def votes(self, descriptors: U8, *, exclude: str | None = None) -> Counter[str]:
        """Votes per item for an image with these (all of its) ORB descriptors."""
        out: Counter[str] = Counter()
        if not self.descriptors or descriptors.shape[0] == 0:
            return out
        query = np.ascontiguousarray(descriptors, dtype=np.uint8)
        k = min(8, self.descriptors)
        distances, labels = self._faiss.search(query, k)
        # faiss lists each row's neighbours nearest first, -1 labels last (fewer than k found)
        owners = np.where(labels >= 0, self._owners[np.maximum(labels, 0)], -1)
        skip = self._position.get(exclude, -1) if exclude is not None else -1
        valid = (owners >= 0) & (owners != skip)
        found = valid.any(axis=1)
        first = valid.argmax(axis=1)
        rows = np.arange(len(owners))
        best_owner = owners[rows, first]
        best = distances[rows, first].astype(np.int64)
        # the next owner: the nearest valid neighbour owned by another item
        other = valid & (owners != best_owner[:, None])
        second = np.where(
            other.any(axis=1), distances[rows, other.argmax(axis=1)], _BITS + 1
        ).astype(np.int64)
        votes = found & (best <= VOTE_DISTANCE) & (best < RATIO * second)
        counts = np.bincount(best_owner[votes], minlength=len(self.items))
        for position in np.flatnonzero(counts).tolist():
            out[self.items[position]] = int(counts[position])
        return out

    def candidates(
        self, descriptors: U8, most: int, *, exclude: str | None = None, leader: bool = False
    ) -> list[tuple[str, int]]:
        """Up to ``most`` items with at least :data:`MIN_VOTES` votes, most votes first; with
        ``leader``, also the most-voted item when it leads clearly (:data:`LEADER_VOTES`)."""
        ranked = sorted(
            ((sha, n) for sha, n in self.votes(descriptors, exclude=exclude).items()),
            key=lambda x: (-x[1], x[0]),
        )
        chosen = [(sha, n) for sha, n in ranked if n >= MIN_VOTES][:most]
        if leader and not chosen and ranked:
            first, second = ranked[0][1], ranked[1][1] if len(ranked) > 1 else 0
            if first >= LEADER_VOTES and first >= LEADER_LEAD * second:
                chosen = ranked[:1]
        return chosen

    # -- persistence ------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp_index, tmp_items, tmp_owners = (
            folder / "orb.faiss.tmp",
            folder / "orb.items.tmp",
            folder / "orb.owners.tmp",
        )
        faiss.write_index_binary(self._faiss, str(tmp_index))
        tmp_items.write_text("".join(f"{sha}\n" for sha in self.items))
        tmp_owners.write_bytes(self._owners.astype("<i8").tobytes())
        os.replace(tmp_index, folder / "orb.faiss")
        os.replace(tmp_owners, folder / "orb.owners")
        os.replace(tmp_items, folder / "orb.items")

    @classmethod
    def load(cls, folder: Path) -> KeypointIndex | None:
        try:
            items = (folder / "orb.items").read_text().split()
            owners = np.frombuffer((folder / "orb.owners").read_bytes(), dtype="<i8")
            raw = faiss.read_index_binary(str(folder / "orb.faiss"))
        except (OSError, RuntimeError):
            return None
        if raw.ntotal != len(owners) or (len(owners) and int(owners.max()) >= len(items)):
            return None
        index = cls()
        index._faiss = raw
        if isinstance(raw, faiss.IndexBinaryIVF):
            if _lists(raw.ntotal) >= 4 * raw.nlist:
                return None  # grown 16-fold since it was trained: rebuild and retrain
            raw.nprobe = _NPROBE
        elif raw.ntotal:
            index._codes = [raw.reconstruct_n(0, raw.ntotal)]
        index._owners = owners.astype(np.int64)
        index.items = items
        index._position = {sha: i for i, sha in enumerate(items)}
        return index


def open_keypoint_index(items: list[str], features: Features, folder: Path) -> KeypointIndex:
    """The persisted index, extended with the ``items`` (all catalogued images) it lacks, or
    rebuilt when it knows an item the catalogue does not."""
    index = KeypointIndex.load(folder) or KeypointIndex()
    known = set(items)
    if any(sha not in known for sha in index.items):
        index = KeypointIndex()
    before = len(index)

    def fresh() -> Iterable[tuple[str, U8]]:
        for sha in items:
            if sha in index:
                continue
            found = features(sha)
            yield sha, (found.descriptors if found is not None else np.zeros((0, 32), np.uint8))

    index.add(fresh())
    if len(index) != before or not (folder / "orb.faiss").exists():
        index.save(folder)
    return index
