"""Process pools whose workers never outlive, nor hold the locks of, the process that made them.

Pools are made while the vault's writer lock is held. A forked worker inherits the lock's file
descriptor, and ``flock`` locks belong to the open file, not the process: after ``kill -9`` of
the parent, orphaned workers kept the vault "busy". Each worker therefore closes its copies of
held lock descriptors first, and asks the kernel to kill it when its parent dies (Linux).

A forked worker also inherits every Python object of its parent. If the garbage collector of
the worker frees one of them, the finaliser runs in a process where the library's threads
and handles do not exist (a worker crashed so, collecting inherited objects of the parent's
statistics and database libraries while it read a TIFF). Each worker therefore freezes what
it inherited as its first act (:func:`gc.freeze`): it never collects those objects. The parent
is left alone, so a long-running process (the web server) that makes pools keeps collecting
its own garbage.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dalil.settings import Settings

HELD_LOCKS: set[int] = set()
"""File descriptors of locks this process holds (closed in every worker it forks)."""

_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _start(parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    gc.freeze()  # what the parent left here is never collected (nor finalised) in a worker
    _die_with(parent)
    for fd in list(HELD_LOCKS):
        with contextlib.suppress(OSError):
            os.close(fd)  # the parent keeps its own descriptor, and with it the lock
    HELD_LOCKS.clear()
    if initializer is not None:
        initializer(*initargs)


def process_pool(
    jobs: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A process pool of ``jobs`` workers that die with this process and hold no lock."""
    return ProcessPoolExecutor(
        jobs, initializer=_start, initargs=(os.getpid(), initializer, initargs)
    )


def executor(
    jobs: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    *,
    ray: str | None = None,
) -> Executor:
    """Where the per-file stages run: a local pool of ``jobs`` processes, or, with ``ray`` (a
    cluster's address; "auto" finds the local one), Ray tasks (:mod:`dalil.raypool`)."""
    if ray:
        from dalil.raypool import RayExecutor

        return RayExecutor(ray, initializer, initargs)
    return process_pool(jobs, initializer, initargs)


def ray_address(settings: Settings, given: str | None) -> str | None:
    """The Ray cluster a command uses: ``--ray ADDRESS`` if given, else the vault's
    ``executor = "ray"`` (at ``ray_address``, or the one this machine belongs to), else None."""
    if given:
        return given
    if settings.executor == "ray":
        return settings.ray_address or "auto"
    return None
