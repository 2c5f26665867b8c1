#!/usr/bin/env python3
"""Court-bundle export speed: `dalil export bundle` of 2,000 items vs `cp -r` of the same files.

A vault is filled with ``--items`` files (``--size`` KiB each, incompressible bytes; ingested
with ``--no-group``), the originals are warmed in the page cache, then, best of ``--repeat``:
  - baseline: ``cp -r`` of a folder holding the same files (the irreducible work: copy bytes);
  - dalil:    ``dalil export bundle OUT --items LIST --no-report`` (copy, per-item metadata,
              custody events with inclusion proofs, BagIt manifests, the verifier);
  - and, for information, the time of the bundle's own ``verify_bundle.py`` (re-hashes all).
Printed: seconds and the ratio dalil / cp (the issue asks for "close to copy speed").

Usage: python bench/export.py [--items 2000] [--size 3072] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = args.workdir / f"export-{args.items}-{args.size}k"
    source = work / "source"
    vault = work / "vault"
    if not (vault / "dalil.toml").is_file():
        common.remove(work)
        source.mkdir(parents=True)
        common.log(f"writing {args.items} files of {args.size} KiB ...")
        for i in range(args.items):
            folder = source / f"{i // 500:02d}"
            folder.mkdir(exist_ok=True)
            (folder / f"file{i:05d}.bin").write_bytes(os.urandom(args.size * 1024))
        dalil = common.dalil_executable()
        subprocess.run(
            [dalil, "init", "--vault", str(vault), "--as", "bench"], check=True, capture_output=True
        )
        common.log("ingesting ...")
        subprocess.run(
            [
                dalil,
                "ingest",
                str(source),
                "--from",
                "bench",
                "--no-group",
                "--vault",
                str(vault),
                "--as",
                "bench",
            ],
            check=True,
            capture_output=True,
        )
    listing = work / "items.txt"
    objects = sorted(p for p in (vault / "objects").rglob("*") if p.is_file())
    listing.write_text("".join(p.name + "\n" for p in objects))
    common.warm_cache(objects + sorted(p for p in source.rglob("*") if p.is_file()))
    timings: dict[str, list[float]] = {"cp": [], "dalil": [], "verify": []}
    for _ in range(args.repeat):
        target = work / "cp-copy"
        common.remove(target)
        common.sync()
        started = time.perf_counter()
        subprocess.run(["cp", "-r", str(source), str(target)], check=True)
        timings["cp"].append(time.perf_counter() - started)
        common.remove(target)
        out = work / "bundle"
        common.remove(out)
        common.sync()
        started = time.perf_counter()
        subprocess.run(
            [
                common.dalil_executable(),
                "export",
                "bundle",
                str(out),
                "--items",
                str(listing),
                "--no-report",
                "--vault",
                str(vault),
                "--as",
                "bench",
            ],
            check=True,
            capture_output=True,
        )
        timings["dalil"].append(time.perf_counter() - started)
        started = time.perf_counter()
        check = subprocess.run(
            [sys.executable, str(out / "verify_bundle.py"), str(out)],
            capture_output=True,
            text=True,
        )
        timings["verify"].append(time.perf_counter() - started)
        if check.returncode != 0:
            raise SystemExit(f"the bundle did not verify: {check.stdout[-500:]}")
        common.remove(out)
    best = {k: min(v) for k, v in timings.items()}
    return {
        "items": args.items,
        "bytes": args.items * args.size * 1024,
        "seconds": {k: round(v, 3) for k, v in best.items()},
        "all_runs": timings,
        "ratio_dalil_to_cp": round(best["dalil"] / best["cp"], 2),
        "ratio_verify_to_cp": round(best["verify"] / best["cp"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--size", type=int, default=3072, help="KiB per file (a camera JPEG)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=common.DEFAULT_WORKDIR)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = run(args)
    results["machine"] = common.machine()
    path = common.write_results("export", results)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    s = results["seconds"]
    print(
        f"court bundle of {args.items} items ({results['bytes'] / 2**20:.0f} MiB), best of"
        f" {args.repeat}:\n  cp -r {s['cp']:.2f} s   dalil export bundle {s['dalil']:.2f} s"
        f"   ratio {results['ratio_dalil_to_cp']}\n"
        f"  verify_bundle.py (re-hashes everything) {s['verify']:.2f} s\nresults: {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
