"""``dalil cases …``, ``dalil review …`` and ``dalil search``: from photographs to records."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from dalil.cases import model, review
from dalil.cases import search as finder
from dalil.cases import vocabulary as vocab
from dalil.catalog import atomic
from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    ActorOption,
    AllOption,
    JsonOption,
    KeyStdinOption,
    LimitOption,
    RayOption,
    VaultOption,
    actor_name,
    app,
    console,
    emit_json,
    emit_list,
    how_many,
    key_from_stdin,
    open_vault,
    print_count,
    reading,
    shown,
    writing,
)
from dalil.errors import UsageError

cases_app = typer.Typer(
    help="Cases (people, incidents, places): propose from photographs, link, annotate.",
    no_args_is_help=True,
)
review_app = typer.Typer(help="Two-person review: queues, confirm, reject.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")
app.add_typer(review_app, name="review")


def _actor(given: str | None) -> model.Actor:
    return model.Actor(actor_name(given))


def _case_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column in ("case", "status", "title", "photos", "identifiers", "photographed"):
        table.add_column(column, overflow="fold")
    for r in rows:
        ids = r.get("identifiers")
        named = (
            ", ".join(
                f"{i['type']} {i['value']}" + ("" if i["state"] == "verified" else " (unverified)")
                for i in ids
            )
            if ids
            else (f"branch {r['branch']}" if r.get("branch") else "")
        )
        table.add_row(
            r["case_id"],
            r["status"],
            shown(r["title"]),
            str(r["items"]),
            shown(named),
            r.get("photographed_on") or "",
        )
    return table


@cases_app.command("list")
def cases_list(
    status: Annotated[
        str | None, typer.Option("--status", help="Only cases in this state.")
    ] = None,
    limit: LimitOption = None,
    all_: AllOption = False,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many.")] = 0,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """List cases in the order they were made."""
    if status is not None and status not in vocab.STATUSES:
        raise UsageError(f"status is one of: {', '.join(vocab.STATUSES)}")
    with reading(vault) as (_, conn):
        most = how_many(limit, all_)
        rows = model.list_cases(
            conn, status=status, limit=-1 if most is None else most, offset=offset
        )
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        total = int(conn.execute(f"SELECT COUNT(*) FROM cases {where}", params).fetchone()[0])
    if json_:
        emit_list("cases", rows, total)
        return
    console.print(_case_table(rows, "cases"))
    print_count(len(rows), total, "cases")


@cases_app.command("show")
def cases_show(
    case: Annotated[str, typer.Argument(help="Case id, e.g. P-00012.")],
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """A case: its photographs and their roles, and every claim with its review."""
    with reading(vault) as (_, conn):
        detail = model.case_detail(conn, case)
    if json_:
        emit_json(detail)
        return
    console.print(f"[bold]{detail['case_id']}[/] {detail['title']} — {detail['status']}")
    for key in ("sex", "age", "died_on", "place", "photographed_on", "cluster"):
        if detail.get(key):
            console.print(f"  {key.replace('_', ' ')}: {detail[key]}")
    table = Table(title=f"{len(detail['items'])} photograph(s)")
    for column in ("item", "role", "type"):
        table.add_column(column)
    for item in detail["items"]:
        table.add_row(item["sha256"][:12], item["role"], item["media_type"])
    console.print(table)
    notes = Table(title="claims")
    for column in ("#", "what", "value", "source", "by", "state", "reviews"):
        notes.add_column(column, overflow="fold")
    for a in detail["annotations"]:
        reviews = ", ".join(f"{r['verdict']} by {r['reviewer']}" for r in a["reviews"])
        source = a["source"] + (f" {a['confidence']:.2f}" if a["confidence"] is not None else "")
        notes.add_row(
            str(a["id"]),
            f"{a['kind']} {a['field']}",
            a["value"],
            source,
            a["author"],
            a["state"],
            reviews,
        )
    console.print(notes)


@cases_app.command("new")
def cases_new(
    title: Annotated[str, typer.Argument(help="A short title.")],
    kind: Annotated[str, typer.Option("--kind", help="person, incident or place.")] = "person",
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Open a case by hand."""
    with writing(vault) as (opened, conn):
        case_id = model.new_case(conn, opened.ledger(conn), _actor(as_), kind, title)
    if json_:
        emit_json({"case": case_id})
        return
    console.print(f"Opened {case_id}.")


@cases_app.command("propose")
def cases_propose(
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
    singles: Annotated[
        bool,
        typer.Option(
            "--singles/--no-singles",
            help="Also one case per photograph that is alone (in no cluster and no case).",
        ),
    ] = True,
) -> None:
    """Propose one person case per near-duplicate cluster, and per lone photograph, that is in
    no case yet."""
    with writing(vault) as (opened, conn):
        made = model.propose(conn, opened.ledger(conn), _actor(as_), singles=singles)
    if json_:
        emit_json({"proposed": made})
        return
    console.print(
        f"Proposed {len(made)} case(s)"
        + (f": {made[0]} … {made[-1]}." if made else ".")
        + (" Review them with `dalil review queue proposed`." if made else "")
    )


@cases_app.command("accept")
def cases_accept(
    cases: Annotated[list[str], typer.Argument(help="Proposed cases to open.")],
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Accept proposed cases (they become open)."""
    with writing(vault) as (opened, conn):
        done = model.accept(conn, opened.ledger(conn), _actor(as_), cases)
    if json_:
        emit_json({"accepted": done})
        return
    console.print(f"Accepted {len(done)} case(s).")


@cases_app.command("reject")
def cases_reject(
    cases: Annotated[list[str], typer.Argument(help="Proposed cases that are not cases.")],
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Reject proposals (kept, marked rejected; their photographs are not proposed again)."""
    with writing(vault) as (opened, conn):
        done = model.set_status(conn, opened.ledger(conn), _actor(as_), cases, "rejected")
    if json_:
        emit_json({"rejected": done})
        return
    console.print(f"Rejected {len(done)} case(s).")


@cases_app.command("merge")
def cases_merge(
    cases: Annotated[list[str], typer.Argument(help="Cases; all go into the first.")],
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Merge cases about the same person into the first one."""
    with writing(vault) as (opened, conn):
        into = model.merge(conn, opened.ledger(conn), _actor(as_), cases)
    if json_:
        emit_json({"case": into})
        return
    console.print(f"Merged into {into}.")


@cases_app.command("split")
def cases_split(
    case: Annotated[str, typer.Argument(help="The case to split.")],
    items: Annotated[list[str], typer.Argument(help="Photographs (hash prefixes) to move out.")],
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Move photographs that show someone else into a new case."""
    with writing(vault) as (opened, conn):
        new = model.split(conn, opened.ledger(conn), _actor(as_), case, items)
    if json_:
        emit_json({"case": case.upper(), "new_case": new})
        return
    console.print(f"Moved {len(items)} photograph(s) into {new}.")


@cases_app.command("link")
def cases_link(
    case: Annotated[str, typer.Argument(help="The case.")],
    items: Annotated[list[str], typer.Argument(help="Photographs (hash prefixes).")],
    role: Annotated[
        str, typer.Option("--role", help=f"What they show: {', '.join(vocab.ROLES)}.")
    ] = "other",
    unlink: Annotated[bool, typer.Option("--unlink", help="Remove them instead.")] = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Link photographs to a case with their role (or set their role, or unlink them)."""
    with writing(vault) as (opened, conn):
        shas = model.link(conn, opened.ledger(conn), _actor(as_), case, items, role, unlink=unlink)
    if json_:
        emit_json(
            {
                "case": case.upper(),
                "items": shas,
                "unlinked" if unlink else "role": (True if unlink else role),
            }
        )
        return
    console.print(f"{'Unlinked' if unlink else 'Linked'} {len(shas)} photograph(s).")


@cases_app.command("set")
def cases_set(
    case: Annotated[str, typer.Argument(help="The case.")],
    identifier: Annotated[
        list[str] | None,
        typer.Option("--id", help="An identifier TYPE=VALUE, e.g. detainee=4721 (repeatable)."),
    ] = None,
    title: Annotated[str | None, typer.Option("--title")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help=", ".join(vocab.STATUSES[1:-2]) + ".")
    ] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="female, male or unknown.")] = None,
    age: Annotated[str | None, typer.Option("--age", help="Estimated age or range, 25-35.")] = None,
    died_on: Annotated[str | None, typer.Option("--died-on", help="YYYY[-MM[-DD]].")] = None,
    place: Annotated[str | None, typer.Option("--place", help="Place of death.")] = None,
    photographed_on: Annotated[
        str | None, typer.Option("--photographed-on", help="YYYY[-MM[-DD]].")
    ] = None,
    mark: Annotated[
        list[str] | None, typer.Option("--mark", help="A mark or injury (vocabulary; repeatable).")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="A free-text note.")] = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Record claims about a case: identifiers, attributes, marks, notes (each awaits a second
    person's review), and its title or status."""
    claims: list[tuple[str, str, str]] = []
    for text in identifier or []:
        kind, sep, value = text.partition("=")
        if not sep:
            raise UsageError(f"--id {text!r}: write TYPE=VALUE, e.g. detainee=4721")
        claims.append(("identifier", kind.strip(), value))
    for name, given in (
        ("sex", sex),
        ("age", age),
        ("died_on", died_on),
        ("place", place),
        ("photographed_on", photographed_on),
    ):
        if given is not None:
            claims.append(("attribute", name, given))
    claims += [("mark", "mark", m) for m in mark or []]
    if note is not None:
        claims.append(("note", "note", note))
    if not claims and title is None and status is None:
        raise UsageError("nothing to set; see `dalil cases set --help`")
    made: list[dict[str, Any]] = []
    with writing(vault) as (opened, conn):
        ledger, actor = opened.ledger(conn), _actor(as_)
        with atomic(conn):
            for kind, name, value in claims:
                annotation, new = model.annotate(conn, ledger, actor, case, kind, name, value)
                made.append({"annotation": annotation, "new": new, "kind": kind, "field": name})
        if title is not None:
            model.set_title(conn, ledger, actor, case, title)
        if status is not None:
            model.set_status(conn, ledger, actor, [case], status)
    if json_:
        emit_json({"case": case.upper(), "annotations": made})
        return
    fresh = sum(1 for m in made if m["new"])
    console.print(
        f"Recorded {fresh} claim(s)"
        + (f" ({len(made) - fresh} already there)" if len(made) > fresh else "")
        + "; a second person confirms them with `dalil review confirm`."
    )


@cases_app.command("ocr")
def cases_ocr(
    cases: Annotated[
        list[str] | None, typer.Argument(help="Cases to read (default: every live case).")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Worker processes (0: one per core).")
    ] = 0,
    ray: RayOption = None,
    key_stdin: KeyStdinOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Read the numbers on cases' photographs; each becomes an unverified identifier claim."""
    if key_stdin:
        key_from_stdin(open_vault(vault), as_)
    from dalil.cases.reading import read_cases
    from dalil.cli.app import console_err
    from dalil.cli.progress import counter

    with (
        writing(vault) as (opened, conn),
        counter(console_err, "Reading photographs") as progress,
    ):
        report = read_cases(
            opened,
            conn,
            opened.ledger(conn),
            _actor(as_),
            cases or None,
            jobs=jobs,
            progress=progress,
            ray=ray,
        )
    if json_:
        emit_json(report.to_dict())
        return
    console.print(
        f"Read {report.photos_read} photograph(s) ({report.photos_already_read} read before):"
        f" {report.claims_added} new identifier claim(s)"
        f" ({report.claims_already_there} already there, {report.readings_without_field}"
        f" number(s) with no label to tell what they are)."
        + (" Review them: `dalil review queue unverified`." if report.claims_added else "")
    )
    if report.needs_reading:
        console.print(
            f"{len(report.needs_reading)} photograph(s) need a human reading: {report.withheld}"
            " value(s) read too doubtfully to propose (`dalil review queue needs-reading`)."
        )
    if report.photos_unreadable:
        console.print(
            f"[yellow]{len(report.photos_unreadable)} photograph(s) could not be decoded."
        )


@cases_app.command("id-types")
def cases_id_types(
    add: Annotated[str | None, typer.Option("--add", help="Name of a new type (admin).")] = None,
    label: Annotated[str | None, typer.Option("--label")] = None,
    pattern: Annotated[
        str | None, typer.Option("--pattern", help="Regular expression a value must match.")
    ] = None,
    example: Annotated[str | None, typer.Option("--example")] = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """List identifier types, or add one (admins only)."""
    if add is not None:
        if not (label and pattern and example):
            raise UsageError("--add needs --label, --pattern and --example")
        with writing(vault) as (opened, conn):
            model.add_identifier_type(
                conn, opened.ledger(conn), _actor(as_), add, label, pattern, example
            )
    with reading(vault) as (_, conn):
        types = model.identifier_types(conn)
    rows = [
        {"name": t.name, "label": t.label, "pattern": t.pattern, "example": t.example}
        for t in types.values()
    ]
    if json_:
        emit_json(rows)
        return
    table = Table(title="identifier types")
    for column in ("name", "label", "pattern", "example"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["name"], r["label"], r["pattern"], r["example"])
    console.print(table)


# ---------------------------------------------------------------------------- review


@review_app.command("queue")
def review_queue(
    name: Annotated[
        str, typer.Argument(help="proposed, unverified, conflicts or needs-reading.")
    ] = "unverified",
    mine: Annotated[
        bool, typer.Option("--mine", help="Only claims you (--as) may still review.")
    ] = False,
    case: Annotated[str | None, typer.Option("--case", help="Only this case's claims.")] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Only claims of this kind: identifier, attribute, mark."),
    ] = None,
    max_confidence: Annotated[
        float | None,
        typer.Option("--max-confidence", min=0, max=1, help="Only readings this sure or less."),
    ] = None,
    limit: LimitOption = None,
    all_: AllOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """What awaits a decision; unverified claims lowest reading confidence first."""
    with reading(vault) as (_, conn):
        rows, total = review.queue_page(
            conn,
            name,
            limit=how_many(limit, all_),
            for_user=actor_name(as_) if mine else None,
            case=case,
            kind=kind,
            max_confidence=max_confidence,
        )
    if json_:
        emit_list(name, rows, total)
        return
    if not rows:
        console.print(f"The {name} queue is empty.")
        return
    if name == "proposed":
        table = Table(title="proposed cases")
        for column in ("case", "title", "photos"):
            table.add_column(column)
        for r in rows:
            table.add_row(r["case_id"], shown(r["title"]), str(r["items"]))
    elif name == "unverified":
        table = Table(title="unverified claims")
        for column in ("#", "case", "what", "value", "source", "by", "confirmations"):
            table.add_column(column)
        for r in rows:
            conf = f" {r['confidence']:.2f}" if r["confidence"] is not None else ""
            table.add_row(
                str(r["id"]),
                r["case"],
                r["field"],
                shown(r["value"]),
                r["source"] + conf,
                shown(r["author"]),
                r["confirmations"]["text"],
            )
    elif name == "needs-reading":
        table = Table(title="photographs that need a human reading")
        for column in ("case", "photograph", "read too doubtfully"):
            table.add_column(column, overflow="fold")
        for r in rows:
            doubtful = "; ".join(
                f"{d['field']} {d['written']} ({d['confidence'] or 0:.2f})" for d in r["readings"]
            )
            table.add_row(r["case"], r["item"][:12], shown(doubtful))
    else:
        table = Table(title="conflicts")
        for column in ("case", "why", "claims"):
            table.add_column(column, overflow="fold")
        for r in rows:
            claims = "; ".join(
                f"#{a['id']} {a['field']}={a['value']} by {a['author']} ({a['state']})"
                for a in r["annotations"]
            )
            table.add_row(r["case"], r["why"], shown(claims))
    console.print(table)
    print_count(len(rows), total, f"in the {name} queue")


@review_app.command("confirm")
def review_confirm(
    annotations: Annotated[list[int], typer.Argument(help="Annotation numbers.")],
    comment: Annotated[str, typer.Option("--comment")] = "",
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Confirm claims someone else made (a claim is verified once a second person agrees)."""
    out = []
    with writing(vault) as (opened, conn):
        ledger, actor = opened.ledger(conn), _actor(as_)
        for a in annotations:
            row = review.confirm(conn, ledger, actor, a, comment)
            out.append({**row, "confirmations": review.confirmations(row)})
    if json_:
        emit_json(out)
        return
    for row in out:
        console.print(
            f"#{row['id']} {row['field']}={shown(row['value'])}: {row['state']}"
            f" ({row['confirmations']['text']}).",
            highlight=False,
        )


@review_app.command("reject")
def review_reject(
    annotation: Annotated[int, typer.Argument(help="Annotation number.")],
    comment: Annotated[str, typer.Option("--comment", help="Why.")] = "",
    correct: Annotated[
        str | None, typer.Option("--correct", help="Your own reading, recorded as a new claim.")
    ] = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Reject a claim (kept, with your reason), optionally with the value you read instead."""
    with writing(vault) as (opened, conn):
        row = review.reject(
            conn, opened.ledger(conn), _actor(as_), annotation, comment, correct=correct
        )
    if json_:
        emit_json(row)
        return
    console.print(f"#{row['id']} {row['field']}={row['value']}: {row['state']}.")
    if "correction" in row:
        c = row["correction"]
        console.print(f"Your reading is claim #{c['id']} ({c['field']}={c['value']}).")


# ---------------------------------------------------------------------------- search


@app.command("search")
def search_command(
    text: Annotated[str, typer.Argument(help="Words to find (notes, OCR text, metadata…).")] = "",
    identifier: Annotated[
        list[str] | None,
        typer.Option(
            "--id",
            help="TYPE:VALUE exact, TYPE:VALUE* prefix, TYPE:~VALUE one digit off (repeatable;"
            " TYPE: optional).",
        ),
    ] = None,
    status: Annotated[list[str] | None, typer.Option("--status")] = None,
    kind: Annotated[str | None, typer.Option("--kind")] = None,
    branch: Annotated[str | None, typer.Option("--branch")] = None,
    camera: Annotated[str | None, typer.Option("--camera", help="Camera serial.")] = None,
    flag: Annotated[
        str | None, typer.Option("--flag", help="Cases with a photo so flagged.")
    ] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="Photographed on or after YYYY[-MM[-DD]].")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="…on or before.")] = None,
    sort: Annotated[str, typer.Option("--sort", help=", ".join(finder.SORTS))] = "relevance",
    page: Annotated[int, typer.Option("--page")] = 1,
    per_page: Annotated[int, typer.Option("--per-page")] = 20,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Find cases by text, identifiers and filters."""
    query = finder.SearchQuery.from_terms(
        text,
        identifiers=identifier or [],
        status=status or [],
        kind=kind,
        branch=branch,
        camera=camera,
        flag=flag,
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    with reading(vault) as (_, conn):
        found = finder.search(conn, query)
    if json_:
        emit_json(found)
        return
    pages = max(1, -(-found["total"] // found["per_page"]))
    console.print(
        _case_table(found["results"], f"{found['total']} case(s) — page {found['page']}/{pages}")
    )
