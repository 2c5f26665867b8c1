"""``dalil link``: the same person across lists, family reports and cases."""

from __future__ import annotations

from typing import Annotated, Any

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
    print_count,
    reading,
    shown,
    writing,
)
from dalil.errors import UsageError
from dalil.linkage import run, runs, saved_model
from dalil.linkage.records import Source
from dalil.linkage.review import REVIEW_THRESHOLD, confirm, queue, record, reject
from dalil.users import check_actor

link_app = typer.Typer(
    help="Record linkage: deduplicate a list, link lists, find people; review the links.",
    invoke_without_command=True,
)
app.add_typer(link_app, name="link")

ListsOption = Annotated[list[str] | None, typer.Option("--list", help="A list (repeatable).")]
MinOption = Annotated[
    float,
    typer.Option("--min-probability", min=0, max=1, help="Show pairs at least this probable."),
]


ModelOption = Annotated[
    int | None,
    typer.Option(
        "--model",
        help="Score with the model of this earlier run (no training): the same links again.",
    ),
]


def _go(
    mode: str,
    sources: list[Source],
    minimum: float,
    vault: Any,
    as_: str | None,
    model_of: int | None,
) -> Any:
    actor = actor_name(as_)
    with reading(vault) as (_, conn):  # the vault stays open to others while Splink works
        check_actor(conn, actor)
        model = saved_model(conn, model_of) if model_of is not None else None
        result = run(conn, mode, sources, threshold=minimum, model=model)
    with writing(vault) as (opened, conn):
        result.run = record(conn, opened.ledger(conn), actor, result, REVIEW_THRESHOLD)
    return result


def _print(result: Any, json_: bool) -> None:
    if json_:
        emit_json(result.to_dict())
        return
    table = Table(title=f"{result.mode}: candidate links")
    for column in ("left", "right", "probability", "what agrees"):
        table.add_column(column, overflow="fold")
    for pair in result.pairs[:100]:
        agreeing = ", ".join(
            f"{name} {e['agreement']}" for name, e in pair["evidence"].items() if e["weight"] > 0
        )
        table.add_row(shown(pair["left"]), shown(pair["right"]), f"{pair['probability']:.3f}",
                      agreeing)  # fmt: skip
    console.print(table)
    print_count(min(100, len(result.pairs)), len(result.pairs), "pairs")
    console.print(
        f"{len(result.clusters)} people found in more than one record; run {result.run} is"
        " recorded (dalil link review)."
    )
    for note in result.notes:
        console.print(f"note: {shown(note)}", highlight=False)


@link_app.callback()
def link_main(
    ctx: typer.Context,
    lists: ListsOption = None,
    minimum: MinOption = 0.5,
    model_of: ModelOption = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Link two or more lists with each other (records of one list are not compared)."""
    if ctx.invoked_subcommand is not None:
        return
    if not lists or len(lists) < 2:
        raise UsageError("give two or more lists: dalil link --list A --list B")
    _print(_go("link", [Source("list", n) for n in lists], minimum, vault, as_, model_of), json_)


@link_app.command("dedupe")
def link_dedupe(
    lists: ListsOption = None,
    minimum: MinOption = 0.5,
    model_of: ModelOption = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Find the records of one list that are the same person."""
    if not lists or len(lists) != 1:
        raise UsageError("dedupe one list: dalil link dedupe --list A")
    _print(_go("dedupe", [Source("list", lists[0])], minimum, vault, as_, model_of), json_)


@link_app.command("people")
def link_people(
    minimum: MinOption = 0.5,
    model_of: ModelOption = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """People: every list, family report and case, linked and deduplicated at once;
    confirmed links always join, rejected ones never do."""
    with reading(vault) as (_, conn):
        names = [str(r[0]) for r in conn.execute("SELECT name FROM lists ORDER BY name")]
        reports = conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0]
    sources = [Source("list", n) for n in names]
    if reports:
        sources.append(Source("reports", "reports"))
    sources.append(Source("cases", "cases"))
    _print(_go("people", sources, minimum, vault, as_, model_of), json_)


@link_app.command("runs")
def link_runs(vault: VaultOption = DEFAULT_VAULT_PATH, json_: JsonOption = False) -> None:
    """Every recorded linkage run (its model is kept: --model RUN scores with it again)."""
    with reading(vault) as (_, conn):
        rows = runs(conn)
    if json_:
        emit_list("runs", rows, len(rows))
        return
    table = Table(title="linkage runs")
    for column in ("run", "mode", "inputs", "candidates", "people", "by", "when"):
        table.add_column(column, overflow="fold")
    for r in rows:
        inputs = ", ".join(f"{i['source']} ({i['records']})" for i in r["inputs"])
        table.add_row(str(r["run"]), r["mode"], shown(inputs), str(r["candidates"]),
                      str(r["people"]), shown(r["created_by"]), r["created_at"])  # fmt: skip
    console.print(table)
    print_count(len(rows), len(rows), "runs")


@link_app.command("review")
def link_review(
    limit: LimitOption = None,
    all_: AllOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Candidate links awaiting two people's confirmation, most probable first."""
    with reading(vault) as (_, conn):
        rows, total = queue(conn, how_many(limit, all_))
    if json_:
        emit_list("candidates", rows, total)
        return
    table = Table(title="links to review")
    for column in ("left", "right", "probability", "confirmations", "state"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(shown(r["left"]), shown(r["right"]), f"{r['probability']:.3f}",
                      r["confirmations"], r["state"])  # fmt: skip
    console.print(table)
    print_count(len(rows), total, "candidate links")


def _decide(verdict: str, left: str, right: str, comment: str, vault: Any, as_: Any) -> Any:
    with writing(vault) as (opened, conn):
        decide = confirm if verdict == "confirm" else reject
        return decide(conn, opened.ledger(conn), actor_name(as_), left, right, comment)


@link_app.command("confirm")
def link_confirm(
    left: Annotated[str, typer.Argument(help="A record, e.g. SNHR:1207 or reports:R-00003.")],
    right: Annotated[str, typer.Argument(help="The other record.")],
    comment: Annotated[str, typer.Option("--comment")] = "",
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Confirm that two records are one person (two different people must)."""
    out = _decide("confirm", left, right, comment, vault, as_)
    emit_json(out) if json_ else console.print(f"{shown(out['left'])} = {shown(out['right'])}:"
                                               f" {out['state']}.", highlight=False)  # fmt: skip


@link_app.command("reject")
def link_reject(
    left: Annotated[str, typer.Argument(help="A record.")],
    right: Annotated[str, typer.Argument(help="The other record.")],
    comment: Annotated[str, typer.Option("--comment", help="Why.")] = "",
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Say that two records are not the same person (kept beside any confirmation)."""
    out = _decide("reject", left, right, comment, vault, as_)
    emit_json(out) if json_ else console.print(f"{shown(out['left'])} ≠ {shown(out['right'])}:"
                                               f" {out['state']}.", highlight=False)  # fmt: skip


@link_app.command("candidates")
def link_candidates(
    report_id: Annotated[str, typer.Argument(help="A family's report, e.g. R-00003.")],
    look_: Annotated[
        bool,
        typer.Option("--look", help="Run linkage for this report first (a recorded run)."),
    ] = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """The records that may be the same person as one family's report, each with the evidence
    and its review state: a candidate is not an identification until two reviewers confirm it."""
    from dalil.linkage.family import candidates, look, record_look

    if look_:
        actor = actor_name(as_)
        with reading(vault) as (_, conn):  # the vault stays open to others while Splink works
            check_actor(conn, actor)
            found = look(conn, report_id)
        with writing(vault) as (opened, conn):
            record_look(conn, opened.ledger(conn), actor, found)
    with reading(vault) as (_, conn):
        rows = candidates(conn, report_id)
    if json_:
        emit_list("candidates", rows, len(rows))
        return
    table = Table(title=f"candidates for {shown(report_id.strip().upper())}")
    for column in ("record", "probability", "state", "confirmations", "what agrees"):
        table.add_column(column, overflow="fold")
    for r in rows:
        agreeing = ", ".join(
            f"{e['label']} {e['agreement']}" for e in r["evidence"] if e["weight"] > 0
        )
        table.add_row(shown(r["record"]), f"{r['probability']:.3f}", r["state"],
                      r["confirmations"], shown(agreeing))  # fmt: skip
    console.print(table)
    print_count(len(rows), len(rows), "candidates")
    console.print("A candidate is not an identification: only a link two reviewers confirmed is.")
