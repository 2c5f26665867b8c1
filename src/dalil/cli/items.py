"""``dalil items``: list items, filtered by type, flag or acquisition."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dalil.catalog.queries import list_items
from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    JsonOption,
    VaultOption,
    app,
    console,
    emit_json,
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
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many.")] = None,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many first.")] = 0,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """List the vault's items."""
    with reading(vault) as (_, conn):
        rows = list_items(
            conn,
            media_type=media_type,
            flag=flag,
            acquisition=acquisition,
            limit=limit,
            offset=offset,
        )
    if json_:
        emit_json(rows)
        return
    table = Table(title=f"{len(rows)} item(s)")
    for column in ("sha256", "size", "media type", "flags"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["sha256"][:16], f"{row['size']:,}", row["media_type"], ", ".join(row["flags"])
        )
    console.print(table)
