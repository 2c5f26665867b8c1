"""Ingest from the browser: files or a zip, streamed to disk, then the same ingest as the CLI.

The request body is streamed into a folder under the vault's ``tmp/uploads/`` (never held in
memory) and refused beyond :data:`MAX_UPLOAD_BYTES`; file names are reduced to their last
component (no path from the browser reaches the file system). The folder is then ingested by
``dalil ingest`` itself, run as a child process (forking worker pools from a threaded server is
unsafe), under the vault's writer lock, with the uploader as actor and the upload's description
as the acquisition's source. Progress is read from the catalogue and polled by the page.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from dalil.vault import Vault
from dalil.web.app import page
from dalil.web.auth import Ingest

router = APIRouter()

MAX_UPLOAD_BYTES = 4 * 2**30
MAX_FILES = 5000
CHUNK = 1 << 20


@dataclass(slots=True)
class Job:
    id: str
    user: str
    source: str
    state: str = "receiving"  # receiving, ingesting, done, failed
    done: int = 0
    total: int = 0
    phase: str = ""
    report: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    saved_at: float = 0.0

    def save(self, folder: Path, *, force: bool = True) -> None:
        """Keep the job's state on disk, so any server process can show it."""
        now = time.monotonic()
        if not force and now - self.saved_at < 0.5:
            return
        self.saved_at = now
        data = {k: getattr(self, k) for k in self.__slots__ if k != "saved_at"}
        tmp = folder / f"{self.id}.json.tmp"
        tmp.write_text(json.dumps(data, default=str))
        os.replace(tmp, folder / f"{self.id}.json")

    @classmethod
    def load(cls, folder: Path, job_id: str) -> Job | None:
        if not job_id.isalnum():
            return None
        try:
            data = json.loads((folder / f"{job_id}.json").read_text())
        except (OSError, ValueError):
            return None
        return cls(**data)


def _safe_name(name: str, taken: set[str]) -> str:
    base = Path(name.replace("\\", "/")).name.strip() or "upload"
    if base in (".", ".."):
        base = "upload"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{n}-{base}"
    taken.add(candidate)
    return candidate


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, user: Ingest) -> Response:
    return page(request, "upload.html", limit_gb=MAX_UPLOAD_BYTES / 2**30)


@router.post("/upload", response_class=HTMLResponse)
async def upload(request: Request, user: Ingest) -> Response:
    vault: Vault = request.app.state.vault
    length = int(request.headers.get("content-length") or 0)
    if length > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"uploads are limited to {MAX_UPLOAD_BYTES / 2**30:.0f} GiB")
    form = await request.form(max_files=MAX_FILES, max_part_size=64 * 2**20)
    try:
        source = str(form.get("source") or "").strip()
        if not source:
            raise HTTPException(400, "say where these files came from")
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        if not files:
            raise HTTPException(400, "choose at least one file or zip archive")
        job = Job(uuid.uuid4().hex[:12], user.name, source)
        folder = vault.uploads_dir / f"upload-{job.id}"
        folder.mkdir(parents=True)
        await _receive(files, folder)
    finally:
        await form.close()
    job.save(vault.uploads_dir)
    threading.Thread(target=_ingest, args=(vault, job, folder), daemon=True).start()
    return page(request, "_upload_job.html", job=job)


async def _receive(files: list[UploadFile], folder: Path) -> None:
    taken: set[str] = set()
    written = 0
    try:
        for upload_file in files:
            target = folder / _safe_name(str(upload_file.filename), taken)
            with target.open("xb") as out:
                while chunk := await upload_file.read(CHUNK):
                    written += len(chunk)
                    if written > MAX_UPLOAD_BYTES:
                        raise HTTPException(413, "the upload is larger than allowed")
                    out.write(chunk)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _ingest(vault: Vault, job: Job, folder: Path) -> None:
    """Run ``dalil ingest`` on the upload in a child process — never fork worker pools from a
    threaded server — and follow its progress through the catalogue."""
    job.state = "ingesting"
    job.total = sum(1 for p in folder.rglob("*") if p.is_file())
    job.save(vault.uploads_dir)
    marker = f"uploaded in the browser (upload {job.id})"
    command = [
        sys.executable, "-m", "dalil", "ingest", str(folder), "--from", job.source,
        "--note", marker, "--vault", str(vault.root), "--as", job.user, "--json",
    ]  # fmt: skip
    try:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as exc:
        job.state, job.error = "failed", f"could not start the ingest: {exc}"
        job.save(vault.uploads_dir)
        return
    stdout, stderr = "", ""
    while True:
        try:
            stdout, stderr = child.communicate(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            job.done = _received(vault, marker)
            job.phase = "ingest" if job.done < job.total else "grouping"
            job.save(vault.uploads_dir, force=False)
    if child.returncode in (0, 3):
        try:
            job.report = json.loads(stdout)
        except ValueError:
            job.report = {}
        job.state, job.done = "done", job.total
        job.save(vault.uploads_dir)
        shutil.rmtree(folder, ignore_errors=True)
        return
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    job.state, job.error = "failed", lines[-1] if lines else f"ingest exited {child.returncode}"
    job.save(vault.uploads_dir)  # the files stay until they are ingested


def _received(vault: Vault, marker: str) -> int:
    try:
        conn = vault.connect(readonly=True)
        try:
            row = conn.execute(
                "SELECT COUNT(*) FROM occurrences o JOIN acquisitions a ON a.id = o.acquisition_id"
                " WHERE a.note = ?",
                (marker,),
            ).fetchone()
        finally:
            conn.close()
    except Exception:  # the catalogue is busy: report next time
        return 0
    return int(row[0])


@router.get("/upload/{job_id}", response_class=HTMLResponse)
def upload_status(request: Request, job_id: str, user: Ingest) -> Response:
    job = Job.load(request.app.state.vault.uploads_dir, job_id)
    if job is None or job.user != user.name:
        raise HTTPException(404, "no such upload")
    return page(request, "_upload_job.html", job=job)
