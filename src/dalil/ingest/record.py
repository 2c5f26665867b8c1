"""Catalogue and ledger writes for ingest results, batched in transactions.

Only the main process writes. Each batch is one transaction holding the catalogue rows and the
ledger events that record them, so a crash leaves either both or neither.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from dalil.catalog import atomic
from dalil.ingest.paths import describe, display
from dalil.ingest.worker import THUMBNAIL_KIND, ItemResult
from dalil.ledger.log import Ledger
from dalil.timeutil import utc_now


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
    conn: sqlite3.Connection
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
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO skipped_entries (acquisition_id, path, path_text, kind, reason)"
            " VALUES (?, ?, ?, ?, ?)",
            (self.acquisition_id, rel_path, display(rel_path), kind, reason),
        )
        if cur.rowcount:
            self.ledger.append(
                self.actor,
                "entry.skipped",
                f"acquisition:{self.acquisition_label}",
                entry,
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
        occurrence = self._occurrence(result)
        if exists is None and result.known:
            # The worker saw the item in the catalogue, so it must still be there.
            raise RuntimeError(f"catalogue lost item {digest} during ingest")
        if exists is None:
            self._new_item(result, occurrence)
            return
        self.tally.items_known += 1
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO occurrences (sha256, acquisition_id, source_label, path,"
            " path_text, size, mtime_ns, ctime_ns, atime_ns, mode)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self._occurrence_row(result),
        )
        if cur.rowcount:
            self.tally.occurrences_new += 1
            self.ledger.append(
                self.actor,
                "occurrence.added",
                f"sha256:{digest}",
                {"sha256": digest, **occurrence},
            )

    def _occurrence(self, result: ItemResult) -> dict[str, Any]:
        return {
            "acquisition": self.acquisition_label,
            "source": self.source_label,
            **describe(result.rel_path),
            "size": result.size,
            "mtime_ns": result.mtime_ns,
        }

    def _occurrence_row(self, result: ItemResult) -> tuple[Any, ...]:
        return (
            result.sha256,
            self.acquisition_id,
            self.source_label,
            result.rel_path,
            display(result.rel_path),
            result.size,
            result.mtime_ns,
            result.ctime_ns,
            result.atime_ns,
            result.mode,
        )

    def _new_item(self, result: ItemResult, occurrence: dict[str, Any]) -> None:
        digest = result.sha256
        assert digest is not None
        now = utc_now()
        self.conn.execute(
            "INSERT INTO items (sha256, size, media_type, acquisition_id, ingested_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (digest, result.size, result.media_type, self.acquisition_id, now),
        )
        self.conn.execute(
            "INSERT INTO occurrences (sha256, acquisition_id, source_label, path,"
            " path_text, size, mtime_ns, ctime_ns, atime_ns, mode)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self._occurrence_row(result),
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
                "first_occurrence": occurrence,
            },
        )
        if result.flags:
            self.conn.executemany(
                "INSERT INTO item_flags (sha256, flag, reason) VALUES (?, ?, ?)",
                [(digest, flag, reason) for flag, reason in sorted(result.flags.items())],
            )
            self.ledger.append(
                self.actor,
                "item.flagged",
                f"sha256:{digest}",
                {"sha256": digest, "flags": dict(sorted(result.flags.items()))},
            )
            self.tally.flagged.append(
                {
                    "sha256": digest,
                    **describe(result.rel_path),
                    "flags": sorted(result.flags),
                    "reasons": dict(sorted(result.flags.items())),
                }
            )
        if result.metadata is not None:
            meta = result.metadata
            self.conn.execute(
                "INSERT INTO metadata (sha256, camera_make, camera_model, camera_serial, lens,"
                " captured_at, gps_lat, gps_lon, gps_alt, orientation, software, width, height,"
                " raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    digest,
                    meta["camera_make"],
                    meta["camera_model"],
                    meta["camera_serial"],
                    meta["lens"],
                    meta["captured_at"],
                    meta["gps_lat"],
                    meta["gps_lon"],
                    meta["gps_alt"],
                    meta["orientation"],
                    meta["software"],
                    meta["width"],
                    meta["height"],
                    json.dumps(meta["raw"], ensure_ascii=False, sort_keys=True),
                ),
            )
        if result.pdq is not None:
            self.conn.execute(
                "INSERT INTO fingerprints (sha256, algorithm, value, quality, variants)"
                " VALUES (?, ?, ?, ?, ?)",
                (digest, "pdq", result.pdq[0], result.pdq[1], result.pdq_variants),
            )
        if result.thumbnail is not None:
            thumb = result.thumbnail
            self.conn.execute(
                "INSERT OR REPLACE INTO derivatives (sha256, kind, path, media_type, width,"
                " height, recipe, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    digest,
                    THUMBNAIL_KIND,
                    thumb["path"],
                    "image/jpeg",
                    thumb["width"],
                    thumb["height"],
                    json.dumps(thumb["recipe"], sort_keys=True),
                    utc_now(),
                ),
            )
