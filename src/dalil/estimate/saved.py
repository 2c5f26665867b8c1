"""Estimates saved in the ledger, so that a number in a report can be reproduced exactly.

:func:`record` appends one ``estimate.saved`` event per estimate. Its payload holds what the
number was computed from — the capture table itself (counts per pattern and stratum), the lists
and the SHA-256 of each list's original file, the linkage run and how many confirmed and
unconfirmed links were used (or the table file's SHA-256) —, the method, seed, draws and level,
the code version, the whole result, and a histogram of the posterior draws (or bootstrap
replicates) for the web page. :func:`rerun` computes the estimate again from the recorded
inputs and says whether the numbers are identical.

The histogram is kept rather than recomputed on each view: the latent-class sampler can take
tens of seconds, and 40 bins cost a few hundred bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

import dalil
from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.errors import IntegrityError, UsageError
from dalil.estimate import MAX_LISTS, METHODS, MIN_LISTS
from dalil.estimate.result import Estimate
from dalil.estimate.run import estimate
from dalil.estimate.table import Table, TableError
from dalil.estimate.vault import Capture, canonical, table_json, tables_from_json
from dalil.ledger.log import Ledger, payload_digest
from dalil.ledger.merkle import leaf_hash

ACTION = "estimate.saved"
BINS = 40
"""Bars of the histogram kept with an estimate."""


def methods_for(method: str) -> list[str]:
    """The methods ``method`` names (``all``: every one)."""
    if method == "all":
        return list(METHODS)
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r} (one of {', '.join(METHODS)}, or all)")
    return [method]


def compute(
    tables: dict[str, Table],
    method: str,
    *,
    seed: int,
    draws: int,
    level: float,
) -> tuple[list[Estimate], list[str]]:
    """The estimates of ``method`` (``all``: each method the table has enough lists for, and
    that can estimate from it), and notes of the methods left out and why. The tables are
    taken in their canonical order (:func:`~dalil.estimate.vault.canonical`), as
    :func:`record` keeps them."""
    tables = canonical(tables)
    k = next(iter(tables.values())).k
    chosen = methods_for(method)
    notes = []
    if method == "all":
        usable = [m for m in chosen if MIN_LISTS[m] <= k <= MAX_LISTS[m]]
        notes = [f"{m} left out: it needs at least {MIN_LISTS[m]} lists, the table has {k}"
                 for m in chosen if k < MIN_LISTS[m]]  # fmt: skip
        notes += [f"{m} left out: it takes at most {MAX_LISTS[m]} lists, the table has {k}"
                  for m in chosen if k > MAX_LISTS[m]]  # fmt: skip
        if not usable:
            raise TableError(f"no method can estimate from {k} list(s)")
        chosen = usable
    out: list[Estimate] = []
    failed: list[UsageError] = []
    for m in chosen:
        try:
            out.append(estimate(tables, m, seed=seed, draws=draws, level=level))
        except UsageError as exc:  # with all, one method's failure leaves the others
            if method != "all":
                raise
            failed.append(exc)
            notes.append(f"{m} left out: {exc}")
    if not out:
        raise failed[0]
    return out, notes


def plain(value: Any) -> Any:
    """``value`` with numpy numbers and arrays made plain Python, and infinite or undefined
    numbers made ``None`` (what standard JSON can hold: an interval with no upper end ends in
    ``null``)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def histogram(result: Estimate) -> dict[str, Any] | None:
    """Bars of the draws of N between their 0.5th and 99.5th percentiles (a few far draws
    would squeeze the rest into one bar); how many fell outside, below and above."""
    if result.draws is None or result.draws.size == 0:
        return None
    draws = np.asarray(result.draws, dtype=float)
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return None
    lo, hi = (float(v) for v in np.quantile(draws, [0.005, 0.995]))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(draws, bins=BINS, range=(lo, hi))
    return {
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "below": int((draws < lo).sum()),
        "above": int((draws > hi).sum()),
        "draws": int(draws.size),
    }


def savable(result: Estimate) -> bool:
    """Whether ``result`` has a number to save (the log-linear method may have none)."""
    return math.isfinite(result.estimate)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record(
    conn: Db,
    ledger: Ledger,
    actor: str,
    results: list[Estimate],
    tables: dict[str, Table],
    *,
    capture: Capture | None = None,
    table_file: Path | None = None,
    strata: str | None = None,
) -> list[int]:
    """Save each estimate as one ``estimate.saved`` event (by ``actor``, who must hold the
    ``estimates`` permission); returns their numbers. ``capture`` says how the table was made
    from the vault's lists, ``table_file`` names the CSV it was read from instead."""
    from dalil.users import require

    require(conn, actor, "estimates", "save estimates")
    for result in results:
        if not savable(result):
            raise UsageError(
                f"the {result.method} method gave no estimate (the lists overlap too little to"
                " bound the number of people on none of them): there is no number to save"
            )
    table = table_json(tables)
    source: dict[str, Any]
    if capture is not None:
        source = {"source": "lists", "capture": capture.to_json()}
        strata = capture.strata
    elif table_file is not None:
        source = {
            "source": "table",
            "file": {"name": Path(table_file).name, "sha256": file_sha256(table_file)},
        }
    else:
        raise UsageError("an estimate is saved with where its table came from")
    out = []
    with atomic(conn):
        for result in results:
            summary = plain(result.to_json())
            payload = {
                **source,
                "method": result.method,
                "seed": int(result.settings.get("seed", 0)),
                "draws": int(result.settings.get("draws", 0)),
                "level": float(result.level),
                "code": dalil.__version__,
                "lists": list(table["lists"]),
                "strata": strata,
                "table": table,
                "result": summary,
                "histogram": histogram(result),
            }
            event = ledger.append(
                actor,
                ACTION,
                f"estimate:{result.method}",
                {
                    "method": result.method,
                    "lists": payload["lists"],
                    "observed": summary["observed"],
                    "estimate": summary["estimate"],
                    "interval": summary["interval"],
                    "level": payload["level"],
                    "code": payload["code"],
                },
                payload,
            )
            out.append(int(event["seq"]))
    return out


_COLUMNS = (
    "number", "method", "source", "lists", "strata", "observed", "estimate", "lower", "upper",
    "level", "seed", "draws", "warnings", "code", "created_by", "created_at",
)  # fmt: skip


def runs(conn: Db, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Saved estimates, newest first (at most ``limit``), and how many there are."""
    total = int(conn.execute("SELECT COUNT(*) FROM estimates").fetchone()[0])
    rows = conn.execute(
        "SELECT id, method, source, lists, strata, observed, estimate, lower, upper, level,"
        " seed, draws, warnings, code, created_by, created_at FROM estimates"
        " ORDER BY id DESC LIMIT ?",
        (-1 if limit is None else limit,),
    ).fetchall()
    out = []
    for row in rows:
        entry = dict(zip(_COLUMNS, row, strict=True))
        entry["lists"] = json.loads(entry["lists"])
        entry["warnings"] = json.loads(entry["warnings"])
        entry["interval"] = [entry.pop("lower"), entry.pop("upper")]
        out.append(entry)
    return out, total


def show(conn: Db, number: int) -> dict[str, Any]:
    """A saved estimate: what it was made from and its whole result (the event's payload),
    with its number, who saved it and when — all read from the ledger event and checked
    against it (the payload's SHA-256 recorded in the event, the event's own leaf hash), so
    that an altered record is refused (:class:`IntegrityError`) rather than shown.
    ``dalil verify`` checks the rest (the chain, the signatures, the catalogue's row)."""
    found = conn.execute(
        "SELECT l.event, l.leaf_hash, p.data FROM estimates e JOIN ledger l ON l.seq = e.id"
        " LEFT JOIN payloads p ON p.seq = e.id WHERE e.id = ?",
        (number,),
    ).fetchone()
    if found is None:
        raise UsageError(f"no saved estimate {number} (see 'dalil estimate runs')")
    text, leaf, data = str(found[0]), bytes(found[1]), found[2]
    event: dict[str, Any] = json.loads(text)
    details = event.get("details") or {}
    if (
        leaf_hash(text.encode("utf-8")) != leaf
        or event.get("action") != ACTION
        or data is None
        or payload_digest(str(data).encode("utf-8")) != details.get("payload")
    ):
        raise IntegrityError(
            f"saved estimate {number} is not as the ledger recorded it: it was altered"
            " (run 'dalil verify')"
        )
    payload: dict[str, Any] = json.loads(data)
    return {"number": number, "created_by": event["actor"], "created_at": event["time"], **payload}


def _key_numbers(result: dict[str, Any]) -> dict[str, Any]:
    out = {
        "observed": result["observed"],
        "estimate": float(result["estimate"]),
        "interval": [None if v is None else float(v) for v in result["interval"]],
    }
    for name, part in (result.get("strata") or {}).items():
        out[f"stratum {name}"] = _key_numbers(part)
    return out


def rerun(conn: Db, number: int) -> dict[str, Any]:
    """Compute saved estimate ``number`` again from its recorded inputs (the capture table,
    method, seed, draws, level) and compare: ``identical`` when the observed count, the
    estimate and the interval (and each stratum's) are the same to the last bit. For an
    estimate from the vault's lists, also says whether the capture table built from the vault
    today, with the same linkage run, is still the recorded one (``table_now_same``: links
    reviewed since change it)."""
    saved = show(conn, number)
    tables = tables_from_json(saved["table"])
    again = estimate(
        tables, saved["method"], seed=saved["seed"], draws=saved["draws"], level=saved["level"]
    )
    now = plain(again.to_json())
    recorded, computed = _key_numbers(saved["result"]), _key_numbers(now)
    differences = [
        {"what": k, "recorded": recorded.get(k), "now": computed.get(k)}
        for k in sorted(set(recorded) | set(computed))
        if recorded.get(k) != computed.get(k)
    ]
    out: dict[str, Any] = {
        "number": number,
        "method": saved["method"],
        "identical": not differences,
        "differences": differences,
        "recorded": saved["result"],
        "now": now,
        "code": {"recorded": saved["code"], "now": dalil.__version__},
        "table_now_same": None,
    }
    if saved["source"] == "lists":
        out["table_now_same"] = _table_now_same(conn, saved)
    return out


def _table_now_same(conn: Db, saved: dict[str, Any]) -> bool | None:
    """Whether the vault's lists give the recorded capture table today (None: they cannot,
    e.g. the linkage run is gone)."""
    from dalil.estimate.vault import capture

    links = saved["capture"]["links"]
    try:
        found = capture(
            conn,
            saved["lists"],
            strata=saved["strata"],
            run=links["run"],
            min_probability=links["min_probability"],
        )
    except UsageError:
        return None
    return bool(table_json(found.tables) == saved["table"])
