"""``dalil verify``: re-hash every object and check catalogue, ledger and checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    JsonOption,
    RayOption,
    VaultOption,
    app,
    console,
    console_err,
    emit_json,
    shown,
)
from dalil.errors import EXIT_INTEGRITY
from dalil.vault import Vault
from dalil.verify import Trust, VerifyReport, record_result
from dalil.verify import verify as verify_vault

PublicKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--public-key",
        help="The vault's public key (PEM) as you obtained it independently: checkpoints must"
        " be signed by it.",
    ),
]
FingerprintOption = Annotated[
    str | None,
    typer.Option(
        "--fingerprint", help="The SHA-256 fingerprint the vault's key must have (dalil init)."
    ),
]
SinceOption = Annotated[
    Path | None,
    typer.Option(
        "--since",
        help="A checkpoint kept off the vault (dalil ledger checkpoint --out): prove the"
        " ledger only grew since.",
    ),
]
UnsignedOption = Annotated[
    bool,
    typer.Option(
        "--allow-unsigned-tail",
        help="Do not fail on newest events not yet covered by a signed checkpoint.",
    ),
]


@app.command()
def verify(
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Hashing processes (0: one per core).")
    ] = 0,
    public_key: PublicKeyOption = None,
    fingerprint: FingerprintOption = None,
    since: SinceOption = None,
    allow_unsigned_tail: UnsignedOption = False,
    ray: RayOption = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Prove nothing was changed, added or removed; exit 1 and name each problem if not."""
    opened = Vault.open(vault, follow=False)
    trust = Trust(public_key, fingerprint, since, allow_unsigned_tail)
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
            trust=trust,
            ray=ray,
        )
    record_result(opened, report)
    if json_:
        emit_json(report.to_dict())
    else:
        print_report(report)
    raise typer.Exit(0 if report.ok else EXIT_INTEGRITY)


def print_report(report: VerifyReport) -> None:
    summary = (
        f"{report.objects_checked} objects ({report.bytes_checked / 1e6:.1f} MB) and "
        f"{report.derivatives_checked} derivatives re-hashed, {report.events_checked} ledger "
        f"events, {report.checkpoints_checked} signed checkpoints and {report.rows_checked} "
        "catalogue rows checked"
    )
    console.print(f"Vault key fingerprint: {report.key_fingerprint}")
    if report.extends_checkpoint is not None:
        console.print(
            f"The ledger extends the checkpoint you kept ({report.extends_checkpoint} events):"
            " proved by a consistency proof."
        )
    if report.ok:
        console.print(f"[bold green]OK[/]: {summary}. Nothing was changed, added or removed.")
        if report.unsigned_events:
            console.print(
                f"{report.unsigned_events} newest event(s) are not yet covered by a signed "
                "checkpoint: run 'dalil ledger checkpoint'."
            )
        return
    if not console.is_terminal:  # one problem per line for scripts: kind, item, detail
        for problem in report.problems:
            console.print(
                f"{problem.kind}\t{problem.sha256 or '-'}\t{shown(problem.detail)}",
                highlight=False,
            )
        console.print(f"[bold red]FAILED[/]: {summary}.")
        return
    table = Table(title=f"[bold red]{len(report.problems)} problem(s) found[/]")
    table.add_column("problem")
    table.add_column("item")
    table.add_column("detail")
    for problem in report.problems:
        table.add_row(problem.kind, (problem.sha256 or "")[:16], shown(problem.detail))
    console.print(table)
    console.print(f"[bold red]FAILED[/]: {summary}.")
