"""``dalil store …``: where the originals are kept; moving them to an S3-compatible store."""

from __future__ import annotations

from typing import Annotated

import typer

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
    reading,
    writing,
)
from dalil.cli.progress import counter
from dalil.errors import EXIT_INTEGRITY

store_app = typer.Typer(
    help="Where originals are kept: show it, or copy them to an S3-compatible store.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


@store_app.command("show")
def store_show(vault: VaultOption = DEFAULT_VAULT_PATH, json_: JsonOption = False) -> None:
    """Where the vault keeps its originals, and how many it records."""
    with reading(vault) as (opened, conn):
        items, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM items").fetchone()
        settings = opened.settings
        where = {
            "store": settings.store or str(opened.objects_dir),
            "kind": "s3" if settings.store else "folder",
            "endpoint": settings.s3_endpoint if settings.store else "",
            "items": int(items),
            "bytes": int(size),
        }
    if json_:
        emit_json(where)
        return
    console.print(f"originals: {where['store']} ({where['kind']})")
    if where["endpoint"]:
        console.print(f"endpoint: {where['endpoint']}")
    console.print(f"{where['items']} items, {where['bytes']} bytes recorded")


@store_app.command("migrate")
def store_migrate(
    target: Annotated[str, typer.Argument(help="The S3 store: s3://BUCKET/PREFIX.")],
    endpoint: Annotated[
        str,
        typer.Option(
            "--endpoint", help="URL of the S3-compatible server (e.g. http://127.0.0.1:8333)."
        ),
    ] = "",
    region: Annotated[str, typer.Option("--region", help="The S3 region.")] = "",
    profile: Annotated[
        str, typer.Option("--profile", help="Named profile in ~/.aws with the credentials.")
    ] = "",
    part_size_mib: Annotated[
        int, typer.Option("--part-size-mib", min=5, help="Multipart upload part size, MiB.")
    ] = 64,
    lock_days: Annotated[
        int,
        typer.Option(
            "--lock-days", min=0, help="Object Lock retention (COMPLIANCE) in days; 0: none."
        ),
    ] = 0,
    switch: Annotated[
        bool,
        typer.Option(
            "--switch",
            help="When every object is proved, make the S3 store the vault's (dalil.toml).",
        ),
    ] = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Copy every original to an S3 store and prove each arrived (administrators).

    Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or
    ~/.aws, never from an argument. The folder keeps its copies. Exit 1 if any object could
    not be proved on the store (each is named).
    """
    from dalil.migrate_store import migrate
    from dalil.s3store import S3Config, S3Location

    config = S3Config(
        S3Location.parse(target), endpoint, region, profile, part_size_mib * 1024 * 1024, lock_days
    )
    with (
        writing(vault) as (opened, conn),
        counter(console_err, "Copying, then proving, originals") as progress,
    ):
        report = migrate(opened, conn, actor_name(as_), config, switch=switch, progress=progress)
    if json_:
        emit_json(report.to_dict())
    else:
        console.print(
            f"{report.proved} of {report.items} originals proved on {report.target}"
            f" ({report.sent} sent now, {report.bytes} bytes in all)"
        )
        for problem in report.problems:
            console.print(f"  {problem['item']}: {problem['problem']}")
        if report.switched:
            console.print(
                f"The vault now keeps its originals on {report.target}; the folder"
                f" {opened.objects_dir} keeps its copies (a second copy Dalil no longer reads)."
            )
        elif switch:
            console.print("Not switched: not every original was proved on the store.")
    if not report.ok:
        raise typer.Exit(EXIT_INTEGRITY)
