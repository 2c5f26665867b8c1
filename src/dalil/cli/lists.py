"""``dalil lists``: external lists of detainees, victims and the missing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    ActorOption,
    AllOption,
    JsonOption,
    LimitOption,
    VaultOption,
    actor_name,
    app,
    console,
    emit_json,
    emit_list,
    how_many,
    open_vault,
    print_count,
    reading,
    shown,
)
from dalil.errors import UsageError
from dalil.lists import import_list, list_lists, records

lists_app = typer.Typer(
    help="External lists (CSV, XLSX) of detainees, victims, the missing.",
    invoke_without_command=True,
)
app.add_typer(lists_app, name="lists")


@lists_app.callback()
def lists_main(
    ctx: typer.Context, vault: VaultOption = DEFAULT_VAULT_PATH, json_: JsonOption = False
) -> None:
    """Every list imported, with its source and the hash of its original file."""
    if ctx.invoked_subcommand is not None:
        return
    with reading(vault) as (_, conn):
        rows = list_lists(conn)
    if json_:
        emit_list("lists", rows, len(rows))
        return
    table = Table(title="lists")
    for column in ("list", "from", "records", "bad rows", "file", "sha256"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            shown(r["list"]),
            shown(r["from"]),
            str(r["records"]),
            str(r["bad_rows"]),
            shown(r["file"]),
            r["sha256"][:16],
        )
    console.print(table)
    print_count(len(rows), len(rows), "lists")


def _pairs(given: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in given:
        column, sep, target = text.rpartition("=")
        if not sep or not column:
            raise UsageError(f"--map {text!r}: write COLUMN=FIELD")
        out[column] = target
    return out


@lists_app.command("import")
def lists_import(
    file: Annotated[Path, typer.Argument(help="A CSV (UTF-8, Windows-1256 …) or XLSX file.")],
    name: Annotated[str, typer.Option("--list", help="The list's name in Dalil.")],
    source: Annotated[str, typer.Option("--from", help="Where the list came from.")],
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="The column that identifies a row.")
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="COLUMN=FIELD (repeatable); FIELD '-' keeps it as it is."),
    ] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX: the sheet to read.")] = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Import a list: the original file is stored as an item (its hash is the list's
    provenance) and every row becomes a record; rows that cannot be used are listed."""
    report = import_list(
        open_vault(vault),
        file,
        name,
        source,
        actor_name(as_),
        id_column=id_column,
        mapping=_pairs(mapping or []),
        sheet=sheet,
    )
    if json_:
        emit_json(report.to_dict())
    else:
        mapped = ", ".join(f"{h} → {f}" for h, f in report.mapping.items() if f)
        console.print(
            f"List [bold]{shown(report.name)}[/]: {report.records} records ({report.encoding}"
            f"{', sheet ' + shown(report.sheet) if report.sheet else ''}); original stored as"
            f" {report.sha256[:16]} in {report.acquisition}.",
            highlight=False,
        )
        console.print(f"Columns: {shown(mapped)}", highlight=False)
        for bad in report.bad_rows:
            console.print(f"  line {bad['line']}: {shown(bad['reason'])}", highlight=False)
        for warned in report.warnings[:50]:
            console.print(
                f"  line {warned['line']}: {shown('; '.join(warned['warnings']))}",
                highlight=False,
            )
    raise typer.Exit(3 if report.bad_rows else 0)


@lists_app.command("show")
def lists_show(
    name: Annotated[str, typer.Argument(help="The list's name.")],
    limit: LimitOption = None,
    all_: AllOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """A list's records (canonical fields first, other columns after)."""
    with reading(vault) as (_, conn):
        every = records(conn, name)
    rows = every[: how_many(limit, all_)]
    if json_:
        emit_list("records", rows, len(every))
        return
    table = Table(title=f"list {name}")
    for column in ("id", "line", "name", "born", "fields"):
        table.add_column(column, overflow="fold")
    for r in rows:
        f = r["fields"]
        name_shown = f.get("full_name") or " ".join(
            f.get(k, "") for k in ("given_name", "father_name", "family_name") if f.get(k)
        )
        table.add_row(
            shown(r["id"]),
            str(r["line"]),
            shown(name_shown),
            shown(f.get("birth_year") or f.get("birth_date") or ""),
            shown(", ".join(f"{k}={v}" for k, v in f.items() if k not in ("full_name",))),
        )
    console.print(table)
    print_count(len(rows), len(every), "records")
