"""``dalil clusters …``: groups of near-duplicates and same-scene shots."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress
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
    console_err,
    emit_json,
    emit_list,
    how_many,
    print_count,
    reading,
    shown,
    writing,
)
from dalil.similar import clusters as grouping

clusters_app = typer.Typer(
    help="Groups of near-duplicates and same-scene shots.", no_args_is_help=True
)
app.add_typer(clusters_app, name="clusters")


@clusters_app.command("list")
def clusters_list(
    limit: LimitOption = None,
    all_: AllOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """List clusters, largest first."""
    with reading(vault) as (_, conn):
        rows = grouping.list_clusters(conn, how_many(limit, all_))
        total = int(conn.execute("SELECT COUNT(*) FROM clusters").fetchone()[0])
    if json_:
        emit_list("clusters", rows, total)
        return
    table = Table(title="clusters")
    table.add_column("cluster")
    table.add_column("items")
    for row in rows:
        table.add_row(row["cluster"], str(row["size"]))
    console.print(table)
    print_count(len(rows), total, "clusters")


@clusters_app.command("show")
def clusters_show(
    label: Annotated[str, typer.Argument(help="Cluster label, e.g. C-3f2a9c01de.")],
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Members, where each was found, and the evidence for every link."""
    with reading(vault) as (_, conn):
        detail = grouping.cluster_detail(conn, label)
    if json_:
        emit_json(detail)
        return
    console.print(f"[bold]{label}[/]: {detail['size']} items")
    items = Table(title="items")
    for column in ("item", "camera serial", "captured", "found in"):
        items.add_column(column, overflow="fold")
    for it in detail["items"]:
        places = "; ".join(f"{o['acquisition']}: {o['path']}" for o in it["occurrences"][:3])
        items.add_row(
            it["sha256"][:12],
            shown(it["camera_serial"] or ""),
            shown(it["captured_at"] or ""),
            shown(places),
        )
    console.print(items)
    links = Table(title="links (evidence)")
    for column in ("a", "b", "how they match", "stage", "PDQ", "points"):
        links.add_column(column)
    for ln in detail["links"]:
        links.add_row(
            ln["a"][:12],
            ln["b"][:12],
            ln["evidence"],
            ln["stage"],
            str(ln["distance"]),
            "" if ln["inliers"] is None else str(ln["inliers"]),
        )
    console.print(links)
    for d in detail["decisions"]:
        console.print(
            f"decision {d['kind']} {d['a'][:12]}-{d['b'][:12]} by {d['actor']}"
            f" (ledger event {d['ledger_seq']})"
        )


@clusters_app.command("merge")
def clusters_merge(
    refs: Annotated[list[str], typer.Argument(help="Cluster labels and/or item hashes.")],
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Put clusters (or single items) together; recorded in the ledger, kept on recompute."""
    with writing(vault) as (opened, conn):
        label = grouping.merge(conn, opened.ledger(conn), actor_name(as_), refs)
    if json_:
        emit_json({"cluster": label})
        return
    console.print(f"Merged into {label}.")


@clusters_app.command("split")
def clusters_split(
    label: Annotated[str, typer.Argument(help="The cluster to split.")],
    items: Annotated[list[str], typer.Argument(help="Items (hash prefixes) to move out.")],
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Move items out of a cluster into their own; recorded in the ledger, kept on recompute."""
    with writing(vault) as (opened, conn):
        kept, moved = grouping.split(conn, opened.ledger(conn), actor_name(as_), label, items)
    if json_:
        emit_json({"remaining": kept, "moved": moved})
        return
    console.print(
        f"Split {label}: remaining {kept or '(single item)'}, moved {moved or '(single item)'}."
    )


@clusters_app.command("recompute")
def clusters_recompute(
    vault: VaultOption = DEFAULT_VAULT_PATH,
    rematch: Annotated[
        bool,
        typer.Option(
            "--rematch",
            help="Run the slow local-feature stage for every item again, not only for items"
            " that never went through it (e.g. ingested with --no-group).",
        ),
    ] = False,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Re-link the whole vault and rebuild all clusters (people's decisions are kept).

    Fingerprint links are recomputed for every pair at once; links found earlier by local
    features are kept."""
    # FAISS and OpenCV load only for the commands that need them (every command starts faster)
    from dalil.similar.links import backfill_variants, pdq_links, unmatched_items, update_links

    actor = actor_name(as_)
    with writing(vault) as (opened, conn):
        backfill_variants(opened, conn, actor)
        with console_err.status("Comparing every fingerprint with every other"):
            pdq = pdq_links(opened, conn, actor)
        pending = None if rematch else unmatched_items(conn)
        with Progress(
            "[bold]Matching",
            BarColumn(),
            MofNCompleteColumn(),
            console=console_err,
            transient=True,
        ) as bar:
            task = bar.add_task("match", total=None)
            links = update_links(
                opened,
                conn,
                actor,
                pending,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        matched = conn.execute("SELECT COUNT(*) FROM match_checks").fetchone()[0]
        count = conn.execute("SELECT COUNT(*) FROM clusters").fetchone()[0]
    rematched = matched if pending is None else len(pending)
    if json_:
        emit_json(
            {
                "new_links": pdq + links,
                "new_fingerprint_links": pdq,
                "new_feature_links": links,
                "items_rematched": rematched,
                "clusters": count,
            }
        )
        return
    console.print(
        f"{pdq + links} new link(s) ({pdq} by fingerprint; {links} from matching {rematched}"
        f" item(s) with local features); {count} cluster(s)."
    )
