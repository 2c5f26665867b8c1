#!/usr/bin/env python3
"""A reviewer's time per claim in the web workspace, driven from the keyboard.

    .venv/bin/python bench/review.py [--cards 30] [--seed 5] [--wrong 0.2] [--workdir DIR]
                                     [--json]

Builds a small vault from the demo collection (``--cards`` index cards, photographed several
times each), proposes and accepts one case per group of photographs, and records on each case
machine readings of its card's detainee, branch and report numbers as ``dalil cases ocr``
would — source ``ocr:test``, a confidence, the photograph and a region — without running OCR
(``--wrong``: the share of readings with one digit wrong). ``dalil serve`` then runs in its own
process, and Chromium (Debian's, headless, driven by Playwright) logs in as a reviewer and
works through the unverified queue from the keyboard: for each claim ``s`` shows the region
(a recorded reveal), then ``c`` confirms it, or ``x`` + the right value + Enter rejects it with
a correction; the page selects the next claim, or loads the next claims after the last one.

Measured per claim, from the moment the claim is selected until the next one is: *show* (``s``
until the unblurred crop is decoded on the page) and *verdict* (the key until the next claim
is selected). This is the time the interface costs; a person's reading time comes on top.
Nothing is asserted. Results go to stdout and to ``bench/out/review-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common
from dalil import users
from dalil.cases import model
from dalil.catalog import atomic
from dalil.demo.generate import DemoManifest, default_manifest_path, generate_collection
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from dalil.web.crops import upright_size

PASSWORD = "bench password 12345"
REVIEWER = "omar"
FIELDS = ("detainee", "branch", "report")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=30)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--wrong", type=float, default=0.2, help="share of wrong readings")
    parser.add_argument("--workdir", type=Path, default=common.DEFAULT_WORKDIR)
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    return parser.parse_args(argv)


def _misread(value: str, rng: random.Random) -> str:
    """``value`` with one digit read wrong (a digit of its number part)."""
    number, slash, year = value.partition("/")
    i = rng.randrange(len(number))
    wrong = str((int(number[i]) + rng.randrange(1, 10)) % 10)
    return number[:i] + wrong + number[i + 1 :] + slash + year


def build(workdir: Path, cards: int, seed: int, wrong: float) -> tuple[Vault, dict[int, str]]:
    """A fresh vault with the machine readings; returns it and, for each wrong reading, the
    right value (what the reviewer types)."""
    collection = workdir / f"review-demo-{cards}-{seed}"
    if not collection.is_dir():
        generate_collection(collection, cards=cards, seed=seed)
    manifest = DemoManifest.read_json(default_manifest_path(collection))
    card_of = {f.sha256: f.card for f in manifest.of_kind("photo") if f.card is not None}
    root = workdir / f"review-vault-{cards}-{seed}"
    shutil.rmtree(root, ignore_errors=True)
    vault = Vault.init(root, "amina", PASSWORD)
    IngestSession(vault, IngestOptions([collection], "bench: demo cards", "amina")).run()
    conn = vault.connect()
    ledger = vault.ledger(conn)
    users.add(conn, ledger, "amina", REVIEWER, "reviewer", PASSWORD)
    admin = model.Actor("amina")
    model.accept(conn, ledger, admin, model.propose(conn, ledger, admin))
    rng = random.Random(seed)
    corrections: dict[int, str] = {}
    cases = conn.execute("SELECT id, case_id FROM cases WHERE status = 'open' ORDER BY id")
    for pk, case_id in cases.fetchall():
        photos = [
            str(r[0])
            for r in conn.execute(
                "SELECT sha256 FROM case_items WHERE case_pk = ? ORDER BY sha256", (pk,)
            )
        ]
        photos = [sha for sha in photos if sha in card_of]
        if not photos:
            continue
        for field in FIELDS:
            sha = rng.choice(photos)
            right = str(getattr(card_of[sha], field))
            value = _misread(right, rng) if rng.random() < wrong else right
            size = upright_size(vault.store().path(sha)) or (1600, 1200)
            w, h = size
            region = [int(w * 0.3), int(h * 0.35), int(w * 0.7), int(h * 0.6)]
            with atomic(conn):
                claim, new = model.annotate(
                    conn,
                    ledger,
                    admin,
                    case_id,
                    "identifier",
                    field,
                    value,
                    source="ocr:test",
                    confidence=round(rng.uniform(0.3, 0.99), 2),
                    item=sha,
                    region=region,
                )
            if new and value != right:
                corrections[claim] = right
    conn.close()
    return vault, corrections


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(vault: Vault) -> tuple[subprocess.Popen[bytes], str]:
    """``dalil serve`` (one process) over the vault; returns it and its base URL."""
    port = _free_port()
    command = [sys.executable, "-m", "dalil", "serve", "--vault", str(vault.root)]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("dalil serve did not start")


SHOWN = """id => {
    const img = document.querySelector(`#claim-${id} img.crop.revealed`);
    return img !== null && img.complete && img.naturalWidth > 0;
}"""


def review(base: str, corrections: dict[int, str]) -> dict[str, Any]:
    """Work through the reviewer's queue from the keyboard; the time each claim took."""
    from playwright.sync_api import sync_playwright

    shows, verdicts, totals = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        page.fill("input[name=name]", REVIEWER)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        queue = page.request.get(f"{base}/api/review/unverified?mine=1&limit=500").json()
        order = [int(c["id"]) for c in queue]
        started = time.perf_counter()
        page.goto(f"{base}/review")
        for i, claim in enumerate(order):
            page.wait_for_selector(f"#claim-{claim}.current")
            t0 = time.perf_counter()
            page.keyboard.press("s")
            page.wait_for_function(SHOWN, arg=claim)
            t1 = time.perf_counter()
            if claim in corrections:
                page.keyboard.press("x")
                page.keyboard.type(corrections[claim])
                page.keyboard.press("Enter")
            else:
                page.keyboard.press("c")
            if i + 1 < len(order):
                page.wait_for_selector(f"#claim-{order[i + 1]}.current")
            else:
                page.wait_for_selector(f"#claim-{claim}.done")
            t2 = time.perf_counter()
            shows.append(t1 - t0)
            verdicts.append(t2 - t1)
            totals.append(t2 - t0)
        elapsed = time.perf_counter() - started
        left = page.request.get(f"{base}/api/review/unverified?mine=1&limit=500").json()
        browser.close()

    def seconds(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "median": round(statistics.median(ordered), 3),
            "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
            "max": round(ordered[-1], 3),
        }

    return {
        "claims": len(order),
        "rejected_with_correction": sum(1 for c in order if c in corrections),
        "left_in_queue": len(left),
        "seconds_per_claim": seconds(totals),
        "show_seconds": seconds(shows),
        "verdict_seconds": seconds(verdicts),
        "total_seconds": round(elapsed, 2),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(CHROMIUM).exists():
        print("Debian's chromium is needed (apt-get install chromium)", file=sys.stderr)
        return 2
    args.workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DALIL_PASSWORD", PASSWORD)
    t0 = time.perf_counter()
    vault, corrections = build(args.workdir, args.cards, args.seed, args.wrong)
    built = time.perf_counter() - t0
    server, base = serve(vault)
    try:
        results = review(base, corrections)
    finally:
        server.terminate()
        server.wait(timeout=30)
    results = {
        "benchmark": "review",
        "cards": args.cards,
        "seed": args.seed,
        "build_seconds": round(built, 1),
        **results,
        "machine": common.machine(),
    }
    common.write_results("review", results)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        per = results["seconds_per_claim"]
        print(
            f"{results['claims']} claims reviewed from the keyboard"
            f" ({results['rejected_with_correction']} rejected with a correction):"
            f" {per['median']:.2f} s per claim (median; p90 {per['p90']:.2f} s);"
            f" showing the region {results['show_seconds']['median']:.2f} s,"
            f" the verdict to the next claim {results['verdict_seconds']['median']:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
