#!/usr/bin/env python3
"""Case search at scale: 100,000 cases over 1,000,000 items (issue goal: < 50 ms per answer).

A real vault is created and its catalogue filled in bulk with synthetic rows shaped like the
real thing: items with camera metadata (3-20 photos per case, 6 cameras), three identifiers per
case (detainee, branch, forensic report, ~2 % with a second, conflicting reading), attributes,
notes with words from a small vocabulary, full-text rows and fuzzy-identifier keys written by
the same code the product uses (``model.fuzzy_keys``, ``model.refresh``' text). The rows do not
go through the ledger (that is not what is measured). Then each kind of query is run with
random values, through ``dalil.cases.search.search``, and timed: p50/p95/max ms, printed with
the ratio to the 50 ms goal and to a same-run baseline (one indexed primary-key lookup plus
one row fetch, the least a query can cost).

With ``--catalog postgresql`` the vault's catalogue is on PostgreSQL (a server this benchmark
starts, as the tests do: tests/pgcluster.py), or ``--catalog postgresql://HOST:PORT/`` for a
server of yours; the same queries, the same code, the same goal.

Usage: python bench/search.py [--cases 100000] [--items 1000000] [--runs 40] [--catalog …]
[--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
from dalil.cases.model import fuzzy_keys
from dalil.cases.search import IdentifierFilter, SearchQuery, search
from dalil.catalog.db import Db, write_text
from dalil.vault import Vault

WORDS = [
    "scar",
    "bruise",
    "torn",
    "card",
    "blue",
    "ink",
    "branch",
    "corridor",
    "hospital",
    "shirt",
    "beard",
    "grey",
    "tall",
    "thin",
    "young",
    "old",
    "tattoo",
    "ring",
    "eye",
    "left",
    "right",
    "hand",
    "arm",
    "leg",
    "chest",
    "back",
    "unknown",
    "number",
    "written",
    "photo",
    "table",
]


def build(root: Path, n_cases: int, n_items: int, seed: int, catalog: str) -> dict[str, Any]:
    rng = random.Random(seed)
    vault = Vault.init(root, "bench", "bench password 123", catalog=catalog)
    conn = vault.connect()
    started = time.perf_counter()
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO acquisitions (id, label, source_label, actor, sources, opened_at)"
        " VALUES (1, 'A0001', 'bench', 'bench', '[]', '2026-01-01T00:00:00Z')"
    )
    serials = [f"SN{rng.randrange(10**7):07d}" for _ in range(6)]
    items: list[str] = []
    batch: list[tuple[Any, ...]] = []
    meta: list[tuple[Any, ...]] = []
    for i in range(n_items):
        sha = f"{rng.getrandbits(256):064x}"
        items.append(sha)
        batch.append((sha, 3_000_000, "image/jpeg", 1, "2026-01-01T00:00:00Z"))
        day = f"2013-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        meta.append((sha, "Canon", "EOS", rng.choice(serials), f"{day}T10:00:00", "{}"))
        if len(batch) == 100_000:
            _flush_items(conn, batch, meta)
            common.log(f"  {i + 1:,} items")
    _flush_items(conn, batch, meta)
    common.log(f"  items: {time.perf_counter() - started:.0f} s")
    per_case = max(1, n_items // n_cases)
    cases, links, notes, keys, texts = [], [], [], [], []
    annotation_id = 0
    seq = 0
    for c in range(n_cases):
        pk = c + 1
        case_id = f"P-{pk:05d}"
        members = items[c * per_case : (c + 1) * per_case]
        detainee = str(rng.randint(1000, 99999))
        branch = str(rng.choice((215, 227, 235, 251, 248, 291)))
        report = str(rng.randint(1000, 9999))
        day = f"2013-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        status = rng.choice(("proposed", "open", "open", "candidate-identified", "identified"))
        cams = sorted({rng.choice(serials) for _ in range(2)})
        note = " ".join(rng.sample(WORDS, 5))
        cases.append(
            (
                pk,
                case_id,
                "person",
                f"Person {case_id}",
                status,
                note,
                "bench",
                day,
                day,
                rng.choice(("male", "female")),
                day,
                branch,
                "".join(f" {s} " for s in cams),
                "",
                len(members),
            )
        )
        links += [(pk, sha, "other", "bench", day) for sha in members]
        values = [("detainee", detainee), ("branch", branch), ("report", report)]
        if rng.random() < 0.02:
            values.append(("detainee", detainee[:-1] + str((int(detainee[-1]) + 1) % 10)))
        for field, value in values:
            annotation_id += 1
            seq += 1
            notes.append(
                (
                    annotation_id,
                    pk,
                    "identifier",
                    field,
                    value,
                    "person",
                    None,
                    None,
                    None,
                    "bench",
                    day,
                    rng.choice(("unverified", "verified")),
                    seq,
                )
            )
            keys += [(k, annotation_id) for k in fuzzy_keys(value)]
        body = " ".join(
            [case_id, f"Person {case_id}", note, status, "person"]
            + [f"{f} {v}" for f, v in values]
            + ["Canon EOS", *cams, day]
        )
        texts.append((pk, case_id, body))
    conn.executemany(
        "INSERT INTO cases (id, case_id, kind, title, status, notes, created_by, created_at,"
        " updated_at, sex, photographed_on, branch, cameras, flags, items)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cases,
    )
    conn.executemany(
        "INSERT INTO case_items (case_pk, sha256, role, linked_by, linked_at)"
        " VALUES (?, ?, ?, ?, ?)",
        links,
    )
    conn.executemany(
        "INSERT INTO annotations (id, case_pk, kind, field, value, source, confidence, item,"
        " region, author, created_at, state, ledger_seq) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        notes,
    )
    conn.executemany("INSERT INTO identifier_keys VALUES (?, ?) ON CONFLICT DO NOTHING", keys)
    for pk, case_id, body in texts:
        write_text(conn, "case_text", pk, case_id, body)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    if vault.on_postgres:
        size = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
    else:
        conn.execute("INSERT INTO case_text (case_text) VALUES ('optimize')")
        size = (root / "catalog.sqlite").stat().st_size
    conn.commit()
    conn.close()
    return {
        "build_s": round(time.perf_counter() - started, 1),
        "catalogue_mb": round(size / 2**20, 1),
        "annotations": annotation_id,
        "identifier_keys": len(keys),
        "detainees": [n[4] for n in notes if n[3] == "detainee"],
        "serials": serials,
    }


def _flush_items(conn: Db, batch: list[tuple[Any, ...]], meta: list[tuple[Any, ...]]) -> None:
    conn.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", batch)
    conn.executemany(
        "INSERT INTO metadata (sha256, camera_make, camera_model, camera_serial, captured_at, raw)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        meta,
    )
    batch.clear()
    meta.clear()


def _time(fn: Callable[[], object], runs: int) -> dict[str, float]:
    fn()  # warm
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.95))], 2),
        "max_ms": round(ms[-1], 2),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    where = "pg" if args.catalog else "sqlite"
    root = args.workdir / f"search-{where}-{args.cases}-{args.items}-s{args.seed}"
    saved = root.with_suffix(".json")
    if args.reuse and saved.is_file() and (root / "dalil.toml").is_file():
        built = json.loads(saved.read_text())
        common.log(f"reusing {root}")
    else:
        common.remove(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        common.log(f"building a vault with {args.cases:,} cases and {args.items:,} items ...")
        built = build(root, args.cases, args.items, args.seed, args.catalog)
        saved.write_text(json.dumps(built))
    detainees, serials = built.pop("detainees"), built.pop("serials")
    common.log(f"built in {built['build_s']} s ({built['catalogue_mb']} MB)")
    vault = Vault.open(root)
    conn = vault.connect(readonly=True)
    rng = random.Random(args.seed + 1)

    def q(**kw: Any) -> Callable[[], object]:
        return lambda: search(conn, SearchQuery(**kw))

    def pick(make: Callable[[], SearchQuery]) -> Callable[[], object]:
        return lambda: search(conn, make())

    def slip(v: str) -> str:
        i = rng.randrange(len(v))
        return v[:i] + str((int(v[i]) + 3) % 10) + v[i + 1 :]

    queries: dict[str, Callable[[], object]] = {
        "text: one word": pick(lambda: SearchQuery(text=rng.choice(WORDS))),
        "text: two words, prefix": pick(
            lambda: SearchQuery(text=f"{rng.choice(WORDS)} {rng.choice(WORDS)[:3]}")
        ),
        "identifier exact": pick(
            lambda: SearchQuery(
                identifiers=(IdentifierFilter("detainee", rng.choice(detainees), "exact"),)
            )
        ),
        "identifier prefix (3 digits)": pick(
            lambda: SearchQuery(
                identifiers=(IdentifierFilter("detainee", rng.choice(detainees)[:3], "prefix"),)
            )
        ),
        "identifier one digit off": pick(
            lambda: SearchQuery(
                identifiers=(IdentifierFilter("detainee", slip(rng.choice(detainees)), "fuzzy"),)
            )
        ),
        "branch + status": q(branch="215", status=("open",)),
        "camera + date range": pick(
            lambda: SearchQuery(
                camera=rng.choice(serials), date_from="2013-03-01", date_to="2013-04-15"
            )
        ),
        "text + branch + date, sorted by date": pick(
            lambda: SearchQuery(
                text=rng.choice(WORDS), branch="227", date_from="2013-06-01", sort="photographed"
            )
        ),
        "everything, page 200": q(page=200, per_page=20),
    }
    baseline = _time(
        lambda: conn.execute(
            "SELECT * FROM cases WHERE id = ?", (rng.randint(1, args.cases),)
        ).fetchone(),
        args.runs,
    )
    results: dict[str, Any] = {"setup": built, "baseline_pk_lookup": baseline, "queries": {}}
    for name, fn in queries.items():
        timing = _time(fn, args.runs)
        timing["ratio_to_goal"] = round(timing["p50_ms"] / 50.0, 3)
        timing["ratio_to_baseline"] = round(timing["p50_ms"] / max(baseline["p50_ms"], 1e-3), 1)
        results["queries"][name] = timing
        common.log(f"  {name}: {timing}")
    conn.close()
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"case search ({'PostgreSQL' if args.catalog else 'SQLite'}):"
        f" {args.cases:,} cases, {args.items:,} items; "
        f"catalogue {results['setup']['catalogue_mb']} MB,"
        f" built in {results['setup']['build_s']} s",
        f"baseline (one primary-key lookup): p50 {results['baseline_pk_lookup']['p50_ms']} ms",
    ]
    rows = [("query", "p50 ms  p95 ms  max ms  p50/50ms goal")]
    for name, t in results["queries"].items():
        rows.append(
            (
                name,
                f"{t['p50_ms']:>6}  {t['p95_ms']:>6}  {t['max_ms']:>6}  "
                f"{t['ratio_to_goal']:.2f} {'MET' if t['p95_ms'] < 50 else 'not met'}",
            )
        )
    lines.append(common.table(rows))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40, help="timed runs per query kind")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=common.DEFAULT_WORKDIR)
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the vault a previous run built (same sizes)"
    )
    parser.add_argument(
        "--catalog",
        default="",
        help="postgresql (a server started here) or postgresql://HOST:PORT/; default: SQLite",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    cluster = None
    if args.catalog == "postgresql":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.pgcluster import Cluster

        # memory as a server for a catalogue of this size would be given (PostgreSQL's
        # defaults are for a small machine: 128 MB of shared buffers)
        cluster = Cluster("-c shared_buffers=1GB -c effective_cache_size=4GB -c work_mem=64MB")
        args.catalog = cluster.start()
        args.reuse = False  # the server, and its databases, end with this run
    try:
        results = run(args)
    finally:
        if cluster is not None:
            cluster.stop()
    results["catalog"] = "postgresql" if args.catalog else "sqlite"
    results["machine"] = common.machine()
    path = common.write_results("search-pg" if args.catalog else "search", results)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(report(results, args))
        print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
