"""The Typer application and options shared by every command."""

from __future__ import annotations

import errno
import getpass
import importlib
import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.main
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from dalil.catalog.db import Db

try:  # Typer bundles its own Click from 0.24
    from typer._click.exceptions import UsageError as ClickUsageError
except ImportError:  # pragma: no cover - older Typer on the real Click
    from click.exceptions import UsageError as ClickUsageError  # type: ignore[assignment]

from dalil import keys
from dalil.errors import EXIT_USAGE, DalilError, VaultFull
from dalil.vault import DEFAULT_VAULT, Vault

# Output read by scripts (not a terminal) is never hard-wrapped: a path, a hash or a sentence in
# Arabic stays on one line whatever the width the machine reports.
# Tables too: off a terminal they are laid out as wide as their contents.
UNFOLDED = 10_000
console = Console(
    soft_wrap=not sys.stdout.isatty(), width=None if sys.stdout.isatty() else UNFOLDED
)
console_err = Console(
    stderr=True, soft_wrap=not sys.stderr.isatty(), width=None if sys.stderr.isatty() else UNFOLDED
)


# Every top-level command, in the order `dalil --help` lists them: the modules of dalil.cli that
# define it and the line the help shows. A command's modules are imported only when it is run, so
# `dalil --help` and every command start without loading what other commands need (test_cli
# checks this table against what the modules really register, and the help against the eager one).
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "init": (
        ("init",),
        "Create a new, empty vault; you become its first administrator, with your own password.",
    ),
    "demo": (
        ("demo",),
        "Generate a synthetic, non-graphic sample collection (index cards) and ingest it.",
    ),
    "ingest": (
        ("ingest",),
        "Store every file byte for byte, describe and fingerprint it, and sign the ledger.",
    ),
    "verify": (
        ("verify",),
        "Prove nothing was changed, added or removed; exit 1 and name each problem if not.",
    ),
    "acquisitions": (("acquisitions",), "List acquisitions (one per ingest run)."),
    "items": (("items",), "List the vault's items."),
    "show": (
        ("show",),
        "Show an item: metadata, occurrences, derivatives, fingerprint, ledger events.",
    ),
    "similar": (
        ("similar",),
        "Find copies (resized, re-compressed, flipped, cropped) and other shots of the same scene.",
    ),
    "clusters": (("clusters",), "Groups of near-duplicates and same-scene shots."),
    "cases": (
        ("cases",),
        "Cases (people, incidents, places): propose from photographs, link, annotate.",
    ),
    "review": (("cases",), "Two-person review: queues, confirm, reject."),
    "search": (("cases",), "Find cases by text, identifiers and filters."),
    "lists": (("lists",), "External lists (CSV, XLSX) of detainees, victims, the missing."),
    "link": (
        ("link",),
        "Record linkage: deduplicate a list, link lists, find people; review the links.",
    ),
    "reports": (("reports",), "Families' reports of missing people."),
    "estimate": (
        ("estimate",),
        "How many people no list holds: multiple systems estimation from overlapping lists.",
    ),
    "export": (
        ("export", "export_release"),
        "Court bundles that verify themselves, and public releases.",
    ),
    "ledger": (("ledger",), "The tamper-evident ledger."),
    "catalog": (("catalog",), "The catalogue (a projection of the ledger)."),
    "store": (
        ("store",),
        "Where originals are kept: show it, or copy them to an S3-compatible store.",
    ),
    "users": (("users",), "Accounts and roles (for `dalil serve`)."),
    "serve": (("serve",), "Serve the web workspace (logins: `dalil users add NAME --role ROLE`)."),
    "unlock": (
        ("unlock",),
        "Prove who you are once, so that commands need no password for a while (`dalil lock`).",
    ),
    "lock": (("unlock",), "Lock your key again (commands ask for the password)."),
}


def load_commands(*names: str) -> None:
    """Import the modules that register these top-level commands (all of them when none named)."""
    for name in names or tuple(COMMANDS):
        for module in COMMANDS[name][0]:
            importlib.import_module(f"dalil.cli.{module}")


class _Commands(TyperGroup):
    """The top-level group: loads a command's module when it is used, and translates errors
    meant for the user into one line and the documented exit code."""

    _listing = False  # while the help is written: commands not loaded are shown by their line

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        if self._listing:
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][1])
        load_commands(cmd_name)
        group = typer.main.get_command(app)
        assert isinstance(group, TyperGroup)
        command = group.commands.get(cmd_name)
        if command is not None:
            self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: Any) -> Any:
        raw = [*(getattr(ctx, "protected_args", None) or getattr(ctx, "_protected_args", []))]
        wants_json = "--json" in [*raw, *ctx.args]
        try:
            return super().invoke(ctx)
        except DalilError as exc:
            _fail(str(exc), exc.exit_code, wants_json)
        except ClickUsageError as exc:  # a bad option or argument
            if not wants_json and sys.stderr.isatty():
                raise  # Typer's framed message, for a person at a terminal
            # read by a script or kept in a log: one unframed, unwrapped line
            where = exc.ctx.command_path if exc.ctx is not None else "dalil"
            _fail(f"{exc.format_message()} (see '{where} --help')", EXIT_USAGE, wants_json)
        except OverflowError:  # a number no SQLite integer can hold: nothing could match it
            _fail(f"a number given is too large (at most {2**63 - 1})", EXIT_USAGE, wants_json)
        except (sqlite3.OperationalError, OSError) as exc:
            full = _disk_full(exc)
            if full is None:
                raise
            _fail(full, VaultFull.exit_code, wants_json)
        except KeyboardInterrupt:
            console_err.print(
                "[bold]Interrupted.[/] Nothing already recorded is lost; run the same command "
                "again to finish the job."
            )
            raise typer.Exit(130) from None


def _fail(message: str, code: int, as_json: bool) -> NoReturn:
    """One line for people, or with --json one JSON object, on standard error; then exit."""
    if as_json:
        sys.stderr.write(json.dumps({"error": message, "code": code}, ensure_ascii=False) + "\n")
    else:
        console_err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _disk_full(exc: BaseException) -> str | None:
    """The message for a full disk (SQLite's or the file system's), else None."""
    text = str(exc).lower()
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" ({exc.filename})" if exc.filename else ""
        return (
            f"the disk is full{where}. Nothing recorded is lost: free space, then run the same"
            " command again"
        )
    if isinstance(exc, sqlite3.OperationalError) and ("full" in text or "disk i/o" in text):
        return (
            f"the vault's catalogue or ledger could not be written ({exc}): the disk is probably"
            " full. Nothing recorded is lost: free space, then run the same command again"
        )
    return None


app = typer.Typer(
    cls=_Commands,
    name="dalil",
    help="Dalil: an evidence vault that proves nothing was changed, added or removed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _top() -> None:
    """Dalil: an evidence vault that proves nothing was changed, added or removed."""


VaultOption = Annotated[
    Path,
    typer.Option(
        "--vault",
        envvar="DALIL_VAULT",
        help="The vault folder (default: $DALIL_VAULT, else ./dalil-vault).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON on standard output.")
]
ActorOption = Annotated[
    str | None,
    typer.Option("--as", help="Who is acting, for the ledger (default: your login name)."),
]

DEFAULT_VAULT_PATH = Path(DEFAULT_VAULT)

DEFAULT_LIMIT = 100
LimitOption = Annotated[
    int | None,
    typer.Option("--limit", min=1, help=f"Show at most this many (default {DEFAULT_LIMIT})."),
]
AllOption = Annotated[bool, typer.Option("--all", help="Show every one, however many.")]


def how_many(limit: int | None, all_: bool) -> int | None:
    """The number of rows a list shows: ``--all`` (None: no limit), ``--limit`` or the default."""
    return None if all_ else (limit or DEFAULT_LIMIT)


def emit_list(name: str, rows: list[Any], total: int) -> None:
    """A list as JSON: how many there are, how many are shown, and the rows."""
    emit_json({"total": total, "shown": len(rows), name: rows})


def print_count(shown_rows: int, total: int, noun: str) -> None:
    """Every list says how much of it was shown."""
    more = " (--all for every one, or --limit N)" if shown_rows < total else ""
    console.print(f"showing {shown_rows} of {total} {noun}{more}")


_INVISIBLE = {
    **{c: f"\\x{c:02x}" for c in range(0x20) if c not in (0x09,)},
    0x7F: "\\x7f",
    **{c: f"\\x{c:02x}" for c in range(0x80, 0xA0)},
    **{c: f"\\u{c:04x}" for c in (0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F))},
    **{c: f"\\u{c:04x}" for c in range(0x2066, 0x206A)},
}


def shown(value: object) -> str:
    """Text from evidence or users (file names, labels, metadata) made safe to print: control
    characters and direction overrides are written as escapes (a file name cannot move the
    cursor, retitle the terminal or reverse ``gpj.exe``), and Rich markup is not interpreted."""
    return escape(str(value).translate(_INVISIBLE))


def _ask_passphrase(prompt: str) -> str | None:
    """Ask for the signing key's passphrase, only where a person can answer."""
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(prompt)


keys.passphrase_prompt = _ask_passphrase

PASSWORD_ENV = "DALIL_PASSWORD"


def _prove(origin: str, user: str, sealed: dict[str, Any]) -> Any:
    """How a person proves who they are on the command line: a key unlocked earlier
    (dalil unlock), else the password from $DALIL_PASSWORD (for automation), else asked on
    the terminal (three tries)."""
    from dalil import signing

    vault_id = origin.removeprefix("dalil-vault/")
    found = signing.unlocked(vault_id, user)
    if found is not None:
        return found
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return signing.unseal(sealed, given)
    if not sys.stdin.isatty():
        return None
    for attempt in range(3):
        try:
            return signing.unseal(sealed, getpass.getpass(f"Password of {user}: "))
        except DalilError:
            if attempt == 2:
                raise
            console_err.print("Wrong password.")
    return None


def _install_prover() -> None:
    from dalil import signing

    signing.prover = _prove


_install_prover()


def actor_name(given: str | None) -> str:
    if given:
        return given
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


RayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="Run the per-file work on this Ray cluster (host:port, or auto); default: the"
        " vault's executor setting (docs/scale.md).",
    ),
]

KeyStdinOption = Annotated[
    bool,
    typer.Option(
        "--key-stdin",
        hidden=True,
        help="Read the actor's unlocked key from standard input (the web workspace's jobs).",
    ),
]


def key_from_stdin(vault: Vault, actor: str | None) -> None:
    """Take the acting person's unlocked key from a line of standard input (a pipe from the
    web workspace: never in the arguments or the environment), for this process."""
    from dalil import signing

    signing.remember(vault.origin, actor_name(actor), signing.import_key(sys.stdin.readline()))


def open_vault(path: Path) -> Vault:
    return Vault.open(path)


@contextmanager
def writing(path: Path) -> Iterator[tuple[Vault, Db]]:
    """Open a vault under its single-writer lock, with a writable catalogue connection."""
    vault = Vault.open(path)
    with vault.writer_lock():
        conn = vault.connect()
        try:
            yield vault, conn
            vault.ledger(conn).sign_tail()  # what the command recorded is signed at once
        finally:
            conn.close()


@contextmanager
def reading(path: Path) -> Iterator[tuple[Vault, Db]]:
    """Open a vault and a read-only catalogue connection, closed afterwards."""
    vault = Vault.open(path)
    conn = vault.connect(readonly=True)
    try:
        yield vault, conn
    finally:
        conn.close()


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
