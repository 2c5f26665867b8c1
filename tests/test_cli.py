"""The command line: JSON contracts, exit codes, proofs checkable without Dalil."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, write_photos

Cli = Callable[..., tuple[int, str]]


@pytest.fixture
def ingested(cli: Cli, tmp_path: Path) -> tuple[Path, dict]:
    vault = tmp_path / "vault"
    source = tmp_path / "stick"
    write_photos(source / "DCIM", 4)
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    code, _ = cli("init", "--vault", vault, "--json")
    assert code == 0
    code, out = cli("ingest", source, "--from", "stick #1", "--vault", vault, "--json")
    assert code == 0
    return vault, json.loads(out)


def test_ingest_json_contract(ingested: tuple[Path, dict]) -> None:
    _, report = ingested
    for key in (
        "files_seen",
        "items_new",
        "items_known",
        "occurrences_new",
        "unreadable",
        "flagged",
        "acquisition",
        "checkpoint",
    ):
        assert key in report
    assert report["files_seen"] == 5 and report["items_new"] == 5
    assert report["acquisition"] == "A0001"
    assert set(report["checkpoint"]) >= {"size", "root"}
    flagged = report["flagged"][0]
    assert set(flagged) >= {"sha256", "path", "flags"}
    assert flagged["path"] == "stick/broken.jpg"


def test_items_show_acquisitions(cli: Cli, ingested: tuple[Path, dict]) -> None:
    vault, _ = ingested
    code, out = cli("items", "--vault", vault, "--json")
    listing = json.loads(out)
    items = listing["items"]
    assert code == 0 and len(items) == 5 and listing["total"] == listing["shown"] == 5
    assert set(items[0]) >= {"sha256", "size", "media_type", "flags"}
    code, out = cli("items", "--vault", vault, "--flag", "any", "--json")
    assert json.loads(out)["total"] == 1
    code, out = cli(
        "items", "--vault", vault, "--type", "image/jpeg", "--acquisition", "A0001", "--json"
    )
    assert json.loads(out)["total"] == 5  # the broken file starts like a JPEG: typed by content
    code, out = cli("items", "--vault", vault, "--type", "text/", "--json")
    assert json.loads(out) == {"total": 0, "shown": 0, "items": []}
    code, out = cli("items", "--vault", vault, "--limit", "2", "--json")
    assert json.loads(out)["total"] == 5 and json.loads(out)["shown"] == 2
    photo = next(i for i in items if not i["flags"])
    code, out = cli("show", photo["sha256"][:10], "--vault", vault, "--json")
    detail = json.loads(out)
    assert code == 0
    assert detail["metadata"]["camera_make"] == "Dalil"
    assert detail["metadata"]["camera_serial"] == "SN-0001"
    assert detail["metadata"]["captured_at"] == "2013-05-04T10:11:12"
    assert len(detail["fingerprint"]["pdq"]) == 64
    assert detail["occurrences"][0]["acquisition"] == "A0001"
    assert [e["action"] for e in detail["events"]] == ["item.ingested"]
    assert detail["derivatives"][0]["kind"] == "thumbnail"
    assert (vault / detail["derivatives"][0]["path"]).is_file()
    code, out = cli("acquisitions", "--vault", vault, "--json")
    acq = json.loads(out)["acquisitions"][0]
    assert acq["from"] == "stick #1" and acq["counts"]["items_new"] == 5


def test_exit_codes(cli: Cli, ingested: tuple[Path, dict], tmp_path: Path) -> None:
    vault, _ = ingested
    assert cli("verify", "--vault", vault)[0] == 0
    assert cli("ingest", tmp_path / "nope", "--from", "x", "--vault", vault)[0] == 2
    assert cli("verify", "--vault", tmp_path / "no-vault")[0] == 2
    assert cli("show", "zzzz", "--vault", vault)[0] == 2
    assert cli("init", "--vault", vault)[0] == 2
    obj = next(p for p in (vault / "objects").rglob("*") if p.is_file())
    obj.chmod(0o644)
    obj.write_bytes(b"altered")
    code, out = cli("verify", "--vault", vault, "--json")
    assert code == 1
    report = json.loads(out)
    kinds = {p["kind"] for p in report["problems"]}
    assert not report["ok"] and kinds == {"object_altered", "object_unprotected"}
    assert report["objects_checked"] == 5


def test_vault_from_environment(
    cli: Cli, ingested: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, _ = ingested
    monkeypatch.setenv("DALIL_VAULT", str(vault))
    code, out = cli("items", "--json")
    assert code == 0 and json.loads(out)["total"] == 5


def test_proof_checks_with_standalone_script(
    cli: Cli, ingested: tuple[Path, dict], tmp_path: Path
) -> None:
    vault, report = ingested
    digest = report["flagged"][0]["sha256"]
    proof_file = tmp_path / "proof.json"
    code, _ = cli("ledger", "proof", digest[:8], "--vault", vault, "--out", proof_file)
    assert code == 0
    script = REPO / "tools" / "verify_proof.py"
    key = vault / "keys" / "vault.pub"
    ok = subprocess.run(
        [sys.executable, "-I", script, proof_file, "--public-key", key],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("VERIFIED"), ok.stdout + ok.stderr
    proof = json.loads(proof_file.read_text())
    proof["event"]["details"]["size"] += 1
    proof_file.write_text(json.dumps(proof))
    bad = subprocess.run(
        [sys.executable, "-I", script, proof_file], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1 and bad.stdout.startswith("FAILED")


def test_ledger_commands(cli: Cli, ingested: tuple[Path, dict]) -> None:
    vault, report = ingested
    code, out = cli("ledger", "verify", "--vault", vault, "--json")
    assert code == 0 and json.loads(out)["ok"]
    code, out = cli("ledger", "checkpoint", "--vault", vault, "--json")
    assert code == 0 and json.loads(out)["size"] == report["checkpoint"]["size"]
    code, out = cli("ledger", "events", "--vault", vault, "--action", "item.ingested", "--json")
    found = json.loads(out)["events"]
    assert [e["details"]["flags"] for e in found if e["details"]["flags"]] == [["corrupt"]]
    actions = [
        e["action"]
        for e in json.loads(cli("ledger", "events", "--vault", vault, "--json")[1])["events"]
    ]
    assert actions[:2] == ["vault.created", "acquisition.opened"]
    assert actions.index("acquisition.closed") > actions.index("item.ingested")


def test_help_lists_every_command(cli: Cli) -> None:
    code, out = cli("--help")
    assert code == 0
    for name in ("init", "ingest", "verify", "items", "show", "acquisitions", "ledger", "demo"):
        assert name in out


def test_ingest_without_grouping(cli: Cli, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    write_photos(tmp_path / "stick", 2)
    assert cli("init", "--vault", vault)[0] == 0
    code, out = cli(
        "ingest", tmp_path / "stick", "--from", "x", "--no-group", "--vault", vault, "--json"
    )
    report = json.loads(out)
    assert code == 0 and report["items_new"] == 2 and report["clusters"] == {}
    assert not list((vault / "derived").glob("features/*/*"))
    code, out = cli("clusters", "recompute", "--vault", vault, "--json")
    assert code == 0 and json.loads(out)["clusters"] == 0


HEAVY = ("numpy", "PIL", "cv2", "magic", "onnxruntime", "faiss", "scipy", "fastapi", "jinja2",
         "duckdb", "pandas", "rapidocr_onnxruntime", "reportlab", "urllib.request")  # fmt: skip


@pytest.mark.parametrize("argv", [["--help"], ["ingest", "--help"], ["estimate", "--help"]])
def test_help_loads_no_heavy_library(argv: list[str]) -> None:
    """A command's help starts quickly because it loads none of the image, OCR, statistics or
    web libraries (measured by what is imported, not by the clock)."""
    code = (
        "import json, runpy, sys\n"
        f"sys.argv = ['dalil', *{argv!r}]\n"
        "try:\n    runpy.run_module('dalil', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "Usage" in done.stdout, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) == [], done.stderr


def _help_of(setup: str) -> subprocess.CompletedProcess[str]:
    """`dalil --help` in a fresh interpreter after ``setup``, at a fixed width."""
    code = (
        f"import sys\n{setup}\nsys.argv = ['dalil', '--help']\n"
        "from dalil.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('dalil.cli.')), file=sys.stderr)\n"
    )
    env = {**os.environ, "COLUMNS": "120", "TERM": "dumb", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_help_lists_every_command_without_loading_them() -> None:
    """The top-level help is written from the table of commands, without importing a command's
    module; it reads exactly as when every module is loaded."""
    lazy = _help_of("")
    eager = _help_of("from dalil.cli import load_commands; load_commands()")
    assert lazy.stdout == eager.stdout and "Commands" in lazy.stdout
    assert lazy.stderr.strip().splitlines()[-1] == "['dalil.cli.app']", lazy.stderr
    assert "dalil.cli.ingest" in eager.stderr


def test_the_table_of_commands_is_what_the_modules_register() -> None:
    """Every command a module registers is in ``COMMANDS`` under that module, with the first
    paragraph of its own help; nothing in the table is missing from the modules."""
    import typer.main

    from dalil.cli.app import COMMANDS, app, load_commands

    load_commands()
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    assert set(group.commands) == set(COMMANDS)
    callbacks = {c.name or c.callback.__name__: [c.callback] for c in app.registered_commands}
    for sub in app.registered_groups:
        callbacks[sub.name] = [c.callback for c in sub.typer_instance.registered_commands]
    for name, command in group.commands.items():
        modules, line = COMMANDS[name]
        assert {f.__module__ for f in callbacks[name]} <= {f"dalil.cli.{m}" for m in modules}
        assert (command.help or "").split("\n\n")[0].strip() == line, name


def test_an_unknown_command_is_a_usage_error(cli: Cli) -> None:
    code, _ = cli("ingset", "x")
    assert code == 2
