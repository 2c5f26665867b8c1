"""A real local Ray cluster for the tests: a head node that runs no task and two worker nodes
of one CPU each, on loopback, started with ``ray start --block`` (each node's processes end
when its ``ray start`` process is stopped, so the tests never touch another Ray cluster on the
machine). Started once per run, when a test asks for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class RayCluster:
    address: str
    nodes: list[subprocess.Popen[bytes]] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ray_command() -> list[str]:
    beside = Path(sys.executable).parent / "ray"
    return [str(beside)] if beside.exists() else ["ray"]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    pytest.importorskip("ray", reason="ray is a test dependency (pip)")
    with local_cluster(workers=2) as cluster:
        yield cluster


@contextmanager
def local_cluster(workers: int = 2) -> Iterator[RayCluster]:
    """A head node that runs no task and ``workers`` nodes of one CPU each (bench/scale.py
    uses it too)."""
    import ray

    # Ray's sockets live under its temporary folder: a short one, whatever the checkout's path
    temp = tempfile.mkdtemp(prefix="dr", dir="/tmp")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    from tests.store.conftest import KEY_ID, SECRET

    # Dalil never sends credentials to a cluster: nodes have their own (here, the test ones)
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.path.join(temp, "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(temp, "aws-credentials"),
    }
    common = ["--block", "--node-ip-address", "127.0.0.1", "--object-store-memory", "80000000"]
    common.append("--disable-usage-stats")
    cluster = RayCluster(address)
    log = open(os.path.join(temp, "nodes.log"), "wb")  # noqa: SIM115 - closed below
    try:
        head = [*_ray_command(), "start", "--head", "--port", str(port), "--num-cpus", "0"]
        head += ["--include-dashboard=false", "--temp-dir", temp, *common]
        cluster.nodes.append(subprocess.Popen(head, env=env, stdout=log, stderr=log))
        _wait_for(ray, address, nodes=1, started=cluster.nodes)
        for nodes in range(
            2, workers + 2
        ):  # one after the other: two nodes starting at once on one
            # machine can wait on each other for minutes
            worker = [*_ray_command(), "start", "--address", address, "--num-cpus", "1", *common]
            cluster.nodes.append(subprocess.Popen(worker, env=env, stdout=log, stderr=log))
            _wait_for(ray, address, nodes=nodes, started=cluster.nodes)
        yield cluster
    finally:
        for process in reversed(cluster.nodes):
            _stop(process)
        log.close()


def _wait_for(
    ray: object, address: str, *, nodes: int, started: list[subprocess.Popen[bytes]]
) -> None:
    """Until the cluster has ``nodes`` live nodes (a fresh Python asks, so this process never
    joins the cluster itself)."""
    probe = (
        "import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR');"
        "print(sum(1 for n in ray.nodes() if n['Alive']))"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in started):
            raise RuntimeError("a Ray node stopped while starting (see nodes.log)")
        done = subprocess.run(
            [sys.executable, "-c", probe, address], capture_output=True, text=True, timeout=120
        )
        lines = done.stdout.strip().splitlines()
        if done.returncode == 0 and lines and int(lines[-1]) >= nodes:
            return
        time.sleep(1)
    raise RuntimeError(f"the Ray cluster at {address} did not reach {nodes} nodes")
