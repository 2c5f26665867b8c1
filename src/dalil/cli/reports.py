"""``dalil reports``: families' missing-person reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dalil import reports as family
from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    ActorOption,
    JsonOption,
    VaultOption,
    actor_name,
    app,
    console,
    emit_json,
    emit_list,
    open_vault,
    print_count,
    reading,
    shown,
    writing,
)

reports_app = typer.Typer(help="Families' reports of missing people.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")

Text = Annotated[str | None, typer.Option()]


@reports_app.command("add")
def reports_add(
    name: Annotated[str | None, typer.Option("--name", help="Full name, Arabic letters.")] = None,
    name_latin: Annotated[
        str | None, typer.Option("--name-latin", help="The name as the family writes it in Latin.")
    ] = None,
    father: Annotated[str | None, typer.Option("--father")] = None,
    grandfather: Annotated[str | None, typer.Option("--grandfather")] = None,
    family_name: Annotated[str | None, typer.Option("--family")] = None,
    mother: Annotated[str | None, typer.Option("--mother")] = None,
    sex: Annotated[str | None, typer.Option("--sex")] = None,
    birth_year: Annotated[str | None, typer.Option("--birth-year")] = None,
    birth_place: Annotated[str | None, typer.Option("--birth-place")] = None,
    arrest_date: Annotated[str | None, typer.Option("--arrest-date")] = None,
    arrest_place: Annotated[str | None, typer.Option("--arrest-place")] = None,
    branch: Annotated[str | None, typer.Option("--branch")] = None,
    detainee_number: Annotated[str | None, typer.Option("--detainee-number")] = None,
    national_id: Annotated[str | None, typer.Option("--national-id")] = None,
    mark: Annotated[list[str] | None, typer.Option("--mark", help="A mark (repeatable).")] = None,
    photo: Annotated[
        Path | None, typer.Option("--photo", help="A photograph the family gave.")
    ] = None,
    contact: Annotated[
        str | None, typer.Option("--contact", help="How to reach the family (encrypted).")
    ] = None,
    consent: Annotated[
        str | None, typer.Option("--consent", help="What the family agreed to (encrypted).")
    ] = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Record a family's report of a missing person."""
    fields = {
        "full_name": name, "full_name_latin": name_latin, "father_name": father,
        "grandfather_name": grandfather, "family_name": family_name, "mother_name": mother,
        "sex": sex, "birth_year": birth_year, "birth_place": birth_place,
        "arrest_date": arrest_date, "arrest_place": arrest_place, "branch": branch,
        "detainee_number": detainee_number, "national_id": national_id,
    }  # fmt: skip
    actor = actor_name(as_)
    picture = None
    opened = open_vault(vault)
    if photo is not None:
        from dalil.cli.ingest import run_ingest
        from dalil.ingest.session import IngestOptions

        got = run_ingest(
            opened, IngestOptions([photo], "family report photograph", actor, group=False)
        )
        picture = got.tally.new_items[0] if got.tally.new_items else _known_sha(photo)
    with writing(vault) as (opened, conn):
        report_id = family.add_report(
            opened, conn, opened.ledger(conn), actor, {k: v for k, v in fields.items() if v},
            marks=mark or [], photo=picture, contact=contact, consent=consent,
        )  # fmt: skip
    if json_:
        emit_json({"report": report_id})
        return
    console.print(f"Report [bold]{report_id}[/] recorded.")


def _known_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@reports_app.command("list")
def reports_list(vault: VaultOption = DEFAULT_VAULT_PATH, json_: JsonOption = False) -> None:
    """Every report (names and details; never contact details)."""
    with reading(vault) as (_, conn):
        rows = family.list_reports(conn)
    if json_:
        emit_list("reports", rows, len(rows))
        return
    table = Table(title="reports")
    for column in ("report", "name", "born", "arrested", "status"):
        table.add_column(column, overflow="fold")
    for r in rows:
        f = r["fields"]
        table.add_row(
            r["report"],
            shown(f.get("full_name") or f.get("full_name_latin") or ""),
            shown(f.get("birth_year", "")),
            shown(" ".join(x for x in (f.get("arrest_date"), f.get("arrest_place")) if x)),
            r["status"],
        )
    console.print(table)
    print_count(len(rows), len(rows), "reports")


@reports_app.command("show")
def reports_show(
    report_id: Annotated[str, typer.Argument(help="e.g. R-00003")],
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """One report (never its contact details: see 'dalil reports contact')."""
    with reading(vault) as (_, conn):
        found = family.report(conn, report_id)
    if json_:
        emit_json(found)
        return
    for key, value in found["fields"].items():
        console.print(f"{key}: {shown(value)}", highlight=False)
    for mark in found["marks"]:
        console.print(f"mark: {shown(mark)}", highlight=False)


@reports_app.command("contact")
def reports_contact(
    report_id: Annotated[str, typer.Argument(help="e.g. R-00003")],
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """How to reach the family and what they consented to (liaison and admin only)."""
    with writing(vault) as (opened, conn):
        found = family.read_contact(opened, conn, opened.ledger(conn), actor_name(as_), report_id)
    if json_:
        emit_json(found)
        return
    console.print(f"contact: {shown(found['contact'])}", highlight=False)
    console.print(f"consent: {shown(found['consent'])}", highlight=False)


@reports_app.command("new-key")
def reports_new_key(
    file: Annotated[Path, typer.Argument(help="Where to write the key: outside the vault.")],
    json_: JsonOption = False,
) -> None:
    """Make a key for families' contact details (then set contacts_key_file in dalil.toml)."""
    made = family.new_key_file(file)
    if json_:
        emit_json({"key_file": str(made)})
        return
    console.print(
        f"Wrote a new contacts key to {made}. Name it in the vault's dalil.toml"
        f' (contacts_key_file = "{made}"), keep it off the vault and back it up.'
    )
