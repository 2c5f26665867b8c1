"""``dalil show ITEM``: everything known about one item, with its ledger events."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from dalil.catalog.queries import item_detail, resolve_item
from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    JsonOption,
    VaultOption,
    app,
    console,
    emit_json,
    reading,
    shown,
)


@app.command()
def show(
    item: Annotated[str, typer.Argument(help="Item hash (sha256:… or a unique hex prefix).")],
    raw: Annotated[bool, typer.Option("--raw", help="Also print all EXIF/XMP/IPTC.")] = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Show an item: metadata, occurrences, derivatives, fingerprint, ledger events."""
    with reading(vault) as (opened, conn):
        digest = resolve_item(conn, item)
        detail = item_detail(conn, digest)
        detail["events"] = opened.ledger(conn, signing=False).events_about(f"sha256:{digest}")
    if json_:
        emit_json(detail)
        return
    console.print(f"[bold]sha256:{digest}[/]")
    console.print(f"{detail['media_type']}, {detail['size']:,} bytes")
    for flag, reason in detail["flag_reasons"].items():
        console.print(f"[yellow]flag {flag}[/]: {shown(reason)}", highlight=False)
    meta = Table(show_header=False, title="metadata")
    for key, value in detail["metadata"].items():
        if value is not None:
            meta.add_row(key, shown(value))
    if detail["fingerprint"]:
        fp = detail["fingerprint"]
        meta.add_row("pdq", f"{fp['pdq']} (quality {fp['quality']})")
    console.print(meta)
    occ = Table(title="occurrences")
    for column in ("acquisition", "from", "path"):
        occ.add_column(column)
    for o in detail["occurrences"]:
        occ.add_row(o["acquisition"], shown(o["from"]), shown(o["path"]))
    console.print(occ)
    for d in detail["derivatives"]:
        console.print(f"derivative {d['kind']}: {shown(d['path'])} ({d['width']}x{d['height']})")
    events = Table(title="ledger events")
    for column in ("seq", "time", "actor", "action"):
        events.add_column(column)
    for e in detail["events"]:
        events.add_row(str(e["seq"]), e["time"][:19], shown(e["actor"]), e["action"])
    console.print(events)
    if raw:
        console.print_json(json.dumps(detail["metadata_raw"]))
