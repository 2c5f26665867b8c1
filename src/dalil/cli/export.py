"""``dalil export …``: court bundles and public releases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress

from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    ActorOption,
    JsonOption,
    KeyStdinOption,
    VaultOption,
    actor_name,
    app,
    console,
    console_err,
    emit_json,
    key_from_stdin,
    open_vault,
    writing,
)
from dalil.errors import UsageError

export_app = typer.Typer(
    help="Court bundles that verify themselves, and public releases.", no_args_is_help=True
)
app.add_typer(export_app, name="export")


@export_app.command("bundle")
def export_bundle_command(
    out: Annotated[Path, typer.Argument(help="A new folder for the bundle.")],
    case: Annotated[
        list[str] | None,
        typer.Option("--case", help="A case whose photographs go in (repeatable)."),
    ] = None,
    items: Annotated[
        Path | None, typer.Option("--items", help="A text file of item hashes, one per line.")
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", help="Every case a search for these words finds.")
    ] = None,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write the exhibit report (PDF).")
    ] = True,
    reveal: Annotated[
        bool,
        typer.Option("--reveal", help="Unblurred pictures in the report (recorded in the ledger)."),
    ] = False,
    language: Annotated[
        str,
        typer.Option("--language", help="The report's language: en, or ar (right to left)."),
    ] = "en",
    key_stdin: KeyStdinOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """A court bundle: originals, metadata, custody events with proofs, a standalone verifier."""
    from dalil.export.bundle import export_bundle

    if key_stdin:
        key_from_stdin(open_vault(vault), as_)

    refs: list[str] = []
    if items is not None:
        try:
            refs = [line.strip() for line in items.read_text().splitlines() if line.strip()]
        except OSError as exc:
            raise UsageError(f"{items}: {exc.strerror or exc}") from exc
    with (
        writing(vault) as (opened, conn),
        Progress(
            "[bold]Exporting",
            BarColumn(),
            MofNCompleteColumn(),
            console=console_err,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("export", total=None)
        result = export_bundle(
            opened,
            conn,
            actor_name(as_),
            out,
            cases=case or [],
            items=refs,
            query=query,
            report=report,
            reveal=reveal,
            language=language,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if json_:
        emit_json(result.to_dict())
        return
    console.print(
        f"Bundle of {result.items} item(s), {result.events} custody event(s) with proofs, in"
        f" {result.out}.\nBundle hash {result.bundle_hash}.\nCheck it anywhere with:"
        f" python3 {result.out}/verify_bundle.py"
    )
