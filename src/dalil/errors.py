"""Errors that carry a message meant for the user.

Each interface translates them in one place (the CLI turns them into one line and the exit
code below); the core never prints.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTEGRITY = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


class DalilError(Exception):
    """Base class for errors a user can act on."""

    exit_code = EXIT_USAGE


class UsageError(DalilError):
    """Bad arguments or input: nothing was changed."""


class NotFound(UsageError):
    """What was named does not exist, or could not name anything (the web answers 404)."""


class VaultError(DalilError):
    """The vault is missing, locked, or of an unknown format."""


class IntegrityError(DalilError):
    """The vault failed an integrity check."""

    exit_code = EXIT_INTEGRITY


class CatalogueDamaged(IntegrityError):
    """The catalogue is missing, unreadable, or holds what the ledger does not record; it can
    be rebuilt from the ledger (``dalil catalog rebuild``)."""


class VaultFull(DalilError):
    """The vault's disk is full (or will not take writes): nothing recorded is lost, the
    command can be run again once there is room."""
