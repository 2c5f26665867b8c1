"""``dalil export release``: public copies that do not reveal who took the photographs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from dalil.cases.model import Actor
from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    ActorOption,
    JsonOption,
    KeyStdinOption,
    VaultOption,
    actor_name,
    console,
    console_err,
    emit_json,
    key_from_stdin,
    open_vault,
    writing,
)
from dalil.cli.export import export_app
from dalil.errors import EXIT_PARTIAL, UsageError

if TYPE_CHECKING:  # Pillow and the decoders load when a release is made
    from dalil.export.release import Crop, ReleaseReport

PROGRESS_FROM = 10  # files; fewer finish before a bar would be worth drawing


def _crop(text: str | None) -> Crop | None:
    if not text:
        return None
    try:
        left, top, right, bottom = (float(p) for p in text.split(","))
    except ValueError as exc:
        raise UsageError("--crop is LEFT,TOP,RIGHT,BOTTOM as fractions, e.g. 0.1,0,0.9,1") from exc
    return left, top, right, bottom


@export_app.command("release")
def release(
    out: Annotated[Path, typer.Argument(help="An empty folder outside the vault.")],
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Release this case's photos (repeatable).")
    ] = None,
    item: Annotated[
        list[str] | None, typer.Option("--item", help="Release this item (hash or prefix).")
    ] = None,
    blur: Annotated[
        float, typer.Option("--blur", help="Gaussian blur radius in output pixels (0: none).")
    ] = 0,
    max_side: Annotated[
        int | None, typer.Option("--max-side", help="Longest side at most this many pixels.")
    ] = None,
    crop: Annotated[
        str | None,
        typer.Option("--crop", help="Keep LEFT,TOP,RIGHT,BOTTOM (fractions 0-1) of each photo."),
    ] = None,
    include_unverified: Annotated[
        bool,
        typer.Option(
            "--include-unverified",
            help="Also list identifiers not yet confirmed by a second person.",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into OUT even if it is not empty.")
    ] = False,
    key_stdin: KeyStdinOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Re-encoded copies with every identifying field removed, named by case, and a CSV of
    case identifiers for families. Each copy is recorded in the ledger."""
    if not case and not item:
        raise UsageError("name what to release: --case ID or --item HASH (repeatable)")
    if key_stdin:
        key_from_stdin(open_vault(vault), as_)
    box = _crop(crop)
    with (
        writing(vault) as (opened, conn),
        Progress(
            "[bold]Releasing",
            BarColumn(),
            MofNCompleteColumn(),
            "photos",
            TimeRemainingColumn(),
            console=console_err,
            transient=True,
            disable=json_,
        ) as bar,
    ):
        task = bar.add_task("release", total=None, visible=False)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, visible=total >= PROGRESS_FROM)

        from dalil.export.release import release as make_release

        report = make_release(
            opened,
            conn,
            opened.ledger(conn),
            Actor(actor_name(as_)),
            out,
            cases=case,
            items=item,
            blur=blur,
            max_side=max_side,
            crop=box,
            only_verified=not include_unverified,
            force=force,
            progress=on_progress,
        )
    if json_:
        emit_json(report.to_dict())
    else:
        _print(report)
    if report.undecodable:
        raise typer.Exit(EXIT_PARTIAL)


def _print(report: ReleaseReport) -> None:
    console.print(
        f"[bold green]Released[/] {len(report.files)} photo(s) to {report.out} "
        f"(release {report.release_id}); {report.identifiers} identifier(s) in identifiers.csv."
    )
    for s in report.skipped:
        console.print(f"  skipped {s.sha256[:16]} ({s.case or 'no case'}): {s.reason}")
    for case in report.empty_cases:
        console.print(f"  {case} has no photographs")
    console.print("Check: exiftool -a -G1 -u -r " + report.out)
