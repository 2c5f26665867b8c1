"""Upload jobs: each received upload waits its turn, then goes through ``dalil ingest``.

A vault takes one ingest at a time (its writer lock). Uploads therefore queue: a job's thread
waits on ``VAULT/tmp/uploads/queue.lock`` — a file lock, so the queue is shared by every
server process — and, once its turn comes, until no other Dalil process (a `dalil ingest` in a
terminal, a checkpoint) holds the vault; it is *queued* meanwhile. If the ingest still finds
the vault busy, the job goes back to the queue; it is never dropped for being second.

Jobs live in the vault (``<id>.json`` beside the upload's folder) so that every server
process can show them. A job's thread holds ``<id>.lock`` while it runs: a queued or ingesting
job whose lock nobody holds lost its server (restarted, killed) and is picked up again by the
next look at it (:func:`resume_if_orphaned`). A job that failed keeps its files and can be
tried again (:func:`retry`). Ingest is idempotent, so running one twice adds nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dalil import signing
from dalil.errors import VaultError
from dalil.i18n import N_
from dalil.vault import Vault
from dalil.web.errors import public

RETRY_SECONDS = 2.0
"""How long a job waits before it looks again at a busy vault."""

ACTIVE = ("queued", "ingesting")

WORDS = (N_("queued"), N_("ingesting"), N_("done"), N_("failed"), N_("ingest"), N_("grouping"))
"""A job's states and phases, marked for translation: the page shows ``_(job.state)``."""


@dataclass(slots=True)
class Job:
    id: str
    user: str
    source: str
    state: str = "queued"  # queued, ingesting, done, failed
    note: str = ""
    done: int = 0
    total: int = 0
    phase: str = ""
    report: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    saved_at: float = 0.0

    @property
    def marker(self) -> str:
        """The start of the acquisition's note, by which its progress is found."""
        return f"uploaded in the browser (upload {self.id})"

    def folder(self, vault: Vault) -> Path:
        return vault.uploads_dir / f"upload-{self.id}"

    def save(self, folder: Path, *, force: bool = True) -> None:
        """Keep the job's state on disk, so any server process can show it."""
        now = time.monotonic()
        if not force and now - self.saved_at < 0.5:
            return
        self.saved_at = now
        data = {k: getattr(self, k) for k in self.__slots__ if k != "saved_at"}
        tmp = folder / f"{self.id}.json.tmp-{os.getpid()}-{threading.get_ident()}"
        tmp.write_text(json.dumps(data, default=str))
        os.replace(tmp, folder / f"{self.id}.json")

    @classmethod
    def load(cls, folder: Path, job_id: str) -> Job | None:
        if len(job_id) != 12 or not all(c in "0123456789abcdef" for c in job_id):
            return None
        try:
            data = json.loads((folder / f"{job_id}.json").read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None


@contextmanager
def flock(path: Path, *, wait: bool) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (True), or — without ``wait`` — False if taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def start(vault: Vault, job: Job) -> None:
    """Run ``job`` in a thread of this process (queued until its turn). The uploader's own key
    (this request is theirs, or its viewer is them) goes with it, to sign the ingest."""
    key = signing.key_for(vault.origin, job.user)
    threading.Thread(target=run, args=(vault, job, key), daemon=True).start()


def run(vault: Vault, job: Job, key: Ed25519PrivateKey | None = None) -> None:
    """Wait for the job's turn, ingest, and go back to the queue while the vault is busy."""
    uploads = vault.uploads_dir
    try:
        with flock(uploads / f"{job.id}.lock", wait=False) as mine:
            if not mine:
                return  # another thread or process runs this job
            fresh = Job.load(uploads, job.id)  # it may have finished since it was read
            if fresh is None or fresh.state not in ACTIVE or not fresh.folder(vault).is_dir():
                return
            job = fresh
            while True:
                job.state, job.phase = "queued", ""
                job.save(uploads)
                with one_at_a_time(vault):
                    busy = _ingest(vault, job, key)
                if not busy:
                    break
                time.sleep(RETRY_SECONDS)
        if job.state == "done":
            (uploads / f"{job.id}.lock").unlink(missing_ok=True)
    except Exception as exc:  # a thread has nobody to tell: the job says it
        job.state, job.error = "failed", public(f"the ingest stopped: {exc}", vault)
        with contextlib.suppress(OSError):  # the vault is gone or full: nothing more to say
            job.save(uploads)


@contextmanager
def one_at_a_time(vault: Vault) -> Iterator[None]:
    """This thread's turn in the vault's queue of browser-started work (uploads and tasks,
    every server process), once no other Dalil process holds the vault."""
    vault.uploads_dir.mkdir(parents=True, exist_ok=True)
    with flock(vault.uploads_dir / "queue.lock", wait=True):
        _wait_for_vault(vault)
        yield


def _wait_for_vault(vault: Vault) -> None:
    while True:
        try:
            with vault.writer_lock():
                return
        except VaultError:
            time.sleep(RETRY_SECONDS)


def _ingest(vault: Vault, job: Job, key: Ed25519PrivateKey | None) -> bool:
    """Run ``dalil ingest`` on the upload in a child process — never fork worker pools from a
    threaded server — and follow its progress through the catalogue. True if the vault was
    busy (the job is to be queued again)."""
    folder = job.folder(vault)
    job.state = "ingesting"
    job.total = sum(1 for p in folder.rglob("*") if p.is_file())
    job.save(vault.uploads_dir)
    note = job.marker + (f"; {job.note}" if job.note else "")
    # "--option=value": a value that starts with "-" is still a value
    command = [
        sys.executable, "-m", "dalil", "ingest", "--json", f"--from={job.source}",
        f"--note={note}", f"--vault={vault.root}", f"--as={job.user}",
        *(["--key-stdin"] if key is not None else []), "--", str(folder),
    ]  # fmt: skip
    try:
        child = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # the key goes through a pipe: never in the arguments or the environment
        given: str | None = "" if key is None else signing.export_key(key) + "\n"
    except OSError:
        job.state, job.error = "failed", "the ingest could not be started"
        job.save(vault.uploads_dir)
        return False
    stdout, stderr = "", ""
    while True:
        try:
            stdout, stderr = child.communicate(given, timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            given = None  # written once: a retry must not send it again
            job.done = _received(vault, job.marker)
            job.phase = "ingest" if job.done < job.total else "grouping"
            job.save(vault.uploads_dir, force=False)
    if child.returncode in (0, 3):
        try:
            job.report = json.loads(stdout)
        except ValueError:
            job.report = {}
        job.state, job.done, job.error = "done", job.total, ""
        job.save(vault.uploads_dir)
        shutil.rmtree(folder, ignore_errors=True)
        return False
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1].removeprefix("error: ") if lines else f"ingest exited {child.returncode}"
    if "is busy" in last:
        return True
    job.state, job.error = "failed", public(last, vault)
    job.save(vault.uploads_dir)  # the files stay until they are ingested
    return False


def _received(vault: Vault, marker: str) -> int:
    try:
        conn = vault.connect(readonly=True)
        try:
            row = conn.execute(
                "SELECT COUNT(*) FROM occurrences o JOIN acquisitions a ON a.id = o.acquisition_id"
                " WHERE substr(a.note, 1, ?) = ?",
                (len(marker), marker),
            ).fetchone()
        finally:
            conn.close()
    except Exception:  # the catalogue is busy: report next time
        return 0
    return int(row[0])


def resume_if_orphaned(vault: Vault, job: Job) -> None:
    """Start ``job`` again if it is queued or ingesting but no thread of any server runs it."""
    if job.state not in ACTIVE or not job.folder(vault).is_dir():
        return
    with flock(vault.uploads_dir / f"{job.id}.lock", wait=False) as free:
        if not free:
            return
    start(vault, job)


def retry(vault: Vault, job: Job) -> bool:
    """Queue a failed job again (its files are still there); False if there is nothing to do."""
    if job.state != "failed" or not job.folder(vault).is_dir():
        return False
    job.state, job.error = "queued", ""
    job.save(vault.uploads_dir)
    start(vault, job)
    return True
