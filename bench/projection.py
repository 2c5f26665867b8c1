"""Benchmark the catalogue as a projection of the ledger, at scale.

    .venv/bin/python bench/projection.py [--n 100000] [--workdir DIR] [--json]

Builds a vault whose ledger holds N ``item.ingested`` events with realistic payloads (camera
metadata with about 40 EXIF tags, a PDQ fingerprint with its variants, a thumbnail record)
plus an acquisition — written through the real ``Ledger.append`` and projectors, in batches,
without decoding any image (this measures the ledger and the catalogue, not JPEG work). Then:

- ``replay + compare``: what ``dalil verify`` adds to re-hashing files: every event replayed
  into an empty catalogue in memory and every row of every table compared;
- ``catalog rebuild``: the recovery path (``dalil catalog rebuild``), derivative files absent;
- baseline, same run: SQLite's own command-line tool re-creating the same catalogue from its
  SQL text (``sqlite3 catalog.sqlite .dump | sqlite3 copy.sqlite``), the irreducible work of
  writing these rows, and reading every row once (``SELECT *`` of each table).

Prints the ratios; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
from dalil.catalog import atomic
from dalil.projection.rebuild import rebuild
from dalil.vault import Vault
from dalil.verify.catalogue import compare, replayed, tables
from dalil.verify.report import VerifyReport


def _payload(rng: random.Random, i: int) -> dict[str, Any]:
    sha = f"{rng.getrandbits(256):064x}"
    raw = {f"EXIF:Tag{t:03d}": f"value {rng.getrandbits(40):x}" for t in range(40)}
    raw["EXIF:Model"] = "Canon EOS 5D Mark IV"
    meta = {
        "camera_make": "Canon",
        "camera_model": "Canon EOS 5D Mark IV",
        "camera_serial": f"SN{rng.randrange(10**7):07d}",
        "lens": "EF24-70mm f/2.8L II USM",
        "captured_at": f"2013-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00",
        "gps_lat": rng.uniform(33, 37),
        "gps_lon": rng.uniform(35, 42),
        "gps_alt": None,
        "orientation": 1,
        "software": None,
        "width": 4000,
        "height": 3000,
        "raw": raw,
    }
    return {
        "sha256": sha,
        "size": 3_100_000 + i,
        "media_type": "image/jpeg",
        "occurrence": {
            "acquisition": "A0001",
            "source": "bench",
            "path": f"card1/DCIM/100CANON/IMG_{i:06d}.JPG",
            "size": 3_100_000 + i,
            "mtime_ns": 1_367_000_000_000_000_000 + i,
            "ctime_ns": 1_367_000_000_000_000_000 + i,
            "atime_ns": 1_367_000_000_000_000_000 + i,
            "mode": 0o100644,
        },
        "flags": {},
        "metadata": meta,
        "fingerprint": {
            "algorithm": "pdq",
            "value": f"{rng.getrandbits(256):064x}",
            "quality": 100,
            "variants": base64.b64encode(rng.randbytes(256)).decode("ascii"),
        },
        "derivatives": [
            {
                "kind": "thumbnail",
                "media_type": "image/jpeg",
                "path": f"derived/thumbnail/{sha[:2]}/{sha}.jpg",
                "file_sha256": f"{rng.getrandbits(256):064x}",
                "width": 256,
                "height": 192,
                "recipe": {"tool": "Pillow", "max_side": 256, "quality": 80},
            }
        ],
    }


def build(root: Path, n: int, seed: int) -> float:
    rng = random.Random(seed)
    vault = Vault.init(root, "bench", "bench password 123")
    conn = vault.connect()
    conn.execute("PRAGMA synchronous = OFF")
    ledger = vault.ledger(conn)
    started = time.perf_counter()
    with atomic(conn):
        opened = {"from": "bench", "note": None, "sources": ["/bench"]}
        ledger.append(
            "bench", "acquisition.opened", "acquisition:A0001", opened,
            {"id": 1, "label": "A0001", **opened},
        )  # fmt: skip
    for start in range(0, n, 5000):
        with atomic(conn):
            for i in range(start, min(n, start + 5000)):
                p = _payload(rng, i)
                ledger.append(
                    "bench",
                    "item.ingested",
                    f"sha256:{p['sha256']}",
                    {"sha256": p["sha256"], "size": p["size"], "media_type": "image/jpeg"},
                    p,
                )
        common.log(f"  {min(n, start + 5000):,} events")
    with atomic(conn):
        counts = {"items_new": n}
        ledger.append(
            "bench", "acquisition.closed", "acquisition:A0001", counts,
            {"label": "A0001", "counts": counts},
        )  # fmt: skip
        ledger.checkpoint()
    conn.close()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=common.DEFAULT_WORKDIR)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if shutil.which("sqlite3") is None:
        sys.exit("the baseline needs the sqlite3 command (Debian package sqlite3)")
    args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=args.workdir, prefix="projection-"))
    try:
        root = work / "vault"
        common.log(f"writing {args.n:,} item events through the ledger and the projectors")
        written = build(root, args.n, args.seed)
        vault = Vault.open(root)
        sizes = {p.name: p.stat().st_size for p in root.glob("*.sqlite")}

        common.log("replay + compare (what verify adds to re-hashing files)")
        started = time.perf_counter()
        report = VerifyReport()
        conn = vault.connect(readonly=True)
        truth = replayed(conn, report, None)
        replay_s = time.perf_counter() - started
        compare(conn, truth, report)
        verify_s = time.perf_counter() - started
        conn.close()
        truth.close()
        if not report.ok:
            sys.exit(f"the catalogue does not verify: {report.problems[:3]}")

        common.log("baseline: sqlite3 .dump | sqlite3 (re-create the same rows natively)")
        copy = work / "copy.sqlite"
        started = time.perf_counter()
        subprocess.run(
            f"sqlite3 {vault.catalog_path} .dump | sqlite3 {copy}", shell=True, check=True
        )
        dump_s = time.perf_counter() - started
        started = time.perf_counter()
        reader = subprocess.run(["sqlite3", str(vault.catalog_path)], input="".join(
            f"SELECT count(*) FROM (SELECT * FROM {t});\n" for t in tables(
                __import__("sqlite3").connect(vault.catalog_path)
            )
        ), text=True, capture_output=True, check=True)  # fmt: skip
        read_s = time.perf_counter() - started
        del reader

        common.log("dalil catalog rebuild")
        os.environ.pop("DALIL_KEY_PASSPHRASE", None)
        started = time.perf_counter()
        done = rebuild(vault, "bench")
        rebuild_s = time.perf_counter() - started
        results = {
            "events": args.n + 3,
            "sizes_bytes": sizes,
            "write_events_s": round(written, 2),
            "replay_s": round(replay_s, 2),
            "replay_and_compare_s": round(verify_s, 2),
            "rebuild_s": round(rebuild_s, 2),
            "baseline_dump_restore_s": round(dump_s, 2),
            "baseline_read_all_rows_s": round(read_s, 2),
            "verify_part_over_dump_restore": round(verify_s / dump_s, 2),
            "rebuild_over_dump_restore": round(rebuild_s / dump_s, 2),
            "derivatives_lost": len(done.derivatives_lost),
            "machine": common.machine(),
        }
        common.write_results("projection", results)
        if args.json:
            print(json.dumps(results, indent=2))
            return 0
        print(
            common.table(
                [
                    ("ledger events", f"{args.n + 3:,} ({args.n:,} items)"),
                    ("files", ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sizes.items())),
                    ("writing them", f"{written:.1f} s ({args.n / written:,.0f} events/s)"),
                    ("replay", f"{replay_s:.1f} s"),
                    ("replay + compare", f"{verify_s:.1f} s  (what verify adds to hashing)"),
                    ("catalog rebuild", f"{rebuild_s:.1f} s"),
                    ("sqlite3 dump|restore", f"{dump_s:.1f} s  (baseline: same rows, natively)"),
                    ("sqlite3 read all rows", f"{read_s:.1f} s"),
                    ("verify part / baseline", f"{verify_s / dump_s:.2f}"),
                    ("rebuild / baseline", f"{rebuild_s / dump_s:.2f}"),
                ]
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
