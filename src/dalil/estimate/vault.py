"""The capture table of a vault's lists: who is on which list, from the linkage people did.

A **person** is a group of records of the chosen lists joined by links: links two reviewers
confirmed always join, rejected ones never do (however probable the model thinks them), and
the probable pairs of one recorded linkage run (``dalil link``) at or above a threshold join
what people have not settled. A person's **capture pattern** says which lists hold at least
one of their records (two records of one list count once). Only links between records of the
chosen lists are used: a family report or a case does not join two list records.

With strata, each person's stratum is the value most of their records give for a field
(``sex``, ``birth_decade`` …); people whose records give none are stratum ``unknown``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.estimate import STRATA_NAMES
from dalil.estimate.table import Table, TableError

UNKNOWN = "unknown"
"""The stratum of people whose records give no value for the stratum field."""


def _year(value: Any) -> int | None:
    found = re.search(r"\d{4}", str(value or ""))
    return int(found.group(0)) if found else None


def _text(name: str) -> Callable[[dict[str, Any]], str | None]:
    def read(fields: dict[str, Any]) -> str | None:
        value = " ".join(str(fields.get(name) or "").split())
        return value.casefold() or None

    return read


def _year_of(*names: str) -> Callable[[dict[str, Any]], str | None]:
    def read(fields: dict[str, Any]) -> str | None:
        year = next((y for y in (_year(fields.get(n)) for n in names) if y is not None), None)
        return None if year is None else str(year)

    return read


def _decade(fields: dict[str, Any]) -> str | None:
    year = _year(fields.get("birth_year")) or _year(fields.get("birth_date"))
    return None if year is None else f"{year // 10 * 10}s"


def _sex(fields: dict[str, Any]) -> str | None:
    value = str(fields.get("sex") or "").strip().lower()[:1]
    return value if value in ("m", "f") else None


def _digits(name: str) -> Callable[[dict[str, Any]], str | None]:
    def read(fields: dict[str, Any]) -> str | None:
        value = re.sub(r"\D", "", str(fields.get(name) or ""))
        return value or None

    return read


STRATA: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "sex": _sex,
    "birth_decade": _decade,
    "birth_year": _year_of("birth_year", "birth_date"),
    "birth_place": _text("birth_place"),
    "arrest_year": _year_of("arrest_date"),
    "arrest_place": _text("arrest_place"),
    "death_year": _year_of("death_date"),
    "branch": _digits("branch"),
}
"""Stratum fields of list records, and how each record's value is read: years from dates,
``birth_decade`` as ``1980s``, places compared as written (spacing and case folded), branches
by their digits, sex as ``m`` or ``f``."""
assert tuple(STRATA) == STRATA_NAMES, "dalil.estimate.STRATA_NAMES must name STRATA's fields"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _be(n: int) -> str:
    return "is" if n == 1 else "are"


@dataclass(slots=True)
class Capture:
    """The capture table of some lists, and what it was made from."""

    lists: tuple[str, ...]
    tables: dict[str, Table]
    strata: str | None
    inputs: list[dict[str, Any]]
    links: dict[str, Any]
    people: int
    unknown: int = 0
    disagreed: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Everything but the table (:func:`table_json`): the lists, the links used, people."""
        return {
            "lists": list(self.lists),
            "inputs": self.inputs,
            "links": self.links,
            "people": self.people,
            "strata": None
            if self.strata is None
            else {"field": self.strata, "unknown": self.unknown, "disagreed": self.disagreed},
            "notes": self.notes,
        }


def table_json(tables: dict[str, Table]) -> dict[str, Any]:
    """A capture table as the ledger keeps it: the lists, and per stratum (in order) each
    observed pattern (``"101"``: on lists 1 and 3) with its count, in dga's cell order."""
    first = next(iter(tables.values()))
    out = []
    for name, table in tables.items():
        order = np.argsort(table.patterns.astype(np.int64) @ (1 << np.arange(table.k)))
        out.append(
            {
                "stratum": name,
                "patterns": ["".join(map(str, table.patterns[i].tolist())) for i in order],
                "counts": [int(table.counts[i]) for i in order],
            }
        )
    return {"lists": list(first.lists), "strata": out}


def tables_from_json(data: dict[str, Any]) -> dict[str, Table]:
    """The tables :func:`table_json` wrote, in the same order."""
    lists = [str(n) for n in data["lists"]]
    out: dict[str, Table] = {}
    for part in data["strata"]:
        patterns = [[int(c) for c in str(p)] for p in part["patterns"]]
        out[str(part["stratum"])] = Table.of(lists, patterns, part["counts"])
    return out


def canonical(tables: dict[str, Table]) -> dict[str, Table]:
    """The tables with their patterns in dga's cell order: what the ledger records, and so
    what every estimate is computed from (a sampler's draws depend on the rows' order)."""
    return tables_from_json(table_json(tables))


def _list_inputs(conn: Db, lists: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in lists:
        row = conn.execute(
            "SELECT sha256, records, ledger_seq FROM lists WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            raise UsageError(f"no list {name!r} (see 'dalil lists')")
        out.append({"list": name, "sha256": row[0], "records": int(row[1]), "imported": row[2]})
    return out


def covering_runs(conn: Db, lists: list[str]) -> list[int]:
    """Recorded linkage runs that compared records across all of ``lists`` (``dalil link``
    or ``dalil link people``), newest first."""
    hashes = {
        str(n): str(h)
        for n, h in conn.execute(
            f"SELECT name, sha256 FROM lists WHERE name IN ({','.join('?' * len(lists))})", lists
        )
    }
    out = []
    for run, inputs in conn.execute(
        "SELECT id, inputs FROM link_runs WHERE mode IN ('link', 'people') ORDER BY id DESC"
    ):
        seen = {str(i["source"]): i.get("sha256") for i in json.loads(inputs)}
        if all(seen.get(n, "") == hashes.get(n) for n in lists):
            out.append(int(run))
    return out


def _run_of(conn: Db, lists: list[str], run: int | None) -> tuple[int, str, float]:
    """(run, mode, review threshold) of the linkage run to use."""
    covering = covering_runs(conn, lists)
    again = "dalil link " + " ".join(f"--list {n}" for n in lists)
    if run is None:
        if not covering:
            raise UsageError(
                f"no linkage run compared the lists {', '.join(lists)} with each other: run"
                f" `{again}` first (or `dalil link people`)"
            )
        run = covering[0]
    elif run not in covering:
        raise UsageError(
            f"linkage run {run} did not compare the lists {', '.join(lists)} with each other"
            f" (see 'dalil link runs'; `{again}` makes one that does)"
        )
    mode, threshold = conn.execute(
        "SELECT mode, review_threshold FROM link_runs WHERE id = ?", (run,)
    ).fetchone()
    return run, str(mode), float(threshold)


def _records(conn: Db, lists: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Record id (``LIST:ID``) → (list, canonical fields), for every record of ``lists``."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for name in lists:
        for rid, fields in conn.execute(
            "SELECT record_id, fields FROM list_records WHERE list = ? ORDER BY line", (name,)
        ):
            out[f"{name}:{rid}"] = (name, json.loads(fields))
    return out


def capture(
    conn: Db,
    lists: list[str],
    *,
    strata: str | None = None,
    run: int | None = None,
    min_probability: float | None = None,
) -> Capture:
    """The capture table of ``lists`` from their linkage: confirmed links, rejected ones kept
    apart, and the probable pairs of linkage run ``run`` (default: the newest that compared
    all of them) at or above ``min_probability`` (default: the run's review threshold, the
    lowest it recorded). Raises a usage error when no run compared these lists."""
    from dalil.linkage.review import decisions
    from dalil.similar.clusters import _Groups

    lists = list(dict.fromkeys(lists))
    if len(lists) < 2:
        raise TableError("an estimate needs at least two lists")
    if strata is not None and strata not in STRATA:
        raise UsageError(f"no stratum field {strata!r} (one of {', '.join(STRATA)})")
    inputs = _list_inputs(conn, lists)
    run, mode, recorded = _run_of(conn, lists, run)
    threshold = recorded if min_probability is None else min_probability
    if threshold < recorded:
        raise UsageError(
            f"linkage run {run} recorded only the pairs of probability {recorded} or more;"
            f" --min-probability cannot be lower"
        )
    records = _records(conn, lists)
    settled = {
        pair: verdict
        for pair, verdict in decisions(conn).items()
        if pair[0] in records and pair[1] in records
    }
    groups = _Groups()
    for rid in records:
        groups.find(rid)
    for (a, b), verdict in settled.items():
        if verdict == "rejected":
            groups.cannot.setdefault(a, set()).add(b)
            groups.cannot.setdefault(b, set()).add(a)
    confirmed = sorted(p for p, v in settled.items() if v == "confirmed")
    for a, b in confirmed:
        groups.union(a, b, force=True)
    probable = unconfirmed = kept_apart = 0
    for left, right in conn.execute(
        "SELECT left_id, right_id FROM link_candidates WHERE run = ? AND probability >= ?"
        " ORDER BY probability DESC, left_id, right_id",
        (run, threshold),
    ):
        if left not in records or right not in records:
            continue
        probable += 1
        if (left, right) in settled:
            continue  # people decided: confirmed pairs joined above, rejected never join
        unconfirmed += 1
        if groups.find(left) != groups.find(right) and not groups.union(left, right):
            kept_apart += 1
    read = STRATA[strata] if strata is not None else None
    counts: dict[str, Counter[tuple[int, ...]]] = {}
    people = unknown = disagreed = 0
    for root, members in groups.members.items():
        if groups.parent.get(root, root) != root:
            continue
        people += 1
        on = {records[m][0] for m in members}
        pattern = tuple(int(n in on) for n in lists)
        stratum = "all"
        if read is not None:
            values = Counter(v for v in (read(records[m][1]) for m in sorted(members)) if v)
            if not values:
                stratum, unknown = UNKNOWN, unknown + 1
            else:
                top = max(values.values())
                stratum = min(v for v, n in values.items() if n == top)
                disagreed += len(values) > 1
        counts.setdefault(stratum, Counter())[pattern] += 1
    if not counts:
        raise TableError(f"the lists {', '.join(lists)} hold no records")
    tables = canonical(
        {
            name: Table.of(lists, list(found), list(found.values()))
            for name, found in sorted(counts.items(), key=lambda kv: (kv[0] == UNKNOWN, kv[0]))
        }
    )
    links = {
        "run": run,
        "mode": mode,
        "min_probability": threshold,
        "confirmed": len(confirmed),
        "rejected": sum(v == "rejected" for v in settled.values()),
        "probable": probable,
        "unconfirmed": unconfirmed,
        "kept_apart": kept_apart,
    }
    notes = []
    if unconfirmed:
        notes.append(
            f"{_count(unconfirmed, 'link')} used {_be(unconfirmed)} not confirmed by reviewers:"
            f" probable pairs (probability {threshold} or more) of linkage run {run}"
        )
    if kept_apart:
        notes.append(
            f"{_count(kept_apart, 'probable link')} {_be(kept_apart)} not used: each would join"
            " records that reviewers said are different people"
        )
    if read is not None and unknown:
        notes.append(
            f"{_count(unknown, 'person', 'people')} {'has' if unknown == 1 else 'have'} no"
            f" {strata} on any record: stratum {UNKNOWN!r}"
        )
    if read is not None and disagreed:
        notes.append(
            f"the records of {_count(disagreed, 'person', 'people')} give different values of"
            f" {strata}; each is counted under the value most of their records give"
        )
    return Capture(tuple(lists), tables, strata, inputs, links, people, unknown, disagreed,
                   notes)  # fmt: skip
