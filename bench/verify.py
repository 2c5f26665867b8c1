"""Benchmark ``dalil verify`` against ``sha256sum -c`` over the same vault objects.

    .venv/bin/python bench/verify.py [--n 2000] [--workdir DIR] [--jobs 2] [--json]

Reuses the photos and the vault that ``bench/ingest.py --keep`` left in the work folder; if
there is no complete vault for N it generates the photos and ingests them (untimed). The floor
is ``sha256sum -c --quiet --strict`` over a manifest of every object in the vault, split into
JOBS byte-balanced parts checked by JOBS parallel processes. Dalil's wall clock is reported as
a ratio to it (target <= 1.1). No timing is asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common
import ingest

TARGET_RATIO = 1.1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_run_options(
        parser,
        workdir_help="the work folder bench/ingest.py used",
        jobs_help="processes for dalil verify and for sha256sum -c",
    )
    args = parser.parse_args(argv)
    common.check_run_options(parser, args)
    return args


def ensure_vault(workdir: Path, n: int, jobs: int) -> Path:
    vault = ingest.vault_dir(workdir, n)
    if ingest.ingest_marker(workdir, n).exists() and vault.is_dir():
        common.log(f"reusing {vault}")
        return vault
    common.log(f"no complete vault for N={n} in {workdir}: building one (not timed)")
    source = common.ensure_corpus(workdir, n)
    ingest.run_dalil(source, common.list_files(source), workdir, n, jobs)
    return vault


def write_manifests(vault: Path, workdir: Path, jobs: int) -> tuple[list[Path], list[Path], int]:
    """``sha256sum`` manifests (``HEX  PATH``) of every object, split into ``jobs`` parts with
    about equal bytes. Returns (manifests, object paths, total bytes)."""
    root = vault / "objects" / "sha256"
    objects = sorted(p for p in root.rglob("*") if p.is_file())
    sized = sorted(((p.stat().st_size, p) for p in objects), reverse=True)
    parts: list[list[str]] = [[] for _ in range(jobs)]
    loads = [0] * jobs
    for size, path in sized:  # largest first onto the lightest part
        k = loads.index(min(loads))
        loads[k] += size
        parts[k].append(f"{path.name}  {path}\n")
    folder = workdir / "verify-manifests"
    common.remove(folder)
    folder.mkdir(parents=True)
    manifests = []
    for k, lines in enumerate(parts):
        if lines:
            manifest = folder / f"part-{k}.sha256"
            manifest.write_text("".join(sorted(lines, key=lambda line: line.split("  ", 1)[1])))
            manifests.append(manifest)
    (folder / "all.sha256").write_text("".join(f"{p.name}  {p}\n" for p in objects))
    return manifests, objects, sum(loads)


def run_floor(manifests: list[Path], objects: list[Path]) -> dict[str, Any]:
    warm = common.warm_cache(objects)
    common.log(warm.describe())
    argvs = [["sha256sum", "-c", "--quiet", "--strict", str(m)] for m in manifests]
    watch = common.CpuWatch().start()
    started = time.perf_counter()
    procs = [
        subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for a in argvs
    ]
    outputs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - started
    other = watch.other_share()
    for proc, (out, err) in zip(procs, outputs, strict=True):
        if proc.returncode != 0:
            raise SystemExit(f"sha256sum -c failed ({proc.returncode}): {out[-2000:]}{err[-2000:]}")
    return {
        "method": f"{len(argvs)} parallel sha256sum -c processes, one per byte-balanced part "
        "of the object manifest",
        "commands": [" ".join(a) for a in argvs],
        "seconds": round(seconds, 3),
        "other_cpu_share": other,
        "cache": warm.describe(),
    }


def run_openssl(manifests: list[Path], objects: list[Path]) -> dict[str, Any] | None:
    """A stricter floor: ``openssl dgst -sha256`` (the CPU's SHA instructions, as Python's
    hashlib uses; coreutils' sha256sum does not) over the same parts, compared afterwards."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    lists = []
    for manifest in manifests:
        paths = [line.split("  ", 1)[1] for line in manifest.read_text().splitlines()]
        lists.append("".join(p + "\0" for p in paths))
    warm = common.warm_cache(objects)
    argv = ["xargs", "-0", openssl, "dgst", "-sha256", "-r"]
    watch = common.CpuWatch().start()
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in lists
    ]
    outputs = [p.communicate(listing) for p, listing in zip(procs, lists, strict=True)]
    seconds = time.perf_counter() - started
    other = watch.other_share()
    wrong = 0
    for proc, (out, err) in zip(procs, outputs, strict=True):
        if proc.returncode != 0:
            raise SystemExit(f"openssl dgst failed ({proc.returncode}): {err[-2000:]}")
        for line in out.splitlines():
            digest, path = line.split(" ", 1)
            wrong += digest != Path(path.lstrip("*")).name
    if wrong:
        raise SystemExit(f"openssl dgst: {wrong} objects do not match their names")
    return {
        "method": f"{len(lists)} parallel 'xargs -0 openssl dgst -sha256 -r', one per part; "
        "digests compared with the object names afterwards (not timed)",
        "seconds": round(seconds, 3),
        "other_cpu_share": other,
        "cache": warm.describe(),
    }


def run_dalil(vault: Path, objects: list[Path], jobs: int) -> tuple[dict[str, Any], dict[str, Any]]:
    warm = common.warm_cache(objects)
    common.log(warm.describe())
    argv = [
        common.dalil_executable(),
        "verify",
        "--vault",
        str(vault),
        "--jobs",
        str(jobs),
        "--json",
    ]
    common.log("timing: " + " ".join(argv))
    run = common.measure(argv)
    report = run.json_out()
    if run.returncode != 0 or not report.get("ok"):
        raise SystemExit(
            f"dalil verify exited {run.returncode}: {json.dumps(report)[:3000]}\n"
            f"{run.stderr[-3000:]}"
        )
    if report.get("objects_checked") != len(objects):
        raise SystemExit(
            f"dalil verify checked {report.get('objects_checked')} objects; "
            f"the vault holds {len(objects)}"
        )
    return {
        "command": " ".join(argv),
        "wall_seconds": round(run.wall_s, 3),
        **run.memory(),
        "cache": warm.describe(),
    }, report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    vault = ensure_vault(workdir, args.n, args.jobs)
    manifests, objects, total_bytes = write_manifests(vault, workdir, args.jobs)
    common.sync()
    floors: list[dict[str, Any]] = []
    dalils: list[dict[str, Any]] = []
    stricts: list[dict[str, Any]] = []
    for round_ in range(1, args.repeat + 1):
        common.log(
            f"[{round_}/{args.repeat}] floor: sha256sum -c over {len(objects)} objects, "
            f"{len(manifests)} processes"
        )
        floors.append(run_floor(manifests, objects))
        strict_run = run_openssl(manifests, objects)
        if strict_run is not None:
            stricts.append(strict_run)
        common.log(f"[{round_}/{args.repeat}] dalil verify, --jobs {args.jobs}")
        dalil_run, report = run_dalil(vault, objects, args.jobs)
        dalils.append(dalil_run)
    floor = min(floors, key=lambda f: float(f["seconds"]))
    dalil = min(dalils, key=lambda d: float(d["wall_seconds"]))
    strict = min(stricts, key=lambda f: float(f["seconds"])) if stricts else None
    # only the runs reported (the best of each) matter for the warning
    shares = {
        "sha256sum -c": float(floor["other_cpu_share"]),
        "dalil": float(dalil["other_cpu_share"]),
    }
    if strict is not None:
        shares["openssl dgst"] = float(strict["other_cpu_share"])
    warning = common.noise_warning(shares)

    wall = dalil["wall_seconds"]
    mb = total_bytes / 1e6
    ratio = wall / floor["seconds"]
    results: dict[str, Any] = {
        "benchmark": "verify",
        "objects": len(objects),
        "total_mb": round(mb, 1),
        "jobs": args.jobs,
        "vault": str(vault),
        "repeat": args.repeat,
        "dalil": dalil,
        "floor": floor,
        "strict_floor_openssl": strict,
        "ratio_dalil_to_openssl": None if strict is None else round(wall / strict["seconds"], 3),
        "all_rounds": {
            "dalil_wall_seconds": [d["wall_seconds"] for d in dalils],
            "floor_seconds": [f["seconds"] for f in floors],
        },
        "noise_warning": warning,
        "dalil_mb_per_second": round(mb / wall, 1),
        "floor_mb_per_second": round(mb / floor["seconds"], 1),
        "ratio_dalil_to_floor": round(ratio, 3),
        "targets": {"ratio_at_most": TARGET_RATIO, "ratio_met": ratio <= TARGET_RATIO},
        "dalil_report": report,
        "machine": common.machine(),
    }
    out = common.write_results("verify", results)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    best = f"best of {args.repeat}: " if args.repeat > 1 else ""
    rows = [
        ("objects", f"{len(objects)} ({mb:.0f} MB)"),
        ("processes", f"{args.jobs} (dalil verify --jobs; parallel sha256sum -c)"),
        (
            "dalil verify",
            f"{best}{wall:.2f} s  ({results['dalil_mb_per_second']:.0f} MB/s; also "
            f"checked {report.get('events_checked')} ledger events)",
        ),
        (
            "sha256sum -c",
            f"{best}{floor['seconds']:.2f} s  ({results['floor_mb_per_second']:.0f} MB/s)",
        ),
        (
            "peak RSS",
            f"largest process {dalil['peak_rss_largest_process_mb']:.0f} MB; tree sum "
            f"RSS {dalil['peak_rss_tree_sum_mb']:.0f} MB, PSS "
            f"{dalil['peak_pss_tree_sum_mb']:.0f} MB",
        ),
        (
            "Dalil / floor",
            f"{ratio:.2f}  (target <= {TARGET_RATIO}: "
            f"{'met' if ratio <= TARGET_RATIO else 'not met'})",
        ),
    ]
    if strict is not None:
        rows += [
            (
                "openssl dgst",
                f"{best}{strict['seconds']:.2f} s  ({mb / strict['seconds']:.0f} "
                "MB/s; SHA instructions, as Python's hashlib)",
            ),
            ("Dalil / openssl", f"{results['ratio_dalil_to_openssl']:.2f}"),
        ]
    rows += [
        (
            "other CPU load",
            f"Dalil {dalil['other_cpu_share']:.0%}; sha256sum -c "
            f"{floor['other_cpu_share']:.0%} (share of the machine used by other "
            "processes meanwhile)",
        ),
    ]
    if args.repeat > 1:
        rounds = results["all_rounds"]
        rows.append(
            (
                "all rounds",
                f"Dalil {rounds['dalil_wall_seconds']} s; sha256sum -c {rounds['floor_seconds']} s",
            )
        )
    print(f"\ndalil verify vs sha256sum -c; before each timed run the {floor['cache']}\n")
    print(common.table(rows))
    if warning:
        print(f"\nWARNING: {warning}")
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
