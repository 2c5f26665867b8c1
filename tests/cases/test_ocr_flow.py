"""The whole flow on generated cards: propose → accept → OCR → confirm by two people → search,
with the real OCR engine, offline."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dalil.demo.generate import generate_collection
from tests.conftest import dalil_command, run_dalil


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    base = tmp_path_factory.mktemp("ocrflow")
    manifest = generate_collection(base / "cards", cards=2, seed=21, photo_size=(1600, 1200))
    return base / "cards", manifest


def _run(args: list[str], offline: bool) -> subprocess.CompletedProcess[str]:
    command = dalil_command(*args)
    if offline:
        command = ["unshare", "-n", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_propose_accept_read_confirm_search_offline(
    cards: tuple[Path, object], tmp_path: Path
) -> None:
    folder, manifest = cards
    offline = _unshare_works()
    vault = tmp_path / "vault"

    def dalil(*args: str, who: str | None = "amina") -> dict | list:
        actor = ["--as", who] if who else []
        out = _run([*args, "--vault", str(vault), *actor, "--json"], offline)
        assert out.returncode in (0, 3), out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else {}

    assert _run(["init", "--vault", str(vault), "--as", "amina"], offline).returncode == 0
    from tests.conftest import PASSWORD

    added = subprocess.run(
        dalil_command("users", "add", "omar", "--role", "reviewer", "--password-stdin",
                      "--vault", vault, "--as", "amina"),
        input=PASSWORD + "\n", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    dalil("ingest", str(folder), "--from", "generated cards")
    proposed = dalil("cases", "propose")["proposed"]
    assert len(proposed) >= 2
    dalil("cases", "accept", *proposed)
    report = dalil("cases", "ocr")
    assert report["photos_read"] >= 6 and report["claims_added"] >= 3, report
    truth = {
        (c.detainee, c.branch, c.report)
        for c in manifest.cards  # type: ignore[attr-defined]
    }
    known = {v for t in truth for v in t}
    queue = dalil("review", "queue", "unverified", "--all", who=None)["unverified"]
    read = [q for q in queue if q["source"].startswith("ocr:")]
    assert read and all(q["region"] and q["item"] for q in read)
    right = [q for q in read if q["value"] in known]
    assert len(right) >= 3, [(q["field"], q["value"]) for q in read]
    first = right[0]["id"]
    assert dalil("review", "confirm", str(first))[0]["state"] == "unverified"  # machine: 2 people
    assert dalil("review", "confirm", str(first), who="omar")[0]["state"] == "verified"
    value = right[0]["value"]
    found = dalil("search", "--id", f"{right[0]['field']}:{value}", who=None)
    assert right[0]["case"] in [r["case_id"] for r in found["results"]]
    # OCR text is searchable too
    assert dalil("search", value, who=None)["total"] >= 1
    assert run_dalil("verify", "--vault", vault).returncode == 0
    if not offline:
        pytest.skip("ran with the network present: `unshare -n` is not permitted here")
    shutil.rmtree(vault)
