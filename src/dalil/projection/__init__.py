"""The catalogue as a projection of the ledger.

Every fact the catalogue holds — acquisitions, items, places found, flags, metadata,
fingerprints, derivatives, links and clusters, users, cases, claims and reviews, lists, linkage
runs and saved estimates — is written by a **projector**: a function of one ledger event and
its payload. Writers never touch those tables; they append an event
(:meth:`dalil.ledger.log.Ledger.append`), which applies it. So:

- ``dalil verify`` replays the whole ledger into an empty catalogue and compares every row of
  every table with the real one (:mod:`dalil.projection.compare`);
- ``dalil catalog rebuild`` replays it into a new catalogue file, the recovery path when the
  catalogue is lost or damaged (:mod:`dalil.projection.rebuild`).

Projectors must depend only on the event, its payload and the catalogue rows earlier events
made — never on the clock, the file system or settings — so that a replay gives the same rows.
Events written before Dalil bound the catalogue to the ledger carry no payload and project
nothing; the ``catalog.bound`` event that follows them holds the catalogue as it then was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dalil.catalog.db import Db
from dalil.timeutil import utc_now


@dataclass(frozen=True, slots=True)
class Fact:
    """One event being applied: its fields and its payload."""

    event: dict[str, Any]
    payload: dict[str, Any]

    @property
    def seq(self) -> int:
        return int(self.event["seq"])

    @property
    def time(self) -> str:
        return str(self.event["time"])

    @property
    def actor(self) -> str:
        return str(self.event["actor"])

    @property
    def details(self) -> dict[str, Any]:
        found: dict[str, Any] = self.event.get("details") or {}
        return found


Projector = Callable[[Db, Fact], None]

_PROJECTORS: dict[str, Projector] = {}
_MODULES = ("items", "people", "grouping", "cases", "bound", "lists", "estimates")
_loaded = False

# Connections replaying the ledger: cluster assembly, a whole-vault computation, waits until
# the end of the replay (it depends only on the final links and decisions).
_replaying: dict[int, str] = {}


def projects(*actions: str) -> Callable[[Projector], Projector]:
    """Register a projector for ``actions``."""

    def register(func: Projector) -> Projector:
        for action in actions:
            if action in _PROJECTORS:
                raise RuntimeError(f"two projectors for {action}")
            _PROJECTORS[action] = func
        return func

    return register


def _registry() -> dict[str, Projector]:
    global _loaded
    if not _loaded:
        import importlib

        for name in _MODULES:
            importlib.import_module(f"dalil.projection.{name}")
        _loaded = True
    return _PROJECTORS


def projected_actions() -> frozenset[str]:
    return frozenset(_registry())


def apply(
    conn: Db,
    event: dict[str, Any],
    payload: dict[str, Any] | None,
    leaf_hex: str,
) -> None:
    """Apply one event to the catalogue and advance the projection mark. Events without a
    payload (made before binding, or recording acts that change no fact) change no row."""
    projector = _registry().get(str(event.get("action")))
    if projector is not None and payload is not None:
        projector(conn, Fact(event, payload))
    conn.execute(
        "UPDATE projection SET seq = ?, head = ? WHERE id = 1", (int(event["seq"]) + 1, leaf_hex)
    )


def clusters_changed(conn: Db, time: str) -> None:
    """Links or decisions changed: reassemble clusters now, or at the end of a replay."""
    if id(conn) in _replaying:
        _replaying[id(conn)] = time
        return
    from dalil.similar.clusters import assemble

    assemble(conn, time)


def begin_replay(conn: Db) -> None:
    _replaying[id(conn)] = ""


def end_replay(conn: Db) -> None:
    time = _replaying.pop(id(conn), "")
    if time:
        from dalil.similar.clusters import assemble

        assemble(conn, time)


def mark(conn: Db) -> tuple[int | None, str]:
    """How far the catalogue follows the ledger: (events applied or None if unbound, head)."""
    row = conn.execute("SELECT seq, head FROM projection WHERE id = 1").fetchone()
    if row is None:
        return None, ""
    return (None if row[0] is None else int(row[0])), str(row[1])


def now() -> str:
    return utc_now()
