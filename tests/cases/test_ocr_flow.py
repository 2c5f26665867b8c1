"""The whole flow on generated cards: propose → accept → OCR → confirm by two people → search,
with the real OCR engine, offline."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dalil.demo.generate import generate_collection
from tests.conftest import ON_POSTGRES, dalil_command, run_dalil


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
    offline = _unshare_works() and not ON_POSTGRES  # there, the catalogue is across the network
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
        pytest.skip(
            "ran with the network present: the catalogue is on a PostgreSQL server"
            if ON_POSTGRES
            else "ran with the network present: `unshare -n` is not permitted here"
        )
    shutil.rmtree(vault)


def _labelled_card(folder: Path) -> dict[str, str]:
    """A photograph of a typed card: each number on a line after its English label."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not font_path.is_file():
        pytest.skip("fonts-dejavu-core is not installed")
    values = {"detainee": "58213", "branch": "227", "report": "4419"}
    image = Image.new("RGB", (1600, 1200), (96, 80, 64))
    draw = ImageDraw.Draw(image)
    draw.rectangle((250, 200, 1350, 1000), fill=(240, 236, 226))
    font = ImageFont.truetype(str(font_path), 64)
    for y, (label, field) in zip(
        (320, 520, 720),
        (("DETAINEE No.", "detainee"), ("BRANCH", "branch"), ("REPORT No.", "report")),
        strict=True,
    ):
        draw.text((320, y), f"{label}  {values[field]}", font=font, fill=(25, 25, 35))
    folder.mkdir(parents=True, exist_ok=True)
    image.save(folder / "card.jpg", quality=92)
    return values


def test_own_labels_needs_reading_queue_and_progress_lines(tmp_path: Path) -> None:
    """A collection's own labels file (setting ``ocr_labels``) decides the fields; a bad one
    is a clear error naming it; the needs-reading queue answers in JSON; progress off a
    terminal is plain lines."""
    values = _labelled_card(tmp_path / "cards")
    vault = tmp_path / "vault"

    def dalil(*args: str) -> subprocess.CompletedProcess[str]:
        return _run([*args, "--vault", str(vault), "--as", "amina"], offline=False)

    assert _run(["init", "--vault", str(vault), "--as", "amina"], False).returncode == 0
    assert dalil("ingest", str(tmp_path / "cards"), "--from", "typed card").returncode == 0
    proposed = json.loads(dalil("cases", "propose", "--json").stdout)["proposed"]
    assert len(proposed) == 1  # a lone photograph is proposed as a case
    assert dalil("cases", "accept", *proposed).returncode == 0

    config = vault / "dalil.toml"
    original = config.read_text(encoding="utf-8")

    def use_labels(name: str) -> None:
        text = original.replace('ocr_labels = ""', f'ocr_labels = "{name}"')
        assert text != original
        config.write_text(text, encoding="utf-8")

    use_labels("missing.tsv")
    bad = dalil("cases", "ocr", "--json")
    assert bad.returncode == 2
    assert "missing.tsv" in json.loads(bad.stdout or bad.stderr)["error"]

    # this collection's cards call the branch "REPORT" and the report "BRANCH"
    (vault / "labels.tsv").write_text(
        "detainee\tDETAINEE No.\nreport\tBRANCH\nbranch\tREPORT No.\n", encoding="utf-8"
    )
    use_labels("labels.tsv")
    out = dalil("cases", "ocr")
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("Reading photographs: ")]
    assert lines == ["Reading photographs: 0/1 (0 %)", "Reading photographs: 1/1 (100 %)"] or (
        lines and lines[-1] == "Reading photographs: 1/1 (100 %)"
    ), out.stderr
    assert "\x1b[" not in out.stderr  # no bar drawn off a terminal
    queue = json.loads(dalil("review", "queue", "unverified", "--all", "--json").stdout)
    read = {q["field"]: q["value"] for q in queue["unverified"] if q["source"].startswith("ocr:")}
    assert read == {
        "detainee": values["detainee"],
        "report": values["branch"],
        "branch": values["report"],
    }, read
    needs = json.loads(dalil("review", "queue", "needs-reading", "--json").stdout)
    rows = needs["needs-reading"] if isinstance(needs, dict) else needs
    assert rows == []  # every value was read surely
