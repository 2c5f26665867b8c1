"""Benchmark what changes beyond one laptop: Ray workers, the single recorder, an S3 store.

    .venv/bin/python bench/scale.py [--n 60] [--small 2000] [--workdir DIR] [--json]

Four measurements, each against a baseline of the same run (no timing is asserted):

1. **Executors.** ``dalil ingest --no-group`` of N camera JPEGs (12 MP, bench/ingest.py's
   generator) with the local pool of 1 and 2 processes, then on a local Ray cluster (loopback)
   of 1 and 2 worker nodes of one CPU each. Ray's overhead per item is the difference from the
   local pool with as many processes, less the once-a-run cost of joining the cluster
   (measured apart), divided by N.
2. **The recorder.** Every result is recorded by the one process that runs the command: the
   catalogue row and the ledger event, in order (the ledger's sequencer). ``dalil ingest`` of
   SMALL tiny files, whose per-file work is next to nothing, measures how many items a second
   that single writer records — the ceiling of any number of workers — with the catalogue on
   SQLite and on PostgreSQL (a server started here, tests/pgcluster.py, on loopback), and how
   long ``dalil verify`` of that vault takes on each (the catalogue checks dominate it).
3. **Object store.** Ingest and verify of the N photographs into a folder vault and into a
   vault on S3 (moto's S3 server on loopback), against ``cp`` of the same files and plain
   boto3 PUTs of them to the same server (the server's own speed).
4. A **cost model** from these figures for 100 workers and 10 million items is in
   docs/scale.md.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' local servers (a Ray cluster, an S3 server)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_run_options(
        parser, workdir_help="generated photos (cached) and vaults", jobs_help="local processes"
    )
    parser.add_argument("--small", type=int, default=2000, help="tiny files for the recorder")
    parser.add_argument(
        "--parts",
        default="executors,recorder,store",
        help="which measurements (comma-separated): executors, recorder, store",
    )
    parser.set_defaults(n=60)
    args = parser.parse_args(argv)
    common.check_run_options(parser, args)
    return args


def _vault(workdir: Path, name: str, catalog: str = "") -> Path:
    root = workdir / f"scale-{name}"
    common.remove(root)
    root.with_name(root.name + ".checkpoint-0.txt").unlink(missing_ok=True)
    done = subprocess.run(
        [
            common.dalil_executable(),
            "init",
            "--vault",
            str(root),
            "--as",
            "bench",
            "--catalog",
            catalog,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"dalil init failed: {done.stderr}")
    return root


def _set(root: Path, **values: Any) -> None:
    from tests.store.conftest import set_settings

    set_settings(root, **values)


def _ingest(root: Path, source: Path, *extra: str) -> dict[str, Any]:
    argv = [common.dalil_executable(), "ingest", str(source), "--from", "bench", "--vault"]
    argv += [str(root), "--as", "bench", "--no-group", "--json", *extra]
    run = common.measure(argv)
    report = run.json_out()
    if run.returncode not in (0, 3):
        sys.exit(f"ingest failed: {run.stderr[-2000:]}")
    return {
        "wall_s": round(run.wall_s, 3),
        "items": report["items_new"],
        "other_cpu": run.other_cpu_share,
    }


def _verify(root: Path, *extra: str) -> dict[str, Any]:
    argv = [common.dalil_executable(), "verify", "--vault", str(root), "--json", *extra]
    run = common.measure(argv)
    if run.returncode != 0:
        sys.exit(f"verify failed: {run.stdout[-2000:]} {run.stderr[-2000:]}")
    return {"wall_s": round(run.wall_s, 3), "objects": run.json_out()["objects_checked"]}


def executors(workdir: Path, source: Path, n: int) -> dict[str, Any]:
    from tests.cluster.conftest import local_cluster

    out: dict[str, Any] = {}
    for jobs in (1, 2):
        common.log(f"[executors] local pool, {jobs} process(es)")
        out[f"local-{jobs}"] = _ingest(_vault(workdir, f"local{jobs}"), source, "--jobs", str(jobs))
    for workers in (1, 2):
        with local_cluster(workers=workers) as cluster:
            common.log(f"[executors] Ray, {workers} worker node(s) at {cluster.address}")
            root = _vault(workdir, f"ray{workers}")
            ray = out[f"ray-{workers}"] = _ingest(root, source, "--ray", cluster.address)
            ray["connect_s"] = _connect_s(cluster.address)
        extra = ray["wall_s"] - out[f"local-{workers}"]["wall_s"]
        ray["overhead_ms_per_item"] = round(1000 * (extra - ray["connect_s"]) / n, 2)
    return out


def _connect_s(address: str) -> float:
    """What joining the cluster and leaving it costs a command (once per run, not per item)."""
    probe = (
        "import logging, ray, sys; ray.init(address=sys.argv[1], logging_level=logging.ERROR,"
        " log_to_driver=False); ray.shutdown()"
    )
    bare = common.measure([sys.executable, "-c", "import ray"]).wall_s
    joined = common.measure([sys.executable, "-c", probe, address]).wall_s
    return round(joined - bare, 3)


def recorder(workdir: Path, small: int) -> dict[str, Any]:
    source = workdir / f"tiny-{small}"
    if not source.is_dir() or len(list(source.iterdir())) != small:
        common.remove(source)
        source.mkdir(parents=True)
        for i in range(small):
            (source / f"note-{i:06d}.txt").write_text(f"record {i}\n")
    from tests.pgcluster import Cluster, binaries

    out: dict[str, Any] = {}
    cluster = Cluster() if binaries() is not None else None
    try:
        for name in ("sqlite", "postgresql"):
            if name == "postgresql" and cluster is None:
                out[name] = None  # PostgreSQL is not installed here
                continue
            catalog = cluster.start() if name == "postgresql" and cluster else ""
            common.log(f"[recorder] {small} tiny files, 2 processes, catalogue on {name}")
            root = _vault(workdir, f"tiny-{name}", catalog)
            run = out[name] = _ingest(root, source, "--jobs", "2")
            run["items_per_s"] = round(small / run["wall_s"], 1)
            run["ms_per_item"] = round(1000 * run["wall_s"] / small, 3)
            run["verify_s"] = _verify(root)["wall_s"]
    finally:
        if cluster is not None:
            cluster.stop()
    if out["postgresql"]:
        out["postgresql_over_sqlite"] = round(
            out["postgresql"]["wall_s"] / out["sqlite"]["wall_s"], 2
        )
    return out


def object_store(workdir: Path, source: Path, files: list[Path]) -> dict[str, Any]:
    from tests.store.conftest import s3_server_running

    out: dict[str, Any] = {}
    copy_to = workdir / "scale-cp"
    common.remove(copy_to)
    copy_to.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run(["cp", "-r", str(source), str(copy_to)], check=True)
    common.sync()
    out["cp_s"] = round(time.perf_counter() - started, 3)
    common.remove(copy_to)
    common.log("[store] folder vault")
    folder = _vault(workdir, "folder")
    out["folder_ingest"] = _ingest(folder, source, "--jobs", "2")
    out["folder_verify"] = _verify(folder, "--jobs", "2")
    with tempfile.TemporaryDirectory(prefix="aws") as home, s3_server_running(Path(home)) as s3:
        client: Any = s3.client()
        bucket = s3.new_bucket()
        common.log(f"[store] plain boto3 PUTs to {s3.endpoint}")
        started = time.perf_counter()
        for path in files:
            data = path.read_bytes()
            client.put_object(Bucket=bucket, Key=hashlib.sha256(data).hexdigest(), Body=data)
        out["boto3_put_s"] = round(time.perf_counter() - started, 3)
        common.log("[store] S3 vault")
        root = _vault(workdir, "s3")
        _set(root, store=f"s3://{s3.new_bucket()}/bench", s3_endpoint=s3.endpoint)
        out["s3_ingest"] = _ingest(root, source, "--jobs", "2")
        out["s3_verify"] = _verify(root, "--jobs", "2")
    out["s3_ingest_over_folder"] = round(
        out["s3_ingest"]["wall_s"] / out["folder_ingest"]["wall_s"], 2
    )
    out["s3_verify_over_folder"] = round(
        out["s3_verify"]["wall_s"] / out["folder_verify"]["wall_s"], 2
    )
    out["s3_ingest_over_boto3_put"] = round(out["s3_ingest"]["wall_s"] / out["boto3_put_s"], 2)
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    workdir = Path(args.workdir)
    source = common.ensure_corpus(workdir, args.n)
    files = common.list_files(source)
    common.warm_cache([source / f for f in files])
    results: dict[str, Any] = {
        "machine": common.machine(),
        "n": args.n,
        "photo_mb": round(sum((source / f).stat().st_size for f in files) / len(files) / 1e6, 2),
    }
    parts = set(args.parts.split(","))
    rows = [("photos", f"{args.n} x {results['photo_mb']} MB (12 MP JPEG), ingest --no-group")]
    if "executors" in parts:
        e = results["executors"] = executors(workdir, source, args.n)
        rows += [
            (
                "local pool, 1 / 2 processes",
                f"{e['local-1']['wall_s']} s / {e['local-2']['wall_s']} s",
            ),
            ("Ray, 1 / 2 worker nodes", f"{e['ray-1']['wall_s']} s / {e['ray-2']['wall_s']} s"),
            (
                "Ray overhead per item",
                f"{e['ray-1']['overhead_ms_per_item']} ms (1 node), "
                f"{e['ray-2']['overhead_ms_per_item']} ms (2 nodes), besides joining the cluster"
                f" once a run ({e['ray-1']['connect_s']} s, {e['ray-2']['connect_s']} s)",
            ),
        ]
    if "recorder" in parts:
        r = results["recorder"] = recorder(workdir, args.small)
        for name in ("sqlite", "postgresql"):
            if r[name] is None:
                rows.append((f"recorder, {name}", "not measured: PostgreSQL is not installed"))
                continue
            rows.append(
                (
                    f"recorder (one writer), {name}",
                    f"{r[name]['items_per_s']} items/s ({r[name]['ms_per_item']} ms an item,"
                    f" {args.small} tiny files); verify {r[name]['verify_s']} s",
                )
            )
    if "store" in parts:
        s = results["object_store"] = object_store(workdir, source, [source / f for f in files])
        rows += [
            ("cp of the photos", f"{s['cp_s']} s"),
            (
                "ingest: folder / S3",
                f"{s['folder_ingest']['wall_s']} s / {s['s3_ingest']['wall_s']} s"
                f" (x{s['s3_ingest_over_folder']})",
            ),
            (
                "plain boto3 PUTs, same server",
                f"{s['boto3_put_s']} s (S3 ingest x{s['s3_ingest_over_boto3_put']} of it)",
            ),
            (
                "verify: folder / S3",
                f"{s['folder_verify']['wall_s']} s / {s['s3_verify']['wall_s']} s"
                f" (x{s['s3_verify_over_folder']})",
            ),
        ]
    results["report"] = "dalil at scale (docs/scale.md)\n\n" + common.table(rows)
    common.publish("scale", results, args.json)


if __name__ == "__main__":
    main()
