"""Ingest from the browser: files or a zip, streamed to the vault's staging folder, then the
same ingest as the CLI.

The uploader's permission and CSRF token are checked before a byte of the body is read
(:class:`dalil.web.guard.GuardedRoute`); the body is limited to :data:`MAX_UPLOAD_BYTES` as it
streams, chunked or not (:class:`dalil.web.guard.BodyGuard`), and written straight into a
folder under ``VAULT/tmp/uploads/`` (:mod:`.receive`: never the system's temporary folder,
never whole in memory). The folder then waits its turn and is ingested by ``dalil ingest``
itself in a child process, under the vault's writer lock, with the uploader as actor and the
upload's description as the acquisition's source (:mod:`.jobs`). Progress is read from the
catalogue and polled by the page.
"""

from __future__ import annotations

import shutil
import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from dalil.vault import Vault
from dalil.web import guard, jobs, receive
from dalil.web.auth import Ingest
from dalil.web.guard import GuardedRoute
from dalil.web.jobs import Job
from dalil.web.render import page

router = APIRouter(route_class=GuardedRoute)

MAX_UPLOAD_BYTES = 4 * 2**30
MAX_FILES = receive.MAX_FILES

guard.LIMITS[("POST", "/upload")] = lambda: MAX_UPLOAD_BYTES


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, user: Ingest) -> Response:
    return page(request, "upload.html", limit_gb=MAX_UPLOAD_BYTES / 2**30)


@router.post("/upload", response_class=HTMLResponse)
async def upload(request: Request, user: Ingest) -> Response:
    vault = _vault(request)
    job_id = uuid.uuid4().hex[:12]
    folder = vault.uploads_dir / f"upload-{job_id}"
    folder.mkdir(parents=True)
    try:
        received = await receive.receive(request, folder)
        source = _one_line(received.fields.get("source", ""))
        if not source:
            raise HTTPException(400, "say where these files came from")
        if not received.files:
            raise HTTPException(400, "choose at least one file or zip archive")
        note = receive.record_names(folder, job_id, received) or ""
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    job = Job(job_id, user.name, source, note=note)
    job.save(vault.uploads_dir)
    jobs.start(vault, job)
    return page(request, "_upload_job.html", job=job)


def _one_line(text: str) -> str:
    """``text`` as one line of printable characters (it becomes a command-line argument)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _own_job(request: Request, job_id: str, user_name: str) -> Job:
    job = Job.load(_vault(request).uploads_dir, job_id)
    if job is None or job.user != user_name:
        raise HTTPException(404, "no such upload")
    return job


@router.get("/upload/{job_id}", response_class=HTMLResponse)
def upload_status(request: Request, job_id: str, user: Ingest) -> Response:
    job = _own_job(request, job_id, user.name)
    jobs.resume_if_orphaned(_vault(request), job)
    return page(request, "_upload_job.html", job=job, retry=_can_retry(request, job))


@router.post("/upload/{job_id}/retry", response_class=HTMLResponse)
def upload_retry(request: Request, job_id: str, user: Ingest) -> Response:
    job = _own_job(request, job_id, user.name)
    if not jobs.retry(_vault(request), job):
        raise HTTPException(409, "this upload is not waiting for another try")
    return page(request, "_upload_job.html", job=job)


def _can_retry(request: Request, job: Job) -> bool:
    return job.state == "failed" and job.folder(_vault(request)).is_dir()
