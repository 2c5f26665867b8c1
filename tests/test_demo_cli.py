"""``dalil demo``: the README's main job, end to end on a small collection."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_dalil


def test_demo_generates_ingests_and_verifies(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    vault = tmp_path / "vault"
    result = run_dalil("demo", "--out", out, "--cards", "4", "--vault", vault, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert report["files_seen"] >= 20
    assert report["items_known"] >= 1  # byte-identical copies become occurrences
    flags = {f for entry in report["flagged"] for f in entry["flags"]}
    assert {"empty", "truncated", "unknown_type", "extension_mismatch"} <= flags
    assert manifest["cards"]
    assert report["lists"]["lists"] == ["arabic", "latin", "workbook"]
    assert report["lists"]["candidates"] > 0
    queue = json.loads(run_dalil("link", "review", "--vault", vault, "--json").stdout)
    assert queue["total"] == report["lists"]["candidates"]
    assert run_dalil("verify", "--vault", vault).returncode == 0
    again = run_dalil("demo", "--out", out, "--cards", "4", "--vault", vault, "--json")
    assert json.loads(again.stdout)["items_new"] == 0
