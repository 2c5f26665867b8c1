"""Output read by scripts: never wrapped, JSON errors with --json, lists that say how much of
them was shown, --json on every command — on a machine with a long temporary path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from dalil.cli import app, load_commands
from tests.conftest import run_dalil, write_photos


def _commands() -> list[str]:
    load_commands()  # commands are otherwise imported only when used
    out: list[str] = []

    def walk(command: object, prefix: str) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, sub in children.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            out.append(prefix)

    walk(typer.main.get_command(app), "")
    return out


@pytest.mark.parametrize("command", _commands())
def test_every_command_takes_json(command: str) -> None:
    if command == "serve":
        pytest.skip("a server, not a command with a result")
    found = typer.main.get_command(app)
    for part in command.split():
        found = found.commands[part]  # type: ignore[attr-defined]
    options = {o for p in found.params for o in getattr(p, "opts", [])}
    assert "--json" in options, command


@pytest.fixture(scope="module")
def long_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    deep = tmp_path_factory.mktemp("output")
    for part in ("a-rather-long-folder-name-for-evidence", "نسخة-احتياطية-من-الأدلة", "x" * 60):
        deep = deep / part
    vault = deep / "vault"
    assert run_dalil("init", "--vault", vault, "--as", "amina").returncode == 0
    write_photos(deep / "stick", 3)
    assert (
        run_dalil(
            "ingest", deep / "stick", "--from", "s", "--vault", vault, "--as", "amina"
        ).returncode
        == 0
    )
    return vault


def test_nothing_is_wrapped_when_not_a_terminal(long_vault: Path) -> None:
    missing = long_vault.parent / "no-vault-here"
    done = run_dalil("verify", "--vault", missing)
    assert done.returncode == 2
    assert str(missing) in done.stderr  # on one line, not cut at 80 columns
    assert not done.stderr.startswith("\n") and done.stderr.count("\n") == 1
    listed = run_dalil("items", "--vault", long_vault)
    for line in listed.stdout.splitlines():
        assert line.strip()  # no stray blank lines
    checked = run_dalil("verify", "--vault", long_vault)
    assert checked.returncode == 0
    assert any(len(line) > 100 for line in checked.stdout.splitlines())  # a full-width line


def test_tables_are_not_folded_when_not_a_terminal(long_vault: Path, tmp_path: Path) -> None:
    name = "recovered-" + "ملف-تالف-" * 6 + "0" * 40 + ".jpg"
    (tmp_path / "stick").mkdir()
    (tmp_path / "stick" / name).write_bytes(b"")  # flagged: listed in the report's table
    done = run_dalil(
        "ingest", tmp_path / "stick", "--from", "t", "--vault", long_vault, "--as", "amina"
    )
    assert done.returncode == 0, done.stderr
    assert any(name in line for line in done.stdout.splitlines()), done.stdout
    bad = run_dalil("items", "--" + "x" * 90, "--vault", long_vault)  # a usage error: one line
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "x" * 90 in bad.stderr


def test_a_number_too_large_is_a_usage_error(long_vault: Path) -> None:
    huge = str(10**20)
    for args in (
        ("ledger", "events", "--from-seq", huge),
        ("ledger", "events", "--limit", huge),
        ("review", "confirm", huge, "--as", "amina"),
    ):
        done = run_dalil(*args, "--vault", long_vault)
        assert done.returncode == 2, (args, done.stderr)
        assert "too large" in done.stderr and "Traceback" not in done.stderr


def test_json_errors_are_json(long_vault: Path) -> None:
    for args in (
        ("verify", "--vault", long_vault.parent / "nowhere"),
        ("items", "--flag", "no-such-flag", "--vault", long_vault),
        ("items", "--no-such-option", "--vault", long_vault),
    ):
        done = run_dalil(*args, "--json")
        assert done.returncode == 2 and done.stdout == ""
        error = json.loads(done.stderr)
        assert error["code"] == 2 and error["error"]


def test_lists_say_how_much_was_shown(long_vault: Path) -> None:
    shown = run_dalil("ledger", "events", "--limit", "2", "--vault", long_vault)
    assert shown.returncode == 0
    total = json.loads(
        run_dalil("ledger", "events", "--all", "--vault", long_vault, "--json").stdout
    )
    assert total["shown"] == total["total"] > 2
    assert f"showing 2 of {total['total']} events" in shown.stdout
    for command in (
        ["items"],
        ["acquisitions"],
        ["cases", "list"],
        ["clusters", "list"],
        ["users", "list"],
    ):
        done = run_dalil(*command, "--vault", long_vault)
        assert done.returncode == 0 and "showing " in done.stdout, command


def test_arabic_in_tables_and_json_is_in_logical_order(long_vault: Path) -> None:
    """Arabic (and a mixed Arabic-Latin title with Arabic-Indic digits) comes out exactly as
    typed — logical order, no shaping, no escapes — in a table and in JSON; the terminal or
    the program reading it does the display."""
    title = "محمد عبد الله (Mohammad) ١٢٣"
    made = run_dalil("cases", "new", title, "--vault", long_vault, "--as", "amina", "--json")
    assert made.returncode == 0, made.stderr
    case = json.loads(made.stdout)["case"]
    table = run_dalil("cases", "list", "--vault", long_vault)
    assert title in table.stdout
    listed = run_dalil("cases", "list", "--vault", long_vault, "--json")
    assert title in listed.stdout  # not \\u escapes
    assert any(c.get("title") == title for c in json.loads(listed.stdout)["cases"])
    shown = run_dalil("cases", "show", case, "--vault", long_vault)
    assert title in shown.stdout
