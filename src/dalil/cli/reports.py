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
    print_count,
    reading,
    shown,
    writing,
)
from dalil.errors import UsageError

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
        Path | None,
        typer.Option(
            "--photo",
            help="A photograph the family gave (sealed with the contact details: needs the key).",
        ),
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
    if photo is not None:
        try:
            picture = photo.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read the photograph {photo}: {exc.strerror}") from exc
    with writing(vault) as (opened, conn):
        report_id = family.add_report(
            opened, conn, opened.ledger(conn), actor, {k: v for k, v in fields.items() if v},
            marks=mark or [], photo=picture, contact=contact, consent=consent,
        )  # fmt: skip
    if json_:
        emit_json({"report": report_id})
        return
    console.print(f"Report [bold]{report_id}[/] recorded.")


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


@reports_app.command("faces")
def reports_faces(
    report_id: Annotated[str, typer.Argument(help="e.g. R-00003")],
    case: Annotated[
        list[str] | None,
        typer.Option(
            "--case", help="A case to compare (repeatable; default: every live person case)."
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Show the N most similar.")] = 10,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Worker processes (0: one per core).")
    ] = 0,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Cases' photographs whose faces most resemble the family's photograph: an aid only,
    never an identification (liaison and admin; each run is recorded)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from dalil import faces
    from dalil.cli.app import console_err

    with (
        writing(vault) as (opened, conn),
        Progress(
            "[bold]Looking for faces",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console_err,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("faces", total=None)
        found = faces.rank(
            opened, conn, opened.ledger(conn), actor_name(as_), report_id, case or None,
            jobs=jobs, progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
    rows = found.ranked[:top]
    if json_:
        emit_json(
            {k: v for k, v in found.to_dict().items() if k != "ranked"}
            | {"total": len(found.ranked), "shown": len(rows), "ranked": rows}
        )
        return
    console.print(f"[bold yellow]{faces.AID.capitalize()}.[/]")
    table = Table(title=f"faces like the photograph of {found.report}")
    for column in ("rank", "case", "photograph", "similarity", "faces"):
        table.add_column(column, overflow="fold")
    for n, r in enumerate(rows, 1):
        table.add_row(str(n), r["case"], r["item"][:12], f"{r['similarity']:.3f}", str(r["faces"]))
    console.print(table)
    print_count(len(rows), len(found.ranked), "photographs with a face")
    console.print(
        f"Compared {found.photographs} photograph(s) of {found.cases} case(s)"
        f" ({len(found.without_face)} without a face, {len(found.unreadable)} unreadable)"
        f" with {found.model}."
    )
