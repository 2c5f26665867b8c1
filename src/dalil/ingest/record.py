"""Catalogue and ledger writes for ingest results, batched in transactions.

Only the main process writes. Each batch is one transaction holding the catalogue rows and the
ledger events that record them, so a crash leaves either both or neither.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.ingest.paths import describe
from dalil.ingest.worker import THUMBNAIL_KIND, ItemResult
from dalil.ledger.log import Ledger


@dataclass(slots=True)
class Tally:
    """What one ingest run did, for its report."""

    files_seen: int = 0
    bytes_seen: int = 0
    items_new: int = 0
    items_known: int = 0
    occurrences_new: int = 0
    unreadable: list[dict[str, str]] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    new_items: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Recorder:
    conn: Db
    ledger: Ledger
    actor: str
    acquisition_id: int
    acquisition_label: str
    source_label: str
    tally: Tally = field(default_factory=Tally)

    def record_skipped(self, rel_path: bytes, kind: str, reason: str) -> None:
        """Record an entry with no content to store (link, FIFO, unreadable file …)."""
        entry = {**describe(rel_path), "kind": kind, "reason": reason}
        if kind == "unreadable":
            self.tally.unreadable.append({**describe(rel_path), "reason": reason})
        else:
            self.tally.skipped.append(entry)
        known = self.conn.execute(
            "SELECT 1 FROM skipped_entries WHERE acquisition_id = ? AND path = ? AND kind = ?",
            (self.acquisition_id, rel_path, kind),
        ).fetchone()
        if known is None:
            self.ledger.append(
                self.actor,
                "entry.skipped",
                f"acquisition:{self.acquisition_label}",
                entry,
                {**entry, "acquisition": self.acquisition_label},
            )

    def write(self, results: list[ItemResult]) -> None:
        """Write one batch of results in one transaction."""
        with atomic(self.conn):
            for result in results:
                self._write_one(result)

    def _write_one(self, result: ItemResult) -> None:
        for path, kind, reason in result.skipped:
            self.record_skipped(path, kind, reason)
        if result.error is not None or result.sha256 is None:
            self.record_skipped(result.rel_path, "unreadable", result.error or "unreadable")
            return
        self.tally.files_seen += 1
        self.tally.bytes_seen += result.size
        digest = result.sha256
        exists = self.conn.execute("SELECT 1 FROM items WHERE sha256 = ?", (digest,)).fetchone()
        if exists is None and result.known:
            # The worker saw the item in the catalogue, so it must still be there.
            raise RuntimeError(f"catalogue lost item {digest} during ingest")
        if exists is None:
            self._new_item(result)
            return
        self.tally.items_known += 1
        known = self.conn.execute(
            "SELECT 1 FROM occurrences WHERE source_label = ? AND path = ? AND sha256 = ?",
            (self.source_label, result.rel_path, digest),
        ).fetchone()
        if known is None:
            self.tally.occurrences_new += 1
            occurrence = self._occurrence(result)
            self.ledger.append(
                self.actor,
                "occurrence.added",
                f"sha256:{digest}",
                {"sha256": digest, **_public(occurrence)},
                {"sha256": digest, "occurrence": occurrence},
            )

    def _occurrence(self, result: ItemResult) -> dict[str, Any]:
        """Where the item was found, in full (the payload of its event)."""
        return {
            "acquisition": self.acquisition_label,
            "source": self.source_label,
            **describe(result.rel_path),
            "size": result.size,
            "mtime_ns": result.mtime_ns,
            "ctime_ns": result.ctime_ns,
            "atime_ns": result.atime_ns,
            "mode": result.mode,
        }

    def _new_item(self, result: ItemResult) -> None:
        digest = result.sha256
        assert digest is not None
        occurrence = self._occurrence(result)
        payload: dict[str, Any] = {
            "sha256": digest,
            "size": result.size,
            "media_type": result.media_type,
            "occurrence": occurrence,
            "flags": dict(sorted(result.flags.items())),
            "metadata": result.metadata,
            "fingerprint": None,
            "derivatives": [],
        }
        if result.pdq is not None:
            payload["fingerprint"] = {
                "algorithm": "pdq",
                "value": result.pdq[0],
                "quality": result.pdq[1],
                "variants": None
                if result.pdq_variants is None
                else base64.b64encode(result.pdq_variants).decode("ascii"),
            }
        if result.thumbnail is not None:
            payload["derivatives"].append(
                {"kind": THUMBNAIL_KIND, "media_type": "image/jpeg", **result.thumbnail}
            )
        self.tally.items_new += 1
        self.tally.new_items.append(digest)
        self.tally.occurrences_new += 1
        self.ledger.append(
            self.actor,
            "item.ingested",
            f"sha256:{digest}",
            {
                "sha256": digest,
                "size": result.size,
                "media_type": result.media_type,
                "flags": sorted(result.flags),
                "first_occurrence": _public(occurrence),
            },
            payload,
        )
        if result.flags:
            self.tally.flagged.append(
                {
                    "sha256": digest,
                    **describe(result.rel_path),
                    "flags": sorted(result.flags),
                    "reasons": dict(sorted(result.flags.items())),
                }
            )


def _public(occurrence: dict[str, Any]) -> dict[str, Any]:
    """What an event shows of a place found (its payload holds the file-system details)."""
    keep = ("acquisition", "source", "path", "path_hex", "size", "mtime_ns")
    return {k: occurrence[k] for k in keep if k in occurrence}
