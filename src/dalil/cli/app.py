"""The Typer application and options shared by every command."""

from __future__ import annotations

import getpass
import json
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from dalil.errors import DalilError
from dalil.vault import DEFAULT_VAULT, Vault

console = Console()
console_err = Console(stderr=True)


class _Commands(TyperGroup):
    """Translate errors meant for the user into one line and the documented exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DalilError as exc:
            console_err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(exc.exit_code) from exc
        except KeyboardInterrupt:
            console_err.print(
                "[bold]Interrupted.[/] Nothing already recorded is lost; run the same command "
                "again to finish the job."
            )
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_Commands,
    name="dalil",
    help="Dalil: an evidence vault that proves nothing was changed, added or removed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

VaultOption = Annotated[
    Path,
    typer.Option(
        "--vault",
        envvar="DALIL_VAULT",
        help="The vault folder (default: $DALIL_VAULT, else ./dalil-vault).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON on standard output.")
]
ActorOption = Annotated[
    str | None,
    typer.Option("--as", help="Who is acting, for the ledger (default: your login name)."),
]

DEFAULT_VAULT_PATH = Path(DEFAULT_VAULT)


def actor_name(given: str | None) -> str:
    if given:
        return given
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def open_vault(path: Path) -> Vault:
    return Vault.open(path)


@contextmanager
def writing(path: Path) -> Iterator[tuple[Vault, sqlite3.Connection]]:
    """Open a vault under its single-writer lock, with a writable catalogue connection."""
    vault = Vault.open(path)
    with vault.writer_lock():
        conn = vault.connect()
        try:
            yield vault, conn
        finally:
            conn.close()


@contextmanager
def reading(path: Path) -> Iterator[tuple[Vault, sqlite3.Connection]]:
    """Open a vault and a read-only catalogue connection, closed afterwards."""
    vault = Vault.open(path)
    conn = vault.connect(readonly=True)
    try:
        yield vault, conn
    finally:
        conn.close()


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
