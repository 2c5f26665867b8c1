"""Named points where a test can kill the process, to prove that an interrupted run loses
nothing and resumes cleanly (``tests/ingest/test_kill_stages.py``).

``DALIL_KILL_AT=<point>[:<n>]`` kills the process (SIGKILL, as ``kill -9``) the n-th time it
reaches that point (default the first). Unset, a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_ENV = "DALIL_KILL_AT"
_seen: dict[str, int] = {}


def point(name: str) -> None:
    """A stage boundary: what came before is recorded, what comes after is not yet."""
    wanted = os.environ.get(_ENV)
    if not wanted:
        return
    where, _, nth = wanted.partition(":")
    if where != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
