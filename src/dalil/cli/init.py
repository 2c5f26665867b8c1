"""``dalil init``: create a vault."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from dalil import keys
from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    PASSWORD_ENV,
    ActorOption,
    JsonOption,
    VaultOption,
    actor_name,
    app,
    console,
    emit_json,
)
from dalil.cli.ledger import write_checkpoint_note
from dalil.errors import UsageError
from dalil.vault import Vault


def _new_secret(what: str, from_stdin: bool, option: str, env: str | None = None) -> str:
    """A new password or passphrase: a line of standard input, ``env`` (automation), or asked
    twice on a terminal."""
    if from_stdin:
        given = sys.stdin.readline().rstrip("\n")
    elif env and os.environ.get(env):
        given = os.environ[env]
    elif sys.stdin.isatty():
        import getpass

        given = getpass.getpass(f"{what}: ")
        if getpass.getpass("The same again: ") != given:
            raise UsageError("the two differ; nothing was created")
    else:
        raise UsageError(f"{what} is asked for on a terminal; in a script use {option}")
    if len(given) < 12:
        raise UsageError(f"{what} needs at least 12 characters")
    return given


@app.command()
def init(
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    passphrase: Annotated[
        bool,
        typer.Option(
            "--passphrase",
            help="Encrypt the signing key with a passphrase (asked for whenever Dalil signs;"
            " or set DALIL_KEY_PASSPHRASE).",
        ),
    ] = False,
    passphrase_stdin: Annotated[
        bool,
        typer.Option(
            "--passphrase-stdin",
            help="Read that passphrase from standard input (after the password, with"
            " --password-stdin).",
        ),
    ] = False,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read your password from standard input."),
    ] = False,
    checkpoint_out: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint-out",
            help="Where to write the first signed checkpoint, to keep off the vault"
            " (default: beside the vault folder).",
        ),
    ] = None,
    catalog: Annotated[
        str,
        typer.Option(
            "--catalog",
            envvar="DALIL_CATALOG",
            show_envvar=True,
            help="Keep the catalogue, the ledger and the working state in PostgreSQL:"
            " postgresql://HOST:PORT/DATABASE (an empty database), or postgresql://HOST:PORT/"
            " (a database dalil_<id> is created). Default: SQLite files in the vault folder.",
        ),
    ] = "",
    json_: JsonOption = False,
) -> None:
    """Create a new, empty vault; you become its first administrator, with your own password.

    The vault folder holds the catalogue, the object store, the signing key and the ledger
    (or, with --catalog, the signing key, the object store and the address of the database)."""
    name = actor_name(as_)
    password = _new_secret(f"Password for {name}", password_stdin, "--password-stdin", PASSWORD_ENV)
    secret = (
        _new_secret(
            "Passphrase for the vault's signing key", passphrase_stdin, "--passphrase-stdin"
        )
        if passphrase or passphrase_stdin
        else None
    )
    if secret:
        keys.remember_passphrase(secret)
    created = Vault.init(vault, name, password, passphrase=secret, catalog=catalog)
    public = keys.load_public(created.keys_dir)
    out = checkpoint_out or created.root.with_name(f"{created.root.name}.checkpoint-0.txt")
    written = write_checkpoint_note(created, out, sign_new=False)
    fingerprint = keys.fingerprint(public)
    if json_:
        emit_json(
            {
                "vault": str(created.root),
                "id": created.vault_id,
                "public_key": keys.public_raw_b64(public),
                "key_fingerprint": fingerprint,
                "catalog": created.settings.catalog or "sqlite",
                "checkpoint_file": None if written is None else str(written),
            }
        )
        return
    console.print(f"Created vault [bold]{created.root}[/] (id {created.vault_id})")
    console.print(f"Signing key fingerprint (write it down, publish it): [bold]{fingerprint}[/]")
    if written is not None:
        console.print(
            f"First signed checkpoint: {written}. Keep a copy off this machine: with it,"
            " 'dalil ledger verify --since FILE' proves later that nothing was deleted."
        )
