"""OCR on cases' photographs: every number read becomes an unverified identifier claim.

Each photograph is decoded once at reduced size (JPEG DCT scaling), upright, and read by
:func:`dalil.ocr.read_numbers` in a process pool. What was read (all numbers, with boxes and
confidences) is kept per item and engine version in ``ocr_runs`` — a derivative, searchable as
the case's text — so a photograph is read once per engine version. Each reading whose field is
known (a label such as "Branch" next to it), whose field confidence reaches
:data:`dalil.ocr.confidence.PROPOSE_AT` and whose value is valid for that identifier type
becomes a claim on every case the photograph belongs to, made on behalf of the user who ran
it, with source ``ocr:<engine>``, the field confidence and the region in the original's upright
pixels. Claims from machines need two people to confirm them (:mod:`dalil.cases.review`).
A value read for a field with a lower confidence is not proposed: the photograph then needs a
human reading, and is listed so in the ``needs-reading`` review queue (worked out from the
readings kept in ``ocr_runs``, so nothing else is stored).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dalil.cases import model
from dalil.cases import vocabulary as vocab
from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.ingest import decode
from dalil.ledger.log import Ledger
from dalil.s3store import S3Config, S3Store, shared_store
from dalil.vault import Vault
from dalil.workers import executor, ray_address

if TYPE_CHECKING:
    from dalil.ocr.fields import LabelSet

READ_SIDE = 1200
"""The reduced decode is at least this many pixels on its shorter side where the original is."""

LIVE = ("proposed", "open", "candidate-identified")

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class OcrReport:
    photos_read: int = 0
    photos_already_read: int = 0
    photos_unreadable: list[str] = field(default_factory=list)
    numbers_read: int = 0
    claims_added: int = 0
    claims_already_there: int = 0
    readings_without_field: int = 0
    invalid_values: int = 0
    withheld: int = 0  # values read for a field, too doubtful to propose
    needs_reading: list[str] = field(default_factory=list)  # photographs (sha256)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def labels_file(vault: Vault) -> Path | None:
    """The collection's own labels file (setting ``ocr_labels``), or None for Dalil's."""
    name = vault.settings.ocr_labels
    if not name:
        return None
    path = Path(name).expanduser()
    return path if path.is_absolute() else vault.root / path


def own_labels(vault: Vault) -> tuple[str, str]:
    """What a photograph's readings are kept under in ``ocr_runs`` — the engine version, and
    the labels file's hash when the collection has its own (a changed file reads again) —
    and that file's text ("" for Dalil's labels). The file is read once: the workers read
    with the very text that was hashed, even if the file changes during the run. Raises
    UsageError naming the labels file when it cannot be read or is malformed."""
    from dalil.ocr import ENGINE_VERSION
    from dalil.ocr.fields import parse_labels

    path = labels_file(vault)
    if path is None:
        return ENGINE_VERSION, ""
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
        parse_labels(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"OCR labels file {path} (setting ocr_labels): {exc}") from exc
    return f"{ENGINE_VERSION}+labels:{hashlib.sha256(data).hexdigest()[:12]}", text


@lru_cache(maxsize=4)
def _labels(text: str) -> LabelSet | None:
    from dalil.ocr.fields import parse_labels

    return parse_labels(text) if text else None


Source = str | tuple[S3Config, str]
"""Where a worker finds a photograph: its local path, or (the S3 store, a cache folder), so
that workers fetch from S3 themselves (checked against the name) rather than the command
downloading every photograph before they start."""


def _read_one(job: tuple[str, Source, str]) -> tuple[str, list[dict[str, Any]] | None, str]:
    """(sha256, readings in the original's pixels, their text); runs in a worker process."""
    from dalil.ocr import read_numbers

    sha, source, labels = job  # labels: the text of the collection's labels file, or ""
    if isinstance(source, str):
        path = Path(source)
    else:
        config, cache = source  # an unreachable store stops the run (S3Error): nothing is
        path = shared_store(config, Path(cache)).local_path(sha)  # recorded as read that was not
    image = decode.reduced_image(path, READ_SIDE)
    if image is None:
        return sha, None, ""
    full = _upright_size(Path(path))
    sx = full[0] / image.width if full else 1.0
    sy = full[1] / image.height if full else 1.0
    readings = []
    for r in read_numbers(image, labels=_labels(labels)):
        d = r.to_dict()
        x0, y0, x1, y1 = r.box
        d["box"] = [round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy)]
        readings.append(d)
    return sha, readings, " ".join(str(d["written"]) for d in readings)


def _one_thread() -> None:
    """A pool worker's OCR runs on one thread: the pool has a worker per core."""
    from dalil.ocr import engine

    engine.set_threads(1)


def _upright_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)
    except Exception:
        return None
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _photos(conn: Db, cases: list[str] | None) -> list[tuple[str, int]]:
    """(item, case row id) for every image of the chosen (default: all live) cases."""
    sql = (
        "SELECT ci.sha256, c.id FROM case_items ci JOIN cases c ON c.id = ci.case_pk"
        " JOIN items i ON i.sha256 = ci.sha256 WHERE i.media_type LIKE 'image/%'"
    )
    if cases:
        pks = [model.case_pk(conn, ref) for ref in cases]
        rows = conn.execute(
            sql + f" AND c.id IN ({','.join('?' * len(pks))}) ORDER BY c.id, ci.sha256", pks
        )
    else:
        rows = conn.execute(
            sql + f" AND c.status IN ({','.join('?' * len(LIVE))}) ORDER BY c.id, ci.sha256",
            LIVE,
        )
    return [(str(s), int(p)) for s, p in rows]


def read_cases(
    vault: Vault,
    conn: Db,
    ledger: Ledger,
    actor: model.Actor,
    cases: list[str] | None = None,
    *,
    jobs: int = 0,
    progress: Progress | None = None,
    ray: str | None = None,
) -> OcrReport:
    """Read the numbers on the cases' photographs (``ray``: as tasks on that Ray cluster; by
    default where the vault's ``executor`` setting says)."""
    from dalil.ocr.confidence import withheld

    report = OcrReport()
    actor.check(conn)
    engine, labels = own_labels(vault)
    photos = _photos(conn, cases)
    if cases and not photos:
        raise UsageError("those cases have no photographs to read")
    done = {
        str(r[0]): (json.loads(r[1]))
        for r in conn.execute("SELECT sha256, readings FROM ocr_runs WHERE engine = ?", (engine,))
    }
    todo = sorted({sha for sha, _ in photos if sha not in done})
    report.photos_already_read = len({sha for sha, _ in photos}) - len(todo)
    store = vault.store()
    jobs_list: list[tuple[str, Source, str]] = [
        (sha, (store.config, str(vault.tmp_dir)), labels)
        if isinstance(store, S3Store)
        else (sha, str(store.local_path(sha)), labels)
        for sha in todo
    ]
    workers = max(1, jobs or vault.settings.jobs or (os.cpu_count() or 1))
    results: Iterator[tuple[str, list[dict[str, Any]] | None, str]]
    where = ray_address(vault.settings, ray)
    pool = (
        executor(workers, _one_thread, ray=where)
        if (workers > 1 or where) and len(jobs_list) > 1
        else None
    )
    results = pool.map(_read_one, jobs_list) if pool is not None else map(_read_one, jobs_list)
    try:
        for n, (sha, readings, text) in enumerate(results, 1):
            if readings is None:
                report.photos_unreadable.append(sha)
                readings = []
            else:
                report.photos_read += 1
            with atomic(conn):
                ledger.append(
                    actor.name,
                    "ocr.read",
                    f"sha256:{sha}",
                    {"sha256": sha, "engine": engine, "numbers": len(readings)},
                    {"sha256": sha, "engine": engine, "readings": readings, "text": text},
                )
            done[sha] = readings
            if progress is not None:
                progress(n, len(jobs_list))
    finally:
        if pool is not None:
            pool.shutdown()
    types = model.identifier_types(conn)
    doubtful = {sha: withheld(done.get(sha, [])) for sha in {s for s, _ in photos}}
    report.withheld = sum(len(d) for d in doubtful.values())
    report.needs_reading = sorted(sha for sha, d in doubtful.items() if d)
    with atomic(conn):
        for sha, pk in photos:
            for r in done.get(sha, []):
                report.numbers_read += 1
                kind = r.get("field")
                if kind not in types:
                    report.readings_without_field += 1
                    continue
                if any(r is d for d in doubtful[sha]):
                    continue  # too doubtful: a person reads the photograph instead
                seen = conn.execute(
                    "SELECT 1 FROM annotations WHERE case_pk = ? AND kind = 'identifier'"
                    " AND field = ? AND value = ? AND source LIKE 'ocr:%'",
                    (pk, kind, vocab.normalise_identifier(str(r["value"]))),
                ).fetchone()
                if seen:  # read before: even if people rejected it, do not propose it again
                    report.claims_already_there += 1
                    continue
                try:
                    _, new = model.annotate(
                        conn,
                        ledger,
                        actor,
                        pk,
                        "identifier",
                        str(kind),
                        str(r["value"]),
                        source=f"ocr:{r['engine']}",
                        confidence=float(r.get("field_confidence", r["confidence"])),
                        item=sha,
                        region=[int(v) for v in r["box"]],
                    )
                except UsageError:
                    report.invalid_values += 1
                    continue
                if new:
                    report.claims_added += 1
                else:
                    report.claims_already_there += 1
    return report
