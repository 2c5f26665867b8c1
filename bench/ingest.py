"""Benchmark ``dalil ingest`` against the native floor on the same camera JPEGs.

    .venv/bin/python bench/ingest.py [--n 2000] [--workdir DIR] [--jobs 2] [--keep] [--json]

The floor is what any ingest must at least do, done by native tools with the same number of
processes (three ``xargs -P JOBS`` passes, each timed): copy every file (``cp``), hash it
(``sha256sum``) and decode it at 1/8 scale (``djpeg -scale 1/8``). Dalil's wall clock is
reported as a ratio to that floor (target <= 1.0) and as images per second (target >= 40).
No timing is asserted; the script fails only if Dalil fails or ingests the wrong count.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import common

TARGET_RATIO = 1.0
TARGET_IMAGES_PER_S = 40.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_run_options(
        parser,
        workdir_help="generated photos (cached), vault and copies",
        jobs_help="processes for Dalil and for every baseline pass",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the vault and the baseline's copies (bench/verify.py reuses the vault)",
    )
    parser.add_argument(
        "--no-group",
        action="store_true",
        help="pass --no-group: no near-duplicate features or grouping "
        "(the stages of the original ingest target only)",
    )
    parser.add_argument(
        "--gen-procs",
        type=int,
        default=None,
        help="processes generating photos (default: every core)",
    )
    args = parser.parse_args(argv)
    common.check_run_options(parser, args)
    return args


def vault_dir(workdir: Path, n: int) -> Path:
    return workdir / f"vault-{n}"


def ingest_marker(workdir: Path, n: int) -> Path:
    """Written after a complete ingest of set-N into vault-N: its JSON report."""
    return workdir / f"vault-{n}.ingested.json"


def run_floor(
    source: Path, files: list[Path], workdir: Path, jobs: int, keep: bool
) -> dict[str, Any]:
    copy_to = workdir / "floor-copy"
    common.remove(copy_to)
    copy_to.mkdir(parents=True)
    # Parallel `cp --parents` processes race to create the same folders: make them first
    # (untimed; Dalil's store creates its fan-out folders as it goes).
    for folder in {f.parent for f in files}:
        (copy_to / folder).mkdir(parents=True, exist_ok=True)
    common.sync()
    warm = common.warm_cache([source / f for f in files])
    common.log(warm.describe())
    per_call = common.batch_size(len(files), jobs)
    passes = [
        common.xargs_pass(
            "cp", files, source, jobs, per_call, ["cp", "--parents", "-t", str(copy_to)]
        ),
        common.xargs_pass("sha256sum", files, source, jobs, per_call, ["sha256sum"]),
    ]
    djpeg = shutil.which("djpeg")
    skipped = None
    if djpeg is None:
        skipped = (
            "djpeg not found (Debian: apt-get install libjpeg-turbo-progs): the floor "
            "leaves out decoding, so the ratio is harsher on Dalil than it should be"
        )
        common.log(f"WARNING: {skipped}")
    else:  # djpeg takes one input file per run
        passes.append(
            common.xargs_pass(
                "djpeg", files, source, jobs, 1, [djpeg, "-scale", "1/8", "-outfile", "/dev/null"]
            )
        )
    # coreutils' sha256sum does not use the CPU's SHA instructions; OpenSSL (and so Python's
    # hashlib, which Dalil uses) does. Time it too, as a stricter floor, outside the total.
    openssl = shutil.which("openssl")
    strict = None
    if openssl is not None:
        strict = common.xargs_pass(
            "openssl-sha256", files, source, jobs, per_call, [openssl, "dgst", "-sha256", "-r"]
        )
    flush = common.sync()  # the copies reach the disk: Dalil fsyncs each object by default
    if not keep:
        common.remove(copy_to)
    total = sum(p.seconds for p in passes)
    strict_total = None
    if strict is not None:
        strict_total = total - passes[1].seconds + strict.seconds
        passes.append(strict)
    return {
        "method": "three separate xargs passes over the same file list (cwd = the source): "
        "cp --parents, sha256sum, djpeg -scale 1/8 -outfile /dev/null; "
        "seconds = their sum. seconds_openssl: the same with the sha256sum pass "
        "replaced by openssl dgst -sha256 (uses the CPU's SHA instructions, as "
        "Python's hashlib does)",
        "processes": jobs,
        "files_per_invocation": per_call,
        "passes": {
            p.name: {
                "seconds": round(p.seconds, 3),
                "command": p.command,
                "other_cpu_share": p.other_cpu_share,
            }
            for p in passes
        },
        "seconds": round(total, 3),
        "seconds_openssl": None if strict_total is None else round(strict_total, 3),
        "sync_after_cp_seconds": round(flush, 3),
        "seconds_with_sync": round(total + flush, 3),
        "skipped": skipped,
        "cache": warm.describe(),
    }


def run_dalil(
    source: Path, files: list[Path], workdir: Path, n: int, jobs: int, *, group: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    dalil = common.dalil_executable()
    vault = vault_dir(workdir, n)
    marker = ingest_marker(workdir, n)
    marker.unlink(missing_ok=True)
    common.remove(vault)
    for kept in vault.parent.glob(f"{vault.name}.checkpoint-*.txt"):  # dalil init's, beside it
        kept.unlink()
    common.remove(workdir / "floor-copy")  # leave the page cache to the vault
    init = common.measure([dalil, "init", "--vault", str(vault), "--json"])
    if init.returncode != 0:
        raise SystemExit(f"dalil init failed ({init.returncode}): {init.stderr[-3000:]}")
    common.sync()
    warm = common.warm_cache([source / f for f in files])
    common.log(warm.describe())
    argv = [
        dalil,
        "ingest",
        str(source),
        "--from",
        "bench",
        "--vault",
        str(vault),
        "--jobs",
        str(jobs),
        "--json",
    ] + ([] if group else ["--no-group"])
    common.log("timing: " + " ".join(argv))
    run = common.measure(argv)
    report = run.json_out()
    if run.returncode != 0:
        raise SystemExit(
            f"dalil ingest exited {run.returncode}: "
            f"{json.dumps(report)[:3000]}\n{run.stderr[-3000:]}"
        )
    if report.get("files_seen") != n or report.get("items_new") != n:
        raise SystemExit(
            f"dalil ingested the wrong count: files_seen={report.get('files_seen')}"
            f" items_new={report.get('items_new')}, expected {n}"
        )
    marker.write_text(json.dumps(report, indent=2) + "\n")
    return {
        "command": " ".join(argv),
        "wall_seconds": round(run.wall_s, 3),
        "reported_seconds": report.get("seconds"),
        # matching new items against the vault (near-duplicates), after the signed checkpoint
        "grouping_seconds": (report.get("clusters") or {}).get("seconds"),
        **run.memory(),
        "cache": warm.describe(),
    }, report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    source = common.ensure_corpus(workdir, args.n, args.gen_procs)
    files = common.list_files(source)
    total_bytes = sum((source / f).stat().st_size for f in files)
    free = shutil.disk_usage(workdir).free
    if free < 2.2 * total_bytes:
        common.log(
            f"WARNING: {free / 1e9:.1f} GB free in {workdir}; the copy and the vault "
            f"need about {2.2 * total_bytes / 1e9:.1f} GB"
        )

    floors: list[dict[str, Any]] = []
    dalils: list[dict[str, Any]] = []
    for round_ in range(1, args.repeat + 1):
        common.log(
            f"[{round_}/{args.repeat}] floor: cp + sha256sum + djpeg over {len(files)} "
            f"files, {args.jobs} processes"
        )
        floors.append(run_floor(source, files, workdir, args.jobs, args.keep))
        common.log(
            f"[{round_}/{args.repeat}] dalil ingest over {len(files)} files, --jobs {args.jobs}"
        )
        dalil_run, report = run_dalil(
            source, files, workdir, args.n, args.jobs, group=not args.no_group
        )
        dalils.append(dalil_run)
    floor = min(floors, key=lambda f: float(f["seconds"]))
    dalil = min(dalils, key=lambda d: float(d["wall_seconds"]))
    # only the runs reported (the best of each) matter for the warning
    shares = {f"floor {k}": float(v["other_cpu_share"]) for k, v in floor["passes"].items()}
    shares["dalil"] = float(dalil["other_cpu_share"])
    warning = common.noise_warning(shares)
    if not args.keep:
        common.remove(vault_dir(workdir, args.n))
        ingest_marker(workdir, args.n).unlink(missing_ok=True)

    wall = dalil["wall_seconds"]
    mb = total_bytes / 1e6
    ratio = wall / floor["seconds"]
    results: dict[str, Any] = {
        "benchmark": "ingest",
        "files": len(files),
        "total_mb": round(mb, 1),
        "mean_file_mb": round(mb / len(files), 2),
        "jobs": args.jobs,
        "workdir": str(workdir),
        "source": str(source),
        "repeat": args.repeat,
        "dalil": dalil,
        "floor": floor,
        "all_rounds": {
            "dalil_wall_seconds": [d["wall_seconds"] for d in dalils],
            "floor_seconds": [f["seconds"] for f in floors],
        },
        "noise_warning": warning,
        "files_per_second": round(len(files) / wall, 2),
        "mb_per_second": round(mb / wall, 1),
        "ratio_dalil_to_floor": round(ratio, 3),
        "ratio_without_grouping": round(
            (wall - float(dalil.get("grouping_seconds") or 0.0)) / floor["seconds"], 3
        ),
        "ratio_dalil_to_floor_with_sync": round(wall / floor["seconds_with_sync"], 3),
        "ratio_dalil_to_floor_openssl": (
            None if floor["seconds_openssl"] is None else round(wall / floor["seconds_openssl"], 3)
        ),
        "targets": {
            "ratio_at_most": TARGET_RATIO,
            "images_per_second_at_least": TARGET_IMAGES_PER_S,
            "ratio_met": ratio <= TARGET_RATIO,
            "images_per_second_met": len(files) / wall >= TARGET_IMAGES_PER_S,
        },
        "dalil_report": {k: v for k, v in report.items() if k not in ("flagged", "skipped")},
        "flagged_count": len(report.get("flagged", [])),
        "machine": common.machine(),
    }
    out = common.write_results("ingest", results)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)
        print(f"\nresults written to {out}")
    return 0


def print_table(r: dict[str, Any]) -> None:
    d, f = r["dalil"], r["floor"]
    parts = ", ".join(
        f"{k} {v['seconds']:.2f}" for k, v in f["passes"].items() if k != "openssl-sha256"
    )
    best = f"best of {r['repeat']}: " if r["repeat"] > 1 else ""
    others = ", ".join(f"{k} {v['other_cpu_share']:.0%}" for k, v in f["passes"].items())
    met = r["targets"]
    rows = [
        ("files", f"{r['files']}  ({r['mean_file_mb']:.2f} MB each, 12 MP JPEG)"),
        ("total", f"{r['total_mb']:.0f} MB"),
        ("processes", f"{r['jobs']} (Dalil --jobs and xargs -P)"),
        (
            "Dalil wall",
            f"{best}{d['wall_seconds']:.2f} s  (Dalil's own figure "
            f"{d['reported_seconds']} s, then grouping near-duplicates "
            f"{d.get('grouping_seconds')} s)",
        ),
        (
            "files/s",
            f"{r['files_per_second']:.1f}  (target >= {TARGET_IMAGES_PER_S:.0f}: "
            f"{'met' if met['images_per_second_met'] else 'not met'})",
        ),
        ("MB/s", f"{r['mb_per_second']:.0f}"),
        (
            "peak RSS",
            f"largest process {d['peak_rss_largest_process_mb']:.0f} MB; tree sum "
            f"RSS {d['peak_rss_tree_sum_mb']:.0f} MB, PSS "
            f"{d['peak_pss_tree_sum_mb']:.0f} MB ({d['peak_processes']} processes)",
        ),
        ("floor wall", f"{best}{f['seconds']:.2f} s  ({parts})"),
        (
            "floor + sync",
            f"{f['seconds_with_sync']:.2f} s  (sync of the copies "
            f"{f['sync_after_cp_seconds']:.2f} s; Dalil fsyncs each object)",
        ),
        (
            "Dalil / floor",
            f"{r['ratio_dalil_to_floor']:.2f}  (target <= {TARGET_RATIO}: "
            f"{'met' if met['ratio_met'] else 'not met'})",
        ),
        ("Dalil / (floor+sync)", f"{r['ratio_dalil_to_floor_with_sync']:.2f}"),
        (
            "without grouping",
            f"{r['ratio_without_grouping']:.2f}  (Dalil wall less the "
            "near-duplicate grouping that follows the signed checkpoint)",
        ),
    ]
    if r["ratio_dalil_to_floor_openssl"] is not None:
        rows += [
            (
                "strict floor",
                f"{f['seconds_openssl']:.2f} s  (hashing by openssl dgst -sha256 "
                "instead of sha256sum)",
            ),
            ("Dalil / strict floor", f"{r['ratio_dalil_to_floor_openssl']:.2f}"),
        ]
    rows += [
        (
            "other CPU load",
            f"Dalil {d['other_cpu_share']:.0%}; floor {others} "
            "(share of the machine used by other processes meanwhile)",
        ),
    ]
    if r["repeat"] > 1:
        rounds = r["all_rounds"]
        rows.append(
            (
                "all rounds",
                f"Dalil {rounds['dalil_wall_seconds']} s; floor {rounds['floor_seconds']} s",
            )
        )
    print(f"\ndalil ingest vs native floor; before each timed run the {f['cache']}\n")
    print(common.table(rows))
    if f["skipped"]:
        print(f"\nNOTE: {f['skipped']}")
    if r["noise_warning"]:
        print(f"\nWARNING: {r['noise_warning']}")


if __name__ == "__main__":
    sys.exit(main())
