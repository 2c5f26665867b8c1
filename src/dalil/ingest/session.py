"""The ingest session: one acquisition per run, assembled from the stage functions.

The session knows no interface. A CLI or web app passes a progress callback and reads the
returned :class:`IngestReport`. Killing the process at any moment loses nothing already
recorded: objects are published atomically, catalogue batches are transactions, and running
the same command again resumes the unfinished acquisition.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dalil import faults
from dalil.catalog import atomic
from dalil.errors import UsageError, VaultFull
from dalil.ingest.paths import display
from dalil.ingest.record import Recorder, Tally
from dalil.ingest.walk import FileEntry, ObjectEntry, SkippedEntry, walk, walk_buckets
from dalil.ingest.worker import (
    FileTask,
    ItemResult,
    MemberTask,
    ObjectTask,
    init_worker,
    run_task,
)
from dalil.s3store import S3Config
from dalil.vault import Vault
from dalil.workers import executor, ray_address

Task = FileTask | ObjectTask | MemberTask


@dataclass(frozen=True, slots=True)
class Progress:
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    current: str
    phase: str = "ingest"  # then "grouping": matching new items against the vault


ProgressCallback = Callable[[Progress], None]


@dataclass(slots=True)
class IngestReport:
    acquisition: str
    resumed: bool
    tally: Tally
    checkpoint: dict[str, Any]
    seconds: float
    acquisition_counts: dict[str, int] = field(default_factory=dict)
    clusters: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the user should know (imports)

    @property
    def exit_code(self) -> int:
        return 3 if self.tally.unreadable else 0

    def to_dict(self) -> dict[str, Any]:
        t = self.tally
        return {
            "acquisition": self.acquisition,
            "resumed": self.resumed,
            "files_seen": t.files_seen,
            "bytes_seen": t.bytes_seen,
            "items_new": t.items_new,
            "items_known": t.items_known,
            "occurrences_new": t.occurrences_new,
            "unreadable": t.unreadable,
            "flagged": t.flagged,
            "skipped": t.skipped,
            "checkpoint": self.checkpoint,
            "seconds": round(self.seconds, 3),
            "acquisition_counts": self.acquisition_counts,
            "clusters": self.clusters,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class IngestOptions:
    sources: list[Path]
    source_label: str
    actor: str
    note: str | None = None
    jobs: int = 0
    group: bool = True  # match new items against the vault afterwards (near-duplicates)
    ray: str | None = None  # run the per-file stages on this Ray cluster (dalil.raypool)
    buckets: tuple[S3Config, ...] = ()  # source buckets (S3), read with GETs only


BeforeClose = Callable[[Any, Any, str], None]
"""Called with (connection, ledger, acquisition label) in the transaction that closes the
acquisition, to record more about it (a court bundle's provenance) before it is closed."""


class IngestSession:
    """Run one ingest: walk, read/hash/store and describe in a pool, record in batches."""

    def __init__(
        self,
        vault: Vault,
        options: IngestOptions,
        progress: ProgressCallback | None = None,
        before_close: BeforeClose | None = None,
    ) -> None:
        self.vault = vault
        self.options = options
        self.progress = progress
        self.before_close = before_close
        jobs = options.jobs or vault.settings.jobs or (os.cpu_count() or 1)
        self.jobs = max(1, jobs)
        self.ray = ray_address(vault.settings, options.ray)

    def run(self) -> IngestReport:
        started = time.monotonic()
        sources = self._check_sources()
        if self.ray:
            from dalil.raypool import check_reachable

            check_reachable(self.ray)  # before anything is recorded
        with self.vault.writer_lock():
            _clean_tmp(self.vault.tmp_dir)
            conn = self.vault.connect()
            try:
                return self._run(conn, sources, started)
            finally:
                conn.close()

    def _check_sources(self) -> list[Path]:
        if not self.options.sources and not self.options.buckets:
            raise UsageError("nothing to ingest: give at least one file or folder")
        if not self.options.source_label.strip():
            raise UsageError("--from must say where the material came from")
        vault_root = os.path.realpath(self.vault.root)
        staging = os.path.realpath(self.vault.uploads_dir)
        for source in self.options.sources:
            if not os.path.lexists(source):
                raise UsageError(f"{source}: no such file or folder")
            real = os.path.realpath(source)
            uploaded = os.path.commonpath([real, staging]) == staging and real != staging
            if os.path.commonpath([real, vault_root]) in (real, vault_root) and not uploaded:
                raise UsageError(f"{source}: overlaps the vault itself; choose another source")
        return [Path(os.path.abspath(s)) for s in self.options.sources]

    def _run(self, conn: Any, sources: list[Path], started: float) -> IngestReport:
        ledger = self.vault.ledger(conn)
        acq_id, label, resumed = self._open_acquisition(conn, ledger, sources)
        recorder = Recorder(
            conn, ledger, self.options.actor, acq_id, label, self.options.source_label
        )
        entries = [*walk(sources), *walk_buckets(list(self.options.buckets))]
        files = [e for e in entries if isinstance(e, FileEntry | ObjectEntry)]
        with atomic(conn):
            for entry in entries:
                if isinstance(entry, SkippedEntry):
                    recorder.record_skipped(entry.rel_path, entry.kind, entry.reason)
        faults.point("ingest.walked")
        tasks: deque[Task] = deque(
            FileTask(f.abs_path, f.rel_path, f.size, f.mtime_ns, f.ctime_ns, f.atime_ns, f.mode)
            if isinstance(f, FileEntry)
            else ObjectTask(f.source, f.key, f.rel_path, f.size, f.mtime_ns, f.etag)
            for f in files
        )
        self._totals = [len(files), sum(f.size for f in files)]
        self._done = [0, 0]
        self._pump(tasks, recorder)
        report = self._close(conn, ledger, recorder, acq_id, label, resumed, started)
        faults.point("ingest.closed")
        if self.vault.settings.decode_device == "gpu":
            report.notes.append(_gpu_note())
        if self.options.group:
            report.clusters = self._group(conn, recorder.tally.new_items)
            signed = ledger.sign_tail()
            if signed is not None:
                report.checkpoint = {"size": signed.size, "root": signed.root, "time": signed.time}
        return report

    def _group(self, conn: Any, new_items: list[str]) -> dict[str, Any]:
        """Link the new items to near-duplicates and same-scene shots; rebuild clusters.

        Grouping is derived data: if it fails, the ingest (already signed) stands and the
        report says how to redo it.
        """
        from dalil.similar.links import update_links

        started = time.monotonic()

        def on_match(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress(Progress(done, total, 0, 0, "", "grouping"))

        # items of earlier runs that were to be grouped but never were (interrupted)
        earlier = [s for s in ungrouped(conn) if s not in set(new_items)]
        todo = new_items + earlier
        try:
            links = (
                update_links(
                    self.vault,
                    conn,
                    self.options.actor,
                    todo,
                    progress=on_match,
                    ray=self.ray,
                )
                if todo
                else 0
            )
            count = int(conn.execute("SELECT COUNT(*) FROM clusters").fetchone()[0])
        except Exception as exc:
            return {"error": f"{exc}; run 'dalil clusters recompute'"}
        return {
            "new_links": links,
            "clusters": count,
            "earlier_items_grouped": len(earlier),
            "seconds": round(time.monotonic() - started, 3),
        }

    # -- acquisition ------------------------------------------------------------------------

    def _open_acquisition(
        self, conn: Any, ledger: Any, sources: list[Path]
    ) -> tuple[int, str, bool]:
        named = [*map(str, sources), *(b.location.url for b in self.options.buckets)]
        sources_json = json.dumps(named, ensure_ascii=False)
        row = conn.execute(
            "SELECT id, label FROM acquisitions WHERE closed_at IS NULL AND source_label = ?"
            " AND sources = ? ORDER BY id DESC LIMIT 1",
            (self.options.source_label, sources_json),
        ).fetchone()
        with atomic(conn):
            if row is not None:
                ledger.append(
                    self.options.actor,
                    "acquisition.resumed",
                    f"acquisition:{row['label']}",
                    {"reason": "an earlier run of this acquisition did not finish"},
                )
                return int(row["id"]), str(row["label"]), True
            number = int(
                conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM acquisitions").fetchone()[0]
            )
            label = f"A{number:04d}"
            opened = {
                "from": self.options.source_label,
                "note": self.options.note,
                "sources": named,
                "grouping": self.options.group,
            }
            ledger.append(
                self.options.actor,
                "acquisition.opened",
                f"acquisition:{label}",
                opened,
                {"id": number, "label": label, **opened},
            )
            return number, label, False

    def _close(
        self,
        conn: Any,
        ledger: Any,
        recorder: Recorder,
        acq_id: int,
        label: str,
        resumed: bool,
        started: float,
    ) -> IngestReport:
        with atomic(conn):
            if self.before_close is not None:
                self.before_close(conn, ledger, label)
            counts = _acquisition_counts(conn, acq_id)
            ledger.append(
                self.options.actor,
                "acquisition.closed",
                f"acquisition:{label}",
                counts,
                {"label": label, "counts": counts},
            )
            checkpoint = ledger.try_checkpoint()
        return IngestReport(
            acquisition=label,
            resumed=resumed,
            tally=recorder.tally,
            checkpoint={}
            if checkpoint is None
            else {"size": checkpoint.size, "root": checkpoint.root, "time": checkpoint.time},
            seconds=time.monotonic() - started,
            acquisition_counts=counts,
        )

    # -- the pool ---------------------------------------------------------------------------

    def _pump(self, tasks: deque[Task], recorder: Recorder) -> None:
        batch: list[ItemResult] = []
        last_flush = time.monotonic()
        batch_size = self.vault.settings.batch_size
        settings = self.vault.settings

        def collect(results: Iterable[ItemResult]) -> None:
            nonlocal last_flush
            fatal = None
            archives = False
            for result in results:
                if result.fatal is not None:  # the vault's disk, not the source: stop
                    fatal = fatal or f"{display(result.rel_path)}: {result.fatal}"
                    continue
                batch.append(result)
                self._advance(result)
                for member_task in result.member_tasks:
                    archives = True
                    tasks.append(member_task)
                    self._totals[0] += len(member_task.members)
                    self._totals[1] += sum(m.size for m in member_task.members)
            if fatal or archives or len(batch) >= batch_size or time.monotonic() - last_flush > 1:
                recorder.write(batch)
                batch.clear()
                last_flush = time.monotonic()
                faults.point("ingest.batch-recorded")
                if archives:  # an archive is recorded, its members are not yet
                    faults.point("ingest.archive-recorded")
            if fatal:
                remedy = (
                    "make the object store reachable and writable (or, if it holds something"
                    " else under an original's name, run dalil verify)"
                    if self.vault.settings.store
                    else "free space on the vault's disk"
                )
                raise VaultFull(
                    f"{fatal}. Nothing of that file was recorded and nothing recorded before"
                    f" is lost: {remedy}, then run the same command again to finish the"
                    " acquisition"
                )

        if self.jobs == 1 and not self.ray:
            init_worker(str(self.vault.root), settings, self.options.group)
            while tasks:
                collect(run_task(tasks.popleft()))
        else:
            with executor(
                self.jobs,
                init_worker,
                (str(self.vault.root), settings, self.options.group),
                ray=self.ray,
            ) as pool:
                width = getattr(pool, "workers", self.jobs)
                in_flight: set[Future[list[ItemResult]]] = set()
                while tasks or in_flight:
                    while tasks and len(in_flight) < width * 3:
                        in_flight.add(pool.submit(run_task, tasks.popleft()))
                    done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in done:
                        collect(future.result())
        if batch:
            recorder.write(batch)

    def _advance(self, result: ItemResult) -> None:
        self._done[0] += 1
        self._done[1] += result.size
        if self.progress is not None:
            self.progress(
                Progress(
                    self._done[0],
                    self._totals[0],
                    self._done[1],
                    self._totals[1],
                    display(result.rel_path),
                )
            )


def _gpu_note() -> str:
    from dalil.media import gpu

    device = gpu.available()
    if device is None:
        return (
            "decode_device is gpu, but no GPU is usable here (torch with CUDA and a visible GPU"
            " are needed): the JPEGs were decoded on the CPU"
        )
    return f"JPEGs were decoded on the GPU ({device}); thumbnails' recipes say nvjpeg"


def ungrouped(conn: Any) -> list[str]:
    """Fingerprinted items of acquisitions that asked for grouping but never went through it
    (the run was interrupted during grouping)."""
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT f.sha256 FROM fingerprints f JOIN items i ON i.sha256 = f.sha256"
            " JOIN acquisitions a ON a.id = i.acquisition_id"
            " LEFT JOIN match_checks m ON m.sha256 = f.sha256"
            " WHERE f.algorithm = 'pdq' AND a.grouping = 1 AND m.sha256 IS NULL"
            " ORDER BY f.sha256"
        )
    ]


def _acquisition_counts(conn: Any, acq_id: int) -> dict[str, int]:
    def one(sql: str) -> int:
        return int(conn.execute(sql, (acq_id,)).fetchone()[0])

    return {
        "occurrences": one("SELECT COUNT(*) FROM occurrences WHERE acquisition_id = ?"),
        "items_new": one("SELECT COUNT(*) FROM items WHERE acquisition_id = ?"),
        "flagged": one(
            "SELECT COUNT(DISTINCT f.sha256) FROM item_flags f JOIN items i USING (sha256)"
            " WHERE i.acquisition_id = ?"
        ),
        "skipped": one(
            "SELECT COUNT(*) FROM skipped_entries WHERE acquisition_id = ? AND kind != 'unreadable'"
        ),
        "unreadable": one(
            "SELECT COUNT(*) FROM skipped_entries WHERE acquisition_id = ? AND kind = 'unreadable'"
        ),
    }


def _clean_tmp(tmp_dir: Path) -> None:
    """Remove staging files left by a killed run (the writer lock is held)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    for entry in tmp_dir.iterdir():
        if entry.is_file():
            entry.unlink()
