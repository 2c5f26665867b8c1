"""``dalil ingest``: one acquisition from folders, files or zip archives."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    ActorOption,
    JsonOption,
    KeyStdinOption,
    RayOption,
    VaultOption,
    actor_name,
    app,
    console,
    console_err,
    emit_json,
    key_from_stdin,
    open_vault,
    shown,
)
from dalil.errors import UsageError

if TYPE_CHECKING:  # the ingest machinery (numpy, Pillow, libmagic) loads when a command runs
    from dalil.ingest.session import IngestOptions, IngestReport
    from dalil.ingest.session import Progress as IngestProgress
    from dalil.vault import Vault


def run_ingest(vault: Vault, options: IngestOptions, trust_key: str | None = None) -> IngestReport:
    """Run an ingest session with a progress bar (files, bytes, rate, ETA) on stderr."""
    from dalil.ingest.session import IngestSession

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[files]} files"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console_err,
        transient=True,
    ) as bar:
        task: TaskID = bar.add_task("Ingesting", total=None, files="0/0")

        def on_progress(p: IngestProgress) -> None:
            if p.phase == "grouping":
                bar.update(
                    task,
                    description="Grouping near-duplicates",
                    completed=p.files_done,
                    total=p.files_total,
                    files=f"{p.files_done}/{p.files_total}",
                )
                return
            bar.update(
                task,
                completed=p.bytes_done,
                total=p.bytes_total or None,
                files=f"{p.files_done}/{p.files_total}",
            )

        from dalil.export.importing import import_bundle, is_bundle

        bundles = [p for p in options.sources if is_bundle(p)]
        if bundles:
            if len(options.sources) > 1:
                raise UsageError("ingest a court bundle on its own (one bundle per acquisition)")
            return import_bundle(vault, bundles[0], options, on_progress, trust_key=trust_key)
        return IngestSession(vault, options, on_progress).run()


@app.command()
def ingest(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Folders, files or zip archives; or s3://BUCKET/PREFIX: every object there"
            " (read only, with the environment's or --source-profile's credentials)."
        ),
    ],
    source: Annotated[
        str,
        typer.Option(
            "--from", help='Where this came from, e.g. "USB stick #2 received from X on 3 May".'
        ),
    ],
    note: Annotated[str | None, typer.Option("--note", help="Free-text note.")] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Worker processes (0: one per core).")
    ] = 0,
    group: Annotated[
        bool,
        typer.Option(
            "--group/--no-group",
            help="Afterwards, match the new items against the vault (near-duplicates).",
        ),
    ] = True,
    trust_key: Annotated[
        str | None,
        typer.Option(
            "--trust-key",
            help="For a court bundle: the SHA-256 fingerprint of the key that must have signed"
            " it (needed when its vault's key differs from the one pinned earlier).",
        ),
    ] = None,
    ray: RayOption = None,
    source_endpoint: Annotated[
        str,
        typer.Option("--source-endpoint", help="For s3:// sources: the server's URL."),
    ] = "",
    source_region: Annotated[
        str, typer.Option("--source-region", help="For s3:// sources: the region.")
    ] = "",
    source_profile: Annotated[
        str,
        typer.Option("--source-profile", help="For s3:// sources: a named profile in ~/.aws."),
    ] = "",
    key_stdin: KeyStdinOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Store every file byte for byte, describe and fingerprint it, and sign the ledger."""
    opened = open_vault(vault)
    if key_stdin:
        key_from_stdin(opened, as_)
    from dalil.ingest.session import IngestOptions
    from dalil.s3store import S3Config, S3Location

    buckets = tuple(
        S3Config(S3Location.parse(p), source_endpoint, source_region, source_profile)
        for p in paths
        if p.startswith("s3://")
    )
    local = [Path(p) for p in paths if not p.startswith("s3://")]
    options = IngestOptions(local, source, actor_name(as_), note, jobs, group, ray, buckets)
    report = run_ingest(opened, options, trust_key)
    if json_:
        emit_json(report.to_dict())
    else:
        print_report(report)
    raise typer.Exit(report.exit_code)


def print_report(report: IngestReport) -> None:
    t = report.tally
    verb = "Resumed" if report.resumed else "Closed"
    console.print(
        f"{verb} acquisition [bold]{report.acquisition}[/]: {t.files_seen} files "
        f"({t.bytes_seen / 1e6:.1f} MB) in {report.seconds:.1f} s — "
        f"{t.items_new} new items, {t.items_known} already in the vault, "
        f"{t.occurrences_new} new occurrences."
    )
    if t.flagged:
        table = Table(title=f"{len(t.flagged)} flagged item(s) (stored, with a reason)")
        table.add_column("item", no_wrap=True)
        table.add_column("path", overflow="fold")
        table.add_column("flags", overflow="fold")
        for flagged in t.flagged[:50]:
            table.add_row(
                flagged["sha256"][:12],
                shown(flagged["path"]),
                shown("; ".join(f"{k}: {v}" for k, v in flagged["reasons"].items())),
            )
        console.print(table)
    if t.skipped:
        console.print(f"{len(t.skipped)} entries recorded but not stored (links, devices …):")
        for entry in t.skipped[:20]:
            console.print(f"  {shown(entry['path'])}: {shown(entry['reason'])}", highlight=False)
    if t.unreadable:
        console.print(f"[bold red]{len(t.unreadable)} file(s) could not be read:[/]")
        for entry in t.unreadable:
            console.print(f"  {shown(entry['path'])}: {shown(entry['reason'])}", highlight=False)
    for note in report.notes:
        console.print(note, highlight=False)
    cp = report.checkpoint
    if cp:
        console.print(f"Signed checkpoint: {cp['size']} events, root {cp['root'][:16]}…")
    else:
        console.print(
            "[yellow]Not signed yet[/] (the signing key was not at hand): run"
            " 'dalil ledger checkpoint' with it."
        )
    grouping = report.clusters
    if "error" in grouping:
        console.print(f"[yellow]Grouping near-duplicates failed:[/] {grouping['error']}")
    elif grouping:
        console.print(
            f"Near-duplicates: {grouping['new_links']} new link(s), "
            f"{grouping['clusters']} cluster(s) in the vault ('dalil clusters list')."
        )
        if grouping.get("earlier_items_grouped"):
            console.print(
                f"{grouping['earlier_items_grouped']} item(s) of an earlier run that was"
                " interrupted before grouping them were grouped now."
            )
