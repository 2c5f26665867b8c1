"""``dalil estimate``: how many people no list holds (multiple systems estimation)."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table as RichTable

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
    console_err,
    emit_json,
    emit_list,
    how_many,
    print_count,
    reading,
    shown,
    writing,
)
from dalil.errors import UsageError
from dalil.estimate import MAX_DRAWS, MAX_SEED, METHODS, MIN_DRAWS
from dalil.estimate import STRATA_NAMES as STRATA
from dalil.estimate.words import (
    finite,
    interval,
    meaning,
    model_label,
    model_weight,
    number,
    percent,
    unseen,
)
from dalil.users import require

if TYPE_CHECKING:  # the samplers (numpy, scipy) load when an estimate is computed
    from dalil.estimate import Estimate, Table
    from dalil.estimate.vault import Capture

estimate_app = typer.Typer(
    help="How many people no list holds: multiple systems estimation from overlapping lists.",
    invoke_without_command=True,
)
app.add_typer(estimate_app, name="estimate")

ListsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--list",
        "--lists",
        help="A list of the vault (repeatable: --list A --list B --list C; or --lists A,B,C).",
    ),
]
TableOption = Annotated[
    Path | None,
    typer.Option(
        "--table",
        help="A capture table (CSV): a 0/1 column per list, a 'count' column, and perhaps a"
        " stratum column.",
    ),
]
MethodOption = Annotated[
    str,
    typer.Option("--method", help=f"One of {', '.join(METHODS)}, or all."),
]
StrataOption = Annotated[
    str | None,
    typer.Option(
        "--strata",
        help=f"Estimate per stratum and add up: with --list a field ({', '.join(STRATA)});"
        " with --table a column of the table.",
    ),
]
SeedOption = Annotated[
    int, typer.Option("--seed", min=0, max=MAX_SEED, help="Seed of the random draws.")
]
DrawsOption = Annotated[
    int,
    typer.Option(
        "--draws",
        min=MIN_DRAWS,
        max=MAX_DRAWS,
        help="Posterior draws (or bootstrap replicates).",
    ),
]
LevelOption = Annotated[
    float, typer.Option("--level", min=0.5, max=0.999, help="Level of the interval.")
]
RunOption = Annotated[
    int | None,
    typer.Option(
        "--link-run",
        help="The linkage run whose probable links join records (default: the newest that"
        " compared all the lists).",
    ),
]
MinOption = Annotated[
    float | None,
    typer.Option(
        "--min-probability",
        min=0,
        max=1,
        help="Probable links used from this probability on (default: the run's review"
        " threshold, the lowest it recorded).",
    ),
]
NoSaveOption = Annotated[
    bool, typer.Option("--no-save", help="Compute only: record nothing in the ledger.")
]
NumberArgument = Annotated[
    int,
    typer.Argument(
        help="A saved estimate's number (dalil estimate runs).", min=0, max=2**63 - 1, metavar="N"
    ),
]


def _list_names(given: list[str] | None) -> list[str]:
    return [n.strip() for text in given or [] for n in text.split(",") if n.strip()]


def _named(ctx: typer.Context, parameter: str) -> bool:
    """Whether ``parameter`` was given on the command line or by its environment variable."""
    source = ctx.get_parameter_source(parameter)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


def _working(what: str) -> AbstractContextManager[Any]:
    """A spinner on a terminal while the samplers work (nothing when output is read)."""
    if not sys.stderr.isatty():
        return nullcontext()
    return console_err.status(what)


@estimate_app.callback()
def estimate_main(
    ctx: typer.Context,
    lists: ListsOption = None,
    table: TableOption = None,
    method: MethodOption = "lcmcr",
    strata: StrataOption = None,
    seed: SeedOption = 1,
    draws: DrawsOption = 10_000,
    level: LevelOption = 0.95,
    link_run: RunOption = None,
    minimum: MinOption = None,
    no_save: NoSaveOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Estimate the whole population from lists that overlap: from the vault's linked lists
    (--list A --list B --list C), or from a capture table (--table FILE.csv). An estimate from
    the vault is saved in the ledger with its inputs (and one from a table when --vault or
    $DALIL_VAULT names a vault), unless --no-save."""
    from dalil.estimate import TableError, read_table
    from dalil.estimate.saved import compute, record, savable
    from dalil.estimate.vault import capture

    if ctx.invoked_subcommand is not None:
        return
    names = _list_names(lists)
    if bool(names) == (table is not None):
        raise UsageError(
            "give the lists (dalil estimate --list A --list B --list C) or a capture table"
            f" (dalil estimate --table FILE.csv){', not both' if names else ''}"
        )
    found: Capture | None = None
    save = not no_save and (table is None or _named(ctx, "vault"))
    if table is not None:
        tables = read_table(table, strata)
    if save or table is None:
        with reading(vault) as (opened, conn):
            if save:  # before the work, not after it
                require(conn, actor_name(as_), "estimates", "save estimates")
                opened.ledger(conn, signing=False).prove(actor_name(as_))
            if table is None:
                found = capture(conn, names, strata=strata, run=link_run, min_probability=minimum)
                tables = found.tables
    with _working(f"Estimating with {method} ({draws:,} draws)…"):
        try:
            results, notes = compute(tables, method, seed=seed, draws=draws, level=level)
        except TableError as exc:  # too few lists for the method: name the file too
            if table is None or str(exc).startswith(str(table)):
                raise
            raise TableError(f"{table}: {exc}") from None
    saved: list[int | None] = [None] * len(results)
    kept = [savable(r) for r in results]
    if save:  # a result with no number (log-linear, unbounded) is shown, not saved
        notes += [f"{r.method} not saved: it gave no estimate"
                  for r, keep in zip(results, kept, strict=True) if not keep]  # fmt: skip
    if save and any(kept):
        with writing(vault) as (opened, conn):
            numbers = iter(
                record(conn, opened.ledger(conn), actor_name(as_),
                       [r for r, keep in zip(results, kept, strict=True) if keep], tables,
                       capture=found, table_file=table, strata=strata)
            )  # fmt: skip
            saved = [next(numbers) if keep else None for keep in kept]
    out = [_as_json(r, n, found, tables) for r, n in zip(results, saved, strict=True)]
    if json_:
        emit_json(out if method == "all" else out[0])
        return
    for note in notes:
        console.print(f"note: {note}", highlight=False)
    if found is not None:
        _print_capture(found)
    for i, result in enumerate(out):
        _print_result(result, caveats=i == len(out) - 1)  # what none can say, said once


def _as_json(
    result: Estimate, saved: int | None, found: Capture | None, tables: dict[str, Table]
) -> dict[str, Any]:
    """The JSON contract of one estimate, with its saved number and what it came from."""
    from dalil.estimate.saved import plain
    from dalil.estimate.vault import table_json

    out: dict[str, Any] = plain(result.to_json())
    out["saved"] = saved
    out["table"] = table_json(tables)
    if found is not None:
        out["capture"] = found.to_json()
    return out


def _print_capture(found: Capture) -> None:
    links = found.links
    sizes = ", ".join(f"{shown(i['list'])} ({i['records']} records)" for i in found.inputs)
    console.print(f"Lists: {sizes}; {found.people:,} people.", highlight=False)
    console.print(
        f"Links: {links['confirmed']} confirmed by reviewers, {links['unconfirmed']} probable"
        f" but unconfirmed (linkage run {links['run']}, {links['mode']}, probability"
        f" {links['min_probability']} or more), {links['rejected']} rejected kept apart.",
        highlight=False,
    )
    for note in found.notes:
        console.print(f"note: {shown(note)}", highlight=False)


def _interval(values: list[float | None]) -> str:
    return interval(values[0], values[1])


def _print_result(result: dict[str, Any], caveats: bool = True) -> None:
    observed, est = result["observed"], result["estimate"]
    missing, lo, hi = unseen(result)
    said = f"about [bold]{number(est)}[/] people" if finite(est) else "[bold]no estimate[/]"
    console.print(
        f"\n[bold]{result['method']}[/]: {said}"
        f" ({percent(result['level'])} interval {_interval(result['interval'])})",
        highlight=False,
    )
    console.print(
        f"observed {number(observed)} on the lists ({', '.join(map(shown, result['lists']))});"
        + (
            f" unseen about {number(missing)} ({interval(lo, hi)})"
            if finite(est)
            else " the lists cannot say how many are on none of them"
        ),
        highlight=False,
    )
    if result.get("strata"):
        table = RichTable(title="per stratum")
        for column in ("stratum", "observed", "estimate", "interval"):
            table.add_column(column, overflow="fold")
        for name, part in result["strata"].items():
            table.add_row(shown(name), number(part["observed"]), number(part["estimate"]),
                          _interval(part["interval"]))  # fmt: skip
        console.print(table)
    models = [m for m in result["models"] if isinstance(m, dict)]
    if models:
        table = RichTable(title="models")
        table.add_column("model", overflow="fold")
        table.add_column("weight")
        table.add_column("its estimate")
        for model in models[:10]:
            own = model.get("estimate")
            table.add_row(shown(model_label(model)), model_weight(model),
                          number(own) if isinstance(own, int | float) else "")  # fmt: skip
        console.print(table)
        if len(models) > 10:
            console.print(f"({len(models) - 10} more models in --json)")
    for warning in result["warnings"]:
        console.print(
            f"[yellow]warning[/] [bold]{warning['code']}[/]: {shown(warning['message'])}",
            highlight=False,
        )
    unconfirmed = (result.get("capture") or {}).get("links", {}).get("unconfirmed")
    paragraphs = meaning(result, unconfirmed)
    for paragraph in paragraphs if caveats else paragraphs[:1]:
        console.print(f"\n{shown(paragraph)}", highlight=False)
    if result.get("saved") is not None:
        n = result["saved"]
        console.print(
            f"\nSaved as estimate {n} (dalil estimate show {n}; dalil estimate rerun {n}"
            " computes it again from the recorded inputs).",
            highlight=False,
        )


@estimate_app.command("runs")
def estimate_runs(
    limit: LimitOption = None,
    all_: AllOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Saved estimates, newest first."""
    from dalil.estimate.saved import runs

    with reading(vault) as (_, conn):
        rows, total = runs(conn, how_many(limit, all_))
    if json_:
        emit_list("estimates", rows, total)
        return
    table = RichTable(title="saved estimates")
    for column in ("estimate", "method", "lists", "strata", "observed", "estimate of N",
                   "interval", "warnings", "by", "when"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(str(r["number"]), r["method"], shown(", ".join(r["lists"])),
                      shown(r["strata"] or ""), number(r["observed"]), number(r["estimate"]),
                      _interval(r["interval"]), ", ".join(r["warnings"]), shown(r["created_by"]),
                      r["created_at"])  # fmt: skip
    console.print(table)
    print_count(len(rows), total, "estimates")


@estimate_app.command("show")
def estimate_show(
    estimate_no: NumberArgument, vault: VaultOption = DEFAULT_VAULT_PATH, json_: JsonOption = False
) -> None:
    """A saved estimate: its result, and what it was computed from."""
    from dalil.estimate.saved import show

    with reading(vault) as (_, conn):
        saved = show(conn, estimate_no)
    if json_:
        emit_json(saved)
        return
    console.print(
        f"Estimate {saved['number']}, saved by {shown(saved['created_by'])} on"
        f" {saved['created_at']} (dalil {shown(saved['code'])}); method {saved['method']},"
        f" seed {saved['seed']}, {saved['draws']:,} draws.",
        highlight=False,
    )
    if saved["source"] == "table":
        console.print(
            f"From the table file {shown(saved['file']['name'])} (SHA-256"
            f" {saved['file']['sha256']}).",
            highlight=False,
        )
    else:
        links = saved["capture"]["links"]
        lists = ", ".join(
            f"{shown(i['list'])} ({i['sha256'][:16]})" for i in saved["capture"]["inputs"]
        )
        console.print(
            f"From the lists {lists}; linkage run {links['run']}: {links['confirmed']} confirmed"
            f" links, {links['unconfirmed']} unconfirmed.",
            highlight=False,
        )
    result = dict(saved["result"])
    result["capture"] = saved.get("capture")
    _print_result(result)


@estimate_app.command("rerun")
def estimate_rerun(
    estimate_no: NumberArgument, vault: VaultOption = DEFAULT_VAULT_PATH, json_: JsonOption = False
) -> None:
    """Compute a saved estimate again from its recorded inputs and say whether the numbers are
    identical (exit 1 when they are not)."""
    from dalil.estimate.saved import rerun

    with reading(vault) as (_, conn), _working(f"Computing estimate {estimate_no} again…"):
        found = rerun(conn, estimate_no)
    if json_:
        emit_json(found)
    else:
        now = found["now"]
        console.print(
            f"Estimate {found['number']} ({found['method']}) computed again:"
            f" {number(now['estimate'])} ({_interval(now['interval'])}).",
            highlight=False,
        )
        if found["identical"]:
            console.print("[bold]Identical[/] to the recorded estimate, to the last digit.")
        else:
            console.print("[bold red]Not identical[/] to the recorded estimate:")
            for d in found["differences"]:
                console.print(f"  {d['what']}: recorded {d['recorded']}, now {d['now']}",
                              highlight=False)  # fmt: skip
        code = found["code"]
        if code["recorded"] != code["now"]:
            console.print(f"Recorded by dalil {shown(code['recorded'])}, computed again by"
                          f" dalil {shown(code['now'])}.", highlight=False)  # fmt: skip
        if found["table_now_same"] is False:
            console.print(
                "The lists' links have changed since (reviews, rejections): the capture table"
                " built from the vault today differs from the recorded one, which was used."
            )
    if not found["identical"]:
        raise typer.Exit(1)
