"""Record linkage: the same person across lists, family reports and cases.

:func:`run` deduplicates one list, links lists with each other, or finds *people*: clusters of
records across every list, report and case. Splink (Fellegi-Sunter, EM-trained, on an embedded
DuckDB) scores candidate pairs; clusters join pairs above the threshold, people's decisions
winning (a confirmed link always joins, a rejected one never does). Each run is a
``link.run`` ledger event holding the trained model, the inputs' hashes and the candidates, so
the same links can be derived again and reviewed (:mod:`.review`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.linkage.records import COLUMNS, Source, rows_of

MODES = {"dedupe": "dedupe_only", "link": "link_only", "people": "link_and_dedupe"}


@dataclass(slots=True)
class LinkResult:
    mode: str
    inputs: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    clusters: list[dict[str, Any]]
    model: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    run: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "run": self.run,
            "inputs": self.inputs,
            "pairs": self.pairs,
            "clusters": self.clusters,
            "model": self.model,
            "notes": self.notes,
        }


def _table(rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    schema = pa.schema([(c, pa.int64() if c == "birth_year" else pa.string()) for c in COLUMNS])
    return pa.Table.from_pylist(rows, schema=schema)


def _evidence(row: dict[str, Any], labels: dict[str, dict[int, str]]) -> dict[str, Any]:
    """Per compared field: both values, how far they agree (in words) and the weight that
    agreement carries (log2 of the Bayes factor; negative counts against)."""
    from dalil.linkage.model import COMPARED, SHOWN

    out: dict[str, Any] = {}
    for name in COMPARED:
        gamma = row.get(f"gamma_{name}")
        if gamma is None:
            continue
        columns = SHOWN.get(name, (name,))
        column = next(
            (c for c in columns if row.get(f"{c}_l") is not None and row.get(f"{c}_r") is not None),
            next((c for c in columns if row.get(f"{c}_l") or row.get(f"{c}_r")), columns[0]),
        )
        out[name] = {
            "left": row.get(f"{column}_l"),
            "right": row.get(f"{column}_r"),
            "agreement": "missing" if gamma == -1 else labels[name].get(int(gamma), str(gamma)),
            "weight": round(
                float(row.get(f"mw_{name}") or 0.0) + float(row.get(f"mw_tf_adj_{name}") or 0.0), 3
            ),
        }
    return out


CLUSTER_THRESHOLD = 0.5
"""Records join one person through pairs at least this probable (or a confirmed link)."""


def predict(
    rows: list[dict[str, Any]],
    mode: str,
    threshold: float,
    model: dict[str, Any] | None = None,
) -> LinkResult:
    """Score the candidate pairs of ``rows`` at or above ``threshold`` with ``model`` (a saved
    one: the same links again), or with a model trained on ``rows`` now. Nothing is recorded."""
    import duckdb
    from splink import Linker
    from splink.backends.duckdb import DuckDBAPI

    from dalil.linkage.model import levels, train

    if len(rows) < 2:
        raise UsageError("linkage needs at least two records")
    link_type = MODES[mode]
    con = duckdb.connect()
    db = DuckDBAPI(con)
    if link_type == "link_only":
        sources = sorted({r["source_dataset"] for r in rows})
        if len(sources) < 2:
            raise UsageError("linking needs records of at least two lists")
        frames = [
            db.register(_table([r for r in rows if r["source_dataset"] == s]), table_name=f"s{i}")
            for i, s in enumerate(sources)
        ]
    else:
        frames = [db.register(_table(rows), table_name="records")]

    def make(settings: Any) -> Any:
        return Linker(frames, settings, log_level="ERROR")

    if model is None:
        linker, notes = train(make, link_type, len(rows))
    else:
        linker, notes = make({**model, "link_type": link_type}), ["the model of an earlier run"]
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    scored = predictions.as_record_list()
    model = linker.misc.save_model_to_json()
    labels = levels(model)
    pairs = sorted(
        (
            {
                "left": p["unique_id_l"],
                "right": p["unique_id_r"],
                "probability": round(float(p["match_probability"]), 6),
                "evidence": _evidence(p, labels),
            }
            for p in scored
        ),
        key=lambda p: (-p["probability"], p["left"], p["right"]),
    )
    con.close()
    return LinkResult(mode, [], pairs, [], model, notes)


def cluster(
    ids: list[str],
    pairs: list[dict[str, Any]],
    threshold: float,
    decisions: dict[tuple[str, str], str],
) -> list[dict[str, Any]]:
    """People: records joined by pairs at or above ``threshold``, strongest first, never across
    a rejected link; confirmed links always join."""
    from dalil.similar.clusters import _Groups

    groups = _Groups()
    for rid in ids:
        groups.find(rid)
    for (a, b), verdict in decisions.items():
        if verdict == "rejected":
            groups.cannot.setdefault(a, set()).add(b)
            groups.cannot.setdefault(b, set()).add(a)
    for (a, b), verdict in sorted(decisions.items()):
        if verdict == "confirmed":
            groups.union(a, b, force=True)
    for pair in pairs:
        if pair["probability"] >= threshold:
            groups.union(pair["left"], pair["right"])
    out = []
    for root, members in groups.members.items():
        if groups.parent.get(root, root) == root and len(members) > 1:
            records = sorted(members)
            person = "person-" + hashlib.sha256("\n".join(records).encode()).hexdigest()[:12]
            out.append({"person": person, "records": records})
    return sorted(out, key=lambda c: c["records"])


def run(
    conn: Db,
    mode: str,
    sources: list[Source],
    *,
    threshold: float = 0.5,
    model: dict[str, Any] | None = None,
) -> LinkResult:
    """Score and cluster the sources' records; the result is recorded by :func:`record`.
    ``threshold`` chooses the pairs returned; people are always made of the pairs at or above
    :data:`CLUSTER_THRESHOLD` and people's decisions."""
    from dalil.linkage.review import decisions

    rows = rows_of(conn, sources)
    result = predict(rows, mode, min(threshold, CLUSTER_THRESHOLD), model)
    result.inputs = _inputs(conn, sources, rows)
    ids = [r["unique_id"] for r in rows]
    result.clusters = cluster(ids, result.pairs, CLUSTER_THRESHOLD, decisions(conn))
    result.pairs = [p for p in result.pairs if p["probability"] >= threshold]
    return result


def saved_model(conn: Db, run: int) -> dict[str, Any]:
    """The model a recorded run used (from its ledger payload)."""
    row = conn.execute("SELECT model FROM link_runs WHERE id = ?", (run,)).fetchone()
    if row is None:
        raise UsageError(f"no linkage run {run} (see 'dalil link runs')")
    model: dict[str, Any] = json.loads(row[0])
    return model


def runs(conn: Db) -> list[dict[str, Any]]:
    """Every recorded run, newest first."""
    return [
        {"run": r[0], "mode": r[1], "inputs": json.loads(r[2]), "candidates": r[3],
         "people": r[4], "notes": json.loads(r[5]), "created_by": r[6], "created_at": r[7]}
        for r in conn.execute(
            "SELECT r.id, r.mode, r.inputs, (SELECT COUNT(*) FROM link_candidates c"
            " WHERE c.run = r.id), r.people, r.notes, r.created_by, r.created_at"
            " FROM link_runs r ORDER BY r.id DESC"
        )
    ]  # fmt: skip


def _inputs(conn: Db, sources: list[Source], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["source_dataset"]] = counts.get(r["source_dataset"], 0) + 1
    out = []
    for source in sources:
        entry: dict[str, Any] = {"source": source.label, "records": counts.get(source.label, 0)}
        if source.kind == "list":
            row = conn.execute("SELECT sha256 FROM lists WHERE name = ?", (source.name,)).fetchone()
            entry["sha256"] = row[0] if row else None
        else:
            digest = hashlib.sha256(
                json.dumps([r for r in rows if r["source_dataset"] == source.label],
                           sort_keys=True, ensure_ascii=False).encode()
            ).hexdigest()  # fmt: skip
            entry["sha256_of_rows"] = digest
        out.append(entry)
    return out
