"""``dalil catalog rebuild`` (a new catalogue from the ledger and the objects alone) and
``dalil catalog move`` (the catalogue and the ledger into PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    ActorOption,
    JsonOption,
    VaultOption,
    actor_name,
    app,
    console,
    console_err,
    emit_json,
)
from dalil.projection.rebuild import rebuild
from dalil.vault import Vault

catalog_app = typer.Typer(help="The catalogue (a projection of the ledger).", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("rebuild")
def catalog_rebuild(
    force: Annotated[
        bool,
        typer.Option("--force", help="Rebuild even from a ledger that fails verification."),
    ] = False,
    as_: ActorOption = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Re-create the catalogue from the ledger and the objects (when it is lost, damaged,
    or holds what the ledger does not record); the old file is kept beside the new one."""
    opened = Vault.load(vault)
    with Progress(
        TextColumn("[bold]Rebuilding: {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console_err,
        transient=True,
    ) as bar:
        task = bar.add_task("events", total=None)
        report = rebuild(
            opened,
            actor_name(as_),
            force=force,
            progress=lambda what, done, total: bar.update(
                task, description=what, completed=done, total=total
            ),
        )
    if json_:
        emit_json(report.to_dict())
        return
    console.print(
        f"Rebuilt the catalogue from {report.events} ledger events: {report.items} items;"
        f" {report.derivatives_kept} derivative files kept, {len(report.derivatives_remade)}"
        f" made again from the originals."
    )
    for lost in report.derivatives_lost:
        console.print(f"  could not be made again: {lost}")
    if report.replaced:
        console.print(f"The previous catalogue is kept as {report.replaced}.")
    console.print("Run 'dalil verify' to check the result.")


@catalog_app.command("move")
def catalog_move(
    target: Annotated[
        str,
        typer.Argument(
            help="postgresql://USER@HOST:PORT/DATABASE (an empty database), or"
            " postgresql://USER@HOST:PORT/ (a database dalil_<vault id> is created)."
        ),
    ],
    as_: ActorOption = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Move the catalogue and the ledger into PostgreSQL (administrators).

    The ledger is copied row for row, the catalogue replayed from it there and compared with
    this one row by row; only when they are equal is the move recorded and dalil.toml
    switched. The SQLite files are kept, renamed *.moved-<time>. The password comes from
    ~/.pgpass or PGPASSWORD, never from the address.
    """
    from dalil.cli.progress import counter
    from dalil.move_catalog import move

    opened = Vault.open(vault)
    with counter(console_err, "Replaying the ledger in PostgreSQL") as progress:
        report = move(opened, actor_name(as_), target, progress=progress)
    if json_:
        emit_json(report.to_dict())
        return
    console.print(
        f"Moved to {report.target}: {report.events} ledger events, {report.items} items;"
        f" {report.rows_compared} catalogue rows compared, equal. dalil.toml now names it."
    )
    console.print(f"The SQLite files are kept as {', '.join(report.kept)}.")
