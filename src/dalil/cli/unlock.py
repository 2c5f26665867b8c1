"""``dalil unlock`` / ``dalil lock``: prove who you are once for a working session."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from typing import Annotated

import typer

from dalil import signing
from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    ActorOption,
    JsonOption,
    VaultOption,
    actor_name,
    app,
    console,
    emit_json,
    reading,
)
from dalil.errors import UsageError
from dalil.users import check_actor


@app.command()
def unlock(
    minutes: Annotated[
        int, typer.Option("--minutes", min=1, max=24 * 60, help="How long (default 8 hours).")
    ] = 8 * 60,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Prove who you are once, so that commands need no password for a while (`dalil lock`).

    Your key stays unlocked for this system account until the time given or `dalil lock`."""
    name = actor_name(as_)
    with reading(vault) as (opened, conn):
        check_actor(conn, name)
        row = conn.execute("SELECT sealed_key FROM users WHERE name = ?", (name,)).fetchone()
    if row is None or not row[0]:
        raise UsageError(f"{name} has no key yet: an administrator sets their password first")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"Password of {name}: ")
    else:
        raise UsageError(
            "the password is asked for on a terminal; in a script use --password-stdin"
        )
    key = signing.unseal(json.loads(row[0]), password)
    held = signing.unlock(opened.vault_id, name, key, minutes)
    until = dt.datetime.fromtimestamp(held.expires).strftime("%Y-%m-%d %H:%M")
    if json_:
        emit_json({"user": name, "until": until, "file": str(held.path)})
        return
    console.print(
        f"{name}'s key is unlocked until {until} for this account ('dalil lock' ends it)."
    )


@app.command()
def lock(
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Lock your key again (commands ask for the password)."""
    name = actor_name(as_)
    with reading(vault) as (opened, _conn):
        was = signing.lock(opened.vault_id, name)
    if json_:
        emit_json({"user": name, "was_unlocked": was})
        return
    console.print(f"{name}'s key is locked." if was else f"{name}'s key was not unlocked.")
