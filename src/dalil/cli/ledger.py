"""``dalil ledger …``: check the ledger, sign or timestamp a checkpoint, export a proof."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dalil.catalog import atomic
from dalil.catalog.queries import resolve_item
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
from dalil.cli.verify import (
    FingerprintOption,
    PublicKeyOption,
    SinceOption,
    UnsignedOption,
    print_report,
)
from dalil.errors import EXIT_INTEGRITY, UsageError, VaultError
from dalil.ledger.witness import sign_note
from dalil.vault import Vault
from dalil.verify import Trust, verify_ledger

ledger_app = typer.Typer(help="The tamper-evident ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("verify")
def ledger_verify(
    since: SinceOption = None,
    public_key: PublicKeyOption = None,
    fingerprint: FingerprintOption = None,
    allow_unsigned_tail: UnsignedOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Check every event, payload and signed checkpoint (files are not re-hashed); with
    --since, prove that the ledger only grew since a checkpoint you kept."""
    opened = Vault.open(vault, follow=False)
    report = verify_ledger(opened, Trust(public_key, fingerprint, since, allow_unsigned_tail))
    if json_:
        emit_json(report.to_dict())
    else:
        print_report(report)
    raise typer.Exit(0 if report.ok else EXIT_INTEGRITY)


def write_checkpoint_note(vault: Vault, out: Path, *, sign_new: bool) -> Path | None:
    """Write the latest signed checkpoint as a signed note to ``out`` (signing the ledger's
    head first with ``sign_new``); None if the signing key is not at hand."""
    conn = vault.connect()
    try:
        ledger = vault.ledger(conn)
        if sign_new:
            with vault.writer_lock():
                ledger.sign_tail()
        latest = ledger.latest_checkpoint()
        if latest is None:
            raise UsageError("the ledger has no signed checkpoint yet")
        try:
            note = sign_note(
                vault.origin, latest.size, bytes.fromhex(latest.root), ledger.private_key
            )
        except VaultError:
            return None
    finally:
        conn.close()
    if out.exists():
        raise UsageError(f"{out} exists already; choose another file name")
    out.write_text(note, encoding="utf-8")
    return out


@ledger_app.command("checkpoint")
def ledger_checkpoint(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Also write the signed checkpoint to this file (a C2SP signed note) to keep"
            " off the vault.",
        ),
    ] = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Sign the ledger's current size and root hash with the vault key."""
    with writing(vault) as (opened, conn), atomic(conn):
        checkpoint = opened.ledger(conn).checkpoint()
    written = None if out is None else write_checkpoint_note(opened, out, sign_new=False)
    if out is not None and written is None:
        raise UsageError("the signing key is not at hand; no checkpoint file was written")
    if json_:
        emit_json({**checkpoint.to_dict(), "file": None if written is None else str(written)})
        return
    console.print(
        f"Signed checkpoint: {checkpoint.size} events, root {checkpoint.root}, {checkpoint.time}"
    )
    if written is not None:
        console.print(f"Wrote it to {written}: keep it off the vault.")


@ledger_app.command("proof")
def ledger_proof(
    item: Annotated[
        str | None, typer.Argument(help="Item hash or prefix: proves its ingest event.")
    ] = None,
    seq: Annotated[int | None, typer.Option("--seq", help="Prove this event instead.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the proof to this file.")
    ] = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """An inclusion proof (JSON) that tools/verify_proof.py checks without Dalil."""
    with reading(vault) as (opened, conn):
        ledger = opened.ledger(conn, signing=False)
        if seq is None:
            if item is None:
                raise UsageError("give an ITEM or --seq N")
            digest = resolve_item(conn, item)
            ingested = [
                e for e in ledger.events_about(f"sha256:{digest}") if e["action"] == "item.ingested"
            ]
            if not ingested:
                raise UsageError(f"no ingest event for sha256:{digest}")
            seq = int(ingested[0]["seq"])
        try:
            proof = ledger.proof(seq)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    text = json.dumps(proof, ensure_ascii=False, indent=2) + "\n"
    if out is None:  # the proof is JSON: --json changes nothing
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    if json_:
        emit_json({"file": str(out), "seq": seq})
    else:
        console.print(f"Wrote the proof of event {seq} to {out}")


@ledger_app.command("events")
def ledger_events(
    action: Annotated[str | None, typer.Option("--action", help="Only this action.")] = None,
    start: Annotated[int, typer.Option("--from-seq", min=0, help="First event number.")] = 0,
    limit: LimitOption = None,
    all_: AllOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """List ledger events."""
    most = how_many(limit, all_)
    with reading(vault) as (_, conn):
        where = "seq >= ?"
        params: list[object] = [start]
        if action:
            where += " AND json_extract(event, '$.action') = ?"
            params.append(action)
        total = int(
            conn.execute(f"SELECT COUNT(*) FROM ledger WHERE {where}", params).fetchone()[0]
        )
        events = [
            json.loads(r[0])
            for r in conn.execute(
                f"SELECT event FROM ledger WHERE {where} ORDER BY seq LIMIT ?",
                (*params, -1 if most is None else most),
            )
        ]
    if json_:
        emit_list("events", events, total)
        return
    table = Table(title="ledger events")
    for column in ("seq", "time", "actor", "action", "subject"):
        table.add_column(column)
    for e in events:
        table.add_row(
            str(e["seq"]), e["time"][:19], shown(e["actor"]), e["action"], shown(e["subject"])
        )
    console.print(table)
    print_count(len(events), total, "events")


# The help is given one line per paragraph: Typer would keep a docstring's line breaks.
@ledger_app.command(
    "timestamp",
    help="Get an RFC 3161 trusted timestamp for the latest signed checkpoint and store it."
    "\n\nSigns a fresh checkpoint first if there are unsigned events. This is the only Dalil "
    "command that opens a network connection, and only to the --tsa URL you give: it sends "
    "the SHA-256 of the checkpoint and a random nonce (nothing about the evidence) and "
    "receives a signed token.",
)
def ledger_timestamp(
    tsa: Annotated[
        str, typer.Option("--tsa", help="The RFC 3161 timestamp authority's URL (http/https).")
    ],
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file",
            help="PEM CA certificate(s) the TSA's certificate must chain to; stored with the "
            "token and checked again by 'dalil verify'.",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the TSA.")
    ] = 30.0,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    actor: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    from dalil.ledger.timestamp import load_pem_certs, timestamp_checkpoint

    ca_pem = None
    if ca_file is not None:
        try:
            ca_pem = ca_file.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read the CA file {ca_file}: {exc.strerror}") from exc
        load_pem_certs(ca_pem, f"the CA file {ca_file}")  # fail before signing or asking
    with writing(vault) as (opened, conn), atomic(conn):
        stored = timestamp_checkpoint(
            opened.ledger(conn), actor_name(actor), tsa, ca_pem=ca_pem, timeout=timeout
        )
    if json_:
        emit_json(stored.to_dict())
        return
    assert stored.checkpoint is not None
    console.print(
        f"Timestamped checkpoint: {stored.checkpoint.size} events, root "
        f"{stored.checkpoint.root}\nTSA time: {stored.gen_time} ({stored.tsa_name})"
    )
