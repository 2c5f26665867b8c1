#!/usr/bin/env python3
"""The web workspace under load: 100,000 items, 20,000 cases, 50 concurrent clients.

A vault is filled in bulk like ``bench/search.py`` does (items with camera metadata, cases with
identifiers, notes and full text), every item gets a thumbnail derivative (hard links to a few
generated JPEGs, so blurring does real work), and ``dalil serve`` runs in its own process.
`wrk` (Debian package ``wrk``) then drives it from another process over loopback with 50
connections for ``--seconds``, each request a random page or API call (dashboard, items grid
pages, item pages, blurred thumbnails, case list and case pages, full-text and identifier
search, API search and items) with a random one of ``--sessions`` logged-in users' cookies.
Reported: requests/s, latency p50/p90/p95/p99 and max, errors (non-2xx/3xx, socket errors);
the issue's goal is p95 < 150 ms.

Usage: python bench/web.py [--items 100000] [--cases 20000] [--seconds 30] [--connections 50]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from PIL import Image

import common
import search as search_bench
from dalil import users
from dalil.ingest.worker import THUMBNAIL_KIND
from dalil.store import derived_relpath
from dalil.vault import Vault

PASSWORD = "bench password 12345"


def build(root: Path, items: int, cases: int, seed: int) -> dict[str, Any]:
    built = search_bench.build(root, cases, items, seed)
    vault = Vault.open(root)
    conn = vault.connect()
    shas = [r[0] for r in conn.execute("SELECT sha256 FROM items")]
    rng = random.Random(seed)
    templates = []
    for i in range(16):
        data = io.BytesIO()
        noise = Image.effect_noise((256, 192), 40 + i * 4).convert("RGB")
        noise.save(data, "JPEG", quality=80)
        path = vault.tmp_dir / f"thumb-template-{i}.jpg"
        path.write_bytes(data.getvalue())
        templates.append(path)
    for sha in shas:
        target = root / derived_relpath(THUMBNAIL_KIND, sha, ".jpg")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(rng.choice(templates), target)
    ledger = vault.ledger(conn)
    users.add(conn, ledger, "bench", "bench-admin", "admin", PASSWORD)
    for i in range(8):
        users.add(conn, ledger, "bench", f"bench-user-{i}", "investigator", PASSWORD)
    conn.close()
    built["thumbnails"] = len(shas)
    return built


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def login(base: str, name: str) -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, "no login form"
    data = urllib.parse.urlencode(
        {"name": name, "password": PASSWORD, "csrf": token.group(1), "next": "/"}
    ).encode()
    opener.open(f"{base}/login", data=data).read()
    for cookie in jar:
        if cookie.name == "dalil_session":
            return str(cookie.value)
    raise RuntimeError(f"login of {name} failed")


def paths(root: Path, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    vault = Vault.open(root)
    conn = vault.connect(readonly=True)
    shas = [r[0] for r in conn.execute("SELECT sha256 FROM items ORDER BY random() LIMIT 2000")]
    cases = [r[0] for r in conn.execute("SELECT case_id FROM cases ORDER BY random() LIMIT 500")]
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT value FROM annotations WHERE field = 'detainee' ORDER BY random() LIMIT 500"
        )
    ]
    conn.close()
    words = search_bench.WORDS
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.08:
            out.append("/")
        elif kind < 0.18:
            after = rng.choice(shas)[: rng.randint(2, 6)]
            out.append(f"/items?after={after}")
        elif kind < 0.30:
            out.append(f"/items/{rng.choice(shas)}")
        elif kind < 0.55:
            out.append(f"/items/{rng.choice(shas)}/thumb")
        elif kind < 0.62:
            out.append(f"/cases?page_no={rng.randint(1, 400)}")
        elif kind < 0.72:
            out.append(f"/cases/{rng.choice(cases)}")
        elif kind < 0.80:
            out.append(f"/search?q={rng.choice(words)}+{rng.choice(words)[:3]}")
        elif kind < 0.88:
            out.append(f"/search?identifier=detainee:~{rng.choice(ids)}")
        elif kind < 0.94:
            out.append(f"/api/search?identifier=detainee:{rng.choice(ids)}")
        else:
            out.append(f"/api/items?limit=50&after={rng.choice(shas)}")
    return out


LUA = """
local paths = {%s}
local cookies = {%s}
request = function()
  local p = paths[math.random(#paths)]
  local c = cookies[math.random(#cookies)]
  return wrk.format("GET", p, {["Cookie"] = "dalil_session=" .. c})
end
done = function(summary, latency, requests)
  io.write("JSON")
  io.write(string.format('{"requests": %%d, "duration_us": %%d, "p50": %%d, "p90": %%d, ' ..
    '"p95": %%d, "p99": %%d, "max": %%d, "mean": %%.1f, "non2xx": %%d, "connect": %%d, ' ..
    '"read": %%d, "write": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout))
end
"""


def run(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark needs wrk: sudo apt-get install wrk")
    root = args.workdir / f"web-{args.items}-{args.cases}-s{args.seed}"
    saved = root.with_suffix(".json")
    if args.reuse and saved.is_file():
        built = json.loads(saved.read_text())
        common.log(f"reusing {root}")
    else:
        common.remove(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        common.log(f"building a vault: {args.items:,} items, {args.cases:,} cases ...")
        built = build(root, args.items, args.cases, args.seed)
        built.pop("detainees", None)
        built.pop("serials", None)
        saved.write_text(json.dumps(built))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [common.dalil_executable(), "serve", "--port", str(port), "--vault", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/login", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        cookies = [login(base, f"bench-user-{i % 8}") for i in range(args.sessions)]
        chosen = paths(root, 5000, args.seed)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(
                LUA
                % (
                    ", ".join(json.dumps(p) for p in chosen),
                    ", ".join(json.dumps(c) for c in cookies),
                )
            )
        common.log("warming up (10 s) ...")
        subprocess.run(
            ["wrk", "-t2", f"-c{args.connections}", "-d10s", "-s", script.name, base],
            capture_output=True,
            check=True,
        )
        common.log(f"measuring ({args.seconds} s, {args.connections} connections) ...")
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{args.connections}",
                f"-d{args.seconds}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        os.unlink(script.name)
    finally:
        server.terminate()
        server.wait(timeout=20)
    stats = json.loads(out.split("JSON", 1)[1].strip().splitlines()[0])
    ms = {k: round(stats[k] / 1000, 1) for k in ("p50", "p90", "p95", "p99", "max", "mean")}
    errors = sum(stats[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
    return {
        "setup": built,
        "connections": args.connections,
        "seconds": args.seconds,
        "requests": stats["requests"],
        "requests_per_s": round(stats["requests"] / (stats["duration_us"] / 1e6), 1),
        "latency_ms": ms,
        "errors": errors,
        "errors_by_kind": {k: stats[k] for k in ("non2xx", "connect", "read", "write", "timeout")},
        "goal_p95_ms": 150,
        "goal_met": ms["p95"] < 150 and errors == 0,
        "wrk_output": out.split("JSON", 1)[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=16, help="logged-in users' cookies")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=common.DEFAULT_WORKDIR)
    parser.add_argument("--reuse", action="store_true", help="reuse a vault built before")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = run(args)
    results["machine"] = common.machine()
    path = common.write_results("web", results)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    lat = results["latency_ms"]
    print(
        f"web workspace: {args.items:,} items, {args.cases:,} cases; {args.connections} clients"
        f" for {args.seconds} s (wrk, loopback)\n"
        f"  {results['requests']:,} requests, {results['requests_per_s']} req/s,"
        f" errors {results['errors']}\n"
        f"  latency ms: p50 {lat['p50']}  p90 {lat['p90']}  p95 {lat['p95']}  p99 {lat['p99']}"
        f"  max {lat['max']}\n"
        f"  goal p95 < 150 ms, no errors: {'MET' if results['goal_met'] else 'not met'}\n"
        f"results: {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
