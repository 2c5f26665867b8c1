"""Rank cases' photographs by how much their faces resemble the face in a family's photograph.

Asked by a liaison (or an administrator) for one report; each run is a ``faces.compared``
ledger event naming the report, how many cases and photographs were compared and the model —
never a similarity, an embedding or a picture. The ranking goes back to the caller only, each
entry labelled with :data:`AID`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dalil import reports
from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.faces import models, store
from dalil.faces.detect import Face, faces_in_file, similarity
from dalil.ledger.log import Ledger
from dalil.vault import Vault
from dalil.workers import process_pool

AID = "an aid only: face similarity cannot identify anyone"
RANK_ROLES = reports.CONTACT_ROLES
LIVE = ("proposed", "open", "candidate-identified")
"""Case states compared by default (person cases only); name cases to compare any."""

Progress = Callable[[int, int], None]
Job = tuple[str, bytes | str]  # (subject, the photograph's bytes or its path)
Found = tuple[str, list[Face] | None]  # (subject, its faces; None: it cannot be decoded)


@dataclass(slots=True)
class Comparison:
    """What one run compared, and its ranking (best first)."""

    report: str
    model: str
    cases: int = 0
    photographs: int = 0
    without_face: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    ranked: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__} | {"aid": AID}


def by_case(ranked: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The best-ranked photograph of each case (for a report-to-case candidate's evidence)."""
    best: dict[str, dict[str, Any]] = {}
    for entry in ranked:
        best.setdefault(str(entry["case"]), entry)
    return best


def _photographs(conn: Db, cases: list[str] | None) -> list[tuple[str, str]]:
    """(case id, item) for every image of the named cases, or of every live person case."""
    from dalil.cases.model import case_pk

    sql = (
        "SELECT c.case_id, ci.sha256 FROM case_items ci JOIN cases c ON c.id = ci.case_pk"
        " JOIN items i ON i.sha256 = ci.sha256 WHERE i.media_type LIKE 'image/%'"
    )
    if cases:
        pks = sorted({case_pk(conn, ref) for ref in cases})
        rows = conn.execute(sql + f" AND c.id IN ({','.join('?' * len(pks))})", pks)
    else:
        marks = ",".join("?" * len(LIVE))
        rows = conn.execute(sql + f" AND c.kind = 'person' AND c.status IN ({marks})", LIVE)
    return sorted((str(c), str(s)) for c, s in rows)


def _faces_of(job: Job) -> Found:
    """The faces of one photograph; runs in a worker process, or in this one."""
    subject, source = job
    return subject, faces_in_file(source if isinstance(source, bytes) else Path(source))


def _report_job(vault: Vault, report_id: str, sha: str) -> Job:
    data = reports.family_photo(vault, report_id, sha)
    if data is not None:
        return f"report:{report_id}:{sha}", data
    if vault.store().has(sha):  # reports made before photographs were sealed: a vault item
        return f"report:{report_id}:{sha}", str(vault.store().local_path(sha))
    raise UsageError(f"the photograph of {report_id} is neither sealed nor in the vault")


def rank(
    vault: Vault,
    conn: Db,
    ledger: Ledger,
    actor: str,
    report_id: str,
    cases: list[str] | None = None,
    *,
    jobs: int = 0,
    progress: Progress | None = None,
) -> Comparison:
    """Compare the face in report ``report_id``'s photograph (its largest face) with every face
    in the photographs of ``cases`` (default: every live person case). Liaison and admin only;
    needs the contacts key and the face models (:mod:`dalil.faces.models`). Faces found are
    kept sealed, so a photograph is looked at once per model. Records ``faces.compared``."""
    from dalil.users import check_actor

    if check_actor(conn, actor) not in RANK_ROLES:
        raise UsageError("only the liaison and admin roles may compare a family's photograph")
    found = reports.report(conn, report_id)
    report_id = str(found["report"])
    sha = found["photo"]
    if not sha:
        raise UsageError(f"{report_id} has no photograph to compare")
    models.locate()
    reports.check_key(vault)
    photos = _photographs(conn, cases)
    if not photos:
        raise UsageError("no case photographs to compare with")
    result = Comparison(report_id, models.MODEL)
    result.cases = len({c for c, _ in photos})
    items = sorted({s for _, s in photos})
    result.photographs = len(items)
    subject = f"report:{report_id}:{sha}"
    known = store.load(vault, [subject, *(f"item:{s}" for s in items)], models.MODEL)
    todo: list[Job] = [] if subject in known else [_report_job(vault, report_id, sha)]
    objects = vault.store()
    todo += [(f"item:{s}", str(objects.path(s))) for s in items if f"item:{s}" not in known]
    workers = max(1, jobs or vault.settings.jobs or (os.cpu_count() or 1))
    pool = process_pool(workers) if workers > 1 and len(todo) > 2 else None
    try:
        for n, (done, faces) in enumerate(_run(pool, todo), 1):
            if done == subject and not faces:
                why = "cannot be decoded" if faces is None else "shows no face Dalil can find"
                raise UsageError(f"the photograph of {report_id} {why}")
            if faces is None:
                result.unreadable.append(done.removeprefix("item:"))
            else:
                store.save(vault, done, models.MODEL, faces)
                known[done] = faces
            if progress is not None:
                progress(n, len(todo))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if not known.get(subject):
        raise UsageError(f"the photograph of {report_id} shows no face Dalil can find")
    query = known[subject][0].vector  # the largest face: a family's photograph is of them
    result.without_face = [s for s in items if f"item:{s}" in known and not known[f"item:{s}"]]
    for case_id, item in photos:
        faces = known.get(f"item:{item}")
        if faces:
            best = max(similarity(query, f.vector) for f in faces)
            result.ranked.append(
                {"case": case_id, "item": item, "similarity": round(best, 4),
                 "faces": len(faces), "aid": AID}
            )  # fmt: skip
    result.ranked.sort(key=lambda e: (-e["similarity"], e["case"], e["item"]))
    details: dict[str, Any] = {
        "report": report_id, "cases": result.cases, "photographs": result.photographs,
        "model": result.model,
    }  # fmt: skip
    if cases:  # who looked at which of the dead, never what was found
        details["named"] = sorted({c for c, _ in photos})
    with atomic(conn):
        ledger.append(actor, "faces.compared", f"report:{report_id}", details)
    return result


def _run(pool: ProcessPoolExecutor | None, todo: list[Job]) -> Iterator[Found]:
    """Each job's faces, in order; the family's photograph (first, when it is to do) is
    finished before the rest start, so a photograph without a face stops the run early."""
    if pool is None:
        yield from map(_faces_of, todo)
        return
    first, rest = todo[:1], todo[1:]
    if first and first[0][0].startswith("report:"):
        yield pool.submit(_faces_of, first[0]).result()
    else:
        rest = todo
    yield from pool.map(_faces_of, rest, chunksize=4)
