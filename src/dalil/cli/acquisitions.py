"""``dalil acquisitions``: every intake, with its source, counts and status."""

from __future__ import annotations

from rich.table import Table

from dalil.catalog.queries import list_acquisitions
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
    shown,
)


@app.command()
def acquisitions(
    limit: LimitOption = None,
    all_: AllOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """List acquisitions (one per ingest run)."""
    with reading(vault) as (_, conn):
        every = list_acquisitions(conn)
    rows = every[: how_many(limit, all_)]
    if json_:
        emit_list("acquisitions", rows, len(every))
        return
    table = Table(title=f"{len(rows)} acquisition(s)")
    for column in ("id", "from", "by", "opened", "status", "items new", "occurrences"):
        table.add_column(column)
    for row in rows:
        counts = row["counts"] or {}
        table.add_row(
            row["acquisition"],
            shown(row["from"]),
            shown(row["actor"]),
            row["opened_at"][:19],
            row["status"],
            str(counts.get("items_new", "")),
            str(counts.get("occurrences", "")),
        )
    console.print(table)
    print_count(len(rows), len(every), "acquisitions")
