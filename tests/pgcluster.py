"""A real PostgreSQL server for the tests, started by the tests themselves.

``initdb`` + ``pg_ctl`` from Debian's ``postgresql`` package, in a temporary folder, on a free
loopback port; as the unprivileged user ``nobody`` when the tests run as root (PostgreSQL
refuses to run as root). Durability is turned off (``fsync=off``): the server's data folder is
thrown away with the run.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "dalil"


def binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (Debian keeps them out of PATH)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    return Path(versions[-1]).parent if versions else None


def _version(path: str) -> int:
    try:
        return int(Path(path).parts[-3])
    except ValueError:
        return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, settings: str = "") -> None:
        """``settings``: more ``-c name=value`` options for the server (a benchmark's)."""
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError(
                "PostgreSQL is not installed (Debian: apt-get install postgresql);"
                " scripts/setup.sh installs it"
            )
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="dalil-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, "nobody")
        self.url = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/"
        self.settings = settings

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "nobody", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}")

    def start(self) -> str:
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--locale=C",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        # loopback TCP only: no Unix socket, whose path length a deep temporary folder breaks
        options = (
            f"-p {self.port} -c unix_socket_directories='' -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            f" -c max_connections=300 {self.settings}"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        return self.url

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
