"""``dalil verify``: re-hash every object and check catalogue, ledger and checkpoints."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    JsonOption,
    VaultOption,
    app,
    console,
    console_err,
    emit_json,
    open_vault,
)
from dalil.errors import EXIT_INTEGRITY
from dalil.verify import VerifyReport, record_result
from dalil.verify import verify as verify_vault


@app.command()
def verify(
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Hashing processes (0: one per core).")
    ] = 0,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Prove nothing was changed, added or removed; exit 1 and name each problem if not."""
    opened = open_vault(vault)
    with Progress(
        "[bold]Verifying",
        BarColumn(),
        MofNCompleteColumn(),
        "objects",
        TimeRemainingColumn(),
        console=console_err,
        transient=True,
    ) as bar:
        task = bar.add_task("verify", total=None)
        report = verify_vault(
            opened,
            jobs=jobs,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    record_result(opened, report)
    if json_:
        emit_json(report.to_dict())
    else:
        print_report(report)
    raise typer.Exit(0 if report.ok else EXIT_INTEGRITY)


def print_report(report: VerifyReport) -> None:
    summary = (
        f"{report.objects_checked} objects ({report.bytes_checked / 1e6:.1f} MB) re-hashed, "
        f"{report.events_checked} ledger events and {report.checkpoints_checked} signed "
        "checkpoints checked"
    )
    if report.ok:
        console.print(f"[bold green]OK[/]: {summary}. Nothing was changed, added or removed.")
        if report.unsigned_events:
            console.print(
                f"{report.unsigned_events} newest event(s) are not yet covered by a signed "
                "checkpoint: run 'dalil ledger checkpoint'."
            )
        return
    table = Table(title=f"[bold red]{len(report.problems)} problem(s) found[/]")
    table.add_column("problem")
    table.add_column("item")
    table.add_column("detail")
    for problem in report.problems:
        table.add_row(problem.kind, (problem.sha256 or "")[:16], problem.detail)
    console.print(table)
    console.print(f"[bold red]FAILED[/]: {summary}.")
