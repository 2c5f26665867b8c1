"""``dalil users …``: accounts and roles for the web workspace."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from dalil import users
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
    writing,
)
from dalil.errors import UsageError

users_app = typer.Typer(help="Accounts and roles (for `dalil serve`).", no_args_is_help=True)
app.add_typer(users_app, name="users")

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (for scripts)."),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise UsageError("a password is asked for on a terminal; in a script use --password-stdin")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", help=", ".join(users.ROLES) + ".")],
    password_stdin: PasswordStdin = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Add a person with a role and their password (12+ characters, asked for): with it they
    prove who they are, and their own key signs what they do."""
    password = _password(password_stdin)
    with writing(vault) as (opened, conn):
        users.add(conn, opened.ledger(conn), actor_name(as_), name, role, password)
    if json_:
        emit_json({"user": name, "role": role})
        return
    console.print(f"Added {name} ({role}).")


@users_app.command("list")
def users_list(
    limit: LimitOption = None,
    all_: AllOption = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    json_: JsonOption = False,
) -> None:
    """Everyone with an account, their role and state."""
    with reading(vault) as (_, conn):
        every = users.list_users(conn)
    rows = every[: how_many(limit, all_)]
    if json_:
        emit_list("users", rows, len(every))
        return
    table = Table(title="users")
    for column in ("name", "role", "state", "can log in", "since"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["name"],
            r["role"],
            "disabled" if r["disabled"] else "active",
            "yes" if r["can_log_in"] else "no",
            r["created_at"],
        )
    console.print(table)
    print_count(len(rows), len(every), "users")


@users_app.command("role")
def users_role(
    name: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help=", ".join(users.ROLES) + ".")],
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Change a user's role (their open sessions end)."""
    with writing(vault) as (opened, conn):
        users.set_role(conn, opened.ledger(conn), actor_name(as_), name, role)
    if json_:
        emit_json({"user": name, "role": role})
        return
    console.print(f"{name} is now {role}.")


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument()],
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead.")] = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Disable an account and end its sessions (or --enable it again)."""
    with writing(vault) as (opened, conn):
        users.set_disabled(conn, opened.ledger(conn), actor_name(as_), name, not enable)
    if json_:
        emit_json({"user": name, "disabled": not enable})
        return
    console.print(f"{name} is {'enabled' if enable else 'disabled'}.")


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument()],
    password_stdin: PasswordStdin = False,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Set a user's password (their open sessions end)."""
    password = _password(password_stdin)
    with writing(vault) as (opened, conn):
        users.set_password(conn, opened.ledger(conn), actor_name(as_), name, password)
    if json_:
        emit_json({"user": name, "password": "set"})
        return
    console.print(f"Password of {name} set.")
