"""Long work started from the browser, for the roles that edit cases: reading the numbers on
cases' photographs (``dalil cases ocr``) and a case's court bundle (``dalil export bundle``,
written to ``exports_dir`` outside the vault, then downloaded as a zip).

A task waits its turn in the same queue as uploads (:func:`dalil.web.jobs.one_at_a_time`: one
piece of browser-started work at a time, and none while another Dalil process holds the
vault), then runs the command in a child process — never a worker pool forked from a threaded
server — with the person's unlocked key through a pipe, so the ledger events are theirs. Its
progress (the command's ``Reading photographs: 40/80`` lines), result and error are kept in the
vault (``tmp/uploads/tasks/<id>.json``), so every server process can show them. Reading is
idempotent: a photograph already read with the same engine is not read again, so a task that
failed or lost its server is simply started again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response

from dalil import signing
from dalil.errors import NotFound, UsageError
from dalil.i18n import N_
from dalil.vault import Vault
from dalil.web import auth
from dalil.web.auth import Edit
from dalil.web.errors import public
from dalil.web.guard import GuardedRoute
from dalil.web.jobs import flock, one_at_a_time
from dalil.web.redirects import back
from dalil.web.render import page

router = APIRouter(route_class=GuardedRoute)

KINDS = {
    "ocr": N_("Reading the numbers on the cases' photographs"),
    "bundle": N_("A court bundle"),
    "release": N_("A public release"),
}
DOWNLOADS = ("bundle", "release")  # kinds whose result is a folder, downloaded as a zip
WORDS = (N_("queued"), N_("running"), N_("done"), N_("failed"))
"""A task's states, marked for translation: the page shows ``_(task.state)``."""
ACTIVE = ("queued", "running")
_PROGRESS = re.compile(r"(\d+)/(\d+)")

TaskId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{12}$")]


@dataclass(slots=True)
class Task:
    id: str
    user: str
    kind: str
    state: str = "queued"
    done: int = 0
    total: int = 0
    report: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    args: dict[str, str] = field(default_factory=dict)  # what the task is about (a case...)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        data = {k: getattr(self, k) for k in self.__slots__}
        tmp = folder / f"{self.id}.json.tmp-{os.getpid()}-{threading.get_ident()}"
        tmp.write_text(json.dumps(data, default=str))
        os.replace(tmp, folder / f"{self.id}.json")

    @classmethod
    def load(cls, folder: Path, task_id: str) -> Task | None:
        try:
            return cls(**json.loads((folder / f"{task_id}.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None


def folder_of(vault: Vault) -> Path:
    return vault.uploads_dir / "tasks"


def exports_dir(vault: Vault) -> Path:
    """Where the web workspace writes court bundles (``exports_dir``; outside the vault)."""
    chosen = vault.settings.exports_dir
    if not chosen:
        return vault.root.parent / f"{vault.root.name}-exports"
    path = Path(chosen)
    return path if path.is_absolute() else vault.root.parent / path


def bundle_folder(vault: Vault, task: Task) -> Path:
    """The folder a bundle or release task writes (its zip: the same name, ``.zip``)."""
    return exports_dir(vault) / f"{task.kind}-{task.args.get('case', 'x')}-{task.id}"


def command(vault: Vault, task: Task) -> list[str]:
    """The command line a task runs (``--opt=value``: a value never reads as an option)."""
    common = ["--json", "--key-stdin", f"--vault={vault.root}", f"--as={task.user}"]
    if task.kind == "ocr":
        return [sys.executable, "-m", "dalil", "cases", "ocr", *common]
    if task.kind == "bundle":
        return [
            sys.executable, "-m", "dalil", "export", "bundle", *common,
            f"--case={task.args['case']}", f"--language={task.args.get('language', 'en')}",
            "--", str(bundle_folder(vault, task)),
        ]  # fmt: skip
    if task.kind == "release":
        return [
            sys.executable, "-m", "dalil", "export", "release", *common,
            f"--case={task.args['case']}", f"--max-side={task.args.get('max_side', '1600')}",
            f"--blur={task.args.get('blur', '0')}", "--", str(bundle_folder(vault, task)),
        ]  # fmt: skip
    raise NotFound(f"no task of kind {task.kind!r}")


def run(vault: Vault, task: Task, holding: threading.Event | None = None) -> None:
    """Wait for the task's turn, run it, and keep its progress and result (a thread). While it
    lives it holds the task's lock (set ``holding`` once it does): a task in progress whose
    lock is free has lost its server."""
    folder = folder_of(vault)
    key = signing.key_for(vault.origin, task.user)
    try:
        with flock(folder / f"{task.id}.lock", wait=True):
            if holding is not None:
                holding.set()
            _run_in_turn(vault, task, key, folder)
    except Exception as exc:  # a thread has nobody to tell: the task says it
        task.state, task.error = "failed", public(f"the task stopped: {exc}", vault)
        with contextlib.suppress(OSError):
            task.save(folder)
    finally:
        if holding is not None:
            holding.set()


def _run_in_turn(vault: Vault, task: Task, key: Ed25519PrivateKey | None, folder: Path) -> None:
    """In the queue's turn: the command in a child process, its progress and its result."""
    with one_at_a_time(vault):
        task.state = "running"
        task.save(folder)
        with subprocess.Popen(
            command(vault, task),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as child:
            assert child.stdin is not None and child.stderr is not None
            stream = child.stdout
            assert stream is not None
            # the key goes through a pipe: never in the arguments or the environment
            child.stdin.write("" if key is None else signing.export_key(key) + "\n")
            child.stdin.close()
            out: list[str] = []  # read beside stderr: a long report must not block it
            reader = threading.Thread(target=lambda: out.append(stream.read()))
            reader.start()
            last = ""
            for line in child.stderr:  # "Reading photographs: 40/80 (50 %)" lines
                if line.strip():
                    last = line.strip()
                found = _PROGRESS.search(line)
                if found:
                    task.done, task.total = int(found.group(1)), int(found.group(2))
                    task.save(folder)
            reader.join()
            code = child.wait()
    if code in (0, 3):
        try:
            task.report = json.loads("".join(out))
        except ValueError:
            task.report = {}
        if task.kind in DOWNLOADS:  # one file to download; the folder stays beside it
            folder_out = bundle_folder(vault, task)
            shutil.make_archive(str(folder_out), "zip", folder_out.parent, folder_out.name)
        task.state, task.error = "done", ""
    else:
        task.state = "failed"
        task.error = public(last.removeprefix("error: ") or f"exit {code}", vault)
    task.save(folder)


def start(vault: Vault, user: str, kind: str, **args: str) -> Task:
    """Queue a task of ``kind`` for ``user``; returns once its thread holds the task."""
    task = Task(secrets.token_hex(6), user, kind, args=args)
    command(vault, task)  # a kind that does not exist is refused before anything is kept
    task.save(folder_of(vault))
    holding = threading.Event()
    threading.Thread(target=run, args=(vault, task, holding), daemon=True).start()
    holding.wait(timeout=10)
    return task


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


@router.post("/cases/ocr")
def ocr_start(request: Request, user: Edit) -> Response:
    """Read the numbers on every live case's photographs not read yet (a task)."""
    task = start(_vault(request), user.name, "ocr")
    return back(f"/tasks/{task.id}")


@router.post("/cases/{case_id}/bundle")
def bundle_start(
    request: Request, case_id: str, user: Edit, language: Annotated[str, Form()] = "en"
) -> Response:
    """A court bundle of the case (pictures blurred in its report), made as a task and then
    downloaded as a zip; the export is recorded in the ledger like the command's."""
    from dalil import i18n
    from dalil.cases import model

    if language not in i18n.LANGUAGES:
        raise UsageError(f"unknown report language {language!r}")
    vault = _vault(request)
    with auth.connection(vault) as conn:
        case = model.case_detail(conn, case_id)["case_id"]  # a case that exists, as named
    task = start(vault, user.name, "bundle", case=str(case), language=language)
    return back(f"/tasks/{task.id}")


@router.post("/cases/{case_id}/release")
def release_start(
    request: Request,
    case_id: str,
    user: Edit,
    max_side: Annotated[int, Form(ge=256, le=8192)] = 1600,
    blur: Annotated[float, Form(ge=0, le=50)] = 0,
) -> Response:
    """A public release of the case's photographs — re-encoded, every identifying field
    removed (camera serials, GPS, names of photographers), each copy in the ledger — made as
    a task and then downloaded as a zip."""
    from dalil.cases import model

    vault = _vault(request)
    with auth.connection(vault) as conn:
        case = model.case_detail(conn, case_id)["case_id"]
    task = start(
        vault, user.name, "release", case=str(case), max_side=str(max_side), blur=f"{blur:g}"
    )
    return back(f"/tasks/{task.id}")


@router.get("/tasks/{task_id}/download")
def task_download(request: Request, task_id: TaskId, user: Edit) -> Response:
    """The zip of a court bundle made by a task — for the person who made it (or an admin)."""
    vault = _vault(request)
    task = Task.load(folder_of(vault), task_id)
    if task is None or task.kind not in DOWNLOADS or task.state != "done":
        raise NotFound(f"no finished bundle or release {task_id}")
    if task.user != user.name and not user.may("users"):
        raise HTTPException(403, "this bundle was made by someone else")
    archive = bundle_folder(vault, task).with_suffix(".zip")
    if not archive.is_file():
        raise NotFound(f"the bundle of task {task_id} is no longer there")
    return FileResponse(archive, media_type="application/zip", filename=archive.name)


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: TaskId, user: Edit) -> Response:
    """A task's progress and result (the page polls itself while the task runs), for the
    roles that may start tasks: a bundle's hash and who made it are not for every role."""
    folder = folder_of(_vault(request))
    task = Task.load(folder, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.state in ACTIVE:
        with flock(folder / f"{task.id}.lock", wait=False) as free:
            if free and (fresh := Task.load(folder, task_id)) and fresh.state in ACTIVE:
                # nobody runs it: its server stopped (restarted, killed) before it finished
                task = fresh
                task.state = "failed"
                task.error = "the server stopped before the task finished: start it again"
                task.save(folder)
    partial = bool(request.headers.get("hx-request"))
    template = "_task.html" if partial else "task.html"
    return page(request, template, task=task, kinds=KINDS)
