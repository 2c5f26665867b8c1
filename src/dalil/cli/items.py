"""``dalil items``: list items, filtered by type, flag or acquisition."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dalil.catalog.queries import list_items
from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    AllOption,
    JsonOption,
    LimitOption,
    VaultOption,
    app,
    console,
    emit_list,
    how_many,
    print_count,
    reading,
)


@app.command()
def items(
    media_type: Annotated[
        str | None,
        typer.Option("--type", help="Media type, or a prefix ending in '/' (e.g. image/)."),
    ] = None,
    flag: Annotated[
        str | None, typer.Option("--flag", help="Only items with this flag ('any' for all).")
    ] = None,
    acquisition: Annotated[
        str | None, typer.Option("--acquisition", help="Only items found in this acquisition.")
    ] = None,
    limit: LimitOption = None,
    all_: AllOption = False,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many first.")] = 0,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """List the vault's items."""
    total: list[int] = []
    with reading(vault) as (_, conn):
        rows = list_items(
            conn,
            media_type=media_type,
            flag=flag,
            acquisition=acquisition,
            limit=how_many(limit, all_),
            offset=offset,
            counted=total,
        )
    if json_:
        emit_list("items", rows, total[0])
        return
    table = Table(title=f"{len(rows)} item(s)")
    for column in ("sha256", "size", "media type", "flags"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["sha256"][:16], f"{row['size']:,}", row["media_type"], ", ".join(row["flags"])
        )
    console.print(table)
    print_count(len(rows), total[0], "items")
